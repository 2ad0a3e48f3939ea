// Restoring a profile from a snapshot in the desktop app: the dialog on its own (listing, the
// chosen snapshot, a wrong passphrase), and a real profile whose database file was damaged on
// disk, opened through the start dialog, which offers the restore and then opens the profile.
#include "restore_dialog.h"

#include "app_settings.h"
#include "desktop_fixture.h"
#include "fake_keyring.h"
#include "keyring.h"
#include "main_window.h"
#include "session_bridge.h"
#include "settings_dialog.h"
#include "start_dialog.h"

#include "store/account_store.h"

#include <QDateTime>
#include <QDialogButtonBox>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>

#include <algorithm>
#include <fstream>

#ifdef VEIL_RELAY_BIN
#include "live_relay.h"
#include "session_bridge.h"
#include "support/file_damage.h"
#endif

namespace veil::desktop {
namespace {

constexpr std::int64_t kDayMs = 24LL * 3600 * 1000;
// Cheap Argon2id for the profiles written here directly (the app's own cost is for people).
const store::KdfParams kFastKdf{1, 1024, 1};

std::string read_bytes(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<std::filesystem::path> files_starting(const std::filesystem::path& dir,
                                                  const std::string& prefix) {
    std::vector<std::filesystem::path> found;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.path().filename().string().rfind(prefix, 0) == 0)
            found.push_back(e.path());
    return found;
}

// Zeroes a page in the middle of the file, as a failing disk would.
void zero_a_page(const std::filesystem::path& db) {
    auto size = std::filesystem::file_size(db);
    REQUIRE(size >= 8 * 4096);
    std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 4096 / 2 * 4096));
    const std::string zeros(4096, '\0');
    f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
}

bool has_message(const std::filesystem::path& dir, const std::string& passphrase,
                 const std::string& peer, const std::string& text) {
    auto store = store::AccountStore::open(dir, SecretBytes::from_string(passphrase));
    REQUIRE(store.ok());
    auto rows = store.value()->messages(peer, 100);
    REQUIRE(rows.ok());
    for (const auto& row : rows.value())
        if (row.text == text)
            return true;
    return false;
}

QPushButton* restore_button(RestoreDialog& dialog) {
    for (auto* b : dialog.findChildren<QPushButton*>())
        if (b->text() == QStringLiteral("Restore"))
            return b;
    return nullptr;
}

