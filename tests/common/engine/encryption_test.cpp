// Engine::conversation_security, restart_sessions and renew_group_key (engine_encryption.cpp):
// real stores and libsignal over the fake relay.
#include "engine_fixture.h"

#include "crypto/session.h"
#include "protocol/padding.h"
#include "util/hex.h"

#include <catch2/catch.hpp>

using namespace veil;
using namespace veil::test;

namespace {

std::size_t incoming_with(Client& c, const std::string& text) {
    std::size_t n = 0;
    for (const auto& m : c.recorder.incoming())
        n += m.text == text;
    return n;
}

std::vector<std::string> system_lines(Client& c, const std::string& conversation) {
    auto rows = c.store->messages(conversation, 1000);
    REQUIRE(rows.ok());
    std::vector<std::string> out;
    for (auto& r : rows.value())
        if (r.kind == store::MessageKind::system)
            out.push_back(r.text);
    return out;
}

// Content bytes encrypted by from's store for to's device 1 on their session, as the relay
// would deliver them (message_id fresh unless given).
wire::Deliver encrypted_for(Client& from, const std::string& to, const std::string& content,
                            const std::string& message_id) {
    auto context = crypto::StoreContext::create(*from.context, *from.store);
    REQUIRE(context.ok());
    const Bytes plain(content.begin(), content.end());
    auto ct = crypto::encrypt(*context.value(), {to, 1}, protocol::pad(plain));
    REQUIRE(ct.ok());
    wire::Deliver d;
    d.set_message_id(message_id);
    d.set_from_username(from.name);
    d.set_from_device_id(1);
    d.set_type(ct->type == crypto::CiphertextType::prekey ? wire::CIPHERTEXT_PREKEY
                                                          : wire::CIPHERTEXT_WHISPER);
    d.set_ciphertext(to_string(ct->bytes));
    d.set_server_timestamp_ms(1000);
    return d;
}

} // namespace

TEST_CASE_METHOD(
    AliceAndBob,
    "a peer's session restart notice is one system line, however often it is delivered, "
    "and content this client does not know is ignored, not shown as a failure") {
    REQUIRE(alice.engine->send_text("bob", "hello").ok());
    relay.pump();
    REQUIRE(incoming_with(bob, "hello") == 1);
    const std::size_t rows_before = bob.recorder.messages.size();

    wire::Content notice;
    notice.mutable_session_restarted()->set_reason(wire::SessionRestarted::RESTORED_FROM_SNAPSHOT);
    auto d = encrypted_for(alice, "bob", notice.SerializeAsString(), std::string(16, '\x51'));
    relay.deliver("bob", d);
    relay.deliver("bob", d); // again, as after a crash before the ack
    relay.pump();
    auto lines = system_lines(bob, "alice");
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].rfind("alice's device restored an older copy of its data, so the secure "
                         "session was restarted.",
                         0) == 0);
    CHECK(bob.recorder.messages.size() == rows_before + 1);

    // What an older client sees of the notice, or this one of a content type from a newer
    // client: a Content with a body field it does not know (number 99 here). Nothing is stored,
    // nothing fails, and the session goes on.
    const std::string unknown = std::string("\x9a\x06\x02\x08\x01", 5);
    wire::Content parsed;
    REQUIRE(parsed.ParseFromString(unknown));
    REQUIRE(parsed.body_case() == wire::Content::BODY_NOT_SET);
    relay.deliver("bob", encrypted_for(alice, "bob", unknown, std::string(16, '\x52')));
    relay.pump();
    CHECK(bob.recorder.messages.size() == rows_before + 1);
    CHECK(bob.recorder.errors.empty());
    REQUIRE(alice.engine->send_text("bob", "still there").ok());
    relay.pump();
    CHECK(incoming_with(bob, "still there") == 1);
    CHECK(system_lines(bob, "alice").size() == 1);
    CHECK(relay.mailboxes["bob"].empty());
}

namespace {

Bytes session_record(Client& c, const std::string& peer, std::int32_t device) {
    auto record = c.store->load_session({peer, device});
    REQUIRE(record.ok());
    REQUIRE(record.value().has_value());
    return record.value()->record;
}

} // namespace

TEST_CASE_METHOD(
    AliceAndBob,
    "a contact's encryption details list their devices with sessions and their trust") {

    auto before = alice.engine->conversation_security("bob");
    REQUIRE(before.ok());
    REQUIRE(before->members.size() == 1);
    CHECK_FALSE(before->group);
    CHECK_FALSE(before->members[0].identity_known);
    CHECK(before->members[0].devices.empty());

    REQUIRE(alice.engine->send_text("bob", "hello").ok());
    relay.pump();
    REQUIRE(alice.engine->set_verified("bob", true).ok());
    auto after = alice.engine->conversation_security("bob");
    REQUIRE(after.ok());
    const auto& bob_row = after->members.at(0);
    CHECK(bob_row.username == "bob");
    CHECK(bob_row.identity_known);
    CHECK(bob_row.trust.verified);
    REQUIRE(bob_row.devices.size() == 1);
    CHECK(bob_row.devices[0].device_id == 1);
    CHECK(bob_row.devices[0].session);
    CHECK_FALSE(bob_row.devices[0].holds_sender_key);

    CHECK(alice.engine->conversation_security("not a name!").error().code ==
          Errc::invalid_argument);
}

