// MainWindow's everyday messaging: the message menu, the composer, timers, typing, read
// receipts, attachments and key changes. The engine is never connected (port 1 on loopback has
// no relay): everything here is what it stores and announces at once.
#include "main_window.h"

#include "composer_edit.h"

#include "crypto/keys.h"
#include "desktop_fixture.h"
#include "encryption_dialog.h"
#include "message_delegate.h"
#include "safety_number_dialog.h"
#include "session_bridge.h"
#include "shown_text.h"

#include <QAction>
#include <QClipboard>
#include <QDialog>
#include <QDropEvent>
#include <QInputDialog>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QMenu>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QToolButton>
#include <QUrl>

namespace veil::desktop {
namespace {

struct MessagingFixture {
    MessagingFixture() {
        test::app();
        REQUIRE(bridge
                    .create_profile(dir.profile(), SecretBytes::from_string("pw"), "alice",
                                    "ws://127.0.0.1:1")
                    .ok());
        REQUIRE(bridge.start().ok()); // nothing listens on port 1: it stays offline
    }

    // Stores row as received and announces it; returns its row id.
    std::int64_t receive(store::MessageRow row) {
        row.sent_at_ms = QDateTime::currentMSecsSinceEpoch();
        row.received_at_ms = row.sent_at_ms;
        auto id = bridge.run_blocking_for_tests(
            [&](qt::ClientSession& s_) { return s_.store().insert_message(row); });
        REQUIRE(id.ok());
        row.id = id.value();
        observer().on_message(row);
        bridge.wait_idle();
        return row.id;
    }

    // The store's copy of a message of bob's conversation, announced as changed.
    void announce_changed(std::int64_t id) {
        auto rows = bridge.store().messages("bob", 50);
        REQUIRE(rows.ok());
        for (const auto& row : rows.value())
            if (row.id == id)
                observer().on_message_changed(row);
        bridge.wait_idle();
    }

    engine::EngineObserver& observer() { return bridge; }

    QString shown(MainWindow& window, int row, int role = Qt::DisplayRole) {
        auto& model = window.message_model();
        return model.data(model.index(row), role).toString();
    }

