// Groups in the engine (engine.h, "Groups"): real libsignal sender keys and real SQLCipher
// stores, over the fake relay, which can be told to misbehave.
#include "engine_fixture.h"

#include "crypto/keys.h"
#include "crypto/sender_key.h"
#include "protocol/group_rules.h"
#include "protocol/padding.h"
#include "util/hex.h"

#include <catch2/catch.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <functional>

using namespace veil;
using namespace veil::test;

namespace {

Bytes bytes_of(const std::string& s) {
    return Bytes(s.begin(), s.end());
}

Bytes make_group(FakeRelay& relay, Client& creator, const std::vector<std::string>& members,
                 const std::string& name = "club") {
    auto id = creator.engine->create_group(name, members);
    INFO((id ? std::string() : id.error().message));
    REQUIRE(id.ok());
    relay.pump();
    auto stored = creator.store->group(id.value());
    REQUIRE(stored.ok());
    REQUIRE(stored.value().has_value());
    return id.value();
}

// The ordinary messages of a group's conversation as the client stored them.
std::vector<store::MessageRow> group_messages(Client& c, const Bytes& group_id) {
    auto rows = c.store->messages(store::group_conversation(group_id), 1000);
    REQUIRE(rows.ok());
    std::vector<store::MessageRow> out;
    for (auto& r : rows.value())
        if (r.kind == store::MessageKind::normal)
            out.push_back(r);
    return out;
}

std::vector<std::string> system_lines(Client& c, const Bytes& group_id) {
    auto rows = c.store->messages(store::group_conversation(group_id), 1000);
    REQUIRE(rows.ok());
    std::vector<std::string> out;
    for (auto& r : rows.value())
        if (r.kind == store::MessageKind::system)
            out.push_back(r.text);
    return out;
}

int count_text(Client& c, const Bytes& group_id, const std::string& text) {
    auto rows = group_messages(c, group_id);
    return static_cast<int>(std::count_if(rows.begin(), rows.end(), [&](const auto& r) {
        return r.text == text && r.status != store::MessageStatus::failed;
    }));
}

std::vector<std::string> member_names(Client& c, const Bytes& group_id) {
    auto members = c.store->group_members(group_id);
    REQUIRE(members.ok());
    std::vector<std::string> out;
    for (const auto& m : members.value())
        out.push_back(m.username);
    return out;
}

std::uint64_t revision_of(Client& c, const Bytes& group_id) {
    auto g = c.store->group(group_id);
    REQUIRE(g.ok());
    return g.value() ? g.value()->revision : 0;
}

// The relay's copy of a group message, as it stored it.
wire::GroupSendRequest group_send_of(FakeRelay& relay, const Bytes& message_id) {
    for (const auto& s : relay.group_sends)
        if (s.request.message_id() == to_string(message_id))
            return s.request;
    FAIL("the relay has no such group message");
    return {};
}

wire::Deliver group_deliver(const std::string& from, const wire::GroupSendRequest& s) {
    wire::Deliver d;
    d.set_message_id(s.message_id());
    d.set_from_username(from);
    d.set_from_device_id(1);
    d.set_type(wire::CIPHERTEXT_SENDER_KEY);
    d.set_ciphertext(s.ciphertext());
    d.set_group_id(s.group_id());
    return d;
}

// The relay's current state of a group with edit applied, as the next revision.
wire::GroupState next_state(FakeRelay& relay, const Bytes& group_id,
                            const std::function<void(wire::GroupState&)>& edit) {
    auto& g = relay.groups[to_string(group_id)];
    wire::GroupState next = g.state;
    next.set_revision(g.state.revision() + 1);
    std::string last = g.changes.back().state();
    Bytes hash(32);
    unsigned int len = 0;
    REQUIRE(EVP_Digest(last.data(), last.size(), hash.data(), &len, EVP_sha256(), nullptr) == 1);
    next.set_previous_hash(to_string(hash));
    edit(next);
    return next;
}

wire::GroupChange signed_by(Client& signer, const wire::GroupState& state) {
    std::string bytes = state.SerializeAsString();
    auto identity = signer.store->identity_key_pair();
    REQUIRE(identity.ok());
    auto signature =
        crypto::sign(*signer.context, identity->private_key, protocol::group_signed_bytes(bytes));
    REQUIRE(signature.ok());
    wire::GroupChange change;
    change.set_state(bytes);
    change.set_signer(signer.name);
    change.set_signature(to_string(signature.value()));
    return change;
}

void add_member(wire::GroupState& state, const std::string& name) {
    state.add_members()->set_username(name);
    auto* m = state.mutable_members();
    std::sort(m->begin(), m->end(),
              [](const auto& a, const auto& b) { return a.username() < b.username(); });
}

} // namespace

