#include "main_window.h"

#include "composer_edit.h"

#include "add_contact_dialog.h"
#include "desktop_fixture.h"
#include "devices_dialog.h"
#include "group_details_dialog.h"
#include "group_panel.h"
#include "new_group_dialog.h"
#include "notifier.h"
#include "session_bridge.h"
#include "shown_text.h"
#include "worker_latch.h"

#include "link_device_dialog.h"

#include <QAction>
#include <QApplication>
#include <QEvent>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QMenu>
#include <QMessageBox>
#include <QPointer>
#include <QPushButton>
#include <QTimer>

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
        auto id = bridge.run_blocking_for_tests(
            [&](qt::ClientSession& s_) { return s_.store().insert_message(row); });
        REQUIRE(id.ok());
        store::MessageRow stored = row;
        stored.id = id.value();
        static_cast<engine::EngineObserver&>(bridge).on_message(stored);
        bridge.wait_idle();
    }

    // Stores a group as the engine would after accepting its change, and says so.
    void save_group(const store::GroupRow& group,
                    const std::vector<store::GroupMemberRow>& members) {
        REQUIRE(bridge
                    .run_blocking_for_tests([&](qt::ClientSession& s_) {
                        return s_.store().save_group(group, members);
                    })
                    .ok());
        REQUIRE(bridge
                    .run_blocking_for_tests([&](qt::ClientSession& s_) {
                        return s_.store().set_group_info(group.group_id, group.name, "", {});
                    })
                    .ok());
        if (group.has_left)
            REQUIRE(bridge
                        .run_blocking_for_tests([&](qt::ClientSession& s_) {
                            return s_.store().set_group_left(group.group_id, true);
                        })
                        .ok());
        observer().on_group_changed(group.group_id);
        bridge.wait_idle();
    }

    // Stores a group with a description and picture, as if an admin had sent them.
    void save_group_details(const store::GroupRow& group,
                            const std::vector<store::GroupMemberRow>& members,
                            const std::string& description, const Bytes& picture) {
        REQUIRE(bridge
                    .run_blocking_for_tests([&](qt::ClientSession& s_) {
                        return s_.store().save_group(group, members);
                    })
                    .ok());
        REQUIRE(bridge
                    .run_blocking_for_tests([&](qt::ClientSession& s_) {
                        return s_.store().set_group_info(group.group_id, group.name, description,
                                                         picture);
                    })
                    .ok());
        observer().on_group_changed(group.group_id);
        bridge.wait_idle();
    }

    engine::EngineObserver& observer() { return bridge; }

    test::TempDir dir;
    SessionBridge bridge;
};

const std::vector<store::GroupMemberRow> kHikers = {
    {"alice", true}, {"bob", false}, {"carol", false}};

// Group n at revision 1 with a real (unsigned) change whose state lists members (sorted by
// name): the engine reads who is an admin from it, so set_group_info and set_group_avatar work
// on it without a relay.
store::GroupRow group_with_state(std::uint8_t n, const std::string& name,
                                 const std::vector<store::GroupMemberRow>& members) {
    store::GroupRow row = test::group_row(n, name);
    wire::GroupState state;
    state.set_group_id(std::string(row.group_id.begin(), row.group_id.end()));
    state.set_revision(1);
    for (const auto& m : members) {
        auto* member = state.add_members();
        member->set_username(m.username);
        member->set_admin(m.admin);
    }
    wire::GroupChange change;
    change.set_state(state.SerializeAsString());
    change.set_signer("alice");
    std::string bytes = change.SerializeAsString();
    row.change = Bytes(bytes.begin(), bytes.end());
    return row;
}

QPushButton* button(QWidget& parent, const QString& text) {
    for (auto* b : parent.findChildren<QPushButton*>())
        if (b->text() == text)
            return b;
    return nullptr;
}

TEST_CASE_METHOD(WindowFixture, "received markup reaches the window literally") {
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.engine().add_contact("bob"); })
                .ok());
    MainWindow window(bridge);
    bridge.wait_idle();
    CHECK(window.message_model().peer() == "bob");
    receive(test::incoming("bob", 1, "<b>x</b> <img src=\"http://127.0.0.1/a.png\">"));
    bridge.wait_idle();
    auto& messages = window.message_model();
    REQUIRE(messages.rowCount() == 1);
    CHECK(messages.data(messages.index(0), Qt::DisplayRole)
              .toString()
              .endsWith(QStringLiteral("\n<b>x</b> <img src=\"http://127.0.0.1/a.png\">")));
    for (const QLabel* label : window.findChildren<QLabel*>())
        CHECK(label->textFormat() == Qt::PlainText);
}

TEST_CASE_METHOD(WindowFixture, "unread counts grow for other conversations and clear on open") {
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.engine().add_contact("bob"); })
                .ok());
    MainWindow window(bridge);
    bridge.wait_idle();
    receive(test::incoming("carol", 1, "one"));
    bridge.wait_idle();
    receive(test::incoming("carol", 2, "two"));
    bridge.wait_idle();
    auto& list = window.conversation_model();
    int carol = list.row_of("carol");
    REQUIRE(carol >= 0);
    CHECK(list.data(list.index(carol), ConversationListModel::UnreadRole).toInt() == 2);
    CHECK(window.windowTitle().startsWith(QStringLiteral("(2)")));

    window.open_conversation("carol");
    bridge.wait_idle(); // marking read runs on the session's thread
    carol = list.row_of("carol");
    CHECK(list.data(list.index(carol), ConversationListModel::UnreadRole).toInt() == 0);
    CHECK(window.message_model().rowCount() == 2);

    // A message into the open conversation of a window in front is read at once.
    bool focused = true;
    window.set_focus_probe([&] { return focused; });
    receive(test::incoming("carol", 3, "three"));
    bridge.wait_idle();
    carol = list.row_of("carol");
    CHECK(list.data(list.index(carol), ConversationListModel::UnreadRole).toInt() == 0);
    CHECK(window.message_model().rowCount() == 3);

    // In a window in the background it stays unread (no read receipt) until the window comes
    // to the front.
    focused = false;
    receive(test::incoming("carol", 4, "four"));
    bridge.wait_idle();
    carol = list.row_of("carol");
    CHECK(list.data(list.index(carol), ConversationListModel::UnreadRole).toInt() == 1);
    CHECK(window.message_model().rowCount() == 4);
    QEvent deactivated(QEvent::ActivationChange);
    QApplication::sendEvent(&window, &deactivated);
    CHECK(bridge.store().unread("carol").value() == 1);
    focused = true;
    QEvent activated(QEvent::ActivationChange);
    QApplication::sendEvent(&window, &activated);
    bridge.wait_idle();
    CHECK(bridge.store().unread("carol").value() == 0);
    carol = list.row_of("carol");
    CHECK(list.data(list.index(carol), ConversationListModel::UnreadRole).toInt() == 0);
}

