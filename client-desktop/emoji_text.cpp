#include "emoji_text.h"

#include <QFontDatabase>
#include <QPainter>
#include <QTextCharFormat>

#include <algorithm>
#include <array>

namespace veil::desktop {
namespace {

// Dingbats and miscellaneous symbols that have an emoji form (most of the rest are text marks
// such as ✓ and ✗, which stay in the text font).
constexpr std::array<char32_t, 38> kEmojiSymbols = {
    0x231A, 0x231B, 0x2328, 0x23CF, 0x23F8, 0x23F9, 0x23FA, 0x2702, 0x2705, 0x2708,
    0x2709, 0x270A, 0x270B, 0x270C, 0x270D, 0x270F, 0x2712, 0x2714, 0x2716, 0x271D,
    0x2721, 0x2728, 0x2733, 0x2734, 0x2744, 0x2747, 0x274C, 0x274E, 0x2753, 0x2754,
    0x2755, 0x2757, 0x2763, 0x2764, 0x2795, 0x2796, 0x2797, 0x27B0};

bool joins_emoji(char32_t c) {
    return c == 0x200D || c == 0xFE0F || c == 0x20E3 || (c >= 0xE0020 && c <= 0xE007F);
}

} // namespace

QString emoji_family() {
    static const QString family = [] {
        const QString noto = QStringLiteral("Noto Color Emoji");
        return QFontDatabase::families().contains(noto) ? noto : QString();
    }();
    return family;
}

bool is_emoji(char32_t c) {
    if (c >= 0x1F000 && c <= 0x1FAFF)
        return true;
    if (c >= 0x2600 && c <= 0x26FF)
        return true;
    if ((c >= 0x23E9 && c <= 0x23F3) || c == 0x2B50 || c == 0x2B55 || c == 0x2B1B || c == 0x2B1C ||
        c == 0x27BF || c == 0x3030 || c == 0x303D)
        return true;
    return std::find(kEmojiSymbols.begin(), kEmojiSymbols.end(), c) != kEmojiSymbols.end();
}

QList<QTextLayout::FormatRange> emoji_formats(const QString& text) {
    QList<QTextLayout::FormatRange> ranges;
    if (emoji_family().isEmpty())
        return ranges;
    QTextCharFormat format;
    format.setFontFamilies({emoji_family()});
    int start = -1;
    int i = 0;
    auto close = [&](int end) {
        if (start >= 0)
            ranges.append({start, end - start, format});
        start = -1;
    };
    while (i < text.size()) {
        char32_t c = text.at(i).unicode();
        int width = 1;
        if (text.at(i).isHighSurrogate() && i + 1 < text.size() &&
            text.at(i + 1).isLowSurrogate()) {
            c = QChar::surrogateToUcs4(text.at(i), text.at(i + 1));
            width = 2;
        }
        if (is_emoji(c)) {
            if (start < 0)
                start = i;
        } else if (!(start >= 0 && joins_emoji(c))) {
            close(i);
        }
        i += width;
    }
    close(static_cast<int>(text.size()));
    return ranges;
}

qreal draw_text_line(QPainter& painter, const QPointF& top_left, const QString& text,
                     const QFont& font) {
    QTextLayout layout(text, font);
    layout.setFormats(emoji_formats(text));
    QTextOption option;
    option.setWrapMode(QTextOption::NoWrap);
    layout.setTextOption(option);
    layout.beginLayout();
    QTextLine line = layout.createLine();
    if (line.isValid())
        line.setPosition(QPointF(0, 0));
    layout.endLayout();
    layout.draw(&painter, top_left);
    return line.isValid() ? line.naturalTextWidth() : 0;
}

void EmojiHighlighter::highlightBlock(const QString& text) {
    for (const auto& range : emoji_formats(text))
        setFormat(range.start, range.length, range.format);
}

} // namespace veil::desktop
