#include "group_picture.h"

#include "desktop_fixture.h"

namespace veil::desktop {
namespace {

std::span<const std::uint8_t> span_of(const QByteArray& bytes) {
    return std::span(reinterpret_cast<const std::uint8_t*>(bytes.constData()),
                     static_cast<std::size_t>(bytes.size()));
}

TEST_CASE("a PNG or JPEG group picture becomes a square thumbnail") {
    test::app();
    QPixmap png = picture_thumbnail(span_of(test::picture_bytes("PNG", 120, 60)), 32);
    REQUIRE_FALSE(png.isNull());
    CHECK(png.size() == QSize(32, 32));
    QPixmap jpeg = picture_thumbnail(span_of(test::picture_bytes("JPEG", 50, 80)), 48);
    REQUIRE_FALSE(jpeg.isNull());
    CHECK(jpeg.size() == QSize(48, 48));
}

TEST_CASE("a group picture that does not decode as PNG or JPEG is not shown") {
    test::app();
    QByteArray png = test::picture_bytes("PNG", 40, 40);
    CHECK(picture_thumbnail({}, 32).isNull());
    CHECK(picture_thumbnail(span_of(QByteArray("<svg onload=x()></svg>")), 32).isNull());
    // GIF and BMP decode in Qt, but they are not group pictures.
    REQUIRE_FALSE(QImage::fromData(test::gif_bytes()).isNull());
    CHECK(picture_thumbnail(span_of(test::gif_bytes()), 32).isNull());
    CHECK(picture_thumbnail(span_of(test::picture_bytes("BMP", 40, 40)), 32).isNull());
    // PNG's first bytes and then nothing that decodes.
    CHECK(picture_thumbnail(span_of(png.left(12) + QByteArray(200, 'x')), 32).isNull());
    // A JPEG start on PNG bytes: only the JPEG decoder sees them, and it fails.
    CHECK(picture_thumbnail(span_of(QByteArray("\xFF\xD8\xFF", 3) + png.mid(3)), 32).isNull());
}

// CRC-32 as PNG chunks use it (ISO 3309, the polynomial of PNG specification section 5.5).
quint32 png_crc(const QByteArray& bytes) {
    quint32 crc = 0xffffffffu;
    for (char byte : bytes) {
        crc ^= static_cast<quint8>(byte);
        for (int k = 0; k < 8; ++k)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

TEST_CASE("a picture claiming a huge canvas is not decoded") {
    test::app();
    // A 1×1 PNG whose header (with a correct CRC) says 60000×60000: the size alone is refused,
    // before any pixel memory is asked for.
    QByteArray png = test::picture_bytes("PNG", 1, 1);
    REQUIRE(png.mid(12, 4) == QByteArray("IHDR"));
    auto put32 = [&](int at, quint32 v) {
        for (int i = 0; i < 4; ++i)
            png[at + i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
    };
    put32(16, 60000);
    put32(20, 60000);
    put32(29, png_crc(png.mid(12, 17)));
    CHECK(picture_thumbnail(span_of(png), 32).isNull());
    CHECK_FALSE(is_group_picture(span_of(png)));
}

TEST_CASE("a picture file over 64 KiB or not PNG or JPEG is refused with a sentence") {
    test::app();
    test::TempDir dir;
    QByteArray big = test::picture_bytes("PNG", 200, 200, true);
    REQUIRE(big.size() > 64 * 1024);
    PictureFile too_big = read_picture_file(test::write_file(dir, "big.png", big));
    CHECK(too_big.bytes.isEmpty());
    CHECK(too_big.error ==
          QStringLiteral("big.png is larger than 64 KiB, the most a group picture may be. Choose "
                         "a smaller picture."));

    PictureFile gif = read_picture_file(test::write_file(dir, "cat.png", test::gif_bytes()));
    CHECK(gif.bytes.isEmpty());
    CHECK(gif.error ==
          QStringLiteral("cat.png is not a PNG or JPEG picture. A group picture must be one."));

    PictureFile text = read_picture_file(test::write_file(dir, "notes.jpg", "hello"));
    CHECK(text.error.contains(QStringLiteral("is not a PNG or JPEG picture")));

    PictureFile missing =
        read_picture_file(QString::fromStdString((dir.root() / "x.png").string()));
    CHECK(missing.error.startsWith(QStringLiteral("x.png cannot be read")));
}

TEST_CASE("a PNG or JPEG file of at most 64 KiB is read as it is") {
    test::app();
    test::TempDir dir;
    QByteArray jpeg = test::picture_bytes("JPEG", 64, 64);
    PictureFile file = read_picture_file(test::write_file(dir, "me.jpeg", jpeg));
    CHECK(file.error.isEmpty());
    CHECK(file.bytes == jpeg);
}

} // namespace
} // namespace veil::desktop
