// GlyphButton: a round tool button that paints its symbol as a vector (an emoji face, a paper
// clip, a paper plane) in the palette's colours, so that it is sharp at any screen density and
// follows the theme without image files. The emoji and attach buttons are quiet (a circle
// shows under the pointer); the send button is a filled accent circle, grey while disabled.
// Keyboard focus shows as a ring. Its text stays the accessible name; the glyph is all that is
// drawn.
//
// Thread: the GUI thread.
#pragma once

#include <QToolButton>

class QPainter;

namespace veil::desktop {

// A warning sign (a triangle in color with an "!" in mark_color) in box: the look-alike mark of
// the conversation list, drawn as a vector so that it is solid at any size and density.
void paint_warning_sign(QPainter& painter, const QRectF& box, const QColor& color,
                        const QColor& mark_color);

class GlyphButton final : public QToolButton {
    Q_OBJECT
public:
    enum class Glyph { emoji, attach, send };

    explicit GlyphButton(Glyph glyph, QWidget* parent = nullptr);

    Glyph glyph() const { return m_glyph; }
    // A circle of twice the font's height.
    QSize sizeHint() const override;
    QSize minimumSizeHint() const override { return sizeHint(); }

protected:
    void paintEvent(QPaintEvent* event) override;
    void focusInEvent(QFocusEvent* event) override;

private:
    Glyph m_glyph;
    bool m_focus_from_keyboard = false;
};

} // namespace veil::desktop
