#include "devices_dialog.h"

#include "desktop_fixture.h"
#include "link_device_dialog.h"

#include "display_text.h"

#include <QCheckBox>
#include <QDateTime>
#include <QLabel>
#include <QLineEdit>

namespace veil::desktop {
namespace {

std::vector<engine::DeviceInfo> devices() {
    engine::DeviceInfo laptop;
    laptop.device_id = 1;
    laptop.name = "laptop";
    laptop.created_ms = 1'700'000'000'000;
    laptop.last_seen_ms = 1'700'000'600'000;
    laptop.current = true;
    engine::DeviceInfo phone;
    phone.device_id = 2;
    phone.name = "phone \xE2\x80\xAE evil";
    phone.created_ms = 1'700'000'300'000;
    engine::DeviceInfo unnamed;
    unnamed.device_id = 3;
    unnamed.created_ms = 1'700'000'400'000;
    unnamed.last_seen_ms = 1'700'000'500'000;
    // Out of order, as a relay may answer.
    return {phone, laptop, unnamed};
}

// The dialog with actions that record what they were asked.
struct DevicesFixture {
    DevicesFixture() {
        test::app();
        DevicesDialog::Actions actions;
        actions.refresh = [this] { ++refreshes; };
        actions.remove = [this](std::uint32_t id) {
            removed.push_back(id);
            return remove_refusal;
        };
        actions.link = [this](const QString& code, bool history) {
            links.emplace_back(code, history);
            return link_refusal;
        };
        actions.confirm = [this](const QString& question) {
            questions << question;
            return confirm_answer;
        };
        dialog = std::make_unique<DevicesDialog>(std::move(actions));
    }

