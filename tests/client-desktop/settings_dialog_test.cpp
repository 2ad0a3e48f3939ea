// SettingsDialog through the main window: each setting takes effect at once and is stored
// (profile or app settings); the passphrase change and "Remember on this computer" with a fake
// keyring.
#include "settings_dialog.h"

#include "app_settings.h"
#include "desktop_fixture.h"
#include "devices_dialog.h"
#include "fake_keyring.h"
#include "main_window.h"
#include "notification.h"
#include "passphrase_dialog.h"
#include "session_bridge.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QLabel>
#include <QPushButton>

namespace veil::desktop {
namespace {

const char* kPass = "pw";

struct SettingsFixture {
    SettingsFixture() {
        test::app();
        REQUIRE(bridge
                    .create_profile(dir.profile(), SecretBytes::from_string(kPass), "alice",
                                    "ws://127.0.0.1:1")
                    .ok());
    }
    QString entry() const { return keyring_entry(dir.profile()); }

    test::TempDir dir;
    SessionBridge bridge;
    test::FakeKeyring keyring;
};

TEST_CASE_METHOD(SettingsFixture, "notification settings take effect and are stored in the "
                                  "profile") {
    MainWindow window(bridge);
    bridge.wait_idle();
    SettingsDialog* dialog = window.settings();
    REQUIRE(dialog);
    CHECK(dialog->notifications_box().isChecked());
    dialog->preview_box().setCurrentIndex(1);
    CHECK(window.notification_settings().preview == NotificationPreview::sender);
    bridge.wait_idle(); // stored on the session's thread
    CHECK(load_notification_settings(bridge.store()).preview == NotificationPreview::sender);
    dialog->notifications_box().setChecked(false);
    CHECK_FALSE(window.notification_settings().enabled);
    bridge.wait_idle();
    CHECK_FALSE(load_notification_settings(bridge.store()).enabled);
    CHECK_FALSE(dialog->preview_box().isEnabled());
    dialog->close();

    // A new dialog shows what is stored.
    SettingsDialog* again = window.settings();
    CHECK_FALSE(again->notifications_box().isChecked());
    CHECK(again->preview_box().currentIndex() == 1);
    again->close();
}

TEST_CASE_METHOD(SettingsFixture, "read receipts follow the box, in the engine and the menu") {
    MainWindow window(bridge);
    bridge.wait_idle();
    SettingsDialog* dialog = window.settings();
    CHECK(dialog->read_receipts_box().isChecked());
    dialog->read_receipts_box().setChecked(false);
    CHECK_FALSE(bridge.run_blocking_for_tests(
        [&](qt::ClientSession& s_) { return s_.engine().read_receipts(); }));
    CHECK_FALSE(window.read_receipts_action().isChecked());
    CHECK(dialog->error_text().isEmpty());
    dialog->close();
    CHECK_FALSE(window.settings()->read_receipts_box().isChecked());
}

TEST_CASE_METHOD(SettingsFixture, "the theme is stored and handed to the theme hook") {
    std::vector<ThemeChoice> applied;
    set_theme_hook([&](ThemeChoice theme) { applied.push_back(theme); });
    MainWindow window(bridge);
    bridge.wait_idle();
    SettingsDialog* dialog = window.settings();
    dialog->theme_box().setCurrentIndex(static_cast<int>(ThemeChoice::dark));
    CHECK(stored_theme() == ThemeChoice::dark);
    REQUIRE(applied.size() == 1);
    CHECK(applied[0] == ThemeChoice::dark);
    dialog->close();
    CHECK(window.settings()->theme_box().currentIndex() == static_cast<int>(ThemeChoice::dark));
    dialog = window.settings();
    dialog->theme_box().setCurrentIndex(static_cast<int>(ThemeChoice::light));
    CHECK(stored_theme() == ThemeChoice::light);
    CHECK(parse_theme_choice(QStringLiteral("dark")) == ThemeChoice::dark);
    CHECK_FALSE(parse_theme_choice(QStringLiteral("<b>")).has_value());
    set_theme_hook({});
    store_theme(ThemeChoice::system);
}

TEST_CASE_METHOD(SettingsFixture, "remember on this computer writes and removes the key in the "
                                  "keyring") {
    MainWindow window(bridge);
    bridge.wait_idle();
    window.set_keyring(&keyring);
    SettingsDialog* dialog = window.settings();
    CHECK(dialog->remember_box().isEnabled());
    CHECK_FALSE(dialog->remember_box().isChecked());
    dialog->remember_box().setChecked(true);
    REQUIRE(keyring.entries.contains(entry()));
    SecretBytes key = bridge.store().database_key();
    CHECK(keyring.entries[entry()] == Bytes(key.view().begin(), key.view().end()));
    CHECK(remembered(entry()));
    dialog->remember_box().setChecked(false);
    CHECK_FALSE(keyring.entries.contains(entry()));
    CHECK_FALSE(remembered(entry()));
}

TEST_CASE_METHOD(SettingsFixture, "remember on this computer with no keyring says why and stays "
                                  "off") {
    keyring.mode = test::FakeKeyring::Mode::absent;
    MainWindow window(bridge);
    bridge.wait_idle();
    window.set_keyring(&keyring);
    SettingsDialog* dialog = window.settings();
    dialog->remember_box().setChecked(true);
    CHECK_FALSE(dialog->remember_box().isChecked());
    CHECK(dialog->error_text().contains(QStringLiteral("No system keyring")));
    CHECK_FALSE(remembered(entry()));
}

TEST_CASE_METHOD(SettingsFixture, "the profile section shows the account and reaches the devices "
                                  "dialog") {
    MainWindow window(bridge);
    bridge.wait_idle();
    SettingsDialog* dialog = window.settings();
    bool shows_name = false;
    for (auto* label : dialog->findChildren<QLabel*>()) {
        CHECK(label->textFormat() == Qt::PlainText);
        shows_name = shows_name || label->text() == QStringLiteral("alice");
    }
    CHECK(shows_name);
    CHECK_FALSE(dialog->remember_box().isEnabled());  // no keyring set
    CHECK_FALSE(dialog->safety_button().isEnabled()); // no contacts yet
    dialog->devices_button().click();
    auto dialogs = window.findChildren<DevicesDialog*>();
    REQUIRE(dialogs.size() == 1);
    CHECK(dialogs[0]->isVisible());
}

TEST_CASE_METHOD(SettingsFixture, "the passphrase changes from settings: the old one stops "
                                  "working, the new one opens, and the keyring follows") {
    MainWindow window(bridge);
    bridge.wait_idle();
    window.set_keyring(&keyring);
    SettingsDialog* dialog = window.settings();
    dialog->remember_box().setChecked(true);
    Bytes old_key = keyring.entries[entry()];

    PassphraseDialog* change = dialog->change_passphrase();
    REQUIRE(change);
    change->fill(QStringLiteral("wrong"), QStringLiteral("new pw"), QStringLiteral("new pw"));
    change->submit();
    CHECK(change->waiting()); // the derivation runs on the session's thread
    CHECK_FALSE(change->isEnabled());
    bridge.wait_idle();
    CHECK_FALSE(change->waiting());
    CHECK(change->message_text() ==
          QStringLiteral("The current passphrase is not right. Nothing changed."));
    change->fill(QString::fromLatin1(kPass), QStringLiteral("new pw"), QStringLiteral("other"));
    change->submit();
    CHECK(change->message_text().contains(QStringLiteral("differ")));
    change->fill(QString::fromLatin1(kPass), QString(), QString());
    change->submit();
    CHECK(change->message_text() == QStringLiteral("Choose a new passphrase."));

    bool changed = false;
    int result = -1;
    QObject::connect(change, &PassphraseDialog::changed, [&] { changed = true; });
    // Accepted, the dialog closes and deletes itself (WA_DeleteOnClose): its result is read
    // as it finishes, never through the pointer afterwards.
    QObject::connect(change, &QDialog::finished, [&](int r) { result = r; });
    change->fill(QString::fromLatin1(kPass), QStringLiteral("new pw"), QStringLiteral("new pw"));
    change->submit();
    bridge.wait_idle();
    CHECK(changed);
    CHECK(result == QDialog::Accepted);
    SecretBytes new_key = bridge.store().database_key();
    CHECK(keyring.entries[entry()] == Bytes(new_key.view().begin(), new_key.view().end()));
    CHECK(keyring.entries[entry()] != old_key);
    CHECK(window.banner_text().isEmpty());

    bridge.close();
    SessionBridge other;
    CHECK(other.open_profile(dir.profile(), SecretBytes::from_string(kPass), {}).error().code ==
          Errc::wrong_passphrase);
    REQUIRE(other.open_profile(dir.profile(), SecretBytes::from_string("new pw"), {}).ok());
    CHECK(other.username() == QStringLiteral("alice"));
    other.close();
    SessionBridge by_key;
    CHECK(by_key.open_profile_with_key(dir.profile(), new_key, {}).ok());
    by_key.close();
    set_remembered(entry(), false);
}

TEST_CASE_METHOD(SettingsFixture, "a passphrase change with a failing keyring clears the "
                                  "remembered key and says so") {
    MainWindow window(bridge);
    bridge.wait_idle();
    window.set_keyring(&keyring);
    REQUIRE(window.set_remember(true).isEmpty());
    keyring.mode = test::FakeKeyring::Mode::failing;
    std::optional<QString> answer;
    window.change_passphrase(SecretBytes::from_string(kPass), SecretBytes::from_string("next"),
                             [&](const QString& why) { answer = why; });
    bridge.wait_idle();
    REQUIRE(answer.has_value());
    CHECK(answer->isEmpty());
    CHECK_FALSE(remembered(entry()));
    CHECK(window.banner_text().contains(QStringLiteral("could not remember the new one")));
}

} // namespace
} // namespace veil::desktop

namespace veil::desktop {
namespace {

TEST_CASE_METHOD(SettingsFixture, "safety number from settings opens for the chosen contact, or "
                                  "says why not") {
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.engine().add_contact("bob"); })
                .ok());
    MainWindow window(bridge);
    bridge.wait_idle();
    SettingsDialog* dialog = window.settings();
    REQUIRE(dialog->contact_box().count() == 1);
    CHECK(dialog->contact_box().currentText() == QStringLiteral("bob"));
    CHECK(dialog->safety_button().isEnabled());
    // No message exchanged yet: there is no key to compare, and the window says so.
    dialog->safety_button().click();
    bridge.wait_idle(); // the number is worked out on the session's thread
    CHECK(window.error_text().startsWith(QStringLiteral("The safety number cannot be shown")));
}

} // namespace
} // namespace veil::desktop
