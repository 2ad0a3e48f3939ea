// End to end: a real veil-relay process on a free loopback port and real headless `veil`
// clients, exchanging end-to-end encrypted messages online and offline.
#include "support/process.h"

#include <catch2/catch.hpp>

#include <csignal>
#include <regex>

using namespace std::chrono_literals;
using veil::test::Process;
using veil::test::TempDir;

namespace {

class Relay {
public:
    explicit Relay(const std::filesystem::path& dir)
        : m_process({VEIL_RELAY_BIN, "--listen", "127.0.0.1:0", "--data", (dir / "relay").string()},
                    {}, dir, "relay") {
        REQUIRE(m_process.wait_for_output("listening on", 20s));
        std::smatch m;
        std::string out = m_process.out();
        REQUIRE(std::regex_search(out, m, std::regex(R"(listening on ([0-9.]+:[0-9]+))")));
        m_url = "ws://" + m[1].str();
    }
    ~Relay() {
        m_process.signal(SIGTERM);
        m_process.wait(10s);
    }
    const std::string& url() const { return m_url; }
    std::string logs() const { return m_process.out() + m_process.err(); }

private:
    Process m_process;
    std::string m_url;
};

struct Client {
    std::filesystem::path dir;
    std::filesystem::path profile;
    std::string relay;
    std::string passphrase;

    std::map<std::string, std::string> env() const { return {{"VEIL_PASSPHRASE", passphrase}}; }
    std::vector<std::string> argv(std::vector<std::string> verb) const {
        std::vector<std::string> a = {VEIL_CLI_BIN, "--profile", profile.string(), "--relay", relay,
                                      "--timeout",  "20"};
        a.insert(a.end(), verb.begin(), verb.end());
        return a;
    }
    veil::test::Run run(std::vector<std::string> verb, const std::string& in = {}) const {
        return veil::test::run(argv(std::move(verb)), env(), dir, "veil", in);
    }
};

Client make_client(const std::filesystem::path& dir, const std::string& relay,
                   const std::string& name) {
    Client c{dir, dir / name, relay, "correct horse " + name};
    auto r = c.run({"register", name});
    INFO(r.err);
    REQUIRE(r.code == 0);
    return c;
}

int count(const std::string& haystack, const std::string& needle) {
    int n = 0;
    for (auto pos = haystack.find(needle); pos != std::string::npos;
         pos = haystack.find(needle, pos + 1))
        ++n;
    return n;
}

} // namespace

TEST_CASE("two headless clients exchange messages both ways, offline and online, and nothing "
          "is stored in plaintext") {
    TempDir dir("veil-e2e");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");

    const std::string offline_text = "offline hello from alice 7f3a";
    const std::string reply_text = "bob replies over stdin 91c2";
    const std::string online_text = "online ping from alice 55d0";

    // Offline: bob is not running when alice sends.
    auto sent = alice.run({"send", "bob", offline_text});
    INFO(sent.err);
    REQUIRE(sent.code == 0);
    auto got = bob.run({"receive", "--json"});
    INFO(got.err);
    REQUIRE(got.code == 0);
    CHECK(count(got.out, offline_text) == 1);
    CHECK(got.out.find("\"from\":\"alice\"") != std::string::npos);
    CHECK(got.out.find("\"sent_at\":") != std::string::npos);

    // A second receive prints nothing again: the message was acked and printed once.
    auto again = bob.run({"receive", "--json"});
    REQUIRE(again.code == 0);
    CHECK(count(again.out, offline_text) == 0);

    // The other way, text from standard input.
    auto reply = bob.run({"send", "alice", "-"}, reply_text + "\n");
    INFO(reply.err);
    REQUIRE(reply.code == 0);
    auto alice_got = alice.run({"receive", "--json"});
    REQUIRE(alice_got.code == 0);
    CHECK(count(alice_got.out, reply_text) == 1);

    // Online: bob is connected and waiting when alice sends.
    Process listener(bob.argv({"receive", "--json", "--wait", "30"}), bob.env(), dir.path(),
                     "bob-listen");
    REQUIRE(listener.wait_for_output("waiting for messages", 20s, true));
    auto online = alice.run({"send", "bob", online_text});
    REQUIRE(online.code == 0);
    REQUIRE(listener.wait_for_output(online_text, 20s));
    listener.signal(SIGTERM);
    listener.wait(10s);
    CHECK(count(listener.out(), online_text) == 1);

    // No plaintext at rest: not in the relay's folder, nor in either profile.
    for (const auto& text : {offline_text, reply_text, online_text}) {
        CHECK_FALSE(veil::test::any_file_contains(dir.path() / "relay", text));
        CHECK(relay.logs().find(text) == std::string::npos);
        CHECK_FALSE(veil::test::any_file_contains(alice.profile, text));
        CHECK_FALSE(veil::test::any_file_contains(bob.profile, text));
    }
}

TEST_CASE("sending to a user the relay does not know fails with a clear error") {
    TempDir dir("veil-e2e-unknown");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    auto r = alice.run({"send", "nobody", "hello?"});
    CHECK(r.code == 5);
    CHECK(r.err.find("nobody") != std::string::npos);
}

TEST_CASE("registering a name that is taken is refused and the relay keeps working") {
    TempDir dir("veil-e2e-taken");
    Relay relay(dir.path());
    make_client(dir.path(), relay.url(), "carol");
    Client other{dir.path(), dir.path() / "carol2", relay.url(), "another passphrase"};
    auto r = other.run({"register", "carol"});
    CHECK(r.code == 5);
    CHECK_FALSE(r.err.empty());
    Client dave = make_client(dir.path(), relay.url(), "dave");
    CHECK(dave.run({"send", "carol", "still works"}).code == 0);
}

TEST_CASE("a wrong passphrase is refused with a clear error and the profile is untouched") {
    TempDir dir("veil-e2e-pass");
    Relay relay(dir.path());
    Client erin = make_client(dir.path(), relay.url(), "erin");
    auto before = veil::test::read_file(erin.profile / "account.db");
    Client wrong = erin;
    wrong.passphrase = "not the passphrase";
    auto r = wrong.run({"contacts"});
    CHECK(r.code == 3);
    CHECK(r.err.find("passphrase") != std::string::npos);
    CHECK(veil::test::read_file(erin.profile / "account.db") == before);
}

TEST_CASE("clients link SQLCipher and never plain SQLite, and the relay never links SQLCipher") {
    TempDir dir("veil-ldd");
    auto client = veil::test::run({"/usr/bin/ldd", VEIL_CLI_BIN}, {}, dir.path(), "ldd");
    REQUIRE(client.code == 0);
    CHECK(client.out.find("libsqlcipher") != std::string::npos);
    CHECK(client.out.find("libsqlite3") == std::string::npos);
    auto relay = veil::test::run({"/usr/bin/ldd", VEIL_RELAY_BIN}, {}, dir.path(), "ldd");
    REQUIRE(relay.code == 0);
    CHECK(relay.out.find("libsqlcipher") == std::string::npos);
}
