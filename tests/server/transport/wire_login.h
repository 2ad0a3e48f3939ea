// Registering or logging in over a real WebSocket connection, shared by the transport tests.
#pragma once

#include "server/relay_fixture.h"
#include "server/transport/wire_client.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <vector>

namespace veil::relay::test {

// Challenge, then register (create) or authenticate user, then expect AuthResult; what the relay
// drains next is the caller's.
inline void authenticate_over_wire(WsClient& client, RelayFixture& keys, const TestUser& user,
                                   bool create) {
    using namespace std::chrono_literals;
    auto challenge = request(keys.next_id++);
    challenge.mutable_challenge_request();
    REQUIRE(client.send_envelope(challenge));
    auto nonce = client.next_envelope(after(10s));
    REQUIRE(nonce);
    REQUIRE(nonce->has_challenge());
    const Bytes n = to_bytes(nonce->challenge().nonce());
    REQUIRE(
        client.send_envelope(create ? keys.register_request(user, n) : keys.auth_request(user, n)));
    auto result = client.next_envelope(after(10s));
    REQUIRE(result);
    REQUIRE(result->has_auth_result());
}

// Registers (create) or authenticates user, then expects a QueueDrained with nothing before it;
// the connection stays authenticated.
inline void log_in_over_wire(WsClient& client, RelayFixture& keys, const TestUser& user,
                             bool create = true) {
    using namespace std::chrono_literals;
    authenticate_over_wire(client, keys, user, create);
    auto drained = client.next_envelope(after(10s));
    REQUIRE(drained);
    REQUIRE(drained->has_queue_drained());
}

// Authenticates user (registered before) and collects the deliveries the relay drains to it, up
// to QueueDrained, waiting at most each_wait for every envelope.
inline std::vector<wire::Deliver> log_in_and_drain(WsClient& client, RelayFixture& keys,
                                                   const TestUser& user,
                                                   std::chrono::milliseconds each_wait) {
    authenticate_over_wire(client, keys, user, false);
    std::vector<wire::Deliver> delivered;
    for (;;) {
        auto e = client.next_envelope(after(each_wait));
        REQUIRE(e);
        if (e->has_queue_drained())
            return delivered;
        if (e->has_deliver())
            delivered.push_back(e->deliver());
    }
}

} // namespace veil::relay::test
