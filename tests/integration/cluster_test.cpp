// Two relay nodes on one PostgreSQL database and one Redis (issue 9): real veil-relay processes,
// real `veil` clients (listeners stay connected; senders run once each). ctest runs these with
// the `postgres` and `redis` fixtures ([cluster]). Every message is checked to arrive exactly
// once, and the mailbox to end empty (everything delivered was acked).
#include "admin_http.h"
#include "cluster_harness.h"

#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <string>

using namespace veil::test::e2e;
using veil::test::PostgresTestDb;
using veil::test::TempDir;

namespace {

std::unique_ptr<veil::test::Process> start_listener(const Client& c) {
    auto listener = c.start({"listen", "--json"});
    REQUIRE(listener->wait_for_output("veil: listening", 30s, true));
    return listener;
}

void send_ok(const Client& from, const std::vector<std::string>& verb) {
    auto sent = from.run(verb);
    INFO(sent.err);
    REQUIRE(sent.code == 0);
}

Client via(Client c, const std::string& relay) {
    c.relay = relay;
    return c;
}

// Envelopes waiting in the mailboxes of the account's devices. (Receipts for senders who do
// not listen stay in theirs.)
long long mailbox_rows(const PostgresTestDb& db, const std::string& username) {
    // Usernames in these tests are plain letters: safe to splice.
    REQUIRE(username.find_first_not_of("abcdefghijklmnopqrstuvwxyz") == std::string::npos);
    return db.query_int64("SELECT count(*) FROM mailbox m JOIN devices d ON d.id = m.device JOIN "
                          "accounts a ON a.id = d.account_id WHERE a.username = '" +
                          username + "'");
}

} // namespace

TEST_CASE("clients on two relay nodes reach each other live through Redis, 1:1 and in a group "
          "with members on both nodes, each message once",
          "[cluster]") {
    TempDir dir("veil-cluster-live");
    PostgresTestDb db;
    const std::string redis = fixture_redis_url();
    Relay a(node_dir(dir.path(), "a"), node_args(db, redis));
    Relay b(node_dir(dir.path(), "b"), node_args(db, redis));

    Client alice = make_client(dir.path(), a.url(), "alice");
    Client carol = make_client(dir.path(), a.url(), "carol");
    Client bob = make_client(dir.path(), b.url(), "bob");
    Client dave = make_client(dir.path(), b.url(), "dave");
    send_ok(carol, {"group", "create", "ridge", "--members", "alice,bob,dave"});
    // Each node takes delivery ids from blocks of its own: alice's drain on a ends with an id
    // from b's block, and a's own ids after it are lower; they must still be pushed live.
    const std::string queued = "dave on b to alice before she listens 40aa";
    send_ok(dave, {"send", "alice", queued});

    auto at_alice = start_listener(alice); // on node a
    auto at_bob = start_listener(bob);     // on node b
    REQUIRE(arrives(*at_alice, queued));
    const std::string local = "carol on a to alice on a 93be";
    send_ok(carol, {"send", "alice", local});
    REQUIRE(arrives(*at_alice, local));

    const std::string b_to_a = "dave on b to alice on a 51c0";
    const std::string a_to_b = "carol on a to bob on b 8e2f";
    send_ok(dave, {"send", "alice", b_to_a});
    send_ok(carol, {"send", "bob", a_to_b});
    REQUIRE(arrives(*at_alice, b_to_a));
    REQUIRE(arrives(*at_bob, a_to_b));

    const std::string from_a = "carol posts to the ridge group from a 17d9";
    const std::string from_b = "dave posts to the ridge group from b 6a0b";
    send_ok(carol, {"send", "--group", "ridge", from_a});
    send_ok(dave, {"send", "--group", "ridge", from_b});
    for (auto* listener : {at_alice.get(), at_bob.get()}) {
        REQUIRE(arrives(*listener, from_a));
        REQUIRE(arrives(*listener, from_b));
    }

    // Nothing twice: a last message on each side comes after anything that could repeat.
    const std::string last = "the last word 0f3c";
    send_ok(dave, {"send", "alice", last});
    send_ok(carol, {"send", "bob", last});
    REQUIRE(arrives(*at_alice, last));
    REQUIRE(arrives(*at_bob, last));
    for (const auto& text : {queued, local, b_to_a, from_a, from_b, last})
        CHECK(printed(*at_alice, text) == 1);
    for (const auto& text : {a_to_b, from_a, from_b, last})
        CHECK(printed(*at_bob, text) == 1);
    CHECK(eventually([&] { return mailbox_rows(db, "alice") + mailbox_rows(db, "bob") == 0; }));
    // The nodes pushed across through Redis only: polling was off while it was up.
    CHECK(a.logs().find("event=redis_up") != std::string::npos);
    CHECK(b.logs().find("event=redis_down") == std::string::npos);
}

