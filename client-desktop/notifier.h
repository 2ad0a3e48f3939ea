// Notifier: how the main window tells the person about a new message while they look elsewhere.
// SystemNotifier is the real one: a system notification through QSystemTrayIcon::showMessage
// where the desktop has a tray that takes messages, otherwise QApplication::alert() on the
// window (the taskbar entry asks for attention; the window title carries the unread count).
// Tests put a recording Notifier in its place.
//
// Thread: the GUI thread.
#pragma once

#include "notification.h"

#include <QObject>
#include <QPointer>

#include <string>

class QSystemTrayIcon;
class QWidget;

namespace veil::desktop {

class Notifier {
public:
    virtual ~Notifier() = default;
    // text is already plain and inert (notification_text()); peer is its conversation.
    virtual void notify(const NotificationText& text, const std::string& peer) = 0;
};

class SystemNotifier final : public QObject, public Notifier {
    Q_OBJECT
public:
    // window is alerted when there is no tray; it must outlive the notifier or be its parent.
    explicit SystemNotifier(QWidget* window);
    ~SystemNotifier() override;

    void notify(const NotificationText& text, const std::string& peer) override;
    // Whether notify() shows a system notification (else it alerts the window).
    static bool tray_available();
    // Shows notifications through this tray icon (TrayIcon's) instead of one of its own; it
    // must outlive the notifier or be its child.
    void use_tray(QSystemTrayIcon* tray);

signals:
    // The person clicked the last notification: open peer's conversation.
    void openRequested(const QString& peer);

private:
    QPointer<QWidget> m_window;
    QSystemTrayIcon* m_tray = nullptr; // made at the first notification, when there is a tray
    QString m_last_peer;
};

} // namespace veil::desktop
