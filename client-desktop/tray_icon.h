// TrayIcon: Veil in the system tray, where the desktop has one. The icon carries a drawn badge
// with the unread count and its tooltip says it in words; clicking it shows and raises the main
// window, and its menu offers Show and Quit. The same tray icon carries the system
// notifications (SystemNotifier::use_tray), so that clicking one opens its conversation.
// Without a tray, nothing is shown and the window title still counts unread messages.
//
// Thread: the GUI thread.
#pragma once

#include <QIcon>
#include <QObject>
#include <QString>

class QMenu;
class QSystemTrayIcon;

namespace veil::desktop {

class TrayIcon final : public QObject {
    Q_OBJECT
public:
    explicit TrayIcon(QObject* parent = nullptr);
    ~TrayIcon() override;

    // Whether the desktop has a tray (the icon is shown only then).
    static bool available();
    // base with a round badge holding unread ("99+" above 99) in its top right corner; base
    // unchanged for 0.
    static QIcon badged(const QIcon& base, int unread);
    // "Veil — 3 unread messages" / "Veil — no unread messages".
    static QString tooltip_for(int unread);

    void set_unread(int unread);
    int unread() const { return m_unread; }
    QString tooltip() const { return tooltip_for(m_unread); }
    QIcon icon() const { return m_icon; }
    // The tray icon itself, or nullptr without a tray.
    QSystemTrayIcon* tray() const { return m_tray; }
    // What a click on the icon does (also the tests' way to click it).
    void activate();

signals:
    void showRequested();
    void quitRequested();

private:
    QIcon m_base;
    QIcon m_icon;
    int m_unread = 0;
    QSystemTrayIcon* m_tray = nullptr;
    QMenu* m_menu = nullptr;
};

} // namespace veil::desktop