    test::TempDir dir;
    SessionBridge bridge;
};

QStringList action_texts(QMenu* menu) {
    QStringList texts;
    for (QAction* action : menu->actions())
        texts << action->text().section(QLatin1Char('\t'), 0, 0);
    return texts;
}

QPushButton* button(QWidget& parent, const QString& text) {
    for (auto* b : parent.findChildren<QPushButton*>())
        if (b->text() == text)
            return b;
    return nullptr;
}

// A real identity public key (33 bytes), as a safety number needs.
Bytes identity_key() {
    auto context = crypto::SignalContext::create();
    REQUIRE(context.ok());
    auto identity = crypto::generate_identity(*context.value());
    REQUIRE(identity.ok());
    return identity->key_pair.public_key;
}

TEST_CASE_METHOD(MessagingFixture, "a reply quotes its message in the composer and when sent") {
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    receive(test::incoming("bob", 1, "lunch at noon?"));
    bridge.wait_idle();
    window.reply_to(0);
    CHECK(window.compose_note() == QStringLiteral("Replying to bob: lunch at noon?"));
    window.send_text(QStringLiteral("yes"));
    bridge.wait_idle();
    INFO(window.error_text().toStdString());
    REQUIRE(window.message_model().rowCount() == 2);
    CHECK(shown(window, 1, MessageListModel::QuoteRole) == QStringLiteral("bob: lunch at noon?"));
    CHECK(shown(window, 1).contains(QStringLiteral("┃ bob: lunch at noon?\nyes")));
    CHECK(window.compose_note().isEmpty());
}

TEST_CASE_METHOD(MessagingFixture, "cancelling a reply keeps the typed text and sends no quote") {
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    receive(test::incoming("bob", 1, "hi"));
    bridge.wait_idle();
    window.reply_to(0);
    window.cancel_compose();
    CHECK(window.compose_note().isEmpty());
    window.send_text(QStringLiteral("hello"));
    bridge.wait_idle();
    REQUIRE(window.message_model().rowCount() == 2);
    CHECK(shown(window, 1, MessageListModel::QuoteRole).isEmpty());
}

TEST_CASE_METHOD(MessagingFixture, "only our own recent messages offer Edit and Delete") {
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    receive(test::incoming("bob", 1, "theirs"));
    bridge.wait_idle();
    window.send_text(QStringLiteral("mine"));
    bridge.wait_idle();
    REQUIRE(window.message_model().rowCount() == 2);

    QMenu* theirs = window.message_menu(0);
    REQUIRE(theirs != nullptr);
    CHECK(action_texts(theirs).contains(QStringLiteral("Reply")));
    CHECK(action_texts(theirs).contains(QStringLiteral("React")));
    CHECK(action_texts(theirs).contains(QStringLiteral("Copy")));
    CHECK_FALSE(action_texts(theirs).contains(QStringLiteral("Edit")));
    CHECK_FALSE(window.can_edit(0));

    QMenu* mine = window.message_menu(1);
    REQUIRE(mine != nullptr);
    CHECK(action_texts(mine).contains(QStringLiteral("Edit")));
    CHECK(action_texts(mine).contains(QStringLiteral("Delete for everyone…")));
    CHECK(window.can_edit(1));
    delete theirs;
    delete mine;
}

TEST_CASE_METHOD(MessagingFixture, "the React menu offers common emoji and other ones") {
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    receive(test::incoming("bob", 1, "news"));
    bridge.wait_idle();
    QMenu* menu = window.message_menu(0);
    REQUIRE(menu != nullptr);
    QMenu* react = nullptr;
    for (QAction* action : menu->actions())
        if (action->menu() && action->text() == QStringLiteral("React"))
            react = action->menu();
    REQUIRE(react != nullptr);
    QStringList emoji = action_texts(react);
    CHECK(emoji.contains(QStringLiteral("👍")));
    CHECK(emoji.contains(QStringLiteral("❤️")));
    CHECK(emoji.contains(QStringLiteral("Other…")));
    CHECK(emoji.size() >= 7);
    delete menu;
}

TEST_CASE_METHOD(MessagingFixture, "a reaction is shown under the message with its count") {
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    receive(test::incoming("bob", 1, "news"));
    bridge.wait_idle();
    CHECK(window.react(0, QStringLiteral("👍")).isEmpty());
    bridge.wait_idle();
    CHECK(shown(window, 0, MessageListModel::ReactionsRole) == QStringLiteral("👍 1"));
    CHECK(shown(window, 0).endsWith(QStringLiteral("\n👍 1")));
    // Taking it back leaves no reactions line.
    CHECK(window.react(0, QString()).isEmpty());
    bridge.wait_idle();
    CHECK(shown(window, 0, MessageListModel::ReactionsRole).isEmpty());
}

TEST_CASE_METHOD(MessagingFixture, "editing puts the text in the composer and marks it edited") {
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    window.send_text(QStringLiteral("teh plan"));
    bridge.wait_idle();
    REQUIRE(window.message_model().rowCount() == 1);
    window.start_edit(0);
    CHECK(window.compose_note() == QStringLiteral("Editing your message"));
    bool found = false;
    found = window.composer().text() == QStringLiteral("teh plan");
    CHECK(found);
    window.send_text(QStringLiteral("the plan"));
    bridge.wait_idle();
    INFO(window.error_text().toStdString());
    REQUIRE(window.message_model().rowCount() == 1);
    CHECK(shown(window, 0, MessageListModel::TextRole) == QStringLiteral("the plan"));
    CHECK(window.message_model()
              .data(window.message_model().index(0), MessageListModel::EditedRole)
              .toBool());
    CHECK(shown(window, 0).contains(QStringLiteral("(edited)")));
    CHECK(window.compose_note().isEmpty());
}

TEST_CASE_METHOD(MessagingFixture, "a message deleted for everyone becomes an italic remark") {
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    window.send_text(QStringLiteral("oops"));
    bridge.wait_idle();
    REQUIRE(window.message_model().rowCount() == 1);
    CHECK(window.delete_for_everyone(0).isEmpty());
    bridge.wait_idle();
    auto& model = window.message_model();
    CHECK(model.data(model.index(0), MessageListModel::DeletedRole).toBool());
    CHECK(shown(window, 0).endsWith(QStringLiteral("\nThis message was deleted")));
    CHECK(model.data(model.index(0), Qt::FontRole).value<QFont>().italic());
    CHECK_FALSE(window.can_edit(0));
}

TEST_CASE_METHOD(MessagingFixture, "Copy puts the message text on the clipboard") {
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    receive(test::incoming("bob", 1, "the address"));
    bridge.wait_idle();
    window.copy_message(0);
    CHECK(QGuiApplication::clipboard()->text() == QStringLiteral("the address"));
}

TEST_CASE_METHOD(MessagingFixture, "an expired message says so and offers Send again") {
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    window.send_text(QStringLiteral("lost"));
    bridge.wait_idle();
    auto rows = bridge.store().messages("bob", 10);
    REQUIRE(rows.ok());
    REQUIRE(rows->size() == 1);
    REQUIRE(bridge
                .run_blocking_for_tests([&](qt::ClientSession& s_) {
                    return s_.store().set_status(rows->front().message_id,
                                                 store::MessageStatus::expired);
                })
                .ok());
    observer().on_status(rows->front().message_id, store::MessageStatus::expired);
    bridge.wait_idle();
    CHECK(shown(window, 0, MessageListModel::TickRole)
              .contains(QStringLiteral("expired undelivered")));
    QMenu* menu = window.message_menu(0);
    REQUIRE(menu != nullptr);
    CHECK(action_texts(menu).contains(QStringLiteral("Send again")));
    delete menu;
    CHECK(window.resend(0).isEmpty());
    bridge.wait_idle();
    INFO(window.error_text().toStdString());
    CHECK(window.message_model().rowCount() == 2);
}

TEST_CASE_METHOD(MessagingFixture, "changed and removed messages follow the engine") {
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    std::int64_t first = receive(test::incoming("bob", 1, "one"));
    std::int64_t second = receive(test::incoming("bob", 2, "two"));
    REQUIRE(bridge
                .run_blocking_for_tests([&](qt::ClientSession& s_) {
                    return s_.store().edit_message(first, "one, edited", 1700000000999);
                })
                .ok());
    announce_changed(first);
    CHECK(shown(window, 0, MessageListModel::TextRole) == QStringLiteral("one, edited"));
    window.reply_to(1);
    REQUIRE_FALSE(window.compose_note().isEmpty());
    observer().on_messages_removed("bob", {second});
    bridge.wait_idle();
    CHECK(window.message_model().rowCount() == 1);
    CHECK(window.compose_note().isEmpty()); // the reply had nothing left to quote
    observer().on_messages_removed("carol", {first});
    bridge.wait_idle();
    CHECK(window.message_model().rowCount() == 1);
}

TEST_CASE_METHOD(MessagingFixture, "the disappearing dialog sets the timer shown in the header") {
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    CHECK(window.timer_text().isEmpty());
    QInputDialog* dialog = window.disappearing_dialog();
    REQUIRE(dialog != nullptr);
    CHECK(dialog->comboBoxItems() ==
          QStringList({QStringLiteral("Off"), QStringLiteral("30 seconds"),
                       QStringLiteral("5 minutes"), QStringLiteral("1 hour"),
                       QStringLiteral("1 day"), QStringLiteral("1 week")}));
    dialog->setTextValue(QStringLiteral("5 minutes"));
    dialog->accept();
    bridge.wait_idle();
    INFO(window.error_text().toStdString());
    CHECK(bridge
              .run_blocking_for_tests(
                  [&](qt::ClientSession& s_) { return s_.engine().disappearing("bob"); })
              .value() == 300);
    CHECK(window.timer_text() == QStringLiteral("⏳ 5 minutes"));
    // The engine's remark about the change is in the conversation; a new message carries it.
    window.send_text(QStringLiteral("secret"));
    bridge.wait_idle();
    auto& model = window.message_model();
    REQUIRE(model.rowCount() == 2);
    CHECK(model.data(model.index(1), MessageListModel::TimerRole).toBool());
    CHECK(shown(window, 1).contains(QStringLiteral("⏳")));
    CHECK(window.set_disappearing(0).isEmpty());
    bridge.wait_idle();
    CHECK(window.timer_text().isEmpty());
}

TEST_CASE_METHOD(MessagingFixture, "someone typing is shown until they stop, send, or time out") {
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    observer().on_typing("bob", "bob", true);
    bridge.wait_idle();
    CHECK(window.typing_text() == QStringLiteral("bob is typing…"));
    observer().on_typing("bob", "bob", false);
    bridge.wait_idle();
    CHECK(window.typing_text().isEmpty());

    observer().on_typing("bob", "bob", true);
    bridge.wait_idle();
    receive(test::incoming("bob", 1, "done typing"));
    bridge.wait_idle();
    CHECK(window.typing_text().isEmpty());

    // Typing in another conversation is not shown here.
    observer().on_typing("carol", "carol", true);
    bridge.wait_idle();
    CHECK(window.typing_text().isEmpty());

    window.set_typing_timeout_ms(50);
    observer().on_typing("bob", "bob", true);
    bridge.wait_idle();
    CHECK_FALSE(window.typing_text().isEmpty());
    CHECK(test::wait_until([&] { return window.typing_text().isEmpty(); }, 2000));
}

TEST_CASE_METHOD(MessagingFixture, "the read receipts toggle follows and sets the engine") {
    MainWindow window(bridge);
    bridge.wait_idle();
    QAction& toggle = window.read_receipts_action();
    CHECK(toggle.isCheckable());
    CHECK(toggle.isChecked() == bridge.run_blocking_for_tests([&](qt::ClientSession& s_) {
        return s_.engine().read_receipts();
    }));
    CHECK(window.notifications_menu().actions().contains(&toggle));
    toggle.trigger();
    CHECK_FALSE(bridge.run_blocking_for_tests(
        [&](qt::ClientSession& s_) { return s_.engine().read_receipts(); }));
    toggle.trigger();
    CHECK(bridge.run_blocking_for_tests(
        [&](qt::ClientSession& s_) { return s_.engine().read_receipts(); }));
}

TEST_CASE_METHOD(MessagingFixture, "a mention of us in a group is highlighted") {
    store::GroupRow group = test::group_row(1, "hikers");
    REQUIRE(bridge
                .run_blocking_for_tests([&](qt::ClientSession& s_) {
                    return s_.store().save_group(group, {{"alice", false}, {"bob", true}});
                })
                .ok());
    MainWindow window(bridge);
    bridge.wait_idle();
    std::string peer = store::group_conversation(group.group_id);
    window.open_conversation(peer);
    bridge.wait_idle();
    store::MessageRow plain = test::group_message(1, 1, "bob", "hello all");
    store::MessageRow mention = test::group_message(1, 2, "bob", "@alice look");
    mention.mentions = {"alice"};
    receive(plain);
    bridge.wait_idle();
    receive(mention);
    bridge.wait_idle();
    auto& model = window.message_model();
    REQUIRE(model.rowCount() == 2);
    CHECK_FALSE(model.data(model.index(0), MessageListModel::MentionsUsRole).toBool());
    CHECK(model.data(model.index(1), MessageListModel::MentionsUsRole).toBool());
    CHECK(model.data(model.index(1), Qt::BackgroundRole).isValid());
}

TEST_CASE_METHOD(MessagingFixture, "a changed key shows a banner and holds the composer") {
    crypto::ProtocolAddress bob{"bob", 1};
    REQUIRE(bridge
                .run_blocking_for_tests([&](qt::ClientSession& s_) {
                    return s_.store().save_identity(bob, identity_key());
                })
                .ok());
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.engine().set_verified("bob", true); })
                .ok());
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    CHECK(window.header_shows_verified());
    CHECK(window.identity_banner_text().isEmpty());

    REQUIRE(bridge
                .run_blocking_for_tests([&](qt::ClientSession& s_) {
                    return s_.store().save_identity(bob, identity_key());
                })
                .ok());
    observer().on_identity_changed("bob");
    bridge.wait_idle();
    CHECK(window.identity_banner_text().startsWith(
        QStringLiteral("Your safety number with bob changed.")));
    CHECK(window.identity_banner_offers_accept());
    CHECK_FALSE(window.input_enabled());
    CHECK_FALSE(window.header_shows_verified());

    CHECK(window.accept_new_identity().isEmpty());
    bridge.wait_idle();
    CHECK(window.identity_banner_text().isEmpty());
    CHECK(window.input_enabled());
}

