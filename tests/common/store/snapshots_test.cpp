// Snapshots of the account database (store/snapshots.cpp): encrypted copies under the same key,
// three kept, and a restore that checks a snapshot whole before it replaces a damaged database
// and keeps the damaged file aside.
#include "store_fixture.h"
#include "support/file_damage.h"

#include <catch2/catch.hpp>

using namespace veil;
using namespace veil::store;
using namespace veil::store::test;

namespace {

constexpr std::int64_t kDay = 24 * 3600 * 1000;
constexpr std::int64_t kNow = 1'800'000'000'000;

void add_messages(AccountStore& store, int first, int count, const std::string& word) {
    AccountStore::Transaction tx(store);
    REQUIRE(tx.begun().ok());
    for (int i = first; i < first + count; ++i) {
        auto row = incoming("peer", static_cast<std::uint8_t>(i),
                            word + std::to_string(i) + " " + std::string(300, 'x'), 1000 + i);
        row.message_id[0] = static_cast<std::uint8_t>(i >> 8);
        REQUIRE(store.insert_message(row).ok());
    }
    REQUIRE(tx.commit().ok());
}

// Opens the profile and reads it whole (open alone proves the key on page 1 only).
Status open_and_check(const TempProfile& profile) {
    auto store = AccountStore::open(profile.dir(), passphrase());
    if (!store)
        return store.error();
    return store.value()->check_integrity();
}

enum class Damage { flipped_byte, zeroed_page, truncated };

void damage(const std::filesystem::path& db, Damage how) {
    auto content = read_file(db);
    REQUIRE(content.size() >= 16 * 4096);
    const std::size_t middle = content.size() / 4096 / 2 * 4096;
    switch (how) {
    case Damage::flipped_byte: content[middle + 777] ^= 0x04; break;
    case Damage::zeroed_page: std::fill_n(content.begin() + middle, 4096, '\0'); break;
    case Damage::truncated: content.resize(middle); break; // a whole number of pages
    }
    write_file(db, content);
}

} // namespace

TEST_CASE("a snapshot is an encrypted copy under the same key, written at most once a day",
          "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    add_messages(*store, 0, 20, "planted");
    auto written = store->snapshot_if_older(kNow, kDay);
    REQUIRE(written.ok());
    CHECK(written.value());
    CHECK_FALSE(store->snapshot_if_older(kNow + kDay - 1, kDay).value());
    auto snapshots = AccountStore::snapshots(profile.dir());
    REQUIRE(snapshots.size() == 1);
    const std::string bytes = read_file(snapshots.front());
    CHECK(bytes.rfind("SQLite format 3", 0) != 0);
    CHECK(bytes.find("planted") == std::string::npos);
    CHECK((std::filesystem::status(snapshots.front()).permissions() &
           std::filesystem::perms::group_all) == std::filesystem::perms::none);
    // No partial copy is left beside it.
    CHECK(std::distance(std::filesystem::directory_iterator(profile.dir() / "snapshots"),
                        std::filesystem::directory_iterator()) == 1);
}

TEST_CASE("the three newest snapshots are kept and older ones removed", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    for (int day = 0; day < 5; ++day) {
        add_messages(*store, day * 10, 10, "day");
        REQUIRE(store->snapshot_if_older(kNow + day * kDay, kDay).value());
    }
    auto snapshots = AccountStore::snapshots(profile.dir());
    REQUIRE(snapshots.size() == 3);
    CHECK(snapshots[0].filename().string().find(std::to_string(kNow + 4 * kDay)) !=
          std::string::npos);
    CHECK(snapshots[2].filename().string().find(std::to_string(kNow + 2 * kDay)) !=
          std::string::npos);
}

TEST_CASE("a flipped byte, a zeroed page and a truncated file are found, and the newest good "
          "snapshot replaces the file, which is kept aside",
          "[store]") {
    const Damage how = GENERATE(Damage::flipped_byte, Damage::zeroed_page, Damage::truncated);
    INFO(static_cast<int>(how));
    TempProfile profile;
    {
        auto store = create_store(profile);
        add_messages(*store, 0, 150, "before");
        REQUIRE(store->snapshot_if_older(kNow, kDay).value());
        add_messages(*store, 150, 30, "after");
    }
    damage(profile.db(), how);
    const std::string damaged = read_file(profile.db());
    auto found = open_and_check(profile);
    REQUIRE_FALSE(found.ok());
    INFO(found.error().message);
    CHECK(found.error().code == Errc::corrupt);

    auto restored = AccountStore::restore_snapshot(profile.dir(), passphrase(), kNow + 5);
    INFO((restored ? std::string() : restored.error().message));
    REQUIRE(restored.ok());
    CHECK(read_file(profile.dir() / ("account.db.damaged-" + std::to_string(kNow + 5))) == damaged);
    REQUIRE(open_and_check(profile).ok());
    auto store = open_store(profile);
    auto rows = store->messages("peer", 1000);
    REQUIRE(rows.ok());
    CHECK(rows->size() == 150); // what came after the snapshot is not in it
}

