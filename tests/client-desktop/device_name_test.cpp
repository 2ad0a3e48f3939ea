#include "device_name.h"

#include "desktop_fixture.h"

namespace veil::desktop {
namespace {

TEST_CASE("the default device name names the app and the computer") {
    CHECK(default_device_name(QStringLiteral("kitchen")) ==
          QStringLiteral("Veil desktop on kitchen"));
    CHECK(default_device_name(QString()) == QStringLiteral("Veil desktop on this computer"));
    CHECK(device_name_problem(default_device_name()).isEmpty());
}

TEST_CASE("a long host name is cut so that the default name stays within 64 bytes") {
    QString host(100, QChar(u'\u00e9')); // 2 bytes each in UTF-8
    QString name = default_device_name(host);
    CHECK(name.toUtf8().size() <= 64);
    CHECK(name.startsWith(QStringLiteral("Veil desktop on \u00e9")));
    CHECK(device_name_problem(name).isEmpty());

    QString emoji;
    for (int i = 0; i < 30; ++i)
        emoji += QString::fromUtf8("\xF0\x9F\x98\x80"); // outside the BMP: surrogate pairs
    name = default_device_name(emoji);
    CHECK(name.toUtf8().size() <= 64);
    CHECK(name.toUtf8() == QString::fromUtf8(name.toUtf8()).toUtf8()); // no half pair
    CHECK_FALSE(name.back().isHighSurrogate());
}

TEST_CASE("a device name that is too long or has invisible controls is refused with a sentence") {
    CHECK(device_name_problem(QString()).isEmpty());
    CHECK(device_name_problem(QStringLiteral("laptop")).isEmpty());
    CHECK(device_name_problem(QString(65, QChar(u'a'))).contains(QStringLiteral("too long")));
    CHECK_FALSE(device_name_problem(QStringLiteral("a\nb")).isEmpty());
    CHECK_FALSE(device_name_problem(QString::fromUtf8("evil \xE2\x80\xAE txt")).isEmpty());
}

} // namespace
} // namespace veil::desktop