TEST_CASE_METHOD(MessagingFixture, "an unverified contact's new key is a banner without Accept") {
    crypto::ProtocolAddress bob{"bob", 1};
    REQUIRE(bridge
                .run_blocking_for_tests([&](qt::ClientSession& s_) {
                    return s_.store().save_identity(bob, identity_key());
                })
                .ok());
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    REQUIRE(bridge
                .run_blocking_for_tests([&](qt::ClientSession& s_) {
                    return s_.store().save_identity(bob, identity_key());
                })
                .ok());
    observer().on_identity_changed("bob");
    bridge.wait_idle();
    CHECK_FALSE(window.identity_banner_text().isEmpty());
    CHECK_FALSE(window.identity_banner_offers_accept());
    CHECK(window.input_enabled());
    REQUIRE(button(window, QStringLiteral("Dismiss")) != nullptr);
}

TEST_CASE_METHOD(MessagingFixture, "Verify safety number is offered for people, not groups") {
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    QAction* verify = nullptr;
    for (QAction* action : window.conversation_actions().actions())
        if (action->text() == QStringLiteral("Verify safety number…"))
            verify = action;
    REQUIRE(verify != nullptr);
    CHECK(verify->isVisible());
    store::GroupRow group = test::group_row(1, "hikers");
    REQUIRE(bridge
                .run_blocking_for_tests([&](qt::ClientSession& s_) {
                    return s_.store().save_group(group, {{"alice", true}});
                })
                .ok());
    window.open_conversation(store::group_conversation(group.group_id));
    bridge.wait_idle();
    CHECK_FALSE(verify->isVisible());
}