TEST_CASE("a snapshot is described by its time and age") {
    const std::int64_t now = QDateTime(QDate(2026, 12, 5), QTime(9, 30)).toMSecsSinceEpoch();
    const std::int64_t then = QDateTime(QDate(2026, 12, 3), QTime(9, 14)).toMSecsSinceEpoch();
    QString text = RestoreDialog::describe(then, now);
    CHECK(text.contains(QStringLiteral("3 Dec 2026, 09:14")));
    CHECK(text.endsWith(QStringLiteral("2 days ago")));
    CHECK(RestoreDialog::describe(now - 5 * 60'000, now).endsWith(QStringLiteral("5 minutes ago")));
    CHECK(RestoreDialog::describe(now - 3 * 3600'000, now).endsWith(QStringLiteral("3 hours ago")));
    CHECK(RestoreDialog::describe(now, now).endsWith(QStringLiteral("just now")));
}

TEST_CASE("the chosen snapshot is restored with the passphrase, the file it replaces is kept, "
          "and a wrong passphrase changes nothing") {
    test::app();
    test::TempDir dir;
    const std::string pass = "restore pass";
    const std::int64_t now = QDateTime::currentMSecsSinceEpoch();
    {
        auto store =
            store::AccountStore::create(dir.profile(), SecretBytes::from_string(pass), kFastKdf);
        REQUIRE(store.ok());
        REQUIRE(store.value()->insert_message(test::incoming("bob", 1, "older")).ok());
        REQUIRE(store.value()->snapshot_if_older(now - 3 * kDayMs, kDayMs).value());
        REQUIRE(store.value()->insert_message(test::incoming("bob", 2, "newer")).ok());
        REQUIRE(store.value()->snapshot_if_older(now - kDayMs, kDayMs).value());
        REQUIRE(store.value()->insert_message(test::incoming("bob", 3, "latest")).ok());
    }
    const std::string before = read_bytes(dir.profile() / "account.db");

    RestoreDialog dialog(dir.profile(), RestoreDialog::Reason::chosen, QString());
    REQUIRE(dialog.snapshots().size() == 2);
    REQUIRE(dialog.list().count() == 2);
    CHECK(dialog.list().currentRow() == 0); // the newest is offered first
    CHECK(dialog.list().item(0)->text().endsWith(QStringLiteral("1 day ago")));
    CHECK(dialog.list().item(1)->text().endsWith(QStringLiteral("3 days ago")));
    CHECK(dialog.explanation().contains(QStringLiteral("cannot send them again")));
    CHECK(dialog.passphrase_field().isVisibleTo(&dialog));

    dialog.list().setCurrentRow(1);
    dialog.passphrase_field().setText(QStringLiteral("not it"));
    dialog.restore();
    CHECK(dialog.busy()); // Argon2id and the copy run on their own thread
    REQUIRE(test::wait_until([&] { return !dialog.busy(); }, 20'000));
    CHECK(dialog.error_text().startsWith(QStringLiteral("This snapshot does not open")));
    CHECK(dialog.result() != QDialog::Accepted);
    CHECK(read_bytes(dir.profile() / "account.db") == before);
    CHECK(files_starting(dir.profile(), "account.db.damaged-").empty());

    dialog.passphrase_field().setText(QString::fromStdString(pass));
    dialog.restore();
    REQUIRE(test::wait_until([&] { return !dialog.busy(); }, 20'000));
    INFO(dialog.error_text().toStdString());
    CHECK(dialog.result() == QDialog::Accepted);
    CHECK(dialog.restored_from() == dialog.snapshots()[1]);
    CHECK(dialog.passphrase_field().text().isEmpty());
    CHECK(has_message(dir.profile(), pass, "bob", "older"));
    CHECK_FALSE(has_message(dir.profile(), pass, "bob", "newer"));
    auto aside = files_starting(dir.profile(), "account.db.damaged-");
    REQUIRE(aside.size() == 1);
    CHECK(read_bytes(aside.front()) == before);
}

TEST_CASE("a profile without snapshots offers no restore and says why") {
    test::app();
    test::TempDir dir;
    REQUIRE(
        store::AccountStore::create(dir.profile(), SecretBytes::from_string("p"), kFastKdf).ok());
    RestoreDialog dialog(dir.profile(), RestoreDialog::Reason::chosen, QString());
    CHECK(dialog.list().count() == 0);
    REQUIRE(restore_button(dialog) != nullptr);
    CHECK_FALSE(restore_button(dialog)->isEnabled());
    CHECK(dialog.error_text().contains(QStringLiteral("no snapshot yet")));
}

TEST_CASE("a damaged profile opened from the keyring asks for the passphrase in the restore "
          "dialog and opens once restored") {
    test::app();
    test::TempDir dir;
    Bytes key;
    {
        SessionBridge maker;
        REQUIRE(maker
                    .create_profile(dir.profile(), SecretBytes::from_string("right"), "alice",
                                    "ws://127.0.0.1:1")
                    .ok());
        // Enough pages that one in the middle of the file holds messages.
        for (std::uint8_t i = 1; i <= 8; ++i)
            REQUIRE(maker
                        .run_blocking_for_tests([i](qt::ClientSession& s) {
                            return s.store().insert_message(test::incoming(
                                "bob", i, std::string(3000, static_cast<char>('a' + i))));
                        })
                        .ok());
        SecretBytes db_key = maker.store().database_key();
        key.assign(db_key.view().begin(), db_key.view().end());
        maker.close();
        // This open writes the first snapshot, with the messages in it.
        REQUIRE(maker.open_profile(dir.profile(), SecretBytes::from_string("right"), "").ok());
        maker.close();
    }
    zero_a_page(dir.profile() / "account.db");

    test::FakeKeyring keyring;
    const QString entry = keyring_entry(dir.profile());
    keyring.entries[entry] = key;
    set_remembered(entry, true);
    SessionBridge bridge;
    const QString profile = QString::fromStdString(dir.profile().string());
    StartDialog start(bridge, profile, QString());
    start.set_keyring(&keyring);
    CHECK(start.open_remembered());
    REQUIRE(test::wait_until([&] { return start.restore_dialog() != nullptr; }, 20'000));
    RestoreDialog& restore = *start.restore_dialog();
    // The keyring holds a key, not the passphrase, which the snapshot needs: it is asked for.
    CHECK(restore.passphrase_field().isVisibleTo(&restore));
    restore.passphrase_field().setText(QStringLiteral("right"));
    restore.restore();
    REQUIRE(test::wait_until([&] { return start.result() == QDialog::Accepted; }, 30'000));
    REQUIRE(bridge.is_open());
    auto rows = bridge.store().messages("bob", 50);
    REQUIRE(rows.ok());
    CHECK(rows.value().size() == 8);
    CHECK(files_starting(dir.profile(), "account.db.damaged-").size() == 1);
    bridge.close();
    set_remembered(entry, false);
}

#ifdef VEIL_RELAY_BIN

TEST_CASE("a profile whose database was damaged on disk is restored from its snapshot at open "
          "and opens with the conversation from before, the damaged file kept") {
    test::app();
    test::TempDir dir;
    test::LiveRelay relay(dir.root());
    SessionBridge alice, bob;
    test::register_account(alice, dir.root(), "alice", relay.url);
    test::register_account(bob, dir.root(), "bob", relay.url);
    const auto alice_dir = dir.root() / "alice";

    REQUIRE(alice
                .run_blocking_for_tests([](qt::ClientSession& s) {
                    engine::Outgoing out;
                    out.text = "from before the snapshot";
                    return s.engine().send("bob", out);
                })
                .ok());
    REQUIRE(test::wait_until([&] { return bob.store().unread("alice").value() == 1; }, 20'000));
    alice.close();
    // The next open writes the profile's first snapshot, with the conversation in it.
    REQUIRE(alice.open_profile(alice_dir, SecretBytes::from_string("alice pass"), "").ok());
    REQUIRE(files_starting(alice_dir / "snapshots", "account-").size() == 1);
    // More pages, so that one in the middle of the file holds data.
    for (int i = 0; i < 6; ++i)
        REQUIRE(alice
                    .run_blocking_for_tests([i](qt::ClientSession& s) {
                        engine::Outgoing out;
                        out.text = std::string(3000, static_cast<char>('a' + i));
                        return s.engine().send("bob", out);
                    })
                    .ok());
    alice.close();
    zero_a_page(alice_dir / "account.db");
    const std::string damaged = read_bytes(alice_dir / "account.db");

    SessionBridge bridge;
    const QString profile = QString::fromStdString(alice_dir.string());
    StartDialog start(bridge, profile, QString());
    start.fill_open(profile, QStringLiteral("alice pass"));
    start.submit();
    REQUIRE(test::wait_until([&] { return start.restore_dialog() != nullptr; }, 20'000));
    CHECK_FALSE(bridge.is_open());
    CHECK(start.error_text().startsWith(QStringLiteral("The profile's files are damaged")));
    RestoreDialog& restore = *start.restore_dialog();
    CHECK(restore.explanation().startsWith(QStringLiteral("Veil could not open this profile: "
                                                          "The profile's files are damaged")));
    CHECK(restore.list().count() == 1);
    // The passphrase typed to open is used: it is not asked for again.
    CHECK_FALSE(restore.passphrase_field().isVisibleTo(&restore));
    // Nothing changed on disk while the offer stands.
    CHECK(read_bytes(alice_dir / "account.db") == damaged);

    restore.restore();
    REQUIRE(test::wait_until([&] { return start.result() == QDialog::Accepted; }, 30'000));
    INFO(start.error_text().toStdString());
    REQUIRE(bridge.is_open());
    auto rows = bridge.store().messages("bob", 50);
    REQUIRE(rows.ok());
    auto has = [&](const std::string& text) {
        return std::any_of(rows.value().begin(), rows.value().end(),
                           [&](const store::MessageRow& row) { return row.text == text; });
    };
    CHECK(has("from before the snapshot"));
    CHECK_FALSE(has(std::string(3000, 'a'))); // written after the snapshot: not in it
    auto aside = files_starting(alice_dir, "account.db.damaged-");
    REQUIRE(aside.size() == 1);
    CHECK(read_bytes(aside.front()) == damaged);

    bridge.close();
    bob.close();
}

TEST_CASE("Settings restores the open profile from a snapshot and the window shows the "
          "conversation as it was then") {
    test::app();
    test::TempDir dir;
    test::LiveRelay relay(dir.root());
    SessionBridge alice, bob;
    test::register_account(alice, dir.root(), "alice", relay.url);
    test::register_account(bob, dir.root(), "bob", relay.url);
    const auto alice_dir = dir.root() / "alice";
    auto send = [&](const std::string& text) {
        REQUIRE(alice
                    .run_blocking_for_tests([&](qt::ClientSession& s) {
                        engine::Outgoing out;
                        out.text = text;
                        return s.engine().send("bob", out);
                    })
                    .ok());
    };
    send("kept by the snapshot");
    alice.close();
    REQUIRE(alice.open_profile(alice_dir, SecretBytes::from_string("alice pass"), "").ok());
    send("after the snapshot");

    MainWindow window(alice);
    window.open_conversation("bob");
    alice.wait_idle();
    REQUIRE(window.message_model().rowCount() == 2);
    SettingsDialog* settings = window.settings();
    REQUIRE(settings != nullptr);
    CHECK(settings->storage_text().startsWith(QStringLiteral("1 snapshot, from ")));
    REQUIRE(settings->restore_button().isEnabled());
    settings->restore_button().click();
    RestoreDialog* restore = window.findChild<RestoreDialog*>();
    REQUIRE(restore != nullptr);
    CHECK(restore->explanation().contains(QStringLiteral("are lost here")));
    // Nothing is closed until the person confirms with Restore.
    CHECK(alice.is_open());
    restore->passphrase_field().setText(QStringLiteral("alice pass"));
    restore->restore();
    REQUIRE(test::wait_until([&] { return window.reopened() && alice.is_open(); }, 30'000));
    alice.wait_idle();
    INFO(window.error_text().toStdString());
    REQUIRE(window.message_model().rowCount() == 1);
    CHECK(window.message_model().message_at(0).text == "kept by the snapshot");
    CHECK(files_starting(alice_dir, "account.db.damaged-").size() == 1);
    // The engine runs again on the restored profile.
    CHECK(test::wait_until([&] { return alice.state() == engine::State::ready; }, 20'000));

    alice.close();
    bob.close();
}

constexpr int kDamageMessages = 1500;

TEST_CASE("damage found while the profile is open stops it and the window offers its snapshot, "
          "which brings the conversation back") {
    test::app();
    test::TempDir dir;
    test::LiveRelay relay(dir.root());
    SessionBridge alice, bob;
    test::register_account(alice, dir.root(), "alice", relay.url);
    test::register_account(bob, dir.root(), "bob", relay.url);
    const auto alice_dir = dir.root() / "alice";
    // The open checks every page, so the connection's page cache (2 MiB) holds what it read:
    // enough messages that reading them all must go back to the file for most pages.
    REQUIRE(alice
                .run_blocking_for_tests([&](qt::ClientSession& s) -> Status {
                    for (int i = 0; i < kDamageMessages; ++i) {
                        engine::Outgoing out;
                        out.text = "kept " + std::to_string(i) + " " + std::string(2000, 'x');
                        if (auto sent = s.engine().send("bob", out); !sent)
                            return sent.error();
                    }
                    return {};
                })
                .ok());
    alice.close(); // checkpointed: every page is in account.db
    // This open makes the day's snapshot, reading every page into the connection's cache; the
    // next one (the same day) makes none, so pages are read from the file again.
    REQUIRE(alice.open_profile(alice_dir, SecretBytes::from_string("alice pass"), "").ok());
    REQUIRE(!store::AccountStore::snapshots(alice_dir).empty());
    alice.close();
    REQUIRE(alice.open_profile(alice_dir, SecretBytes::from_string("alice pass"), "").ok());
    REQUIRE(alice.start().ok());
    REQUIRE(test::wait_until([&] { return alice.state() == engine::State::ready; }, 20'000));

    MainWindow window(alice);
    // The pages are in the file and, written since the last checkpoint, in the write-ahead log.
    REQUIRE(veil::test::damage_pages_in_place(alice_dir / "account.db", 8));
    REQUIRE(veil::test::damage_wal_frames_in_place(alice_dir / "account.db-wal"));
    // The worker's connection reads the conversation and finds the damage; a message from bob
    // then makes the engine stop on it.
    CHECK_FALSE(alice.run_blocking_for_tests(
        [](qt::ClientSession& s) { return s.store().messages("bob", 2000).ok(); }));
    REQUIRE(bob.run_blocking_for_tests([](qt::ClientSession& s) {
                   engine::Outgoing out;
                   out.text = "after the damage";
                   return s.engine().send("alice", out);
               })
                .ok());
    REQUIRE(
        test::wait_until([&] { return window.findChild<RestoreDialog*>() != nullptr; }, 30'000));
    CHECK(alice.state() == engine::State::damaged);
    RestoreDialog* restore = window.findChild<RestoreDialog*>();
    CHECK(restore->explanation().contains(QStringLiteral("while using it")));
    restore->passphrase_field().setText(QStringLiteral("alice pass"));
    restore->restore();
    REQUIRE(test::wait_until([&] { return window.reopened() && alice.is_open(); }, 30'000));
    INFO(window.error_text().toStdString());
    window.open_conversation("bob");
    alice.wait_idle();
    // The snapshot's messages, and bob's, which the relay kept unacked and sends again.
    auto stored = [&] {
        auto rows = alice.store().messages("bob", 5000);
        return rows ? rows->size() : 0;
    };
    REQUIRE(test::wait_until([&] { return stored() == kDamageMessages + 1; }, 30'000));
    window.open_conversation("bob");
    alice.wait_idle();
    const int rows = window.message_model().rowCount();
    REQUIRE(rows > 0);
    CHECK(window.message_model().message_at(rows - 1).text == "after the damage");
    CHECK(files_starting(alice_dir, "account.db.damaged-").size() == 1);
    alice.close();
    bob.close();
}
#endif

} // namespace
} // namespace veil::desktop
