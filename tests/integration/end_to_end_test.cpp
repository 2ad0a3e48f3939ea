// End to end: a real veil-relay process on a free loopback port and real headless `veil`
// clients, exchanging end-to-end encrypted messages online and offline.
#include "cli_harness.h"
#include "support/process.h"

#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <regex>
#include <sqlite3.h>

using namespace std::chrono_literals;
using namespace veil::test::e2e;
using veil::test::Process;
using veil::test::TempDir;

TEST_CASE("two headless clients exchange messages both ways, offline and online, and nothing "
          "is stored in plaintext",
          "[relay-store]") {
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

TEST_CASE("sending to a user the relay does not know fails with a clear error", "[relay-store]") {
    TempDir dir("veil-e2e-unknown");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    auto r = alice.run({"send", "nobody", "hello?"});
    CHECK(r.code == 5);
    CHECK(r.err.find("nobody") != std::string::npos);
}

TEST_CASE("registering a name that is taken is refused and the relay keeps working",
          "[relay-store]") {
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

TEST_CASE("a wrong passphrase is refused with a clear error and the profile is untouched",
          "[relay-store]") {
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

TEST_CASE("clients link SQLCipher and never plain SQLite, and the relay never links SQLCipher",
          "[relay-store]") {
    TempDir dir("veil-ldd");
    auto client = veil::test::run({"/usr/bin/ldd", VEIL_CLI_BIN}, {}, dir.path(), "ldd");
    REQUIRE(client.code == 0);
    CHECK(client.out.find("libsqlcipher") != std::string::npos);
    CHECK(client.out.find("libsqlite3") == std::string::npos);
    auto relay = veil::test::run({"/usr/bin/ldd", VEIL_RELAY_BIN}, {}, dir.path(), "ldd");
    REQUIRE(relay.code == 0);
    CHECK(relay.out.find("libsqlcipher") == std::string::npos);
}

TEST_CASE("receive without --wait acks what it printed, and the sender's receipts arrive",
          "[relay-store]") {
    TempDir dir("veil-e2e-ack");
    Relay relay(dir.path());
    Client carol = make_client(dir.path(), relay.url(), "carol");
    Client dave = make_client(dir.path(), relay.url(), "dave");
    for (int i = 0; i < 3; ++i)
        REQUIRE(carol.run({"send", "dave", "msg " + std::to_string(i)}).code == 0);
    CHECK(relay_mailbox_rows(dir.path() / "relay") == 3);
    auto got = dave.run({"receive", "--json"});
    REQUIRE(got.code == 0);
    CHECK(count(got.out, "\"from\":\"carol\"") == 3);
    // Dave's acks deleted his three envelopes; his delivery receipts wait for carol, one for
    // the three unless the first went out before the others came (the engine tests pin that).
    const auto receipts_waiting = relay_mailbox_rows(dir.path() / "relay");
    CHECK(receipts_waiting >= 1);
    CHECK(receipts_waiting <= 3);
    auto receipts = carol.run({"receive", "--json"});
    REQUIRE(receipts.code == 0);
    CHECK(count(receipts.out, "\"status\":\"delivered\"") == 3);
    CHECK(relay_mailbox_rows(dir.path() / "relay") == 0);
}

TEST_CASE("a failed registration keeps nothing, so the folder can be used again", "[relay-store]") {
    TempDir dir("veil-e2e-reg");
    Relay relay(dir.path());
    make_client(dir.path(), relay.url(), "erin");
    Client again{dir.path(), dir.path() / "again", relay.url(), "another passphrase"};
    auto taken = again.run({"register", "erin"});
    CHECK(taken.code == 5);
    CHECK_FALSE(std::filesystem::exists(again.profile / "account.db"));
    auto other = again.run({"register", "frank"});
    INFO(other.err);
    CHECK(other.code == 0);
}

TEST_CASE("bad input from the command line is refused before anything is stored or sent",
          "[relay-store]") {
    TempDir dir("veil-e2e-input");
    Relay relay(dir.path());
    Client gina = make_client(dir.path(), relay.url(), "gina");
    make_client(dir.path(), relay.url(), "hank");

    // A relay address that is not ws:// or wss:// is a usage error and is not saved.
    Client wrong_url = gina;
    wrong_url.relay = "http://" + relay.url().substr(5);
    auto r = wrong_url.run({"contacts"});
    CHECK(r.code == 2);
    CHECK(gina.run({"send", "hank", "still on ws"}).code == 0);

    // Text that is not UTF-8 is refused; so is text over 64 KiB, without reading all of it.
    auto bad_utf8 = gina.run({"send", "hank", "-"}, std::string("bad\xff\xfe utf8"));
    CHECK(bad_utf8.code == 2);
    CHECK(bad_utf8.err.find("UTF-8") != std::string::npos);
    auto huge = gina.run({"send", "hank", "-"}, std::string(200 * 1024, 'x'));
    CHECK(huge.code == 1);
    CHECK(huge.err.find("64 KiB") != std::string::npos);

    // Sending to oneself is refused with a sentence.
    auto self = gina.run({"send", "gina", "hello me"});
    CHECK(self.code == 2);
    CHECK(self.err.find("yourself") != std::string::npos);
}

TEST_CASE("verbs run at once on one profile take turns, and each message arrives once",
          "[relay-store]") {
    TempDir dir("veil-e2e-turns");
    Relay relay(dir.path());
    Client ivy = make_client(dir.path(), relay.url(), "ivy");
    Client jack = make_client(dir.path(), relay.url(), "jack");
    std::vector<std::unique_ptr<Process>> senders;
    for (int i = 0; i < 4; ++i)
        senders.push_back(
            std::make_unique<Process>(ivy.argv({"send", "jack", "turn " + std::to_string(i)}),
                                      ivy.env(), dir.path(), "send"));
    for (auto& p : senders) {
        auto code = p->wait(60s);
        INFO(p->err());
        REQUIRE(code);
        CHECK(*code == 0);
    }
    auto got = jack.run({"receive", "--json"});
    REQUIRE(got.code == 0);
    for (int i = 0; i < 4; ++i)
        CHECK(count(got.out, "turn " + std::to_string(i)) == 1);
}

TEST_CASE("a damaged page in a profile's database is reported at open, before any use",
          "[relay-store]") {
    TempDir dir("veil-e2e-damage");
    Relay relay(dir.path());
    Client kim = make_client(dir.path(), relay.url(), "kim");
    make_client(dir.path(), relay.url(), "lee");
    for (int i = 0; i < 5; ++i)
        REQUIRE(kim.run({"send", "lee", std::string(2000, static_cast<char>('a' + i))}).code == 0);
    auto db = kim.profile / "account.db";
    auto size = std::filesystem::file_size(db);
    REQUIRE(size >= 3 * 4096);
    {
        std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
        auto at = static_cast<std::streamoff>((size / 4096 / 2) * 4096 + 100);
        f.seekg(at);
        char c = 0;
        f.read(&c, 1);
        c = static_cast<char>(c ^ 0x40);
        f.seekp(at);
        f.write(&c, 1);
    }
    auto r = kim.run({"contacts"});
    CHECK(r.code == 3);
    // Found by the integrity check, or already by the first read of the schema when the damaged
    // page is one of its own (the search index made the schema larger).
    INFO(r.err);
    CHECK((r.err.find("integrity") != std::string::npos ||
           r.err.find("damaged") != std::string::npos));
}

TEST_CASE("a second relay on the same port or the same data folder refuses to start",
          "[relay-store]") {
    TempDir dir("veil-e2e-second");
    Relay relay(dir.path());
    std::string port = relay.url().substr(relay.url().rfind(':') + 1);
    auto same_port = veil::test::run(
        {VEIL_RELAY_BIN, "--listen", "127.0.0.1:" + port, "--data", (dir.path() / "b").string()},
        {}, dir.path(), "relay2", {}, 20s);
    CHECK(same_port.code == 1);
    CHECK(same_port.err.find("in use") != std::string::npos);
    auto same_data = veil::test::run(
        {VEIL_RELAY_BIN, "--listen", "127.0.0.1:0", "--data", (dir.path() / "relay").string()}, {},
        dir.path(), "relay3", {}, 20s);
    CHECK(same_data.code == 1);
    CHECK(same_data.err.find("in use by another veil-relay") != std::string::npos);
    // The data folder is the relay's alone.
    auto perms = std::filesystem::status(dir.path() / "relay").permissions();
    CHECK((perms & std::filesystem::perms::others_all) == std::filesystem::perms::none);
    CHECK((perms & std::filesystem::perms::group_all) == std::filesystem::perms::none);
}
