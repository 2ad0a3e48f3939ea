// Issue 7: no action of the main window waits for the session's worker thread. Each test holds
// the worker on a latch only the test opens (a job that waits on it), starts an action, checks
// that the GUI thread keeps turning (a 5 ms timer fires) and that the action's control shows
// that it waits, then releases the worker and checks the answer lands. The engine is never
// connected (port 1 on loopback has no relay): what is checked is what it stores and answers.
#include "main_window.h"

#include "composer_edit.h"
#include "desktop_fixture.h"
#include "encryption_dialog.h"
#include "fake_keyring.h"
#include "group_details_dialog.h"
#include "group_panel.h"
#include "new_group_dialog.h"
#include "safety_number_dialog.h"
#include "session_bridge.h"
#include "settings_dialog.h"
#include "worker_latch.h"

#include <QAction>
#include <QInputDialog>
#include <QMenu>
#include <QPushButton>
#include <QTimer>

#include <QThread>

#include <atomic>
#include <future>
#include <memory>

namespace veil::desktop {
namespace {

using test::gui_turns;
using test::WorkerLatch;

// Counts the store's uses (store::set_store_use_hook: opening a file, preparing or running a
// statement) on the GUI thread and on every other thread while it lives.
class StoreThreadProbe {
public:
    StoreThreadProbe() {
        s_gui = QCoreApplication::instance()->thread();
        s_on_gui = 0;
        s_elsewhere = 0;
        store::set_store_use_hook(&StoreThreadProbe::note);
    }
    ~StoreThreadProbe() { store::set_store_use_hook(nullptr); }
    StoreThreadProbe(const StoreThreadProbe&) = delete;
    StoreThreadProbe& operator=(const StoreThreadProbe&) = delete;

    int on_gui() const { return s_on_gui; }
    int elsewhere() const { return s_elsewhere; }

private:
    static void note() {
        if (QThread::currentThread() == s_gui.load())
            ++s_on_gui;
        else
            ++s_elsewhere;
    }
    static inline std::atomic<QThread*> s_gui{nullptr};
    static inline std::atomic<int> s_on_gui{0};
    static inline std::atomic<int> s_elsewhere{0};
};

struct AsyncFixture {
    AsyncFixture() {
        test::app();
        REQUIRE(bridge
                    .create_profile(dir.profile(), SecretBytes::from_string("pw"), "alice",
                                    "ws://127.0.0.1:1")
                    .ok());
        REQUIRE(bridge.start().ok()); // nothing listens on port 1: it stays offline
        add_contact("bob");
    }

    void add_contact(const std::string& name) {
        REQUIRE(bridge
                    .run_blocking_for_tests(
                        [&](qt::ClientSession& s) { return s.engine().add_contact(name); })
                    .ok());
    }

    void set_blocked(const std::string& name, bool blocked) {
        REQUIRE(bridge
                    .run_blocking_for_tests(
                        [&](qt::ClientSession& s) { return s.engine().set_blocked(name, blocked); })
                    .ok());
    }

    const store::MessageRow& row(MainWindow& window, int at) {
        return window.message_model().message_at(at);
    }

