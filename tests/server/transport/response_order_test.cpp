// Responses on one connection stay in request order when sends and acks are answered later by
// the relay's group commits and other requests at once (server/transport/connection.cpp).
#include "server/relay_fixture.h"
#include "server/transport/wire_client.h"
#include "server/transport/wire_login.h"

#include <catch2/catch.hpp>

using namespace veil;
using namespace veil::relay;
using namespace veil::relay::test;

namespace {

// Pipelines sends, acks and prekey status requests on one connection, without waiting for any
// answer, and checks that the answers come back in the order of the requests.
void check_pipelined_order(const std::vector<std::string>& relay_options) {
    TempDir dir("veil-order");
    RelayProcess relay(dir.path(), relay_options);
    RelayFixture keys;
    WsClient bob(relay.port());
    log_in_over_wire(bob, keys, keys.make_user("bob"));
    WsClient alice(relay.port());
    log_in_over_wire(alice, keys, keys.make_user("alice"));

    std::vector<std::uint64_t> sent;
    for (std::uint8_t round = 0; round < 50; ++round) {
        auto send = keys.send_request("bob", message_id(round), "pipelined");
        auto status = request(keys.next_id++);
        status.mutable_prekey_status_request();
        auto ack = request(keys.next_id++);
        ack.mutable_ack_request()->add_delivery_ids(1'000'000 + round);
        for (const auto& e : {send, status, ack}) {
            REQUIRE(alice.send_envelope(e));
            sent.push_back(e.request_id());
        }
    }

    std::vector<std::uint64_t> answered;
    while (answered.size() < sent.size()) {
        auto e = alice.next_envelope(after(30s));
        REQUIRE(e);
        INFO("answer " << answered.size());
        REQUIRE_FALSE(e->has_error());
        answered.push_back(e->request_id());
    }
    CHECK(answered == sent);

    // bob received every envelope, each once.
    std::set<std::string> ids;
    while (ids.size() < 50) {
        auto e = bob.next_envelope(after(30s));
        REQUIRE(e);
        REQUIRE(e->has_deliver());
        CHECK(ids.insert(e->deliver().message_id()).second);
    }
}

} // namespace

TEST_CASE("pipelined sends, acks and status requests are answered in request order under group "
          "commit") {
    check_pipelined_order({});
}

TEST_CASE("pipelined requests are answered in request order with group commit off") {
    check_pipelined_order({"--group-commit", "0"});
}

TEST_CASE("a relay with durability normal stores and delivers as with full") {
    check_pipelined_order({"--durability", "normal"});
}
