// Groups in an AccountStore: group rows and members, sender key holders, group sends and system
// lines, on real SQLCipher files.
#include "store/account_store.h"
#include "store_fixture.h"

#include <catch2/catch.hpp>

using namespace veil;
using namespace veil::store;
using namespace veil::store::test;

namespace {

const Bytes kGroup(16, 0x11);
const Bytes kOther(16, 0x22);

GroupRow group_at(std::uint64_t revision, const Bytes& id = kGroup) {
    GroupRow row;
    row.group_id = id;
    row.revision = revision;
    row.change = to_bytes("change " + std::to_string(revision));
    row.state_hash = Bytes(32, static_cast<std::uint8_t>(revision));
    return row;
}

MessageRow system_line(const Bytes& group, std::uint8_t n, const std::string& text) {
    MessageRow row = incoming(group_conversation(group), n, text, 100 + n);
    row.sender = kSystemSender;
    row.kind = MessageKind::system;
    return row;
}

} // namespace

TEST_CASE("a saved group comes back with its members, and a new revision replaces them",
          "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    CHECK_FALSE(store->group(kGroup).value().has_value());

    REQUIRE(store->save_group(group_at(1), {{"alice", true}, {"bob", false}}).ok());
    REQUIRE(store->set_group_info(kGroup, "club", "a club", to_bytes("png")).ok());
    REQUIRE(store->save_group(group_at(2), {{"alice", true}, {"carol", true}}).ok());

    auto g = store->group(kGroup).value();
    REQUIRE(g.has_value());
    CHECK(g->revision == 2);
    CHECK(g->change == to_bytes("change 2"));
    CHECK(g->state_hash == Bytes(32, 2));
    // Name, description and avatar come from GroupInfo and survive membership changes.
    CHECK(g->name == "club");
    CHECK(g->description == "a club");
    CHECK(g->avatar == to_bytes("png"));
    CHECK_FALSE(g->has_left);
    auto members = store->group_members(kGroup).value();
    REQUIRE(members.size() == 2);
    CHECK(members[0].username == "alice");
    CHECK(members[1].username == "carol");
    CHECK(members[1].admin);

    REQUIRE(store->set_group_left(kGroup, true).ok());
    CHECK(store->group(kGroup).value()->has_left);
    CHECK(store->set_group_left(kOther, true).error().code == Errc::not_found);
    CHECK(store->set_group_info(kOther, "x", "", {}).error().code == Errc::not_found);
    CHECK(store->save_group(GroupRow{}, {}).error().code == Errc::invalid_argument);
}

TEST_CASE("groups, holders and pending group sends survive closing and reopening", "[store]") {
    TempProfile profile;
    {
        auto store = create_store(profile);
        REQUIRE(store->save_group(group_at(3), {{"alice", true}, {"bob", false}}).ok());
        REQUIRE(store->add_sender_key_holder(kGroup, "bob", 1).ok());
        GroupOutboxItem item;
        item.message_id = message_id(1);
        item.group_id = kGroup;
        item.content = to_bytes("content");
        REQUIRE(store->add_group_outbox(item).ok());
        REQUIRE(store->set_group_ciphertext(message_id(1), 3, to_bytes("ciphertext")).ok());
    }
    auto store = open_store(profile);
    CHECK(store->group(kGroup).value()->revision == 3);
    CHECK(store->group_members(kGroup).value().size() == 2);
    CHECK(store->holds_sender_key(kGroup, "bob", 1).value());
    auto outbox = store->group_outbox().value();
    REQUIRE(outbox.size() == 1);
    CHECK(outbox[0].revision == 3);
    CHECK(outbox[0].ciphertext == to_bytes("ciphertext"));
    CHECK(outbox[0].content == to_bytes("content"));
}

