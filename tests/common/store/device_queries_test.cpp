// The devices of accounts as the store keeps them (schema version 5): learned lists, outbox
// copies per device, sender key holders by device, this device's own key.
#include "store/account_store.h"
#include "store_fixture.h"

#include <catch2/catch.hpp>

using namespace veil;
using namespace veil::store;
using namespace veil::store::test;

namespace {

OutboxItem copy(std::uint8_t message, const std::string& peer, std::int32_t device) {
    OutboxItem item;
    item.message_id = message_id(message);
    item.peer = peer;
    item.device_id = device;
    item.type = 1;
    item.ciphertext = Bytes{message, static_cast<std::uint8_t>(device)};
    return item;
}

} // namespace

TEST_CASE("a device list is unknown until learned, and one device alone does not make a list",
          "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    CHECK_FALSE(store->known_devices("bob").value().has_value());
    REQUIRE(store->add_known_device("bob", 3).ok());
    CHECK_FALSE(store->known_devices("bob").value().has_value());

    const std::int32_t ids[] = {1, 4};
    REQUIRE(store->set_known_devices("bob", ids, 10).ok());
    CHECK(store->known_devices("bob").value() == std::optional(std::vector<std::int32_t>{1, 4}));
    REQUIRE(store->add_known_device("bob", 2).ok());
    REQUIRE(store->remove_known_device("bob", 1).ok());
    CHECK(store->known_devices("bob").value() == std::optional(std::vector<std::int32_t>{2, 4}));

    // An empty list is a learned list (an account whose devices are all gone).
    REQUIRE(store->set_known_devices("carol", {}, 10).ok());
    CHECK(store->known_devices("carol").value() == std::optional(std::vector<std::int32_t>{}));
}

TEST_CASE("outbox copies are kept per device, and a removed device's copies all go", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    REQUIRE(store->add_outbox(copy(1, "bob", 1)).ok());
    REQUIRE(store->add_outbox(copy(1, "bob", 2)).ok());
    REQUIRE(store->add_outbox(copy(1, "alice", 3)).ok());
    REQUIRE(store->add_outbox(copy(2, "bob", 2)).ok());
    CHECK(store->outbox_of(message_id(1)).value().size() == 3);

    REQUIRE(store->remove_outbox_device("bob", 2).ok());
    auto left = store->outbox_of(message_id(1)).value();
    REQUIRE(left.size() == 2);
    CHECK(left[0].device_id == 1);
    CHECK(left[1].peer == "alice");
    CHECK(store->outbox_of(message_id(2)).value().empty());
}

TEST_CASE("sender key holders are found and forgotten by device", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    const Bytes g1(16, 1), g2(16, 2);
    REQUIRE(store->add_sender_key_holder(g1, "bob", 2).ok());
    REQUIRE(store->add_sender_key_holder(g2, "bob", 2).ok());
    REQUIRE(store->add_sender_key_holder(g2, "bob", 1).ok());
    CHECK(store->groups_keyed_to("bob", 2).value().size() == 2);
    REQUIRE(store->forget_key_holder("bob", 2).ok());
    CHECK(store->groups_keyed_to("bob", 2).value().empty());
    auto holders = store->sender_key_holders(g2).value();
    REQUIRE(holders.size() == 1);
    CHECK(holders[0] == std::pair<std::string, std::int32_t>("bob", 1));
}

TEST_CASE("the device key pair is this device's own and survives a reopen", "[store]") {
    TempProfile profile;
    {
        auto store = create_store(profile);
        CHECK_FALSE(store->device_key_pair().value().has_value());
        crypto::IdentityKeyPair pair{Bytes(33, 5), SecretBytes(32)};
        pair.private_key.data()[0] = 9;
        REQUIRE(store->set_device_key_pair(pair).ok());
    }
    auto store = open_store(profile);
    auto pair = store->device_key_pair().value();
    REQUIRE(pair.has_value());
    CHECK(pair->public_key == Bytes(33, 5));
    CHECK(pair->private_key.data()[0] == 9);
    CHECK_FALSE(store->set_device_key_pair({Bytes(), SecretBytes()}).ok());
}

TEST_CASE("pending messages keep their sync flag and unread counts are per conversation",
          "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    PendingItem item;
    item.message_id = message_id(1);
    item.peer = "bob";
    item.content = Bytes{1};
    item.sync = true;
    REQUIRE(store->add_pending(item).ok());
    CHECK(store->pending().value().front().sync);

    REQUIRE(store->insert_message(incoming("bob", 1, "one", 5)).ok());
    REQUIRE(store->insert_message(incoming("bob", 2, "two", 6)).ok());
    CHECK(store->unread("bob").value() == 2);
    CHECK(store->unread("carol").value() == 0);
    REQUIRE(store->mark_read("bob").ok());
    CHECK(store->unread("bob").value() == 0);
}

TEST_CASE("identity keys are listed once per account", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    REQUIRE(store->save_identity({"bob", 2}, Bytes(33, 2)).ok());
    REQUIRE(store->save_identity({"bob", 1}, Bytes(33, 1)).ok());
    REQUIRE(store->save_identity({"carol", 1}, Bytes(33, 3)).ok());
    auto all = store->peer_identities().value();
    REQUIRE(all.size() == 2);
    CHECK(all[0] == std::pair<std::string, Bytes>("bob", Bytes(33, 1)));
    CHECK(all[1].first == "carol");
}

TEST_CASE("a conversation is marked read up to a message, or whole when that message is not here",
          "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    for (std::uint8_t n = 1; n <= 3; ++n)
        REQUIRE(store->insert_message(incoming("bob", n, "m", n)).ok());
    auto newest = store->newest_incoming("bob").value();
    REQUIRE(newest.has_value());
    CHECK(newest->first == "bob");
    CHECK(newest->second == message_id(3));
    CHECK_FALSE(store->newest_incoming("carol").value().has_value());

    REQUIRE(store->mark_read_up_to("bob", "bob", message_id(2)).ok());
    CHECK(store->unread("bob").value() == 1); // the third arrived after what was read
    REQUIRE(store->mark_read_up_to("bob", "bob", message_id(9)).ok());
    CHECK(store->unread("bob").value() == 0);
}

TEST_CASE("blocked accounts are kept, listed and released", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    CHECK_FALSE(store->is_blocked("bob").value());
    REQUIRE(store->set_blocked("bob", true, 5).ok());
    REQUIRE(store->set_blocked("bob", true, 6).ok()); // twice is no error
    REQUIRE(store->set_blocked("mallory", true, 7).ok());
    CHECK(store->is_blocked("bob").value());
    CHECK(store->blocked().value() == std::vector<std::string>{"bob", "mallory"});
    REQUIRE(store->set_blocked("bob", false, 8).ok());
    REQUIRE(store->set_blocked("nobody", false, 9).ok());
    CHECK(store->blocked().value() == std::vector<std::string>{"mallory"});
}
