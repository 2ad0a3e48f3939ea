#include "relay_fixture.h"

#include <random>
#include <set>

using namespace veil;
using namespace veil::relay;
using namespace veil::relay::test;

namespace {

constexpr std::int64_t kHourMs = 60LL * 60 * 1000;
constexpr std::int64_t kDayMs = 24 * kHourMs;

wire::Error::Code error_code(const wire::Envelope& e) {
    REQUIRE(e.has_error());
    return e.error().code();
}

// Registers alice and bob, bob offline; alice stays authenticated on the returned session.
struct TwoUsers : RelayFixture {
    TestUser alice = make_user("alice");
    TestUser bob = make_user("bob");
    Session alice_session{1};

    TwoUsers() {
        register_offline(bob);
        auto r = register_user(alice_session, alice);
        REQUIRE(r[0].has_auth_result());
        router.pushes.clear();
    }

    std::vector<wire::Envelope> send(const Bytes& id, const std::string& ciphertext,
                                     const std::string& to = "bob") {
        return call(alice_session, send_request(to, id, ciphertext));
    }

    std::vector<wire::Envelope> bob_connects(Session& session) { return auth(session, bob); }
};

} // namespace

TEST_CASE("registration creates the account with device 1 and authenticates the connection") {
    RelayFixture f;
    Session s(1);
    auto user = f.make_user("alice", 5);
    auto r = f.register_user(s, user);

    REQUIRE(r.size() == 2);
    REQUIRE(r[0].has_auth_result());
    CHECK(r[0].auth_result().device_id() == 1);
    CHECK(r[0].auth_result().one_time_prekeys_left() == 5);
    CHECK(r[1].has_queue_drained());
    CHECK(s.authenticated);
    CHECK(s.username == "alice");
    CHECK(f.router.attached.at(1) == "alice");
}

TEST_CASE("registering a username that is taken is refused with USERNAME_TAKEN") {
    RelayFixture f;
    f.register_offline(f.make_user("alice"));

    Session s(2);
    auto r = f.register_user(s, f.make_user("alice"));
    REQUIRE(r.size() == 1);
    CHECK(error_code(r[0]) == wire::Error::USERNAME_TAKEN);
    CHECK_FALSE(s.authenticated);
}

TEST_CASE("registering an invalid username is refused with INVALID_USERNAME") {
    RelayFixture f;
    for (const char* name :
         {"A", "Alice", "_alice", "al ice", "a", "x234567890123456789012345678901234"}) {
        Session s(2);
        auto r = f.register_user(s, f.make_user(name, 0));
        REQUIRE(r.size() == 1);
        CHECK(error_code(r[0]) == wire::Error::INVALID_USERNAME);
    }
}

TEST_CASE("an invite-only relay needs an unused invite code to register") {
    RelayService::Options options;
    options.invite_only = true;
    RelayFixture f(options);
    REQUIRE(f.store->create_invite("code-1", f.clock.now_ms()));

    Session without(1);
    auto r = f.register_user(without, f.make_user("alice"));
    CHECK(error_code(r[0]) == wire::Error::INVITE_REQUIRED);

    Session unknown(2);
    r = f.register_user(unknown, f.make_user("alice"), "no-such-code");
    CHECK(error_code(r[0]) == wire::Error::INVITE_REQUIRED);

    Session good(3);
    r = f.register_user(good, f.make_user("alice"), "code-1");
    CHECK(r[0].has_auth_result());

    Session reused(4);
    r = f.register_user(reused, f.make_user("bob"), "code-1");
    CHECK(error_code(r[0]) == wire::Error::INVITE_REQUIRED);
}