TEST_CASE_METHOD(MessagingFixture,
                 "files to attach are listed in the composer and can be dropped") {
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    QString path = test::write_file(dir, "notes.txt", QByteArray("twelve bytes"));
    window.attach_files({path});
    CHECK(window.attached_files() == QStringList{path});
    CHECK(window.compose_note() == QStringLiteral("📎 notes.txt (12 bytes)"));
    window.cancel_compose();
    CHECK(window.attached_files().isEmpty());

    QMimeData mime;
    mime.setUrls({QUrl::fromLocalFile(path)});
    QDragEnterEvent enter(QPoint(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(window.centralWidget(), &enter);
    CHECK(enter.isAccepted());
    QDropEvent drop(QPointF(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(window.centralWidget(), &drop);
    CHECK(window.attached_files() == QStringList{path});
}

TEST_CASE_METHOD(MessagingFixture, "a received file offers Download and shows its progress") {
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    std::int64_t id = receive(test::incoming("bob", 1, "the report"));
    store::AttachmentRow file;
    file.index = 0;
    file.blob_id = std::string(64, 'a');
    file.key = Bytes(64, 0x01);
    file.digest = Bytes(32, 0x02);
    file.size = 2048;
    file.blob_size = 2100;
    file.file_name = "report.pdf";
    file.content_type = "application/pdf";
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.store().add_attachment(id, file); })
                .ok());
    announce_changed(id);
    CHECK(shown(window, 0).contains(QStringLiteral("📎 report.pdf  ·  2.0 KB")));

    window.show_files_of(0);
    CHECK(window.files_panel().isVisibleTo(&window));
    QPushButton* download = button(window.files_panel(), QStringLiteral("Download"));
    REQUIRE(download != nullptr);
    // Offline, the engine cannot fetch it: the status bar says why.
    download->click();
    CHECK(test::wait_until([&] { return !window.error_text().isEmpty(); }, 2000));

    REQUIRE(bridge
                .run_blocking_for_tests([&](qt::ClientSession& s_) {
                    return s_.store().set_attachment_state(id, 0,
                                                           store::AttachmentState::downloading, "");
                })
                .ok());
    announce_changed(id);
    observer().on_transfer(id, 0, 1024, 2048);
    bridge.wait_idle();
    auto* bar = window.files_panel().findChild<QProgressBar*>();
    REQUIRE(bar != nullptr);
    CHECK(bar->value() == 50);
    CHECK(shown(window, 0).contains(QStringLiteral("downloading 50%")));

    REQUIRE(bridge
                .run_blocking_for_tests([&](qt::ClientSession& s_) {
                    return s_.store().set_attachment_state(id, 0, store::AttachmentState::ready,
                                                           "x");
                })
                .ok());
    announce_changed(id);
    CHECK(button(window.files_panel(), QStringLiteral("Save as…")) != nullptr);
    CHECK(window.files_panel().findChild<QProgressBar*>() == nullptr);
}

ComposerEdit* composer(MainWindow& window) {
    return &window.composer();
}

void press(QWidget* widget, Qt::Key key) {
    QKeyEvent event(QEvent::KeyPress, key, Qt::NoModifier);
    QApplication::sendEvent(widget, &event);
}

TEST_CASE_METHOD(MessagingFixture, "Esc in the composer cancels a reply and Up edits our last") {
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    window.send_text(QStringLiteral("first"));
    bridge.wait_idle();
    receive(test::incoming("bob", 1, "theirs"));
    bridge.wait_idle();
    ComposerEdit* input = composer(window);
    REQUIRE(input != nullptr);
    window.reply_to(1);
    REQUIRE_FALSE(window.compose_note().isEmpty());
    press(input, Qt::Key_Escape);
    CHECK(window.compose_note().isEmpty());
    press(input, Qt::Key_Up);
    CHECK(window.compose_note() == QStringLiteral("Editing your message"));
    CHECK(input->text() == QStringLiteral("first"));
    press(input, Qt::Key_Escape);
    CHECK(window.compose_note().isEmpty());
    CHECK(input->text().isEmpty());
}

TEST_CASE_METHOD(MessagingFixture, "verifying the new number from the banner accepts the key") {
    crypto::ProtocolAddress bob{"bob", 1};
    REQUIRE(bridge
                .run_blocking_for_tests([&](qt::ClientSession& s_) {
                    return s_.store().save_identity(bob, identity_key());
                })
                .ok());
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.engine().set_verified("bob", true); })
                .ok());
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    REQUIRE(bridge
                .run_blocking_for_tests([&](qt::ClientSession& s_) {
                    return s_.store().save_identity(bob, identity_key());
                })
                .ok());
    observer().on_identity_changed("bob");
    bridge.wait_idle();
    REQUIRE_FALSE(window.input_enabled());

    QPushButton* verify = button(window, QStringLiteral("Verify"));
    REQUIRE(verify != nullptr);
    verify->click();
    bridge.wait_idle();
    auto* dialog = window.findChild<SafetyNumberDialog*>();
    INFO(window.error_text().toStdString());
    REQUIRE(dialog != nullptr);
    CHECK(dialog->number_text().size() == 60 + 11);
    dialog->verify_button().click();
    bridge.wait_idle();
    CHECK(window.header_shows_verified());
    CHECK(window.identity_banner_text().isEmpty());
    CHECK(window.input_enabled());
    CHECK_FALSE(bridge.store().trust("bob").value().needs_accept);
}

} // namespace
} // namespace veil::desktop