TEST_CASE_METHOD(AliceAndBob,
                 "a new session replaces the old one and messages flow both ways after it") {
    REQUIRE(alice.engine->send_text("bob", "one").ok());
    relay.pump();
    REQUIRE(bob.engine->send_text("alice", "two").ok());
    relay.pump();
    Bytes old_record = session_record(alice, "bob", 1);

    REQUIRE(alice.engine->restart_sessions("bob").ok());
    relay.pump();
    CHECK(session_record(alice, "bob", 1) != old_record);
    CHECK(alice.recorder.errors.empty());

    REQUIRE(alice.engine->send_text("bob", "three").ok());
    relay.pump();
    REQUIRE(bob.engine->send_text("alice", "four").ok());
    relay.pump();
    CHECK(incoming_with(bob, "three") == 1);
    CHECK(incoming_with(alice, "four") == 1);
    CHECK(bob.recorder.errors.empty());
}

TEST_CASE("a new session is refused offline and for ourselves") {
    FakeRelay relay;
    Client alice(relay, "alice");
    CHECK(alice.engine->restart_sessions("bob").error().code == Errc::disconnected);
    start(relay, alice);
    CHECK(alice.engine->restart_sessions("alice").error().code == Errc::invalid_argument);
}

TEST_CASE_METHOD(
    AliceBobAndCarol,
    "a group's encryption details list each member's devices and who holds our key, and "
    "a renewed key reaches every member") {
    auto group = alice.engine->create_group("club", {"bob", "carol"});
    REQUIRE(group.ok());
    relay.pump();
    REQUIRE(alice.engine->send_group_message(group.value(), "first").ok());
    relay.pump();

    auto conversation = store::group_conversation(group.value());
    auto details = alice.engine->conversation_security(conversation);
    REQUIRE(details.ok());
    CHECK(details->group);
    REQUIRE(details->members.size() == 2);
    CHECK(details->members[0].username == "bob");
    CHECK(details->members[1].username == "carol");
    for (const auto& m : details->members) {
        REQUIRE(m.devices.size() == 1);
        CHECK(m.devices[0].session);
        CHECK(m.devices[0].holds_sender_key);
    }

    REQUIRE(alice.engine->renew_group_key(group.value()).ok());
    auto renewed = alice.engine->conversation_security(conversation);
    REQUIRE(renewed.ok());
    for (const auto& m : renewed->members)
        CHECK_FALSE(m.devices[0].holds_sender_key);

    REQUIRE(alice.engine->send_group_message(group.value(), "second").ok());
    relay.pump();
    CHECK(incoming_with(bob, "second") == 1);
    CHECK(incoming_with(carol, "second") == 1);
    auto again = alice.engine->conversation_security(conversation);
    for (const auto& m : again->members)
        CHECK(m.devices[0].holds_sender_key);
    CHECK(alice.engine->renew_group_key(Bytes(16, 0x01)).error().code == Errc::not_found);
}

TEST_CASE_METHOD(AliceAndBob,
                 "a group key is renewed offline, before the engine starts (a headless verb)") {
    auto group = alice.engine->create_group("club", {"bob"});
    REQUIRE(group.ok());
    relay.pump();
    REQUIRE(alice.engine->send_group_message(group.value(), "first").ok());
    relay.pump();

    alice.reopen(); // a new engine, not started: no account loaded, no session store yet
    REQUIRE(alice.engine->renew_group_key(group.value()).ok());
    auto details = alice.engine->conversation_security(store::group_conversation(group.value()));
    REQUIRE(details.ok());
    CHECK_FALSE(details->members[0].devices[0].holds_sender_key);
    start(relay, alice);
    REQUIRE(alice.engine->send_group_message(group.value(), "second").ok());
    relay.pump();
    CHECK(incoming_with(bob, "second") == 1);
}

TEST_CASE_METHOD(AliceAndBob,
                 "a message lost on the way is counted in the encryption details once a later one "
                 "arrives, and no longer once it comes after all") {
    auto missing_at_bob = [&] {
        auto details = bob.engine->conversation_security("alice");
        REQUIRE(details.ok());
        REQUIRE(details->members.size() == 1);
        REQUIRE(details->members[0].devices.size() == 1);
        return details->members[0].devices[0].missing_messages;
    };

    REQUIRE(alice.engine->send_text("bob", "one").ok());
    relay.pump();
    CHECK(missing_at_bob() == 0);
    // The relay loses the next two; the fourth tells Bob's session they were sent.
    std::vector<wire::Deliver> lost;
    relay.lose = [&](const wire::Deliver& d) {
        lost.push_back(d);
        return true;
    };
    REQUIRE(alice.engine->send_text("bob", "two").ok());
    REQUIRE(alice.engine->send_text("bob", "three").ok());
    relay.pump();
    relay.lose = nullptr;
    REQUIRE(lost.size() == 2);
    REQUIRE(alice.engine->send_text("bob", "four").ok());
    relay.pump();
    CHECK(incoming_with(bob, "four") == 1);
    CHECK(missing_at_bob() == 2);

    // One of them turns up late: it decrypts once and the count goes down.
    relay.deliver("bob", lost[1]);
    relay.pump();
    CHECK(incoming_with(bob, "three") == 1);
    CHECK(missing_at_bob() == 1);
    CHECK(incoming_with(bob, "two") == 0);
}
