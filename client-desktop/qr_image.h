// A QR code as an image, for the link code a new device shows (crypto/link.h): black modules on
// white with the standard 4-module quiet zone, so that it scans from a screen whatever the
// window's theme. Error correction level M; libqrencode picks the smallest version and the
// best mode for each stretch of the payload.
//
// Thread: any (QImage, not QPixmap).
#pragma once

#include <QImage>
#include <QString>

namespace veil::desktop {

// The code for the UTF-8 bytes of payload, module_pixels pixels per module: a square image
// (width + 8) * module_pixels pixels wide, where width is the symbol's width in modules. Draw
// it unscaled, or scaled by whole numbers without smoothing, or the modules blur. Returns a
// null image when payload is empty or too large for any QR version, or module_pixels is not
// within 1 to 64.
QImage qr_image(const QString& payload, int module_pixels = 6);

// The same for a binary payload (a safety number's bytes), encoded as it is in 8-bit mode.
QImage qr_image_bytes(const QByteArray& payload, int module_pixels = 6);

} // namespace veil::desktop