TEST_CASE_METHOD(WindowFixture, "a sent message appears queued and its tick follows the engine") {
    // The app starts the engine before the window opens; nothing listens on port 1, so it only
    // retries in the background.
    REQUIRE(bridge.start().ok());
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    window.send_text(QStringLiteral("hello bob"));
    bridge.wait_idle();
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
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    ComposerEdit* input = &window.composer();
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
    bridge.wait_idle();
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
    bridge.wait_idle();
    engine::EngineObserver& observer = bridge;
    observer.on_state(engine::State::connecting);
    CHECK(window.state_text().startsWith(QStringLiteral("Connecting to ws://127.0.0.1:1")));
    observer.on_error(make_error(Errc::refused, "<b>no</b>"));
    CHECK(window.error_text() == QStringLiteral("<b>no</b>"));
}

TEST_CASE_METHOD(WindowFixture, "a group is listed by name and opens with its members") {
    save_group(test::group_row(1, "hikers"), kHikers);
    bridge.wait_idle();
    MainWindow window(bridge);
    bridge.wait_idle();
    std::string peer = store::group_conversation(test::group_id(1));
    auto& list = window.conversation_model();
    REQUIRE(list.row_of(peer) >= 0);
    CHECK(list.data(list.index(list.row_of(peer)), Qt::DisplayRole)
              .toString()
              .startsWith(QStringLiteral("# hikers\n")));

    window.open_conversation(peer);
    bridge.wait_idle();
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
    bridge.wait_idle();
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation(store::group_conversation(test::group_id(1)));
    bridge.wait_idle();
    receive(test::system_line(1, 1, "alice created the group with bob, carol"));
    bridge.wait_idle();
    receive(test::group_message(1, 2, "bob", "hi all"));
    bridge.wait_idle();
    auto& messages = window.message_model();
    REQUIRE(messages.rowCount() == 2);
    CHECK(messages.data(messages.index(0), MessageListModel::SystemRole).toBool());
    CHECK(messages.data(messages.index(1), MessageListModel::SenderRole).toString() ==
          QStringLiteral("bob"));
}

TEST_CASE_METHOD(WindowFixture, "a left group is read-only and says why") {
    save_group(test::group_row(1, "hikers"), kHikers);
    bridge.wait_idle();
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation(store::group_conversation(test::group_id(1)));
    bridge.wait_idle();
    ComposerEdit* input = &window.composer();
    REQUIRE(input != nullptr);
    input->setText(QStringLiteral("a draft"));
    CHECK(window.input_enabled());

    // The relay accepted our leave: the engine marks the group left and says it changed.
    REQUIRE(bridge
                .run_blocking_for_tests([&](qt::ClientSession& s_) {
                    return s_.store().set_group_left(test::group_id(1), true);
                })
                .ok());
    observer().on_group_changed(test::group_id(1));
    bridge.wait_idle();
    CHECK_FALSE(window.input_enabled());
    CHECK(window.read_only_text().contains(QStringLiteral("no longer a member")));
    CHECK_FALSE(window.group_panel().can_add());
    CHECK_FALSE(window.group_panel().can_leave());
    CHECK(input->text() == QStringLiteral("a draft")); // kept, not sent
    window.send_text(QStringLiteral("ignored"));
    bridge.wait_idle();
    CHECK(window.message_model().rowCount() == 0);
    auto& list = window.conversation_model();
    int row = list.row_of(store::group_conversation(test::group_id(1)));
    CHECK(list.data(list.index(row), ConversationListModel::HasLeftRole).toBool());
}

TEST_CASE_METHOD(WindowFixture, "a message typed into a group is queued as a group message") {
    REQUIRE(bridge.start().ok()); // nothing listens on port 1: it stays offline
    save_group(test::group_row(1, "hikers"), kHikers);
    bridge.wait_idle();
    MainWindow window(bridge);
    bridge.wait_idle();
    std::string peer = store::group_conversation(test::group_id(1));
    window.open_conversation(peer);
    bridge.wait_idle();
    window.send_text(QStringLiteral("to the group"));
    bridge.wait_idle();
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
    bridge.wait_idle();
    NewGroupDialog* dialog = window.new_group();
    REQUIRE(dialog != nullptr);
    dialog->fill(QStringLiteral("hikers"), QStringLiteral("bob, carol"));
    dialog->submit();
    bridge.wait_idle(); // the engine answers from its thread
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
    bridge.wait_idle();
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation(store::group_conversation(test::group_id(1)));
    bridge.wait_idle();
    auto& panel = window.group_panel();
    panel.set_add_text(QStringLiteral("dave, E!"));
    window.add_members(panel.add_text());
    bridge.wait_idle(); // the engine answers from its thread
    CHECK(panel.message_text().contains(QStringLiteral("“E!” is not a valid username.")));
    CHECK(panel.add_text() == QStringLiteral("dave, E!"));

    // A valid list while offline: the engine's sentence, and the text stays.
    panel.set_add_text(QStringLiteral("dave"));
    window.add_members(panel.add_text());
    bridge.wait_idle(); // the engine answers from its thread
    CHECK(panel.message_text().contains(QStringLiteral("connection to the relay")));
    CHECK(panel.add_text() == QStringLiteral("dave"));
}

TEST_CASE_METHOD(WindowFixture, "a member change asked while the worker is busy says it waits, "
                                "then shows the engine's answer") {
    save_group(test::group_row(1, "hikers"), kHikers);
    bridge.wait_idle();
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation(store::group_conversation(test::group_id(1)));
    bridge.wait_idle();
    auto& panel = window.group_panel();
    panel.set_add_text(QStringLiteral("dave"));
    {
        test::WorkerLatch latch(bridge);
        window.add_members(panel.add_text());
        CHECK(panel.message_text().contains(QStringLiteral("Adding…")));
        CHECK(test::gui_turns());
    }
    bridge.wait_idle();
    // Offline: the engine's sentence replaces the wait, and the typed names stay.
    CHECK(panel.message_text().contains(QStringLiteral("connection to the relay")));
    CHECK(panel.add_text() == QStringLiteral("dave"));
}