TEST_CASE("registration without a challenge or with a bad signature is refused") {
    RelayFixture f;
    auto user = f.make_user("alice");

    Session no_challenge(1);
    auto r = f.call(no_challenge, f.register_request(user, Bytes(32, 7)));
    CHECK(error_code(r[0]) == wire::Error::AUTH_FAILED);

    Session wrong_nonce(2);
    f.challenge(wrong_nonce);
    r = f.call(wrong_nonce, f.register_request(user, Bytes(32, 7)));
    CHECK(error_code(r[0]) == wire::Error::AUTH_FAILED);
    CHECK_FALSE(wrong_nonce.authenticated);
}

TEST_CASE("auth with a valid signature authenticates and reports the prekeys left") {
    RelayFixture f;
    auto user = f.make_user("alice", 4);
    f.register_offline(user);

    Session s(7);
    auto r = f.auth(s, user);
    REQUIRE(r.size() == 2);
    REQUIRE(r[0].has_auth_result());
    CHECK(r[0].auth_result().device_id() == 1);
    CHECK(r[0].auth_result().one_time_prekeys_left() == 4);
    CHECK(r[1].has_queue_drained());
    CHECK(s.authenticated);
}

TEST_CASE("auth with a wrong signature is refused with AUTH_FAILED") {
    RelayFixture f;
    auto user = f.make_user("alice");
    auto impostor = f.make_user("alice");
    f.register_offline(user);

    Session s(1);
    auto r = f.auth(s, impostor);
    REQUIRE(r.size() == 1);
    CHECK(error_code(r[0]) == wire::Error::AUTH_FAILED);
    CHECK_FALSE(s.authenticated);
    CHECK(f.router.attached.empty());
}

TEST_CASE("auth for an unknown user fails exactly like a wrong signature") {
    RelayFixture f;
    auto user = f.make_user("alice");
    f.register_offline(user);

    Session a(1), b(2);
    auto wrong_key = f.auth(a, f.make_user("alice"));
    auto unknown = f.auth(b, f.make_user("nobody"));
    REQUIRE(wrong_key.size() == 1);
    REQUIRE(unknown.size() == 1);
    CHECK(error_code(unknown[0]) == wire::Error::AUTH_FAILED);
    CHECK(unknown[0].error().message() == wrong_key[0].error().message());
}

TEST_CASE("auth with a replayed challenge is refused") {
    RelayFixture f;
    auto user = f.make_user("alice");
    f.register_offline(user);

    SECTION("a failed attempt uses up the challenge") {
        Session s(1);
        Bytes nonce = f.challenge(s);
        auto bad = f.auth_request(f.make_user("alice"), nonce);
        CHECK(error_code(f.call(s, bad)[0]) == wire::Error::AUTH_FAILED);
        auto replay = f.call(s, f.auth_request(user, nonce));
        CHECK(error_code(replay[0]) == wire::Error::AUTH_FAILED);
        CHECK_FALSE(s.authenticated);
    }
    SECTION("a captured auth request is useless on another connection") {
        Session original(1);
        Bytes nonce = f.challenge(original);
        auto captured = f.auth_request(user, nonce);
        REQUIRE(f.call(original, captured)[0].has_auth_result());

        Session attacker(2);
        f.challenge(attacker);
        CHECK(error_code(f.call(attacker, captured)[0]) == wire::Error::AUTH_FAILED);
    }
    SECTION("a malformed attempt uses up the challenge too") {
        Session s(1);
        Bytes nonce = f.challenge(s);
        auto malformed = f.auth_request(user, nonce);
        malformed.mutable_auth_request()->set_signature("short");
        CHECK(error_code(f.call(s, malformed)[0]) == wire::Error::BAD_REQUEST);
        CHECK(error_code(f.call(s, f.auth_request(user, nonce))[0]) == wire::Error::AUTH_FAILED);
    }
}

