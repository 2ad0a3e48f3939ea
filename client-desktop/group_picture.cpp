#include "group_picture.h"

#include "protocol/limits.h"

#include <QBuffer>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QImageReader>
#include <QObject>

#include <algorithm>

namespace veil::desktop {
namespace {

// A 64 KiB PNG can declare a canvas of gigabytes; a thumbnail never needs more than this.
constexpr int kMaxPictureSide = 4096;

enum class PictureKind { none, png, jpeg };

// The engine's rule (engine_groups.cpp): the first bytes decide, whatever a name says.
PictureKind kind_of(std::span<const std::uint8_t> bytes) {
    static constexpr std::uint8_t kPng[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    static constexpr std::uint8_t kJpeg[] = {0xFF, 0xD8, 0xFF};
    auto starts = [&](std::span<const std::uint8_t> magic) {
        return bytes.size() >= magic.size() &&
               std::equal(magic.begin(), magic.end(), bytes.begin());
    };
    return starts(kPng) ? PictureKind::png : starts(kJpeg) ? PictureKind::jpeg : PictureKind::none;
}

QImage decode(std::span<const std::uint8_t> bytes) {
    PictureKind kind = kind_of(bytes);
    if (kind == PictureKind::none || bytes.size() > protocol::kMaxGroupAvatarBytes)
        return {};
    QByteArray data = QByteArray::fromRawData(reinterpret_cast<const char*>(bytes.data()),
                                              static_cast<qsizetype>(bytes.size()));
    QBuffer buffer(&data);
    buffer.open(QIODevice::ReadOnly);
    // Only the decoder the first bytes name: no other image plugin sees bytes from others.
    QImageReader reader(&buffer, kind == PictureKind::png ? "png" : "jpeg");
    reader.setDecideFormatFromContent(false);
    QSize size = reader.size();
    if (!size.isValid() || size.isEmpty() || size.width() > kMaxPictureSide ||
        size.height() > kMaxPictureSide)
        return {};
    QImage image;
    if (!reader.read(&image))
        return {};
    return image;
}

std::span<const std::uint8_t> span_of(const QByteArray& bytes) {
    return std::span(reinterpret_cast<const std::uint8_t*>(bytes.constData()),
                     static_cast<std::size_t>(bytes.size()));
}

} // namespace

QString picture_file_filter() {
    return QObject::tr("PNG or JPEG pictures (*.png *.jpg *.jpeg)");
}

PictureFile read_picture_file(const QString& path) {
    PictureFile out;
    QString name = QFileInfo(path).fileName();
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        out.error = QObject::tr("%1 cannot be read: %2.").arg(name, file.errorString());
        return out;
    }
    // One byte more than allowed is enough to know it is too large.
    QByteArray bytes = file.read(static_cast<qint64>(protocol::kMaxGroupAvatarBytes) + 1);
    if (bytes.size() > static_cast<qsizetype>(protocol::kMaxGroupAvatarBytes)) {
        out.error = QObject::tr("%1 is larger than 64 KiB, the most a group picture may be. "
                                "Choose a smaller picture.")
                        .arg(name);
        return out;
    }
    if (!is_group_picture(span_of(bytes))) {
        out.error =
            QObject::tr("%1 is not a PNG or JPEG picture. A group picture must be one.").arg(name);
        return out;
    }
    out.bytes = std::move(bytes);
    return out;
}

bool is_group_picture(std::span<const std::uint8_t> bytes) {
    return !decode(bytes).isNull();
}

QPixmap picture_thumbnail(std::span<const std::uint8_t> bytes, int size) {
    QImage image = decode(bytes);
    if (image.isNull() || size <= 0)
        return {};
    QImage scaled =
        image.scaled(size, size, Qt::KeepAspectRatioByExpanding, Qt::SmoothTransformation);
    QImage square =
        scaled.copy((scaled.width() - size) / 2, (scaled.height() - size) / 2, size, size);
    return QPixmap::fromImage(square);
}

} // namespace veil::desktop
