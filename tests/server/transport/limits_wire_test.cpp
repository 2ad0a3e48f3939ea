// Rate limits and mailbox quotas (issue 10, QUALITY.md "Relay faults and abuse") against a
// running veil-relay over real WebSocket connections: failed authentication is throttled per
// address, an account past its rate is throttled while others are not, and one sender
// flooding an offline queue meets its quota while other senders still get through. Every
// refusal is RATE_LIMITED with a retry-after.
#include "server/relay_fixture.h"
#include "server/transport/wire_client.h"
#include "server/transport/wire_login.h"
#include "support/postgres_test_db.h"

#include <catch2/catch.hpp>

using namespace veil;
using namespace veil::relay;
using namespace veil::relay::test;
using namespace std::chrono_literals;

namespace {

wire::Envelope next(WsClient& client) {
    auto e = client.next_envelope(after(10s));
    REQUIRE(e);
    return *e;
}

// A send of one copy to device 1 of `to`, answered on client.
wire::Envelope send(WsClient& client, RelayFixture& keys, const std::string& to,
                    std::uint8_t id_fill) {
    REQUIRE(client.send_envelope(keys.send_request(to, message_id(id_fill), "opaque")));
    return next(client);
}

void register_offline(std::uint16_t port, RelayFixture& keys, const TestUser& user) {
    WsClient client(port);
    log_in_over_wire(client, keys, user);
}

bool rate_limited(const wire::Envelope& e) {
    return e.has_error() && e.error().code() == wire::Error::RATE_LIMITED;
}

} // namespace

TEST_CASE("failed authentication from one address is throttled with a retry-after, even for "
          "the right key afterwards") {
    TempDir dir("veil-auth-limit");
    RelayProcess relay(dir.path(), {"--rate-limit-loopback", "--rate-auth-per-second", "1",
                                    "--rate-auth-burst", "6"});
    RelayFixture keys;
    const TestUser alice = keys.make_user("alice");
    const TestUser mallory = keys.make_user("alice"); // the same name, another key
    register_offline(relay.port(), keys, alice);

    WsClient client(relay.port());
    int failures = 0;
    std::optional<wire::Envelope> limited;
    for (int attempt = 0; attempt < 5 && !limited; ++attempt) {
        auto challenge = request(keys.next_id++);
        challenge.mutable_challenge_request();
        REQUIRE(client.send_envelope(challenge));
        auto nonce = next(client);
        REQUIRE(nonce.has_challenge());
        REQUIRE(
            client.send_envelope(keys.auth_request(mallory, to_bytes(nonce.challenge().nonce()))));
        auto answer = next(client);
        REQUIRE(answer.has_error());
        if (rate_limited(answer)) {
            limited = answer;
        } else {
            CHECK(answer.error().code() == wire::Error::AUTH_FAILED);
            ++failures;
        }
    }
    // One registration and one failure (1 + 1 + 5 of 6 attempts) leave none for another.
    CHECK(failures == 1);
    REQUIRE(limited);
    CHECK(limited->error().retry_after_ms() >= 1000);

    // The right key from the same address waits its turn too.
    auto challenge = request(keys.next_id++);
    challenge.mutable_challenge_request();
    REQUIRE(client.send_envelope(challenge));
    auto nonce = next(client);
    REQUIRE(client.send_envelope(keys.auth_request(alice, to_bytes(nonce.challenge().nonce()))));
    CHECK(rate_limited(next(client)));
}

TEST_CASE("an account sending past its rate is throttled with a retry-after while another "
          "account is not") {
    TempDir dir("veil-account-limit");
    RelayProcess relay(dir.path(), {"--rate-account-per-second", "2", "--rate-account-burst", "5"});
    RelayFixture keys;
    const TestUser carol = keys.make_user("carol");
    register_offline(relay.port(), keys, carol);
    const TestUser bob = keys.make_user("bob");
    const TestUser alice = keys.make_user("alice");
    WsClient bob_client(relay.port());
    log_in_over_wire(bob_client, keys, bob);
    WsClient alice_client(relay.port());
    log_in_over_wire(alice_client, keys, alice);

    int stored = 0;
    int limited = 0;
    for (std::uint8_t i = 1; i <= 20; ++i) {
        auto answer = send(bob_client, keys, "carol", i);
        if (answer.has_send_result()) {
            ++stored;
        } else {
            REQUIRE(rate_limited(answer));
            CHECK(answer.error().retry_after_ms() > 0);
            CHECK(answer.error().retry_after_ms() <= 1000);
            ++limited;
        }
    }
    // Twenty requests at once: the burst of five passes (a little more if the clock ticked).
    CHECK(stored >= 5);
    CHECK(stored <= 7);
    CHECK(limited == 20 - stored);
    CHECK(send(alice_client, keys, "carol", 100).has_send_result());
}

