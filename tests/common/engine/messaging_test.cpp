// Everyday messaging in the engine, over the fake relay with real crypto and real stores: what
// needs a relay that misbehaves (a changed identity key) or exact clocks (disappearing).
#include "engine_fixture.h"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace veil;
using namespace veil::test;

namespace {

bool has_line(const Recorder& r, const std::string& needle) {
    return std::any_of(r.messages.begin(), r.messages.end(), [&](const store::MessageRow& m) {
        return m.kind == store::MessageKind::system && m.text.find(needle) != std::string::npos;
    });
}

// bob's account starts again with a new identity key under the same name (a reinstall the
// operator allowed, or a relay that swaps keys), and writes to alice.
std::unique_ptr<Client> reinstall_bob(FakeRelay& relay, std::unique_ptr<Client> bob) {
    bob.reset();
    relay.accounts.erase("bob");
    relay.mailboxes.erase("bob");
    auto fresh = std::make_unique<Client>(relay, "bob");
    start(relay, *fresh);
    REQUIRE(fresh->engine->send_text("alice", "new phone, same bob").ok());
    relay.pump();
    return fresh;
}

} // namespace

TEST_CASE("a contact's new identity key is announced, and an unverified contact goes on") {
    FakeRelay relay;
    Client alice(relay, "alice");
    auto bob = std::make_unique<Client>(relay, "bob");
    start(relay, alice);
    start(relay, *bob);
    REQUIRE(alice.engine->send_text("bob", "hello").ok());
    relay.pump();
    REQUIRE(bob->recorder.incoming().size() == 1);
    auto before = alice.engine->safety_number("bob");
    REQUIRE(before.ok());

    bob = reinstall_bob(relay, std::move(bob));
    REQUIRE(alice.recorder.incoming().size() == 1);
    CHECK(alice.recorder.incoming()[0].text == "new phone, same bob");
    CHECK(has_line(alice.recorder, "Your safety number with bob changed"));
    auto after = alice.engine->safety_number("bob");
    REQUIRE(after.ok());
    CHECK(after->number != before->number);
    CHECK_FALSE(after->trust.needs_accept);
    REQUIRE(alice.engine->send_text("bob", "welcome back").ok());
    relay.pump();
    REQUIRE(bob->recorder.incoming().size() == 1);
    CHECK(bob->recorder.incoming()[0].text == "welcome back");
}

TEST_CASE("a verified contact's new identity key stops sending until the person accepts it") {
    FakeRelay relay;
    Client alice(relay, "alice");
    auto bob = std::make_unique<Client>(relay, "bob");
    start(relay, alice);
    start(relay, *bob);
    REQUIRE(alice.engine->send_text("bob", "hello").ok());
    relay.pump();
    REQUIRE(alice.engine->set_verified("bob", true).ok());
    CHECK(alice.engine->safety_number("bob")->trust.verified);

    bob = reinstall_bob(relay, std::move(bob));
    CHECK(has_line(alice.recorder, "Sending to them is paused until you accept the new key"));
    auto trust = alice.store->trust("bob");
    REQUIRE(trust.ok());
    CHECK(trust->needs_accept);
    CHECK_FALSE(trust->verified);
    auto refused = alice.engine->send_text("bob", "is that you?");
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == Errc::untrusted_identity);
    relay.pump();
    CHECK(bob->recorder.incoming().empty());

    REQUIRE(alice.engine->accept_new_identity("bob").ok());
    REQUIRE(alice.engine->send_text("bob", "accepted").ok());
    relay.pump();
    REQUIRE(bob->recorder.incoming().size() == 1);
    CHECK(bob->recorder.incoming()[0].text == "accepted");
}

TEST_CASE("a safety number scanned from the other side verifies, and a wrong one does not") {
    FakeRelay relay;
    Client alice(relay, "alice");
    Client bob(relay, "bob");
    start(relay, alice);
    start(relay, bob);
    REQUIRE(alice.engine->send_text("bob", "hello").ok());
    relay.pump();
    auto theirs = bob.engine->safety_number("alice");
    auto ours = alice.engine->safety_number("bob");
    REQUIRE(theirs.ok());
    REQUIRE(ours.ok());
    CHECK(theirs->number == ours->number);
    CHECK(ours->number.size() == 71); // 12 groups of 5 digits and 11 spaces
    Bytes tampered = theirs->qr_payload;
    tampered.back() ^= 1;
    auto wrong = alice.engine->verify_scanned("bob", tampered);
    CHECK((!wrong.ok() || !wrong.value()));
    CHECK_FALSE(alice.store->trust("bob")->verified);
    auto right = alice.engine->verify_scanned("bob", theirs->qr_payload);
    REQUIRE(right.ok());
    CHECK(right.value());
    CHECK(alice.store->trust("bob")->verified);
}

TEST_CASE("a disappearing message is deleted on time on both sides, with its search entry") {
    FakeRelay relay;
    Client alice(relay, "alice");
    Client bob(relay, "bob");
    start(relay, alice);
    start(relay, bob);
    REQUIRE(alice.engine->set_disappearing("bob", 60).ok());
    relay.pump();
    CHECK(bob.engine->disappearing("alice").value() == 60);
    auto id = alice.engine->send_text("bob", "the osprey nests at dawn");
    REQUIRE(id.ok());
    relay.pump();
    REQUIRE(bob.store->search("osprey", 10)->size() == 1);
    auto row = bob.store->find_message("alice", id.value());
    REQUIRE(row.ok());
    REQUIRE(row.value().has_value());
    CHECK(row.value()->expire_timer_s == 60);
    CHECK(row.value()->expires_at_ms > 0);

    // One second early nothing goes; at the deadline the sweep deletes it everywhere.
    alice.clock.advance(59'000);
    bob.clock.set(row.value()->expires_at_ms - 1000);
    alice.transport.fire_timers();
    bob.transport.fire_timers();
    CHECK(bob.store->search("osprey", 10)->size() == 1);
    alice.clock.advance(1'000);
    bob.clock.set(row.value()->expires_at_ms);
    alice.transport.fire_timers();
    bob.transport.fire_timers();
    CHECK(bob.store->search("osprey", 10)->empty());
    CHECK(alice.store->search("osprey", 10)->empty());
    CHECK_FALSE(bob.store->find_message("alice", id.value())->has_value());
    CHECK_FALSE(alice.store->find_message("alice", id.value())->has_value());
}
