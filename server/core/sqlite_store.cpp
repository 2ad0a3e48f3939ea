#include "core/sqlite_store.h"

#include "core/sqlite_db.h"
#include "util/log.h"

#include <atomic>
#include <filesystem>
#include <stdexcept>

namespace veil::relay {
namespace {

constexpr std::string_view kLog = "relay.store";

// More envelopes than one relay run can push and then roll back: a failed commit is logged and
// the relay goes on, but never for 2^24 envelopes in a row.
constexpr std::int64_t kDeliveryIdRestartGap = std::int64_t{1} << 24;

// The statements that create schema version 1. Mailbox delivery ids use AUTOINCREMENT so that an
// id is never reused after its row is deleted: clients ack by id, and the connection layer skips
// pushes at or below the last id it drained.
constexpr const char* kSchemaV1[] = {
    "CREATE TABLE accounts (id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE,"
    " created_ms INTEGER NOT NULL)",
    "CREATE TABLE devices (id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL"
    " REFERENCES accounts(id), device_id INTEGER NOT NULL, registration_id INTEGER NOT NULL,"
    " identity_key BLOB NOT NULL, signed_prekey_id INTEGER NOT NULL,"
    " signed_prekey BLOB NOT NULL, signed_prekey_signature BLOB NOT NULL,"
    " created_ms INTEGER NOT NULL, UNIQUE (account_id, device_id))",
    "CREATE TABLE one_time_prekeys (device INTEGER NOT NULL REFERENCES devices(id),"
    " prekey_id INTEGER NOT NULL, public_key BLOB NOT NULL, PRIMARY KEY (device, prekey_id))"
    " WITHOUT ROWID",
    "CREATE TABLE mailbox (delivery_id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " device INTEGER NOT NULL REFERENCES devices(id), from_username TEXT NOT NULL,"
    " from_device INTEGER NOT NULL, message_id BLOB NOT NULL, type INTEGER NOT NULL,"
    " ciphertext BLOB NOT NULL, server_ts INTEGER NOT NULL)",
    "CREATE INDEX mailbox_by_device ON mailbox (device, delivery_id)",
    "CREATE INDEX mailbox_by_time ON mailbox (server_ts)",
    "CREATE TABLE sends (from_username TEXT NOT NULL, from_device INTEGER NOT NULL,"
    " message_id BLOB NOT NULL, digest BLOB NOT NULL, delivery_id INTEGER NOT NULL,"
    " server_ts INTEGER NOT NULL, PRIMARY KEY (from_username, from_device, message_id))"
    " WITHOUT ROWID",
    "CREATE INDEX sends_by_time ON sends (server_ts)",
    "CREATE TABLE invites (code TEXT PRIMARY KEY, created_ms INTEGER NOT NULL, used_ms INTEGER)"
    " WITHOUT ROWID",
};

Error database_error(const char* what, const std::exception& e) {
    // The exception text names SQLite's error (disk full, locked, I/O); it never holds row data
    // because every value is bound, not spliced into the SQL.
    log::warn(kLog, std::string(what) + " failed: " + e.what());
    return make_error(Errc::database, "the relay's storage is unavailable");
}

// The row id of (username, device_id) in devices, or nullopt.
std::optional<std::int64_t> device_row(SqliteDb& db, const std::string& username,
                                       std::uint32_t device_id) {
    StatementUse q(db.statement("SELECT d.id FROM devices d JOIN accounts a ON a.id = d.account_id"
                                " WHERE a.username = ? AND d.device_id = ?"));
    q->bind(1, username).bind(2, std::int64_t{device_id});
    if (!q->step())
        return std::nullopt;
    return q->column_int64(0);
}

void insert_prekeys(SqliteDb& db, std::int64_t device,
                    std::span<const OneTimePrekeyRecord> prekeys) {
    auto& insert = db.statement("INSERT OR IGNORE INTO one_time_prekeys (device, prekey_id,"
                                " public_key) VALUES (?, ?, ?)");
    for (const auto& k : prekeys) {
        insert.bind(1, device).bind(2, std::int64_t{k.id}).bind_blob(3, k.public_key);
        insert.run();
    }
}

// Consumes an unused invite code. Returns false when the code is unknown or used.
bool consume_invite(SqliteDb& db, const std::string& code, std::int64_t now_ms) {
    auto& update =
        db.statement("UPDATE invites SET used_ms = ? WHERE code = ? AND used_ms IS NULL");
    update.bind(1, now_ms).bind(2, code);
    update.run();
    return db.changes() == 1;
}

// The body of enqueue, inside the caller's transaction. A refusal writes nothing; storage
// failures throw.
Result<EnqueueOutcome> enqueue_in(SqliteDb& db, const NewEnvelope& env, std::int64_t now_ms,
                                  std::atomic<std::int64_t>& next_delivery_id) {
    const std::int64_t from_device = env.from_device_id;
    {
        StatementUse q(db.statement("SELECT digest, delivery_id, server_ts FROM sends"
                                    " WHERE from_username = ? AND from_device = ?"
                                    " AND message_id = ?"));
        q->bind(1, env.from_username).bind(2, from_device).bind_blob(3, env.message_id);
        if (q->step()) {
            if (q->column_blob(0) != env.content_digest)
                return make_error(Errc::already_exists, "the message id was used before");
            return EnqueueOutcome{static_cast<std::uint64_t>(q->column_int64(1)),
                                  q->column_int64(2), true};
        }
    }

    auto device = device_row(db, env.to_username, env.to_device_id);
    if (!device)
        return make_error(Errc::not_found, "no such recipient device");
    auto& insert = db.statement("INSERT INTO mailbox (delivery_id, device, from_username,"
                                " from_device, message_id, type, ciphertext, server_ts)"
                                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    const std::int64_t delivery_id = env.delivery_id != 0
                                         ? static_cast<std::int64_t>(env.delivery_id)
                                         : next_delivery_id.fetch_add(1);
    insert.bind(1, delivery_id)
        .bind(2, *device)
        .bind(3, env.from_username)
        .bind(4, from_device)
        .bind_blob(5, env.message_id)
        .bind(6, std::int64_t{env.type})
        .bind_blob(7, env.ciphertext)
        .bind(8, now_ms);
    insert.run();
    auto& log_send = db.statement("INSERT INTO sends (from_username, from_device, message_id,"
                                  " digest, delivery_id, server_ts) VALUES (?, ?, ?, ?, ?, ?)");
    log_send.bind(1, env.from_username)
        .bind(2, from_device)
        .bind_blob(3, env.message_id)
        .bind_blob(4, env.content_digest)
        .bind(5, delivery_id)
        .bind(6, now_ms);
    log_send.run();
    return EnqueueOutcome{static_cast<std::uint64_t>(delivery_id), now_ms, false};
}

// The body of ack, inside the caller's transaction; storage failures throw.
std::size_t ack_in(SqliteDb& db, const std::string& username, std::uint32_t device_id,
                   std::span<const std::uint64_t> delivery_ids) {
    auto device = device_row(db, username, device_id);
    if (!device)
        return 0;
    std::size_t deleted = 0;
    auto& remove = db.statement("DELETE FROM mailbox WHERE delivery_id = ? AND device = ?");
    for (std::uint64_t id : delivery_ids) {
        remove.bind(1, static_cast<std::int64_t>(id)).bind(2, *device);
        remove.run();
        deleted += static_cast<std::size_t>(db.changes());
    }
    return deleted;
}

} // namespace

SqliteStore::SqliteStore(std::unique_ptr<SqliteDb> db, std::unique_ptr<SqliteDb> reader)
    : m_db(std::move(db))
    , m_reader(std::move(reader)) {}

SqliteStore::~SqliteStore() = default;

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& data_dir,
                                                       Durability durability) {
    std::error_code ec;
    std::filesystem::create_directories(data_dir, ec);
    if (ec)
        return make_error(Errc::io, "cannot create the data directory: " + ec.message());
    const std::string path = (std::filesystem::path(data_dir) / "relay.db").string();
    try {
        auto db = std::make_unique<SqliteDb>(path);
        auto reader = std::make_unique<SqliteDb>(path);
        std::unique_ptr<SqliteStore> store(new SqliteStore(std::move(db), std::move(reader)));
        VEIL_TRY(store->migrate(durability));
        store->m_reader->exec("PRAGMA query_only = ON");
        return store;
    } catch (const std::exception& e) {
        return database_error("opening the database", e);
    }
}

Status SqliteStore::migrate(Durability durability) {
    auto& db = *m_db;
    if (db.query_text("PRAGMA journal_mode = WAL") != "wal")
        return make_error(Errc::database, "the database cannot use write-ahead logging");
    db.exec(durability == Durability::full ? "PRAGMA synchronous = FULL"
                                           : "PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA foreign_keys = ON");

    const std::int64_t version = db.query_int64("PRAGMA user_version");
    if (version > kSchemaVersion)
        return make_error(Errc::database, "the database was written by a newer relay");
    if (version == kSchemaVersion) {
        // AUTOINCREMENT's counter covers every id ever committed, deleted rows included. Ids
        // of a batch that was pushed and then rolled back just before a crash are not in it,
        // so a reopened store starts a fresh block well above it.
        m_next_delivery_id.store(db.query_int64("SELECT COALESCE(MAX(seq), 0) + 1"
                                                " FROM sqlite_sequence WHERE name = 'mailbox'") +
                                 kDeliveryIdRestartGap);
        return {};
    }

    SqliteTransaction tx(db);
    for (const char* sql : kSchemaV1)
        db.exec(sql);
    db.exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str());
    tx.commit();
    log::info(kLog, "created schema version " + std::to_string(kSchemaVersion));
    return {};
}

