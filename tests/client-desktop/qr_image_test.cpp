#include "qr_image.h"

#include "crypto/link.h"
#include "crypto/provider.h"

#include <catch2/catch.hpp>

#include <qrencode.h>

#include <cstdlib>

namespace veil::desktop {
namespace {

constexpr int kQuiet = 4;

int symbol_width(const QString& payload) {
    QByteArray utf8 = payload.toUtf8();
    QRcode* code = QRcode_encodeString(utf8.constData(), 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    REQUIRE(code != nullptr);
    int width = code->width;
    QRcode_free(code);
    return width;
}

QString link_uri() {
    Bytes channel = crypto::random_bytes(crypto::kLinkChannelBytes);
    return QString::fromStdString(crypto::link_code_uri(channel, crypto::new_link_secret()));
}

// The colour of module (x, y), counting the quiet zone, after checking that every pixel of the
// module has it: black or white, nothing in between.
bool module_dark(const QImage& image, int x, int y, int module_pixels) {
    QRgb first = image.pixel(x * module_pixels, y * module_pixels);
    REQUIRE((first == qRgb(0, 0, 0) || first == qRgb(255, 255, 255)));
    for (int py = 0; py < module_pixels; ++py) {
        for (int px = 0; px < module_pixels; ++px)
            REQUIRE(image.pixel(x * module_pixels + px, y * module_pixels + py) == first);
    }
    return first == qRgb(0, 0, 0);
}

// A finder pattern (ISO/IEC 18004, 6.3.3) with its top-left module at (left, top), and the light
// separator around it.
bool finder_at(const QImage& image, int left, int top, int module_pixels) {
    for (int dy = -1; dy <= 7; ++dy) {
        for (int dx = -1; dx <= 7; ++dx) {
            int ring = std::max(std::abs(dy - 3), std::abs(dx - 3));
            bool dark = ring != 2 && ring != 4;
            if (module_dark(image, left + dx, top + dy, module_pixels) != dark)
                return false;
        }
    }
    return true;
}

void check_code(const QImage& image, int width, int module_pixels) {
    int modules = width + 2 * kQuiet;
    REQUIRE(image.size() == QSize(modules * module_pixels, modules * module_pixels));
    CHECK(finder_at(image, kQuiet, kQuiet, module_pixels));
    CHECK(finder_at(image, kQuiet + width - 7, kQuiet, module_pixels));
    CHECK(finder_at(image, kQuiet, kQuiet + width - 7, module_pixels));
    CHECK_FALSE(finder_at(image, kQuiet + width - 7, kQuiet + width - 7, module_pixels));
    for (int i = 0; i < modules; ++i) {
        for (int q = 0; q < kQuiet; ++q) { // the quiet zone is white on all four sides
            CHECK_FALSE(module_dark(image, i, q, module_pixels));
            CHECK_FALSE(module_dark(image, i, modules - 1 - q, module_pixels));
            CHECK_FALSE(module_dark(image, q, i, module_pixels));
            CHECK_FALSE(module_dark(image, modules - 1 - q, i, module_pixels));
        }
    }
}

TEST_CASE("a QR image is black on white with finder patterns in three corners and a quiet zone") {
    QString payload = link_uri();
    int width = symbol_width(payload);
    CHECK(width == 25); // the link code's payload fits version 2
    check_code(qr_image(payload), width, 6);
    check_code(qr_image(payload, 1), width, 1);
    check_code(qr_image(payload, 10), width, 10);
}

TEST_CASE("a QR image of non-ASCII text encodes its UTF-8 bytes") {
    QString payload = QString::fromUtf8("Ada\xE2\x80\x99s laptop \xE5\xB7\xA5\xE4\xBD\x9C");
    check_code(qr_image(payload, 2), symbol_width(payload), 2);
}

TEST_CASE("no QR image for an empty or oversized payload or a module size out of range") {
    CHECK(qr_image(QString()).isNull());
    CHECK(qr_image(QString(3000, QLatin1Char('x'))).isNull());
    CHECK(qr_image(QStringLiteral("x"), 0).isNull());
    CHECK(qr_image(QStringLiteral("x"), 65).isNull());
}

} // namespace
} // namespace veil::desktop
