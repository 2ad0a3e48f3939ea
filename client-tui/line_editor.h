// LineEditor: the input line's text and cursor, the editing that emacs-style keys and vi's
// normal mode do on it, a kill buffer and the history of submitted lines. The text is UTF-8 and
// the cursor a byte offset that always sits between grapheme clusters (text_width.h), so that it
// never stops inside an accented letter, a flag or a joined emoji. A zero-width joiner typed
// after an emoji joins it with the next emoji typed, as it does on a phone.
//
// Control characters, C1 controls, bidi controls and characters the terminal cannot draw are
// refused on insert, so what the line shows is exactly what is sent. Plain C++; no terminal
// involved.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace veil::tui {

class LineEditor {
public:
    // Lines the history keeps; the oldest are forgotten first.
    static constexpr std::size_t kHistoryLimit = 500;

    // Inserts one code point at the cursor; returns false (and changes nothing) for a control
    // or bidi character.
    bool insert(char32_t cp);
    // Inserts text (e.g. a restored draft); refused characters are skipped.
    void insert_text(std::string_view text);

    void move_left();
    void move_right();
    void move_home() { m_cursor = 0; }
    void move_end() { m_cursor = m_text.size(); }
    void move_to(std::size_t cursor); // snapped back to a cluster boundary

    // Words are runs of letters and digits (any non-ASCII character counts as a letter).
    void move_word_backward();   // Alt-B, vi b: to the start of this or the previous word
    void move_word_forward();    // Alt-F: to the end of this or the next word
    void move_next_word_start(); // vi w: to the start of the next word or punctuation run
    void move_word_end();        // vi e: onto the last character of this or the next word

    void delete_before();              // Backspace
    void delete_at();                  // Delete, Ctrl-D, vi x
    void kill_to_start();              // Ctrl-U
    void kill_to_end();                // Ctrl-K
    void delete_word_before();         // Ctrl-W: spaces, then the word before the cursor
    void delete_word_after();          // Alt-D: to the end of this or the next word
    void delete_to(std::size_t other); // from the cursor to `other`, either side (vi dw, cw)
    void yank();                       // Ctrl-Y: inserts what the last kill removed

    // Returns the text and empties the line.
    std::string take();
    void clear();
    // Replaces the whole text, cursor at the end (completion, history).
    void set_text(std::string_view text);

    // The history: remember() adds a submitted line (not a repeat of the last one);
    // history_previous/next step through it, keeping the line being typed to come back to.
    void remember(const std::string& line);
    void history_previous();
    void history_next();

    const std::string& text() const { return m_text; }
    std::size_t cursor() const { return m_cursor; }
    bool empty() const { return m_text.empty(); }
    const std::vector<std::string>& history() const { return m_history; }

    static bool accepted(char32_t cp);

private:
    std::size_t next_boundary(std::size_t from) const;
    std::size_t previous_boundary(std::size_t from) const;
    // 0 for a space, 1 for a word character, 2 for punctuation; of the cluster at i.
    int kind_at(std::size_t i) const;
    std::size_t word_end_after(std::size_t from) const;
    void kill(std::size_t from, std::size_t to);

    std::string m_text;
    std::size_t m_cursor = 0;
    std::string m_killed;
    std::vector<std::string> m_history;
    std::size_t m_history_pos = 0; // == m_history.size(): the line being typed
    std::string m_typing;          // the line being typed while the history is shown
};

} // namespace veil::tui
