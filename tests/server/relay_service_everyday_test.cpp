// RelayService for everyday messaging: transient sends (typing indicators) and the notices a
// sender gets when the retention purge deletes its messages undelivered (veil.proto, Deliver).
#include "relay_fixture.h"

#include <set>

using namespace veil;
using namespace veil::relay;
using namespace veil::relay::test;

namespace {

constexpr std::int64_t kDayMs = 24LL * 60 * 60 * 1000;

// alice authenticated on alice_session; bob registered, offline.
struct Pair : RelayFixture {
    TestUser alice = make_user("alice");
    TestUser bob = make_user("bob");
    Session alice_session{1};

    Pair() {
        register_offline(bob);
        REQUIRE(register_user(alice_session, alice)[0].has_auth_result());
        router.pushes.clear();
    }

    wire::Envelope transient(const std::string& to, std::vector<std::uint32_t> devices) {
        auto e = send_request(to, message_id(9), "typing");
        auto* s = e.mutable_send_request();
        s->clear_to_devices();
        for (auto d : devices) {
            auto* c = s->add_to_devices();
            c->set_device_id(d);
            c->set_type(wire::CIPHERTEXT_WHISPER);
            c->set_ciphertext("typing");
        }
        s->set_transient(true);
        return e;
    }

    std::int64_t mailbox_rows() {
        return static_cast<std::int64_t>(store->queued("bob", 1, 0, 100)->size());
    }
};

} // namespace

TEST_CASE("a transient send is answered Ok and pushed with delivery id 0 without being stored") {
    Pair f;
    auto r = f.call(f.alice_session, f.transient("bob", {1}));
    REQUIRE(r.size() == 1);
    CHECK(r[0].has_ok());
    REQUIRE(f.router.transient.size() == 1);
    const auto& pushed = f.router.transient[0];
    CHECK(pushed.username == "bob");
    CHECK(pushed.device_id == 1);
    CHECK(pushed.deliver.deliver().delivery_id() == 0);
    CHECK(pushed.deliver.deliver().from_username() == "alice");
    CHECK(pushed.deliver.deliver().ciphertext() == "typing");
    CHECK(f.router.pushes.empty()); // nothing through the mailbox's push path
    CHECK(f.mailbox_rows() == 0);
}

TEST_CASE("a transient send naming fewer or unknown devices is not refused, and unknown "
          "recipients get nothing") {
    Pair f;
    auto r = f.call(f.alice_session, f.transient("bob", {1, 7}));
    REQUIRE(r.size() == 1);
    CHECK(r[0].has_ok());
    auto nobody = f.call(f.alice_session, f.transient("nobody", {1}));
    REQUIRE(nobody.size() == 1);
    CHECK(nobody[0].has_ok());
    CHECK(f.mailbox_rows() == 0);
    // Each named copy is offered to the router, which reaches only connected devices.
    CHECK(f.router.transient.size() == 3);
}

TEST_CASE("an ack for delivery id 0 is answered Ok and deletes nothing") {
    Pair f;
    REQUIRE(
        f.call(f.alice_session, f.send_request("bob", message_id(1), "kept"))[0].has_send_result());
    Session bob_session(2);
    REQUIRE(f.auth(bob_session, f.bob)[0].has_auth_result());
    auto ack = request(f.next_id++);
    ack.mutable_ack_request()->add_delivery_ids(0);
    auto r = f.call(bob_session, ack);
    REQUIRE(r.size() == 1);
    CHECK(r[0].has_ok());
    CHECK(f.mailbox_rows() == 1);
}

TEST_CASE("a message purged undelivered reaches its sender's connected device as one expiry "
          "notice with the right fields") {
    Pair f;
    const std::int64_t sent_at = f.clock.now_ms();
    REQUIRE(
        f.call(f.alice_session, f.send_request("bob", message_id(1), "lost"))[0].has_send_result());
    f.router.pushes.clear();

    f.clock.advance(31 * kDayMs);
    auto purged = f.service->purge_expired();
    REQUIRE(purged);
    CHECK(*purged == 1);
    REQUIRE(f.router.pushes.size() == 1);
    const auto& push = f.router.pushes[0];
    CHECK(push.username == "alice");
    CHECK(push.device_id == 1);
    const auto& d = push.deliver.deliver();
    CHECK(d.delivery_id() != 0);
    CHECK(d.type() == wire::CIPHERTEXT_NONE);
    CHECK(d.from_username().empty());
    REQUIRE(d.has_expired());
    CHECK(d.expired().message_id() == to_str(message_id(1)));
    CHECK(d.expired().to_username() == "bob");
    CHECK(d.expired().group_id().empty());
    CHECK(d.expired().sent_at_ms() == static_cast<std::uint64_t>(sent_at));

    // Exactly once: a later purge has nothing more to say, and the notice is in the mailbox.
    f.router.pushes.clear();
    REQUIRE(f.service->purge_expired());
    CHECK(f.router.pushes.empty());
    auto queued = f.store->queued("alice", 1, 0, 10);
    REQUIRE(queued);
    REQUIRE(queued->size() == 1);
    CHECK((*queued)[0].expired);
}

TEST_CASE("a message acked by its recipient queues no expiry notice") {
    Pair f;
    REQUIRE(
        f.call(f.alice_session, f.send_request("bob", message_id(1), "read"))[0].has_send_result());
    Session bob_session(2);
    auto r = f.auth(bob_session, f.bob);
    REQUIRE(r.size() == 3);
    auto ack = request(f.next_id++);
    ack.mutable_ack_request()->add_delivery_ids(r[1].deliver().delivery_id());
    REQUIRE(f.call(bob_session, ack)[0].has_ok());
    f.router.pushes.clear();
    f.clock.advance(31 * kDayMs);
    REQUIRE(f.service->purge_expired());
    CHECK(f.router.pushes.empty());
    CHECK(f.store->queued("alice", 1, 0, 10)->empty());
}

TEST_CASE("a transient send with sync also goes to the sender's other devices, never back to the "
          "sending one") {
    Pair f;
    REQUIRE(f.store->add_device("alice", NewDevice{Bytes(33, 1), 9, {}, {}, {}}, 0).value() == 2);
    auto e = f.transient("bob", {1});
    auto* s = e.mutable_send_request();
    s->set_sync(true);
    for (std::uint32_t d : {2u, 1u}) {
        auto* own = s->add_own_devices();
        own->set_device_id(d);
        own->set_type(wire::CIPHERTEXT_WHISPER);
        own->set_ciphertext("typing");
    }
    auto r = f.call(f.alice_session, e);
    REQUIRE(r.size() == 1);
    CHECK(r[0].has_ok());
    std::set<std::pair<std::string, std::uint32_t>> reached;
    for (const auto& p : f.router.transient)
        reached.insert({p.username, p.device_id});
    CHECK(reached == std::set<std::pair<std::string, std::uint32_t>>{{"bob", 1}, {"alice", 2}});
    CHECK(f.store->queued("alice", 2, 0, 10)->empty());
}