TEST_CASE_METHOD(WindowFixture, "the group details dialog waits for the worker and closes on "
                                "its answer") {
    save_group(group_with_state(1, "hikers", kHikers), kHikers);
    bridge.wait_idle();
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation(store::group_conversation(test::group_id(1)));
    bridge.wait_idle();
    GroupDetailsDialog* dialog = window.edit_group();
    REQUIRE(dialog != nullptr);
    // Accepted, the dialog deletes itself: its result is taken from its finished signal.
    int finished = -1;
    QObject::connect(dialog, &QDialog::finished, [&finished](int result) { finished = result; });
    QPointer<GroupDetailsDialog> shown(dialog);
    dialog->fill(QStringLiteral("Ramblers"), QStringLiteral("Sundays"));
    {
        test::WorkerLatch latch(bridge);
        dialog->submit();
        CHECK(dialog->waiting());
        CHECK(test::gui_turns());
        CHECK(dialog->result() != QDialog::Accepted);
    }
    bridge.wait_idle();
    CHECK((!shown || !shown->waiting()));
    CHECK(finished == QDialog::Accepted);
    auto stored = bridge.store().group(test::group_id(1));
    REQUIRE(stored.ok());
    CHECK(stored.value()->name == "Ramblers");
}

TEST_CASE_METHOD(WindowFixture, "only admins are offered to add and remove members") {
    save_group(test::group_row(1, "hikers"), {{"alice", false}, {"bob", true}});
    bridge.wait_idle();
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation(store::group_conversation(test::group_id(1)));
    bridge.wait_idle();
    CHECK(window.group_panel().member_lines() ==
          QStringList{QStringLiteral("alice (you)"), QStringLiteral("bob  · admin")});
    CHECK_FALSE(window.group_panel().can_add());
    CHECK(window.group_panel().can_leave());
}

TEST_CASE_METHOD(WindowFixture, "group warnings and unreachable members are shown in a banner") {
    save_group(test::group_row(1, "hikers"), kHikers);
    bridge.wait_idle();
    MainWindow window(bridge);
    bridge.wait_idle();
    CHECK(window.banner_text().isEmpty());
    observer().on_group_warning(test::group_id(1),
                                "a change signed by mallory was refused: not an admin");
    CHECK(window.banner_text() ==
          QStringLiteral("# hikers: a change signed by mallory was refused: not an admin"));

    store::MessageRow sent = test::outgoing(store::group_conversation(test::group_id(1)), 9, "x");
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.store().insert_message(sent); })
                .ok());
    observer().on_group_unreachable(sent.message_id, {"carol", "dave"});
    bridge.wait_idle();
    CHECK(window.banner_text().contains(
        QStringLiteral("The relay could not reach carol, dave in # hikers")));
}

TEST_CASE_METHOD(WindowFixture, "a group's stored picture and description are shown to members") {
    Bytes png = test::to_bytes(test::picture_bytes("PNG", 80, 60));
    save_group_details(test::group_row(1, "hikers"), {{"alice", false}, {"bob", true}},
                       "Walks <b>every</b> Sunday\n\u202Eevil", png);
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation(store::group_conversation(test::group_id(1)));
    bridge.wait_idle();
    auto& panel = window.group_panel();
    CHECK(panel.shows_picture());
    CHECK(window.header_shows_picture());
    CHECK(panel.description_text() == QStringLiteral("Walks <b>every</b> Sunday\n<U+202E>evil"));
    for (const QLabel* label : window.findChildren<QLabel*>())
        CHECK(label->textFormat() == Qt::PlainText);
}

TEST_CASE_METHOD(WindowFixture, "a group picture that does not decode is not shown") {
    Bytes broken = test::to_bytes(test::picture_bytes("PNG", 20, 20).left(30));
    save_group_details(test::group_row(1, "hikers"), kHikers, "", broken);
    bridge.wait_idle();
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation(store::group_conversation(test::group_id(1)));
    bridge.wait_idle();
    CHECK_FALSE(window.group_panel().shows_picture());
    CHECK_FALSE(window.header_shows_picture());
    CHECK(window.group_panel().description_text().isEmpty());

    // Nor does a person's conversation show one.
    window.open_conversation("bob");
    bridge.wait_idle();
    CHECK_FALSE(window.header_shows_picture());
}

TEST_CASE_METHOD(WindowFixture, "members who are not admins get no edit action") {
    save_group_details(test::group_row(1, "hikers"), {{"alice", false}, {"bob", true}}, "walks",
                       {});
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation(store::group_conversation(test::group_id(1)));
    bridge.wait_idle();
    CHECK_FALSE(window.group_panel().can_edit());
    QPushButton* edit = button(window, QStringLiteral("Edit group…"));
    REQUIRE(edit != nullptr);
    CHECK(edit->isHidden());
    CHECK(window.edit_group() == nullptr);
    CHECK(window.group_panel().description_text() == QStringLiteral("walks"));
}

TEST_CASE_METHOD(WindowFixture, "a left group cannot be edited even by an admin") {
    save_group(test::group_row(1, "hikers", true), kHikers);
    bridge.wait_idle();
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation(store::group_conversation(test::group_id(1)));
    bridge.wait_idle();
    CHECK_FALSE(window.group_panel().can_edit());
    CHECK(window.edit_group() == nullptr);
}

