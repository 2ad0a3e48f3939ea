// Crash safety with real processes (QUALITY.md, "Relay faults" and "Client storage"): a real
// veil-relay and real headless `veil` clients are killed with SIGKILL at exact points of the
// message path, named by VEIL_CRASH_AT (util/crash_point.h), then started again. Afterwards every
// message is stored once in the recipient's profile (counted with `veil search`, which reads the
// encrypted store) and nothing is left in the relay's mailbox.
#include "cli_harness.h"
#include "rpc_client.h"

#include <catch2/catch.hpp>

#include <csignal>
#include <string>

using namespace veil::test::e2e;
using veil::test::TempDir;

namespace {

constexpr int kKilled = 128 + SIGKILL;

std::map<std::string, std::string> crash_at(const std::string& point) {
    return {{"VEIL_CRASH_AT", point}};
}

// How many messages of the profile hold word (each message carries a word of its own).
int stored(const Client& c, const std::string& word) {
    auto found = c.run({"search", "--json", word});
    INFO(found.err);
    REQUIRE((found.code == 0 || found.code == 1));
    return count(found.out, "\"text\":");
}

// The relay process died by its own planned SIGKILL at point.
void check_relay_crashed(Relay& relay, const std::string& point) {
    auto code = relay.process().wait(30s);
    REQUIRE(code);
    CHECK(*code == kKilled);
    CHECK(relay.process().err().find("veil: crash point " + point + " reached") !=
          std::string::npos);
}

void use_relay(const std::string& url, std::initializer_list<Client*> clients) {
    for (auto* c : clients)
        c->relay = url;
}

} // namespace

TEST_CASE("a relay killed after committing a send but before answering it stores the retried "
          "send once and delivers it once") {
    TempDir dir("veil-crash-commit");
    auto relay = std::make_unique<Relay>(dir.path(), std::vector<std::string>{},
                                         crash_at("relay.after_commit"));
    Client alice = make_client(dir.path(), relay->url(), "alice");
    Client bob = make_client(dir.path(), relay->url(), "bob");

    // The send is durable on the relay, but alice never hears so: for her it is still queued.
    auto sent = alice.run({"--timeout", "5", "send", "bob", "committed then killed kilo1"});
    CHECK(sent.code != 0);
    check_relay_crashed(*relay, "relay.after_commit");
    CHECK(relay_device_mailbox_rows(dir.path() / "relay", "bob", 1) == 1);

    relay = std::make_unique<Relay>(dir.path());
    use_relay(relay->url(), {&alice, &bob});
    // Any verb that connects sends what the outbox holds, under the same message id.
    auto retried = alice.run({"receive"});
    INFO(retried.err);
    REQUIRE(retried.code == 0);
    CHECK(relay_device_mailbox_rows(dir.path() / "relay", "bob", 1) == 1);

    auto got = bob.run({"receive", "--json"});
    INFO(got.err);
    REQUIRE(got.code == 0);
    CHECK(count(got.out, "committed then killed kilo1") == 1);
    CHECK(relay_device_mailbox_rows(dir.path() / "relay", "bob", 1) == 0);
    CHECK(stored(bob, "kilo1") == 1);
    CHECK(count(bob.run({"receive", "--json"}).out, "kilo1") == 0);
}

TEST_CASE("a relay killed after a recipient acked but before it deleted the delivery sends it "
          "again, and the client keeps and shows it once") {
    TempDir dir("veil-crash-ack");
    auto relay = std::make_unique<Relay>(dir.path(), std::vector<std::string>{},
                                         crash_at("relay.ack_received"));
    Client alice = make_client(dir.path(), relay->url(), "alice");
    Client bob = make_client(dir.path(), relay->url(), "bob");
    REQUIRE(alice.run({"send", "bob", "acked then killed lima2"}).code == 0);

    // Bob stores and prints the message, acks it, and the relay dies on the ack.
    auto first = bob.run({"--timeout", "5", "receive", "--json"});
    CHECK(count(first.out, "acked then killed lima2") == 1);
    check_relay_crashed(*relay, "relay.ack_received");
    CHECK(relay_device_mailbox_rows(dir.path() / "relay", "bob", 1) == 1);

    relay = std::make_unique<Relay>(dir.path());
    use_relay(relay->url(), {&alice, &bob});
    // Redelivered: recognised as processed, acked, not printed a second time.
    auto again = bob.run({"receive", "--json"});
    INFO(again.err);
    REQUIRE(again.code == 0);
    CHECK(count(again.out, "lima2") == 0);
    CHECK(relay_device_mailbox_rows(dir.path() / "relay", "bob", 1) == 0);
    CHECK(stored(bob, "lima2") == 1);
}

