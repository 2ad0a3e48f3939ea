#include "composer_frame.h"

#include "theme.h"

#include <QApplication>
#include <QPainter>

#include <algorithm>

namespace veil::desktop {

ComposerFrame::ComposerFrame(int button_side, int margin, QWidget* parent)
    : QFrame(parent)
    , m_button_side(button_side)
    , m_margin(margin) {
    setAttribute(Qt::WA_StyledBackground, false);
    setContentsMargins(0, 0, 0, 0);
    // The border follows the focus of what is inside.
    connect(qApp, &QApplication::focusChanged, this, [this] { update(); });
}

qreal ComposerFrame::radius() const {
    return std::min(m_button_side / 2.0 + m_margin, height() / 2.0);
}

void ComposerFrame::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const ThemeColors c = theme_colors(palette());
    QWidget* focus = QApplication::focusWidget();
    const bool focused = focus && isAncestorOf(focus);
    const QRectF r = QRectF(rect()).adjusted(0.5, 0.5, -0.5, -0.5);
    // The dark palette's mid is too close to its base to draw an edge with.
    const QColor edge =
        is_dark(palette()) ? c.separator.lighter(125) : palette().color(QPalette::Mid);
    p.setPen(QPen(focused ? c.accent : edge, 1));
    p.setBrush(palette().color(QPalette::Base));
    p.drawRoundedRect(r, radius() - 0.5, radius() - 0.5);
}

} // namespace veil::desktop