TEST_CASE_METHOD(WindowFixture,
                 "an admin renames, describes and pictures the group in the dialog") {
    save_group(group_with_state(1, "hikers", kHikers), kHikers);
    bridge.wait_idle();
    MainWindow window(bridge);
    bridge.wait_idle();
    std::string peer = store::group_conversation(test::group_id(1));
    window.open_conversation(peer);
    bridge.wait_idle();
    REQUIRE(window.group_panel().can_edit());
    CHECK_FALSE(button(window, QStringLiteral("Edit group…"))->isHidden());
    CHECK_FALSE(window.header_shows_picture());

    GroupDetailsDialog* dialog = window.edit_group();
    REQUIRE(dialog != nullptr);
    // Accepted, the dialog deletes itself: its result is taken from its finished signal.
    int finished = -1;
    QObject::connect(dialog, &QDialog::finished, [&finished](int result) { finished = result; });
    QPointer<GroupDetailsDialog> shown(dialog);
    CHECK(window.edit_group() == dialog); // one at a time
    CHECK(dialog->name_text() == QStringLiteral("hikers"));
    QByteArray jpeg = test::picture_bytes("JPEG", 90, 60);
    REQUIRE(dialog->choose_picture_file(test::write_file(dir, "hills.jpg", jpeg)));
    dialog->fill(QStringLiteral("Ramblers"), QStringLiteral("Sundays <i>from</i> 9"));
    dialog->submit();
    bridge.wait_idle(); // the engine answers from its thread
    INFO((shown ? shown->error_text() : QString()).toStdString());
    CHECK(finished == QDialog::Accepted);

    auto stored = bridge.store().group(test::group_id(1));
    REQUIRE(stored.ok());
    REQUIRE(stored.value());
    CHECK(stored.value()->name == "Ramblers");
    CHECK(stored.value()->description == "Sundays <i>from</i> 9");
    CHECK(stored.value()->avatar == test::to_bytes(jpeg));
    CHECK(window.group_panel().shows_picture());
    CHECK(window.header_shows_picture());
    CHECK(window.group_panel().description_text() == QStringLiteral("Sundays <i>from</i> 9"));
    auto& list = window.conversation_model();
    CHECK(list.data(list.index(list.row_of(peer)), Qt::DisplayRole)
              .toString()
              .startsWith(QStringLiteral("# Ramblers\n")));
    auto outbox = bridge.store().group_outbox();
    REQUIRE(outbox.ok());
    CHECK(outbox->size() == 2); // the picture, then the name and description, for the members

    // Remove picture, and nothing else changes.
    QApplication::processEvents(); // the closed dialog is deleted
    dialog = window.edit_group();
    REQUIRE(dialog != nullptr);
    finished = -1;
    QObject::connect(dialog, &QDialog::finished, [&finished](int result) { finished = result; });
    CHECK(dialog->description_text() == QStringLiteral("Sundays <i>from</i> 9"));
    dialog->remove_picture();
    dialog->submit();
    bridge.wait_idle(); // the engine answers from its thread
    CHECK(finished == QDialog::Accepted);
    stored = bridge.store().group(test::group_id(1));
    REQUIRE(stored.ok());
    CHECK(stored.value()->avatar.empty());
    CHECK(stored.value()->name == "Ramblers");
    CHECK_FALSE(window.header_shows_picture());
    CHECK_FALSE(window.group_panel().shows_picture());
    outbox = bridge.store().group_outbox();
    REQUIRE(outbox.ok());
    CHECK(outbox->size() == 3);
}

TEST_CASE_METHOD(WindowFixture, "shown text that was not edited is saved as it was stored") {
    // The form shows a bidi override as a mark; saving without touching it keeps the name.
    std::string name = "hik\u202Eers";
    save_group(group_with_state(1, name, kHikers), kHikers);
    bridge.wait_idle();
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation(store::group_conversation(test::group_id(1)));
    bridge.wait_idle();
    GroupDetailsDialog* dialog = window.edit_group();
    REQUIRE(dialog != nullptr);
    // Accepted, the dialog deletes itself: its result is taken from its finished signal.
    int finished = -1;
    QObject::connect(dialog, &QDialog::finished, [&finished](int result) { finished = result; });
    QPointer<GroupDetailsDialog> shown(dialog);
    CHECK(dialog->name_text() == QStringLiteral("hik<U+202E>ers"));
    dialog->fill(dialog->name_text(), QStringLiteral("new words"));
    dialog->submit();
    bridge.wait_idle(); // the engine answers from its thread
    CHECK(finished == QDialog::Accepted);
    auto stored = bridge.store().group(test::group_id(1));
    REQUIRE(stored.ok());
    CHECK(stored.value()->name == name);
    CHECK(stored.value()->description == "new words");
}

TEST_CASE_METHOD(WindowFixture, "an engine refusal of the edit stays in the dialog, as typed") {
    // The panel still lists us as an admin, but the group's state (what the engine checks)
    // says bob is its only admin: we were demoted a moment ago.
    const std::vector<store::GroupMemberRow> demoted = {{"alice", false}, {"bob", true}};
    save_group(group_with_state(1, "hikers", demoted), kHikers);
    bridge.wait_idle();
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation(store::group_conversation(test::group_id(1)));
    bridge.wait_idle();
    GroupDetailsDialog* dialog = window.edit_group();
    REQUIRE(dialog != nullptr);
    // Accepted, the dialog deletes itself: its result is taken from its finished signal.
    int finished = -1;
    QObject::connect(dialog, &QDialog::finished, [&finished](int result) { finished = result; });
    QPointer<GroupDetailsDialog> shown(dialog);
    dialog->fill(QStringLiteral("Ramblers"), QStringLiteral("typed"));
    dialog->submit();
    bridge.wait_idle(); // the engine answers from its thread
    CHECK(dialog->error_text() ==
          QStringLiteral("Only an admin can change the group's name, description or picture"));
    CHECK(dialog->name_text() == QStringLiteral("Ramblers"));
    CHECK(dialog->description_text() == QStringLiteral("typed"));
    CHECK(dialog->result() != QDialog::Accepted);
    CHECK(dialog->isVisible());
    auto stored = bridge.store().group(test::group_id(1));
    REQUIRE(stored.ok());
    CHECK(stored.value()->name == "hikers");
}

} // namespace
} // namespace veil::desktop