TEST_CASE("requests that need authentication are refused before it") {
    RelayFixture f;
    Session s(1);
    std::vector<wire::Envelope> requests(5, request(9));
    requests[0].mutable_prekey_upload();
    requests[1].mutable_prekey_fetch()->set_username("alice");
    *requests[2].mutable_send_request() =
        f.send_request("alice", message_id(1), "x").send_request();
    requests[3].mutable_ack_request()->add_delivery_ids(1);
    requests[4].mutable_prekey_status_request();
    for (const auto& e : requests) {
        auto r = f.call(s, e);
        REQUIRE(r.size() == 1);
        CHECK(error_code(r[0]) == wire::Error::NOT_AUTHENTICATED);
        CHECK(r[0].request_id() == 9);
    }
}

TEST_CASE("an authenticated connection cannot register or authenticate again") {
    RelayFixture f;
    Session s(1);
    auto user = f.make_user("alice");
    REQUIRE(f.register_user(s, user)[0].has_auth_result());
    auto e = request(5);
    e.mutable_challenge_request();
    CHECK(error_code(f.call(s, e)[0]) == wire::Error::ALREADY_AUTHENTICATED);
}

TEST_CASE("each one-time prekey is handed out once, and when none are left the bundle has only "
          "the signed prekey") {
    TwoUsers f;
    auto fetch = [&] {
        auto e = request(f.next_id++);
        e.mutable_prekey_fetch()->set_username("bob");
        auto r = f.call(f.alice_session, e);
        REQUIRE(r.size() == 1);
        REQUIRE(r[0].has_prekey_bundles());
        REQUIRE(r[0].prekey_bundles().bundles_size() == 1);
        return r[0].prekey_bundles().bundles(0);
    };

    std::set<std::uint32_t> ids;
    for (int i = 0; i < 3; ++i) {
        auto bundle = fetch();
        CHECK(bundle.username() == "bob");
        CHECK(bundle.device_id() == 1);
        CHECK(bundle.registration_id() == f.bob.identity.registration_id);
        CHECK(to_bytes(bundle.identity_key()) == f.bob.identity.key_pair.public_key);
        CHECK(to_bytes(bundle.signed_prekey().signature()) == f.bob.signed_prekey.signature);
        REQUIRE(bundle.has_one_time_prekey());
        ids.insert(bundle.one_time_prekey().id());
    }
    CHECK(ids.size() == 3);

    auto exhausted = fetch();
    CHECK_FALSE(exhausted.has_one_time_prekey());
    CHECK(to_bytes(exhausted.signed_prekey().public_key()) == f.bob.signed_prekey.public_key);
}

TEST_CASE("fetching the prekeys of an unknown user is NOT_FOUND") {
    TwoUsers f;
    auto e = request(3);
    e.mutable_prekey_fetch()->set_username("nobody");
    CHECK(error_code(f.call(f.alice_session, e)[0]) == wire::Error::NOT_FOUND);
}

TEST_CASE("a prekey upload adds new one-time prekeys, ignores known ids and checks the signed "
          "prekey") {
    TwoUsers f;                                            // alice has prekeys 1..3
    auto more = crypto::generate_prekeys(*f.signal, 3, 3); // ids 3, 4, 5: 3 is a duplicate
    REQUIRE(more);
    auto e = request(f.next_id++);
    for (const auto& k : *more) {
        auto* otk = e.mutable_prekey_upload()->add_one_time_prekeys();
        otk->set_id(k.id);
        otk->set_public_key(to_str(k.public_key));
    }
    auto r = f.call(f.alice_session, e);
    REQUIRE(r[0].has_prekey_status());
    CHECK(r[0].prekey_status().one_time_prekeys_left() == 5);

    auto spk = crypto::generate_signed_prekey(*f.signal, f.alice.identity.key_pair, 2, 0);
    REQUIRE(spk);
    auto upload = request(f.next_id++);
    auto* signed_prekey = upload.mutable_prekey_upload()->mutable_signed_prekey();
    signed_prekey->set_id(2);
    signed_prekey->set_public_key(to_str(spk->public_key));
    signed_prekey->set_signature(to_str(f.bob.signed_prekey.signature)); // not over this key
    CHECK(error_code(f.call(f.alice_session, upload)[0]) == wire::Error::BAD_REQUEST);

    signed_prekey->set_signature(to_str(spk->signature));
    REQUIRE(f.call(f.alice_session, upload)[0].has_prekey_status());
    Session bob_session(5);
    REQUIRE(f.auth(bob_session, f.bob)[0].has_auth_result());
    auto fetch = request(f.next_id++);
    fetch.mutable_prekey_fetch()->set_username("alice");
    auto bundle = f.call(bob_session, fetch)[0].prekey_bundles().bundles(0);
    CHECK(bundle.signed_prekey().id() == 2);
    CHECK(to_bytes(bundle.signed_prekey().public_key()) == spk->public_key);
}

