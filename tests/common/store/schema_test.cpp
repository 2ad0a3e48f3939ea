// Schema versions and migrations on real SQLCipher files. An older database is made the way an
// older Veil left it: a current one with the tables later versions added dropped again and
// user_version set back (version 2 only adds the sender_keys table, version 3 only adds the group
// tables and message_kinds).
#define SQLITE_HAS_CODEC 1
#include "store/schema.h"

#include "store/account_store.h"
#include "store/database.h"
#include "store/kdf_file.h"
#include "store_fixture.h"

#include <catch2/catch.hpp>

using namespace veil;
using namespace veil::store;
using namespace veil::store::test;

namespace {

// The account database opened directly, below AccountStore, with the profile's key.
Database open_raw(const TempProfile& profile) {
    auto kdf = read_kdf_file(profile.dir() / "kdf");
    REQUIRE(kdf.ok());
    auto key = derive_key(passphrase(), kdf->salt, kdf->params);
    REQUIRE(key.ok());
    auto db = Database::open(profile.db(), false);
    REQUIRE(db.ok());
    REQUIRE(db->key(key.value()).ok());
    REQUIRE(db->exec("PRAGMA cipher_page_size = 4096; PRAGMA kdf_iter = 64000;").ok());
    REQUIRE(db->check_key().ok());
    return std::move(db.value());
}

std::int64_t user_version(const TempProfile& profile) {
    auto db = open_raw(profile);
    return db.query_int("PRAGMA user_version").value();
}

bool has_table(Database& db, const char* name) {
    auto stmt = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1");
    REQUIRE(stmt.ok());
    return stmt->bind(1, name).step().value();
}

constexpr const char* kDropVersion3 =
    "DROP TABLE groups; DROP TABLE group_members; DROP TABLE group_key_holders; "
    "DROP TABLE group_outbox; DROP TABLE message_kinds;";

// Version 5 added a column to pending, which SQLite 3.15 cannot drop: the table is made again
// as version 4 had it.
constexpr const char* kDropVersion5 =
    "DROP TABLE device_lists; DROP TABLE devices; DROP INDEX outbox_by_device; "
    "DROP INDEX group_key_holders_by_device; DROP TABLE pending; "
    "CREATE TABLE pending (seq INTEGER PRIMARY KEY AUTOINCREMENT, message_id BLOB NOT NULL, "
    "peer TEXT NOT NULL, content BLOB NOT NULL);";

// Version 10 added a column to attachments: the table is made again as version 9 had it.
constexpr const char* kAttachmentsVersion9 =
    "CREATE TABLE attachments (message INTEGER NOT NULL REFERENCES messages (id), idx INTEGER "
    "NOT NULL, blob_id TEXT NOT NULL, key BLOB NOT NULL, digest BLOB NOT NULL, size INTEGER NOT "
    "NULL, blob_size INTEGER NOT NULL, file_name TEXT NOT NULL, content_type TEXT NOT NULL, "
    "state INTEGER NOT NULL DEFAULT 0, local_path TEXT NOT NULL DEFAULT '', PRIMARY KEY "
    "(message, idx)) WITHOUT ROWID;";

void make_version_9(const TempProfile& profile) {
    auto db = open_raw(profile);
    std::string sql = std::string("BEGIN; DROP TABLE attachments; ") + kAttachmentsVersion9 +
                      " PRAGMA user_version = 9; COMMIT;";
    REQUIRE(db.exec(sql.c_str()).ok());
}

void make_version_8(const TempProfile& profile) {
    make_version_9(profile);
    auto db = open_raw(profile);
    REQUIRE(db.exec("BEGIN; DROP TABLE message_receipts; PRAGMA user_version = 8; COMMIT;").ok());
    CHECK_FALSE(has_table(db, "message_receipts"));
}

void make_version_7(const TempProfile& profile) {
    make_version_8(profile);
    auto db = open_raw(profile);
    REQUIRE(db.exec("BEGIN; DROP TABLE message_details; DROP TABLE reactions; DROP TABLE "
                    "attachments; DROP TABLE conversation_settings; DROP TABLE identity_trust; "
                    "DROP TABLE events; "
                    "PRAGMA user_version = 7; COMMIT;")
                .ok());
}

void make_version_6(const TempProfile& profile) {
    make_version_7(profile);
    auto db = open_raw(profile);
    REQUIRE(db.exec("BEGIN; DROP TABLE blocked; PRAGMA user_version = 6; COMMIT;").ok());
    CHECK_FALSE(has_table(db, "blocked"));
}

void make_version_5(const TempProfile& profile) {
    make_version_6(profile);
    auto db = open_raw(profile);
    REQUIRE(db.exec("BEGIN; DROP TRIGGER messages_fts_insert; DROP TRIGGER messages_fts_delete; "
                    "DROP TRIGGER messages_fts_before_update; DROP TRIGGER "
                    "messages_fts_after_update; DROP TABLE messages_fts; PRAGMA user_version = 5; "
                    "COMMIT;")
                .ok());
    CHECK_FALSE(has_table(db, "messages_fts"));
}

void make_version_4(const TempProfile& profile) {
    make_version_5(profile);
    auto db = open_raw(profile);
    std::string sql = std::string("BEGIN; ") + kDropVersion5 + " PRAGMA user_version = 4; COMMIT;";
    REQUIRE(db.exec(sql.c_str()).ok());
    CHECK_FALSE(has_table(db, "devices"));
}

void make_version_3(const TempProfile& profile) {
    make_version_4(profile);
    auto db = open_raw(profile);
    REQUIRE(
        db.exec("BEGIN; DROP TABLE group_pending_changes; PRAGMA user_version = 3; COMMIT;").ok());
    CHECK_FALSE(has_table(db, "group_pending_changes"));
}

void make_version_2(const TempProfile& profile) {
    make_version_3(profile);
    auto db = open_raw(profile);
    std::string sql = std::string("BEGIN; ") + kDropVersion3 + " PRAGMA user_version = 2; COMMIT;";
    REQUIRE(db.exec(sql.c_str()).ok());
    CHECK_FALSE(has_table(db, "groups"));
}

void make_version_1(const TempProfile& profile) {
    make_version_2(profile);
    auto db = open_raw(profile);
    REQUIRE(db.exec("BEGIN; DROP TABLE sender_keys; PRAGMA user_version = 1; COMMIT;").ok());
    CHECK_FALSE(has_table(db, "sender_keys"));
}

const crypto::SenderKeyName kName{to_bytes("group"), {"alice", 1}};

} // namespace

