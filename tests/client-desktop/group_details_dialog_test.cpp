#include "group_details_dialog.h"

#include "desktop_fixture.h"

#include <QLabel>

namespace veil::desktop {
namespace {

struct Submitted {
    int calls = 0;
    GroupDetails details;
    QString answer; // what the "engine" says
};

GroupDetailsDialog::Submit recorder(Submitted& s) {
    return [&s](const GroupDetails& details, const GroupDetailsDialog::Answer& answer) {
        ++s.calls;
        s.details = details;
        answer(s.answer);
    };
}

GroupDetails hikers() {
    return {QStringLiteral("Hikers"), QStringLiteral("Weekend walks"), QByteArray()};
}

TEST_CASE("the edit group form starts with the group's details") {
    test::app();
    QByteArray png = test::picture_bytes("PNG", 40, 40);
    Submitted s;
    GroupDetailsDialog dialog({QStringLiteral("<b>Hikers</b>"), QStringLiteral("walks"), png},
                              recorder(s));
    CHECK(dialog.name_text() == QStringLiteral("<b>Hikers</b>"));
    CHECK(dialog.description_text() == QStringLiteral("walks"));
    CHECK(dialog.picture() == png);
    CHECK(dialog.shows_picture());
    for (const QLabel* label : dialog.findChildren<QLabel*>())
        CHECK(label->textFormat() == Qt::PlainText);
}

TEST_CASE("the edit group form refuses an empty or long name and keeps what was typed") {
    test::app();
    Submitted s;
    GroupDetailsDialog dialog(hikers(), recorder(s));
    dialog.fill(QStringLiteral("  "), QStringLiteral("new words"));
    dialog.submit();
    CHECK(dialog.error_text() == QStringLiteral("Give the group a name."));
    CHECK(dialog.description_text() == QStringLiteral("new words"));
    CHECK(s.calls == 0);
    CHECK(dialog.result() != QDialog::Accepted);

    dialog.fill(QString(101, QChar(u'x')), QStringLiteral("new words"));
    dialog.submit();
    CHECK(dialog.error_text().contains(QStringLiteral("keep it to 100")));
    CHECK(dialog.name_text() == QString(101, QChar(u'x')));
    CHECK(s.calls == 0);

    dialog.fill(QStringLiteral("Hikers"), QString(kMaxGroupDescriptionChars + 1, QChar(u'y')));
    dialog.submit();
    CHECK(dialog.error_text() == QStringLiteral("The description is 1001 characters long; keep "
                                                "it to 1000."));
    CHECK(dialog.description_text().size() == kMaxGroupDescriptionChars + 1);
    CHECK(s.calls == 0);
}

TEST_CASE("a picture over 64 KiB or not PNG or JPEG is refused and the form keeps its own") {
    test::app();
    test::TempDir dir;
    QByteArray png = test::picture_bytes("PNG", 40, 40);
    Submitted s;
    GroupDetailsDialog dialog({QStringLiteral("Hikers"), QString(), png}, recorder(s));
    dialog.fill(QStringLiteral("Hikers and friends"), QStringLiteral("typed"));

    QByteArray big = test::picture_bytes("PNG", 200, 200, true);
    REQUIRE(big.size() > 64 * 1024);
    CHECK_FALSE(dialog.choose_picture_file(test::write_file(dir, "big.png", big)));
    CHECK(dialog.error_text().contains(QStringLiteral("big.png is larger than 64 KiB")));
    CHECK(dialog.picture() == png);

    CHECK_FALSE(dialog.choose_picture_file(test::write_file(dir, "a.gif", test::gif_bytes())));
    CHECK(dialog.error_text() ==
          QStringLiteral("a.gif is not a PNG or JPEG picture. A group picture must be one."));
    CHECK(dialog.picture() == png);
    CHECK(dialog.shows_picture());
    CHECK(dialog.name_text() == QStringLiteral("Hikers and friends"));
    CHECK(dialog.description_text() == QStringLiteral("typed"));
    CHECK(s.calls == 0);
}

TEST_CASE("a chosen picture is previewed and sent, and Remove picture sends none") {
    test::app();
    test::TempDir dir;
    Submitted s;
    GroupDetailsDialog dialog(hikers(), recorder(s));
    CHECK_FALSE(dialog.shows_picture());
    QByteArray jpeg = test::picture_bytes("JPEG", 64, 48);
    REQUIRE(dialog.choose_picture_file(test::write_file(dir, "me.jpg", jpeg)));
    CHECK(dialog.shows_picture());
    CHECK(dialog.error_text().isEmpty());
    dialog.submit();
    CHECK(s.calls == 1);
    CHECK(s.details.picture == jpeg);
    CHECK(s.details.name == QStringLiteral("Hikers"));
    CHECK(dialog.result() == QDialog::Accepted);

    GroupDetailsDialog again({QStringLiteral("Hikers"), QString(), jpeg}, recorder(s));
    again.remove_picture();
    CHECK_FALSE(again.shows_picture());
    again.submit();
    CHECK(s.calls == 2);
    CHECK(s.details.picture.isEmpty());
}

TEST_CASE("a refusal from the engine stays in the edit dialog with the form as it was") {
    test::app();
    test::TempDir dir;
    Submitted s;
    s.answer = QStringLiteral("Only an admin can change the group's name, description or picture");
    GroupDetailsDialog dialog(hikers(), recorder(s));
    QByteArray png = test::picture_bytes("PNG", 10, 10);
    REQUIRE(dialog.choose_picture_file(test::write_file(dir, "p.png", png)));
    dialog.fill(QStringLiteral(" Ramblers "), QStringLiteral("Sundays\nfrom 9"));
    dialog.submit();
    CHECK(s.calls == 1);
    CHECK(s.details.name == QStringLiteral("Ramblers"));
    CHECK(s.details.description == QStringLiteral("Sundays\nfrom 9"));
    CHECK(dialog.error_text() == s.answer);
    CHECK(dialog.name_text() == QStringLiteral(" Ramblers "));
    CHECK(dialog.description_text() == QStringLiteral("Sundays\nfrom 9"));
    CHECK(dialog.picture() == png);
    CHECK(dialog.result() != QDialog::Accepted);
}

TEST_CASE("the edit group form waits for a late answer, then keeps its text on a refusal") {
    test::app();
    GroupDetailsDialog::Answer later;
    GroupDetailsDialog dialog(
        hikers(), [&](const GroupDetails&, GroupDetailsDialog::Answer a) { later = std::move(a); });
    dialog.fill(QStringLiteral("Ramblers"), QStringLiteral("typed"));
    dialog.submit();
    CHECK(dialog.waiting());
    dialog.submit(); // nothing is asked twice
    REQUIRE(later);
    later(QStringLiteral("Only an admin can change the group's name."));
    CHECK_FALSE(dialog.waiting());
    CHECK(dialog.error_text() == QStringLiteral("Only an admin can change the group's name."));
    CHECK(dialog.name_text() == QStringLiteral("Ramblers"));
    CHECK(dialog.description_text() == QStringLiteral("typed"));
    CHECK(dialog.result() != QDialog::Accepted);
}

TEST_CASE("an answer for a closed edit group form is dropped") {
    test::app();
    GroupDetailsDialog::Answer later;
    auto* dialog = new GroupDetailsDialog(
        hikers(), [&](const GroupDetails&, GroupDetailsDialog::Answer a) { later = std::move(a); });
    dialog->submit();
    REQUIRE(later);
    delete dialog;
    later(QString());
    SUCCEED("no crash");
}

} // namespace
} // namespace veil::desktop
