// Two desktop windows, alice's and bob's, each with its real engine and QtWebSockets transport,
// talking through a real veil-relay process on loopback: what one does in its window (reply,
// react, edit, delete, type, set a timer, read) shows in the other's.
#ifdef VEIL_RELAY_BIN
#include "main_window.h"

#include "desktop_fixture.h"
#include "live_relay.h"
#include "session_bridge.h"

#include <QKeyEvent>
#include <QLineEdit>

namespace veil::desktop {
namespace {

constexpr int kWaitMs = 20'000;

void register_account(SessionBridge& bridge, const std::filesystem::path& dir,
                      const std::string& name, const std::string& url) {
    REQUIRE(bridge.create_profile(dir / name, SecretBytes::from_string(name + " pass"), name, url)
                .ok());
    REQUIRE(bridge.start().ok());
    REQUIRE(test::wait_until([&] { return bridge.state() == engine::State::ready; }, kWaitMs));
}

QString shown(MainWindow& window, int row, int role) {
    auto& model = window.message_model();
    return row < model.rowCount() ? model.data(model.index(row), role).toString() : QString();
}

QLineEdit* composer(MainWindow& window) {
    for (auto* line : window.findChildren<QLineEdit*>())
        if (line->placeholderText() == QStringLiteral("Write a message"))
            return line;
    return nullptr;
}

TEST_CASE("what one window does to a conversation shows in the other through a live relay") {
    test::app();
    test::TempDir dir;
    test::LiveRelay relay(dir.root());
    SessionBridge alice_bridge, bob_bridge;
    register_account(alice_bridge, dir.root(), "alice", relay.url);
    register_account(bob_bridge, dir.root(), "bob", relay.url);
    MainWindow alice(alice_bridge);
    MainWindow bob(bob_bridge);

    alice.open_conversation("bob");
    alice.send_text(QStringLiteral("lunch at noon?"));
    REQUIRE(alice.message_model().rowCount() == 1);
    REQUIRE(
        test::wait_until([&] { return bob_bridge.store().unread("alice").value() == 1; }, kWaitMs));

    // bob opens it, which reads it: alice sees "read".
    bob.open_conversation("alice");
    REQUIRE(bob.message_model().rowCount() == 1);
    CHECK(test::wait_until(
        [&] { return shown(alice, 0, MessageListModel::TickRole) == QStringLiteral("✓✓ read"); },
        kWaitMs));

    // bob types: alice sees it under the header.
    QLineEdit* input = composer(bob);
    REQUIRE(input != nullptr);
    QKeyEvent key(QEvent::KeyPress, Qt::Key_Y, Qt::NoModifier, QStringLiteral("y"));
    QApplication::sendEvent(input, &key);
    CHECK(test::wait_until([&] { return alice.typing_text() == QStringLiteral("bob is typing…"); },
                           kWaitMs));

    // bob reacts and replies; the reply ends his typing indicator.
    CHECK(bob.react(0, QStringLiteral("👍")).isEmpty());
    bob.reply_to(0);
    bob.send_text(QStringLiteral("yes"));
    CHECK(test::wait_until(
        [&] { return shown(alice, 0, MessageListModel::ReactionsRole) == QStringLiteral("👍 1"); },
        kWaitMs));
    CHECK(test::wait_until([&] { return alice.message_model().rowCount() == 2; }, kWaitMs));
    CHECK(shown(alice, 1, MessageListModel::QuoteRole) == QStringLiteral("alice: lunch at noon?"));
    CHECK(alice.typing_text().isEmpty());

    // alice edits her message, then deletes it for everyone.
    alice.start_edit(0);
    alice.send_text(QStringLiteral("lunch at one?"));
    CHECK(test::wait_until(
        [&] {
            return shown(bob, 0, MessageListModel::TextRole) == QStringLiteral("lunch at one?") &&
                   bob.message_model()
                       .data(bob.message_model().index(0), MessageListModel::EditedRole)
                       .toBool();
        },
        kWaitMs));
    CHECK(alice.delete_for_everyone(0).isEmpty());
    CHECK(test::wait_until(
        [&] {
            return bob.message_model()
                .data(bob.message_model().index(0), MessageListModel::DeletedRole)
                .toBool();
        },
        kWaitMs));

    // alice sets a timer: bob's header shows it.
    CHECK(alice.set_disappearing(3600).isEmpty());
    CHECK(alice.timer_text() == QStringLiteral("⏳ 1 hour"));
    CHECK(
        test::wait_until([&] { return bob.timer_text() == QStringLiteral("⏳ 1 hour"); }, kWaitMs));

    bob_bridge.close();
    alice_bridge.close();
}

} // namespace
} // namespace veil::desktop
#endif // VEIL_RELAY_BIN