TEST_CASE("a message for a client offline on one node arrives once when it connects to the "
          "other node",
          "[cluster]") {
    TempDir dir("veil-cluster-offline");
    PostgresTestDb db;
    const std::string redis = fixture_redis_url();
    Relay a(node_dir(dir.path(), "a"), node_args(db, redis));
    Relay b(node_dir(dir.path(), "b"), node_args(db, redis));

    Client alice = make_client(dir.path(), a.url(), "alice");
    Client carol = make_client(dir.path(), a.url(), "carol");
    const std::string text = "stored on a while alice was away 2b7e";
    send_ok(carol, {"send", "alice", text});

    auto got = via(alice, b.url()).run({"receive", "--json"});
    INFO(got.err);
    REQUIRE(got.code == 0);
    CHECK(count(got.out, "\"text\":\"" + text + "\"") == 1);
    auto again = via(alice, a.url()).run({"receive", "--json"});
    REQUIRE(again.code == 0);
    CHECK(count(again.out, text) == 0);
    CHECK(mailbox_rows(db, "alice") == 0);
}

TEST_CASE("with Redis stopped mid-conversation the nodes poll the mailboxes: messages sent "
          "meanwhile arrive exactly once, and wake-ups carry them again once Redis is back",
          "[cluster]") {
    TempDir dir("veil-cluster-redis-down");
    PostgresTestDb db;
    RedisServer redis;
    Relay a(node_dir(dir.path(), "a"), node_args(db, redis.url()));
    Relay b(node_dir(dir.path(), "b"), node_args(db, redis.url()));

    Client alice = make_client(dir.path(), a.url(), "alice");
    Client bob = make_client(dir.path(), b.url(), "bob");
    auto at_alice = start_listener(alice);

    const std::string before = "before redis stops 3d11";
    send_ok(bob, {"send", "alice", before});
    REQUIRE(arrives(*at_alice, before));

    redis.stop();
    REQUIRE(eventually([&] { return a.logs().find("event=redis_down") != std::string::npos; }));
    REQUIRE(eventually([&] { return b.logs().find("event=redis_down") != std::string::npos; }));
    const std::string down1 = "while redis is down, one 9a40";
    const std::string down2 = "while redis is down, two 9a41";
    send_ok(bob, {"send", "alice", down1});
    send_ok(bob, {"send", "alice", down2});
    REQUIRE(arrives(*at_alice, down1));
    REQUIRE(arrives(*at_alice, down2));

    redis.start();
    for (Relay* node : {&a, &b})
        REQUIRE(eventually([&] { return count(node->logs(), "event=redis_up") == 2; }));
    const std::string after = "after redis is back 77c2";
    send_ok(bob, {"send", "alice", after});
    REQUIRE(arrives(*at_alice, after));

    for (const auto& text : {before, down1, down2, after})
        CHECK(printed(*at_alice, text) == 1);
    CHECK(eventually([&] { return mailbox_rows(db, "alice") == 0; }));
    // Once per outage, in the relay log's format.
    CHECK(count(a.logs(), "WARN relay.cluster event=redis_down") == 1);
}

