#include "display_text.h"

#include "desktop_fixture.h"
#include "shown_text.h"

#include <QDate>
#include <QDateTime>
#include <QKeySequence>
#include <QLocale>
#include <QRegularExpression>
#include <QTime>

namespace veil::desktop {
namespace {

TEST_CASE("markup in received text is kept literally for plain-text views") {
    CHECK(display_text("<b>x</b>") == QStringLiteral("<b>x</b>"));
    CHECK(display_text("<img src=\"http://127.0.0.1/x.png\">") ==
          QStringLiteral("<img src=\"http://127.0.0.1/x.png\">"));
    CHECK(display_text("a &amp; b") == QStringLiteral("a &amp; b"));
}

TEST_CASE("a tooltip made with plain_tooltip shows markup literally, whatever Qt guesses") {
    test::app();
    for (const QString& text :
         {QStringLiteral("<b>bold</b>"), QStringLiteral("<img src=\"http://127.0.0.1/x.png\">"),
          QStringLiteral("<a href=\"http://127.0.0.1/\">link</a> &amp; <i>x</i>"),
          QStringLiteral("<style>p { color: red }</style>p"), QStringLiteral("a < b > c"),
          QStringLiteral("# <b>club</b>\nline two")}) {
        INFO(text.toStdString());
        const QString tooltip = plain_tooltip(text);
        CHECK(test::shown_tooltip(tooltip) == text);
        CHECK_FALSE(test::tooltip_renders_markup(tooltip));
    }
    // The same text unescaped is what Qt would render: the test can tell.
    CHECK(test::tooltip_renders_markup(QStringLiteral("<b>bold</b>")));
    CHECK(test::shown_tooltip(QStringLiteral("<b>bold</b>")) == QStringLiteral("bold"));
    CHECK(plain_tooltip(QString()).isEmpty());
}

TEST_CASE("labels keep & and tabs, and window titles keep [*], as they were received") {
    test::app();
    const QString file = QStringLiteral("a&b\tc.pdf");
    CHECK(test::shown_label(plain_label_text(file)) == QStringLiteral("a&b c.pdf"));
    CHECK(QKeySequence::mnemonic(plain_label_text(file)).isEmpty());
    CHECK(test::shown_label(file) != QStringLiteral("a&b c.pdf"));

    for (const QString& title : {QStringLiteral("# club [*]"), QStringLiteral("[*][*] x"),
                                 QStringLiteral("<b>x</b> & y")}) {
        INFO(title.toStdString());
        QWidget window;
        window.setWindowTitle(plain_window_title(title));
        CHECK(test::shown_window_title(window) == title);
    }
    QWidget unescaped;
    unescaped.setWindowTitle(QStringLiteral("# club [*]"));
    CHECK(test::shown_window_title(unescaped) != QStringLiteral("# club [*]"));
}

TEST_CASE("control characters and bidi overrides become visible marks") {
    CHECK(display_text("\x1b[31mred") == QStringLiteral("<U+001B>[31mred"));
    CHECK(display_text("abc\xe2\x80\xae"
                       "def") == QStringLiteral("abc<U+202E>def"));
    CHECK(display_text("a\xe2\x81\xa6"
                       "b") == QStringLiteral("a<U+2066>b"));
    CHECK(display_text("line one\nline\ttwo") == QStringLiteral("line one\nline\ttwo"));
    CHECK(display_text("\xc2\x9b") == QStringLiteral("<U+009B>"));
}

TEST_CASE("invalid UTF-8 is shown as the replacement character") {
    QString shown = display_text("ok\xff");
    CHECK(shown.startsWith(QStringLiteral("ok")));
    CHECK(shown.contains(QChar(0xfffd)));
}

TEST_CASE("a one-line preview joins lines and cuts long text with an ellipsis") {
    CHECK(one_line("first\nsecond", 40) == QStringLiteral("first second"));
    QString cut = one_line(std::string(100, 'x'), 10);
    CHECK(cut.size() == 10);
    CHECK(cut.endsWith(QChar(u'…')));
}

TEST_CASE("ticks show queued, sent and delivered") {
    CHECK(tick_for(store::MessageStatus::queued) == QStringLiteral("…"));
    CHECK(tick_for(store::MessageStatus::sent) == QStringLiteral("✓"));
    CHECK(tick_for(store::MessageStatus::delivered) == QStringLiteral("✓✓"));
    CHECK(tick_for(store::MessageStatus::received).isEmpty());
}

TEST_CASE("errors read as sentences for people") {
    CHECK(plain_error(make_error(Errc::wrong_passphrase, "sqlite says no"))
              .contains(QStringLiteral("passphrase")));
    CHECK(plain_error(make_error(Errc::refused, "the username is taken")) ==
          QStringLiteral("The username is taken"));
    CHECK(plain_error(make_error(Errc::already_exists, "x")).contains(QStringLiteral("already")));
}

TEST_CASE("times from today show the hour, older ones the date") {
    const std::int64_t now = 1700000000000;
    CHECK(format_time(now - 60000, now).size() == 5);
    CHECK(format_time(now - 10LL * 24 * 3600 * 1000, now).size() == 16);
    CHECK(format_time(0, now).isEmpty());
}

TEST_CASE("a sentence gets a full stop before another one follows it") {
    CHECK(full_stop(QStringLiteral("the link code expired; start again")) ==
          QStringLiteral("the link code expired; start again."));
    CHECK(full_stop(QStringLiteral("Done.")) == QStringLiteral("Done."));
    CHECK(full_stop(QStringLiteral("Really?")) == QStringLiteral("Really?"));
    CHECK(full_stop(QStringLiteral("Waiting… ")) == QStringLiteral("Waiting…"));
    CHECK(full_stop(QString()).isEmpty());
}

TEST_CASE("file sizes are given in bytes and powers of 1024") {
    CHECK(format_size(1) == QStringLiteral("1 byte"));
    CHECK(format_size(812) == QStringLiteral("812 bytes"));
    CHECK(format_size(2048) == QStringLiteral("2.0 KB"));
    CHECK(format_size(14 * 1024 + 100) == QStringLiteral("14 KB"));
    CHECK(format_size(3355443) == QStringLiteral("3.2 MB"));
}

TEST_CASE("a safety number is grouped in fives, four groups a line") {
    QString digits;
    for (int i = 0; i < 60; ++i)
        digits += QChar(u'0' + i % 10);
    QString shown = format_safety_number(digits);
    CHECK(shown.split(QChar(u'\n')).size() == 3);
    CHECK(shown.split(QRegularExpression(QStringLiteral("\\s"))).size() == 12);
    CHECK(shown.startsWith(QStringLiteral("01234 56789 01234 56789\n")));
    CHECK(format_safety_number(QStringLiteral("123")) == QStringLiteral("123"));
    CHECK(format_safety_number(shown.simplified()) == shown);
    CHECK(format_safety_number(QStringLiteral("x") + digits.mid(1)) ==
          QStringLiteral("x") + digits.mid(1));
}

TEST_CASE("read and expired messages say so after their tick") {
    CHECK(tick_for(store::MessageStatus::read).contains(QStringLiteral("read")));
    CHECK(tick_for(store::MessageStatus::expired).contains(QStringLiteral("expired undelivered")));
}

} // namespace
} // namespace veil::desktop

