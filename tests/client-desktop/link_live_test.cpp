// The desktop app's session linked to a terminal profile's account on a real relay: a real
// veil-relay process on loopback, real `veil` processes for the terminal side and for a contact,
// and the desktop's SessionBridge (its real engine, store and QtWebSockets transport) in this
// process.
#ifdef VEIL_RELAY_BIN
#include "session_bridge.h"

#include "desktop_fixture.h"
#include "live_relay.h"
#include "support/process.h"

#include <csignal>
#include <map>
#include <regex>

namespace veil::desktop {
namespace {

using namespace std::chrono_literals;

struct Cli {
    std::filesystem::path dir;
    std::filesystem::path profile;
    std::string relay;
    std::string passphrase;

    std::vector<std::string> argv(std::vector<std::string> verb) const {
        std::vector<std::string> a = {VEIL_CLI_BIN, "--profile", profile.string(), "--relay", relay,
                                      "--timeout",  "20"};
        a.insert(a.end(), verb.begin(), verb.end());
        return a;
    }
    std::map<std::string, std::string> env() const { return {{"VEIL_PASSPHRASE", passphrase}}; }
    veil::test::Run run(std::vector<std::string> verb) const {
        return veil::test::run(argv(std::move(verb)), env(), dir, "veil");
    }
};

using test::LiveRelay;

int count(const std::string& haystack, const std::string& needle) {
    int n = 0;
    for (auto at = haystack.find(needle); at != std::string::npos;
         at = haystack.find(needle, at + 1))
        ++n;
    return n;
}

TEST_CASE("a desktop profile linked to a terminal account gets its messages and shows what the "
          "terminal sent, and the terminal shows what the desktop sent") {
    test::app();
    test::TempDir dir;
    LiveRelay relay(dir.root());
    const std::string url = relay.url;

    Cli terminal{dir.root(), dir.root() / "terminal", url, "terminal passphrase"};
    Cli bob{dir.root(), dir.root() / "bob", url, "bob passphrase"};
    REQUIRE(terminal.run({"register", "alice"}).code == 0);
    REQUIRE(bob.run({"register", "bob"}).code == 0);

    // The desktop shows a code; the terminal enters it.
    SessionBridge desktop;
    QString code;
    std::optional<quint32> linked_as;
    std::vector<store::MessageRow> rows;
    std::map<QByteArray, store::MessageStatus> statuses;
    QObject::connect(&desktop, &SessionBridge::linkCode,
                     [&](const QString& text, const QString&, qint64) { code = text; });
    QObject::connect(&desktop, &SessionBridge::linked,
                     [&](const QString&, quint32 device) { linked_as = device; });
    QObject::connect(&desktop, &SessionBridge::messageAdded,
                     [&](const store::MessageRow& row) { rows.push_back(row); });
    QObject::connect(&desktop, &SessionBridge::statusChanged,
                     [&](const QByteArray& id, store::MessageStatus s) { statuses[id] = s; });
    REQUIRE(desktop
                .create_link_profile(dir.root() / "desktop", SecretBytes::from_string("desk pass"),
                                     url, "Veil desktop")
                .ok());
    REQUIRE(desktop.start_link().ok());
    REQUIRE(test::wait_until([&] { return !code.isEmpty(); }, 20'000));

    veil::test::Process accept(terminal.argv({"link", "accept", code.toStdString()}),
                               terminal.env(), dir.root(), "accept");
    std::optional<int> accepted;
    REQUIRE(test::wait_until(
        [&] {
            if (!accepted && !accept.running())
                accepted = accept.wait(1s);
            return accepted && linked_as && desktop.state() == engine::State::ready;
        },
        30'000));
    INFO(accept.err());
    CHECK(accepted == std::optional<int>(0));
    CHECK(linked_as == std::optional<quint32>(2));
    CHECK(desktop.username() == QStringLiteral("alice"));

    // bob writes to alice: both devices get it.
    const std::string hello = "hello desktop and terminal 61f2";
    REQUIRE(bob.run({"send", "alice", hello}).code == 0);
    auto has_row = [&](const std::string& text, store::Direction direction) {
        return std::any_of(rows.begin(), rows.end(), [&](const store::MessageRow& r) {
            return r.text == text && r.direction == direction;
        });
    };
    CHECK(test::wait_until([&] { return has_row(hello, store::Direction::incoming); }, 20'000));
    auto at_terminal = terminal.run({"receive", "--json"});
    REQUIRE(at_terminal.code == 0);
    CHECK(count(at_terminal.out, hello) == 1);

    // The desktop answers: bob reads it and the terminal shows it as sent by alice.
    const std::string answer = "answer from the desktop 0b3e";
    auto id = desktop.run_blocking_for_tests(
        [&](qt::ClientSession& s) { return s.engine().send_text("bob", answer); });
    REQUIRE(id.ok());
    const QByteArray key(reinterpret_cast<const char*>(id->data()), static_cast<int>(id->size()));
    CHECK(test::wait_until(
        [&] {
            return statuses.count(key) && (statuses[key] == store::MessageStatus::sent ||
                                           statuses[key] == store::MessageStatus::delivered);
        },
        20'000));
    auto at_bob = bob.run({"receive", "--json"});
    REQUIRE(at_bob.code == 0);
    CHECK(count(at_bob.out, answer) == 1);
    at_terminal = terminal.run({"receive", "--json"});
    REQUIRE(at_terminal.code == 0);
    CHECK(count(at_terminal.out, answer) == 1);
    CHECK(at_terminal.out.find("\"outgoing\":true") != std::string::npos);

    // And the terminal's own message appears on the desktop as sent by alice.
    const std::string from_terminal = "typed in the terminal 9a0d";
    REQUIRE(terminal.run({"send", "bob", from_terminal}).code == 0);
    CHECK(test::wait_until([&] { return has_row(from_terminal, store::Direction::outgoing); },
                           20'000));

    desktop.close();
}

TEST_CASE("a conversation read on one desktop device is read on the other") {
    test::app();
    test::TempDir dir;
    LiveRelay relay(dir.root());
    const std::string url = relay.url;
    Cli bob{dir.root(), dir.root() / "bob", url, "bob passphrase"};
    REQUIRE(bob.run({"register", "bob"}).code == 0);

    SessionBridge home, work;
    REQUIRE(home.create_profile(dir.root() / "home", SecretBytes::from_string("home pass"), "alice",
                                url, "home")
                .ok());
    REQUIRE(home.start().ok());
    REQUIRE(test::wait_until([&] { return home.state() == engine::State::ready; }, 20'000));

    QString code;
    bool linked = false;
    QObject::connect(&work, &SessionBridge::linkCode,
                     [&](const QString& text, const QString&, qint64) { code = text; });
    QObject::connect(&home, &SessionBridge::linked,
                     [&](const QString&, quint32) { linked = true; });
    REQUIRE(work.create_link_profile(dir.root() / "work", SecretBytes::from_string("work pass"),
                                     url, "work")
                .ok());
    REQUIRE(work.start_link().ok());
    REQUIRE(test::wait_until([&] { return !code.isEmpty(); }, 20'000));
    REQUIRE(home.run_blocking_for_tests([&](qt::ClientSession& s) {
                    return s.engine().accept_link(code.toStdString(), false);
                })
                .ok());
    REQUIRE(
        test::wait_until([&] { return linked && work.state() == engine::State::ready; }, 30'000));

    REQUIRE(bob.run({"send", "alice", "read me on one device"}).code == 0);
    auto unread = [](SessionBridge& b) { return b.store().unread("bob").value(); };
    REQUIRE(test::wait_until([&] { return unread(home) == 1 && unread(work) == 1; }, 20'000));

    QString read_elsewhere;
    QObject::connect(&work, &SessionBridge::readElsewhere,
                     [&](const QString& conversation) { read_elsewhere = conversation; });
    REQUIRE(home.run_blocking_for_tests(
                    [](qt::ClientSession& s) { return s.engine().mark_read("bob"); })
                .ok());
    CHECK(unread(home) == 0);
    // The store shows the read at once; the event follows from the session's thread.
    CHECK(test::wait_until([&] { return unread(work) == 0 && !read_elsewhere.isEmpty(); }, 20'000));
    CHECK(read_elsewhere == QStringLiteral("bob"));

    work.close();
    home.close();
}

} // namespace
} // namespace veil::desktop
#endif // VEIL_RELAY_BIN
