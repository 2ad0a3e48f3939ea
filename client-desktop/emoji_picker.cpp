#include "emoji_picker.h"

#include "emoji_text.h"

#include <QGridLayout>
#include <QGuiApplication>
#include <QScreen>
#include <QToolButton>

namespace veil::desktop {
namespace {

constexpr int kColumns = 8;

} // namespace

QStringList EmojiPicker::emoji() {
    return QString::fromUtf8(
               "😀 😂 🙂 😉 😊 😍 😘 😎 🤔 😅 😢 😭 😮 😡 🥳 😴 "
               "👍 👎 👏 🙏 💪 👋 🤝 ✌️ ❤️ 💔 🔥 ⭐ 🎉 ✅ ❌ ☕ "
               "🍕 🍺 🎂 🌞 🌧️ 🚀 💡 📎")
        .split(QChar(u' '), Qt::SkipEmptyParts);
}

EmojiPicker::EmojiPicker(QWidget* parent)
    : QFrame(parent, Qt::Popup) {
    setAttribute(Qt::WA_DeleteOnClose);
    setFrameShape(QFrame::StyledPanel);
    setAccessibleName(tr("Emoji"));
    auto* grid = new QGridLayout(this);
    const int gap = fontMetrics().height() / 6;
    grid->setSpacing(gap);
    grid->setContentsMargins(gap * 2, gap * 2, gap * 2, gap * 2);
    // Square buttons sized from the font, so that the grid scales with it.
    const int side = fontMetrics().height() * 2;
    QFont big = font();
    big.setPixelSize(side * 11 / 20);
    if (!emoji_family().isEmpty())
        big.setFamilies({emoji_family()}); // only emoji here: the colour font first
    const QStringList all = emoji();
    for (int i = 0; i < all.size(); ++i) {
        auto* button = new QToolButton;
        button->setText(all.at(i));
        button->setFont(big);
        button->setAutoRaise(true);
        button->setFixedSize(side, side);
        button->setAccessibleName(all.at(i));
        connect(button, &QToolButton::clicked, this, [this, e = all.at(i)] {
            emit picked(e);
            close();
        });
        grid->addWidget(button, i / kColumns, i % kColumns);
    }
}

void EmojiPicker::popup_at(QWidget* anchor) {
    adjustSize();
    QPoint above = anchor->mapToGlobal(QPoint(0, -height()));
    QScreen* screen = anchor->screen();
    if (screen && above.y() < screen->availableGeometry().top())
        above = anchor->mapToGlobal(QPoint(0, anchor->height()));
    move(above);
    show();
}

} // namespace veil::desktop
