#include "key_bindings.h"

#include <algorithm>
#include <array>

namespace veil::tui {
namespace {

using T = Key::Type;

struct ActionName {
    Action action;
    std::string_view name;
};

constexpr std::array kActions = {
    ActionName{Action::accept_line, "accept-line"},
    ActionName{Action::cancel, "cancel"},
    ActionName{Action::complete, "complete"},
    ActionName{Action::complete_backward, "complete-backward"},
    ActionName{Action::next_conversation, "next-conversation"},
    ActionName{Action::previous_conversation, "previous-conversation"},
    ActionName{Action::scroll_up, "scroll-up"},
    ActionName{Action::scroll_down, "scroll-down"},
    ActionName{Action::scroll_bottom, "scroll-bottom"},
    ActionName{Action::find, "find"},
    ActionName{Action::find_newer, "find-newer"},
    ActionName{Action::history_previous, "history-previous"},
    ActionName{Action::history_next, "history-next"},
    ActionName{Action::beginning_of_line, "beginning-of-line"},
    ActionName{Action::end_of_line, "end-of-line"},
    ActionName{Action::backward_char, "backward-char"},
    ActionName{Action::forward_char, "forward-char"},
    ActionName{Action::backward_word, "backward-word"},
    ActionName{Action::forward_word, "forward-word"},
    ActionName{Action::backward_delete_char, "backward-delete-char"},
    ActionName{Action::delete_char, "delete-char"},
    ActionName{Action::kill_line, "kill-line"},
    ActionName{Action::kill_to_start, "kill-to-start"},
    ActionName{Action::kill_word_backward, "kill-word-backward"},
    ActionName{Action::kill_word_forward, "kill-word-forward"},
    ActionName{Action::yank, "yank"},
    ActionName{Action::redraw, "redraw"},
    ActionName{Action::help, "help"},
    ActionName{Action::quit, "quit"},
    ActionName{Action::none, "none"},
};

struct NamedKey {
    T type;
    std::string_view name;
};

// The first name of a type is the one key_name gives.
constexpr std::array kNamedKeys = {
    NamedKey{T::tab, "Tab"},
    NamedKey{T::back_tab, "S-Tab"},
    NamedKey{T::back_tab, "BTab"},
    NamedKey{T::enter, "Enter"},
    NamedKey{T::enter, "Return"},
    NamedKey{T::escape, "Esc"},
    NamedKey{T::escape, "Escape"},
    NamedKey{T::backspace, "Backspace"},
    NamedKey{T::backspace, "BS"},
    NamedKey{T::del, "Delete"},
    NamedKey{T::del, "Del"},
    NamedKey{T::left, "Left"},
    NamedKey{T::right, "Right"},
    NamedKey{T::up, "Up"},
    NamedKey{T::down, "Down"},
    NamedKey{T::home, "Home"},
    NamedKey{T::end, "End"},
    NamedKey{T::page_up, "PgUp"},
    NamedKey{T::page_up, "PageUp"},
    NamedKey{T::page_down, "PgDn"},
    NamedKey{T::page_down, "PageDown"},
};

bool same_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
               return lower(x) == lower(y);
           });
}

// The words of a line, split on spaces and tabs.
std::vector<std::string_view> split_words(std::string_view line) {
    std::vector<std::string_view> words;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
            ++i;
        std::size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t')
            ++i;
        if (i > start)
            words.push_back(line.substr(start, i - start));
    }
    return words;
}

// What a config line shows of a word it refuses: printable ASCII only, and short.
std::string shown(std::string_view word) {
    std::string out;
    for (char c : word.substr(0, 40))
        out += (c >= 0x20 && c < 0x7F) ? c : '?';
    return out;
}

} // namespace

std::string_view action_name(Action action) {
    for (const auto& a : kActions)
        if (a.action == action)
            return a.name;
    return "none";
}

bool parse_action(std::string_view name, Action& action) {
    for (const auto& a : kActions) {
        if (a.name == name) {
            action = a.action;
            return true;
        }
    }
    return false;
}

std::string key_name(const Key& key) {
    if (key.type == T::ctrl)
        return "C-" + std::string(1, static_cast<char>(key.ch));
    if (key.type == T::alt) {
        std::string out = "M-";
        if (key.ch < 0x80)
            out += static_cast<char>(key.ch);
        return out;
    }
    for (const auto& k : kNamedKeys)
        if (k.type == key.type)
            return std::string(k.name);
    return "?";
}

bool parse_key_name(std::string_view name, Key& key, std::string* why) {
    auto refuse = [&](std::string sentence) {
        if (why)
            *why = std::move(sentence);
        return false;
    };
    for (const auto& k : kNamedKeys) {
        if (same_ignoring_case(k.name, name)) {
            key = Key::of(k.type);
            return true;
        }
    }
    if (name.size() == 3 && (name[0] == 'C' || name[0] == 'c') && name[1] == '-') {
        char c = name[2];
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
        if (c < 'a' || c > 'z')
            return refuse("unknown key '" + shown(name) +
                          "' (Ctrl goes with a letter: C-a to C-z)");
        if (c == 'h' || c == 'i' || c == 'j' || c == 'm')
            return refuse("C-" + std::string(1, c) +
                          " reaches the app as Backspace, Tab or Enter; bind those instead");
        key = Key::ctrl(c);
        return true;
    }
    if (name.size() == 3 && (name[0] == 'M' || name[0] == 'm') && name[1] == '-' &&
        name[2] > 0x20 && name[2] < 0x7F) {
        key = Key::alt(static_cast<char32_t>(name[2]));
        return true;
    }
    if (name.size() == 1)
        return refuse("'" + shown(name) + "' is typed as a character; bind C-" + shown(name) +
                      " or M-" + shown(name) + " instead");
    return refuse("unknown key '" + shown(name) + "'");
}