namespace veil::desktop {
namespace {

// The 1:1 items waiting for the relay that tell our other devices a conversation was read.
std::vector<std::string> read_syncs(store::AccountStore& store) {
    std::vector<std::string> out;
    auto pending = store.pending();
    REQUIRE(pending.ok());
    for (const auto& item : pending.value()) {
        wire::Content content;
        REQUIRE(content.ParseFromArray(item.content.data(), static_cast<int>(item.content.size())));
        if (item.peer == "alice" && content.has_sync() && content.sync().has_read())
            out.push_back(content.sync().read().conversation());
    }
    return out;
}

TEST_CASE_METHOD(WindowFixture, "opening a conversation tells our other devices it was read") {
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.engine().add_contact("bob"); })
                .ok());
    MainWindow window(bridge);
    bridge.wait_idle();
    receive(test::incoming("carol", 1, "one"));
    bridge.wait_idle();
    CHECK(read_syncs(bridge.store()).empty());
    window.open_conversation("carol");
    bridge.wait_idle(); // the engine marks it read on its thread
    CHECK(read_syncs(bridge.store()) == std::vector<std::string>{"carol"});
    // Nothing unread: nothing to tell.
    window.open_conversation("bob");
    bridge.wait_idle();
    window.open_conversation("carol");
    bridge.wait_idle();
    CHECK(read_syncs(bridge.store()).size() == 1);
}

TEST_CASE_METHOD(WindowFixture, "a conversation read on another device loses its unread count") {
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.engine().add_contact("bob"); })
                .ok());
    MainWindow window(bridge);
    bridge.wait_idle();
    receive(test::incoming("carol", 1, "one"));
    bridge.wait_idle();
    CHECK(window.windowTitle().startsWith(QStringLiteral("(1)")));
    // What the engine does for a read sync from another device of ours.
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.store().mark_read("carol"); })
                .ok());
    observer().on_read_elsewhere("carol");
    bridge.wait_idle();
    auto& list = window.conversation_model();
    CHECK(list.data(list.index(list.row_of("carol")), ConversationListModel::UnreadRole).toInt() ==
          0);
    CHECK_FALSE(window.windowTitle().startsWith(QStringLiteral("(")));
}

TEST_CASE_METHOD(WindowFixture, "an unlinked device says so and sends nothing more") {
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.engine().add_contact("bob"); })
                .ok());
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    REQUIRE(window.input_enabled());
    observer().on_unlinked();
    bridge.wait_idle();
    CHECK_FALSE(window.input_enabled());
    CHECK(window.read_only_text() ==
          QStringLiteral("This device was unlinked from your account on another device. It can "
                         "no longer send or receive."));
    CHECK(window.banner_text().contains(QStringLiteral("unlinked")));
    window.send_text(QStringLiteral("still there?"));
    bridge.wait_idle();
    auto sent = bridge.store().messages("bob", 10);
    REQUIRE(sent.ok());
    CHECK(sent.value().empty());
    // Other conversations stay read-only too.
    receive(test::incoming("carol", 1, "hi"));
    bridge.wait_idle();
    window.open_conversation("carol");
    bridge.wait_idle();
    CHECK_FALSE(window.input_enabled());
    for (auto* box : window.findChildren<QMessageBox*>())
        box->close();
}

TEST_CASE_METHOD(WindowFixture, "the devices dialog opens from the window and waits for the "
                                "connection") {
    MainWindow window(bridge);
    bridge.wait_idle();
    DevicesDialog* dialog = window.devices();
    REQUIRE(dialog);
    CHECK(dialog->status_text().startsWith(QStringLiteral("Not connected to the relay")));
    CHECK(window.devices() == dialog); // one at a time
    // Once connected it asks the engine; this engine is not, so its answer is an error.
    observer().on_state(engine::State::ready);
    bridge.wait_idle(); // the engine answers on its thread
    CHECK(dialog->status_text().startsWith(QStringLiteral("Cannot list the devices: ")));
    std::vector<engine::DeviceInfo> listed(1);
    listed[0].device_id = 1;
    listed[0].current = true;
    dialog->show_devices(listed);
    CHECK(dialog->device_count() == 1);
    CHECK(dialog->status_text().isEmpty());
    // A change announced by the engine asks again.
    observer().on_devices_changed();
    bridge.wait_idle();
    CHECK(dialog->status_text().startsWith(QStringLiteral("Cannot list the devices: ")));
    dialog->close();
}

TEST_CASE_METHOD(WindowFixture, "a link started from the devices dialog gets its answer") {
    MainWindow window(bridge);
    bridge.wait_idle();
    DevicesDialog* dialog = window.devices();
    LinkDeviceDialog* form = dialog->link_device();
    // Offline: the engine refuses at once, in words, and the form keeps the code.
    form->fill(QStringLiteral("0000-0000-0000-0000-0000-0000-0"), false);
    form->submit();
    bridge.wait_idle(); // the engine answers from its thread
    CHECK_FALSE(form->error_text().isEmpty());
    CHECK_FALSE(form->waiting());
    // A typo is named.
    form->fill(QStringLiteral("ABCU"), false);
    form->submit();
    bridge.wait_idle(); // the engine answers from its thread
    CHECK(form->error_text().contains(QStringLiteral("code")));
    dialog->close();
}

// ---- search ----------------------------------------------------------------------------------

void type_into(QWidget& widget, const QString& text) {
    for (QChar c : text) {
        QKeyEvent press(QEvent::KeyPress, 0, Qt::NoModifier, QString(c));
        QApplication::sendEvent(&widget, &press);
    }
}

void press_key(QWidget& widget, int key) {
    QKeyEvent press(QEvent::KeyPress, key, Qt::NoModifier);
    QApplication::sendEvent(&widget, &press);
}

TEST_CASE_METHOD(WindowFixture, "typing in the search field lists the matching messages") {
    receive(test::incoming("bob", 1, "lunch on friday?"));
    bridge.wait_idle();
    receive(test::incoming("carol", 2, "the meeting moved"));
    bridge.wait_idle();
    save_group(test::group_row(1, "hikers"), kHikers);
    bridge.wait_idle();
    receive(test::group_message(1, 3, "carol", "Lunch at the summit"));
    bridge.wait_idle();
    MainWindow window(bridge);
    bridge.wait_idle();
    CHECK(window.search_field().placeholderText() == QStringLiteral("Search"));
    CHECK_FALSE(window.search_shown());

    type_into(window.search_field(), QStringLiteral("lun"));
    CHECK_FALSE(window.search_shown()); // not before the pause in typing
    REQUIRE(test::wait_until([&] { return window.search_shown(); }, 3000));
    auto& results = window.search_model();
    REQUIRE(results.rowCount() == 2);
    // Newest first, the group named as the list names it.
    CHECK(results.data(results.index(0), Qt::DisplayRole)
              .toString()
              .startsWith(QStringLiteral("# hikers · carol · ")));
    CHECK(results.data(results.index(0), SearchResultsModel::TextRole).toString() ==
          QStringLiteral("Lunch at the summit"));
    CHECK(results.peer_at(1) == "bob");
}