TEST_CASE("sending the same message id twice stores one copy and returns the same result") {
    TwoUsers f;
    auto first = f.send(message_id(1), "ciphertext");
    REQUIRE(first.size() == 1);
    REQUIRE(first[0].has_send_result());
    CHECK(first[0].send_result().server_timestamp_ms() ==
          static_cast<std::uint64_t>(f.clock.now_ms()));

    f.clock.advance(5000);
    auto again = f.send(message_id(1), "ciphertext");
    REQUIRE(again[0].has_send_result());
    CHECK(again[0].send_result().server_timestamp_ms() ==
          first[0].send_result().server_timestamp_ms());

    auto queued = f.store->queued("bob", 1, 0, 100);
    REQUIRE(queued);
    CHECK(queued->size() == 1);
}

TEST_CASE("the same message id with different content is refused with CONFLICT") {
    TwoUsers f;
    REQUIRE(f.send(message_id(1), "ciphertext")[0].has_send_result());
    auto r = f.send(message_id(1), "other ciphertext");
    CHECK(error_code(r[0]) == wire::Error::CONFLICT);
    CHECK(f.store->queued("bob", 1, 0, 100)->size() == 1);
}

TEST_CASE("sending to an unknown user is NOT_FOUND, and to an unknown device MISMATCHED_DEVICES") {
    TwoUsers f;
    CHECK(error_code(f.send(message_id(1), "c", "nobody")[0]) == wire::Error::NOT_FOUND);
    auto e = f.send_request("bob", message_id(2), "c");
    e.mutable_send_request()->mutable_to_devices(0)->set_device_id(2);
    CHECK(error_code(f.call(f.alice_session, e)[0]) == wire::Error::MISMATCHED_DEVICES);
}

TEST_CASE("a send to an online device is pushed through the router once it is stored") {
    TwoUsers f;
    Session bob_session(9);
    REQUIRE(f.bob_connects(bob_session).back().has_queue_drained());
    REQUIRE(f.send(message_id(4), "hello ciphertext")[0].has_send_result());

    REQUIRE(f.router.pushes.size() == 1);
    const auto& push = f.router.pushes[0];
    CHECK(push.username == "bob");
    CHECK(push.device_id == 1);
    const auto& d = push.deliver.deliver();
    CHECK(push.deliver.request_id() == 0);
    CHECK(d.from_username() == "alice");
    CHECK(d.from_device_id() == 1);
    CHECK(d.ciphertext() == "hello ciphertext");
    CHECK(to_bytes(d.message_id()) == message_id(4));
    CHECK(d.delivery_id() > bob_session.drained_up_to);

    f.send(message_id(4), "hello ciphertext"); // a retry is not pushed again
    CHECK(f.router.pushes.size() == 1);
}