TEST_CASE("a damaged snapshot is passed over for an older good one", "[store]") {
    TempProfile profile;
    {
        auto store = create_store(profile);
        add_messages(*store, 0, 100, "first");
        REQUIRE(store->snapshot_if_older(kNow, kDay).value());
        add_messages(*store, 100, 20, "second");
        REQUIRE(store->snapshot_if_older(kNow + kDay, kDay).value());
    }
    auto snapshots = AccountStore::snapshots(profile.dir());
    REQUIRE(snapshots.size() == 2);
    damage(snapshots.front(), Damage::flipped_byte);
    damage(profile.db(), Damage::zeroed_page);
    auto restored = AccountStore::restore_snapshot(profile.dir(), passphrase(), kNow + 2 * kDay);
    REQUIRE(restored.ok());
    CHECK(restored.value() == snapshots.back());
    auto store = open_store(profile);
    CHECK(store->messages("peer", 1000)->size() == 100);
}

TEST_CASE("a passphrase change removes the snapshots the old passphrase opens", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    add_messages(*store, 0, 20, "old");
    REQUIRE(store->snapshot_if_older(kNow, kDay).value());
    REQUIRE(AccountStore::snapshots(profile.dir()).size() == 1);
    REQUIRE(store->change_passphrase(passphrase(), passphrase("a new one"), fast_kdf()).ok());
    CHECK(AccountStore::snapshots(profile.dir()).empty());
    // The next one is under the new key, and a restore with the new passphrase takes it.
    REQUIRE(store->snapshot_if_older(kNow + 1, kDay).value());
    store.reset();
    damage(profile.db(), Damage::zeroed_page);
    CHECK(AccountStore::restore_snapshot(profile.dir(), passphrase("a new one"), kNow + 2).ok());
}

TEST_CASE("a restore with the wrong passphrase, without snapshots or while the profile is open "
          "changes nothing",
          "[store]") {
    TempProfile profile;
    {
        auto store = create_store(profile);
        add_messages(*store, 0, 100, "kept");
        auto none = AccountStore::restore_snapshot(profile.dir(), passphrase(), kNow);
        CHECK(none.error().code == Errc::busy);
        REQUIRE(store->snapshot_if_older(kNow, kDay).value());
    }
    auto empty = AccountStore::restore_snapshot(profile.dir(), passphrase("wrong"), kNow);
    REQUIRE_FALSE(empty.ok());
    CHECK(empty.error().code == Errc::not_found);
    CHECK_FALSE(
        std::filesystem::exists(profile.dir() / ("account.db.damaged-" + std::to_string(kNow))));
    std::filesystem::remove_all(profile.dir() / "snapshots");
    auto gone = AccountStore::restore_snapshot(profile.dir(), passphrase(), kNow);
    REQUIRE_FALSE(gone.ok());
    CHECK(gone.error().code == Errc::not_found);
    CHECK(open_and_check(profile).ok());
}

