#include "notification.h"

#include "display_text.h"

#include <QObject>

namespace veil::desktop {
namespace {

// Long enough for a sentence or two; a notification is a glimpse, not the message.
constexpr int kBodyChars = 160;
constexpr int kNameChars = 64;

} // namespace

const char* preview_name(NotificationPreview preview) {
    switch (preview) {
    case NotificationPreview::all: return "all";
    case NotificationPreview::sender: return "sender";
    case NotificationPreview::none: return "none";
    }
    return "all";
}

std::optional<NotificationPreview> parse_preview(std::string_view value) {
    if (value == "all")
        return NotificationPreview::all;
    if (value == "sender")
        return NotificationPreview::sender;
    if (value == "none")
        return NotificationPreview::none;
    return std::nullopt;
}

NotificationSettings notification_settings_from(std::string_view preview_value,
                                                std::string_view notifications_value) {
    NotificationSettings settings;
    settings.preview = parse_preview(preview_value).value_or(NotificationPreview::all);
    settings.enabled = notifications_value != "off";
    return settings;
}

NotificationSettings load_notification_settings(store::AccountStore& store) {
    auto preview = store.setting(kPreviewSettingKey);
    auto enabled = store.setting(kNotificationsSettingKey);
    return notification_settings_from(preview ? preview.value() : std::string(),
                                      enabled ? enabled.value() : std::string());
}

Status save_notification_settings(store::AccountStore& store,
                                  const NotificationSettings& settings) {
    VEIL_TRY(store.set_setting(kPreviewSettingKey, preview_name(settings.preview)));
    return store.set_setting(kNotificationsSettingKey, settings.enabled ? "on" : "off");
}

bool should_notify(const store::MessageRow& row, const std::string& own_username,
                   const NotificationSettings& settings, bool sender_blocked,
                   bool conversation_open, bool window_focused) {
    if (!settings.enabled || sender_blocked || (conversation_open && window_focused))
        return false;
    if (row.direction != store::Direction::incoming || row.kind != store::MessageKind::normal)
        return false;
    return row.sender != store::kSystemSender && row.sender != own_username;
}

NotificationText notification_text(NotificationPreview preview, std::string_view sender,
                                   const QString& group_title, std::string_view text) {
    QString app = QStringLiteral("Veil");
    QString who = one_line(sender, kNameChars);
    switch (preview) {
    case NotificationPreview::none: return {app, QObject::tr("New message")};
    case NotificationPreview::sender: return {app, QObject::tr("New message from %1").arg(who)};
    case NotificationPreview::all: break;
    }
    QString title = group_title.isEmpty() ? who : QObject::tr("%1 in %2").arg(who, group_title);
    return {title, one_line(text, kBodyChars)};
}

QString escape_notification_markup(const QString& text) {
    return text.toHtmlEscaped();
}

QString window_title(int unread, const QString& username) {
    QString title = QObject::tr("Veil — %1").arg(username);
    if (unread > 0)
        title = QStringLiteral("(%1) ").arg(unread) + title;
    return title;
}

} // namespace veil::desktop
