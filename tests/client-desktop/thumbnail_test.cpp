// The previews that travel inside a message: made from image files within the size limit,
// decoded on the other side only as small JPEGs.
#include "thumbnail.h"

#include "desktop_fixture.h"

#include "protocol/limits.h"

#include <QBuffer>
#include <QImageReader>

#include <cstdlib>

namespace veil::desktop {
namespace {

QSize size_of(const Bytes& jpeg) {
    QByteArray bytes(reinterpret_cast<const char*>(jpeg.data()),
                     static_cast<qsizetype>(jpeg.size()));
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::ReadOnly);
    return QImageReader(&buffer, "jpeg").size();
}

TEST_CASE("a big photo becomes a JPEG preview within the limit, even when it is all noise") {
    test::app();
    test::TempDir dir;
    for (bool noisy : {false, true}) {
        INFO(noisy);
        QString path = test::write_file(dir, noisy ? "noise.png" : "plain.png",
                                        test::picture_bytes("PNG", 1600, 1000, noisy));
        Bytes preview = make_thumbnail(path);
        REQUIRE_FALSE(preview.empty());
        CHECK(preview.size() <= protocol::kMaxThumbnailBytes);
        CHECK(preview[0] == 0xFF);
        CHECK(preview[1] == 0xD8); // a JPEG
        QSize size = size_of(preview);
        CHECK(size.width() <= 256);
        CHECK(size.height() <= 256);
        CHECK(size.width() > size.height()); // the shape is kept
        CHECK_FALSE(decode_thumbnail(preview).isNull());
    }
}

TEST_CASE("files that are not pictures get no preview") {
    test::app();
    test::TempDir dir;
    CHECK(make_thumbnail(test::write_file(dir, "notes.txt", QByteArray("just text"))).empty());
    CHECK(make_thumbnail(test::write_file(dir, "fake.png", QByteArray("\x89PNG broken"))).empty());
    CHECK(make_thumbnail(QString::fromStdString((dir.root() / "missing.png").string())).empty());
}

TEST_CASE("a received preview decodes only as a small JPEG") {
    test::app();
    test::TempDir dir;
    Bytes good =
        make_thumbnail(test::write_file(dir, "a.png", test::picture_bytes("PNG", 300, 200)));
    REQUIRE_FALSE(good.empty());
    QImage decoded = decode_thumbnail(good);
    CHECK(decoded.width() == 256); // 300×200 scaled to fit 256
    CHECK(std::abs(decoded.height() - 171) <= 1);

    // Another format, even a valid picture, is not decoded.
    QByteArray png = test::picture_bytes("PNG", 20, 20);
    CHECK(decode_thumbnail(test::to_bytes(png)).isNull());
    // Larger than the limit.
    Bytes big = good;
    big.resize(protocol::kMaxThumbnailBytes + 1, 0);
    CHECK(decode_thumbnail(big).isNull());
    // Damaged and empty.
    CHECK(decode_thumbnail(Bytes(good.begin(), good.begin() + 40)).isNull());
    CHECK(decode_thumbnail(Bytes{}).isNull());

    // A small file whose header claims 60000×60000 pixels is refused before decoding.
    Bytes bomb = good;
    bool patched = false;
    for (std::size_t i = 0; i + 8 < bomb.size(); ++i)
        if (bomb[i] == 0xFF && bomb[i + 1] == 0xC0) { // start of frame: height, width
            bomb[i + 5] = 0xEA;
            bomb[i + 6] = 0x60;
            bomb[i + 7] = 0xEA;
            bomb[i + 8] = 0x60;
            patched = true;
            break;
        }
    REQUIRE(patched);
    CHECK(size_of(bomb) == QSize(60000, 60000));
    CHECK(decode_thumbnail(bomb).isNull());
}

} // namespace
} // namespace veil::desktop
