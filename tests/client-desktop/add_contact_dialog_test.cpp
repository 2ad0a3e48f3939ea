#include "add_contact_dialog.h"

#include "desktop_fixture.h"
#include "shown_text.h"

#include <QDialogButtonBox>
#include <QLabel>
#include <QPushButton>
#include <QSignalSpy>

namespace veil::desktop {
namespace {

TEST_CASE("typing a name that looks like a contact's shows a warning mark with a plain tooltip") {
    test::app();
    AddContactDialog dialog({"bob", "carol"});
    dialog.fill(QStringLiteral("b0b"));
    CHECK(dialog.looks_like() == QStringLiteral("bob"));
    CHECK(dialog.warning_mark().isVisibleTo(&dialog));
    CHECK(dialog.warning_mark().text() == QStringLiteral("\u26A0"));
    CHECK_FALSE(dialog.warning_mark().accessibleName().isEmpty());
    const QString sentence = QStringLiteral(
        "b0b looks like bob, another contact of yours. Check who this is before you trust them.");
    CHECK(dialog.warning_text().text() == sentence);
    CHECK(dialog.warning_text().textFormat() == Qt::PlainText);
    CHECK(test::shown_tooltip(dialog.warning_mark().toolTip()) == sentence);

    // The person may still add the name, knowingly.
    QSignalSpy submitted(&dialog, &AddContactDialog::submitted);
    dialog.submit();
    REQUIRE(submitted.size() == 1);
    CHECK(submitted.at(0).at(0).toString() == QStringLiteral("b0b"));
}

TEST_CASE("a name like no contact's, or a contact's own, shows no warning") {
    test::app();
    AddContactDialog dialog({"bob", "carol"});
    for (const char* name : {"dave", "bob", "  carol  ", ""}) {
        INFO(name);
        dialog.fill(QString::fromUtf8(name));
        CHECK(dialog.looks_like().isEmpty());
        CHECK_FALSE(dialog.warning_mark().isVisibleTo(&dialog));
    }
    dialog.fill(QStringLiteral("rnary"));
    CHECK(dialog.looks_like().isEmpty()); // no "mary" among the contacts
}

TEST_CASE("an empty name cannot be added") {
    test::app();
    AddContactDialog dialog({});
    QSignalSpy submitted(&dialog, &AddContactDialog::submitted);
    dialog.fill(QStringLiteral("   "));
    auto* ok = dialog.findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok);
    CHECK_FALSE(ok->isEnabled());
    dialog.submit();
    CHECK(submitted.isEmpty());
    dialog.fill(QStringLiteral(" dave "));
    CHECK(ok->isEnabled());
    dialog.submit();
    REQUIRE(submitted.size() == 1);
    CHECK(submitted.at(0).at(0).toString() == QStringLiteral("dave"));
}

} // namespace
} // namespace veil::desktop
