// "Remember on this computer" in the start dialog, with a fake keyring that works, is absent
// or fails; and the keyring's sentences.
#include "keyring.h"

#include "app_settings.h"
#include "desktop_fixture.h"
#include "fake_keyring.h"
#include "session_bridge.h"
#include "start_dialog.h"
#include "worker_latch.h"

#include <QCheckBox>

namespace veil::desktop {
namespace {

struct KeyringFixture {
    KeyringFixture() {
        test::app();
        SessionBridge maker;
        REQUIRE(maker
                    .create_profile(dir.profile(), SecretBytes::from_string("right"), "alice",
                                    "ws://127.0.0.1:1")
                    .ok());
        entry = keyring_entry(dir.profile());
    }
    QString profile() const { return QString::fromStdString(dir.profile().string()); }

    // Opens the profile by typing the passphrase, with the box ticked or not.
    void open_typing(SessionBridge& bridge, StartDialog& dialog, bool remember) {
        dialog.set_keyring(&keyring);
        dialog.fill_open(profile(), QStringLiteral("right"));
        dialog.remember_box().setChecked(remember);
        dialog.submit();
        // The profile opens on the session's thread; the dialog is busy until then.
        REQUIRE(test::wait_until([&] { return !dialog.busy(); }, 20'000));
        REQUIRE(dialog.result() == QDialog::Accepted);
        REQUIRE(bridge.is_open());
    }

    test::TempDir dir;
    test::FakeKeyring keyring;
    QString entry;
};

TEST_CASE_METHOD(KeyringFixture, "a remembered profile opens on the next start without the "
                                 "passphrase, from the derived key, never the passphrase") {
    Bytes kept;
    {
        SessionBridge bridge;
        StartDialog dialog(bridge, profile(), QString());
        open_typing(bridge, dialog, true);
        CHECK(dialog.keyring_note().isEmpty());
        REQUIRE(keyring.entries.contains(entry));
        kept = keyring.entries[entry];
        SecretBytes key = bridge.store().database_key();
        CHECK(kept == Bytes(key.view().begin(), key.view().end()));
        CHECK(kept.size() == 32);
        CHECK(remembered(entry));
        bridge.close();
    }
    const std::string pass = "right";
    CHECK(std::search(kept.begin(), kept.end(), pass.begin(), pass.end()) == kept.end());

    SessionBridge bridge;
    StartDialog dialog(bridge, profile(), QString());
    dialog.set_keyring(&keyring);
    CHECK(dialog.open_remembered());
    REQUIRE(test::wait_until([&] { return dialog.result() == QDialog::Accepted; }, 20'000));
    CHECK(bridge.is_open());
    CHECK(bridge.username() == QStringLiteral("alice"));
    bridge.close();
}

TEST_CASE_METHOD(KeyringFixture, "the start dialog opens a remembered profile without waiting: it "
                                 "paints and can be cancelled meanwhile") {
    {
        SessionBridge bridge;
        StartDialog dialog(bridge, profile(), QString());
        open_typing(bridge, dialog, true);
        bridge.close();
    }
    SessionBridge bridge;
    StartDialog dialog(bridge, profile(), QString());
    dialog.set_keyring(&keyring);
    // The keyring asks the person to unlock it: its answer waits.
    keyring.hold_reads = true;
    REQUIRE(dialog.open_remembered());
    CHECK(dialog.busy());
    CHECK(dialog.result() != QDialog::Accepted);
    CHECK(test::gui_turns());

    SECTION("the answer opens the profile and accepts the dialog") {
        keyring.release_reads();
        REQUIRE(test::wait_until([&] { return dialog.result() == QDialog::Accepted; }, 20'000));
        CHECK(bridge.is_open());
    }
    SECTION("cancelled first, the late answer opens nothing") {
        dialog.reject();
        CHECK(dialog.result() == QDialog::Rejected);
        keyring.release_reads();
        bridge.wait_idle();
        QCoreApplication::processEvents();
        CHECK_FALSE(bridge.is_open());
        CHECK(dialog.result() == QDialog::Rejected);
    }
    bridge.close();
}

TEST_CASE_METHOD(KeyringFixture, "without the box ticked nothing is kept and the keyring is not "
                                 "even asked on the next start") {
    {
        SessionBridge bridge;
        StartDialog dialog(bridge, profile(), QString());
        open_typing(bridge, dialog, false);
        bridge.close();
    }
    CHECK(keyring.entries.isEmpty());
    CHECK(keyring.writes == 0);
    SessionBridge bridge;
    StartDialog dialog(bridge, profile(), QString());
    dialog.set_keyring(&keyring);
    CHECK_FALSE(dialog.open_remembered());
    CHECK(keyring.reads == 0);
    CHECK(dialog.error_text().isEmpty());
    CHECK_FALSE(bridge.is_open());
}

TEST_CASE_METHOD(KeyringFixture, "an absent or failing keyring falls back to the passphrase "
                                 "with a clear sentence and loses nothing") {
    auto mode = GENERATE(test::FakeKeyring::Mode::absent, test::FakeKeyring::Mode::failing);
    keyring.mode = mode;
    QString expected = mode == test::FakeKeyring::Mode::absent
                           ? QStringLiteral("No system keyring is available")
                           : QStringLiteral("(the keyring is locked)");
    {
        // Ticking the box with no keyring to write to: the profile opens all the same.
        SessionBridge bridge;
        StartDialog dialog(bridge, profile(), QString());
        open_typing(bridge, dialog, true);
        CHECK(dialog.keyring_note().contains(expected));
        CHECK(dialog.keyring_note().contains(QStringLiteral("ask for the passphrase")));
        CHECK_FALSE(remembered(entry));
        bridge.close();
    }
    // A profile remembered earlier whose keyring went away: the prompt says why it is back.
    set_remembered(entry, true);
    SessionBridge bridge;
    StartDialog dialog(bridge, profile(), QString());
    dialog.set_keyring(&keyring);
    CHECK(dialog.open_remembered());
    REQUIRE(test::wait_until([&] { return !dialog.busy(); }, 20'000));
    CHECK(dialog.error_text().contains(expected));
    CHECK(dialog.error_text().endsWith(QStringLiteral("Type your passphrase.")));
    CHECK_FALSE(bridge.is_open());
    dialog.fill_open(profile(), QStringLiteral("right"));
    dialog.submit();
    CHECK(test::wait_until([&] { return bridge.is_open(); }, 20'000));
    bridge.close();
    set_remembered(entry, false);
}

TEST_CASE_METHOD(KeyringFixture, "a remembered key that no longer opens the profile is removed "
                                 "and the passphrase asked for") {
    keyring.entries[entry] = Bytes(32, 0x5a);
    set_remembered(entry, true);
    SessionBridge bridge;
    StartDialog dialog(bridge, profile(), QString());
    dialog.set_keyring(&keyring);
    CHECK(dialog.open_remembered());
    REQUIRE(test::wait_until([&] { return !dialog.busy(); }, 20'000));
    CHECK(dialog.error_text().contains(QStringLiteral("no longer opens the profile")));
    CHECK_FALSE(keyring.entries.contains(entry));
    CHECK_FALSE(remembered(entry));
    CHECK_FALSE(bridge.is_open());
}

TEST_CASE("one keyring entry per profile folder") {
    test::app();
    CHECK(keyring_entry("/tmp/a/profile") != keyring_entry("/tmp/b/profile"));
    CHECK(keyring_entry("/tmp/a/profile").startsWith(QStringLiteral("database-key:")));
    CHECK(keyring_problem({Keyring::Outcome::ok, {}}).isEmpty());
    CHECK(keyring_problem({Keyring::Outcome::not_found, {}}).isEmpty());
}

} // namespace
} // namespace veil::desktop

namespace veil::desktop {
namespace {

// The real keyring, read for an entry nobody wrote: where there is no Secret Service (CI, this
// machine) it answers unavailable or failed at once; on a desktop with one, not_found. Either
// way it answers, and never with a key.
TEST_CASE("the system keyring answers for a missing entry without a key and without hanging") {
    test::app();
    SystemKeyring keyring;
    SecretBytes key;
    auto answer = keyring.read(QStringLiteral("database-key:/nonexistent/veil-test-entry"), key);
    INFO(answer.message.toStdString());
    CHECK(answer.outcome != Keyring::Outcome::ok);
    CHECK(key.empty());
    if (answer.outcome != Keyring::Outcome::not_found)
        CHECK_FALSE(keyring_problem(answer).isEmpty());
}

} // namespace
} // namespace veil::desktop