namespace veil::desktop {
namespace {

std::int64_t local_ms(int y, int m, int d, int hh, int mm) {
    return QDateTime(QDate(y, m, d), QTime(hh, mm)).toMSecsSinceEpoch();
}

TEST_CASE("the conversation list's time is the clock today, the weekday this week, else the date") {
    const std::int64_t now = local_ms(2026, 6, 12, 18, 0); // a Friday
    CHECK(format_list_time(local_ms(2026, 6, 12, 9, 5), now) == QStringLiteral("09:05"));
    CHECK(format_list_time(local_ms(2026, 6, 11, 23, 59), now) ==
          QLocale().dayName(4, QLocale::ShortFormat)); // Thursday
    CHECK(format_list_time(local_ms(2026, 6, 6, 12, 0), now) ==
          QLocale().dayName(6, QLocale::ShortFormat)); // last Saturday, six days ago
    CHECK(format_list_time(local_ms(2026, 6, 5, 12, 0), now) ==
          QLocale().toString(QDate(2026, 6, 5), QLocale::ShortFormat));
    CHECK(format_list_time(local_ms(2025, 1, 2, 12, 0), now) ==
          QLocale().toString(QDate(2025, 1, 2), QLocale::ShortFormat));
    CHECK(format_list_time(0, now).isEmpty());
}

TEST_CASE("day separators say Today, Yesterday, the weekday this week, else the date") {
    const std::int64_t now = local_ms(2026, 6, 12, 0, 30);
    CHECK(day_label(local_ms(2026, 6, 12, 0, 1), now) == QStringLiteral("Today"));
    CHECK(day_label(local_ms(2026, 6, 11, 23, 59), now) == QStringLiteral("Yesterday"));
    CHECK(day_label(local_ms(2026, 6, 9, 12, 0), now) ==
          QLocale().toString(QDate(2026, 6, 9), QStringLiteral("dddd, d MMMM")));
    CHECK(day_label(local_ms(2024, 5, 1, 12, 0), now) ==
          QLocale().toString(QDate(2024, 5, 1), QStringLiteral("d MMMM yyyy")));
    CHECK(same_day(local_ms(2026, 6, 12, 0, 0), local_ms(2026, 6, 12, 23, 59)));
    CHECK_FALSE(same_day(local_ms(2026, 6, 12, 0, 0), local_ms(2026, 6, 11, 23, 59)));
}

TEST_CASE("a one-line preview of a 1 MiB message is cut before it is decoded") {
    std::string huge(1 << 20, 'x');
    QString line = one_line(huge, 48);
    CHECK(line.size() == 48);
    CHECK(line.endsWith(QChar(u'…')));
    // Cut inside a multi-byte character: the character is dropped whole, never split.
    std::string emoji;
    for (int i = 0; i < 100'000; ++i)
        emoji += "\xF0\x9F\x98\x80";
    QString cut = one_line("a" + emoji, 10);
    CHECK_FALSE(cut.contains(QChar(0xfffd)));
    CHECK(cut.endsWith(QChar(u'…')));
}

} // namespace
} // namespace veil::desktop

namespace veil::desktop {
namespace {

TEST_CASE("long lines are broken for a plain-text view, short ones left alone") {
    CHECK(break_long_lines(QStringLiteral("short\nlines"), 5) == QStringLiteral("short\nlines"));
    CHECK(break_long_lines(QStringLiteral("abcdefg\nhi"), 3) == QStringLiteral("abc\ndef\ng\nhi"));
    // A surrogate pair stays whole.
    QString pairs = QString::fromUtf8("\xF0\x9F\x98\x80\xF0\x9F\x98\x80");
    QString broken = break_long_lines(pairs, 3);
    CHECK(broken.remove(QChar(u'\n')) == pairs);
    CHECK_FALSE(break_long_lines(pairs, 3).at(3) == QChar(u'\n'));
}

} // namespace
} // namespace veil::desktop