TEST_CASE_METHOD(
    AliceBobAndCarol,
    "three members create a group and each message is decrypted exactly once by the others") {

    Bytes group = make_group(relay, alice, {"bob", "carol"});
    for (Client* c : {&alice, &bob, &carol}) {
        INFO(c->name);
        CHECK(revision_of(*c, group) == 1);
        CHECK(member_names(*c, group) == std::vector<std::string>{"alice", "bob", "carol"});
        CHECK(c->store->group(group).value()->name == "club");
        CHECK(c->recorder.warnings.empty());
    }
    auto admins = bob.store->group_members(group).value();
    CHECK(admins[0].admin);
    CHECK_FALSE(admins[1].admin);

    REQUIRE(alice.engine->send_group_message(group, "hello from alice").ok());
    relay.pump();
    REQUIRE(bob.engine->send_group_message(group, "hello from bob").ok());
    relay.pump();
    REQUIRE(carol.engine->send_group_message(group, "hello from carol").ok());
    relay.pump();

    for (Client* c : {&alice, &bob, &carol}) {
        INFO(c->name);
        for (std::string who : {"alice", "bob", "carol"})
            CHECK(count_text(*c, group, "hello from " + who) == 1);
        for (const auto& m : group_messages(*c, group))
            if (m.direction == store::Direction::incoming)
                CHECK(m.text == "hello from " + m.sender);
        CHECK(c->engine->idle_outgoing());
        CHECK(c->engine->settled());
    }
    // Three group messages plus alice's GroupInfo, each stored once by the relay.
    CHECK(relay.group_sends.size() == 4);
    // Both other members confirmed alice's message.
    auto sent = alice.store->find_outgoing(group_messages(alice, group)[0].message_id);
    CHECK(sent.value()->status == store::MessageStatus::delivered);
    CHECK_FALSE(system_lines(bob, group).empty());
    CHECK(system_lines(bob, group)[0] == "alice created the group with you, carol");
}

TEST_CASE("an added member reads new messages but not older ones, even handed the ciphertext") {
    FakeRelay relay;
    Client alice(relay, "alice");
    Client bob(relay, "bob");
    Client dave(relay, "dave");
    start(relay, alice);
    start(relay, bob);
    start(relay, dave);
    Bytes group = make_group(relay, alice, {"bob"});
    auto before = alice.engine->send_group_message(group, "before dave");
    REQUIRE(before.ok());
    relay.pump();

    REQUIRE(alice.engine->add_group_members(group, {"dave"}).ok());
    relay.pump();
    CHECK(revision_of(dave, group) == 2);
    CHECK(revision_of(bob, group) == 2);
    CHECK(member_names(dave, group) == std::vector<std::string>{"alice", "bob", "dave"});
    CHECK_FALSE(dave.store->group(group).value()->has_left);
    CHECK(dave.store->group(group).value()->name == "club");

    REQUIRE(alice.engine->send_group_message(group, "after dave").ok());
    REQUIRE(bob.engine->send_group_message(group, "bob welcomes dave").ok());
    relay.pump();
    CHECK(count_text(dave, group, "after dave") == 1);
    CHECK(count_text(dave, group, "bob welcomes dave") == 1);
    CHECK(count_text(bob, group, "after dave") == 1);

    // The relay hands dave the message sent before he joined: his copy of alice's key starts
    // later in her chain, so it does not decrypt.
    relay.deliver("dave", group_deliver("alice", group_send_of(relay, before.value())));
    relay.pump();
    CHECK(count_text(dave, group, "before dave") == 0);
    CHECK(dave.recorder.warnings.empty());
}