TEST_CASE("queued envelopes are pushed after authentication, in order, then QueueDrained") {
    TwoUsers f;
    for (std::uint8_t i = 1; i <= 3; ++i)
        REQUIRE(f.send(message_id(i), "c" + std::to_string(i))[0].has_send_result());

    Session bob_session(9);
    auto r = f.bob_connects(bob_session);
    REQUIRE(r.size() == 5);
    CHECK(r[0].has_auth_result());
    std::uint64_t last = 0;
    for (int i = 1; i <= 3; ++i) {
        REQUIRE(r[i].has_deliver());
        CHECK(r[i].request_id() == 0);
        CHECK(r[i].deliver().ciphertext() == "c" + std::to_string(i));
        CHECK(r[i].deliver().delivery_id() > last);
        last = r[i].deliver().delivery_id();
    }
    CHECK(r[4].has_queue_drained());
    CHECK(bob_session.drained_up_to == last);
}

// bob, offline, with 10 envelopes from alice queued; the relay drains 4 per query.
struct TenQueued {
    RelayFixture f{[] {
        RelayService::Options options;
        options.drain_batch = 4;
        return options;
    }()};
    TestUser bob = f.make_user("bob");

    TenQueued() {
        auto alice = f.make_user("alice");
        f.register_offline(bob);
        Session s(1);
        f.register_user(s, alice);
        for (std::uint8_t i = 1; i <= 10; ++i)
            REQUIRE(f.call(s, f.send_request("bob", message_id(i), "c"))[0].has_send_result());
    }
};

TEST_CASE("a long queue is drained in batches without losing or repeating envelopes") {
    TenQueued q;
    auto& f = q.f;
    auto& bob = q.bob;

    Session bob_session(2);
    auto r = f.auth(bob_session, bob);
    REQUIRE(r.size() == 12);
    std::set<std::string> ids;
    for (int i = 1; i <= 10; ++i)
        ids.insert(r[i].deliver().message_id());
    CHECK(ids.size() == 10);
    CHECK(r[11].has_queue_drained());
}

TEST_CASE("a paged drain returns one page with the authentication and the rest on request, "
          "then QueueDrained") {
    TenQueued q;
    auto& f = q.f;
    auto& bob = q.bob;

    Session bob_session(2);
    bob_session.paged_drain = true;
    auto first = f.auth(bob_session, bob);
    REQUIRE(first.size() == 5); // AuthResult and one page
    CHECK(first[0].has_auth_result());
    CHECK(bob_session.drain_pending);
    std::vector<wire::Envelope> delivered(first.begin() + 1, first.end());
    auto second = parse_all(f.service->continue_drain(bob_session));
    REQUIRE(second.size() == 4);
    CHECK(bob_session.drain_pending);
    delivered.insert(delivered.end(), second.begin(), second.end());
    auto last = parse_all(f.service->continue_drain(bob_session));
    REQUIRE(last.size() == 3); // two envelopes, then QueueDrained
    CHECK(last.back().has_queue_drained());
    CHECK_FALSE(bob_session.drain_pending);
    delivered.insert(delivered.end(), last.begin(), last.end() - 1);
    CHECK(f.service->continue_drain(bob_session).empty());

    std::uint64_t previous = 0;
    std::set<std::string> ids;
    for (const auto& e : delivered) {
        REQUIRE(e.has_deliver());
        CHECK(e.deliver().delivery_id() > previous);
        previous = e.deliver().delivery_id();
        ids.insert(e.deliver().message_id());
    }
    CHECK(ids.size() == 10);
    CHECK(bob_session.drained_up_to == previous);
}