    test::TempDir dir;
    SessionBridge bridge;
};

TEST_CASE_METHOD(AsyncFixture, "a message sent while the worker is busy shows at once as sending") {
    MainWindow window(bridge);
    window.open_conversation("bob");
    WorkerLatch latch(bridge);
    window.send_text(QStringLiteral("hello while busy"));
    REQUIRE(window.message_model().rowCount() == 1);
    CHECK(row(window, 0).text == "hello while busy");
    CHECK(row(window, 0).status == store::MessageStatus::queued);
    CHECK(row(window, 0).id < 0); // not stored yet
    CHECK(window.composer().text().isEmpty());
    CHECK(gui_turns());

    latch.release();
    bridge.wait_idle();
    REQUIRE(window.message_model().rowCount() == 1);
    CHECK(row(window, 0).id > 0); // the engine's own row took its place
    CHECK(row(window, 0).text == "hello while busy");
    CHECK(row(window, 0).status == store::MessageStatus::queued);
}

TEST_CASE_METHOD(AsyncFixture, "a send the engine refuses turns its bubble failed and Send "
                               "again sends it") {
    MainWindow window(bridge);
    window.open_conversation("bob");
    {
        WorkerLatch latch(bridge);
        // Blocked on the worker before the send runs there; the window does not know yet.
        bridge.post([](qt::ClientSession& s) { (void)s.engine().set_blocked("bob", true); });
        window.send_text(QStringLiteral("refused later"));
        REQUIRE(window.message_model().rowCount() == 1);
        CHECK(row(window, 0).status == store::MessageStatus::queued);
        CHECK(gui_turns());
    }
    bridge.wait_idle();
    REQUIRE(window.message_model().rowCount() == 1);
    CHECK(row(window, 0).status == store::MessageStatus::failed);
    CHECK(row(window, 0).text == "refused later");
    CHECK_FALSE(window.error_text().isEmpty());
    QMenu* menu = window.message_menu(0);
    REQUIRE(menu);
    bool offers_resend = false;
    for (QAction* action : menu->actions())
        offers_resend = offers_resend || action->text() == QStringLiteral("Send again");
    CHECK(offers_resend);
    delete menu;

    set_blocked("bob", false);
    CHECK(window.resend(0).isEmpty());
    CHECK(row(window, 0).status == store::MessageStatus::queued); // sending again
    bridge.wait_idle();
    REQUIRE(window.message_model().rowCount() == 1);
    CHECK(row(window, 0).id > 0);
    CHECK(row(window, 0).status != store::MessageStatus::failed);
    auto stored = bridge.store().messages("bob", 10);
    REQUIRE(stored.ok());
    REQUIRE(stored->size() == 1);
    CHECK(stored->front().text == "refused later");
}

TEST_CASE_METHOD(AsyncFixture, "an edit the engine refuses puts the old text back and says why") {
    MainWindow window(bridge);
    window.open_conversation("bob");
    window.send_text(QStringLiteral("the original"));
    bridge.wait_idle();
    REQUIRE(window.message_model().rowCount() == 1);
    REQUIRE(window.can_edit(0));

    window.start_edit(0);
    // Longer than a message may be: the engine refuses it (the composer does not count).
    const QString too_long(70 * 1024, QLatin1Char('x'));
    {
        WorkerLatch latch(bridge);
        window.send_text(too_long);
        CHECK(row(window, 0).text == too_long.toStdString()); // shown at once
        CHECK(gui_turns());
    }
    bridge.wait_idle();
    CHECK(row(window, 0).text == "the original");
    CHECK(row(window, 0).edited_at_ms == 0);
    CHECK(window.error_text().contains(QStringLiteral("edit was not saved")));

    // An edit the engine takes stays.
    window.start_edit(0);
    window.send_text(QStringLiteral("the edit"));
    bridge.wait_idle();
    CHECK(row(window, 0).text == "the edit");
    CHECK(row(window, 0).edited_at_ms > 0);
}

TEST_CASE_METHOD(AsyncFixture, "a reaction and a deletion while the worker is busy land when "
                               "it is free") {
    MainWindow window(bridge);
    window.open_conversation("bob");
    window.send_text(QStringLiteral("react to me"));
    bridge.wait_idle();
    REQUIRE(window.message_model().rowCount() == 1);
    {
        WorkerLatch latch(bridge);
        CHECK(window.react(0, QStringLiteral("👍")).isEmpty());
        REQUIRE(row(window, 0).reactions.size() == 1); // shown at once
        CHECK(row(window, 0).reactions.front().emoji == "👍");
        CHECK(gui_turns());
    }
    bridge.wait_idle();
    REQUIRE(row(window, 0).reactions.size() == 1);
    CHECK(row(window, 0).reactions.front().emoji == "👍");
    CHECK_FALSE(window.error_text().contains(QStringLiteral("react")));
    {
        WorkerLatch latch(bridge);
        CHECK(window.delete_for_everyone(0).isEmpty());
        CHECK_FALSE(row(window, 0).deleted); // the engine says when it is gone
        CHECK(gui_turns());
    }
    bridge.wait_idle();
    CHECK(row(window, 0).deleted);
}

TEST_CASE_METHOD(AsyncFixture, "a refused reaction takes back only what it showed, never a newer "
                               "copy from the engine") {
    MainWindow window(bridge);
    window.open_conversation("bob");
    window.send_text(QStringLiteral("react to me"));
    bridge.wait_idle();
    REQUIRE(window.message_model().rowCount() == 1);
    const store::MessageRow stored = row(window, 0);
    REQUIRE(stored.reactions.empty());

    SECTION("with nothing newer, the bubble is as it was") {
        {
            WorkerLatch latch(bridge);
            // Not one emoji: the engine refuses it.
            CHECK(window.react(0, QStringLiteral("not one emoji")).isEmpty());
            REQUIRE(row(window, 0).reactions.size() == 1); // shown at once
        }
        bridge.wait_idle();
        CHECK(row(window, 0).reactions.empty());
        CHECK(row(window, 0).text == "react to me");
        CHECK_FALSE(window.error_text().isEmpty());
    }
    SECTION("an edit and another device's reaction that came meanwhile stay") {
        store::MessageRow newer = stored;
        newer.text = "edited on another device";
        newer.edited_at_ms = stored.sent_at_ms + 1000;
        newer.reactions.push_back({"bob", "❤️", stored.sent_at_ms + 2000});
        {
            WorkerLatch latch(bridge);
            CHECK(window.react(0, QStringLiteral("not one emoji")).isEmpty());
            REQUIRE(row(window, 0).reactions.size() == 1);
            // The engine's fresh copy arrives before its refusal of our reaction.
            bridge.on_message_changed(newer);
            REQUIRE(row(window, 0).text == "edited on another device");
        }
        bridge.wait_idle();
        CHECK(row(window, 0).text == "edited on another device");
        CHECK(row(window, 0).edited_at_ms == newer.edited_at_ms);
        REQUIRE(row(window, 0).reactions.size() == 1);
        CHECK(row(window, 0).reactions.front().reactor == "bob");
        CHECK_FALSE(window.error_text().isEmpty());
    }
    SECTION("a deletion that came meanwhile stays") {
        store::MessageRow newer = stored;
        newer.deleted = true;
        newer.text.clear();
        {
            WorkerLatch latch(bridge);
            CHECK(window.react(0, QStringLiteral("not one emoji")).isEmpty());
            bridge.on_message_changed(newer);
        }
        bridge.wait_idle();
        CHECK(row(window, 0).deleted);
        CHECK(row(window, 0).text.empty());
    }
}

TEST_CASE_METHOD(AsyncFixture, "a message deleted for everyone while it is still sending is "
                               "deleted once it is stored") {
    MainWindow window(bridge);
    window.open_conversation("bob");
    {
        WorkerLatch latch(bridge);
        window.send_text(QStringLiteral("oops, wrong chat"));
        REQUIRE(window.message_model().rowCount() == 1);
        REQUIRE(row(window, 0).id < 0); // still sending: the engine has no id for it yet
        CHECK(window.delete_for_everyone(0).isEmpty());
        CHECK(gui_turns());
    }
    bridge.wait_idle();
    REQUIRE(window.message_model().rowCount() == 1);
    CHECK(row(window, 0).id > 0);
    CHECK(row(window, 0).deleted);
    auto stored = bridge.store().messages("bob", 10);
    REQUIRE(stored);
    REQUIRE(stored->size() == 1);
    CHECK(stored->front().deleted);
}

TEST_CASE_METHOD(AsyncFixture, "the disappearing timer is set while the GUI keeps turning") {
    MainWindow window(bridge);
    window.open_conversation("bob");
    {
        WorkerLatch latch(bridge);
        CHECK(window.set_disappearing(3600).isEmpty());
        CHECK(window.timer_text().isEmpty());
        CHECK(gui_turns());
    }
    bridge.wait_idle();
    CHECK(window.timer_text().contains(QStringLiteral("1 hour")));
}

TEST_CASE_METHOD(AsyncFixture, "a group refused by the engine leaves the dialog's input intact") {
    MainWindow window(bridge);
    NewGroupDialog* dialog = window.new_group();
    REQUIRE(dialog);
    {
        WorkerLatch latch(bridge);
        dialog->fill(QStringLiteral("hikers"), QStringLiteral("bob, carol"));
        dialog->submit();
        CHECK(dialog->waiting()); // busy: the form is disabled until the answer
        CHECK(gui_turns());
    }
    bridge.wait_idle();
    // Offline, the engine cannot ask the relay: the dialog says so and keeps what was typed.
    CHECK_FALSE(dialog->waiting());
    CHECK(dialog->error_text().contains(QStringLiteral("connection to the relay")));
    CHECK(dialog->name_text() == QStringLiteral("hikers"));
    CHECK(dialog->members_text() == QStringLiteral("bob, carol"));
    CHECK_FALSE(store::is_group_conversation(window.open_peer())); // no group was opened
    // A name the engine refuses (three bytes a character, over its 200) says why too.
    dialog->fill(QString(100, QChar(0x6f22)), QStringLiteral("bob"));
    dialog->submit();
    bridge.wait_idle();
    CHECK_FALSE(dialog->waiting());
    CHECK_FALSE(dialog->error_text().isEmpty());
    CHECK(dialog->name_text() == QString(100, QChar(0x6f22)));
}

TEST_CASE_METHOD(AsyncFixture, "create_group reports a late refusal in the status bar") {
    MainWindow window(bridge);
    {
        WorkerLatch latch(bridge);
        CHECK(window.create_group(QStringLiteral("hikers"), {"bob"}).isEmpty());
        CHECK(gui_turns());
    }
    bridge.wait_idle();
    CHECK(window.error_text().contains(QStringLiteral("was not created")));
    CHECK_FALSE(store::is_group_conversation(window.open_peer()));
}

TEST_CASE_METHOD(AsyncFixture, "blocking shows a busy button until the engine answers") {
    MainWindow window(bridge);
    window.open_conversation("bob");
    {
        WorkerLatch latch(bridge);
        CHECK(window.set_blocked("bob", true).isEmpty());
        CHECK_FALSE(window.block_button().isEnabled());
        CHECK(window.block_button().text() == QStringLiteral("Blocking…"));
        CHECK_FALSE(window.is_blocked("bob"));
        CHECK(gui_turns());
    }
    bridge.wait_idle();
    CHECK(window.block_button().isEnabled());
    CHECK(window.is_blocked("bob"));
    CHECK(window.block_button().text().startsWith(QStringLiteral("Unblock")));
}

TEST_CASE_METHOD(AsyncFixture, "settings writes show at once and the engine has the last word") {
    MainWindow window(bridge);
    NotificationSettings quiet = window.notification_settings();
    quiet.enabled = false;
    {
        WorkerLatch latch(bridge);
        CHECK(window.set_notification_settings(quiet).isEmpty());
        CHECK_FALSE(window.notification_settings().enabled);
        window.set_read_receipts(false, {});
        CHECK_FALSE(window.read_receipts_action().isChecked());
        CHECK(gui_turns());
    }
    bridge.wait_idle();
    CHECK_FALSE(window.notification_settings().enabled);
    CHECK_FALSE(window.read_receipts_action().isChecked());
    CHECK_FALSE(bridge.read_receipts());
}

TEST_CASE_METHOD(AsyncFixture, "the safety number dialog works the number out off the GUI "
                               "thread, and closes with the reason when there is none") {
    MainWindow window(bridge);
    window.open_conversation("bob");
    SafetyNumberDialog* dialog = nullptr;
    {
        WorkerLatch latch(bridge);
        dialog = window.verify_safety_number();
        REQUIRE(dialog);
        CHECK(dialog->busy());
        CHECK_FALSE(dialog->verify_button().isEnabled());
        CHECK(gui_turns());
    }
    QPointer<SafetyNumberDialog> watched(dialog);
    bridge.wait_idle();
    // No message was exchanged with bob: there is no key, hence no number.
    CHECK(window.error_text().contains(QStringLiteral("safety number cannot be shown")));
    CHECK(test::wait_until([&] { return watched.isNull(); }, 5000));
}

TEST_CASE_METHOD(AsyncFixture, "the encryption view loads and repairs off the GUI thread") {
    MainWindow window(bridge);
    window.open_conversation("bob");
    EncryptionDialog* dialog = nullptr;
    {
        WorkerLatch latch(bridge);
        dialog = window.encryption();
        REQUIRE(dialog);
        CHECK(dialog->busy());
        CHECK(dialog->lines().isEmpty());
        CHECK(gui_turns());
    }
    bridge.wait_idle();
    CHECK_FALSE(dialog->busy());
    CHECK(dialog->lines().value(0).startsWith(QStringLiteral("bob")));
    {
        WorkerLatch latch(bridge);
        dialog->repair_button().click();
        CHECK_FALSE(dialog->repair_button().isEnabled());
        CHECK(gui_turns());
    }
    bridge.wait_idle();
    CHECK(dialog->repair_button().isEnabled());
    CHECK_FALSE(dialog->message_text().isEmpty());
}

TEST_CASE_METHOD(AsyncFixture, "answers for a conversation or window that is gone touch "
                               "nothing") {
    add_contact("carol");
    auto window = std::make_unique<MainWindow>(bridge);
    window->open_conversation("bob");
    window->send_text(QStringLiteral("first"));
    bridge.wait_idle();
    {
        WorkerLatch latch(bridge);
        // Answers queued for bob's conversation, then carol's is opened.
        bridge.post([](qt::ClientSession& s) { (void)s.engine().set_blocked("bob", true); });
        window->send_text(QStringLiteral("to bob, refused"));
        window->react(0, QStringLiteral("❤"));
        window->start_edit(0);
        window->send_text(QString(70 * 1024, QLatin1Char('y')));
        window->open_conversation("carol");
        CHECK(gui_turns());
    }
    bridge.wait_idle();
    CHECK(window->open_peer() == "carol");
    CHECK(window->message_model().rowCount() == 0); // nothing of bob's came into carol's
    CHECK(window->error_text().contains(QStringLiteral("was not saved")));

    // Back in bob's conversation the refused message waits with "Send again".
    window->open_conversation("bob");
    bridge.wait_idle();
    const int last = window->message_model().rowCount() - 1;
    REQUIRE(last >= 1);
    CHECK(row(*window, last).text == "to bob, refused"); // after the stored ones
    CHECK(row(*window, last).status == store::MessageStatus::failed);

    // The window and its dialogs go while answers for them are queued.
    {
        WorkerLatch latch(bridge);
        window->open_conversation("carol");
        window->send_text(QStringLiteral("to carol"));
        window->verify_safety_number();
        window->encryption();
        window->set_blocked("carol", true);
        window->set_disappearing(60);
        window.reset();
        CHECK(gui_turns());
    }
    bridge.wait_idle();
    SUCCEED("no crash, nothing touched the freed window");
}

TEST_CASE_METHOD(AsyncFixture, "answers queued when the profile closes are dropped") {
    MainWindow window(bridge);
    window.open_conversation("bob");
    {
        WorkerLatch latch(bridge);
        window.send_text(QStringLiteral("queued before close"));
        window.set_blocked("bob", true);
        window.encryption();
        latch.release();
        bridge.close();
    }
    QCoreApplication::processEvents();
    QCoreApplication::sendPostedEvents();
    CHECK_FALSE(bridge.is_open());
    CHECK(window.message_model().rowCount() == 1); // the bubble as it was; nothing crashed
}

TEST_CASE_METHOD(AsyncFixture, "every read of the window waits while a passphrase change holds "
                               "the database") {
    MainWindow window(bridge);
    window.open_conversation("bob");
    window.send_text(QStringLiteral("before the change"));
    bridge.wait_idle();

    WorkerLatch latch(bridge);
    // The change is queued behind the latch: the read connection is away from now on.
    std::optional<Status> changed;
    bridge.change_passphrase(SecretBytes::from_string("pw"), SecretBytes::from_string("new"),
                             store::KdfParams{1, 64, 1}, [&](Status st) { changed = st; });
    REQUIRE_FALSE(bridge.reads_ready());

    // A GUI timer goes through every read path the window has, many times over.
    int rounds = 0;
    QTimer timer;
    timer.setInterval(2);
    QObject::connect(&timer, &QTimer::timeout, [&] {
        ++rounds;
        window.open_conversation(rounds % 2 ? "bob" : "carol");
        window.step_conversation(1);
        window.filter_conversations(QStringLiteral("b"));
        delete window.disappearing_dialog();
        delete window.settings();
        window.set_remember(true);
        (void)window.edit_group();
        (void)bridge.username();
        (void)bridge.relay_url();
        (void)bridge.read_receipts();
        // Engine events that read the store (they are held until the reader is back).
        static_cast<engine::EngineObserver&>(bridge).on_group_changed(test::group_id(1));
        static_cast<engine::EngineObserver&>(bridge).on_group_unreachable(test::message_id(1),
                                                                          {"carol"});
        static_cast<engine::EngineObserver&>(bridge).on_identity_changed("bob");
        QEvent activate(QEvent::ActivationChange);
        QApplication::sendEvent(&window, &activate);
    });
    timer.start();
    CHECK(test::wait_until([&] { return rounds >= 30; }, 60000));
    timer.stop();
    CHECK_FALSE(bridge.reads_ready());

    latch.release();
    REQUIRE(test::wait_until([&] { return changed.has_value(); }, 60000));
    CHECK(changed->ok());
    REQUIRE(bridge.reads_ready());
    window.open_conversation("bob");
    bridge.wait_idle();
    REQUIRE(window.message_model().rowCount() == 1);
    CHECK(row(window, 0).text == "before the change");
}

TEST_CASE_METHOD(AsyncFixture, "no store call runs on the GUI thread in the everyday flows of an "
                               "open profile") {
    // A group with members and a message from bob, stored before the probe starts.
    store::GroupRow group = test::group_row(1, "hikers");
    REQUIRE(bridge
                .run_blocking_for_tests([&](qt::ClientSession& s) {
                    return s.store().save_group(group, {{"alice", true}, {"bob", false}});
                })
                .ok());
    REQUIRE(bridge
                .run_blocking_for_tests([&](qt::ClientSession& s) {
                    return s.store().set_group_info(group.group_id, "hikers", "", {});
                })
                .ok());
    auto receive = [&](const store::MessageRow& row) {
        auto id = bridge.run_blocking_for_tests(
            [&](qt::ClientSession& s) { return s.store().insert_message(row); });
        REQUIRE(id.ok());
        store::MessageRow stored = row;
        stored.id = id.value();
        static_cast<engine::EngineObserver&>(bridge).on_message(stored);
    };
    receive(test::incoming("bob", 1, "hello alice"));
    test::FakeKeyring keyring;
    const std::string group_peer = store::group_conversation(group.group_id);

    StoreThreadProbe probe;
    MainWindow window(bridge);
    window.set_keyring(&keyring);
    bridge.wait_idle();
    // Open a conversation, send, receive, react.
    window.open_conversation("bob");
    bridge.wait_idle();
    REQUIRE(window.message_model().rowCount() == 1);
    window.send_text(QStringLiteral("hello bob"));
    bridge.wait_idle();
    receive(test::incoming("bob", 2, "how are you"));
    bridge.wait_idle();
    REQUIRE(window.message_model().rowCount() == 3);
    CHECK(window.react(0, QStringLiteral("👍")).isEmpty());
    bridge.wait_idle();
    CHECK(window.message_model().message_at(0).reactions.size() == 1);
    // The header's menus and dialogs, the encryption view, the safety number.
    delete window.disappearing_dialog();
    CHECK(window.set_disappearing(60).isEmpty());
    delete window.encryption();
    delete window.verify_safety_number();
    bridge.wait_idle();
    // Group details and the members panel.
    window.open_conversation(group_peer);
    bridge.wait_idle();
    REQUIRE(window.open_peer() == group_peer);
    delete window.edit_group();
    static_cast<engine::EngineObserver&>(bridge).on_group_changed(group.group_id);
    static_cast<engine::EngineObserver&>(bridge).on_group_unreachable(test::message_id(1),
                                                                      {"carol"});
    bridge.wait_idle();
    // Settings, remembering the key, search, the list, coming to the front, a key change.
    delete window.settings();
    CHECK(window.set_remember(true).isEmpty());
    window.search(QStringLiteral("hello"));
    window.step_conversation(1);
    window.filter_conversations(QStringLiteral("b"));
    QEvent activate(QEvent::ActivationChange);
    QApplication::sendEvent(&window, &activate);
    static_cast<engine::EngineObserver&>(bridge).on_identity_changed("bob");
    bridge.wait_idle();

    CHECK(probe.on_gui() == 0);
    CHECK(probe.elsewhere() > 0); // the reader and the worker did use it
    // The probe sees a read on the GUI thread when there is one.
    (void)bridge.store().contacts();
    CHECK(probe.on_gui() > 0);
}

} // namespace
} // namespace veil::desktop