TEST_CASE_METHOD(WindowFixture, "Ctrl+F puts the focus in the search field") {
    MainWindow window(bridge);
    bridge.wait_idle();
    window.show();
    QAction* find = nullptr;
    for (QAction* action : window.actions())
        if (action->shortcut() == QKeySequence(QKeySequence::Find))
            find = action;
    REQUIRE(find != nullptr);
    CHECK(find->shortcut() == QKeySequence(Qt::CTRL | Qt::Key_F));
    find->trigger();
    CHECK(window.focusWidget() == &window.search_field());
}

TEST_CASE_METHOD(WindowFixture, "Enter searches at once and says when nothing matches") {
    receive(test::incoming("bob", 1, "lunch on friday?"));
    bridge.wait_idle();
    MainWindow window(bridge);
    bridge.wait_idle();
    window.search_field().setText(QStringLiteral("zebra"));
    press_key(window.search_field(), Qt::Key_Return);
    bridge.wait_idle(); // the search runs on the session's thread
    CHECK(window.search_shown());
    CHECK(window.search_model().rowCount() == 0);
    bool said = false;
    for (const QLabel* label : window.findChildren<QLabel*>())
        said = said || label->text() == QStringLiteral("No messages hold these words.");
    CHECK(said);
}

TEST_CASE_METHOD(WindowFixture, "activating a result opens its conversation") {
    receive(test::incoming("bob", 1, "hello"));
    bridge.wait_idle();
    receive(test::incoming("carol", 2, "lunch on friday?"));
    bridge.wait_idle();
    receive(test::incoming("bob", 3, "newest"));
    bridge.wait_idle();
    MainWindow window(bridge);
    bridge.wait_idle();
    REQUIRE(window.open_peer() == "bob");
    window.search(QStringLiteral("friday"));
    bridge.wait_idle(); // the search runs on the session's thread
    REQUIRE(window.search_model().rowCount() == 1);
    emit window.search_view().activated(window.search_model().index(0));
    bridge.wait_idle();
    CHECK(window.open_peer() == "carol");
    CHECK(window.message_model().peer() == "carol");
    CHECK(window.message_model().row_of_id(window.search_model().message_at(0)) == 0);
    CHECK(window.search_shown()); // the results stay until the field is cleared
}

TEST_CASE_METHOD(WindowFixture, "Esc or clearing the field brings the conversation list back") {
    receive(test::incoming("bob", 1, "lunch on friday?"));
    bridge.wait_idle();
    MainWindow window(bridge);
    bridge.wait_idle();
    window.search_field().setText(QStringLiteral("lunch"));
    press_key(window.search_field(), Qt::Key_Return);
    bridge.wait_idle();
    REQUIRE(window.search_shown());
    press_key(window.search_field(), Qt::Key_Escape);
    CHECK_FALSE(window.search_shown());
    CHECK(window.search_field().text().isEmpty());
    CHECK(window.conversation_model().row_of("bob") >= 0);

    window.search_field().setText(QStringLiteral("lunch"));
    press_key(window.search_field(), Qt::Key_Return);
    bridge.wait_idle();
    REQUIRE(window.search_shown());
    window.search_field().clear();
    CHECK_FALSE(window.search_shown());
}

TEST_CASE_METHOD(WindowFixture, "shown results take in a new matching message") {
    receive(test::incoming("bob", 1, "lunch on friday?"));
    bridge.wait_idle();
    MainWindow window(bridge);
    bridge.wait_idle();
    window.search(QStringLiteral("lunch"));
    bridge.wait_idle();
    REQUIRE(window.search_model().rowCount() == 1);
    receive(test::incoming("carol", 2, "lunch is on me"));
    bridge.wait_idle();
    CHECK(test::wait_until([&] { return window.search_model().rowCount() == 2; }, 3000));
}

} // namespace
} // namespace veil::desktop

// ---- blocking ----------------------------------------------------------------------------------

namespace veil::desktop {
namespace {

// Answers the next modal question (a QMessageBox) with answer, from the event loop it runs in.
// Returns a flag that becomes true once it was answered.
std::shared_ptr<bool> answer_next_question(QMessageBox::StandardButton answer) {
    auto answered = std::make_shared<bool>(false);
    auto attempt = std::make_shared<std::function<void(int)>>();
    // The function holds itself weakly (a strong self-reference would never be freed); the
    // pending timer holds it strongly until it runs.
    std::weak_ptr<std::function<void(int)>> self = attempt;
    *attempt = [answer, answered, self](int left) {
        if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
            *answered = true;
            box->button(answer)->click();
            return;
        }
        if (auto again = self.lock(); again && left > 0)
            QTimer::singleShot(10, [again, left] { (*again)(left - 1); });
    };
    QTimer::singleShot(0, [attempt] { (*attempt)(200); });
    return answered;
}

bool store_blocks(SessionBridge& bridge, const std::string& name) {
    auto blocked = bridge.store().is_blocked(name);
    REQUIRE(blocked.ok());
    return blocked.value();
}

TEST_CASE_METHOD(WindowFixture, "blocking from the header asks first, then disables the input") {
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.engine().add_contact("bob"); })
                .ok());
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    REQUIRE(window.input_enabled());
    REQUIRE_FALSE(window.block_button().isHidden());
    CHECK(window.block_button().text() == QStringLiteral("Block bob…"));

    auto answered = answer_next_question(QMessageBox::Yes);
    window.block_button().click();
    bridge.wait_idle();
    CHECK(*answered);
    CHECK(store_blocks(bridge, "bob"));
    CHECK(window.is_blocked("bob"));
    CHECK_FALSE(window.input_enabled());
    CHECK(window.read_only_text() == QStringLiteral("You blocked bob. Unblock to send messages."));
    auto& list = window.conversation_model();
    CHECK(list.data(list.index(list.row_of("bob")), ConversationListModel::BlockedRole).toBool());
    CHECK(list.data(list.index(list.row_of("bob")), Qt::DisplayRole)
              .toString()
              .contains(QStringLiteral("blocked")));
    CHECK(window.block_button().text() == QStringLiteral("Unblock bob"));

    // Unblocking needs no question.
    window.block_button().click();
    bridge.wait_idle();
    CHECK_FALSE(store_blocks(bridge, "bob"));
    CHECK(window.input_enabled());
    CHECK(window.read_only_text().isEmpty());
    CHECK_FALSE(
        list.data(list.index(list.row_of("bob")), ConversationListModel::BlockedRole).toBool());
}

