// ComposerEdit: the message composer's multi-line input. Enter sends (submitted()), Shift+Enter
// starts a new line; it grows with its text from one line up to a few, then scrolls. Pasting or
// dropping local files attaches them (filesPasted()) instead of typing their paths; a picture
// pasted as such (a screenshot: image data, no file and no text) is handed over as imagePasted()
// to be attached; any other paste is taken as plain text, never as rich text.
//
// It offers QLineEdit's small API that the window uses (text(), setText(), textEdited), so that
// what the person types and what the window sets are told apart for the typing indicator.
//
// Thread: the GUI thread.
#pragma once

#include <QImage>
#include <QPlainTextEdit>
#include <QStringList>

class QMimeData;

namespace veil::desktop {

// The files a drag or a paste carries: local files only (no folders, no remote URLs).
QStringList local_files(const QMimeData* mime);
// Whether a paste is a picture to attach: image data, and no text beside it.
bool pasted_image(const QMimeData* mime);

class ComposerEdit final : public QPlainTextEdit {
    Q_OBJECT
public:
    explicit ComposerEdit(QWidget* parent = nullptr);

    QString text() const { return toPlainText(); }
    // Replaces the text (not an edit by the person: textEdited is not emitted) and puts the
    // cursor at its end.
    void setText(const QString& text);
    // Empties it (not an edit by the person either).
    void clear() { setText(QString()); }
    // Types text at the cursor as the person would (the emoji picker).
    void insert(const QString& text);
    // The most lines it grows to before it scrolls.
    static constexpr int kMaxLines = 6;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

signals:
    void submitted();
    void textEdited(const QString& text);
    void filesPasted(const QStringList& paths);
    void imagePasted(const QImage& image);

public:
    // Paste and drop: local files become filesPasted(), a picture without text imagePasted(),
    // anything else plain text. Text wins over a picture: office suites put a picture of the
    // copied cells beside their text.
    bool canInsertFromMimeData(const QMimeData* source) const override;
    void insertFromMimeData(const QMimeData* source) override;

protected:
    void keyPressEvent(QKeyEvent* event) override;
    // The height follows the font and the width (wrapping) as well as the text.
    void changeEvent(QEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;

private:
    int height_for_lines(int lines) const;
    void fit_height();

    bool m_setting = false;
};

} // namespace veil::desktop