TEST_CASE_METHOD(AliceBobAndCarol,
                 "after a removal only the remaining members get a fresh key and the removed one "
                 "cannot decrypt") {
    Bytes group = make_group(relay, alice, {"bob", "carol"});
    REQUIRE(alice.engine->send_group_message(group, "all three").ok());
    relay.pump();
    REQUIRE(count_text(carol, group, "all three") == 1);

    REQUIRE(alice.engine->remove_group_members(group, {"carol"}).ok());
    relay.pump();
    CHECK(carol.store->group(group).value()->has_left);
    CHECK(member_names(bob, group) == std::vector<std::string>{"alice", "bob"});
    auto lines = system_lines(bob, group);
    CHECK(std::find(lines.begin(), lines.end(), "alice removed carol") != lines.end());

    std::size_t sends_before = relay.sends.size();
    auto after = alice.engine->send_group_message(group, "without carol");
    REQUIRE(after.ok());
    relay.pump();
    CHECK(count_text(bob, group, "without carol") == 1);
    // The fresh key went 1:1 to bob only.
    std::vector<std::string> to;
    for (std::size_t i = sends_before; i < relay.sends.size(); ++i)
        to.push_back(relay.sends[i].to_username());
    CHECK(std::count(to.begin(), to.end(), "bob") >= 1);
    CHECK(std::count(to.begin(), to.end(), "carol") == 0);

    // The relay hands carol the ciphertext anyway: her engine refuses it, and her keys could
    // not decrypt it either.
    auto s = group_send_of(relay, after.value());
    relay.deliver("carol", group_deliver("alice", s));
    relay.pump();
    CHECK(count_text(carol, group, "without carol") == 0);
    auto context = crypto::StoreContext::create(*carol.context, *carol.store);
    REQUIRE(context.ok());
    auto plain =
        crypto::group_decrypt(*context.value(), {group, {"alice", 1}}, bytes_of(s.ciphertext()));
    CHECK_FALSE(plain.ok());

    // Carol may no longer send to the group.
    CHECK(carol.engine->send_group_message(group, "still here?").error().code == Errc::refused);
}

TEST_CASE("membership the relay makes up is refused with a warning and the state is unchanged") {
    auto forgery = GENERATE(as<std::string>{}, "unsigned", "non-admin", "skipped revision");
    FakeRelay relay;
    Client alice(relay, "alice");
    Client bob(relay, "bob");
    Client carol(relay, "carol");
    Client mallory(relay, "mallory");
    start(relay, alice);
    start(relay, bob);
    start(relay, carol);
    start(relay, mallory);
    Bytes group = make_group(relay, alice, {"bob", "carol"});
    REQUIRE(bob.engine->send_group_message(group, "so bob has sessions").ok());
    relay.pump();

    wire::GroupState next =
        next_state(relay, group, [](wire::GroupState& s) { add_member(s, "mallory"); });
    wire::GroupChange change;
    if (forgery == "unsigned") {
        change = signed_by(alice, next);
        change.set_signature(std::string(64, '\x01'));
    } else if (forgery == "non-admin") {
        change = signed_by(bob, next); // a genuine signature, but bob is no admin
    } else {
        next.set_revision(next.revision() + 1);
        change = signed_by(alice, next);
    }
    // The relay delivers the forgery to everyone, then behaves again (its own state is as
    // before), so that the members can go on talking.
    auto honest = relay.groups;
    relay.force_group_change(change);
    relay.pump();
    relay.groups = honest;

    for (Client* c : {&alice, &bob, &carol}) {
        INFO(c->name << " " << forgery);
        CHECK(revision_of(*c, group) == 1);
        CHECK(member_names(*c, group) == std::vector<std::string>{"alice", "bob", "carol"});
        REQUIRE(c->recorder.warnings.size() == 1);
        CHECK(c->recorder.warnings[0].first == group);
        auto lines = system_lines(*c, group);
        CHECK(lines.back() == c->recorder.warnings[0].second);
        CHECK(lines.back().find("refused") != std::string::npos);
    }

    // The relay now fans a group message of mallory's out as if she were a member: refused.
    {
        auto context = crypto::StoreContext::create(*mallory.context, *mallory.store);
        REQUIRE(context.ok());
        crypto::SenderKeyName own{group, {"mallory", 1}};
        REQUIRE(crypto::create_distribution_message(*context.value(), own).ok());
        wire::Content content;
        content.mutable_data()->set_message_id(std::string(16, '\x4d'));
        content.mutable_data()->set_text("let me in");
        content.mutable_group()->set_group_id(to_string(group));
        content.mutable_group()->set_revision(2);
        auto ct = crypto::group_encrypt(*context.value(), own,
                                        protocol::pad(bytes_of(content.SerializeAsString())));
        REQUIRE(ct.ok());
        wire::GroupSendRequest s;
        s.set_group_id(to_string(group));
        s.set_message_id(std::string(16, '\x4d'));
        s.set_ciphertext(to_string(ct.value()));
        for (std::string name : {"alice", "bob", "carol"})
            relay.deliver(name, group_deliver("mallory", s));
    }
    relay.pump();
    for (Client* c : {&alice, &bob, &carol}) {
        INFO(c->name);
        CHECK(count_text(*c, group, "let me in") == 0);
        REQUIRE(c->recorder.warnings.size() == 2);
        CHECK(c->recorder.warnings[1].second.find("mallory") != std::string::npos);
    }
    // And the members' next messages are not encrypted for her.
    std::size_t sends_before = relay.sends.size();
    REQUIRE(alice.engine->send_group_message(group, "members only").ok());
    relay.pump();
    for (std::size_t i = sends_before; i < relay.sends.size(); ++i)
        CHECK(relay.sends[i].to_username() != "mallory");
    CHECK(count_text(mallory, group, "members only") == 0);
    CHECK(count_text(bob, group, "members only") == 1);
}