TEST_CASE_METHOD(WindowFixture, "answering No to the block question blocks nobody") {
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.engine().add_contact("bob"); })
                .ok());
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    auto answered = answer_next_question(QMessageBox::No);
    CHECK_FALSE(window.block_with_confirmation("bob"));
    CHECK(*answered);
    CHECK_FALSE(store_blocks(bridge, "bob"));
    CHECK(window.input_enabled());
}

TEST_CASE_METHOD(WindowFixture, "the conversation list's menu blocks and unblocks people only") {
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.engine().add_contact("bob"); })
                .ok());
    save_group(test::group_row(1, "hikers"), kHikers);
    bridge.wait_idle();
    MainWindow window(bridge);
    bridge.wait_idle();
    CHECK(window.conversation_menu(store::group_conversation(test::group_id(1))) == nullptr);

    QMenu* menu = window.conversation_menu("bob");
    REQUIRE(menu != nullptr);
    REQUIRE(menu->actions().size() == 1);
    CHECK(menu->actions().front()->text() == QStringLiteral("Block bob…"));
    auto answered = answer_next_question(QMessageBox::Yes);
    menu->actions().front()->trigger();
    bridge.wait_idle(); // the engine answers from its thread
    CHECK(test::wait_until([&] { return *answered && window.is_blocked("bob"); }, 5000));
    delete menu;
    CHECK(store_blocks(bridge, "bob"));

    menu = window.conversation_menu("bob");
    REQUIRE(menu != nullptr);
    CHECK(menu->actions().front()->text() == QStringLiteral("Unblock bob"));
    menu->actions().front()->trigger();
    bridge.wait_idle(); // the engine answers from its thread
    delete menu;
    CHECK_FALSE(store_blocks(bridge, "bob"));
    CHECK_FALSE(window.is_blocked("bob"));
}

TEST_CASE_METHOD(WindowFixture, "a blocked conversation sends nothing even through send_text") {
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.engine().add_contact("bob"); })
                .ok());
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    REQUIRE(window.set_blocked("bob", true).isEmpty());
    bridge.wait_idle(); // the engine answers from its thread
    window.send_text(QStringLiteral("hello?"));
    bridge.wait_idle();
    auto sent = bridge.store().messages("bob", 10);
    REQUIRE(sent.ok());
    CHECK(sent.value().empty());
    // Another conversation stays writable.
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.engine().add_contact("carol"); })
                .ok());
    window.open_conversation("carol");
    bridge.wait_idle();
    CHECK(window.input_enabled());
}

// ---- notifications -----------------------------------------------------------------------------

struct RecordingNotifier final : Notifier {
    struct Shown {
        NotificationText text;
        std::string peer;
    };
    std::vector<Shown> shown;
    void notify(const NotificationText& text, const std::string& peer) override {
        shown.push_back({text, peer});
    }
};

TEST_CASE_METHOD(WindowFixture, "a message for another conversation notifies with its sender") {
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.engine().add_contact("bob"); })
                .ok());
    MainWindow window(bridge);
    bridge.wait_idle();
    RecordingNotifier notifier;
    window.set_notifier(&notifier);
    window.set_focus_probe([] { return true; });
    window.open_conversation("bob");
    bridge.wait_idle();

    receive(test::incoming("carol", 1, "lunch?"));
    bridge.wait_idle();
    REQUIRE(notifier.shown.size() == 1);
    CHECK(notifier.shown[0].peer == "carol");
    CHECK(notifier.shown[0].text.title == QStringLiteral("carol"));
    CHECK(notifier.shown[0].text.body == QStringLiteral("lunch?"));
    CHECK(window.windowTitle() == QStringLiteral("(1) Veil — alice"));

    // The open conversation in the focused window does not notify.
    receive(test::incoming("bob", 2, "here"));
    bridge.wait_idle();
    CHECK(notifier.shown.size() == 1);
    window.set_notifier(nullptr);
}

TEST_CASE_METHOD(WindowFixture, "the open conversation notifies while the window is unfocused") {
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.engine().add_contact("bob"); })
                .ok());
    MainWindow window(bridge);
    bridge.wait_idle();
    RecordingNotifier notifier;
    window.set_notifier(&notifier);
    bool focused = false;
    window.set_focus_probe([&] { return focused; });
    window.open_conversation("bob");
    bridge.wait_idle();
    receive(test::incoming("bob", 1, "are you there?"));
    bridge.wait_idle();
    CHECK(notifier.shown.size() == 1);
    focused = true;
    receive(test::incoming("bob", 2, "ok"));
    bridge.wait_idle();
    CHECK(notifier.shown.size() == 1);
    window.set_notifier(nullptr);
}

TEST_CASE_METHOD(WindowFixture, "own messages, system lines and blocked senders never notify") {
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.engine().add_contact("bob"); })
                .ok());
    save_group(test::group_row(1, "hikers"), kHikers);
    bridge.wait_idle();
    MainWindow window(bridge);
    bridge.wait_idle();
    RecordingNotifier notifier;
    window.set_notifier(&notifier);
    window.set_focus_probe([] { return false; });
    window.open_conversation("bob");
    bridge.wait_idle();
    window.send_text(QStringLiteral("hi bob"));
    bridge.wait_idle();
    receive(test::system_line(1, 1, "carol joined"));
    bridge.wait_idle();
    REQUIRE(window.set_blocked("mallory", true).isEmpty());
    bridge.wait_idle(); // the engine answers from its thread
    receive(test::incoming("mallory", 2, "buy now"));
    bridge.wait_idle();
    CHECK(notifier.shown.empty());

    // A group message names its group.
    receive(test::group_message(1, 3, "carol", "walk?"));
    bridge.wait_idle();
    REQUIRE(notifier.shown.size() == 1);
    CHECK(notifier.shown[0].text.title == QStringLiteral("carol in # hikers"));
    window.set_notifier(nullptr);
}