KeyBindings::KeyBindings() {
    const std::pair<Key, Action> defaults[] = {
        {Key::of(T::enter), Action::accept_line},
        {Key::of(T::escape), Action::cancel},
        {Key::of(T::tab), Action::complete},
        {Key::of(T::back_tab), Action::complete_backward},
        {Key::of(T::up), Action::history_previous},
        {Key::of(T::down), Action::history_next},
        {Key::of(T::left), Action::backward_char},
        {Key::of(T::right), Action::forward_char},
        {Key::of(T::home), Action::beginning_of_line},
        {Key::of(T::end), Action::end_of_line},
        {Key::of(T::backspace), Action::backward_delete_char},
        {Key::of(T::del), Action::delete_char},
        {Key::of(T::page_up), Action::scroll_up},
        {Key::of(T::page_down), Action::scroll_down},
        {Key::ctrl('a'), Action::beginning_of_line},
        {Key::ctrl('e'), Action::end_of_line},
        {Key::ctrl('b'), Action::backward_char},
        {Key::ctrl('f'), Action::forward_char},
        {Key::ctrl('d'), Action::delete_char},
        {Key::ctrl('k'), Action::kill_line},
        {Key::ctrl('u'), Action::kill_to_start},
        {Key::ctrl('w'), Action::kill_word_backward},
        {Key::ctrl('y'), Action::yank},
        {Key::ctrl('n'), Action::next_conversation},
        {Key::ctrl('p'), Action::previous_conversation},
        {Key::ctrl('r'), Action::find},
        {Key::ctrl('s'), Action::find_newer},
        {Key::ctrl('l'), Action::redraw},
        {Key::ctrl('q'), Action::quit},
        {Key::ctrl('c'), Action::quit},
        {Key::alt('b'), Action::backward_word},
        {Key::alt('f'), Action::forward_word},
        {Key::alt('d'), Action::kill_word_forward},
        {Key::alt('n'), Action::next_conversation},
        {Key::alt('p'), Action::previous_conversation},
        {Key::alt('>'), Action::scroll_bottom},
    };
    for (const auto& [key, action] : defaults)
        bind(key, action);
}

Action KeyBindings::action_for(const Key& key) const {
    auto it = m_bindings.find(slot(key));
    return it == m_bindings.end() ? Action::none : it->second;
}

void KeyBindings::bind(const Key& key, Action action) {
    if (action == Action::none)
        unbind(key);
    else
        m_bindings[slot(key)] = action;
}

void KeyBindings::unbind(const Key& key) {
    m_bindings.erase(slot(key));
}

std::vector<std::string> KeyBindings::load(std::string_view text) {
    std::vector<std::string> problems;
    int number = 0;
    while (!text.empty()) {
        ++number;
        std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        auto words = split_words(line);
        if (words.empty() || words.front().front() == '#')
            continue;
        std::string where = "line " + std::to_string(number) + ": ";
        const std::string_view verb = words.front();
        std::size_t wanted = verb == "bind" ? 3 : 2;
        if (verb != "bind" && verb != "unbind") {
            problems.push_back(where + "unknown word '" + shown(verb) +
                               "' (a line is: bind KEY ACTION, or unbind KEY)");
            continue;
        }
        if (words.size() != wanted) {
            problems.push_back(where + (verb == "bind" ? "bind takes a key and an action, e.g. "
                                                         "bind C-n next-conversation"
                                                       : "unbind takes one key, e.g. unbind C-s"));
            continue;
        }
        Key key;
        std::string why;
        if (!parse_key_name(words[1], key, &why)) {
            problems.push_back(where + why);
            continue;
        }
        if (verb == "unbind") {
            unbind(key);
            continue;
        }
        Action action;
        if (!parse_action(words[2], action)) {
            problems.push_back(where + "unknown action '" + shown(words[2]) + "'");
            continue;
        }
        bind(key, action);
    }
    return problems;
}

std::vector<std::string> KeyBindings::describe() const {
    std::vector<std::string> lines;
    for (const auto& [slot, action] : m_bindings) {
        Key key{static_cast<T>(slot.first), slot.second};
        lines.push_back(key_name(key) + " " + std::string(action_name(action)));
    }
    std::sort(lines.begin(), lines.end());
    return lines;
}

std::filesystem::path key_config_path(const char* xdg_config_home, const char* home) {
    if (xdg_config_home && *xdg_config_home == '/')
        return std::filesystem::path(xdg_config_home) / "veil" / "keys.conf";
    if (home && *home)
        return std::filesystem::path(home) / ".config" / "veil" / "keys.conf";
    return {};
}

} // namespace veil::tui
