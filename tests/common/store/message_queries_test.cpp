// Messages, conversations, transactions and the outgoing queue of an AccountStore.
#include "store/account_store.h"
#include "store_fixture.h"

#include <catch2/catch.hpp>

using namespace veil;
using namespace veil::store;
using namespace veil::store::test;

TEST_CASE("a second message with the same sender and id is refused", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    auto first = store->insert_message(incoming("bob", 1, "hello", 100));
    REQUIRE(first.ok());
    CHECK(store->has_message("bob", message_id(1)).value());
    CHECK_FALSE(store->has_message("carol", message_id(1)).value());

    auto again = store->insert_message(incoming("bob", 1, "hello again", 200));
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().code == Errc::duplicate_message);

    // The same wire id from someone else is a different message.
    CHECK(store->insert_message(incoming("carol", 1, "hi", 300)).ok());
    CHECK(store->messages("bob", 10).value().size() == 1);
}

TEST_CASE("messages returns the newest rows oldest first", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    for (std::uint8_t i = 1; i <= 5; ++i)
        REQUIRE(store->insert_message(incoming("bob", i, "m" + std::to_string(i), 100 * i)).ok());
    REQUIRE(store->insert_message(incoming("carol", 9, "other", 50)).ok());

    auto rows = store->messages("bob", 3);
    REQUIRE(rows.ok());
    REQUIRE(rows->size() == 3);
    CHECK(rows.value()[0].text == "m3");
    CHECK(rows.value()[1].text == "m4");
    CHECK(rows.value()[2].text == "m5");
    CHECK(rows.value()[2].peer == "bob");
    CHECK(rows.value()[2].sender == "bob");
    CHECK(rows.value()[2].message_id == message_id(5));
    CHECK(rows.value()[2].direction == Direction::incoming);
    CHECK(rows.value()[2].status == MessageStatus::received);
    CHECK(rows.value()[2].received_at_ms == 500);
    CHECK(rows.value()[2].sent_at_ms == 495);
    CHECK(store->messages("bob", 0).value().empty());
    CHECK(store->messages("nobody", 10).value().empty());
}

TEST_CASE("conversations list the last message, activity and unread count", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    REQUIRE(store->insert_message(incoming("bob", 1, "hi from bob", 1000)).ok());
    REQUIRE(store->insert_message(incoming("bob", 2, "are you there?", 2000)).ok());
    REQUIRE(store->insert_message(outgoing("carol", 3, "hello carol", 1500)).ok());

    auto list = store->conversations();
    REQUIRE(list.ok());
    REQUIRE(list->size() == 2);
    CHECK(list.value()[0].peer == "bob");
    CHECK(list.value()[0].last_text == "are you there?");
    CHECK(list.value()[0].last_activity_ms == 2000);
    CHECK(list.value()[0].unread == 2);
    CHECK(list.value()[1].peer == "carol");
    CHECK(list.value()[1].last_text == "hello carol");
    CHECK(list.value()[1].unread == 0);

    REQUIRE(store->mark_read("bob").ok());
    CHECK(store->conversations().value()[0].unread == 0);

    // A reply moves carol to the top; mark_read only clears what has arrived so far.
    REQUIRE(store->insert_message(incoming("carol", 4, "hi back", 3000)).ok());
    list = store->conversations();
    CHECK(list.value()[0].peer == "carol");
    CHECK(list.value()[0].last_text == "hi back");
    CHECK(list.value()[0].unread == 1);
    CHECK(list.value()[1].unread == 0);
}

TEST_CASE("outgoing status changes are found by wire id", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    REQUIRE(store->insert_message(outgoing("bob", 7, "ping", 10)).ok());
    REQUIRE(store->insert_message(incoming("bob", 8, "pong", 20)).ok());

    REQUIRE(store->set_status(message_id(7), MessageStatus::sent).ok());
    auto row = store->find_outgoing(message_id(7));
    REQUIRE(row.ok());
    REQUIRE(row->has_value());
    CHECK(row.value()->status == MessageStatus::sent);
    CHECK(row.value()->text == "ping");

    // Incoming messages are not outgoing ones, and unknown ids are reported.
    CHECK_FALSE(store->find_outgoing(message_id(8)).value().has_value());
    auto missing = store->set_status(message_id(99), MessageStatus::delivered);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == Errc::not_found);
}

