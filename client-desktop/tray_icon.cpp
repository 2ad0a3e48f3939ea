#include "tray_icon.h"

#include <QApplication>
#include <QMenu>
#include <QPainter>
#include <QStyle>
#include <QSystemTrayIcon>

namespace veil::desktop {
namespace {

constexpr int kIconPixels = 64;

QIcon base_icon() {
    QIcon icon = QApplication::windowIcon();
    if (icon.isNull())
        icon = QApplication::style()->standardIcon(QStyle::SP_MessageBoxInformation);
    return icon;
}

} // namespace

TrayIcon::TrayIcon(QObject* parent)
    : QObject(parent)
    , m_base(base_icon())
    , m_icon(m_base) {
    if (!available())
        return;
    m_menu = new QMenu;
    m_menu->addAction(tr("Show Veil"), this, &TrayIcon::showRequested);
    m_menu->addSeparator();
    m_menu->addAction(tr("Quit"), this, &TrayIcon::quitRequested);
    m_tray = new QSystemTrayIcon(m_icon, this);
    m_tray->setContextMenu(m_menu);
    m_tray->setToolTip(tooltip());
    connect(m_tray, &QSystemTrayIcon::activated, this,
            [this](QSystemTrayIcon::ActivationReason reason) {
                if (reason == QSystemTrayIcon::Trigger || reason == QSystemTrayIcon::DoubleClick)
                    activate();
            });
    m_tray->show();
}

TrayIcon::~TrayIcon() {
    delete m_menu;
}

bool TrayIcon::available() {
    return QSystemTrayIcon::isSystemTrayAvailable();
}

QIcon TrayIcon::badged(const QIcon& base, int unread) {
    if (unread <= 0)
        return base;
    QPixmap pixmap = base.pixmap(kIconPixels, kIconPixels);
    if (pixmap.isNull()) {
        pixmap = QPixmap(kIconPixels, kIconPixels);
        pixmap.fill(Qt::transparent);
    }
    QString text = unread > 99 ? QStringLiteral("99+") : QString::number(unread);
    QPainter painter(&pixmap);
    painter.setRenderHint(QPainter::Antialiasing);
    const int size = pixmap.width() * 5 / 8;
    QRect badge(pixmap.width() - size, 0, size, size);
    painter.setPen(Qt::NoPen);
    painter.setBrush(QColor(0xd0, 0x24, 0x24));
    painter.drawEllipse(badge);
    QFont font = painter.font();
    font.setBold(true);
    font.setPixelSize(text.size() > 2 ? size / 3 : size / 2);
    painter.setFont(font);
    painter.setPen(Qt::white);
    painter.drawText(badge, Qt::AlignCenter, text);
    painter.end();
    return QIcon(pixmap);
}

QString TrayIcon::tooltip_for(int unread) {
    if (unread <= 0)
        return tr("Veil — no unread messages");
    if (unread == 1)
        return tr("Veil — 1 unread message");
    return tr("Veil — %1 unread messages").arg(unread);
}

void TrayIcon::set_unread(int unread) {
    if (unread == m_unread)
        return;
    m_unread = unread;
    m_icon = badged(m_base, unread);
    if (m_tray) {
        m_tray->setIcon(m_icon);
        m_tray->setToolTip(tooltip());
    }
}

void TrayIcon::activate() {
    emit showRequested();
}

} // namespace veil::desktop
