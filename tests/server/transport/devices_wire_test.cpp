// Multi-device accounts against the real relay binary over real sockets: a link channel between
// a new device's unauthenticated connection and an authenticated device, and the removal of a
// device closing its live connection. Every wait has a deadline; nothing sleeps to synchronise.
#include "server/relay_fixture.h"
#include "server/transport/wire_client.h"
#include "server/transport/wire_login.h"

#include <catch2/catch.hpp>

using namespace veil;
using namespace veil::relay;
using namespace veil::relay::test;

namespace {

wire::Envelope next(WsClient& client) {
    auto e = client.next_envelope(after(10s));
    REQUIRE(e);
    return *e;
}

wire::Envelope link_send(RelayFixture& keys, const std::string& channel, const std::string& payload,
                         bool first) {
    auto e = request(keys.next_id++);
    auto* l = e.mutable_link_send_request();
    l->set_channel(channel);
    l->set_payload(payload);
    l->set_first(first);
    return e;
}

// Adds a device to the account client is logged in to, with device_key's identity key pair as
// its own key; returns its id.
std::uint32_t add_device(WsClient& client, RelayFixture& keys, const TestUser& account,
                         const TestUser& device_key) {
    auto e = request(keys.next_id++);
    auto* d = e.mutable_device_add_request();
    d->set_device_key(to_str(device_key.identity.key_pair.public_key));
    d->set_registration_id(device_key.identity.registration_id);
    d->mutable_signed_prekey()->set_id(account.signed_prekey.id);
    d->mutable_signed_prekey()->set_public_key(to_str(account.signed_prekey.public_key));
    d->mutable_signed_prekey()->set_signature(to_str(account.signed_prekey.signature));
    REQUIRE(client.send_envelope(e));
    auto added = next(client);
    INFO((added.has_error() ? added.error().message() : ""));
    REQUIRE(added.has_device_added());
    return added.device_added().device_id();
}

// Challenge, then authenticate as (device_key.username, id) with device_key's key; returns the
// answer to the auth request.
wire::Envelope auth_device(WsClient& client, RelayFixture& keys, const TestUser& device_key,
                           std::uint32_t id) {
    auto challenge = request(keys.next_id++);
    challenge.mutable_challenge_request();
    REQUIRE(client.send_envelope(challenge));
    auto nonce = next(client);
    REQUIRE(nonce.has_challenge());
    REQUIRE(client.send_envelope(
        keys.auth_request(device_key, to_bytes(nonce.challenge().nonce()), id)));
    return next(client);
}

} // namespace

TEST_CASE("a link channel carries payloads in order between a new device's unauthenticated "
          "connection and a device of the account") {
    TempDir dir("veil-link");
    RelayProcess relay(dir.path());
    RelayFixture keys;
    const TestUser alice = keys.make_user("alice");
    WsClient existing(relay.port());
    log_in_over_wire(existing, keys, alice);

    WsClient fresh(relay.port());
    auto open = request(keys.next_id++);
    open.mutable_link_open_request();
    REQUIRE(fresh.send_envelope(open));
    auto opened = next(fresh);
    REQUIRE(opened.has_link_opened());
    const std::string channel = opened.link_opened().channel();
    CHECK(channel.size() == protocol::kLinkChannelBytes);

    REQUIRE(existing.send_envelope(link_send(keys, channel, "hello", true)));
    CHECK(next(existing).has_ok());
    for (int i = 0; i < 20; ++i)
        REQUIRE(
            existing.send_envelope(link_send(keys, channel, "part " + std::to_string(i), false)));
    for (int i = 0; i < 20; ++i)
        CHECK(next(existing).has_ok());

    auto first = next(fresh);
    REQUIRE(first.has_link_message());
    CHECK(first.request_id() == 0);
    CHECK(first.link_message().channel() == channel);
    CHECK(first.link_message().payload() == "hello");
    for (int i = 0; i < 20; ++i) {
        auto part = next(fresh);
        REQUIRE(part.has_link_message());
        CHECK(part.link_message().payload() == "part " + std::to_string(i));
    }

    // The new device answers over the same channel, still unauthenticated.
    REQUIRE(fresh.send_envelope(link_send(keys, channel, std::string(64 * 1024, 'k'), false)));
    CHECK(next(fresh).has_ok());
    auto keys_message = next(existing);
    REQUIRE(keys_message.has_link_message());
    CHECK(keys_message.link_message().payload() == std::string(64 * 1024, 'k'));

    // A second device of the account cannot use the code again.
    WsClient other(relay.port());
    log_in_over_wire(other, keys, alice, false);
    REQUIRE(other.send_envelope(link_send(keys, channel, "me too", true)));
    auto refused = next(other);
    REQUIRE(refused.has_error());
    CHECK(refused.error().code() == wire::Error::LINK_EXPIRED);
}

