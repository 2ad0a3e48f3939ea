#include "safety_number_dialog.h"

#include "desktop_fixture.h"

#include <QLabel>
#include <QPushButton>

namespace veil::desktop {
namespace {

const QString kNumber = QStringLiteral("123456789012345678901234567890"
                                       "098765432109876543210987654321");

TEST_CASE("the safety number is shown in twelve groups of five with a QR code") {
    test::app();
    SafetyNumberDialog dialog(QStringLiteral("bob"), kNumber, QByteArray("\x00\x01qr", 4), false,
                              {});
    CHECK(dialog.number_text() == QStringLiteral("12345 67890 12345 67890\n"
                                                 "12345 67890 09876 54321\n"
                                                 "09876 54321 09876 54321"));
    CHECK_FALSE(dialog.qr().isNull());
    CHECK(dialog.status_text() == QStringLiteral("bob is not verified."));
    CHECK(dialog.verify_button().text() == QStringLiteral("Mark as verified"));
    for (const QLabel* label : dialog.findChildren<QLabel*>())
        CHECK(label->textFormat() == Qt::PlainText);
}

TEST_CASE("marking as verified and clearing it go through the callback") {
    test::app();
    std::vector<bool> asked;
    SafetyNumberDialog dialog(QStringLiteral("bob"), kNumber, QByteArray("qr"), false,
                              [&](bool verified, const SafetyNumberDialog::Answer& answer) {
                                  asked.push_back(verified);
                                  answer(QString());
                              });
    bool announced = false;
    QObject::connect(&dialog, &SafetyNumberDialog::verifiedChanged,
                     [&](bool on) { announced = on; });
    dialog.verify_button().click();
    CHECK(dialog.verified());
    CHECK(announced);
    CHECK(dialog.verify_button().text() == QStringLiteral("Clear verification"));
    CHECK(dialog.status_text().contains(QStringLiteral("verified bob")));
    dialog.verify_button().click();
    CHECK_FALSE(dialog.verified());
    CHECK(asked == std::vector<bool>{true, false});
}

TEST_CASE("a refused verification stays unverified and says why") {
    test::app();
    SafetyNumberDialog dialog(QStringLiteral("bob"), kNumber, QByteArray("qr"), false,
                              [](bool, const SafetyNumberDialog::Answer& answer) {
                                  answer(QStringLiteral("The profile is busy."));
                              });
    dialog.verify_button().click();
    CHECK_FALSE(dialog.verified());
    CHECK(dialog.error_text() == QStringLiteral("The profile is busy."));
}

TEST_CASE("the verify button waits for a late answer and the dialog takes it when it comes") {
    test::app();
    SafetyNumberDialog::Answer later;
    SafetyNumberDialog dialog(
        QStringLiteral("bob"), kNumber, QByteArray("qr"), false,
        [&](bool, SafetyNumberDialog::Answer answer) { later = std::move(answer); });
    dialog.verify_button().click();
    CHECK(dialog.busy());
    CHECK_FALSE(dialog.verify_button().isEnabled());
    CHECK(dialog.verify_button().text() == QStringLiteral("Saving…"));
    dialog.verify_button().click(); // disabled: nothing is asked twice
    REQUIRE(later);
    later(QString());
    CHECK_FALSE(dialog.busy());
    CHECK(dialog.verified());
    CHECK(dialog.verify_button().isEnabled());
    CHECK(dialog.verify_button().text() == QStringLiteral("Clear verification"));
}

TEST_CASE("an answer for a closed safety number dialog is dropped") {
    test::app();
    SafetyNumberDialog::Answer later;
    auto* dialog = new SafetyNumberDialog(
        QStringLiteral("bob"), kNumber, QByteArray("qr"), false,
        [&](bool, SafetyNumberDialog::Answer answer) { later = std::move(answer); });
    dialog->verify_button().click();
    REQUIRE(later);
    delete dialog;
    later(QString()); // must not touch the freed dialog
    SUCCEED("no crash");
}

TEST_CASE("a safety number dialog opened before its number says it is working it out") {
    test::app();
    SafetyNumberDialog dialog(QStringLiteral("bob"), {});
    CHECK(dialog.busy());
    CHECK_FALSE(dialog.verify_button().isEnabled());
    CHECK(dialog.status_text().contains(QStringLiteral("Working out")));
    dialog.show_number(kNumber, QByteArray("qr"), true);
    CHECK_FALSE(dialog.busy());
    CHECK(dialog.verify_button().isEnabled());
    CHECK(dialog.status_text().contains(QStringLiteral("verified bob")));
}

} // namespace
} // namespace veil::desktop