Status SqliteStore::create_account(const NewAccount& account, std::int64_t now_ms) {
    std::lock_guard lock(m_mutex);
    auto& db = *m_db;
    try {
        SqliteTransaction tx(db);
        {
            StatementUse q(db.statement("SELECT id FROM accounts WHERE username = ?"));
            q->bind(1, account.username);
            if (q->step())
                return make_error(Errc::already_exists, "the username is taken");
        }
        if (account.invite_required && !consume_invite(db, account.invite_code, now_ms))
            return make_error(Errc::refused, "the invite code is unknown or used");

        auto& insert_account =
            db.statement("INSERT INTO accounts (username, created_ms) VALUES (?, ?)");
        insert_account.bind(1, account.username).bind(2, now_ms);
        insert_account.run();
        const std::int64_t account_row = db.last_insert_rowid();
        auto& insert_device = db.statement(
            "INSERT INTO devices (account_id, device_id, registration_id, identity_key,"
            " signed_prekey_id, signed_prekey, signed_prekey_signature, created_ms)"
            " VALUES (?, 1, ?, ?, ?, ?, ?, ?)");
        insert_device.bind(1, account_row)
            .bind(2, std::int64_t{account.registration_id})
            .bind_blob(3, account.identity_key)
            .bind(4, std::int64_t{account.signed_prekey.id})
            .bind_blob(5, account.signed_prekey.public_key)
            .bind_blob(6, account.signed_prekey.signature)
            .bind(7, now_ms);
        insert_device.run();
        insert_prekeys(db, db.last_insert_rowid(), account.one_time_prekeys);
        tx.commit();
        return {};
    } catch (const std::exception& e) {
        return database_error("creating an account", e);
    }
}

