#include "main_window.h"

#include "desktop_fixture.h"
#include "group_panel.h"
#include "new_group_dialog.h"
#include "session_bridge.h"

#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>

#include <fstream>

namespace veil::desktop {
namespace {

// A profile with keys but never started: the window reads the store, and the test plays the
// engine by storing rows and calling the bridge's observer methods.
struct WindowFixture {
    WindowFixture() {
        test::app();
        REQUIRE(bridge
                    .create_profile(dir.profile(), SecretBytes::from_string("pw"), "alice",
                                    "ws://127.0.0.1:1")
                    .ok());
    }

    void receive(const store::MessageRow& row) {
        auto id = bridge.store().insert_message(row);
        REQUIRE(id.ok());
        store::MessageRow stored = row;
        stored.id = id.value();
        static_cast<engine::EngineObserver&>(bridge).on_message(stored);
    }

    // Stores a group as the engine would after accepting its change, and says so.
    void save_group(const store::GroupRow& group,
                    const std::vector<store::GroupMemberRow>& members) {
        REQUIRE(bridge.store().save_group(group, members).ok());
        REQUIRE(bridge.store().set_group_info(group.group_id, group.name, "", {}).ok());
        if (group.has_left)
            REQUIRE(bridge.store().set_group_left(group.group_id, true).ok());
        observer().on_group_changed(group.group_id);
    }

    engine::EngineObserver& observer() { return bridge; }