TEST_CASE("with Redis down for sixty times the reconnect ceiling, as after minutes, nothing sent "
          "meanwhile is lost or doubled, the log does not grow, and wake-ups resume",
          "[cluster]") {
    TempDir dir("veil-cluster-redis-long");
    PostgresTestDb db;
    RedisServer redis;
    // A ceiling of 100 ms instead of 5 s: sixty attempts at the ceiling are what an outage of
    // five minutes gives with the default, and nothing in the reconnect grows past the ceiling.
    auto args = node_args(db, redis.url());
    for (const std::string a : {"--redis-backoff-max-ms", "100", "--admin-listen", "127.0.0.1:0",
                                "--metrics-cache-ms", "0", "--log-level", "debug"})
        args.push_back(a);
    Relay a(node_dir(dir.path(), "a"), args);
    Relay b(node_dir(dir.path(), "b"), args);
    const auto a_data = dir.path() / "a" / "relay";
    const auto b_data = dir.path() / "b" / "relay";
    CHECK(scrape(a_data).at("veil_relay_redis_up") == 1);

    Client alice = make_client(dir.path(), a.url(), "alice");
    Client bob = make_client(dir.path(), b.url(), "bob");
    auto at_alice = start_listener(alice);
    std::vector<std::string> sent;
    auto bob_says = [&](const std::string& text) {
        send_ok(bob, {"send", "alice", text});
        sent.push_back(text);
    };
    bob_says("before the outage 5e01");
    REQUIRE(arrives(*at_alice, sent.back()));

    redis.stop();
    auto failures = [](const std::filesystem::path& data) {
        return scrape(data).at("veil_relay_redis_connect_failures_total");
    };
    auto cluster_lines = [](const Relay& node) { return count(node.logs(), " relay.cluster "); };
    REQUIRE(eventually([&] { return scrape(a_data).at("veil_relay_redis_up") == 0; }));
    bob_says("early in the outage 5e02"); // b's publisher fails once for it, and keeps it
    REQUIRE(arrives(*at_alice, sent.back()));
    REQUIRE(eventually([&] { return failures(a_data) >= 20 && failures(b_data) >= 20; }));
    // Alice's receipt for that message is a's one publish of the outage: its failure is logged
    // once, whenever the receipt comes, so the count below starts after it.
    REQUIRE(eventually([&] { return count(a.logs(), "event=redis_publish_failed") == 1; }));
    const int a_lines = cluster_lines(a);
    const int b_lines = cluster_lines(b);
    bob_says("in the middle of the outage 5e03");
    REQUIRE(arrives(*at_alice, sent.back()));
    REQUIRE(eventually([&] { return failures(a_data) >= 60 && failures(b_data) >= 60; }, 60s));
    bob_says("late in the outage 5e04");
    REQUIRE(arrives(*at_alice, sent.back()));
    // At the ceiling, and forty attempts later the log holds not one more line about Redis.
    for (const auto& data : {a_data, b_data})
        CHECK(scrape(data).at("veil_relay_redis_backoff_milliseconds") == 100);
    CHECK(cluster_lines(a) == a_lines);
    CHECK(cluster_lines(b) == b_lines);
    for (Relay* node : {&a, &b}) {
        CHECK(count(node->logs(), "event=redis_down") == 1);
        CHECK(count(node->logs(), "event=redis_publish_failed") <= 1);
    }

    redis.start();
    for (Relay* node : {&a, &b})
        REQUIRE(eventually([&] { return count(node->logs(), "event=redis_up") == 2; }));
    for (const auto& data : {a_data, b_data}) {
        auto metrics = scrape(data);
        CHECK(metrics.at("veil_relay_redis_up") == 1);
        CHECK(metrics.at("veil_relay_redis_backoff_milliseconds") == 0);
    }
    // No polling while Redis is up (node_args): what arrives now came by a wake-up.
    bob_says("after the outage 5e05");
    REQUIRE(arrives(*at_alice, sent.back()));
    bob_says("and once more 5e06");
    REQUIRE(arrives(*at_alice, sent.back()));

    for (const auto& text : sent)
        CHECK(printed(*at_alice, text) == 1);
    CHECK(eventually([&] { return mailbox_rows(db, "alice") == 0; }));
}