Result<std::optional<DeviceRecord>> SqliteStore::find_device(const std::string& username,
                                                             std::uint32_t device_id) {
    std::lock_guard lock(m_read_mutex);
    try {
        StatementUse q(m_reader->statement("SELECT d.registration_id, d.identity_key FROM devices d"
                                           " JOIN accounts a ON a.id = d.account_id"
                                           " WHERE a.username = ? AND d.device_id = ?"));
        q->bind(1, username).bind(2, std::int64_t{device_id});
        if (!q->step())
            return std::optional<DeviceRecord>{};
        return std::optional<DeviceRecord>(
            DeviceRecord{username, device_id, static_cast<std::uint32_t>(q->column_int64(0)),
                         q->column_blob(1)});
    } catch (const std::exception& e) {
        return database_error("looking up a device", e);
    }
}

Status SqliteStore::replace_signed_prekey(const std::string& username, std::uint32_t device_id,
                                          const SignedPrekeyRecord& prekey) {
    std::lock_guard lock(m_mutex);
    auto& db = *m_db;
    try {
        SqliteTransaction tx(db);
        auto device = device_row(db, username, device_id);
        if (!device)
            return make_error(Errc::not_found, "no such device");
        auto& update = db.statement("UPDATE devices SET signed_prekey_id = ?, signed_prekey = ?,"
                                    " signed_prekey_signature = ? WHERE id = ?");
        update.bind(1, std::int64_t{prekey.id})
            .bind_blob(2, prekey.public_key)
            .bind_blob(3, prekey.signature)
            .bind(4, *device);
        update.run();
        tx.commit();
        return {};
    } catch (const std::exception& e) {
        return database_error("replacing a signed prekey", e);
    }
}