TEST_CASE("sender key holders are per group and a rotation clears them all", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    REQUIRE(store->add_sender_key_holder(kGroup, "bob", 1).ok());
    REQUIRE(store->add_sender_key_holder(kGroup, "bob", 1).ok()); // idempotent
    REQUIRE(store->add_sender_key_holder(kGroup, "carol", 1).ok());
    REQUIRE(store->add_sender_key_holder(kOther, "bob", 1).ok());
    CHECK(store->holds_sender_key(kGroup, "bob", 1).value());
    CHECK_FALSE(store->holds_sender_key(kGroup, "bob", 2).value());

    REQUIRE(store->remove_sender_key_holder(kGroup, "carol").ok());
    CHECK_FALSE(store->holds_sender_key(kGroup, "carol", 1).value());
    CHECK(store->holds_sender_key(kGroup, "bob", 1).value());

    REQUIRE(store->clear_sender_key_holders(kGroup).ok());
    CHECK_FALSE(store->holds_sender_key(kGroup, "bob", 1).value());
    CHECK(store->holds_sender_key(kOther, "bob", 1).value());
}

TEST_CASE("group sends come back oldest first and leave once removed", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    for (std::uint8_t i = 1; i <= 3; ++i) {
        GroupOutboxItem item;
        item.message_id = message_id(i);
        item.group_id = i == 2 ? kOther : kGroup;
        item.content = to_bytes("m" + std::to_string(i));
        REQUIRE(store->add_group_outbox(item).ok());
    }
    auto items = store->group_outbox().value();
    REQUIRE(items.size() == 3);
    CHECK(items[0].content == to_bytes("m1"));
    CHECK(items[1].group_id == kOther);
    CHECK(items[0].revision == 0);
    CHECK(items[0].ciphertext.empty());
    CHECK(store->set_group_ciphertext(message_id(9), 1, to_bytes("x")).error().code ==
          Errc::not_found);
    REQUIRE(store->remove_group_outbox(message_id(2)).ok());
    items = store->group_outbox().value();
    REQUIRE(items.size() == 2);
    CHECK(items[1].content == to_bytes("m3"));
}

TEST_CASE("system lines keep their kind and their place among a group's messages", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    std::string conversation = group_conversation(kGroup);
    CHECK(is_group_conversation(conversation));
    CHECK_FALSE(is_group_conversation("alice"));

    REQUIRE(store->insert_message(system_line(kGroup, 1, "alice created the group")).ok());
    MessageRow hello = incoming(conversation, 2, "hello", 200);
    hello.sender = "alice";
    REQUIRE(store->insert_message(hello).ok());
    REQUIRE(store->insert_message(system_line(kGroup, 3, "alice removed carol")).ok());

    auto rows = store->messages(conversation, 10).value();
    REQUIRE(rows.size() == 3);
    CHECK(rows[0].kind == MessageKind::system);
    CHECK(rows[0].sender == kSystemSender);
    CHECK(rows[1].kind == MessageKind::normal);
    CHECK(rows[1].sender == "alice");
    CHECK(rows[2].kind == MessageKind::system);
    CHECK(rows[2].text == "alice removed carol");
    auto incoming_rows = store->incoming_after(0, 10).value();
    REQUIRE(incoming_rows.size() == 3);
    CHECK(incoming_rows[2].kind == MessageKind::system);
    auto conversations = store->conversations().value();
    REQUIRE(conversations.size() == 1);
    CHECK(conversations[0].peer == conversation);
}

TEST_CASE("the identity key held for a peer is readable and absent for strangers", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    CHECK_FALSE(store->peer_identity({"bob", 1}).value().has_value());
    Bytes key(33, 0x05);
    REQUIRE(store->save_identity({"bob", 1}, key).ok());
    CHECK(store->peer_identity({"bob", 1}).value() == std::optional<Bytes>(key));
    // Every device of an account shares its identity key.
    CHECK(store->peer_identity({"bob", 2}).value() == std::optional<Bytes>(key));
    CHECK_FALSE(store->peer_identity({"carol", 1}).value().has_value());
}