TEST_CASE("the schema is at version 10 with the sender key, group, device, search, block, "
          "messaging and receipt tables",
          "[store]") {
    CHECK(current_schema_version() == 10);
    TempProfile profile;
    create_store(profile);
    CHECK(user_version(profile) == current_schema_version());
    auto db = open_raw(profile);
    for (const char* table :
         {"sender_keys", "groups", "group_members", "group_key_holders", "group_outbox",
          "message_kinds", "group_pending_changes", "device_lists", "devices", "messages_fts",
          "blocked", "message_details", "reactions", "attachments", "conversation_settings",
          "identity_trust", "events", "message_receipts"}) {
        INFO(table);
        CHECK(has_table(db, table));
    }
}

TEST_CASE("a version 2 database gains the group tables on open and keeps its messages", "[store]") {
    TempProfile profile;
    {
        auto store = create_store(profile);
        REQUIRE(store->insert_message(incoming("bob", 1, "kept across the migration", 5)).ok());
        REQUIRE(store->store_sender_key(kName, to_bytes("record")).ok());
    }
    make_version_2(profile);
    REQUIRE(user_version(profile) == 2);
    {
        auto store = open_store(profile);
        auto messages = store->messages("bob", 10).value();
        REQUIRE(messages.size() == 1);
        CHECK(messages[0].kind == MessageKind::normal);
        CHECK(store->load_sender_key(kName).value().has_value());
        CHECK(store->groups().value().empty());
    }
    CHECK(user_version(profile) == current_schema_version());
}

