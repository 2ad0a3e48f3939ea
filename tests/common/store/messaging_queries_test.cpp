// Schema version 8 on real SQLCipher files: message details, reactions, attachments, timers and
// the deletions (for everyone, on expiry) that must leave nothing behind.
#include "store_fixture.h"

#include <catch2/catch.hpp>

using namespace veil;
using namespace veil::store;
using namespace veil::store::test;

TEST_CASE("a reply, mentions and a timer are kept with the message and read back", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    REQUIRE(store->insert_message(incoming("bob", 1, "first", 10)).ok());
    auto reply = incoming("bob", 2, "answer @carol", 20);
    reply.quote = Quote{message_id(1), "bob", "first"};
    reply.mentions = {"carol", "dave"};
    reply.expire_timer_s = 60;
    reply.expires_at_ms = 60'020;
    REQUIRE(store->insert_message(reply).ok());
    auto row = store->find_message("bob", message_id(2));
    REQUIRE(row.ok());
    REQUIRE(row.value().has_value());
    REQUIRE(row.value()->quote.has_value());
    CHECK(row.value()->quote->message_id == message_id(1));
    CHECK(row.value()->quote->text == "first");
    CHECK(row.value()->mentions == std::vector<std::string>{"carol", "dave"});
    CHECK(row.value()->expire_timer_s == 60);
    CHECK(row.value()->expires_at_ms == 60'020);
    auto plain = store->find_message("bob", message_id(1));
    CHECK_FALSE(plain.value()->quote.has_value());
    CHECK(plain.value()->expires_at_ms == 0);
}

TEST_CASE("reactions are one per person, replaced and removed", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    auto id = store->insert_message(incoming("bob", 1, "photo", 10));
    REQUIRE(id.ok());
    REQUIRE(store->set_reaction(id.value(), "alice", "👍", 1).ok());
    REQUIRE(store->set_reaction(id.value(), "bob", "❤", 2).ok());
    REQUIRE(store->set_reaction(id.value(), "alice", "😂", 3).ok());
    auto row = store->message_by_id(id.value());
    REQUIRE(row.value()->reactions.size() == 2);
    CHECK(row.value()->reactions[0].reactor == "bob");
    CHECK(row.value()->reactions[1].emoji == "😂");
    REQUIRE(store->set_reaction(id.value(), "alice", "", 4).ok());
    CHECK(store->message_by_id(id.value()).value()->reactions.size() == 1);
}

TEST_CASE("an edit changes the text and the search index, a deletion empties both", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    auto id = store->insert_message(incoming("bob", 1, "meet at the heron pond", 10));
    REQUIRE(id.ok());
    REQUIRE(store->set_reaction(id.value(), "alice", "👍", 1).ok());
    REQUIRE(store->edit_message(id.value(), "meet at the egret pond", 50).ok());
    CHECK(store->search("heron", 10)->empty());
    CHECK(store->search("egret", 10)->size() == 1);
    CHECK(store->message_by_id(id.value()).value()->edited_at_ms == 50);

    REQUIRE(store->delete_for_everyone(id.value()).ok());
    auto row = store->message_by_id(id.value());
    CHECK(row.value()->deleted);
    CHECK(row.value()->text.empty());
    CHECK(row.value()->reactions.empty());
    CHECK(store->search("egret", 10)->empty());
    // A deleted message cannot be edited back.
    CHECK(store->edit_message(id.value(), "again", 60).error().code == Errc::not_found);
}

TEST_CASE("expired messages are deleted with everything hanging off them, and the conversation "
          "keeps its newest remaining message",
          "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    REQUIRE(store->insert_message(incoming("bob", 1, "stays", 10)).ok());
    auto timed = incoming("bob", 2, "the kingfisher code", 20);
    timed.expires_at_ms = 1000;
    AttachmentRow file;
    file.blob_id = std::string(32, 'a');
    file.key = Bytes(64, 1);
    file.digest = Bytes(32, 2);
    file.size = 5;
    file.blob_size = 600;
    file.file_name = "a.txt";
    file.content_type = "text/plain";
    file.state = AttachmentState::ready;
    file.local_path = "/nonexistent/blob";
    timed.attachments.push_back(file);
    auto id = store->insert_message(timed);
    REQUIRE(id.ok());
    REQUIRE(store->set_reaction(id.value(), "alice", "👍", 1).ok());
    CHECK(store->next_expiry().value() == std::optional<std::int64_t>(1000));
    CHECK(store->conversations().value().front().last_text == "the kingfisher code");

    auto early = store->delete_expired(999);
    REQUIRE(early.ok());
    CHECK(early->messages.empty());
    auto gone = store->delete_expired(1000);
    REQUIRE(gone.ok());
    REQUIRE(gone->messages.size() == 1);
    CHECK(gone->messages[0].id == id.value());
    CHECK(gone->files == std::vector<std::string>{"/nonexistent/blob"});
    CHECK_FALSE(store->message_by_id(id.value()).value().has_value());
    CHECK_FALSE(store->attachment(id.value(), 0).value().has_value());
    CHECK(store->search("kingfisher", 10)->empty());
    auto conversations = store->conversations();
    REQUIRE(conversations.ok());
    REQUIRE(conversations->size() == 1);
    CHECK(conversations->front().last_text == "stays");
    CHECK_FALSE(store->next_expiry().value().has_value());
}

TEST_CASE("attachments keep their key out of message lists", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    auto row = incoming("bob", 1, "", 10);
    AttachmentRow file;
    file.blob_id = std::string(32, 'b');
    file.key = Bytes(64, 7);
    file.digest = Bytes(32, 2);
    file.size = 5;
    file.blob_size = 600;
    file.file_name = "b.txt";
    row.attachments.push_back(file);
    auto id = store->insert_message(row);
    REQUIRE(id.ok());
    auto listed = store->messages("bob", 10);
    REQUIRE(listed->front().attachments.size() == 1);
    CHECK(listed->front().attachments[0].key.empty());
    CHECK(store->attachment(id.value(), 0).value()->key == Bytes(64, 7));
    REQUIRE(store->set_attachment_uploaded(id.value(), 0, std::string(32, 'c')).ok());
    CHECK(store->attachment(id.value(), 0).value()->state == AttachmentState::ready);
    CHECK(store->attachments_in(AttachmentState::ready).value().size() == 1);
}

TEST_CASE("a group message's status is the lowest of its members' receipts", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    auto id = store->insert_message(outgoing("#00", 1, "to the group", 10));
    REQUIRE(id.ok());
    REQUIRE(store->expect_receipts(id.value(), {"bob", "carol"}).ok());
    auto waiting = store->receipts(id.value());
    REQUIRE(waiting.ok());
    REQUIRE(waiting->size() == 2);
    CHECK(waiting->at(0).member == "bob");
    CHECK(waiting->at(0).status == MessageStatus::sent);

    // One member has it: the lowest is still "sent".
    auto one = store->record_receipt(id.value(), "bob", MessageStatus::delivered, 100);
    REQUIRE(one.ok());
    CHECK(one.value() == std::optional<MessageStatus>(MessageStatus::sent));
    // A repeat, and someone the message never went to, change nothing.
    CHECK_FALSE(store->record_receipt(id.value(), "bob", MessageStatus::delivered, 101)
                    .value()
                    .has_value());
    CHECK_FALSE(
        store->record_receipt(id.value(), "mallory", MessageStatus::read, 102).value().has_value());
    // Carol reads it at once (her delivery receipt may come later, or never).
    CHECK(store->record_receipt(id.value(), "carol", MessageStatus::read, 103).value() ==
          std::optional<MessageStatus>(MessageStatus::delivered));
    CHECK_FALSE(store->record_receipt(id.value(), "carol", MessageStatus::delivered, 104)
                    .value()
                    .has_value());
    CHECK(store->record_receipt(id.value(), "bob", MessageStatus::read, 105).value() ==
          std::optional<MessageStatus>(MessageStatus::read));
    auto all = store->receipts(id.value());
    REQUIRE(all.ok());
    CHECK(all->at(0).status == MessageStatus::read);
    CHECK(all->at(0).at_ms == 105);
    CHECK(all->at(1).at_ms == 103);
    CHECK_FALSE(store->record_receipt(id.value(), "bob", MessageStatus::failed, 106).ok());

    // Receipts go with the message when it disappears.
    auto timed = outgoing("#00", 2, "brief", 20);
    timed.expires_at_ms = 500;
    auto timed_id = store->insert_message(timed);
    REQUIRE(timed_id.ok());
    REQUIRE(store->expect_receipts(timed_id.value(), {"bob"}).ok());
    REQUIRE(store->delete_expired(500).ok());
    CHECK(store->receipts(timed_id.value()).value().empty());
    CHECK(store->receipts(id.value()).value().size() == 2);
}