TEST_CASE("an ack deletes the caller's envelopes and cannot delete another device's") {
    TwoUsers f;
    auto carol = f.make_user("carol");
    f.register_offline(carol);
    REQUIRE(f.send(message_id(1), "for bob")[0].has_send_result());
    REQUIRE(f.call(f.alice_session, f.send_request("carol", message_id(2), "for carol"))[0]
                .has_send_result());
    std::uint64_t bobs = f.store->queued("bob", 1, 0, 10)->at(0).delivery_id;
    std::uint64_t carols = f.store->queued("carol", 1, 0, 10)->at(0).delivery_id;

    Session carol_session(3);
    REQUIRE(f.auth(carol_session, carol)[0].has_auth_result());
    auto ack = request(77);
    ack.mutable_ack_request()->add_delivery_ids(bobs);
    auto r = f.call(carol_session, ack);
    CHECK(r[0].has_ok());
    CHECK(r[0].request_id() == 77);
    CHECK(f.store->queued("bob", 1, 0, 10)->size() == 1);

    ack.mutable_ack_request()->add_delivery_ids(carols);
    CHECK(f.call(carol_session, ack)[0].has_ok());
    CHECK(f.store->queued("carol", 1, 0, 10)->empty());
    CHECK(f.store->queued("bob", 1, 0, 10)->size() == 1);
}

TEST_CASE(
    "an envelope queued for 29 days 23 hours is delivered, and after 30 days 1 hour it is gone") {
    TwoUsers f;
    REQUIRE(f.send(message_id(1), "old")[0].has_send_result());

    f.clock.advance(29 * kDayMs + 23 * kHourMs);
    auto purged = f.service->purge_expired();
    REQUIRE(purged);
    CHECK(*purged == 0);
    Session early(5);
    auto r = f.bob_connects(early);
    REQUIRE(r.size() == 3);
    CHECK(r[1].deliver().ciphertext() == "old");
    f.service->close(early);

    f.clock.advance(2 * kHourMs);
    purged = f.service->purge_expired();
    REQUIRE(purged);
    CHECK(*purged == 1);
    CHECK(f.store->queued("bob", 1, 0, 10)->empty());
    Session late(6);
    r = f.bob_connects(late);
    REQUIRE(r.size() == 2);
    CHECK(r[1].has_queue_drained());
}

TEST_CASE("retention runs on the server clock, so a clock stepped back purges nothing early") {
    TwoUsers f;
    f.clock.set(f.clock.now_ms() - 365 * kDayMs); // the server clock stepped back a year
    REQUIRE(f.send(message_id(1), "kept")[0].has_send_result());
    f.clock.advance(29 * kDayMs);
    REQUIRE(f.service->purge_expired());
    CHECK(f.store->queued("bob", 1, 0, 10)->size() == 1);
}

TEST_CASE("a server clock stepped a day forward purges what is past retention by the new clock "
          "and nothing else") {
    TwoUsers f;
    REQUIRE(f.send(message_id(1), "old")[0].has_send_result());
    f.clock.advance(29 * kDayMs + 12 * kHourMs);
    REQUIRE(f.send(message_id(2), "recent")[0].has_send_result());
    f.clock.advance(12 * kHourMs - 1);
    REQUIRE(f.send(message_id(3), "newest")[0].has_send_result());
    f.router.pushes.clear();

    // One millisecond short of 30 days for the oldest: a purge now takes nothing.
    auto purged = f.service->purge_expired();
    REQUIRE(purged);
    CHECK(*purged == 0);

    // The clock jumps a day ahead: the oldest is now 31 days old and goes, with its notice to
    // the sender; the other two are a day and twelve hours old by the new clock and stay.
    f.clock.advance(kDayMs + 1);
    purged = f.service->purge_expired();
    REQUIRE(purged);
    CHECK(*purged == 1);
    auto queued = f.store->queued("bob", 1, 0, 10);
    REQUIRE(queued);
    REQUIRE(queued->size() == 2);
    CHECK((*queued)[0].ciphertext == to_bytes("recent"));
    CHECK((*queued)[1].ciphertext == to_bytes("newest"));
    REQUIRE(f.router.pushes.size() == 1);
    CHECK(f.router.pushes[0].username == "alice");
    REQUIRE(f.router.pushes[0].deliver.deliver().has_expired());
    CHECK(f.router.pushes[0].deliver.deliver().expired().message_id() == to_str(message_id(1)));

    // A second purge on the same clock takes nothing more.
    purged = f.service->purge_expired();
    REQUIRE(purged);
    CHECK(*purged == 0);
    CHECK(f.store->queued("bob", 1, 0, 10)->size() == 2);
}