namespace veil::desktop {
namespace {

// Not run by ctest (hidden): the key-change banner and the safety number dialog, shown for
// VEIL_SHOT_MS milliseconds for a screenshot under a real display (see messaging_live_test.cpp).
TEST_CASE_METHOD(MessagingFixture, "a changed key's banner and dialog, shown for a screenshot",
                 "[.screenshot]") {
    crypto::ProtocolAddress bob{"bob", 1};
    REQUIRE(bridge
                .run_blocking_for_tests([&](qt::ClientSession& s_) {
                    return s_.store().save_identity(bob, identity_key());
                })
                .ok());
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.engine().set_verified("bob", true); })
                .ok());
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    receive(test::incoming("bob", 1, "Did you get my new phone number?"));
    bridge.wait_idle();
    REQUIRE(bridge
                .run_blocking_for_tests([&](qt::ClientSession& s_) {
                    return s_.store().save_identity(bob, identity_key());
                })
                .ok());
    observer().on_identity_changed("bob");
    bridge.wait_idle();
    window.show();
    SafetyNumberDialog* dialog = window.verify_safety_number();
    REQUIRE(dialog != nullptr);
    const char* ms = std::getenv("VEIL_SHOT_MS");
    test::wait_until([] { return false; }, ms ? std::atoi(ms) : 500);
}

