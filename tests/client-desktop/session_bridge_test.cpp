#include "session_bridge.h"

#include "desktop_fixture.h"

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

} // namespace
} // namespace veil::desktop
