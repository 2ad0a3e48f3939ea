#include "pasted_image.h"

#include "util/log.h"

#include <QBuffer>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QImageWriter>
#include <QPointer>
#include <QTemporaryDir>
#include <QThread>

#include <memory>

namespace veil::desktop {

namespace {

constexpr const char* kLog = "ui";
constexpr int kJpegQuality = 90;

QByteArray encode(const QImage& image, const char* format, int quality) {
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    QImageWriter writer(&buffer, format);
    if (quality >= 0)
        writer.setQuality(quality);
    if (!writer.write(image))
        return QByteArray();
    return bytes;
}

// JPEG has no transparency: a picture that uses it stays PNG.
bool is_opaque(const QImage& image) {
    if (!image.hasAlphaChannel())
        return true;
    for (int y = 0; y < image.height(); ++y)
        for (int x = 0; x < image.width(); ++x)
            if (qAlpha(image.pixel(x, y)) != 255)
                return false;
    return true;
}

struct Outcome {
    QString path;
    QString error;
};

// On the encoding thread: encodes and writes the picture under a name no other file in dir has
// ("… (2).png" after the first).
Outcome encode_and_write(const QImage& image, const QDateTime& when, const QString& dir) {
    EncodedImage encoded = encode_pasted_image(image, when);
    if (encoded.bytes.isEmpty())
        return {QString(), QObject::tr("The pasted picture could not be encoded.")};
    const QFileInfo name(encoded.file_name);
    for (int n = 1; n < 100; ++n) {
        QString file = n == 1 ? encoded.file_name
                              : QStringLiteral("%1 (%2).%3")
                                    .arg(name.completeBaseName())
                                    .arg(n)
                                    .arg(name.suffix());
        QFile out(QDir(dir).filePath(file));
        if (!out.open(QIODevice::WriteOnly | QIODevice::NewOnly)) {
            if (out.exists())
                continue;
            return {QString(), QObject::tr("The pasted picture could not be saved for sending: %1")
                                   .arg(out.errorString())};
        }
        if (out.write(encoded.bytes) != encoded.bytes.size() || !out.flush()) {
            QString why = out.errorString();
            out.remove();
            return {QString(),
                    QObject::tr("The pasted picture could not be saved for sending: %1").arg(why)};
        }
        return {out.fileName(), QString()};
    }
    return {QString(), QObject::tr("Too many pictures were pasted in the same second.")};
}

} // namespace

EncodedImage encode_pasted_image(const QImage& image, const QDateTime& when) {
    EncodedImage out;
    if (image.isNull())
        return out;
    const QString stamp = when.toString(QStringLiteral("yyyy-MM-dd HH.mm.ss"));
    out.bytes = encode(image, "PNG", -1);
    out.file_name = QStringLiteral("Pasted image %1.png").arg(stamp);
    if (out.bytes.size() <= kJpegConsideredAboveBytes || !is_opaque(image))
        return out;
    // A photo compresses far better as JPEG; a screenshot of text and flat colours does not,
    // and would only lose sharpness, so JPEG must win by a wide margin.
    QByteArray jpeg = encode(image.convertToFormat(QImage::Format_RGB32), "JPEG", kJpegQuality);
    if (!jpeg.isEmpty() && jpeg.size() * 3 < out.bytes.size()) {
        out.bytes = std::move(jpeg);
        out.file_name = QStringLiteral("Pasted image %1.jpg").arg(stamp);
    }
    return out;
}

PastedImages::PastedImages(QObject* parent)
    : QObject(parent) {}

PastedImages::~PastedImages() {
    // A thread still encoding writes into the folder about to go: let it end first.
    for (QThread* thread : findChildren<QThread*>(QString(), Qt::FindDirectChildrenOnly))
        thread->wait();
}

void PastedImages::add(const QImage& image, const QString& conversation) {
    if (image.isNull()) {
        emit failed(tr("The clipboard holds no picture that can be sent."));
        return;
    }
    if (!m_dir) {
        m_dir = std::make_unique<QTemporaryDir>(
            QDir(QDir::tempPath()).filePath(QStringLiteral("veil-pasted-XXXXXX")));
        if (!m_dir->isValid()) {
            QString why = m_dir->errorString();
            m_dir.reset();
            emit failed(tr("The pasted picture could not be saved for sending: %1").arg(why));
            return;
        }
    }
    auto outcome = std::make_shared<Outcome>();
    const QString dir = m_dir->path();
    const QDateTime now = QDateTime::currentDateTime();
    // The copy is detached before it crosses threads: QImage shares its pixels otherwise.
    QImage copy = image.copy();
    QThread* thread =
        QThread::create([outcome, copy, now, dir] { *outcome = encode_and_write(copy, now, dir); });
    thread->setParent(this);
    ++m_pending;
    connect(thread, &QThread::finished, this, [this, thread, outcome, conversation] {
        --m_pending;
        thread->deleteLater();
        if (outcome->path.isEmpty()) {
            log::warn(kLog, "a pasted picture could not be prepared for sending");
            emit failed(outcome->error);
            return;
        }
        log::debug(kLog, "a pasted picture is ready to send");
        emit saved(outcome->path, conversation);
    });
    thread->start();
}

void PastedImages::forget(const QStringList& paths) {
    if (!m_dir)
        return;
    const QString mine = QDir(m_dir->path()).canonicalPath();
    for (const QString& path : paths)
        if (QFileInfo(path).canonicalPath() == mine)
            QFile::remove(path);
}

} // namespace veil::desktop