TEST_CASE_METHOD(MessagingFixture,
                 "Shift+Enter in the composer makes a line and Enter sends both") {
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    ComposerEdit* input = composer(window);
    input->setText(QStringLiteral("first <b>line</b>"));
    QKeyEvent shift(QEvent::KeyPress, Qt::Key_Return, Qt::ShiftModifier);
    QApplication::sendEvent(input, &shift);
    QKeyEvent s(QEvent::KeyPress, Qt::Key_S, Qt::NoModifier, QStringLiteral("s"));
    QApplication::sendEvent(input, &s);
    CHECK(window.message_model().rowCount() == 0);
    press(input, Qt::Key_Return);
    bridge.wait_idle();
    REQUIRE(window.message_model().rowCount() == 1);
    CHECK(shown(window, 0, MessageListModel::TextRole) == QStringLiteral("first <b>line</b>\ns"));
    CHECK(input->text().isEmpty());
}

TEST_CASE_METHOD(MessagingFixture, "the emoji picker types its emoji into the composer") {
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    composer(window)->setText(QStringLiteral("great "));
    QWidget* picker = window.emoji_picker();
    REQUIRE(picker != nullptr);
    QToolButton* first = picker->findChild<QToolButton*>();
    REQUIRE(first != nullptr);
    const QString emoji = first->text();
    first->click();
    CHECK(composer(window)->text() == QStringLiteral("great ") + emoji);
}

