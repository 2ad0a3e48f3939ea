// The relay killed with SIGKILL right after committing a send (VEIL_CRASH_AT=relay.after_commit,
// util/crash_point.h), seen from raw WebSocket clients: the sender's retry of the same message
// id after the restart is answered from the send log, other content under that id is refused,
// and the recipient gets the message once.
#include "server/relay_fixture.h"
#include "server/transport/wire_client.h"
#include "server/transport/wire_login.h"

#include <catch2/catch.hpp>

#include <csignal>

using namespace veil;
using namespace veil::relay::test;
using veil::test::TempDir;

TEST_CASE("a relay killed after committing a send answers the retry from its send log, refuses "
          "other content under the same id and delivers the message once") {
    TempDir dir("veil-crash-wire");
    RelayFixture keys;
    const TestUser alice = keys.make_user("alice");
    const TestUser bob = keys.make_user("bob");
    const Bytes id = message_id(7);
    {
        RelayProcess relay(dir.path(), {}, {{"VEIL_CRASH_AT", "relay.after_commit"}});
        {
            WsClient b(relay.port());
            log_in_over_wire(b, keys, bob); // registered, then offline
        }
        WsClient a(relay.port());
        log_in_over_wire(a, keys, alice);
        REQUIRE(a.send_envelope(keys.send_request("bob", id, "the first ciphertext")));
        // The send committed; the answer never comes.
        CHECK_FALSE(a.next_envelope(after(20s)));
        auto code = relay.process().wait(20s);
        REQUIRE(code);
        CHECK(*code == 128 + SIGKILL);
        CHECK(relay.process().err().find("veil: crash point relay.after_commit reached") !=
              std::string::npos);
    }

    RelayProcess relay(dir.path());
    WsClient a(relay.port());
    log_in_over_wire(a, keys, alice, false);
    REQUIRE(a.send_envelope(keys.send_request("bob", id, "the first ciphertext")));
    auto retried = a.next_envelope(after(10s));
    REQUIRE(retried);
    CHECK(retried->has_send_result());
    REQUIRE(a.send_envelope(keys.send_request("bob", id, "other content")));
    auto conflict = a.next_envelope(after(10s));
    REQUIRE(conflict);
    REQUIRE(conflict->has_error());
    CHECK(conflict->error().code() == wire::Error::CONFLICT);

    WsClient b(relay.port());
    auto delivered = log_in_and_drain(b, keys, bob, 10s);
    REQUIRE(delivered.size() == 1);
    CHECK(delivered[0].message_id() == to_str(id));
    CHECK(delivered[0].ciphertext() == "the first ciphertext");
}