namespace {

// One sender floods carol's offline queue past the per-sender quota (5), another fills it to the
// per-device quota (8); carol collects, and the first sender's refused send goes through.
// store_args: the relay's --store option, or none for SQLite.
void flood_offline_queue(const std::vector<std::string>& store_args) {
    TempDir dir("veil-quota");
    std::vector<std::string> args = {"--quota-queued-per-sender", "5", "--quota-queued-per-device",
                                     "8"};
    args.insert(args.end(), store_args.begin(), store_args.end());
    RelayProcess relay(dir.path(), args);
    RelayFixture keys;
    const TestUser carol = keys.make_user("carol");
    register_offline(relay.port(), keys, carol);
    const TestUser bob = keys.make_user("bob");
    const TestUser alice = keys.make_user("alice");
    WsClient bob_client(relay.port());
    log_in_over_wire(bob_client, keys, bob);
    WsClient alice_client(relay.port());
    log_in_over_wire(alice_client, keys, alice);

    for (std::uint8_t i = 1; i <= 5; ++i)
        REQUIRE(send(bob_client, keys, "carol", i).has_send_result());
    auto refused = send(bob_client, keys, "carol", 6);
    REQUIRE(rate_limited(refused));
    CHECK(refused.error().retry_after_ms() >= 10'000);
    CHECK(refused.error().message().find("not collected") != std::string::npos);

    // Another sender still gets in, up to the device's quota.
    for (std::uint8_t i = 101; i <= 103; ++i)
        REQUIRE(send(alice_client, keys, "carol", i).has_send_result());
    auto full = send(alice_client, keys, "carol", 104);
    REQUIRE(rate_limited(full));
    CHECK(full.error().message().find("queue") != std::string::npos);

    // Carol collects her eight messages; the retry of bob's sixth then goes through.
    WsClient carol_client(relay.port());
    auto challenge = request(keys.next_id++);
    challenge.mutable_challenge_request();
    REQUIRE(carol_client.send_envelope(challenge));
    auto nonce = next(carol_client);
    REQUIRE(
        carol_client.send_envelope(keys.auth_request(carol, to_bytes(nonce.challenge().nonce()))));
    REQUIRE(next(carol_client).has_auth_result());
    auto ack = request(keys.next_id++);
    int delivered = 0;
    for (auto e = next(carol_client); !e.has_queue_drained(); e = next(carol_client)) {
        REQUIRE(e.has_deliver());
        ack.mutable_ack_request()->add_delivery_ids(e.deliver().delivery_id());
        ++delivered;
    }
    CHECK(delivered == 8);
    REQUIRE(carol_client.send_envelope(ack));
    REQUIRE(next(carol_client).has_ok());
    auto retried = send(bob_client, keys, "carol", 6);
    CHECK(retried.has_send_result());
}

} // namespace

TEST_CASE("one sender flooding an offline queue meets its quota while other senders still get "
          "through, until the queue is collected") {
    flood_offline_queue({});
}

TEST_CASE("on PostgreSQL the offline queue quotas engage exactly as on SQLite") {
    veil::test::PostgresTestDb db;
    flood_offline_queue({"--store", db.conninfo()});
}

TEST_CASE("an address opening connections past its rate has the extra ones closed at once, "
          "while its first ones are served") {
    TempDir dir("veil-connect-limit");
    RelayProcess relay(dir.path(), {"--rate-limit-loopback", "--rate-connect-per-second", "1",
                                    "--rate-connect-burst", "3"});
    int served = 0;
    for (int i = 0; i < 8; ++i)
        served += healthz_ok(relay.port()) ? 1 : 0;
    // Three at once, and one more for each second the loop took (it takes milliseconds).
    CHECK(served >= 3);
    CHECK(served <= 4);
}
