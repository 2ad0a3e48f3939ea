#include "notifier.h"

#include <QApplication>
#include <QStyle>
#include <QSystemTrayIcon>
#include <QWidget>

namespace veil::desktop {
namespace {

constexpr int kShownMs = 8000;

} // namespace

SystemNotifier::SystemNotifier(QWidget* window)
    : QObject(window)
    , m_window(window) {}

SystemNotifier::~SystemNotifier() = default;

bool SystemNotifier::tray_available() {
    return QSystemTrayIcon::isSystemTrayAvailable() && QSystemTrayIcon::supportsMessages();
}

void SystemNotifier::use_tray(QSystemTrayIcon* tray) {
    if (!tray || tray == m_tray)
        return;
    m_tray = tray;
    connect(m_tray, &QSystemTrayIcon::messageClicked, this,
            [this] { emit openRequested(m_last_peer); });
}

void SystemNotifier::notify(const NotificationText& text, const std::string& peer) {
    m_last_peer = QString::fromStdString(peer);
    if (!tray_available()) {
        if (m_window)
            QApplication::alert(m_window);
        return;
    }
    if (!m_tray) {
        QIcon icon = QApplication::windowIcon();
        if (icon.isNull())
            icon = QApplication::style()->standardIcon(QStyle::SP_MessageBoxInformation);
        m_tray = new QSystemTrayIcon(icon, this);
        m_tray->setToolTip(QStringLiteral("Veil"));
        connect(m_tray, &QSystemTrayIcon::messageClicked, this,
                [this] { emit openRequested(m_last_peer); });
        m_tray->show();
    }
    // On Linux the message goes to a freedesktop notification server, which may read the body
    // (not the summary) as markup.
#if defined(Q_OS_UNIX) && !defined(Q_OS_MACOS)
    m_tray->showMessage(text.title, escape_notification_markup(text.body),
                        QSystemTrayIcon::Information, kShownMs);
#else
    m_tray->showMessage(text.title, text.body, QSystemTrayIcon::Information, kShownMs);
#endif
}

} // namespace veil::desktop
