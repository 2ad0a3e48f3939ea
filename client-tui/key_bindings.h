// KeyBindings: which action each key does in the terminal app. The defaults are emacs-style
// (Ctrl-A/E/B/F/K/U/W/Y, Alt-B/F/D, Up/Down through the history); a keys.conf file changes them,
// one binding a line:
//
//     # comments and blank lines are skipped
//     bind C-n next-conversation
//     bind M-j scroll-down
//     unbind C-s
//
// Keys are named C-x (Ctrl), M-x (Alt, or Esc then x), Tab, S-Tab, Enter, Esc, Backspace,
// Delete, Left, Right, Up, Down, Home, End, PgUp, PgDn. Plain characters cannot be bound (they
// type). A line that cannot be understood is reported with its number and skipped; the other
// lines still apply. Plain C++; no terminal involved.
#pragma once

#include "view.h"

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace veil::tui {

enum class Action {
    none,
    accept_line,       // send the line or run the command
    cancel,            // Esc: clear the error, end a search, back to the newest messages
    complete,          // Tab: complete a command, name or setting; else next conversation
    complete_backward, // Shift-Tab: the previous completion; else previous conversation
    next_conversation,
    previous_conversation,
    scroll_up, // a page back into the history
    scroll_down,
    scroll_bottom, // back to the newest message
    find,          // search the open conversation: starts "/find ", or the next older match
    find_newer,    // the next newer match of the search
    history_previous,
    history_next,
    beginning_of_line,
    end_of_line,
    backward_char,
    forward_char,
    backward_word,
    forward_word,
    backward_delete_char,
    delete_char,
    kill_line, // to the end of the line
    kill_to_start,
    kill_word_backward,
    kill_word_forward,
    yank,
    redraw,
    help,
    quit,
};

// The name keys.conf uses ("next-conversation"), and back; false for an unknown name.
std::string_view action_name(Action action);
bool parse_action(std::string_view name, Action& action);
// "C-n", "M-b", "PgUp" and back; parse_key_name explains a refusal in *why.
std::string key_name(const Key& key);
bool parse_key_name(std::string_view name, Key& key, std::string* why = nullptr);

class KeyBindings {
public:
    // The emacs-style defaults.
    KeyBindings();

    Action action_for(const Key& key) const;
    void bind(const Key& key, Action action);
    void unbind(const Key& key);

    // Applies the lines of a keys.conf over what is bound; returns one sentence per line that
    // was skipped, "line 3: unknown action 'frobnicate'".
    std::vector<std::string> load(std::string_view text);

    // Every binding as "key action" lines, sorted by key name (for /keys).
    std::vector<std::string> describe() const;

private:
    static std::pair<int, char32_t> slot(const Key& key) {
        return {static_cast<int>(key.type), key.ch};
    }
    std::map<std::pair<int, char32_t>, Action> m_bindings;
};

// Where keys.conf lives: $XDG_CONFIG_HOME/veil/keys.conf, else ~/.config/veil/keys.conf; empty
// when neither variable is set. Either argument may be null.
std::filesystem::path key_config_path(const char* xdg_config_home, const char* home);

} // namespace veil::tui
