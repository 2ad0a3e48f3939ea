// Notifications for new messages in the terminal app: the per-profile setting, when a message
// notifies, the terminal title that counts unread messages, and the OSC sequence that sets it.
// Pure functions over plain values; any thread.
//
// The setting lives in the profile (AccountStore::setting/set_setting) under two keys:
//   "notification_preview"  "all" (sender and text, the default), "sender" (sender only) or
//                           "none" (just that there is a new message)
//   "notifications"         "on" (the default) or "off"
// An unknown or missing value reads as the default. The desktop app reads the same keys.
#pragma once

#include "store/account_store.h"

#include <optional>
#include <string>
#include <string_view>

namespace veil::tui {

inline constexpr const char* kPreviewSettingKey = "notification_preview";
inline constexpr const char* kNotificationsSettingKey = "notifications";

enum class Preview { all, sender, none };

struct NotifySettings {
    bool enabled = true;
    Preview preview = Preview::all;
};

// "all", "sender", "none".
const char* preview_name(Preview preview);
std::optional<Preview> parse_preview(std::string_view value);
// Reads the two stored values ("" when unset) into settings.
NotifySettings notify_settings_from(std::string_view preview_value,
                                    std::string_view notifications_value);
// What /notify and `veil notify` print: "all", "sender", "none", or "off".
std::string describe(const NotifySettings& settings);
// Applies one word of /notify or `veil notify` (all|sender|none turn notifications on with that
// preview; off and on keep the preview); false for any other word.
bool apply_notify_word(NotifySettings& settings, std::string_view word);

// Whether row is news that should notify: a normal message from someone else (not ours, not
// one of our other devices', not a system line), notifications on, the sender not blocked, and
// its conversation not the one on screen.
bool should_notify(const store::MessageRow& row, const std::string& own_username,
                   const NotifySettings& settings, bool sender_blocked,
                   bool conversation_on_screen);

// The one-line text of a notification, made inert for the terminal: "bob: hi" (all, 1:1),
// "bob in # hikers: hi" (all, group), "New message from bob" (sender), "New message" (none).
// sender and text are received bytes; conversation_title is the group's display name, or empty
// for a 1:1 conversation.
std::string notification_text(Preview preview, std::string_view sender,
                              std::string_view conversation_title, std::string_view text);

// The terminal title: "Veil" with nothing unread, "(3) Veil" and, when notifications are on with
// a preview that shows the sender (all or sender) and one is known, " — new from bob". Never
// message text: a title is readable by other programs (window lists, tmux, screen sharing).
std::string terminal_title(int unread, std::string_view last_sender,
                           const NotifySettings& settings);

// text with everything a terminal could obey removed (C0 and C1 controls, DEL, so no ESC, BEL
// or ST can end the sequence early), invalid UTF-8 replaced and cut to max_chars code points.
std::string sanitize_title(std::string_view text, std::size_t max_chars = 120);
// The xterm OSC 0 sequence that sets the icon name and window title to sanitize_title(title).
std::string osc_title_sequence(std::string_view title);
// Whether a terminal of this TERM is known to take OSC 0 (xterm, screen, tmux, rxvt, alacritty,
// foot, kitty, wezterm, st, ...); false for linux, dumb, vt100 and anything unknown.
bool terminal_takes_title(std::string_view term);

} // namespace veil::tui