TEST_CASE_METHOD(AliceAndBob,
                 "a group message replayed into another group or into a 1:1 chat is rejected") {
    Bytes first = make_group(relay, alice, {"bob"}, "first");
    Bytes second = make_group(relay, alice, {"bob"}, "second");
    auto id = alice.engine->send_group_message(first, "for the first group");
    REQUIRE(id.ok());
    REQUIRE(alice.engine->send_group_message(second, "so bob holds a key for the second").ok());
    relay.pump();
    REQUIRE(count_text(bob, first, "for the first group") == 1);
    auto original = group_send_of(relay, id.value());

    auto into_group = group_deliver("alice", original);
    into_group.set_group_id(to_string(second));
    into_group.set_message_id(std::string(16, '\x42')); // not a mere duplicate of the original
    relay.deliver("bob", into_group);

    auto into_chat = group_deliver("alice", original);
    into_chat.set_group_id("");
    into_chat.set_message_id(std::string(16, '\x43'));
    relay.deliver("bob", into_chat);

    auto as_whisper = into_chat;
    as_whisper.set_type(wire::CIPHERTEXT_WHISPER);
    as_whisper.set_message_id(std::string(16, '\x44'));
    relay.deliver("bob", as_whisper);
    relay.pump();

    CHECK(count_text(bob, second, "for the first group") == 0);
    CHECK(count_text(bob, first, "for the first group") == 1);
    auto chat = bob.store->messages("alice", 100);
    REQUIRE(chat.ok());
    for (const auto& m : chat.value())
        CHECK(m.text != "for the first group");
    // Each replay left a visible refusal, none a message.
    std::size_t failed = 0;
    for (const auto& m : bob.recorder.messages)
        failed += m.status == store::MessageStatus::failed;
    CHECK(failed == 3);
    CHECK(relay.mailboxes["bob"].empty());
}

TEST_CASE_METHOD(AliceAndBob, "a 1:1 message that claims a group is rejected") {
    Bytes group = make_group(relay, alice, {"bob"});
    // Alice's client is honest, so the claim is made by editing what she queues while offline:
    // her 1:1 text to bob gets a group context before it is encrypted.
    alice.engine->stop();
    relay.pump();
    REQUIRE(alice.engine->send_text("bob", "a private word").ok());
    auto pending = alice.store->pending();
    REQUIRE(pending.ok());
    REQUIRE(pending->size() == 1);
    wire::Content content;
    REQUIRE(content.ParseFromArray(pending->front().content.data(),
                                   static_cast<int>(pending->front().content.size())));
    content.mutable_group()->set_group_id(to_string(group));
    store::PendingItem claimed = pending->front();
    std::string serialized = content.SerializeAsString();
    claimed.content = bytes_of(serialized);
    REQUIRE(alice.store->remove_pending(pending->front().seq).ok());
    REQUIRE(alice.store->add_pending(claimed).ok());
    start(relay, alice);

    CHECK(count_text(bob, group, "a private word") == 0);
    auto chat = bob.store->messages("alice", 100).value();
    REQUIRE(chat.size() == 1);
    CHECK(chat[0].status == store::MessageStatus::failed);
}

