// Pictures pasted into the composer (a screenshot on the clipboard, not a file): each is encoded
// to a file and then attached like any other file, so that it travels the same way (encrypted
// upload, progress, thumbnail).
//
// encode_pasted_image() picks the format: PNG, which keeps every pixel; JPEG instead only for a
// large opaque picture (a photo) whose JPEG is under a third of its PNG. Nothing is stripped:
// a clipboard picture carries pixels only (no location, no camera data).
//
// PastedImages keeps the encoded files in a private temporary folder (mode 0700, removed with
// the object): the engine encrypts a file into its own folder when the message is sent, after
// which the window calls forget() and the plain copy goes at once. Encoding a big picture takes
// a while, so it runs on a thread of its own; saved() or failed() then arrives on the GUI thread.
//
// Thread: the GUI thread (encoding happens on a short-lived thread the object starts).
#pragma once

#include <QByteArray>
#include <QDateTime>
#include <QImage>
#include <QObject>
#include <QString>
#include <QStringList>

#include <memory>

class QTemporaryDir;

namespace veil::desktop {

struct EncodedImage {
    QByteArray bytes;  // empty when the picture could not be encoded
    QString file_name; // "Pasted image 2026-12-05 09.14.03.png" (local time)
};

// A JPEG is chosen only above this PNG size: below it PNG's exact pixels cost little.
inline constexpr qsizetype kJpegConsideredAboveBytes = 512 * 1024;

// Encodes image for sending, named after when (local time). Pure: no file is written.
EncodedImage encode_pasted_image(const QImage& image, const QDateTime& when);

class PastedImages final : public QObject {
    Q_OBJECT
public:
    explicit PastedImages(QObject* parent = nullptr);
    ~PastedImages() override;
    PastedImages(const PastedImages&) = delete;
    PastedImages& operator=(const PastedImages&) = delete;

    // Encodes image (named after now) on a worker thread and writes it to the private folder;
    // then saved(path, conversation) or failed(sentence). conversation is only handed back, so
    // that a picture pasted into one conversation is never attached in another the person
    // opened meanwhile. A null image fails at once.
    void add(const QImage& image, const QString& conversation);
    // Deletes the files among paths that this object wrote (those just sent); others are left.
    void forget(const QStringList& paths);
    // Encodings still running.
    int pending() const { return m_pending; }

signals:
    void saved(const QString& path, const QString& conversation);
    void failed(const QString& text);

private:
    std::unique_ptr<QTemporaryDir> m_dir; // made on the first paste
    int m_pending = 0;
};

} // namespace veil::desktop