TEST_CASE("a version 9 database gains file previews on open and keeps its files", "[store]") {
    TempProfile profile;
    std::int64_t row = 0;
    {
        auto store = create_store(profile);
        auto id = store->insert_message(incoming("bob", 1, "a photo", 5));
        REQUIRE(id.ok());
        row = id.value();
    }
    make_version_9(profile);
    {
        auto db = open_raw(profile);
        auto stmt = db.prepare("INSERT INTO attachments (message, idx, blob_id, key, digest, "
                               "size, blob_size, file_name, content_type) VALUES (?1, 0, "
                               "'0123456789abcdef0123456789abcdef', x'00', x'11', 10, 48, "
                               "'trail.jpg', 'image/jpeg')");
        REQUIRE(stmt.ok());
        REQUIRE(stmt->bind(1, row).run().ok());
    }
    REQUIRE(user_version(profile) == 9);
    auto store = open_store(profile);
    CHECK(user_version(profile) == current_schema_version());
    auto file = store->attachment(row, 0);
    REQUIRE(file.ok());
    REQUIRE(file->has_value());
    CHECK((*file)->file_name == "trail.jpg");
    CHECK((*file)->size == 10);
    CHECK((*file)->thumbnail.empty());
    AttachmentRow with_preview = **file;
    with_preview.thumbnail = Bytes{0xFF, 0xD8, 0xFF};
    REQUIRE(store->add_attachment(row, with_preview).ok());
    auto rows = store->messages("bob", 10);
    REQUIRE(rows.ok());
    REQUIRE(rows->front().attachments.size() == 1);
    CHECK(rows->front().attachments[0].thumbnail == with_preview.thumbnail);
}

TEST_CASE("a version 8 database gains the receipt table on open and keeps its messages",
          "[store]") {
    TempProfile profile;
    {
        auto store = create_store(profile);
        REQUIRE(store->insert_message(incoming("bob", 1, "before the upgrade", 5)).ok());
    }
    make_version_8(profile);
    REQUIRE(user_version(profile) == 8);
    auto store = open_store(profile);
    CHECK(user_version(profile) == current_schema_version());
    auto rows = store->messages("bob", 10);
    REQUIRE(rows.ok());
    REQUIRE(rows->size() == 1);
    CHECK(rows->front().text == "before the upgrade");
    CHECK(store->receipts(rows->front().id).value().empty());
}

TEST_CASE("a version 7 database gains the messaging tables on open and keeps its messages",
          "[store]") {
    TempProfile profile;
    {
        auto store = create_store(profile);
        REQUIRE(store->insert_message(incoming("bob", 1, "before the upgrade", 5)).ok());
    }
    make_version_7(profile);
    REQUIRE(user_version(profile) == 7);
    auto store = open_store(profile);
    CHECK(user_version(profile) == current_schema_version());
    auto rows = store->messages("bob", 10);
    REQUIRE(rows.ok());
    REQUIRE(rows->size() == 1);
    CHECK(rows->front().text == "before the upgrade");
    CHECK_FALSE(rows->front().quote.has_value());
    CHECK(rows->front().expires_at_ms == 0);
    CHECK(store->expire_timer("bob").value() == 0);
}

TEST_CASE("a version 6 database gains the block list on open", "[store]") {
    TempProfile profile;
    create_store(profile);
    make_version_6(profile);
    REQUIRE(user_version(profile) == 6);
    auto store = open_store(profile);
    CHECK(user_version(profile) == current_schema_version());
    CHECK(store->blocked().value().empty());
}

TEST_CASE("a version 5 database gains search on open, over the messages it already holds",
          "[store]") {
    TempProfile profile;
    {
        auto store = create_store(profile);
        REQUIRE(store->insert_message(incoming("bob", 1, "the ferry leaves at noon", 5)).ok());
    }
    make_version_5(profile);
    REQUIRE(user_version(profile) == 5);
    auto store = open_store(profile);
    CHECK(user_version(profile) == current_schema_version());
    auto found = store->search("ferry", 10);
    REQUIRE(found.ok());
    REQUIRE(found->size() == 1);
    CHECK(found->front().text == "the ferry leaves at noon");
}

