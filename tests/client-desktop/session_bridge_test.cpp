#include "session_bridge.h"

#include "desktop_fixture.h"

#include <QThread>
#include <QTimer>

#include <atomic>
#include <future>
#include <thread>

namespace veil::desktop {
namespace {

TEST_CASE("the bridge re-emits engine events as Qt signals") {
    test::app();
    SessionBridge bridge;
    std::vector<engine::State> states;
    std::vector<std::string> texts;
    std::vector<store::MessageStatus> statuses;
    QString error;
    QObject::connect(&bridge, &SessionBridge::stateChanged,
                     [&](engine::State s) { states.push_back(s); });
    QObject::connect(&bridge, &SessionBridge::messageAdded,
                     [&](const store::MessageRow& row) { texts.push_back(row.text); });
    QObject::connect(&bridge, &SessionBridge::statusChanged,
                     [&](const QByteArray& id, store::MessageStatus s) {
                         CHECK(id.size() == 16);
                         statuses.push_back(s);
                     });
    QObject::connect(&bridge, &SessionBridge::errorReported, [&](const QString& e) { error = e; });

    engine::EngineObserver& observer = bridge;
    observer.on_state(engine::State::connecting);
    observer.on_state(engine::State::ready);
    observer.on_message(test::incoming("bob", 1, "hello"));
    observer.on_status(test::message_id(1), store::MessageStatus::delivered);
    observer.on_error(make_error(Errc::refused, "the username is taken"));

    CHECK(states == std::vector{engine::State::connecting, engine::State::ready});
    CHECK(bridge.state() == engine::State::ready);
    CHECK(texts == std::vector<std::string>{"hello"});
    CHECK(statuses == std::vector{store::MessageStatus::delivered});
    CHECK(error == QStringLiteral("The username is taken"));
    REQUIRE(bridge.last_error());
    CHECK(bridge.last_error()->code == Errc::refused);
}

TEST_CASE("the bridge re-emits group events with their text made safe to show") {
    test::app();
    SessionBridge bridge;
    QByteArray changed;
    QString warning;
    QStringList unreachable;
    QObject::connect(&bridge, &SessionBridge::groupChanged,
                     [&](const QByteArray& id) { changed = id; });
    QObject::connect(&bridge, &SessionBridge::groupWarning,
                     [&](const QByteArray&, const QString& text) { warning = text; });
    QObject::connect(&bridge, &SessionBridge::groupUnreachable,
                     [&](const QByteArray&, const QStringList& names) { unreachable = names; });

    engine::EngineObserver& observer = bridge;
    observer.on_group_changed(test::group_id(1));
    observer.on_group_warning(test::group_id(1), "refused \xE2\x80\xAE evil");
    observer.on_group_unreachable(test::message_id(1), {"carol", "dave"});

    CHECK(changed.size() == 16);
    CHECK(warning == QStringLiteral("refused <U+202E> evil"));
    CHECK(unreachable == QStringList{QStringLiteral("carol"), QStringLiteral("dave")});
}

TEST_CASE("the bridge re-emits device events and remembers an unlink") {
    test::app();
    SessionBridge bridge;
    QString code, payload, linked_user, read;
    qint64 expires = 0;
    quint32 linked_device = 0;
    qulonglong copied = 0;
    int changes = 0, unlinks = 0;
    QObject::connect(&bridge, &SessionBridge::linkCode,
                     [&](const QString& t, const QString& p, qint64 e) {
                         code = t;
                         payload = p;
                         expires = e;
                     });
    QObject::connect(&bridge, &SessionBridge::linked, [&](const QString& u, quint32 d) {
        linked_user = u;
        linked_device = d;
    });
    QObject::connect(&bridge, &SessionBridge::historyImported, [&](qulonglong n) { copied = n; });
    QObject::connect(&bridge, &SessionBridge::devicesChanged, [&] { ++changes; });
    QObject::connect(&bridge, &SessionBridge::readElsewhere, [&](const QString& c) { read = c; });
    QObject::connect(&bridge, &SessionBridge::unlinked, [&] { ++unlinks; });

    engine::EngineObserver& observer = bridge;
    observer.on_link_code("ABCD-EFGH", "VEIL-LINK:ABCDEFGH", 1234);
    observer.on_linked("alice", 2);
    observer.on_history_imported(14);
    observer.on_devices_changed();
    observer.on_read_elsewhere("bob");
    CHECK_FALSE(bridge.is_unlinked());
    observer.on_unlinked();

    CHECK(code == QStringLiteral("ABCD-EFGH"));
    CHECK(payload == QStringLiteral("VEIL-LINK:ABCDEFGH"));
    CHECK(expires == 1234);
    CHECK(linked_user == QStringLiteral("alice"));
    CHECK(linked_device == 2);
    CHECK(copied == 14);
    CHECK(changes == 1);
    CHECK(read == QStringLiteral("bob"));
    CHECK(unlinks == 1);
    CHECK(bridge.is_unlinked());
    // Not a profile made to link here: nothing to say "linked as".
    CHECK(bridge.link_summary().isEmpty());
}

TEST_CASE("a link profile that is linked says as what, and is no longer discarded") {
    test::app();
    test::TempDir dir;
    SessionBridge bridge;
    REQUIRE(bridge
                .create_link_profile(dir.profile(), SecretBytes::from_string("pw"),
                                     "ws://127.0.0.1:1", "laptop")
                .ok());
    engine::EngineObserver& observer = bridge;
    observer.on_linked("alice", 3);
    observer.on_history_imported(12);
    CHECK(bridge.link_summary() ==
          QStringLiteral("Linked as device 3 of alice. 12 messages copied."));
    bridge.discard_created_profile();
    CHECK(bridge.is_open());
    CHECK(store::AccountStore::exists(dir.profile()));
}

TEST_CASE("a link profile whose device name is refused leaves no files behind") {
    test::app();
    test::TempDir dir;
    SessionBridge bridge;
    auto st = bridge.create_link_profile(dir.profile(), SecretBytes::from_string("pw"),
                                         "ws://127.0.0.1:1", std::string(80, 'x'));
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().code == Errc::invalid_argument);
    CHECK_FALSE(bridge.is_open());
    CHECK_FALSE(std::filesystem::exists(dir.profile()));
}

TEST_CASE("a wrong passphrase is reported in plain words") {
    test::app();
    test::TempDir dir;
    {
        SessionBridge bridge;
        REQUIRE(bridge
                    .create_profile(dir.profile(), SecretBytes::from_string("right"), "alice",
                                    "ws://127.0.0.1:1")
                    .ok());
        CHECK(bridge.username() == QStringLiteral("alice"));
    }
    SessionBridge bridge;
    auto st = bridge.open_profile(dir.profile(), SecretBytes::from_string("wrong"), "");
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().code == Errc::wrong_passphrase);
    CHECK_FALSE(bridge.is_open());
    REQUIRE(bridge.open_profile(dir.profile(), SecretBytes::from_string("right"), "").ok());
    CHECK(bridge.is_open());
}