TEST_CASE("a member offline during a change applies it before its next group send") {
    FakeRelay relay;
    Client alice(relay, "alice");
    Client bob(relay, "bob");
    Client carol(relay, "carol");
    Client dave(relay, "dave");
    start(relay, alice);
    start(relay, bob);
    start(relay, carol);
    start(relay, dave);
    Bytes group = make_group(relay, alice, {"bob", "carol"});
    REQUIRE(bob.engine->send_group_message(group, "before").ok());
    relay.pump();

    bob.engine->stop();
    relay.pump();
    REQUIRE(alice.engine->remove_group_members(group, {"carol"}).ok());
    relay.pump();
    REQUIRE(alice.engine->add_group_members(group, {"dave"}).ok());
    relay.pump();
    CHECK(revision_of(bob, group) == 1);

    // Written offline at revision 1; sent after the two changes in bob's mailbox are applied.
    REQUIRE(bob.engine->send_group_message(group, "back again").ok());
    std::size_t sends_before = relay.sends.size();
    start(relay, bob);
    CHECK(revision_of(bob, group) == 3);
    CHECK(relay.stale_replies == 0);
    CHECK(count_text(dave, group, "back again") == 1);
    CHECK(count_text(alice, group, "back again") == 1);
    CHECK(count_text(carol, group, "back again") == 0);
    for (std::size_t i = sends_before; i < relay.sends.size(); ++i)
        CHECK(relay.sends[i].to_username() != "carol");
    CHECK(bob.engine->idle_outgoing());
}

TEST_CASE("a group send refused as stale is sent again after fetching the missing change") {
    FakeRelay relay;
    Client alice(relay, "alice");
    Client bob(relay, "bob");
    Client dave(relay, "dave");
    start(relay, alice);
    start(relay, bob);
    start(relay, dave);
    Bytes group = make_group(relay, alice, {"bob"});
    bob.engine->stop();
    relay.pump();
    REQUIRE(alice.engine->add_group_members(group, {"dave"}).ok());
    relay.pump();
    // Bob's copy of the change is lost: only the relay's history has it.
    relay.mailboxes["bob"].clear();

    start(relay, bob);
    CHECK(revision_of(bob, group) == 1);
    auto id = bob.engine->send_group_message(group, "hello dave");
    REQUIRE(id.ok());
    relay.pump();
    CHECK(relay.stale_replies == 1);
    CHECK(revision_of(bob, group) == 2);
    CHECK(count_text(dave, group, "hello dave") == 1);
    CHECK(count_text(alice, group, "hello dave") == 1);
    // Both other members confirmed it.
    CHECK(bob.store->find_outgoing(id.value()).value()->status == store::MessageStatus::delivered);
    CHECK(bob.engine->idle_outgoing());
}

TEST_CASE_METHOD(
    AliceAndBob,
    "group state, keys and a pending group send survive closing and reopening the store") {
    Bytes group = make_group(relay, alice, {"bob"});
    REQUIRE(alice.engine->send_group_message(group, "first").ok());
    relay.pump();
    REQUIRE(count_text(bob, group, "first") == 1);

    // A send the relay never answers, then the app quits.
    relay.swallow = [](const wire::Envelope& e) { return e.has_group_send_request(); };
    REQUIRE(alice.engine->send_group_message(group, "across a restart").ok());
    relay.pump();
    CHECK_FALSE(alice.engine->idle_outgoing());
    alice.reopen();
    bob.reopen();
    relay.swallow = nullptr;

    CHECK(revision_of(alice, group) == 1);
    CHECK(alice.store->group(group).value()->name == "club");
    CHECK(member_names(bob, group) == std::vector<std::string>{"alice", "bob"});
    auto sends_to_bob = [this] {
        return std::count_if(relay.sends.begin(), relay.sends.end(),
                             [](const wire::SendRequest& s) { return s.to_username() == "bob"; });
    };
    auto sends_before = sends_to_bob();
    start(relay, alice);
    start(relay, bob);
    CHECK(count_text(bob, group, "across a restart") == 1);
    // Sent as stored: no new sender key went to bob, and bob could still decrypt.
    CHECK(sends_to_bob() == sends_before);
    CHECK(alice.engine->idle_outgoing());
    // The key was distributed once: no new 1:1 distribution after the restart.
    REQUIRE(bob.engine->send_group_message(group, "bob too").ok());
    relay.pump();
    CHECK(count_text(alice, group, "bob too") == 1);
    CHECK(count_text(bob, group, "first") == 1);
}

