#include "emoji_text.h"

#include "desktop_fixture.h"

#include <QImage>
#include <QPainter>

namespace veil::desktop {
namespace {

TEST_CASE("pictographs and symbols with an emoji form are emoji; text marks are not") {
    for (char32_t c :
         {U'\U0001F600', U'\U0001F44D', U'\U0001F1E9', U'\u2600', U'\u2764', U'\u2B50', U'\u23F3'})
        CHECK(is_emoji(c));
    for (char32_t c : {U'a', U'1', U'#', U'\u2713', U'\u2717', U'\u00e9', U'\u4e2d'})
        CHECK_FALSE(is_emoji(c));
}

TEST_CASE("emoji runs get the colour font and keep their joiners; the rest keeps the text font") {
    test::app();
    INFO("scripts/install-deps.sh installs the colour emoji font (fonts-noto-color-emoji)");
    REQUIRE_FALSE(emoji_family().isEmpty());
    // "hi 👍🏽 12 ❤️ ok 👨‍👩‍👧": a skin tone, a variation selector and joiners
    // stay in the runs.
    QString text = QString::fromUtf8(
        "hi \xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD 12 \xE2\x9D\xA4\xEF\xB8\x8F ok "
        "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7");
    auto ranges = emoji_formats(text);
    REQUIRE(ranges.size() == 3);
    CHECK(text.mid(ranges[0].start, ranges[0].length) ==
          QString::fromUtf8("\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD"));
    CHECK(text.mid(ranges[1].start, ranges[1].length) ==
          QString::fromUtf8("\xE2\x9D\xA4\xEF\xB8\x8F"));
    CHECK(ranges[2].start + ranges[2].length == text.size());
    CHECK(ranges[0].format.fontFamilies().toStringList() == QStringList{emoji_family()});
    CHECK(emoji_formats(QStringLiteral("12:30 <b>#1</b>")).isEmpty());
}

TEST_CASE("a line with emoji is drawn in colour") {
    test::app();
    INFO("scripts/install-deps.sh installs the colour emoji font (fonts-noto-color-emoji)");
    REQUIRE_FALSE(emoji_family().isEmpty());
    QImage image(200, 60, QImage::Format_ARGB32_Premultiplied);
    image.fill(Qt::white);
    QPainter painter(&image);
    painter.setPen(Qt::black);
    QFont font;
    font.setPixelSize(24);
    qreal width =
        draw_text_line(painter, QPointF(2, 2), QString::fromUtf8("\xF0\x9F\x98\x80"), font);
    painter.end();
    CHECK(width > 0);
    int coloured = 0;
    for (int y = 0; y < image.height(); ++y)
        for (int x = 0; x < image.width(); ++x)
            coloured += image.pixelColor(x, y).saturation() > 80 ? 1 : 0;
    CHECK(coloured > 20);
}

} // namespace
} // namespace veil::desktop