    test::TempDir dir;
    SessionBridge bridge;
};

const std::vector<store::GroupMemberRow> kHikers = {
    {"alice", true}, {"bob", false}, {"carol", false}};

TEST_CASE_METHOD(WindowFixture, "received markup reaches the window literally") {
    REQUIRE(bridge.engine().add_contact("bob").ok());
    MainWindow window(bridge);
    CHECK(window.message_model().peer() == "bob");
    receive(test::incoming("bob", 1, "<b>x</b> <img src=\"http://127.0.0.1/a.png\">"));
    auto& messages = window.message_model();
    REQUIRE(messages.rowCount() == 1);
    CHECK(messages.data(messages.index(0), Qt::DisplayRole)
              .toString()
              .endsWith(QStringLiteral("\n<b>x</b> <img src=\"http://127.0.0.1/a.png\">")));
    for (const QLabel* label : window.findChildren<QLabel*>())
        CHECK(label->textFormat() == Qt::PlainText);
}

TEST_CASE_METHOD(WindowFixture, "unread counts grow for other conversations and clear on open") {
    REQUIRE(bridge.engine().add_contact("bob").ok());
    MainWindow window(bridge);
    receive(test::incoming("carol", 1, "one"));
    receive(test::incoming("carol", 2, "two"));
    auto& list = window.conversation_model();
    int carol = list.row_of("carol");
    REQUIRE(carol >= 0);
    CHECK(list.data(list.index(carol), ConversationListModel::UnreadRole).toInt() == 2);
    CHECK(window.windowTitle().startsWith(QStringLiteral("(2)")));

    window.open_conversation("carol");
    carol = list.row_of("carol");
    CHECK(list.data(list.index(carol), ConversationListModel::UnreadRole).toInt() == 0);
    CHECK(window.message_model().rowCount() == 2);

    // A message into the open conversation is read at once.
    receive(test::incoming("carol", 3, "three"));
    carol = list.row_of("carol");
    CHECK(list.data(list.index(carol), ConversationListModel::UnreadRole).toInt() == 0);
    CHECK(window.message_model().rowCount() == 3);
}

TEST_CASE_METHOD(WindowFixture, "a sent message appears queued and its tick follows the engine") {
    // The app starts the engine before the window opens; nothing listens on port 1, so it only
    // retries in the background.
    REQUIRE(bridge.start().ok());
    MainWindow window(bridge);
    window.open_conversation("bob");
    window.send_text(QStringLiteral("hello bob"));
    INFO(window.error_text().toStdString());
    auto& messages = window.message_model();
    REQUIRE(messages.rowCount() == 1);
    auto tick = [&] { return messages.data(messages.index(0), MessageListModel::TickRole); };
    CHECK(tick().toString() == QStringLiteral("…"));
    auto rows = bridge.store().messages("bob", 10);
    REQUIRE(rows.ok());
    REQUIRE(rows->size() == 1);
    static_cast<engine::EngineObserver&>(bridge).on_status(rows->front().message_id,
                                                           store::MessageStatus::delivered);
    CHECK(tick().toString() == QStringLiteral("✓✓"));
}

TEST_CASE_METHOD(WindowFixture, "pressing Enter in the input line sends the message") {
    REQUIRE(bridge.start().ok());
    MainWindow window(bridge);
    window.open_conversation("bob");
    auto* input = window.findChild<QLineEdit*>();
    REQUIRE(input != nullptr);
    input->setText(QStringLiteral("typed <i>text</i>"));
    QKeyEvent press(QEvent::KeyPress, Qt::Key_Return, Qt::NoModifier);
    QApplication::sendEvent(input, &press);
    REQUIRE(window.message_model().rowCount() == 1);
    CHECK(window.message_model()
              .data(window.message_model().index(0), MessageListModel::TextRole)
              .toString() == QStringLiteral("typed <i>text</i>"));
    CHECK(input->text().isEmpty());
}

TEST_CASE_METHOD(WindowFixture, "the desktop process never loads plain SQLite") {
    // libsqlite3 and libsqlcipher export the same symbols; with both loaded the profile could be
    // written unencrypted (TOOLCHAIN.md). A window over an open profile must load SQLCipher only.
    MainWindow window(bridge);
    window.show();
    std::ifstream maps("/proc/self/maps");
    std::string line;
    bool sqlcipher = false;
    bool sqlite = false;
    while (std::getline(maps, line)) {
        sqlcipher = sqlcipher || line.find("libsqlcipher.so") != std::string::npos;
        sqlite = sqlite || line.find("libsqlite3.so") != std::string::npos;
    }
    CHECK(sqlcipher);
    CHECK_FALSE(sqlite);
}

TEST_CASE_METHOD(WindowFixture, "the status bar shows the connection state and the last error") {
    MainWindow window(bridge);
    engine::EngineObserver& observer = bridge;
    observer.on_state(engine::State::connecting);
    CHECK(window.state_text().startsWith(QStringLiteral("Connecting to ws://127.0.0.1:1")));
    observer.on_error(make_error(Errc::refused, "<b>no</b>"));
    CHECK(window.error_text() == QStringLiteral("<b>no</b>"));
}

TEST_CASE_METHOD(WindowFixture, "a group is listed by name and opens with its members") {
    save_group(test::group_row(1, "hikers"), kHikers);
    MainWindow window(bridge);
    std::string peer = store::group_conversation(test::group_id(1));
    auto& list = window.conversation_model();
    REQUIRE(list.row_of(peer) >= 0);
    CHECK(list.data(list.index(list.row_of(peer)), Qt::DisplayRole)
              .toString()
              .startsWith(QStringLiteral("# hikers\n")));

    window.open_conversation(peer);
    CHECK(window.open_peer() == peer);
    auto contacts = bridge.store().contacts();
    REQUIRE(contacts.ok());
    CHECK(contacts->empty()); // a group is not added as a contact
    CHECK(window.group_panel().member_lines() == QStringList{QStringLiteral("alice (you)  · admin"),
                                                             QStringLiteral("bob"),
                                                             QStringLiteral("carol")});
    CHECK(window.group_panel().can_add());
    CHECK(window.input_enabled());
    CHECK(window.read_only_text().isEmpty());
}

TEST_CASE_METHOD(WindowFixture, "group messages name their senders and system lines stand apart") {
    save_group(test::group_row(1, "hikers"), kHikers);
    MainWindow window(bridge);
    window.open_conversation(store::group_conversation(test::group_id(1)));
    receive(test::system_line(1, 1, "alice created the group with bob, carol"));
    receive(test::group_message(1, 2, "bob", "hi all"));
    auto& messages = window.message_model();
    REQUIRE(messages.rowCount() == 2);
    CHECK(messages.data(messages.index(0), MessageListModel::SystemRole).toBool());
    CHECK(messages.data(messages.index(1), MessageListModel::SenderRole).toString() ==
          QStringLiteral("bob"));
}

TEST_CASE_METHOD(WindowFixture, "a left group is read-only and says why") {
    save_group(test::group_row(1, "hikers"), kHikers);
    MainWindow window(bridge);
    window.open_conversation(store::group_conversation(test::group_id(1)));
    auto* input = window.findChild<QLineEdit*>();
    REQUIRE(input != nullptr);
    input->setText(QStringLiteral("a draft"));
    CHECK(window.input_enabled());

    // The relay accepted our leave: the engine marks the group left and says it changed.
    REQUIRE(bridge.store().set_group_left(test::group_id(1), true).ok());
    observer().on_group_changed(test::group_id(1));
    CHECK_FALSE(window.input_enabled());
    CHECK(window.read_only_text().contains(QStringLiteral("no longer a member")));
    CHECK_FALSE(window.group_panel().can_add());
    CHECK_FALSE(window.group_panel().can_leave());
    CHECK(input->text() == QStringLiteral("a draft")); // kept, not sent
    window.send_text(QStringLiteral("ignored"));
    CHECK(window.message_model().rowCount() == 0);
    auto& list = window.conversation_model();
    int row = list.row_of(store::group_conversation(test::group_id(1)));
    CHECK(list.data(list.index(row), ConversationListModel::HasLeftRole).toBool());
}

TEST_CASE_METHOD(WindowFixture, "a message typed into a group is queued as a group message") {
    REQUIRE(bridge.start().ok()); // nothing listens on port 1: it stays offline
    save_group(test::group_row(1, "hikers"), kHikers);
    MainWindow window(bridge);
    std::string peer = store::group_conversation(test::group_id(1));
    window.open_conversation(peer);
    window.send_text(QStringLiteral("to the group"));
    INFO(window.error_text().toStdString());
    auto& messages = window.message_model();
    REQUIRE(messages.rowCount() == 1);
    CHECK(messages.data(messages.index(0), MessageListModel::TextRole).toString() ==
          QStringLiteral("to the group"));
    CHECK(messages.data(messages.index(0), MessageListModel::TickRole).toString() ==
          QStringLiteral("…"));
    auto outbox = bridge.store().group_outbox();
    REQUIRE(outbox.ok());
    REQUIRE(outbox->size() == 1);
    CHECK(outbox->front().group_id == test::group_id(1));
    auto direct = bridge.store().outbox();
    REQUIRE(direct.ok());
    CHECK(direct->empty());
}

TEST_CASE_METHOD(WindowFixture, "creating a group offline keeps the dialog open with a sentence") {
    REQUIRE(bridge.start().ok());
    MainWindow window(bridge);
    NewGroupDialog* dialog = window.new_group();
    REQUIRE(dialog != nullptr);
    dialog->fill(QStringLiteral("hikers"), QStringLiteral("bob, carol"));
    dialog->submit();
    CHECK(dialog->error_text().contains(QStringLiteral("connection to the relay")));
    CHECK_FALSE(dialog->waiting());
    CHECK(dialog->name_text() == QStringLiteral("hikers"));
    CHECK(dialog->members_text() == QStringLiteral("bob, carol"));
    CHECK(dialog->isVisible());
    CHECK(window.new_group() == dialog); // one at a time
    auto groups = bridge.store().groups();
    REQUIRE(groups.ok());
    CHECK(groups->empty());
}

TEST_CASE_METHOD(WindowFixture, "adding bad names to a group shows why and keeps the text") {
    save_group(test::group_row(1, "hikers"), kHikers);
    MainWindow window(bridge);
    window.open_conversation(store::group_conversation(test::group_id(1)));
    auto& panel = window.group_panel();
    panel.set_add_text(QStringLiteral("dave, E!"));
    window.add_members(panel.add_text());
    CHECK(panel.message_text().contains(QStringLiteral("“E!” is not a valid username.")));
    CHECK(panel.add_text() == QStringLiteral("dave, E!"));

    // A valid list while offline: the engine's sentence, and the text stays.
    panel.set_add_text(QStringLiteral("dave"));
    window.add_members(panel.add_text());
    CHECK(panel.message_text().contains(QStringLiteral("connection to the relay")));
    CHECK(panel.add_text() == QStringLiteral("dave"));
}

TEST_CASE_METHOD(WindowFixture, "only admins are offered to add and remove members") {
    save_group(test::group_row(1, "hikers"), {{"alice", false}, {"bob", true}});
    MainWindow window(bridge);
    window.open_conversation(store::group_conversation(test::group_id(1)));
    CHECK(window.group_panel().member_lines() ==
          QStringList{QStringLiteral("alice (you)"), QStringLiteral("bob  · admin")});
    CHECK_FALSE(window.group_panel().can_add());
    CHECK(window.group_panel().can_leave());
}

TEST_CASE_METHOD(WindowFixture, "group warnings and unreachable members are shown in a banner") {
    save_group(test::group_row(1, "hikers"), kHikers);
    MainWindow window(bridge);
    CHECK(window.banner_text().isEmpty());
    observer().on_group_warning(test::group_id(1),
                                "a change signed by mallory was refused: not an admin");
    CHECK(window.banner_text() ==
          QStringLiteral("# hikers: a change signed by mallory was refused: not an admin"));

    store::MessageRow sent = test::outgoing(store::group_conversation(test::group_id(1)), 9, "x");
    REQUIRE(bridge.store().insert_message(sent).ok());
    observer().on_group_unreachable(sent.message_id, {"carol", "dave"});
    CHECK(window.banner_text().contains(
        QStringLiteral("The relay could not reach carol, dave in # hikers")));
}

} // namespace
} // namespace veil::desktop
