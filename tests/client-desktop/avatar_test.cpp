#include "avatar.h"

#include "desktop_fixture.h"

#include <QImage>
#include <QPainter>

namespace veil::desktop {
namespace {

TEST_CASE("initials are the first letters of the first two words, or of the one name") {
    CHECK(avatar_initials(QStringLiteral("Alice Smith")) == QStringLiteral("AS"));
    CHECK(avatar_initials(QStringLiteral("bob")) == QStringLiteral("B"));
    CHECK(avatar_initials(QStringLiteral("  carol  de  la  rosa ")) == QStringLiteral("CD"));
    CHECK(avatar_initials(QStringLiteral("# hikers club")) == QStringLiteral("HC"));
    CHECK(avatar_initials(QStringLiteral("(dave)")) == QStringLiteral("D"));
    CHECK(avatar_initials(QStringLiteral("élodie")) == QStringLiteral("É"));
    CHECK(avatar_initials(QString()) == QStringLiteral("?"));
    CHECK(avatar_initials(QStringLiteral("#")) == QStringLiteral("#"));
    // A character outside the BMP is one initial, not half of a surrogate pair.
    CHECK(avatar_initials(QString::fromUtf8("\xF0\x9D\x90\x80x")) ==
          QString::fromUtf8("\xF0\x9D\x90\x80"));
}

TEST_CASE("an avatar's colour is stable for its key and differs between people") {
    const QColor alice = avatar_color(QStringLiteral("alice"));
    CHECK(alice == avatar_color(QStringLiteral("alice")));
    CHECK(alice.isValid());
    // FNV-1a is fixed, unlike qHash (seeded per process): the same colour on every run.
    CHECK(alice.name() == avatar_color(QString::fromUtf8("alice")).name());
    QSet<QString> colours;
    for (const char* name : {"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"})
        colours.insert(avatar_color(QString::fromUtf8(name)).name());
    CHECK(colours.size() >= 4);
    // White letters stay readable: every colour is darker than mid-grey.
    for (const QString& c : colours)
        CHECK(QColor(c).lightness() < 140);
}

TEST_CASE("an avatar pixmap has the asked size at the screen's pixel ratio") {
    test::app();
    QPixmap pixmap = avatar_pixmap(QStringLiteral("bob"), QStringLiteral("bob"), 32, 2.0);
    CHECK(pixmap.size() == QSize(64, 64));
    CHECK(pixmap.devicePixelRatio() == 2.0);
    QImage image = pixmap.toImage();
    // The middle of the circle is the avatar's colour or a letter, the corner is transparent.
    CHECK(qAlpha(image.pixel(1, 1)) == 0);
    CHECK(qAlpha(image.pixel(32, 10)) == 255);
}

} // namespace
} // namespace veil::desktop