TEST_CASE("closing an authenticated connection detaches it from the router") {
    TwoUsers f;
    CHECK(f.router.attached.count(1) == 1);
    f.service->close(f.alice_session);
    CHECK(f.router.attached.empty());
}

TEST_CASE("random bytes into handle never crash and yield error frames") {
    RelayFixture f;
    std::mt19937 rng(12345);
    Session s(1);
    int errors = 0;
    const int rounds = 3000;
    for (int i = 0; i < rounds; ++i) {
        Bytes frame(rng() % 400);
        for (auto& b : frame)
            b = static_cast<std::uint8_t>(rng());
        auto r = parse_all(f.service->handle(s, frame));
        REQUIRE(r.size() >= 1);
        errors += r[0].has_error() ? 1 : 0;
    }
    CHECK(errors == rounds);
}

TEST_CASE("mutated valid requests never crash and every response parses") {
    RelayFixture f;
    auto user = f.make_user("alice");
    std::vector<Bytes> seeds = {
        protocol::encode_envelope(f.register_request(user, Bytes(32, 1))),
        protocol::encode_envelope(f.send_request("alice", message_id(1), "ciphertext")),
        protocol::encode_envelope(f.auth_request(user, Bytes(32, 1)))};
    std::mt19937 rng(777);
    for (int i = 0; i < 3000; ++i) {
        Bytes frame = seeds[rng() % seeds.size()];
        for (int flips = 1 + static_cast<int>(rng() % 4); flips > 0; --flips)
            frame[rng() % frame.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        if (rng() % 4 == 0)
            frame.resize(rng() % frame.size());
        Session s(static_cast<std::uint64_t>(i) + 10);
        auto r = parse_all(f.service->handle(s, frame));
        REQUIRE(r.size() >= 1);
    }
}

TEST_CASE("an oversize frame is refused with TOO_LARGE before it is parsed") {
    RelayFixture f;
    Session s(1);
    Bytes frame(protocol::kMaxFrameBytes + 1, 0x0a);
    auto r = parse_all(f.service->handle(s, frame));
    REQUIRE(r.size() == 1);
    CHECK(error_code(r[0]) == wire::Error::TOO_LARGE);
}

TEST_CASE("an oversize ciphertext is refused with TOO_LARGE, echoing the request id") {
    TwoUsers f;
    auto e =
        f.send_request("bob", message_id(1), std::string(protocol::kMaxCiphertextBytes + 1, 'x'));
    e.set_request_id(4242);
    auto r = f.call(f.alice_session, e);
    CHECK(error_code(r[0]) == wire::Error::TOO_LARGE);
    CHECK(r[0].request_id() == 4242);
}

TEST_CASE("an unknown protocol version is refused with UNSUPPORTED_VERSION, echoing the id") {
    RelayFixture f;
    Session s(1);
    auto e = request(31);
    e.set_version(protocol::kProtocolVersion + 1);
    e.mutable_challenge_request();
    auto r = f.call(s, e);
    REQUIRE(r.size() == 1);
    CHECK(error_code(r[0]) == wire::Error::UNSUPPORTED_VERSION);
    CHECK(r[0].request_id() == 31);
    CHECK_FALSE(r[0].error().message().empty());
}

TEST_CASE("a request without an id or a response sent as a request is BAD_REQUEST") {
    RelayFixture f;
    Session s(1);
    auto no_id = request(0);
    no_id.mutable_challenge_request();
    CHECK(error_code(f.call(s, no_id)[0]) == wire::Error::BAD_REQUEST);
    auto response = request(8);
    response.mutable_ok();
    auto r = f.call(s, response);
    CHECK(error_code(r[0]) == wire::Error::BAD_REQUEST);
    CHECK(r[0].request_id() == 8);
}
