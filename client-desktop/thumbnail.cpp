#include "thumbnail.h"

#include "protocol/limits.h"

#include <QBuffer>
#include <QImageReader>
#include <QImageWriter>
#include <QPainter>

namespace veil::desktop {
namespace {

constexpr int kLongestSide = 256;
constexpr int kMaxDecodedSide = 512;

QByteArray jpeg_of(const QImage& image, int quality) {
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    QImageWriter writer(&buffer, "jpeg");
    writer.setQuality(quality);
    // A thumbnail carries pixels only: no metadata of the original travels with it.
    if (!writer.write(image))
        return {};
    return bytes;
}

} // namespace

Bytes make_thumbnail(const QString& path) {
    QImageReader reader(path);
    reader.setAutoTransform(true);
    QSize size = reader.size();
    if (!reader.canRead() || !size.isValid() || size.isEmpty())
        return {};
    // Big pictures are scaled while decoding, so that a 50-megapixel photo never sits in memory.
    if (size.width() > kLongestSide || size.height() > kLongestSide)
        reader.setScaledSize(size.scaled(kLongestSide, kLongestSide, Qt::KeepAspectRatio));
    QImage image = reader.read();
    if (image.isNull())
        return {};
    if (image.hasAlphaChannel()) { // JPEG has none: put transparent parts on white
        QImage flat(image.size(), QImage::Format_RGB32);
        flat.fill(Qt::white);
        QPainter(&flat).drawImage(0, 0, image);
        image = flat;
    }
    for (int side = kLongestSide; side >= 32; side = side * 3 / 4) {
        QImage scaled =
            image.width() > side || image.height() > side
                ? image.scaled(side, side, Qt::KeepAspectRatio, Qt::SmoothTransformation)
                : image;
        for (int quality : {70, 50, 35}) {
            QByteArray bytes = jpeg_of(scaled, quality);
            if (!bytes.isEmpty() &&
                static_cast<std::size_t>(bytes.size()) <= protocol::kMaxThumbnailBytes)
                return Bytes(bytes.begin(), bytes.end());
        }
    }
    return {};
}

QImage decode_thumbnail(const Bytes& jpeg) {
    if (jpeg.empty() || jpeg.size() > protocol::kMaxThumbnailBytes)
        return {};
    QByteArray bytes(reinterpret_cast<const char*>(jpeg.data()),
                     static_cast<qsizetype>(jpeg.size()));
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::ReadOnly);
    QImageReader reader(&buffer, "jpeg");
    reader.setDecideFormatFromContent(false);
    QSize size = reader.size();
    if (!size.isValid() || size.isEmpty() || size.width() > kMaxDecodedSide ||
        size.height() > kMaxDecodedSide)
        return {};
    return reader.read();
}

} // namespace veil::desktop
