// Everyday messaging in the engine, over the fake relay with real crypto and real stores: what
// needs a relay that misbehaves (a changed identity key) or exact clocks (disappearing).
#include "engine_fixture.h"

#include "crypto/session.h"
#include "protocol/padding.h"

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
    // The delivery receipt for bob's message waits for the person, not for the relay: the
    // engine counts as settled, so a headless verb does not wait for it until its timeout.
    CHECK_FALSE(alice.store->pending().value().empty());
    CHECK(alice.engine->settled());

    REQUIRE(alice.engine->accept_new_identity("bob").ok());
    REQUIRE(alice.engine->send_text("bob", "accepted").ok());
    relay.pump();
    REQUIRE(bob->recorder.incoming().size() == 1);
    CHECK(bob->recorder.incoming()[0].text == "accepted");
}

TEST_CASE_METHOD(AliceAndBob,
                 "a safety number scanned from the other side verifies, and a wrong one does not") {
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

TEST_CASE_METHOD(AliceAndBob,
                 "a disappearing message is deleted on time on both sides, with its search entry") {
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

TEST_CASE("file names from others are cleaned and reactions must be emoji") {
    CHECK(engine::clean_file_name("../../etc/passwd") == "passwd");
    CHECK(engine::clean_file_name("rtl\xE2\x80\xAEtxt.exe") == "rtltxt.exe");
    CHECK(engine::clean_file_name("a\xC2\x9B"
                                  "b\nc.txt") == "abc.txt");
    CHECK(engine::clean_file_name("...hidden") == "hidden");
    CHECK(engine::clean_file_name("") == "file");
    CHECK(engine::clean_file_name("bad\xFF.txt") == "bad\xEF\xBF\xBD.txt");
    std::string long_name;
    for (int i = 0; i < 127; ++i)
        long_name += "\xC3\xA9"; // é
    auto cleaned = engine::clean_file_name(long_name + ".pdf");
    CHECK(cleaned.size() <= 200);
    CHECK(cleaned.substr(cleaned.size() - 4) == ".pdf");

    CHECK(engine::valid_reaction("\xF0\x9F\x91\x8D"));          // 👍
    CHECK(engine::valid_reaction("1\xEF\xB8\x8F\xE2\x83\xA3")); // 1️⃣
    CHECK(engine::valid_reaction("\xF0\x9F\x91\xA8\xF0\x9F\x8F\xBB\xE2\x80\x8D\xF0\x9F\x91"
                                 "\xA9\xF0\x9F\x8F\xBB\xE2\x80\x8D\xF0\x9F\x91\xA7\xF0\x9F"
                                 "\x8F\xBB\xE2\x80\x8D\xF0\x9F\x91\xA6\xF0\x9F\x8F\xBB")); // family
    CHECK_FALSE(engine::valid_reaction("aaaa"));
    CHECK_FALSE(engine::valid_reaction("-x"));
    CHECK_FALSE(engine::valid_reaction("\xE2\x80\xAE")); // a lone RTL override
    CHECK_FALSE(engine::valid_reaction("\x1b[2J"));
    CHECK_FALSE(engine::valid_reaction(""));
}

TEST_CASE_METHOD(
    AliceAndBob,
    "typing indicators stop before an offline device would fall 2000 messages behind") {
    REQUIRE(alice.engine->send_text("bob", "hello").ok());
    relay.pump();
    REQUIRE(bob.engine->send_text("alice", "hi").ok());
    relay.pump();
    REQUIRE(alice.recorder.incoming().size() == 1);

    alice.engine->set_typing("bob", true);
    relay.pump();
    REQUIRE(bob.recorder.typing.size() == 1);
    CHECK(bob.recorder.typing[0].conversation == "alice");
    CHECK(bob.recorder.typing[0].typing);

    // Bob goes offline for a long time while alice types on and off: every indicator is
    // dropped by the relay, and each one is a step bob's next message must skip.
    bob.engine->stop();
    relay.pump();
    for (int i = 0; i < 1200; ++i) {
        alice.engine->set_typing("bob", true);
        alice.engine->set_typing("bob", false);
        relay.pump();
    }
    CHECK(relay.transients < 1000);
    CHECK(relay.transients > 900);
    REQUIRE(alice.engine->send_text("bob", "still there?").ok());
    relay.pump();
    start(relay, bob);
    auto incoming = bob.recorder.incoming();
    REQUIRE(incoming.size() == 2);
    CHECK(incoming[1].text == "still there?");

    // Once bob answers, a new chain starts and alice's indicators flow again.
    REQUIRE(bob.engine->send_text("alice", "yes").ok());
    relay.pump();
    int before = relay.transients;
    std::size_t seen = bob.recorder.typing.size();
    alice.engine->set_typing("bob", true);
    relay.pump();
    CHECK(relay.transients == before + 1);
    CHECK(bob.recorder.typing.size() == seen + 1);
}

TEST_CASE_METHOD(AliceBobAndCarol, "typing that names a group is shown only from its members") {
    auto group = alice.engine->create_group("club", {"bob"});
    REQUIRE(group.ok());
    relay.pump();
    REQUIRE(bob.engine->send_group_message(group.value(), "hi club").ok());
    relay.pump();
    REQUIRE(carol.engine->send_text("alice", "hi alice").ok());
    relay.pump();

    bob.engine->set_typing(store::group_conversation(group.value()), true);
    relay.pump();
    REQUIRE(alice.recorder.typing.size() == 1);
    CHECK(alice.recorder.typing[0].conversation == store::group_conversation(group.value()));
    CHECK(alice.recorder.typing[0].who == "bob");

    // Carol is not a member: her indicator naming the group (over her 1:1 session) is ignored.
    auto context = crypto::StoreContext::create(*carol.context, *carol.store);
    REQUIRE(context.ok());
    wire::Content content;
    content.mutable_typing()->set_action(wire::Typing::STARTED);
    content.mutable_typing()->set_group_id(std::string(group.value().begin(), group.value().end()));
    std::string plain = content.SerializeAsString();
    auto ct = crypto::encrypt(*context.value(), {"alice", 1},
                              protocol::pad(Bytes(plain.begin(), plain.end())));
    REQUIRE(ct.ok());
    wire::Deliver d;
    d.set_message_id(std::string(16, '\x07'));
    d.set_from_username("carol");
    d.set_from_device_id(1);
    d.set_type(wire::CIPHERTEXT_WHISPER);
    d.set_ciphertext(std::string(ct->bytes.begin(), ct->bytes.end()));
    d.set_server_timestamp_ms(1);
    relay.deliver("alice", d);
    relay.pump();
    CHECK(alice.recorder.typing.size() == 1);
    CHECK(alice.recorder.errors.empty());
}

TEST_CASE("a verified member's new identity key stops sending to the group until accepted") {
    FakeRelay relay;
    Client alice(relay, "alice");
    auto bob = std::make_unique<Client>(relay, "bob");
    start(relay, alice);
    start(relay, *bob);
    auto group = alice.engine->create_group("club", {"bob"});
    REQUIRE(group.ok());
    relay.pump();
    REQUIRE(alice.engine->send_text("bob", "hello").ok());
    relay.pump();
    REQUIRE(alice.engine->set_verified("bob", true).ok());

    bob = reinstall_bob(relay, std::move(bob));
    REQUIRE(alice.store->trust("bob")->needs_accept);
    auto refused = alice.engine->send_group_message(group.value(), "to the club");
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == Errc::untrusted_identity);
    CHECK(refused.error().message.find("bob's safety number changed") != std::string::npos);
    REQUIRE(alice.engine->accept_new_identity("bob").ok());
    CHECK(alice.engine->send_group_message(group.value(), "to the club").ok());
}

// QUALITY.md: "client timestamps of 0, negative or year 3000: expiry uses server time; nothing
// is purged early". A sender's clock is whatever it says: DataMessage.sent_at_ms is the only
// client time on the wire, inside the ciphertext, and the relay never sees it. What the receiver
// does with it: the disappearing timer counts from the relay's time or the sender's, whichever
// is later but never later than now, so no sender clock makes a message vanish early or stay
// for ever; the conversation keeps arrival order, and the conversation list the receiver's time.
TEST_CASE_METHOD(
    AliceBobAndCarol,
    "messages a sender's clock dates 1970, before 1970 or in the year 3000 arrive, keep "
    "arrival order and disappear on the receiver's time, not earlier") {
    // The relay stamps deliveries with its own clock, which agrees with bob's.
    relay.tamper = [&](wire::Deliver& d) {
        d.set_server_timestamp_ms(static_cast<std::uint64_t>(bob.clock.now_ms()));
    };
    REQUIRE(alice.engine->set_disappearing("bob", 3600).ok());
    relay.pump();
    REQUIRE(bob.engine->disappearing("alice").value() == 3600);
    REQUIRE(carol.engine->send_text("bob", "from carol, on time").ok());
    relay.pump();

    const std::int64_t bob_start = bob.clock.now_ms();
    const std::int64_t year_3000 = 32'503'680'000'000; // 3000-01-01T00:00:00Z
    const std::vector<std::pair<std::string, std::int64_t>> clocks = {
        {"epoch", 0}, {"before 1970", -86'400'000}, {"year 3000", year_3000}};
    std::vector<Bytes> ids;
    for (const auto& [label, at] : clocks) {
        alice.clock.set(at);
        auto id = alice.engine->send_text("bob", "sent at " + label);
        REQUIRE(id.ok());
        ids.push_back(id.value());
        relay.pump();
        bob.clock.advance(1000);
    }

    // Every one arrived and counts its hour from when the relay took it, on bob's clock.
    std::vector<store::MessageRow> rows;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        CAPTURE(clocks[i].first);
        auto row = bob.store->find_message("alice", ids[i]);
        REQUIRE(row.ok());
        REQUIRE(row.value().has_value());
        CHECK(row.value()->sent_at_ms == clocks[i].second);
        CHECK(row.value()->expires_at_ms == bob_start + std::int64_t(i) * 1000 + 3'600'000);
        rows.push_back(*row.value());
    }
    auto history = bob.store->messages("alice", 10);
    REQUIRE(history.ok());
    std::vector<std::string> texts;
    for (const auto& m : history.value())
        if (m.kind == store::MessageKind::normal)
            texts.push_back(m.text);
    CHECK(texts ==
          std::vector<std::string>{"sent at epoch", "sent at before 1970", "sent at year 3000"});
    // The conversation list orders by the receiver's time: alice's came after carol's.
    auto conversations = bob.store->conversations();
    REQUIRE(conversations.ok());
    REQUIRE(conversations->size() >= 2);
    CHECK(conversations->at(0).peer == "alice");
    CHECK(conversations->at(0).last_activity_ms < year_3000);

    // A second before the first deadline nothing has gone; at each deadline only its message.
    bob.clock.set(rows[0].expires_at_ms - 1000);
    bob.transport.fire_timers();
    CHECK(bob.store->search("sent", 10)->size() == 3);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        bob.clock.set(rows[i].expires_at_ms);
        bob.transport.fire_timers();
        CHECK(bob.store->search("sent", 10)->size() == rows.size() - i - 1);
    }
    CHECK(bob.store->search("carol", 10)->size() == 1);
}
