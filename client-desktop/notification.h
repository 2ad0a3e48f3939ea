// Notifications for new messages in the desktop app, as pure functions: the per-profile
// setting, when a message notifies, what a notification says, and the window title that counts
// unread messages. Any thread.
//
// The setting lives in the profile (AccountStore::setting/set_setting) under two keys, the same
// the terminal app reads (client-tui/notification.h):
//   "notification_preview"  "all" (sender and text, the default), "sender" (sender only) or
//                           "none" (just that there is a new message)
//   "notifications"         "on" (the default) or "off"
// An unknown or missing value reads as the default.
#pragma once

#include "store/account_store.h"

#include <QString>

#include <optional>
#include <string>
#include <string_view>

namespace veil::desktop {

inline constexpr const char* kPreviewSettingKey = "notification_preview";
inline constexpr const char* kNotificationsSettingKey = "notifications";

enum class NotificationPreview { all, sender, none };

struct NotificationSettings {
    bool enabled = true;
    NotificationPreview preview = NotificationPreview::all;
    bool operator==(const NotificationSettings&) const = default;
};

// "all", "sender", "none".
const char* preview_name(NotificationPreview preview);
std::optional<NotificationPreview> parse_preview(std::string_view value);
// Reads the two stored values ("" when unset).
NotificationSettings notification_settings_from(std::string_view preview_value,
                                                std::string_view notifications_value);
// Reads the setting from the profile; the default when it cannot be read.
NotificationSettings load_notification_settings(store::AccountStore& store);
Status save_notification_settings(store::AccountStore& store, const NotificationSettings& settings);

// Whether row should notify: a normal message from someone else (not ours, not one of our other
// devices', not a system line), notifications on, the sender not blocked, and not into the
// conversation that is open in a focused window.
bool should_notify(const store::MessageRow& row, const std::string& own_username,
                   const NotificationSettings& settings, bool sender_blocked,
                   bool conversation_open, bool window_focused);

struct NotificationText {
    QString title;
    QString body;
};

// What a notification says, every received part through display_text()/one_line():
//   all     title "bob" (or "bob in # hikers" for a group), body the text on one line
//   sender  title "Veil", body "New message from bob"
//   none    title "Veil", body "New message"
// group_title is the group's display title (group_title()), or empty for a 1:1 conversation.
NotificationText notification_text(NotificationPreview preview, std::string_view sender,
                                   const QString& group_title, std::string_view text);

// Notification servers on the freedesktop D-Bus interface may read the body as markup (bold,
// links, even images); this makes it literal text there: & < > become entities.
QString escape_notification_markup(const QString& text);

// "(3) Veil — alice", or "Veil — alice" with nothing unread.
QString window_title(int unread, const QString& username);

} // namespace veil::desktop
