// Registering or logging in over a real WebSocket connection, shared by the transport tests.
#pragma once

#include "server/relay_fixture.h"
#include "server/transport/wire_client.h"

#include <catch2/catch.hpp>

namespace veil::relay::test {

// Challenge, then register (create) or authenticate user, then expect AuthResult and a
// QueueDrained; the connection stays authenticated.
inline void log_in_over_wire(WsClient& client, RelayFixture& keys, const TestUser& user,
                             bool create = true) {
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
    auto drained = client.next_envelope(after(10s));
    REQUIRE(drained);
    REQUIRE(drained->has_queue_drained());
}

} // namespace veil::relay::test
