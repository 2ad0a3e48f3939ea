#include "glyph_button.h"

#include "theme.h"

#include <QFocusEvent>
#include <QPainter>
#include <QPainterPath>

#include <cmath>

namespace veil::desktop {
namespace {

// Each glyph is drawn in a 24 by 24 box, scaled to the button.
void draw_emoji(QPainter& p, const QColor& color) {
    p.setPen(QPen(color, 1.7, Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin));
    p.setBrush(Qt::NoBrush);
    p.drawEllipse(QPointF(12, 12), 8.5, 8.5);
    QPainterPath smile;
    smile.moveTo(8.2, 13.6);
    smile.cubicTo(9.6, 16.6, 14.4, 16.6, 15.8, 13.6);
    p.drawPath(smile);
    p.setPen(Qt::NoPen);
    p.setBrush(color);
    p.drawEllipse(QPointF(9.2, 9.8), 1.25, 1.25);
    p.drawEllipse(QPointF(14.8, 9.8), 1.25, 1.25);
}

void draw_attach(QPainter& p, const QColor& color) {
    // A paper clip standing upright, then leaned to the right as clips are drawn.
    QPainterPath clip;
    clip.moveTo(14.5, 6.5);
    clip.lineTo(14.5, 16.5);
    clip.arcTo(QRectF(7.5, 13, 7, 7), 0, -180);
    clip.lineTo(7.5, 5.5);
    clip.arcTo(QRectF(7.5, 3, 5, 5), 180, -180);
    clip.lineTo(12.5, 15.2);
    clip.arcTo(QRectF(9.5, 13.7, 3, 3), 0, -180);
    clip.lineTo(9.5, 7.5);
    p.save();
    p.translate(12, 12);
    p.rotate(40);
    p.translate(-11, -12);
    p.setPen(QPen(color, 1.7, Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin));
    p.setBrush(Qt::NoBrush);
    p.drawPath(clip);
    p.restore();
}

void draw_send(QPainter& p, const QColor& color) {
    // A paper plane flying right: a long dart with a notch at its tail.
    QPainterPath plane;
    plane.moveTo(5.5, 5.2);
    plane.lineTo(19.6, 12);
    plane.lineTo(5.5, 18.8);
    plane.lineTo(7.6, 12.9);
    plane.lineTo(13.2, 12);
    plane.lineTo(7.6, 11.1);
    plane.closeSubpath();
    p.setPen(QPen(color, 0.9, Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin));
    p.setBrush(color);
    p.drawPath(plane);
}

} // namespace

void paint_warning_sign(QPainter& p, const QRectF& box, const QColor& color,
                        const QColor& mark_color) {
    p.save();
    p.setRenderHint(QPainter::Antialiasing);
    const qreal s = std::min(box.width(), box.height());
    p.translate(box.center() - QPointF(s / 2, s / 2));
    p.scale(s / 24, s / 24);
    QPainterPath triangle;
    triangle.moveTo(12, 2.5);
    triangle.lineTo(22.5, 21);
    triangle.lineTo(1.5, 21);
    triangle.closeSubpath();
    QPainterPath mark;
    mark.addRoundedRect(QRectF(10.7, 8.2, 2.6, 7.6), 1.2, 1.2);
    mark.addEllipse(QPointF(12, 18.2), 1.45, 1.45);
    p.setPen(QPen(color, 2.2, Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin)); // round corners
    p.setBrush(color);
    p.drawPath(triangle);
    p.setPen(Qt::NoPen);
    p.setBrush(mark_color);
    p.drawPath(mark);
    p.restore();
}

GlyphButton::GlyphButton(Glyph glyph, QWidget* parent)
    : QToolButton(parent)
    , m_glyph(glyph) {
    setAttribute(Qt::WA_Hover);
    setCursor(Qt::PointingHandCursor);
    setFocusPolicy(Qt::TabFocus);
}

QSize GlyphButton::sizeHint() const {
    const int side = fontMetrics().height() * 2;
    return QSize(side, side);
}

void GlyphButton::focusInEvent(QFocusEvent* event) {
    m_focus_from_keyboard =
        event->reason() == Qt::TabFocusReason || event->reason() == Qt::BacktabFocusReason;
    QToolButton::focusInEvent(event);
}

void GlyphButton::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const ThemeColors c = theme_colors(palette());
    const bool dark = is_dark(palette());
    const qreal side = std::min(width(), height());
    const QRectF circle((width() - side) / 2 + 1, (height() - side) / 2 + 1, side - 2, side - 2);
    const bool hovered = underMouse() && isEnabled();
    const bool pressed = isDown();

    QColor fill = Qt::transparent;
    QColor glyph = c.muted;
    if (m_glyph == Glyph::send) {
        fill = isEnabled() ? c.accent : c.hover.darker(dark ? 80 : 104);
        if (isEnabled() && (hovered || pressed))
            fill = pressed ? c.accent.darker(115) : c.accent.lighter(dark ? 115 : 110);
        glyph = isEnabled() ? c.on_accent : c.muted;
    } else if (hovered || pressed) {
        fill = pressed ? c.separator : c.hover.darker(dark ? 70 : 103);
        glyph = palette().color(QPalette::Text);
    }
    p.setPen(Qt::NoPen);
    p.setBrush(fill);
    p.drawEllipse(circle);
    if (hasFocus() && m_focus_from_keyboard) {
        p.setPen(QPen(c.accent, std::max(1.5, side / 20)));
        p.setBrush(Qt::NoBrush);
        p.drawEllipse(circle.adjusted(0.5, 0.5, -0.5, -0.5));
    }

    // The glyph's 24-unit box takes about two thirds of the circle (a little less for the
    // plane, which fills its box more).
    const qreal box = side * (m_glyph == Glyph::send ? 0.58 : 0.66);
    p.translate(circle.center() - QPointF(box / 2, box / 2));
    if (m_glyph == Glyph::send)
        p.translate(box * 0.04, 0); // the plane's weight sits left of its box's centre
    p.scale(box / 24, box / 24);
    switch (m_glyph) {
    case Glyph::emoji: draw_emoji(p, glyph); break;
    case Glyph::attach: draw_attach(p, glyph); break;
    case Glyph::send: draw_send(p, glyph); break;
    }
}

} // namespace veil::desktop