TEST_CASE("a discarded new profile leaves no files and no folder behind") {
    test::app();
    test::TempDir dir;
    SessionBridge bridge;
    REQUIRE(bridge
                .create_profile(dir.profile(), SecretBytes::from_string("pw"), "alice",
                                "ws://127.0.0.1:1")
                .ok());
    REQUIRE(store::AccountStore::exists(dir.profile()));
    bridge.discard_created_profile();
    CHECK_FALSE(bridge.is_open());
    CHECK_FALSE(std::filesystem::exists(dir.profile()));
}

TEST_CASE("discarding never touches a profile that was opened rather than created") {
    test::app();
    test::TempDir dir;
    {
        SessionBridge bridge;
        REQUIRE(bridge
                    .create_profile(dir.profile(), SecretBytes::from_string("pw"), "alice",
                                    "ws://127.0.0.1:1")
                    .ok());
    }
    SessionBridge bridge;
    REQUIRE(bridge.open_profile(dir.profile(), SecretBytes::from_string("pw"), "").ok());
    bridge.discard_created_profile();
    CHECK(bridge.is_open());
    bridge.close();
    CHECK(store::AccountStore::exists(dir.profile()));
}

// ---- the worker thread (issue 7: the UI never blocks) ------------------------------------------

// A profile for the thread tests: created on a relay address nobody listens on.
void create_alice(SessionBridge& bridge, const test::TempDir& dir) {
    REQUIRE(bridge
                .create_profile(dir.profile(), SecretBytes::from_string("pw"), "alice",
                                "ws://127.0.0.1:1")
                .ok());
}

TEST_CASE("the session lives on a worker thread and its events arrive on the GUI thread") {
    QApplication& app = test::app();
    test::TempDir dir;
    SessionBridge bridge;
    create_alice(bridge, dir);

    // Inside a job: the thread the engine, the store and the transport belong to.
    auto worker = bridge.run_blocking_for_tests([](qt::ClientSession&) {
        return std::make_pair(QThread::currentThread(), std::this_thread::get_id());
    });
    CHECK(worker.first != app.thread());
    CHECK(worker.second != std::this_thread::get_id());

    // The engine's state changes (connecting to a relay that is not there) are emitted here.
    std::vector<QThread*> emitted_on;
    QObject::connect(&bridge, &SessionBridge::stateChanged,
                     [&](engine::State) { emitted_on.push_back(QThread::currentThread()); });
    REQUIRE(bridge.start().ok());
    REQUIRE(test::wait_until([&] { return !emitted_on.empty(); }, 5000));
    for (QThread* thread : emitted_on)
        CHECK(thread == app.thread());
}

