// What Qt would show for a string on its other surfaces, for tests that check received markup
// stays literal: QToolTip renders a tooltip as rich text when Qt::mightBeRichText() guesses so,
// a menu's or button's label takes "&" as a mnemonic (and "&&" as one "&") and a tab as the
// start of its shortcut column, and a window title drops a lone "[*]".
#pragma once

#include <QString>
#include <QTextBlock>
#include <QTextDocument>
#include <QTextFragment>
#include <QWidget>
#include <QWindow>

namespace veil::desktop::test {

// The plain text a tooltip shows, as QToolTip's label decides (Qt::AutoText). Line breaks come
// back as '\n'.
inline QString shown_tooltip(const QString& tooltip) {
    if (!Qt::mightBeRichText(tooltip))
        return tooltip;
    QTextDocument document;
    document.setHtml(tooltip);
    QString text = document.toPlainText();
    text.replace(QChar::LineSeparator, QLatin1Char('\n'));
    text.replace(QChar::Nbsp, QLatin1Char(' '));
    return text;
}

// Whether a tooltip would show anything but text: a picture, a link, bold or italic words.
inline bool tooltip_renders_markup(const QString& tooltip) {
    if (!Qt::mightBeRichText(tooltip))
        return false;
    QTextDocument document;
    document.setHtml(tooltip);
    for (QTextBlock block = document.begin(); block.isValid(); block = block.next())
        for (auto it = block.begin(); !it.atEnd(); ++it) {
            const QTextCharFormat format = it.fragment().charFormat();
            if (format.isImageFormat() || format.isAnchor() || format.fontWeight() > 400 ||
                format.fontItalic() || format.fontUnderline())
                return true;
        }
    return false;
}

// The text a menu item or button shows for label: "&&" is one "&", a lone "&" marks the
// mnemonic and is not shown, and a tab ends the label (the shortcut column follows).
inline QString shown_label(const QString& label) {
    QString text = label.section(QLatin1Char('\t'), 0, 0);
    QString out;
    for (qsizetype i = 0; i < text.size(); ++i) {
        if (text[i] == QLatin1Char('&') && i + 1 < text.size()) {
            ++i; // "&&" shows one "&"; "&x" shows "x"
        }
        out += text[i];
    }
    return out;
}

// The title the platform's window gets for widget (a top-level one).
inline QString shown_window_title(QWidget& widget) {
    widget.winId(); // creates the platform window
    return widget.windowHandle() ? widget.windowHandle()->title() : QString();
}

} // namespace veil::desktop::test