TEST_CASE_METHOD(MessagingFixture, "Show more opens the whole of a long message as plain text") {
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    std::string huge = "<img src=\"http://127.0.0.1/x.png\">" + std::string(1 << 20, 'z');
    receive(test::incoming("bob", 1, huge));
    bridge.wait_idle();
    REQUIRE(window.message_model().rowCount() == 1);
    CHECK(window.message_model()
              .data(window.message_model().index(0), MessageListModel::TruncatedRole)
              .toBool());
    emit window.message_delegate().showMoreRequested(0);
    auto* dialog = window.findChild<QDialog*>();
    REQUIRE(dialog != nullptr);
    auto* text = dialog->findChild<QPlainTextEdit*>();
    REQUIRE(text != nullptr);
    CHECK(text->isReadOnly());
    // Every character is there, in lines short enough to lay out at once.
    CHECK(text->toPlainText().remove(QChar(u'\n')).size() == static_cast<qsizetype>(huge.size()));
    CHECK(text->document()->blockCount() > 100);
    CHECK(text->toPlainText().startsWith(QStringLiteral("<img src=")));
    // The dialog's title names the sender as plain text too.
    CHECK(dialog->windowTitle() == QStringLiteral("Message from bob"));
}

TEST_CASE_METHOD(MessagingFixture, "opening a conversation marks where its unread messages begin") {
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("carol");
    bridge.wait_idle();
    receive(test::incoming("bob", 1, "read before"));
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    window.open_conversation("carol");
    bridge.wait_idle();
    receive(test::incoming("bob", 2, "new one"));
    bridge.wait_idle();
    receive(test::incoming("bob", 3, "new two"));
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    REQUIRE(window.message_model().rowCount() == 3);
    CHECK(window.message_model().unread_marker_row() == 1);
    CHECK(window.message_model()
              .data(window.message_model().index(1), MessageListModel::UnreadMarkerRole)
              .toInt() == 2);
    // It stays while the conversation is open, through new messages.
    receive(test::incoming("bob", 4, "newer"));
    bridge.wait_idle();
    CHECK(window.message_model().unread_marker_row() == 1);
}

TEST_CASE_METHOD(MessagingFixture, "a click on a reply's quote goes to the quoted message") {
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    window.send_text(QStringLiteral("the plan"));
    bridge.wait_idle();
    receive(test::incoming("bob", 1, "something else"));
    bridge.wait_idle();
    REQUIRE(window.message_model().rowCount() == 2);
    window.reply_to(0);
    window.send_text(QStringLiteral("about the plan"));
    bridge.wait_idle();
    REQUIRE(window.message_model().rowCount() == 3);
    CHECK(window.show_quoted(2) == 0);
    CHECK(window.message_view().currentIndex().row() == 0);
    CHECK(window.show_quoted(1) == -1); // not a reply
}

