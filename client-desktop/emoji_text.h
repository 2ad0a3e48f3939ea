// Colour emoji in plain text. The default UI font on many Linux desktops (DejaVu Sans) has
// black-and-white glyphs for the common faces (U+1F600…), which wins over the colour emoji font
// in Qt's fallback; putting the emoji font first instead would turn digits into emoji keycaps.
// So runs of emoji get the colour font (Noto Color Emoji, when installed) explicitly, as text
// formats of a QTextLayout or through a highlighter in an editor. Text stays plain text.
//
// Thread: the GUI thread.
#pragma once

#include <QSyntaxHighlighter>
#include <QTextLayout>

class QPainter;

namespace veil::desktop {

// The colour emoji font's family, or empty when none is installed.
QString emoji_family();

// Whether c is drawn as an emoji (pictographs, most symbols with an emoji form, flags).
bool is_emoji(char32_t c);

// The ranges of text that are emoji (with their joiners and variation selectors), formatted
// with the colour emoji font; empty when there is no such font or no emoji.
QList<QTextLayout::FormatRange> emoji_formats(const QString& text);

// Draws text on one line with its top-left corner at top_left, emoji in colour; returns the
// width drawn. The text is not elided here: elide it first.
qreal draw_text_line(QPainter& painter, const QPointF& top_left, const QString& text,
                     const QFont& font);

// Gives the emoji in a QTextDocument (the composer's) the colour font as they are typed.
class EmojiHighlighter final : public QSyntaxHighlighter {
public:
    using QSyntaxHighlighter::QSyntaxHighlighter;

protected:
    void highlightBlock(const QString& text) override;
};

} // namespace veil::desktop