TEST_CASE_METHOD(AliceBobAndCarol,
                 "admins promote, rename and remove, non-admins cannot, and a member who leaves is "
                 "left out of the next key") {
    Bytes group = make_group(relay, alice, {"bob", "carol"});

    // Bob is no admin yet: his client says so before anything reaches the relay.
    CHECK(bob.engine->remove_group_members(group, {"carol"}).error().code == Errc::refused);
    CHECK(bob.engine->set_group_info(group, "bob's club", "").error().code == Errc::refused);

    REQUIRE(alice.engine->set_group_admin(group, "bob", true).ok());
    relay.pump();
    CHECK(bob.store->group_members(group).value()[1].admin);
    REQUIRE(bob.engine->set_group_info(group, "renamed", "by bob").ok());
    relay.pump();
    for (Client* c : {&alice, &bob, &carol}) {
        INFO(c->name);
        CHECK(c->store->group(group).value()->name == "renamed");
        CHECK(c->store->group(group).value()->description == "by bob");
        CHECK(c->recorder.warnings.empty());
    }

    REQUIRE(carol.engine->leave_group(group).ok());
    relay.pump();
    CHECK(carol.store->group(group).value()->has_left);
    CHECK(member_names(alice, group) == std::vector<std::string>{"alice", "bob"});
    auto lines = system_lines(alice, group);
    CHECK(std::find(lines.begin(), lines.end(), "carol left") != lines.end());
    CHECK(std::find(lines.begin(), lines.end(), "you made bob an admin") != lines.end());

    std::size_t sends_before = relay.sends.size();
    REQUIRE(bob.engine->send_group_message(group, "carol is gone").ok());
    relay.pump();
    CHECK(count_text(alice, group, "carol is gone") == 1);
    CHECK(count_text(carol, group, "carol is gone") == 0);
    for (std::size_t i = sends_before; i < relay.sends.size(); ++i)
        CHECK(relay.sends[i].to_username() != "carol");

    // The last admin cannot leave without naming another; demoting bob then leaves alice alone.
    REQUIRE(alice.engine->set_group_admin(group, "bob", false).ok());
    relay.pump();
    CHECK_FALSE(alice.engine->leave_group(group).ok());
    CHECK_FALSE(bob.store->group_members(group).value()[1].admin);
}

TEST_CASE_METHOD(AliceAndBob, "members the relay cannot reach are reported to the sender") {
    Bytes group = make_group(relay, alice, {"bob"});
    REQUIRE(alice.engine->send_group_message(group, "first").ok());
    relay.pump();
    REQUIRE(alice.recorder.unreachable.empty());
    relay.accounts.erase("bob"); // bob's account is gone from the relay
    REQUIRE(alice.engine->send_group_message(group, "anyone there?").ok());
    relay.pump();
    REQUIRE(alice.recorder.unreachable.size() == 1);
    CHECK(alice.recorder.unreachable[0] == std::vector<std::string>{"bob"});
}

TEST_CASE("a sender key from a non-member and a new name from a non-admin are refused") {
    FakeRelay relay;
    Client alice(relay, "alice");
    Client bob(relay, "bob");
    Client mallory(relay, "mallory");
    start(relay, alice);
    start(relay, bob);
    start(relay, mallory);
    Bytes group = make_group(relay, alice, {"bob"});

    // Mallory's client sends bob a sender key for the group over their 1:1 session.
    mallory.engine->stop();
    relay.pump();
    REQUIRE(mallory.engine->send_text("bob", "placeholder").ok());
    auto pending = mallory.store->pending().value();
    REQUIRE(pending.size() == 1);
    auto context = crypto::StoreContext::create(*mallory.context, *mallory.store);
    REQUIRE(context.ok());
    auto distribution =
        crypto::create_distribution_message(*context.value(), {group, {"mallory", 1}});
    REQUIRE(distribution.ok());
    wire::Content key;
    key.mutable_sender_key()->set_group_id(to_string(group));
    key.mutable_sender_key()->set_distribution(to_string(distribution->view()));
    key.mutable_group()->set_group_id(to_string(group));
    store::PendingItem item = pending[0];
    item.content = bytes_of(key.SerializeAsString());
    REQUIRE(mallory.store->remove_pending(pending[0].seq).ok());
    REQUIRE(mallory.store->add_pending(item).ok());
    start(relay, mallory);

    REQUIRE(bob.recorder.warnings.size() == 1);
    CHECK(bob.recorder.warnings[0].second.find("sender key from mallory") != std::string::npos);
    auto bob_context = crypto::StoreContext::create(*bob.context, *bob.store);
    REQUIRE(bob_context.ok());
    CHECK_FALSE(crypto::has_sender_key(*bob_context.value(), {group, {"mallory", 1}}).value());

    // Bob is a member but no admin: his new name for the group reaches alice and is refused.
    wire::Content info;
    info.mutable_group_info()->set_name("bob's club");
    store::GroupOutboxItem rename;
    rename.message_id = Bytes(16, 0x07);
    rename.group_id = group;
    rename.content = bytes_of(info.SerializeAsString());
    REQUIRE(bob.store->add_group_outbox(rename).ok());
    REQUIRE(bob.engine->send_group_message(group, "and a message").ok());
    relay.pump();
    CHECK(count_text(alice, group, "and a message") == 1);
    CHECK(alice.store->group(group).value()->name == "club");
    REQUIRE(alice.recorder.warnings.size() == 1);
    CHECK(alice.recorder.warnings[0].second.find("not an admin") != std::string::npos);
}