TEST_CASE("a node killed with kill -9 mid-conversation: its clients reconnect to the other node "
          "and every message arrives exactly once",
          "[cluster]") {
    TempDir dir("veil-cluster-kill");
    PostgresTestDb db;
    const std::string redis = fixture_redis_url();
    auto a = std::make_unique<Relay>(node_dir(dir.path(), "a"), node_args(db, redis));
    Relay b(node_dir(dir.path(), "b"), node_args(db, redis));
    // The name clients use: node a while it lives, then node b.
    TcpForwarder front({port_of(a->url()), port_of(b.url())});

    Client alice = make_client(dir.path(), front.url(), "alice");
    Client carol = make_client(dir.path(), front.url(), "carol");
    Client bob = make_client(dir.path(), b.url(), "bob");
    Client dave = make_client(dir.path(), b.url(), "dave");
    auto at_alice = start_listener(alice); // through the front, on a
    auto at_bob = start_listener(bob);     // on b
    REQUIRE(front.forwarded()[1] == 0);

    std::vector<std::string> to_alice, to_bob;
    auto dave_says = [&](const std::string& text) {
        send_ok(dave, {"send", "alice", text});
        to_alice.push_back(text);
    };
    auto carol_says = [&](const std::string& text) {
        send_ok(carol, {"send", "bob", text});
        to_bob.push_back(text);
    };
    dave_says("dave before the kill c001");
    carol_says("carol before the kill c002");
    REQUIRE(arrives(*at_alice, to_alice.back()));
    REQUIRE(arrives(*at_bob, to_bob.back()));

    a->process().signal(SIGKILL);
    REQUIRE(a->process().wait(10s));
    dave_says("dave while alice reconnects c003");
    dave_says("dave while alice reconnects c004");
    carol_says("carol through the front after the kill c005");
    REQUIRE(arrives(*at_alice, "dave while alice reconnects c004"));
    CHECK(front.forwarded()[1] >= 2); // alice's listener and carol's send went to node b
    dave_says("dave after alice is back c006");
    carol_says("carol after the kill, again c007");
    for (const auto& text : to_alice)
        REQUIRE(arrives(*at_alice, text));
    for (const auto& text : to_bob)
        REQUIRE(arrives(*at_bob, text));

    for (const auto& text : to_alice)
        CHECK(printed(*at_alice, text) == 1);
    for (const auto& text : to_bob)
        CHECK(printed(*at_bob, text) == 1);
    CHECK(eventually([&] { return mailbox_rows(db, "alice") + mailbox_rows(db, "bob") == 0; }));
}

TEST_CASE("a relay given Redis with a SQLite store, or a malformed Redis URL, refuses to start and "
          "says why") {
    TempDir dir("veil-cluster-config");
    const std::string data = (dir.path() / "relay").string();
    auto sqlite = veil::test::run({VEIL_RELAY_BIN, "--listen", "127.0.0.1:0", "--data", data,
                                   "--redis", "redis://127.0.0.1:6379"},
                                  {}, dir.path(), "relay");
    CHECK(sqlite.code == 2);
    CHECK(sqlite.err.find("redis needs a PostgreSQL store") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.path() / "relay" / "relay.db")); // nothing made

    // The same from the config file.
    const auto config = dir.path() / "relay.conf";
    std::ofstream(config) << "listen = 127.0.0.1:0\nredis = redis://127.0.0.1:6379\n";
    auto from_file = veil::test::run({VEIL_RELAY_BIN, "--config", config.string(), "--data", data},
                                     {}, dir.path(), "relay");
    CHECK(from_file.code == 2);
    CHECK(from_file.err.find("redis needs a PostgreSQL store") != std::string::npos);

    for (const std::string url : {"127.0.0.1:6379", "redis://127.0.0.1", "redis://h:99999",
                                  "redis://user:secret@127.0.0.1:6379"}) {
        auto bad = veil::test::run({VEIL_RELAY_BIN, "--listen", "127.0.0.1:0", "--data", data,
                                    "--store", "host=127.0.0.1 port=1 dbname=none", "--redis", url},
                                   {}, dir.path(), "relay");
        INFO(url);
        CHECK(bad.code == 2);
        CHECK(bad.err.find("redis needs redis://HOST:PORT") != std::string::npos);
        CHECK(bad.err.find("secret") == std::string::npos); // never repeated
    }
}