Status SqliteStore::add_one_time_prekeys(const std::string& username, std::uint32_t device_id,
                                         std::span<const OneTimePrekeyRecord> prekeys) {
    std::lock_guard lock(m_mutex);
    auto& db = *m_db;
    try {
        SqliteTransaction tx(db);
        auto device = device_row(db, username, device_id);
        if (!device)
            return make_error(Errc::not_found, "no such device");
        insert_prekeys(db, *device, prekeys);
        tx.commit();
        return {};
    } catch (const std::exception& e) {
        return database_error("adding one-time prekeys", e);
    }
}

Result<std::uint32_t> SqliteStore::count_one_time_prekeys(const std::string& username,
                                                          std::uint32_t device_id) {
    std::lock_guard lock(m_read_mutex);
    try {
        StatementUse q(m_reader->statement(
            "SELECT COUNT(*) FROM one_time_prekeys k JOIN devices d ON d.id = k.device"
            " JOIN accounts a ON a.id = d.account_id WHERE a.username = ? AND d.device_id = ?"));
        q->bind(1, username).bind(2, std::int64_t{device_id});
        if (!q->step())
            return 0u;
        return static_cast<std::uint32_t>(q->column_int64(0));
    } catch (const std::exception& e) {
        return database_error("counting one-time prekeys", e);
    }
}

Result<std::optional<PrekeyBundleRecord>>
SqliteStore::take_prekey_bundle(const std::string& username) {
    std::lock_guard lock(m_mutex);
    auto& db = *m_db;
    try {
        SqliteTransaction tx(db);
        PrekeyBundleRecord bundle;
        std::int64_t row = 0;
        {
            StatementUse q(db.statement(
                "SELECT d.id, d.device_id, d.registration_id, d.identity_key, d.signed_prekey_id,"
                " d.signed_prekey, d.signed_prekey_signature FROM devices d"
                " JOIN accounts a ON a.id = d.account_id WHERE a.username = ?"
                " ORDER BY d.device_id LIMIT 1"));
            q->bind(1, username);
            if (!q->step())
                return std::optional<PrekeyBundleRecord>{};
            row = q->column_int64(0);
            bundle.device =
                DeviceRecord{username, static_cast<std::uint32_t>(q->column_int64(1)),
                             static_cast<std::uint32_t>(q->column_int64(2)), q->column_blob(3)};
            bundle.signed_prekey =
                SignedPrekeyRecord{static_cast<std::uint32_t>(q->column_int64(4)),
                                   q->column_blob(5), q->column_blob(6)};
        }
        std::optional<OneTimePrekeyRecord> one_time;
        {
            StatementUse q(db.statement("SELECT prekey_id, public_key FROM one_time_prekeys"
                                        " WHERE device = ? ORDER BY prekey_id LIMIT 1"));
            q->bind(1, row);
            if (q->step())
                one_time = OneTimePrekeyRecord{static_cast<std::uint32_t>(q->column_int64(0)),
                                               q->column_blob(1)};
        }
        if (one_time) {
            auto& remove =
                db.statement("DELETE FROM one_time_prekeys WHERE device = ? AND prekey_id = ?");
            remove.bind(1, row).bind(2, std::int64_t{one_time->id});
            remove.run();
            bundle.one_time_prekey = std::move(one_time);
        }
        tx.commit();
        return std::optional<PrekeyBundleRecord>(std::move(bundle));
    } catch (const std::exception& e) {
        return database_error("handing out a prekey bundle", e);
    }
}

Result<EnqueueOutcome> SqliteStore::enqueue(const NewEnvelope& env, std::int64_t now_ms) {
    std::lock_guard lock(m_mutex);
    auto& db = *m_db;
    try {
        SqliteTransaction tx(db);
        auto stored = enqueue_in(db, env, now_ms, m_next_delivery_id);
        if (stored)
            tx.commit();
        return stored;
    } catch (const std::exception& e) {
        return database_error("storing an envelope", e);
    }
}

Result<std::vector<StoredEnvelope>> SqliteStore::queued(const std::string& username,
                                                        std::uint32_t device_id,
                                                        std::uint64_t after_id, std::size_t limit) {
    std::lock_guard lock(m_read_mutex);
    auto& db = *m_reader;
    try {
        auto device = device_row(db, username, device_id);
        if (!device)
            return std::vector<StoredEnvelope>{};
        StatementUse q(db.statement(
            "SELECT delivery_id, message_id, from_username, from_device, type, ciphertext,"
            " server_ts FROM mailbox WHERE device = ? AND delivery_id > ?"
            " ORDER BY delivery_id LIMIT ?"));
        q->bind(1, *device)
            .bind(2, static_cast<std::int64_t>(after_id))
            .bind(3, static_cast<std::int64_t>(limit));
        std::vector<StoredEnvelope> out;
        while (q->step())
            out.push_back(StoredEnvelope{static_cast<std::uint64_t>(q->column_int64(0)),
                                         q->column_blob(1), q->column_text(2),
                                         static_cast<std::uint32_t>(q->column_int64(3)),
                                         static_cast<std::uint32_t>(q->column_int64(4)),
                                         q->column_blob(5), q->column_int64(6)});
        return out;
    } catch (const std::exception& e) {
        return database_error("reading a mailbox", e);
    }
}

