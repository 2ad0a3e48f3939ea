// LineEditor: the input line's text and cursor. The text is UTF-8 and the cursor a byte offset
// that always sits on a character boundary; a "character" here is a base code point with the
// combining marks, variation selectors and zero-width-joined code points that follow it, so that
// the cursor never stops inside an accented letter or a joined emoji.
//
// Control characters, C1 controls, bidi controls and characters the terminal cannot draw are
// refused on insert, so what the line shows is exactly what is sent. Plain C++; no terminal
// involved.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace veil::tui {

class LineEditor {
public:
    // Inserts one code point at the cursor; returns false (and changes nothing) for a control
    // or bidi character.
    bool insert(char32_t cp);
    // Inserts text (e.g. a restored draft); refused characters are skipped.
    void insert_text(std::string_view text);

    void move_left();
    void move_right();
    void move_home() { m_cursor = 0; }
    void move_end() { m_cursor = m_text.size(); }

    void delete_before();      // Backspace
    void delete_at();          // Delete
    void kill_to_start();      // Ctrl-U
    void delete_word_before(); // Ctrl-W: spaces, then the word before the cursor

    // Returns the text and empties the line.
    std::string take();
    void clear();

    const std::string& text() const { return m_text; }
    std::size_t cursor() const { return m_cursor; }
    bool empty() const { return m_text.empty(); }

    // Whether cp continues the character before it (combining mark, joiner, selector).
    static bool extends_previous(char32_t previous, char32_t cp);
    static bool accepted(char32_t cp);

private:
    std::size_t next_boundary(std::size_t from) const;
    std::size_t previous_boundary(std::size_t from) const;

    std::string m_text;
    std::size_t m_cursor = 0;
};

} // namespace veil::tui