TEST_CASE("a member who joins late checks the whole history, page by page, with each signer's "
          "key") {
    FakeRelay relay;
    Client alice(relay, "alice");
    Client bob(relay, "bob");
    Client carol(relay, "carol");
    Client dave(relay, "dave");
    start(relay, alice);
    start(relay, bob);
    start(relay, carol);
    start(relay, dave);
    Bytes group = make_group(relay, alice, {"bob"});                 // 1
    REQUIRE(alice.engine->set_group_admin(group, "bob", true).ok()); // 2
    relay.pump();
    REQUIRE(bob.engine->add_group_members(group, {"carol"}).ok()); // 3, signed by bob
    relay.pump();
    REQUIRE(alice.engine->remove_group_members(group, {"carol"}).ok()); // 4
    relay.pump();
    REQUIRE(bob.engine->add_group_members(group, {"carol"}).ok()); // 5
    relay.pump();
    REQUIRE(alice.engine->add_group_members(group, {"dave"}).ok()); // 6
    relay.pump();

    // Dave saw only the last change; more than one page of history stood before it.
    REQUIRE(relay.groups[to_string(group)].changes.size() > protocol::kMaxGroupChangesPerFetch);
    CHECK(revision_of(dave, group) == 6);
    CHECK(member_names(dave, group) == std::vector<std::string>{"alice", "bob", "carol", "dave"});
    CHECK_FALSE(dave.store->group(group).value()->has_left);
    CHECK(dave.recorder.warnings.empty());
    CHECK(dave.store->peer_identity({"bob", 1}).value().has_value());
    REQUIRE(bob.engine->send_group_message(group, "welcome dave").ok());
    relay.pump();
    CHECK(count_text(dave, group, "welcome dave") == 1);
    CHECK(count_text(carol, group, "welcome dave") == 1);
}

TEST_CASE_METHOD(AliceAndBob,
                 "a membership change the relay has not answered survives a lost connection and a "
                 "restart, and is made once") {

    // The relay takes the creation and never answers, then the app quits.
    relay.swallow = [](const wire::Envelope& e) { return e.has_group_update_request(); };
    auto id = alice.engine->create_group("club", {"bob"});
    REQUIRE(id.ok());
    relay.pump();
    CHECK(relay.groups.empty());
    CHECK_FALSE(alice.store->group(id.value()).value().has_value());
    alice.reopen();
    relay.swallow = nullptr;

    start(relay, alice);
    relay.pump();
    REQUIRE(relay.groups.count(to_string(id.value())) == 1);
    CHECK(relay.groups[to_string(id.value())].changes.size() == 1);
    auto stored = alice.store->group(id.value());
    REQUIRE(stored.value().has_value());
    CHECK(stored.value()->name == "club");
    CHECK(alice.store->pending_group_changes().value().empty());
    // bob learns the group and its name, which only members see.
    auto at_bob = bob.store->group(id.value());
    REQUIRE(at_bob.value().has_value());
    CHECK(at_bob.value()->name == "club");
    CHECK(alice.recorder.changes_failed.empty());
}