Result<std::size_t> SqliteStore::ack(const std::string& username, std::uint32_t device_id,
                                     std::span<const std::uint64_t> delivery_ids) {
    std::lock_guard lock(m_mutex);
    auto& db = *m_db;
    try {
        SqliteTransaction tx(db);
        const std::size_t deleted = ack_in(db, username, device_id, delivery_ids);
        tx.commit();
        return deleted;
    } catch (const std::exception& e) {
        return database_error("deleting acknowledged envelopes", e);
    }
}

Result<std::vector<MailboxWriteOutcome>>
SqliteStore::write_mailbox(std::span<const MailboxWrite> writes) {
    std::lock_guard lock(m_mutex);
    auto& db = *m_db;
    try {
        SqliteTransaction tx(db);
        std::vector<MailboxWriteOutcome> outcomes;
        outcomes.reserve(writes.size());
        for (const auto& write : writes) {
            if (const auto* env = std::get_if<NewEnvelope>(&write.what)) {
                outcomes.emplace_back(std::in_place_index<0>,
                                      enqueue_in(db, *env, write.now_ms, m_next_delivery_id));
            } else {
                const auto& a = std::get<MailboxAck>(write.what);
                outcomes.emplace_back(std::in_place_index<1>,
                                      ack_in(db, a.username, a.device_id, a.delivery_ids));
            }
        }
        tx.commit();
        return outcomes;
    } catch (const std::exception& e) {
        return database_error("writing a batch of mailbox changes", e);
    }
}

std::uint64_t SqliteStore::allocate_delivery_id() {
    return static_cast<std::uint64_t>(m_next_delivery_id.fetch_add(1));
}

Result<std::optional<SendRecord>> SqliteStore::find_send(const std::string& from_username,
                                                         std::uint32_t from_device_id,
                                                         std::span<const std::uint8_t> message_id) {
    std::lock_guard lock(m_read_mutex);
    try {
        StatementUse q(m_reader->statement("SELECT digest, delivery_id, server_ts FROM sends"
                                           " WHERE from_username = ? AND from_device = ?"
                                           " AND message_id = ?"));
        q->bind(1, from_username).bind(2, std::int64_t{from_device_id}).bind_blob(3, message_id);
        if (!q->step())
            return std::optional<SendRecord>{};
        return std::optional<SendRecord>(SendRecord{
            q->column_blob(0), static_cast<std::uint64_t>(q->column_int64(1)), q->column_int64(2)});
    } catch (const std::exception& e) {
        return database_error("looking up a send", e);
    }
}

Result<std::size_t> SqliteStore::purge_before(std::int64_t cutoff_ms) {
    std::lock_guard lock(m_mutex);
    auto& db = *m_db;
    try {
        SqliteTransaction tx(db);
        auto& purge_mailbox = db.statement("DELETE FROM mailbox WHERE server_ts < ?");
        purge_mailbox.bind(1, cutoff_ms);
        purge_mailbox.run();
        const auto deleted = static_cast<std::size_t>(db.changes());
        auto& purge_sends = db.statement("DELETE FROM sends WHERE server_ts < ?");
        purge_sends.bind(1, cutoff_ms);
        purge_sends.run();
        tx.commit();
        return deleted;
    } catch (const std::exception& e) {
        return database_error("purging expired envelopes", e);
    }
}

Status SqliteStore::create_invite(const std::string& code, std::int64_t now_ms) {
    std::lock_guard lock(m_mutex);
    auto& db = *m_db;
    try {
        SqliteTransaction tx(db);
        auto& insert =
            db.statement("INSERT OR IGNORE INTO invites (code, created_ms) VALUES (?, ?)");
        insert.bind(1, code).bind(2, now_ms);
        insert.run();
        if (db.changes() != 1)
            return make_error(Errc::already_exists, "the invite code exists already");
        tx.commit();
        return {};
    } catch (const std::exception& e) {
        return database_error("creating an invite", e);
    }
}

} // namespace veil::relay