TEST_CASE_METHOD(WindowFixture, "the notifications menu stores the preview level in the profile") {
    MainWindow window(bridge);
    bridge.wait_idle();
    RecordingNotifier notifier;
    window.set_notifier(&notifier);
    window.set_focus_probe([] { return false; });
    auto actions = window.notifications_menu().actions();
    auto action = [&](const QString& text) -> QAction* {
        for (QAction* a : actions)
            if (a->text() == text)
                return a;
        FAIL("no menu entry " << text.toStdString());
        return nullptr;
    };
    CHECK(action(QStringLiteral("Show sender and message"))->isChecked());
    CHECK(action(QStringLiteral("Notify about new messages"))->isChecked());

    action(QStringLiteral("Show sender only"))->trigger();

    bridge.wait_idle();
    CHECK(bridge.store().setting("notification_preview").value() == "sender");
    receive(test::incoming("carol", 1, "secret plans"));
    bridge.wait_idle();
    REQUIRE(notifier.shown.size() == 1);
    CHECK(notifier.shown[0].text.body == QStringLiteral("New message from carol"));
    CHECK(notifier.shown[0].text.title == QStringLiteral("Veil"));

    action(QStringLiteral("Show nothing (\u201cNew message\u201d)"))->trigger();

    bridge.wait_idle();
    CHECK(bridge.store().setting("notification_preview").value() == "none");
    receive(test::incoming("carol", 2, "more plans"));
    bridge.wait_idle();
    REQUIRE(notifier.shown.size() == 2);
    CHECK(notifier.shown[1].text.body == QStringLiteral("New message"));

    action(QStringLiteral("Notify about new messages"))->trigger(); // off

    bridge.wait_idle();
    CHECK(bridge.store().setting("notifications").value() == "off");
    CHECK_FALSE(action(QStringLiteral("Show sender only"))->isEnabled());
    receive(test::incoming("carol", 3, "x"));
    bridge.wait_idle();
    CHECK(notifier.shown.size() == 2);
    CHECK(window.windowTitle().startsWith(QStringLiteral("(3) "))); // the count stays
    window.set_notifier(nullptr);
}

TEST_CASE_METHOD(WindowFixture, "a new window reads the stored notification setting") {
    REQUIRE(bridge
                .run_blocking_for_tests([&](qt::ClientSession& s_) {
                    return s_.store().set_setting("notification_preview", "sender");
                })
                .ok());
    REQUIRE(bridge
                .run_blocking_for_tests([&](qt::ClientSession& s_) {
                    return s_.store().set_setting("notifications", "off");
                })
                .ok());
    MainWindow window(bridge);
    bridge.wait_idle();
    CHECK(window.notification_settings().preview == NotificationPreview::sender);
    CHECK_FALSE(window.notification_settings().enabled);
}

TEST_CASE_METHOD(WindowFixture,
                 "typing in the search field filters the conversation list at once") {
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.engine().add_contact("bob"); })
                .ok());
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.engine().add_contact("carol"); })
                .ok());
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.engine().add_contact("bobby"); })
                .ok());
    MainWindow window(bridge);
    bridge.wait_idle();
    QListView& list = window.conversation_view();
    auto shown = [&] {
        QStringList names;
        for (int row = 0; row < window.conversation_model().rowCount(); ++row)
            if (!list.isRowHidden(row))
                names << QString::fromStdString(window.conversation_model().peer_at(row));
        names.sort();
        return names;
    };
    REQUIRE(shown().size() == 3);
    window.search_field().setText(QStringLiteral("BOB"));
    CHECK(shown() == QStringList{QStringLiteral("bob"), QStringLiteral("bobby")});
    CHECK_FALSE(window.search_shown()); // the messages found come after the pause
    window.search_field().clear();
    CHECK(shown().size() == 3);
    CHECK(window.filter_conversations(QStringLiteral("zzz")) == 0);
}

TEST_CASE_METHOD(WindowFixture, "the main widgets have accessible names") {
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    CHECK(window.conversation_view().accessibleName() == QStringLiteral("Conversations"));
    CHECK(window.message_view().accessibleName() == QStringLiteral("Messages"));
    CHECK(window.composer().accessibleName() == QStringLiteral("Message"));
    CHECK(window.search_field().accessibleName() == QStringLiteral("Search"));
    for (const char* name : {"Send", "Emoji", "Attach files"}) {
        bool found = false;
        for (auto* w : window.findChildren<QWidget*>())
            found = found || w->accessibleName() == QString::fromUtf8(name);
        CHECK(found);
    }
}

TEST_CASE_METHOD(WindowFixture, "the header flags a person whose name looks like a contact's") {
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.engine().add_contact("bob"); })
                .ok());
    MainWindow window(bridge);
    receive(test::incoming("b0b", 1, "it is me, bob, new phone"));
    window.open_conversation("b0b");
    QLabel& mark = window.look_alike_mark();
    CHECK(mark.isVisibleTo(&window));
    CHECK(mark.textFormat() == Qt::PlainText);
    CHECK(mark.text() == QStringLiteral("\u26A0 looks like bob"));
    CHECK(mark.accessibleName() == QStringLiteral("Warning: this name looks like bob"));
    CHECK(test::shown_tooltip(mark.toolTip()) ==
          QStringLiteral("b0b looks like bob, another contact of yours. Check who this is "
                         "before you trust them."));

    window.open_conversation(store::group_conversation(test::group_id(9)));
    CHECK_FALSE(mark.isVisibleTo(&window));
}

TEST_CASE_METHOD(WindowFixture, "Add contact warns about a name that looks like a contact's") {
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.engine().add_contact("alice.w"); })
                .ok());
    MainWindow window(bridge);
    bridge.wait_idle(); // the contacts it compares with come with the window's first read
    AddContactDialog* dialog = window.add_contact();
    REQUIRE(dialog != nullptr);
    dialog->fill(QStringLiteral("aIice.w"));
    CHECK(dialog->looks_like() == QStringLiteral("alice.w"));
    CHECK(dialog->warning_mark().isVisibleTo(dialog));
    dialog->fill(QStringLiteral("dave"));
    CHECK_FALSE(dialog->warning_mark().isVisibleTo(dialog));
    dialog->submit();
    CHECK(test::wait_until([&] { return window.open_peer() == "dave"; }, 5000));
}

} // namespace
} // namespace veil::desktop