TEST_CASE("a client killed inside decrypt, between the session store and the message insert, or "
          "between the insert and the ack has every message once after a restart") {
    const std::string point =
        GENERATE(std::string("store.session_stored"), std::string("client.decrypted"),
                 std::string("client.committed"));
    INFO(point);
    TempDir dir("veil-crash-client");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");
    // The first is a prekey message that sets up the session; the others are whisper messages.
    for (const char* word : {"mike1", "mike2", "mike3"})
        REQUIRE(alice.run({"send", "bob", std::string("before the crash ") + word}).code == 0);
    // The second message: the first has committed and been acked (or is in the same batch).
    auto killed = bob.run_with(crash_at(point + ":2"), {"receive", "--json"});
    CHECK(killed.code == kKilled);
    CHECK(killed.err.find("veil: crash point " + point + " reached") != std::string::npos);

    auto again = bob.run({"receive", "--json"});
    INFO(again.err);
    REQUIRE(again.code == 0);
    for (const char* word : {"mike1", "mike2", "mike3"}) {
        INFO(word);
        CHECK(stored(bob, word) == 1);
        // Printed by one of the two runs, and by at most one.
        CHECK(count(killed.out, word) + count(again.out, word) <= 1);
    }
    CHECK(relay_device_mailbox_rows(dir.path() / "relay", "bob", 1) == 0);
    // The session survived: a new message both ways still decrypts.
    REQUIRE(alice.run({"send", "bob", "after the restart mike4"}).code == 0);
    REQUIRE(bob.run({"send", "alice", "answer after the restart mike5"}).code == 0);
    CHECK(count(bob.run({"receive", "--json"}).out, "mike4") == 1);
    CHECK(count(alice.run({"receive", "--json"}).out, "mike5") == 1);
}

TEST_CASE("a client killed in the middle of catching up on many queued messages resumes without "
          "losing or doubling any") {
    constexpr int kMessages = 150;
    TempDir dir("veil-crash-catchup");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");
    {
        // One daemon sends them all: one process, one Argon2id, one connection.
        auto daemon = alice.start({"daemon"});
        REQUIRE(daemon->wait_for_output("veil: daemon ready", 30s, true));
        RpcClient rpc(alice.profile / "veil.sock");
        REQUIRE(rpc.call(1, "subscribe").find("\"subscribed\":true") != std::string::npos);
        for (int i = 0; i < kMessages; ++i) {
            std::string answer = rpc.call(10 + i, "send",
                                          R"({"to":"bob","text":"queued while offline oscar n)" +
                                              std::to_string(i) + "\"}");
            REQUIRE(answer.find("\"result\"") != std::string::npos);
        }
        // Every one is durable on the relay once its "sent" event came (the answers to the
        // calls above may have passed some already; seen() keeps every line).
        while (count(rpc.seen(), R"("status":"sent")") < kMessages)
            REQUIRE(!rpc.wait_for({R"("event":"status")", R"("status":"sent")"}).empty());
        daemon->signal(SIGTERM);
        REQUIRE(daemon->wait(20s) == std::optional<int>(0));
    }
    REQUIRE(relay_device_mailbox_rows(dir.path() / "relay", "bob", 1) == kMessages);

    // Killed after committing the 60th, before acking it.
    auto killed = bob.run_with(crash_at("client.committed:60"), {"receive", "--json"});
    CHECK(killed.code == kKilled);
    // At most the 59 before it were acked.
    CHECK(relay_device_mailbox_rows(dir.path() / "relay", "bob", 1) > kMessages - 60);

    auto again = bob.run({"receive", "--json"});
    INFO(again.err);
    REQUIRE(again.code == 0);
    CHECK(relay_device_mailbox_rows(dir.path() / "relay", "bob", 1) == 0);
    auto found = bob.run({"search", "--json", "oscar"});
    REQUIRE(found.code == 0);
    // search prints each matching message once; each number must come exactly once.
    for (int i = 0; i < kMessages; ++i) {
        const std::string word = "offline oscar n" + std::to_string(i) + "\"";
        int n = count(found.out, word);
        INFO(word);
        CHECK(n == 1);
    }
    CHECK(count(found.out, "\"text\":") == kMessages);
}