TEST_CASE_METHOD(MessagingFixture, "received markup, & and [*] stay literal in every tooltip, menu "
                                   "and window title") {
    const std::string club = "<b>club</b> [*] & co";
    const std::string file_name = "<img src=\"http://127.0.0.1/x.png\">a&b\tfile.pdf";
    const std::string text = "<a href=\"http://127.0.0.1/\">linkword</a> <style>p{}</style>";
    store::GroupRow group = test::group_row(1, club);
    REQUIRE(bridge
                .run_blocking_for_tests([&](qt::ClientSession& s_) {
                    return s_.store().save_group(group, {{"alice", true}, {"bob", false}});
                })
                .ok());
    REQUIRE(bridge
                .run_blocking_for_tests([&](qt::ClientSession& s_) {
                    return s_.store().set_group_info(group.group_id, club, "", {});
                })
                .ok());
    observer().on_group_changed(group.group_id);
    MainWindow window(bridge);
    window.open_conversation("bob");
    std::int64_t id = receive(test::incoming("bob", 1, text));
    store::AttachmentRow file;
    file.blob_id = std::string(64, 'a');
    file.key = Bytes(64, 0x01);
    file.digest = Bytes(32, 0x02);
    file.size = 2048;
    file.file_name = file_name;
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.store().add_attachment(id, file); })
                .ok());
    announce_changed(id);

    // Every tooltip the window holds, on its widgets, actions and list rows.
    QStringList tooltips;
    for (QWidget* w : window.findChildren<QWidget*>())
        tooltips << w->toolTip();
    for (QAction* a : window.findChildren<QAction*>())
        tooltips << a->toolTip();
    for (QAbstractItemModel* model :
         {static_cast<QAbstractItemModel*>(&window.conversation_model()),
          static_cast<QAbstractItemModel*>(&window.message_model())})
        for (int row = 0; row < model->rowCount(); ++row)
            tooltips << model->data(model->index(row, 0), Qt::ToolTipRole).toString();
    const QString shown_club = QStringLiteral("# ") + QString::fromStdString(club);
    const QString shown_file = QStringLiteral("<img src=\"http://127.0.0.1/x.png\">a&b file.pdf");
    bool club_shown = false, file_shown = false;
    for (const QString& tooltip : tooltips) {
        INFO(tooltip.toStdString());
        CHECK_FALSE(test::tooltip_renders_markup(tooltip));
        const QString shown = test::shown_tooltip(tooltip);
        if (shown.contains(QStringLiteral("club")))
            CHECK(shown.contains(shown_club));
        if (shown.contains(QStringLiteral("file.pdf")))
            CHECK(shown.contains(QStringLiteral("<img src=\"http://127.0.0.1/x.png\">a&b")));
        CHECK_FALSE(shown.contains(QStringLiteral("linkword"))); // message text is no tooltip
        club_shown = club_shown || shown == shown_club;
        file_shown = file_shown || shown.contains(shown_file);
    }
    CHECK(club_shown); // the group's row, whose name the list may elide
    CHECK(file_shown); // the message's row names its file in full

    // The message's menu offers the file by its name, as received.
    QMenu* menu = window.message_menu(0);
    REQUIRE(menu != nullptr);
    bool offered = false;
    for (QAction* action : menu->actions())
        offered = offered || test::shown_label(action->text()) == QStringLiteral("Download ") +
                                                                      shown_file.left(40 - 1) +
                                                                      QChar(u'…');
    INFO(action_texts(menu).join(QLatin1Char('|')).toStdString());
    CHECK(offered);
    delete menu;

    // The encryption view of the group is titled with its name, as received.
    window.open_conversation(store::group_conversation(group.group_id));
    EncryptionDialog* encryption = window.encryption();
    REQUIRE(encryption != nullptr);
    CHECK(test::shown_window_title(*encryption) == QStringLiteral("Encryption — ") + shown_club);
    encryption->close();
}

} // namespace
} // namespace veil::desktop
