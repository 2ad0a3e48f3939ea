#include "notification.h"

#include "screen_layout.h"
#include "util/unicode.h"

#include <array>

namespace veil::tui {

const char* preview_name(Preview preview) {
    switch (preview) {
    case Preview::all: return "all";
    case Preview::sender: return "sender";
    case Preview::none: return "none";
    }
    return "all";
}

std::optional<Preview> parse_preview(std::string_view value) {
    if (value == "all")
        return Preview::all;
    if (value == "sender")
        return Preview::sender;
    if (value == "none")
        return Preview::none;
    return std::nullopt;
}

NotifySettings notify_settings_from(std::string_view preview_value,
                                    std::string_view notifications_value) {
    NotifySettings settings;
    settings.preview = parse_preview(preview_value).value_or(Preview::all);
    settings.enabled = notifications_value != "off";
    return settings;
}

std::string describe(const NotifySettings& settings) {
    return settings.enabled ? preview_name(settings.preview) : "off";
}

bool apply_notify_word(NotifySettings& settings, std::string_view word) {
    if (word == "on" || word == "off") {
        settings.enabled = word == "on";
        return true;
    }
    auto preview = parse_preview(word);
    if (!preview)
        return false;
    settings.preview = *preview;
    settings.enabled = true;
    return true;
}

bool should_notify(const store::MessageRow& row, const std::string& own_username,
                   const NotifySettings& settings, bool sender_blocked,
                   bool conversation_on_screen) {
    if (!settings.enabled || sender_blocked || conversation_on_screen)
        return false;
    if (row.direction != store::Direction::incoming || row.kind != store::MessageKind::normal)
        return false;
    return row.sender != store::kSystemSender && row.sender != own_username;
}

std::string notification_text(Preview preview, std::string_view sender,
                              std::string_view conversation_title, std::string_view text) {
    switch (preview) {
    case Preview::none: return "New message";
    case Preview::sender: return "New message from " + display_text(sender);
    case Preview::all: break;
    }
    std::string who = display_text(sender);
    if (!conversation_title.empty())
        who += " in " + display_text(conversation_title);
    return who + ": " + display_text(text);
}

std::string terminal_title(int unread, std::string_view last_sender,
                           const NotifySettings& settings) {
    if (unread <= 0)
        return "Veil";
    std::string title = "(" + std::to_string(unread) + ") Veil";
    bool names_sender = settings.enabled && settings.preview != Preview::none;
    if (names_sender && !last_sender.empty())
        title += " \xE2\x80\x94 new from " + std::string(last_sender); // —
    return title;
}

std::string sanitize_title(std::string_view text, std::size_t max_chars) {
    std::string out;
    std::size_t count = 0;
    for (std::size_t i = 0; i < text.size() && count < max_chars;) {
        char32_t cp;
        i += unicode::next(text, i, cp);
        // C0 (ESC, BEL end or start sequences), DEL and C1 (8-bit ST and OSC) are dropped.
        if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
            continue;
        // Bidi and invisible format characters could disguise the title; drop them too.
        if (unicode::needs_visible_mark(cp))
            continue;
        unicode::append(out, cp);
        ++count;
    }
    return out;
}

std::string osc_title_sequence(std::string_view title) {
    return "\x1b]0;" + sanitize_title(title) + "\x07";
}

bool terminal_takes_title(std::string_view term) {
    static constexpr std::array<std::string_view, 14> kPrefixes = {
        "xterm",   "screen", "tmux",    "rxvt",  "alacritty", "foot",  "kitty",
        "wezterm", "st-",    "konsole", "gnome", "vte",       "putty", "contour"};
    if (term == "st")
        return true;
    for (auto prefix : kPrefixes)
        if (term.substr(0, prefix.size()) == prefix)
            return true;
    return false;
}

} // namespace veil::tui