TEST_CASE("incoming_after pages through incoming messages by row id", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    auto a = store->insert_message(incoming("bob", 1, "one", 1)).value();
    store->insert_message(outgoing("bob", 2, "mine", 2)).value();
    auto c = store->insert_message(incoming("carol", 3, "three", 3)).value();
    auto d = store->insert_message(incoming("bob", 4, "four", 4)).value();

    auto all = store->incoming_after(0, 10).value();
    REQUIRE(all.size() == 3);
    CHECK(all[0].id == a);
    CHECK(all[1].id == c);
    CHECK(all[2].id == d);
    auto rest = store->incoming_after(a, 1).value();
    REQUIRE(rest.size() == 1);
    CHECK(rest[0].text == "three");
    CHECK(store->incoming_after(d, 10).value().empty());
}

TEST_CASE("a transaction rolled back leaves no rows", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    {
        AccountStore::Transaction tx(*store);
        REQUIRE(tx.begun().ok());
        REQUIRE(store->add_contact("bob", 1).ok());
        REQUIRE(store->insert_message(incoming("bob", 1, "hi", 10)).ok());
        REQUIRE(store->store_session({"bob", 1}, to_bytes("record"), to_bytes("user")).ok());
        REQUIRE(store->save_identity({"bob", 1}, to_bytes("bob's key")).ok());
        REQUIRE(store->remove_prekey(5).ok());
        REQUIRE(store->mark_processed("bob", message_id(1), 10).ok());
        REQUIRE(store->reserve_prekey_ids(10).ok());
        // Not committed.
    }
    CHECK(store->contacts().value().empty());
    CHECK(store->messages("bob", 10).value().empty());
    CHECK(store->conversations().value().empty());
    CHECK_FALSE(store->contains_session({"bob", 1}).value());
    CHECK(store->is_trusted_identity({"bob", 1}, to_bytes("another key")).value());
    CHECK_FALSE(store->was_processed("bob", message_id(1)).value());
    CHECK(store->reserve_prekey_ids(1).value() == 1);
}

TEST_CASE("a committed transaction keeps its rows across a reopen", "[store]") {
    TempProfile profile;
    {
        auto store = create_store(profile);
        AccountStore::Transaction tx(*store);
        REQUIRE(tx.begun().ok());
        REQUIRE(store->add_contact("bob", 1).ok());
        REQUIRE(store->insert_message(incoming("bob", 1, "hi", 10)).ok());
        REQUIRE(tx.commit().ok());
    }
    auto store = open_store(profile);
    CHECK(store->is_contact("bob").value());
    CHECK(store->messages("bob", 10).value().size() == 1);
}

TEST_CASE("a transaction inside another is a savepoint: its rollback undoes only its own writes, "
          "nothing is kept before the outer commit, and a failed write inside one keeps the rest",
          "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    {
        AccountStore::Transaction tx(*store);
        REQUIRE(tx.begun().ok());
        CHECK_FALSE(tx.nested());
        REQUIRE(store->insert_message(incoming("bob", 1, "hi", 10)).ok());
        CHECK(store->insert_message(incoming("bob", 1, "hi", 10)).error().code ==
              Errc::duplicate_message);
        {
            AccountStore::Transaction undone(*store);
            REQUIRE(undone.begun().ok());
            CHECK(undone.nested());
            REQUIRE(store->add_contact("carol", 1).ok());
        } // not committed: carol goes, bob's message stays
        {
            AccountStore::Transaction kept(*store);
            REQUIRE(kept.begun().ok());
            REQUIRE(store->add_contact("bob", 1).ok());
            REQUIRE(kept.commit().ok());
        }
        REQUIRE(tx.commit().ok());
    }
    CHECK(store->messages("bob", 10).value().size() == 1);
    CHECK(store->is_contact("bob").value());
    CHECK_FALSE(store->is_contact("carol").value());

    {
        AccountStore::Transaction outer(*store);
        REQUIRE(outer.begun().ok());
        AccountStore::Transaction inner(*store);
        REQUIRE(inner.begun().ok());
        REQUIRE(store->add_contact("dave", 1).ok());
        REQUIRE(inner.commit().ok());
    } // the outer one rolls back, and with it what the inner one committed
    CHECK_FALSE(store->is_contact("dave").value());
}