TEST_CASE("the GUI keeps turning and reading while the worker is busy") {
    test::app();
    test::TempDir dir;
    SessionBridge bridge;
    create_alice(bridge, dir);
    REQUIRE(bridge
                .run_blocking_for_tests([](qt::ClientSession& s) {
                    return s.store().insert_message(test::incoming("bob", 1, "before the wait"));
                })
                .ok());

    // The worker waits on a latch only this test opens.
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::atomic<bool> job_started{false};
    bridge.post([released, &job_started](qt::ClientSession&) {
        job_started = true;
        released.wait();
    });
    REQUIRE(test::wait_until([&] { return job_started.load(); }, 5000));

    // A 5 ms timer on the GUI thread still fires, and the read connection still answers.
    int ticks = 0;
    QTimer timer;
    timer.setInterval(5);
    QObject::connect(&timer, &QTimer::timeout, [&] { ++ticks; });
    timer.start();
    CHECK(test::wait_until([&] { return ticks >= 5; }, 5000));
    auto rows = bridge.store().messages("bob", 10);
    REQUIRE(rows.ok());
    REQUIRE(rows->size() == 1);
    CHECK(rows->front().text == "before the wait");

    // A result asked for meanwhile arrives once the worker is free again.
    bool answered = false;
    bridge.call([](qt::ClientSession& s) { return s.store().unread("bob"); }, nullptr,
                [&](const Result<int>& unread) { answered = unread.ok() && unread.value() == 1; });
    QCoreApplication::processEvents();
    CHECK_FALSE(answered);
    release.set_value();
    bridge.wait_idle();
    CHECK(answered);
}

TEST_CASE("events and results queued before close are dropped, not delivered") {
    test::app();
    test::TempDir dir;
    SessionBridge bridge;
    create_alice(bridge, dir);
    int added = 0;
    bool answered = false;
    QObject::connect(&bridge, &SessionBridge::messageAdded,
                     [&](const store::MessageRow&) { ++added; });

    // The job stores and announces a message (queued for the GUI thread) and a result; the GUI
    // thread sees neither before the close.
    std::promise<void> done;
    std::future<void> job_done = done.get_future();
    bridge.call(
        [](qt::ClientSession& s) {
            auto sent = s.engine().send_text("bob", "queued before close");
            return sent.ok();
        },
        nullptr, [&](bool) { answered = true; });
    bridge.post([&done](qt::ClientSession&) { done.set_value(); });
    REQUIRE(job_done.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    bridge.close();
    CHECK_FALSE(bridge.is_open());
    QCoreApplication::processEvents();
    QCoreApplication::sendPostedEvents();
    CHECK(added == 0);
    CHECK_FALSE(answered);
}

TEST_CASE("a bridge destroyed with events still queued for it does not crash") {
    test::app();
    test::TempDir dir;
    auto bridge = std::make_unique<SessionBridge>();
    create_alice(*bridge, dir);
    int added = 0;
    QObject::connect(bridge.get(), &SessionBridge::messageAdded,
                     [&](const store::MessageRow&) { ++added; });
    std::promise<void> done;
    std::future<void> job_done = done.get_future();
    bridge->post([&done](qt::ClientSession& s) {
        (void)s.engine().send_text("bob", "queued before the bridge went");
        done.set_value();
    });
    REQUIRE(job_done.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    bridge.reset();
    QCoreApplication::processEvents();
    QCoreApplication::sendPostedEvents();
    CHECK(added == 0);
}

TEST_CASE("the read connection follows a passphrase change") {
    test::app();
    test::TempDir dir;
    SessionBridge bridge;
    create_alice(bridge, dir);
    store::KdfParams cheap{1, 64, 1};
    REQUIRE(bridge
                .change_passphrase(SecretBytes::from_string("pw"), SecretBytes::from_string("new"),
                                   cheap)
                .ok());
    REQUIRE(bridge.reads_ready());
    CHECK(bridge.username() == QStringLiteral("alice"));
    REQUIRE(bridge
                .run_blocking_for_tests([](qt::ClientSession& s) {
                    return s.store().insert_message(test::incoming("bob", 2, "after the change"));
                })
                .ok());
    auto rows = bridge.store().messages("bob", 10);
    REQUIRE(rows.ok());
    REQUIRE(rows->size() == 1);
    CHECK(rows->front().text == "after the change");
}

} // namespace
} // namespace veil::desktop
