// EmojiPicker: a small popup grid of common emoji under the composer's emoji button; choosing
// one emits picked() and closes the popup.
//
// Thread: the GUI thread.
#pragma once

#include <QFrame>
#include <QStringList>

namespace veil::desktop {

class EmojiPicker final : public QFrame {
    Q_OBJECT
public:
    explicit EmojiPicker(QWidget* parent = nullptr);

    // The emoji offered, in the grid's order.
    static QStringList emoji();
    // Shows the popup above (or, without room, below) anchor.
    void popup_at(QWidget* anchor);

signals:
    void picked(const QString& emoji);
};

} // namespace veil::desktop
