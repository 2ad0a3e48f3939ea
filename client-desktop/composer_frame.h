// ComposerFrame: the rounded field that holds the composer's buttons and input. Its corners are
// round with the radius of its buttons plus its margin, so that a round button in a corner sits
// concentric with it and never reaches its edge, however many lines the input grows to. Its
// border takes the accent colour while something inside has the keyboard focus.
//
// Thread: the GUI thread.
#pragma once

#include <QFrame>

namespace veil::desktop {

class ComposerFrame final : public QFrame {
    Q_OBJECT
public:
    // button_side: the side of the round buttons; margin: the space around them inside the frame.
    ComposerFrame(int button_side, int margin, QWidget* parent = nullptr);

    // The corners' radius.
    qreal radius() const;

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    int m_button_side;
    int m_margin;
};

} // namespace veil::desktop