TEST_CASE("removing a device closes its live connection and it cannot authenticate again") {
    TempDir dir("veil-remove");
    RelayProcess relay(dir.path());
    RelayFixture keys;
    const TestUser alice = keys.make_user("alice");
    TestUser second_key = keys.make_user("alice"); // its identity key pair is device 2's key
    WsClient first(relay.port());
    log_in_over_wire(first, keys, alice);
    const std::uint32_t second_id = add_device(first, keys, alice, second_key);
    CHECK(second_id == 2);

    WsClient second(relay.port());
    REQUIRE(auth_device(second, keys, second_key, second_id).has_auth_result());
    REQUIRE(next(second).has_queue_drained());

    auto remove = request(keys.next_id++);
    remove.mutable_device_remove_request()->set_device_id(second_id);
    REQUIRE(first.send_envelope(remove));
    CHECK(next(first).has_ok());

    CloseSeen seen = second.wait_close(after(10s));
    CHECK(seen.ended);
    CHECK(seen.code == protocol::ws::close_policy_violation);

    WsClient again(relay.port());
    auto refused = auth_device(again, keys, second_key, second_id);
    REQUIRE(refused.has_error());
    CHECK(refused.error().code() == wire::Error::DEVICE_REMOVED);

    // The remaining device carries on.
    auto status = request(keys.next_id++);
    status.mutable_prekey_status_request();
    REQUIRE(first.send_envelope(status));
    CHECK(next(first).has_prekey_status());
}

TEST_CASE("a device that removes itself gets its Ok before the relay closes its connection") {
    TempDir dir("veil-remove-self");
    RelayProcess relay(dir.path());
    RelayFixture keys;
    const TestUser alice = keys.make_user("alice");
    TestUser second_key = keys.make_user("alice");
    WsClient first(relay.port());
    log_in_over_wire(first, keys, alice);
    const std::uint32_t second_id = add_device(first, keys, alice, second_key);

    WsClient second(relay.port());
    REQUIRE(auth_device(second, keys, second_key, second_id).has_auth_result());
    REQUIRE(next(second).has_queue_drained());
    auto remove = request(keys.next_id++);
    remove.mutable_device_remove_request()->set_device_id(second_id);
    REQUIRE(second.send_envelope(remove));
    auto answer = next(second);
    CHECK(answer.has_ok());
    CloseSeen seen = second.wait_close(after(10s));
    CHECK(seen.ended);
    CHECK(seen.code == protocol::ws::close_policy_violation);
}

TEST_CASE("the relay's link timeout comes from --link-timeout-seconds") {
    TempDir dir("veil-link-timeout");
    RelayProcess relay(dir.path(), {"--link-timeout-seconds", "42"});
    RelayFixture keys;
    WsClient fresh(relay.port());
    auto open = request(keys.next_id++);
    open.mutable_link_open_request();
    REQUIRE(fresh.send_envelope(open));
    auto opened = next(fresh);
    REQUIRE(opened.has_link_opened());
    CHECK(opened.link_opened().expires_in_ms() == 42'000);
}
