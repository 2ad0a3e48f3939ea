#include "start_dialog.h"

#include "desktop_fixture.h"
#include "device_name.h"
#include "link_code_dialog.h"
#include "session_bridge.h"

#include <QHostAddress>
#include <QTcpServer>

namespace veil::desktop {
namespace {

QString profile_text(const test::TempDir& dir) {
    return QString::fromStdString(dir.profile().string());
}

TEST_CASE("creating against an unreachable relay shows it in the dialog and keeps nothing") {
    test::app();
    test::TempDir dir;
    SessionBridge bridge;
    StartDialog dialog(bridge, profile_text(dir), QString());
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    dialog.fill_create(profile_text(dir), QStringLiteral("ws://127.0.0.1:1"),
                       QStringLiteral("alice"), QStringLiteral("pw"));
    dialog.submit();
    REQUIRE(test::wait_until([&] { return !dialog.error_text().isEmpty(); }, 30000));
    CHECK(dialog.error_text().contains(QStringLiteral("Cannot reach the relay")));
    REQUIRE(test::wait_until([&] { return !bridge.is_open() && !dialog.busy(); }, 5000));
    CHECK_FALSE(std::filesystem::exists(dir.profile()));
    CHECK(dialog.result() != QDialog::Accepted);
}

TEST_CASE("the create form refuses passphrases that differ and bad relay addresses") {
    test::app();
    test::TempDir dir;
    SessionBridge bridge;
    StartDialog dialog(bridge, profile_text(dir), QString());
    dialog.fill_create(profile_text(dir), QStringLiteral("http://127.0.0.1:9"),
                       QStringLiteral("alice"), QStringLiteral("pw"));
    dialog.submit();
    CHECK(dialog.error_text().contains(QStringLiteral("ws://HOST:PORT")));
    CHECK_FALSE(bridge.is_open());
}

TEST_CASE("opening with a wrong passphrase shows it in the dialog") {
    test::app();
    test::TempDir dir;
    {
        SessionBridge maker;
        REQUIRE(maker
                    .create_profile(dir.profile(), SecretBytes::from_string("right"), "alice",
                                    "ws://127.0.0.1:1")
                    .ok());
    }
    SessionBridge bridge;
    StartDialog dialog(bridge, profile_text(dir), QString());
    dialog.fill_open(profile_text(dir), QStringLiteral("wrong"));
    dialog.submit();
    // The key derivation runs on the session's thread; the dialog is busy until it answers.
    CHECK(dialog.busy());
    REQUIRE(test::wait_until([&] { return !dialog.busy(); }, 10'000));
    CHECK(dialog.error_text() == QStringLiteral("The passphrase does not open this profile."));
    CHECK_FALSE(bridge.is_open());
}

TEST_CASE("opening a folder without a profile says so") {
    test::app();
    test::TempDir dir;
    SessionBridge bridge;
    StartDialog dialog(bridge, profile_text(dir), QString());
    dialog.fill_open(profile_text(dir), QStringLiteral("pw"));
    dialog.submit();
    CHECK(dialog.error_text().startsWith(QStringLiteral("There is no profile in")));
}

TEST_CASE("the create and link forms name this device after the computer by default") {
    test::app();
    test::TempDir dir;
    SessionBridge bridge;
    StartDialog dialog(bridge, profile_text(dir), QString());
    dialog.fill_create(profile_text(dir), QStringLiteral("ws://127.0.0.1:1"),
                       QStringLiteral("alice"), QStringLiteral("pw"));
    CHECK(dialog.device_name_text() == default_device_name());
    dialog.fill_link(profile_text(dir), QStringLiteral("ws://127.0.0.1:1"), QStringLiteral("pw"));
    CHECK(dialog.device_name_text() == default_device_name());
    CHECK(dialog.device_name_text().startsWith(QStringLiteral("Veil desktop on ")));
}

TEST_CASE("a created account's device gets the name from the form") {
    test::app();
    test::TempDir dir;
    SessionBridge bridge;
    REQUIRE(bridge
                .create_profile(dir.profile(), SecretBytes::from_string("pw"), "alice",
                                "ws://127.0.0.1:1", "kitchen laptop")
                .ok());
    auto name = bridge.store().setting("device_name");
    REQUIRE(name.ok());
    CHECK(name.value() == "kitchen laptop");
}

TEST_CASE("the link form refuses a long device name, differing passphrases and a used folder") {
    test::app();
    test::TempDir dir;
    SessionBridge bridge;
    StartDialog dialog(bridge, profile_text(dir), QString());
    dialog.fill_link(profile_text(dir), QStringLiteral("ws://127.0.0.1:1"), QStringLiteral("pw"),
                     QString(70, QChar(u'x')));
    dialog.submit();
    CHECK(dialog.error_text().contains(QStringLiteral("too long")));
    CHECK_FALSE(bridge.is_open());
    CHECK_FALSE(std::filesystem::exists(dir.profile()));

    dialog.fill_link(profile_text(dir), QStringLiteral("relay.example"), QStringLiteral("pw"));
    dialog.submit();
    CHECK(dialog.error_text().contains(QStringLiteral("ws://HOST:PORT")));

    {
        SessionBridge maker;
        REQUIRE(maker
                    .create_profile(dir.profile(), SecretBytes::from_string("pw"), "alice",
                                    "ws://127.0.0.1:1")
                    .ok());
    }
    dialog.fill_link(profile_text(dir), QStringLiteral("ws://127.0.0.1:1"), QStringLiteral("pw"));
    dialog.submit();
    CHECK(dialog.error_text().contains(QStringLiteral("There is a profile in")));
    CHECK(store::AccountStore::exists(dir.profile())); // untouched
}

TEST_CASE("linking against an unreachable relay says so, keeps nothing and offers to start "
          "again") {
    test::app();
    test::TempDir dir;
    SessionBridge bridge;
    StartDialog dialog(bridge, profile_text(dir), QString());
    dialog.fill_link(profile_text(dir), QStringLiteral("ws://127.0.0.1:1"), QStringLiteral("pw"));
    dialog.submit();
    CHECK(dialog.busy());
    REQUIRE(test::wait_until([&] { return !dialog.error_text().isEmpty(); }, 30000));
    CHECK(dialog.busy()); // "Start again" is offered
    CHECK(dialog.error_text().contains(QStringLiteral("Nothing was kept")));
    REQUIRE(test::wait_until([&] { return !bridge.is_open(); }, 5000));
    CHECK_FALSE(std::filesystem::exists(dir.profile()));
    LinkCodeDialog* code = dialog.link_code_dialog();
    REQUIRE(code);
    CHECK(code->offers_start_again());
    CHECK(code->error_text() == dialog.error_text());
    CHECK(code->code_text().isEmpty());

    // Start again: a new profile is made with the passphrase typed before, and fails again.
    int errors = 0;
    QObject::connect(&dialog, &StartDialog::errorShown, [&] { ++errors; });
    code->startAgainRequested();
    REQUIRE(test::wait_until([&] { return errors == 1; }, 30000));
    REQUIRE(test::wait_until([&] { return !bridge.is_open(); }, 5000));
    CHECK_FALSE(std::filesystem::exists(dir.profile()));

    // Cancel ends it: the form can be used again.
    code->reject();
    CHECK_FALSE(dialog.busy());
    CHECK(dialog.result() != QDialog::Accepted);
}

TEST_CASE("cancelling while the link code is awaited keeps nothing") {
    test::app();
    test::TempDir dir;
    // A relay that takes the connection and never answers: the code never comes.
    QTcpServer silent;
    REQUIRE(silent.listen(QHostAddress::LocalHost));
    SessionBridge bridge;
    StartDialog dialog(bridge, profile_text(dir), QString());
    dialog.fill_link(profile_text(dir),
                     QStringLiteral("ws://127.0.0.1:%1").arg(silent.serverPort()),
                     QStringLiteral("pw"));
    dialog.submit();
    REQUIRE(test::wait_until([&] { return dialog.link_code_dialog() != nullptr; }, 10000));
    CHECK(bridge.is_open());
    CHECK(store::AccountStore::exists(dir.profile()));
    CHECK(dialog.link_code_dialog()->code_text().isEmpty());
    dialog.link_code_dialog()->reject();
    CHECK_FALSE(bridge.is_open());
    CHECK_FALSE(dialog.busy());
    CHECK_FALSE(std::filesystem::exists(dir.profile()));
    CHECK(dialog.error_text().isEmpty());
}

} // namespace
} // namespace veil::desktop