TEST_CASE("contacts are added once and listed by name", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    REQUIRE(store->add_contact("carol", 1).ok());
    REQUIRE(store->add_contact("bob", 2).ok());
    REQUIRE(store->add_contact("bob", 3).ok());
    CHECK(store->contacts().value() == std::vector<std::string>{"bob", "carol"});
    CHECK(store->is_contact("bob").value());
    CHECK_FALSE(store->is_contact("dave").value());
    CHECK(store->add_contact("", 1).error().code == Errc::invalid_argument);
}

TEST_CASE("processed envelopes are remembered by sender and id", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    REQUIRE(store->mark_processed("bob", message_id(1), 10).ok());
    REQUIRE(store->mark_processed("bob", message_id(1), 20).ok());
    CHECK(store->was_processed("bob", message_id(1)).value());
    CHECK_FALSE(store->was_processed("carol", message_id(1)).value());
    CHECK_FALSE(store->was_processed("bob", message_id(2)).value());
}

TEST_CASE("pending items and the outbox keep their order until removed", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    auto s1 = store->add_pending({0, message_id(1), "bob", to_bytes("content one")}).value();
    auto s2 = store->add_pending({0, message_id(2), "carol", to_bytes("content two")}).value();
    CHECK(s2 > s1);
    auto pending = store->pending().value();
    REQUIRE(pending.size() == 2);
    CHECK(pending[0].seq == s1);
    CHECK(pending[0].peer == "bob");
    CHECK(pending[0].message_id == message_id(1));
    CHECK(pending[0].content == to_bytes("content one"));
    REQUIRE(store->remove_pending(s1).ok());
    REQUIRE(store->pending().value().size() == 1);

    REQUIRE(store->add_outbox({message_id(1), "bob", 1, 3, to_bytes("ct1")}).ok());
    REQUIRE(store->add_outbox({message_id(1), "bob", 2, 1, to_bytes("ct2")}).ok());
    REQUIRE(store->add_outbox({message_id(2), "carol", 1, 1, to_bytes("ct3")}).ok());
    auto outbox = store->outbox().value();
    REQUIRE(outbox.size() == 3);
    CHECK(outbox[0].device_id == 1);
    CHECK(outbox[0].type == 3);
    CHECK(outbox[0].ciphertext == to_bytes("ct1"));
    CHECK(outbox[1].device_id == 2);
    REQUIRE(store->remove_outbox(message_id(1)).ok());
    outbox = store->outbox().value();
    REQUIRE(outbox.size() == 1);
    CHECK(outbox[0].peer == "carol");
}

TEST_CASE("settings are empty until set and survive a reopen", "[store]") {
    TempProfile profile;
    {
        auto store = create_store(profile);
        CHECK(store->setting("cursor").value().empty());
        REQUIRE(store->set_setting("cursor", "42").ok());
        REQUIRE(store->set_setting("cursor", "43").ok());
    }
    auto store = open_store(profile);
    CHECK(store->setting("cursor").value() == "43");
}

TEST_CASE("search finds every word across conversations, folds case and accents, and treats "
          "search syntax as plain text",
          "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    REQUIRE(store->insert_message(incoming("bob", 1, "Grüße aus Köln, see you Sunday", 5)).ok());
    REQUIRE(store->insert_message(incoming("carol", 2, "sunday hike? bring water", 6)).ok());
    REQUIRE(store->insert_message(incoming("carol", 3, "nothing to see here", 7)).ok());

    auto sunday = store->search("SUNDAY", 10).value();
    REQUIRE(sunday.size() == 2);
    CHECK(sunday[0].peer == "carol"); // newest first
    CHECK(sunday[1].peer == "bob");
    CHECK(store->search("köln sunday", 10).value().size() == 1);
    CHECK(store->search("KÖL", 10).value().size() == 1); // the last word as a prefix
    CHECK(store->search("hike water", 10).value().size() == 1);
    CHECK(store->search("hike nowhere", 10).value().empty());
    CHECK(store->search("   ", 10).value().empty());
    CHECK(store->search("sunday", 1).value().size() == 1);

    // Quotes, stars, operators and column filters are just characters.
    for (const char* odd : {"\"", "*", "sunday OR nothing", "NEAR", "-hike", "text:see",
                            "\"unbalanced", "(((", "^see", "a\"b"}) {
        INFO(odd);
        auto r = store->search(odd, 10);
        REQUIRE(r.ok());
    }
    CHECK(store->search("sunday OR nothing", 10).value().empty());
}
