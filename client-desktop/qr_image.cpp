#include "qr_image.h"

#include <qrencode.h>

#include <QColor>

#include <algorithm>
#include <memory>

namespace veil::desktop {
namespace {

constexpr int kQuietModules = 4;
// More than the largest QR symbol holds (2953 bytes, version 40 at level L).
constexpr qsizetype kMaxPayloadBytes = 4096;
// Keeps the image within what QImage allocates comfortably: version 40 is 177 modules.
constexpr int kMaxModulePixels = 64;

struct QrFree {
    void operator()(QRcode* code) const { QRcode_free(code); }
};
using QrPtr = std::unique_ptr<QRcode, QrFree>;

QrPtr encode(const QByteArray& utf8, bool binary) {
    if (utf8.isEmpty() || utf8.size() > kMaxPayloadBytes)
        return nullptr;
    // A QString may hold U+0000, which QRcode_encodeString would take as the end of the text.
    if (binary || utf8.contains('\0'))
        return QrPtr(QRcode_encodeData(static_cast<int>(utf8.size()),
                                       reinterpret_cast<const unsigned char*>(utf8.constData()), 0,
                                       QR_ECLEVEL_M));
    return QrPtr(QRcode_encodeString(utf8.constData(), 0, QR_ECLEVEL_M, QR_MODE_8, 1));
}

// Paints the module at (x, y) of the symbol black.
void paint_module(QImage& image, int x, int y, int module_pixels) {
    const int left = (x + kQuietModules) * module_pixels;
    const int top = (y + kQuietModules) * module_pixels;
    for (int row = top; row < top + module_pixels; ++row) {
        auto* pixels = reinterpret_cast<QRgb*>(image.scanLine(row));
        std::fill(pixels + left, pixels + left + module_pixels, qRgb(0, 0, 0));
    }
}

QImage draw(const QByteArray& payload, bool binary, int module_pixels) {
    if (module_pixels < 1 || module_pixels > kMaxModulePixels)
        return {};
    QrPtr code = encode(payload, binary);
    if (!code)
        return {};

    const int modules = code->width + 2 * kQuietModules;
    QImage image(modules * module_pixels, modules * module_pixels, QImage::Format_RGB32);
    image.fill(Qt::white);
    for (int y = 0; y < code->width; ++y) {
        for (int x = 0; x < code->width; ++x) {
            if (code->data[y * code->width + x] & 1) // bit 0 of each byte: dark
                paint_module(image, x, y, module_pixels);
        }
    }
    return image;
}

} // namespace

QImage qr_image(const QString& payload, int module_pixels) {
    return draw(payload.toUtf8(), false, module_pixels);
}

QImage qr_image_bytes(const QByteArray& payload, int module_pixels) {
    return draw(payload, true, module_pixels);
}

} // namespace veil::desktop
