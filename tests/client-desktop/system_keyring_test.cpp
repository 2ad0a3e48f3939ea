// "Remember on this computer" against a real Secret Service: QtKeychain talking over D-Bus to a
// gnome-keyring-daemon. Hidden from the ordinary run ([.secret-service]): it must only ever see
// the private session bus and the throwaway, unlocked keyring that scripts/keyring-test.sh
// starts, never a person's own. The script sets VEIL_PRIVATE_SECRET_SERVICE to say so; without
// it the test fails rather than touch whatever keyring the session has.
#include "keyring.h"

#include "app_settings.h"
#include "desktop_fixture.h"
#include "session_bridge.h"
#include "start_dialog.h"

#include <QCheckBox>

#include <cstdlib>

namespace veil::desktop {
namespace {

TEST_CASE("the key kept in a real Secret Service opens the profile without the passphrase and "
          "is removed again",
          "[.secret-service]") {
    REQUIRE(std::getenv("VEIL_PRIVATE_SECRET_SERVICE") != nullptr);
    test::app();
    test::TempDir dir;
    {
        SessionBridge maker;
        REQUIRE(maker
                    .create_profile(dir.profile(), SecretBytes::from_string("right"), "alice",
                                    "ws://127.0.0.1:1")
                    .ok());
    }
    const QString profile = QString::fromStdString(dir.profile().string());
    const QString entry = keyring_entry(dir.profile());
    SystemKeyring keyring;

    // Nothing is there before.
    SecretBytes none;
    auto before = keyring.read(entry, none);
    INFO(before.message.toStdString());
    REQUIRE(before.outcome == Keyring::Outcome::not_found);

    Bytes key;
    {
        SessionBridge bridge;
        StartDialog dialog(bridge, profile, QString());
        dialog.set_keyring(&keyring);
        dialog.fill_open(profile, QStringLiteral("right"));
        dialog.remember_box().setChecked(true);
        dialog.submit();
        REQUIRE(test::wait_until([&] { return !dialog.busy(); }, 30'000));
        REQUIRE(dialog.result() == QDialog::Accepted);
        INFO(dialog.keyring_note().toStdString());
        CHECK(dialog.keyring_note().isEmpty());
        SecretBytes db_key = bridge.store().database_key();
        key.assign(db_key.view().begin(), db_key.view().end());
        bridge.close();
    }
    // The service holds the derived key, not the passphrase.
    SecretBytes stored;
    auto read = keyring.read(entry, stored);
    INFO(read.message.toStdString());
    REQUIRE(read.outcome == Keyring::Outcome::ok);
    CHECK(Bytes(stored.view().begin(), stored.view().end()) == key);

    // The next start opens the profile from the keyring, without a passphrase typed.
    {
        SessionBridge bridge;
        StartDialog dialog(bridge, profile, QString());
        dialog.set_keyring(&keyring);
        REQUIRE(dialog.open_remembered());
        REQUIRE(test::wait_until([&] { return dialog.result() == QDialog::Accepted; }, 20'000));
        CHECK(bridge.is_open());
        CHECK(bridge.username() == QStringLiteral("alice"));
        bridge.close();
    }

    CHECK(keyring.remove(entry).outcome == Keyring::Outcome::ok);
    SecretBytes gone;
    CHECK(keyring.read(entry, gone).outcome == Keyring::Outcome::not_found);
    CHECK(gone.empty());
    set_remembered(entry, false);
}

} // namespace
} // namespace veil::desktop
