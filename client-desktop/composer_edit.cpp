#include "composer_edit.h"

#include <QAbstractTextDocumentLayout>
#include <QFileInfo>
#include <QKeyEvent>
#include <QMimeData>
#include <QResizeEvent>
#include <QScrollBar>
#include <QTextBlock>
#include <QUrl>

#include <algorithm>
#include <cmath>

namespace veil::desktop {

QStringList local_files(const QMimeData* mime) {
    QStringList paths;
    if (!mime || !mime->hasUrls())
        return paths;
    for (const QUrl& url : mime->urls())
        if (url.isLocalFile() && QFileInfo(url.toLocalFile()).isFile())
            paths << url.toLocalFile();
    return paths;
}

bool pasted_image(const QMimeData* mime) {
    return mime && mime->hasImage() && !(mime->hasText() && !mime->text().isEmpty());
}

ComposerEdit::ComposerEdit(QWidget* parent)
    : QPlainTextEdit(parent) {
    setTabChangesFocus(true);
    setWordWrapMode(QTextOption::WrapAtWordBoundaryOrAnywhere);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    setVerticalScrollBarPolicy(Qt::ScrollBarAsNeeded);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    document()->setDocumentMargin(std::max(2.0, fontMetrics().height() * 0.25));
    connect(this, &QPlainTextEdit::textChanged, this, [this] {
        fit_height();
        if (!m_setting)
            emit textEdited(toPlainText());
    });
    fit_height();
}

void ComposerEdit::setText(const QString& text) {
    m_setting = true;
    setPlainText(text);
    moveCursor(QTextCursor::End);
    m_setting = false;
}

void ComposerEdit::insert(const QString& text) {
    insertPlainText(text);
    setFocus();
}

int ComposerEdit::height_for_lines(int lines) const {
    const qreal line = fontMetrics().lineSpacing();
    const qreal margins = document()->documentMargin() * 2 + contentsMargins().top() +
                          contentsMargins().bottom() + frameWidth() * 2;
    return static_cast<int>(std::ceil(line * lines + margins));
}

void ComposerEdit::fit_height() {
    // Visual lines (wrapped), counted from the layout: the block count alone misses wrapping.
    int lines = 0;
    for (QTextBlock block = document()->begin(); block.isValid(); block = block.next()) {
        lines +=
            block.layout() && block.layout()->lineCount() > 0 ? block.layout()->lineCount() : 1;
        if (lines >= kMaxLines)
            break;
    }
    // Below the most lines it grows instead of scrolling: a scroll bar there would only be a
    // stub beside the text.
    setVerticalScrollBarPolicy(lines >= kMaxLines ? Qt::ScrollBarAsNeeded : Qt::ScrollBarAlwaysOff);
    setFixedHeight(height_for_lines(std::clamp(lines, 1, kMaxLines)));
}

void ComposerEdit::changeEvent(QEvent* event) {
    QPlainTextEdit::changeEvent(event);
    if (event->type() == QEvent::FontChange || event->type() == QEvent::StyleChange)
        fit_height();
}

void ComposerEdit::resizeEvent(QResizeEvent* event) {
    QPlainTextEdit::resizeEvent(event);
    if (event->size().width() != event->oldSize().width())
        fit_height();
}

QSize ComposerEdit::sizeHint() const {
    return QSize(QPlainTextEdit::sizeHint().width(), height_for_lines(1));
}

QSize ComposerEdit::minimumSizeHint() const {
    return QSize(fontMetrics().averageCharWidth() * 8, height_for_lines(1));
}

void ComposerEdit::keyPressEvent(QKeyEvent* event) {
    const bool enter = event->key() == Qt::Key_Return || event->key() == Qt::Key_Enter;
    if (enter && !(event->modifiers() & Qt::ShiftModifier)) {
        emit submitted();
        event->accept();
        return;
    }
    if (enter) {
        // Shift+Enter: a new line (a paragraph break, so that toPlainText() holds "\n").
        insertPlainText(QStringLiteral("\n"));
        event->accept();
        return;
    }
    QPlainTextEdit::keyPressEvent(event);
}

bool ComposerEdit::canInsertFromMimeData(const QMimeData* source) const {
    return !local_files(source).isEmpty() || pasted_image(source) ||
           QPlainTextEdit::canInsertFromMimeData(source);
}

void ComposerEdit::insertFromMimeData(const QMimeData* source) {
    QStringList files = local_files(source);
    if (!files.isEmpty()) {
        emit filesPasted(files);
        return;
    }
    if (pasted_image(source)) {
        emit imagePasted(qvariant_cast<QImage>(source->imageData()));
        return;
    }
    if (source && source->hasText())
        insertPlainText(source->text());
}

} // namespace veil::desktop