TEST_CASE("a version 4 database gains the device tables on open and keeps what waits to be sent",
          "[store]") {
    TempProfile profile;
    create_store(profile);
    make_version_4(profile);
    {
        auto db = open_raw(profile);
        REQUIRE(db.exec("INSERT INTO pending (message_id, peer, content) VALUES "
                        "(x'01', 'bob', x'0203')")
                    .ok());
    }
    REQUIRE(user_version(profile) == 4);
    auto store = open_store(profile);
    CHECK(user_version(profile) == current_schema_version());
    auto pending = store->pending();
    REQUIRE(pending.ok());
    REQUIRE(pending->size() == 1);
    CHECK(pending->front().peer == "bob");
    CHECK(pending->front().content == Bytes{2, 3});
    CHECK_FALSE(pending->front().sync);
    CHECK_FALSE(store->known_devices("bob").value().has_value());
}

TEST_CASE("a version 3 database gains the pending group change table on open", "[store]") {
    TempProfile profile;
    create_store(profile);
    make_version_3(profile);
    REQUIRE(user_version(profile) == 3);
    auto store = open_store(profile);
    CHECK(user_version(profile) == current_schema_version());
    PendingGroupChange change{Bytes(16, 7), 2, Bytes{1, 2, 3}, "hikers", true};
    REQUIRE(store->save_pending_group_change(change).ok());
    auto pending = store->pending_group_changes();
    REQUIRE(pending.ok());
    REQUIRE(pending->size() == 1);
    CHECK(pending->front().name == "hikers");
    CHECK(pending->front().share_info);
    REQUIRE(store->remove_pending_group_change(change.group_id).ok());
    CHECK(store->pending_group_changes()->empty());
}

TEST_CASE("a version 1 database gains the sender key table on open and keeps its rows", "[store]") {
    TempProfile profile;
    {
        auto store = create_store(profile);
        REQUIRE(store->add_contact("bob", 1).ok());
        REQUIRE(store->store_session({"bob", 1}, to_bytes("session"), Bytes()).ok());
        REQUIRE(store->insert_message(incoming("bob", 1, "kept across the migration", 5)).ok());
    }
    make_version_1(profile);
    REQUIRE(user_version(profile) == 1);

    {
        auto store = open_store(profile);
        CHECK(store->contacts().value() == std::vector<std::string>{"bob"});
        CHECK(store->load_session({"bob", 1}).value()->record == to_bytes("session"));
        auto messages = store->messages("bob", 10).value();
        REQUIRE(messages.size() == 1);
        CHECK(messages[0].text == "kept across the migration");

        CHECK_FALSE(store->load_sender_key(kName).value().has_value());
        REQUIRE(store->store_sender_key(kName, to_bytes("record")).ok());
    }
    CHECK(user_version(profile) == current_schema_version());
    auto store = open_store(profile);
    CHECK(store->load_sender_key(kName).value().has_value());
}

TEST_CASE("opening a current database again changes neither its version nor its sender keys",
          "[store]") {
    TempProfile profile;
    {
        auto store = create_store(profile);
        REQUIRE(store->store_sender_key(kName, to_bytes("record")).ok());
    }
    for (int i = 0; i < 2; ++i) {
        auto store = open_store(profile);
        auto record = store->load_sender_key(kName).value();
        REQUIRE(record.has_value());
        CHECK(to_string(record->view()) == "record");
    }
    CHECK(user_version(profile) == current_schema_version());
}

TEST_CASE("a database written by a newer version is refused and keeps its version", "[store]") {
    TempProfile profile;
    create_store(profile);
    {
        auto db = open_raw(profile);
        std::string bump = "PRAGMA user_version = " + std::to_string(current_schema_version() + 1);
        REQUIRE(db.exec(bump.c_str()).ok());
    }
    auto store = AccountStore::open(profile.dir(), passphrase());
    REQUIRE_FALSE(store.ok());
    CHECK(store.error().code == Errc::database);
    CHECK(store.error().message.find("newer version") != std::string::npos);
    CHECK(user_version(profile) == current_schema_version() + 1);
}
