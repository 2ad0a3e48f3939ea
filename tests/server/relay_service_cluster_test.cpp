// RelayService for several relays on one database (issue 9): the DeliveryListener that hears of
// every durable envelope (for Redis wake-ups), push_queued (the mailbox read a wake-up or a poll
// makes) and the delivery ids a session tracks so that the transport never hands one twice.
#include "relay_fixture.h"

using namespace veil;
using namespace veil::relay;
using namespace veil::relay::test;

namespace {

class RecordingListener final : public DeliveryListener {
public:
    void stored(std::vector<DeliveryNote> notes) override {
        std::lock_guard lock(mutex);
        for (auto& n : notes)
            heard.push_back(std::move(n));
    }
    std::vector<DeliveryNote> heard;
    std::mutex mutex;
};

// alice authenticated on alice_session; bob registered, offline.
struct Cluster : RelayFixture {
    explicit Cluster(RelayService::Options options = {})
        : RelayFixture(options) {
        register_offline(bob);
        REQUIRE(register_user(alice_session, alice)[0].has_auth_result());
        service->set_delivery_listener(&listener);
        router.pushes.clear();
    }
    ~Cluster() { service->set_delivery_listener(nullptr); }

    void send_to_bob(std::uint8_t id, const std::string& text) {
        auto r = call(alice_session, send_request("bob", message_id(id), text));
        REQUIRE(r.size() == 1);
        REQUIRE(r[0].has_send_result());
    }

    TestUser alice = make_user("alice");
    TestUser bob = make_user("bob");
    Session alice_session{1};
    RecordingListener listener;
};

RelayService::Options tracking() {
    RelayService::Options options;
    options.track_deliveries = true;
    return options;
}

} // namespace

TEST_CASE("the delivery listener hears of a stored send with its device and delivery id, and "
          "of nothing for a retry of it") {
    Cluster f;
    f.send_to_bob(1, "first");
    auto queued = f.store->queued("bob", 1, 0, 10);
    REQUIRE(queued);
    REQUIRE(queued->size() == 1);
    REQUIRE(f.listener.heard.size() == 1);
    CHECK(f.listener.heard[0].username == "bob");
    CHECK(f.listener.heard[0].device_id == 1);
    CHECK(f.listener.heard[0].delivery_id == queued->front().delivery_id);

    f.send_to_bob(1, "first"); // the same message id again: a retry, nothing new stored
    CHECK(f.listener.heard.size() == 1);
}

TEST_CASE("push_queued hands the router every envelope in the device's mailbox under its "
          "delivery id, and nothing for an empty one") {
    Cluster f;
    f.send_to_bob(1, "one");
    f.send_to_bob(2, "two");
    f.send_to_bob(3, "three");
    f.router.pushes.clear();

    f.service->push_queued("bob", 1);
    auto queued = f.store->queued("bob", 1, 0, 10);
    REQUIRE(queued);
    REQUIRE(f.router.pushes.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(f.router.pushes[i].username == "bob");
        CHECK(f.router.pushes[i].deliver.deliver().delivery_id() == (*queued)[i].delivery_id);
    }
    CHECK(f.router.pushes[2].deliver.deliver().ciphertext() == "three");

    f.router.pushes.clear();
    f.service->push_queued("alice", 1);
    CHECK(f.router.pushes.empty());
}

TEST_CASE("a session that tracks deliveries knows what its drain handed over, and an ack moves "
          "an id from handed to acked") {
    Cluster f(tracking());
    f.send_to_bob(1, "one");
    f.send_to_bob(2, "two");
    auto queued = f.store->queued("bob", 1, 0, 10);
    REQUIRE(queued);
    REQUIRE(queued->size() == 2);

    Session bob_session{2};
    auto drained = f.auth(bob_session, f.bob);
    REQUIRE(!drained.empty());
    CHECK(bob_session.track_deliveries);
    CHECK(bob_session.delivered.size() == 2);
    for (const auto& q : *queued)
        CHECK(bob_session.delivered.count(q.delivery_id) == 1);

    auto ack = request(f.next_id++);
    ack.mutable_ack_request()->add_delivery_ids((*queued)[0].delivery_id);
    auto answered = f.call(bob_session, ack);
    REQUIRE(answered.size() == 1);
    CHECK(answered[0].has_ok());
    CHECK(bob_session.delivered.count((*queued)[0].delivery_id) == 0);
    CHECK(bob_session.was_acked((*queued)[0].delivery_id));
    CHECK(bob_session.delivered.count((*queued)[1].delivery_id) == 1);
}

TEST_CASE("a session that does not track deliveries keeps no ids") {
    Cluster f;
    f.send_to_bob(1, "one");
    Session bob_session{2};
    f.auth(bob_session, f.bob);
    CHECK_FALSE(bob_session.track_deliveries);
    CHECK(bob_session.delivered.empty());
}

TEST_CASE("a session keeps at most two generations of acks") {
    Session s{1};
    s.track_deliveries = true;
    for (std::uint64_t id = 1; id <= 3 * Session::kAckedKept; ++id) {
        s.delivered.insert(id);
        s.note_acked(id);
    }
    CHECK(s.delivered.empty());
    CHECK(s.acked.size() + s.acked_before.size() <= 2 * Session::kAckedKept);
    CHECK(s.was_acked(3 * Session::kAckedKept));
    CHECK_FALSE(s.was_acked(1)); // long committed: forgotten
}