TEST_CASE_METHOD(AliceAndBob,
                 "a change the relay refuses is reported with its group and not kept") {
    Bytes group = make_group(relay, alice, {"bob"});

    // The relay answers the next change with an error, as the real one does for a stale one.
    relay.swallow = [&](const wire::Envelope& e) {
        if (!e.has_group_update_request())
            return false;
        wire::Envelope error = protocol::make_error_envelope(e.request_id(), wire::Error::FORBIDDEN,
                                                             "Only admins can change the members.");
        alice.transport.listener()->on_frame(protocol::encode_envelope(error));
        return true;
    };
    REQUIRE(alice.engine->remove_group_members(group, {"bob"}).ok());
    relay.pump();
    REQUIRE(alice.recorder.changes_failed.size() == 1);
    CHECK(alice.recorder.changes_failed[0] == group);
    CHECK(alice.store->pending_group_changes().value().empty());
    CHECK(member_names(alice, group) == std::vector<std::string>{"alice", "bob"});
}

TEST_CASE_METHOD(
    AliceAndBob,
    "an admin's group picture reaches the members, and a non-picture or oversize one is "
    "refused") {
    Bytes group = make_group(relay, alice, {"bob"});

    Bytes png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
    REQUIRE(alice.engine->set_group_avatar(group, png).ok());
    relay.pump();
    CHECK(alice.store->group(group).value()->avatar == png);
    CHECK(bob.store->group(group).value()->avatar == png);
    CHECK(bob.store->group(group).value()->name == "club"); // the name is kept

    auto script = alice.engine->set_group_avatar(group, to_bytes("<script>not a picture"));
    REQUIRE_FALSE(script.ok());
    CHECK(script.error().code == Errc::invalid_argument);
    Bytes huge(protocol::kMaxGroupAvatarBytes + 1, 0xFF);
    huge[1] = 0xD8;
    CHECK(alice.engine->set_group_avatar(group, huge).error().code == Errc::too_large);
    auto not_admin = bob.engine->set_group_avatar(group, png);
    REQUIRE_FALSE(not_admin.ok());
    CHECK(not_admin.error().code == Errc::refused);
    CHECK(alice.store->group(group).value()->avatar == png);

    REQUIRE(alice.engine->set_group_avatar(group, {}).ok()); // removed
    relay.pump();
    CHECK(bob.store->group(group).value()->avatar.empty());
}

TEST_CASE_METHOD(AliceAndBob,
                 "a group of one works, and a name too long for one message is refused at once") {
    Bytes solo = make_group(relay, alice, {});
    // Nobody else needs our sender key, but we still need one to encrypt with.
    REQUIRE(alice.engine->send_group_message(solo, "a note to myself").ok());
    relay.pump();
    CHECK(alice.store->group_outbox().value().empty());
    CHECK(alice.recorder.errors.empty());

    const std::string long_name(protocol::kMaxGroupNameBytes + 1, 'y');
    CHECK(alice.engine->create_group(long_name, {"bob"}).error().code == Errc::invalid_argument);
    CHECK(alice.engine->set_group_info(solo, long_name, "").error().code == Errc::invalid_argument);
    CHECK(alice.engine->set_group_info(solo, "ok", std::string(2001, 'd')).error().code ==
          Errc::invalid_argument);

    // Group messages after it still flow: nothing blocks the queue.
    Bytes duo = make_group(relay, alice, {"bob"});
    REQUIRE(alice.engine->send_group_message(duo, "to bob").ok());
    relay.pump();
    CHECK(count_text(bob, duo, "to bob") == 1);
}

TEST_CASE_METHOD(AliceAndBob,
                 "a change that changes nothing is refused instead of making a new revision") {
    Bytes group = make_group(relay, alice, {"bob"});
    CHECK(alice.engine->add_group_members(group, {"bob"}).error().code == Errc::invalid_argument);
    CHECK(alice.engine->set_group_admin(group, "alice", true).error().code ==
          Errc::invalid_argument);
    relay.pump();
    CHECK(relay.groups[to_string(group)].changes.size() == 1);
}

TEST_CASE_METHOD(
    AliceAndBob,
    "the last admin is told to promote someone before leaving, and stepping down reads "
    "naturally") {
    Bytes group = make_group(relay, alice, {"bob"});
    auto refused = alice.engine->leave_group(group);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message.find("make another member an admin first") != std::string::npos);

    REQUIRE(alice.engine->set_group_admin(group, "bob", true).ok());
    relay.pump();
    REQUIRE(alice.engine->set_group_admin(group, "alice", false).ok());
    relay.pump();
    auto lines = system_lines(bob, group);
    CHECK(std::find(lines.begin(), lines.end(), "alice is no longer an admin") != lines.end());
    REQUIRE(alice.engine->leave_group(group).ok());
    relay.pump();
    CHECK(member_names(bob, group) == std::vector<std::string>{"bob"});
}