TEST_CASE("damage found while the store is open stops every write with one clear error, writes "
          "nothing into the file, and the newest snapshot brings the messages back",
          "[store]") {
    TempProfile profile;
    {
        auto store = create_store(profile);
        add_messages(*store, 0, 300, "kept");
        REQUIRE(store->snapshot_if_older(kNow, kDay).value());
    } // closed: the log is checkpointed, every page is in account.db
    auto store = open_store(profile);
    CHECK_FALSE(store->damaged());
    // Page 1 and the pages the open read stay whole; every later page is damaged on disk.
    REQUIRE(veil::test::damage_pages_in_place(profile.db(), 8));
    const std::string damaged_bytes = read_file(profile.db());

    // A read that reaches a damaged page reports it and sets the store to damaged.
    auto read = store->messages("peer", 1000);
    REQUIRE_FALSE(read.ok());
    CHECK(read.error().code == Errc::corrupt);
    CHECK(store->damaged());

    // Every write from now on fails with the same sentence, whichever page it would touch.
    std::vector<Error> refused;
    auto row = incoming("peer", 1, "written after the damage", 5000);
    row.message_id[0] = 0x7f;
    auto inserted = store->insert_message(row);
    REQUIRE_FALSE(inserted.ok());
    refused.push_back(inserted.error());
    auto contact = store->add_contact("someone", kNow);
    REQUIRE_FALSE(contact.ok());
    refused.push_back(contact.error());
    AccountStore::Transaction tx(*store);
    REQUIRE_FALSE(tx.begun().ok());
    refused.push_back(tx.begun().error());
    auto snapshot = store->snapshot_if_older(kNow + 7 * kDay, kDay);
    REQUIRE_FALSE(snapshot.ok());
    refused.push_back(snapshot.error());
    for (const auto& e : refused) {
        CHECK(e.code == Errc::corrupt);
        CHECK(e.message == refused.front().message);
        CHECK(e.message.find("restore it from a snapshot") != std::string::npos);
    }
    // Nothing was written: the file is byte for byte what the damage left, and the good
    // snapshot is still the only one.
    CHECK(read_file(profile.db()) == damaged_bytes);
    CHECK(AccountStore::snapshots(profile.dir()).size() == 1);
    store.reset();
    CHECK(read_file(profile.db()) == damaged_bytes);

    // The restore puts the snapshot in place and keeps the damaged file aside, untouched.
    auto used = AccountStore::restore_snapshot(profile.dir(), passphrase(), kNow + kDay);
    REQUIRE(used.ok());
    bool kept_aside = false;
    for (const auto& entry : std::filesystem::directory_iterator(profile.dir()))
        if (entry.path().filename().string().rfind("account.db.damaged-", 0) == 0)
            kept_aside = read_file(entry.path()) == damaged_bytes;
    CHECK(kept_aside);
    auto restored = open_store(profile);
    REQUIRE(restored->check_integrity().ok());
    auto all = restored->messages("peer", 1000);
    REQUIRE(all.ok());
    CHECK(all->size() == 300);
    CHECK_FALSE(restored->damaged());
}

TEST_CASE("an integrity check that fails sets the open store to damaged and stops writes",
          "[store]") {
    TempProfile profile;
    {
        auto store = create_store(profile);
        add_messages(*store, 0, 300, "kept");
    }
    auto store = open_store(profile);
    REQUIRE(veil::test::damage_pages_in_place(profile.db(), 8));
    CHECK(store->check_integrity().error().code == Errc::corrupt);
    CHECK(store->damaged());
    auto contact = store->add_contact("someone", kNow);
    REQUIRE_FALSE(contact.ok());
    CHECK(contact.error().message.find("restore it from a snapshot") != std::string::npos);
}

TEST_CASE("a restored snapshot hands out one-time prekey ids far past any the lost database "
          "handed out, and records when it was restored",
          "[store]") {
    TempProfile profile;
    std::uint32_t after_snapshot_last = 0;
    {
        auto store = create_store(profile);
        REQUIRE(store->reserve_prekey_ids(100).value() == 1);
        REQUIRE(store->snapshot_if_older(kNow, kDay).value());
        CHECK(store->restored_at_ms().value() == 0);
        // Uploaded after the snapshot: these ids exist at the relay, not in the snapshot.
        for (int batch = 0; batch < 50; ++batch)
            after_snapshot_last = store->reserve_prekey_ids(100).value() + 99;
    }
    REQUIRE(after_snapshot_last == 5100);
    REQUIRE(AccountStore::restore_snapshot(profile.dir(), passphrase(), kNow + kDay).ok());
    auto store = open_store(profile);
    CHECK(store->restored_at_ms().value() == kNow + kDay);
    const std::uint32_t next = store->reserve_prekey_ids(100).value();
    CHECK(next > after_snapshot_last);
    CHECK(next >= 101 + (1u << 20));
    CHECK(next <= 101 + (1u << 21));
    // Two restores of the same snapshot jump by different amounts.
    store.reset();
    REQUIRE(AccountStore::restore_snapshot(profile.dir(), passphrase(), kNow + 2 * kDay).ok());
    auto again = open_store(profile);
    CHECK(again->reserve_prekey_ids(100).value() != next);
}
