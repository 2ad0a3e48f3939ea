#include "start_dialog.h"

#include "desktop_fixture.h"
#include "session_bridge.h"

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

} // namespace
} // namespace veil::desktop