    int refreshes = 0;
    std::vector<std::uint32_t> removed;
    QString remove_refusal;
    std::vector<std::pair<QString, bool>> links;
    QString link_refusal;
    QStringList questions;
    bool confirm_answer = true;
    std::unique_ptr<DevicesDialog> dialog;
};

TEST_CASE_METHOD(DevicesFixture, "the devices dialog lists the devices it is given in order") {
    dialog->refresh();
    CHECK(refreshes == 1);
    CHECK(dialog->status_text().startsWith(QStringLiteral("Asking the relay")));
    dialog->show_devices(devices());
    REQUIRE(dialog->device_count() == 3);
    CHECK(dialog->status_text().isEmpty());
    CHECK(dialog->cell_text(0, DevicesDialog::NumberColumn) == QStringLiteral("1"));
    CHECK(dialog->cell_text(0, DevicesDialog::NameColumn) == QStringLiteral("laptop"));
    CHECK(dialog->cell_text(0, DevicesDialog::LastSeenColumn) == QStringLiteral("now"));
    CHECK(dialog->cell_text(0, DevicesDialog::ThisDeviceColumn) == QStringLiteral("this device"));
    CHECK(dialog->cell_text(0, DevicesDialog::AddedColumn) ==
          format_time(1700000000000, QDateTime::currentMSecsSinceEpoch()));
    // A name is shown as plain text, with bidi controls made visible.
    CHECK(dialog->cell_text(1, DevicesDialog::NameColumn) == QStringLiteral("phone <U+202E> evil"));
    CHECK(dialog->cell_text(1, DevicesDialog::LastSeenColumn) == QStringLiteral("never"));
    CHECK(dialog->cell_text(1, DevicesDialog::ThisDeviceColumn).isEmpty());
    CHECK(dialog->cell_text(2, DevicesDialog::NameColumn) == QStringLiteral("(no name)"));
}

TEST_CASE_METHOD(DevicesFixture, "Remove is offered for other devices only, after a confirmation") {
    dialog->show_devices(devices());
    CHECK_FALSE(dialog->remove_enabled()); // nothing selected
    REQUIRE(dialog->select_device(1));
    CHECK_FALSE(dialog->remove_enabled()); // this device
    dialog->remove_selected();
    CHECK(removed.empty());
    CHECK(questions.isEmpty());

    REQUIRE(dialog->select_device(2));
    CHECK(dialog->remove_enabled());
    confirm_answer = false;
    dialog->remove_selected();
    CHECK(questions == QStringList{QStringLiteral(
                           "Device 2 will be signed out and can no longer read new messages.")});
    CHECK(removed.empty());

    confirm_answer = true;
    dialog->remove_selected();
    CHECK(removed == std::vector<std::uint32_t>{2});
    CHECK(dialog->status_text() == QStringLiteral("Removing device 2…"));
    CHECK_FALSE(dialog->remove_enabled()); // one at a time
    dialog->removal_finished(2, QString());
    CHECK(dialog->status_text().startsWith(QStringLiteral("Device 2 was removed")));
    CHECK(dialog->remove_enabled());
}

TEST_CASE_METHOD(DevicesFixture, "a refused removal is shown in words and the device stays") {
    dialog->show_devices(devices());
    REQUIRE(dialog->select_device(3));
    dialog->remove_selected();
    dialog->removal_finished(3, QStringLiteral("Cannot reach the relay: it is offline."));
    CHECK(dialog->status_text() ==
          QStringLiteral("Device 3 was not removed: Cannot reach the relay: it is offline."));
    CHECK(dialog->device_count() == 3);
    // A refresh that follows keeps the selection.
    dialog->show_devices(devices());
    CHECK(dialog->remove_enabled());
}

TEST_CASE_METHOD(DevicesFixture, "a list error is shown in words") {
    dialog->show_list_error(QStringLiteral("Cannot reach the relay: the relay is offline."));
    CHECK(dialog->status_text().startsWith(QStringLiteral("Cannot list the devices: ")));
    CHECK(dialog->device_count() == 0);
}

TEST_CASE_METHOD(DevicesFixture, "the link form refuses an empty code and asks nothing") {
    LinkDeviceDialog* form = dialog->link_device();
    REQUIRE(form);
    form->fill(QStringLiteral("   "), true);
    form->submit();
    CHECK(links.empty());
    CHECK(form->error_text() == QStringLiteral("Type or paste the code the new device shows."));
    CHECK_FALSE(form->waiting());
    CHECK_FALSE(dialog->link_waiting());
}

TEST_CASE_METHOD(DevicesFixture, "a pasted code goes to the engine as pasted, with the choice") {
    LinkDeviceDialog* form = dialog->link_device();
    form->fill(QStringLiteral("  abcd-efgh jkmn\n-PQRS-TVWX-YZ01-2\n"), true);
    form->submit();
    REQUIRE(links.size() == 1);
    CHECK(links[0].first == QStringLiteral("abcd-efgh jkmn -PQRS-TVWX-YZ01-2"));
    CHECK(links[0].second);
    CHECK(form->waiting());
    CHECK(dialog->link_waiting());
    CHECK(form->status_text().startsWith(QStringLiteral("Linking…")));

    dialog->link_finished(4, QString());
    CHECK_FALSE(form->waiting());
    CHECK(form->done());
    CHECK(form->status_text() == QStringLiteral("Device 4 is now linked to your account."));
    CHECK(form->code_text().isEmpty());
    CHECK(dialog->status_text() == QStringLiteral("Device 4 was linked."));
}

TEST_CASE_METHOD(DevicesFixture, "a code the engine refuses stays in the form with the reason") {
    link_refusal = QStringLiteral("The link code has a typo (its check character does not match)");
    LinkDeviceDialog* form = dialog->link_device();
    form->fill(QStringLiteral("ABCD-EFGH"), false);
    form->submit();
    CHECK(form->error_text() == link_refusal);
    CHECK(form->code_text() == QStringLiteral("ABCD-EFGH"));
    CHECK_FALSE(form->waiting());
}

TEST_CASE_METHOD(DevicesFixture, "a link that fails later says why and can be sent again") {
    LinkDeviceDialog* form = dialog->link_device();
    form->fill(QStringLiteral("ABCD-EFGH"), false);
    form->submit();
    dialog->link_finished(0, QStringLiteral("The other device stopped answering"));
    CHECK_FALSE(form->waiting());
    CHECK(form->error_text().startsWith(QStringLiteral("The other device stopped answering. ")));
    form->submit();
    CHECK(links.size() == 2);
}

} // namespace
} // namespace veil::desktop
