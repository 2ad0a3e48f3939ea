#include "core/sqlite_store.h"

#include "util/log.h"

#include <Poco/Data/LOB.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <Poco/Exception.h>

#include <filesystem>
#include <stdexcept>

namespace veil::relay {
namespace {

using namespace Poco::Data::Keywords;
using Poco::Int64;
using Poco::Data::BLOB;

constexpr std::string_view kLog = "relay.store";

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

BLOB to_blob(const Bytes& bytes) {
    return BLOB(bytes.data(), bytes.size());
}
Bytes from_blob(const BLOB& blob) {
    return Bytes(blob.content().begin(), blob.content().end());
}

Error database_error(const char* what, const std::exception& e) {
    // The exception text names SQLite's error (disk full, locked, I/O); it never holds row data
    // because every value is bound, not spliced into the SQL.
    log::warn(kLog, std::string(what) + " failed: " + e.what());
    return make_error(Errc::database, "the relay's storage is unavailable");
}

// BEGIN IMMEDIATE takes the write lock up front, so a transaction that reads and then writes
// cannot fail half-way because another process (an `invite create`) wrote in between.
class Transaction {
public:
    explicit Transaction(Poco::Data::Session& session)
        : m_session(session) {
        m_session << "BEGIN IMMEDIATE", now;
    }
    ~Transaction() {
        if (m_open) {
            try {
                m_session << "ROLLBACK", now;
            } catch (const std::exception& e) {
                log::warn(kLog, std::string("rollback failed: ") + e.what());
            }
        }
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    void commit() {
        m_session << "COMMIT", now;
        m_open = false;
    }

private:
    Poco::Data::Session& m_session;
    bool m_open = true;
};

Int64 changes(Poco::Data::Session& session) {
    Int64 n = 0;
    session << "SELECT changes()", into(n), now;
    return n;
}

// The row id of (username, device_id) in devices, or nullopt.
std::optional<Int64> device_row(Poco::Data::Session& session, const std::string& username,
                                std::uint32_t device_id) {
    std::vector<Int64> rows;
    Int64 dev = device_id;
    std::string name = username;
    session << "SELECT d.id FROM devices d JOIN accounts a ON a.id = d.account_id"
               " WHERE a.username = ? AND d.device_id = ?",
        use(name), use(dev), into(rows), now;
    if (rows.empty())
        return std::nullopt;
    return rows.front();
}

void insert_prekeys(Poco::Data::Session& session, Int64 device,
                    std::span<const OneTimePrekeyRecord> prekeys) {
    for (const auto& k : prekeys) {
        Int64 id = k.id;
        BLOB key = to_blob(k.public_key);
        session << "INSERT OR IGNORE INTO one_time_prekeys (device, prekey_id, public_key)"
                   " VALUES (?, ?, ?)",
            use(device), use(id), use(key), now;
    }
}

// Consumes an unused invite code. Returns false when the code is unknown or used.
bool consume_invite(Poco::Data::Session& session, const std::string& code, Int64 now_ms) {
    std::string c = code;
    session << "UPDATE invites SET used_ms = ? WHERE code = ? AND used_ms IS NULL", use(now_ms),
        use(c), now;
    return changes(session) == 1;
}

// The body of enqueue, inside the caller's transaction. A refusal writes nothing; storage
// failures throw.
Result<EnqueueOutcome> enqueue_in(Poco::Data::Session& s, const NewEnvelope& env,
                                  std::int64_t now_ms) {
    std::string from = env.from_username;
    Int64 from_device = env.from_device_id;
    BLOB message_id = to_blob(env.message_id);
    std::vector<BLOB> digest;
    std::vector<Int64> delivery, ts;
    s << "SELECT digest, delivery_id, server_ts FROM sends"
         " WHERE from_username = ? AND from_device = ? AND message_id = ?",
        use(from), use(from_device), use(message_id), into(digest), into(delivery), into(ts), now;
    if (!digest.empty()) {
        if (from_blob(digest[0]) != env.content_digest)
            return make_error(Errc::already_exists, "the message id was used before");
        return EnqueueOutcome{static_cast<std::uint64_t>(delivery[0]), ts[0], true};
    }

    auto device = device_row(s, env.to_username, env.to_device_id);
    if (!device)
        return make_error(Errc::not_found, "no such recipient device");
    Int64 type = env.type;
    Int64 now_value = now_ms;
    BLOB ciphertext = to_blob(env.ciphertext);
    s << "INSERT INTO mailbox (device, from_username, from_device, message_id, type,"
         " ciphertext, server_ts) VALUES (?, ?, ?, ?, ?, ?, ?)",
        use(*device), use(from), use(from_device), use(message_id), use(type), use(ciphertext),
        use(now_value), now;
    Int64 delivery_id = 0;
    s << "SELECT last_insert_rowid()", into(delivery_id), now;
    BLOB digest_blob = to_blob(env.content_digest);
    s << "INSERT INTO sends (from_username, from_device, message_id, digest, delivery_id,"
         " server_ts) VALUES (?, ?, ?, ?, ?, ?)",
        use(from), use(from_device), use(message_id), use(digest_blob), use(delivery_id),
        use(now_value), now;
    return EnqueueOutcome{static_cast<std::uint64_t>(delivery_id), now_ms, false};
}

// The body of ack, inside the caller's transaction; storage failures throw.
std::size_t ack_in(Poco::Data::Session& s, const std::string& username, std::uint32_t device_id,
                   std::span<const std::uint64_t> delivery_ids) {
    auto device = device_row(s, username, device_id);
    if (!device)
        return 0;
    std::size_t deleted = 0;
    for (std::uint64_t id : delivery_ids) {
        Int64 value = static_cast<Int64>(id);
        s << "DELETE FROM mailbox WHERE delivery_id = ? AND device = ?", use(value), use(*device),
            now;
        deleted += static_cast<std::size_t>(changes(s));
    }
    return deleted;
}

} // namespace

SqliteStore::SqliteStore(std::unique_ptr<Poco::Data::Session> session)
    : m_session(std::move(session)) {}

SqliteStore::~SqliteStore() = default;

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& data_dir,
                                                       Durability durability) {
    std::error_code ec;
    std::filesystem::create_directories(data_dir, ec);
    if (ec)
        return make_error(Errc::io, "cannot create the data directory: " + ec.message());
    const std::string path = (std::filesystem::path(data_dir) / "relay.db").string();
    try {
        Poco::Data::SQLite::Connector::registerConnector();
        auto session = std::make_unique<Poco::Data::Session>("SQLite", path);
        std::unique_ptr<SqliteStore> store(new SqliteStore(std::move(session)));
        VEIL_TRY(store->migrate(durability));
        return store;
    } catch (const std::exception& e) {
        return database_error("opening the database", e);
    }
}

Status SqliteStore::migrate(Durability durability) {
    auto& s = *m_session;
    std::string mode;
    s << "PRAGMA busy_timeout = 5000", now;
    s << "PRAGMA journal_mode = WAL", into(mode), now;
    if (mode != "wal")
        return make_error(Errc::database, "the database cannot use write-ahead logging");
    s << (durability == Durability::full ? "PRAGMA synchronous = FULL"
                                         : "PRAGMA synchronous = NORMAL"),
        now;
    s << "PRAGMA foreign_keys = ON", now;

    Int64 version = 0;
    s << "PRAGMA user_version", into(version), now;
    if (version > kSchemaVersion)
        return make_error(Errc::database, "the database was written by a newer relay");
    if (version == kSchemaVersion)
        return {};

    Transaction tx(s);
    for (const char* sql : kSchemaV1)
        s << sql, now;
    s << "PRAGMA user_version = " + std::to_string(kSchemaVersion), now;
    tx.commit();
    log::info(kLog, "created schema version " + std::to_string(kSchemaVersion));
    return {};
}

Status SqliteStore::create_account(const NewAccount& account, std::int64_t now_ms) {
    std::lock_guard lock(m_mutex);
    auto& s = *m_session;
    try {
        Transaction tx(s);
        std::vector<Int64> existing;
        std::string name = account.username;
        s << "SELECT id FROM accounts WHERE username = ?", use(name), into(existing), now;
        if (!existing.empty())
            return make_error(Errc::already_exists, "the username is taken");
        Int64 now_value = now_ms;
        if (account.invite_required && !consume_invite(s, account.invite_code, now_value))
            return make_error(Errc::refused, "the invite code is unknown or used");

        s << "INSERT INTO accounts (username, created_ms) VALUES (?, ?)", use(name), use(now_value),
            now;
        Int64 reg = account.registration_id;
        Int64 spk_id = account.signed_prekey.id;
        BLOB identity = to_blob(account.identity_key);
        BLOB spk = to_blob(account.signed_prekey.public_key);
        BLOB spk_sig = to_blob(account.signed_prekey.signature);
        s << "INSERT INTO devices (account_id, device_id, registration_id, identity_key,"
             " signed_prekey_id, signed_prekey, signed_prekey_signature, created_ms)"
             " VALUES (last_insert_rowid(), 1, ?, ?, ?, ?, ?, ?)",
            use(reg), use(identity), use(spk_id), use(spk), use(spk_sig), use(now_value), now;
        Int64 device = 0;
        s << "SELECT last_insert_rowid()", into(device), now;
        insert_prekeys(s, device, account.one_time_prekeys);
        tx.commit();
        return {};
    } catch (const std::exception& e) {
        return database_error("creating an account", e);
    }
}

Result<std::optional<DeviceRecord>> SqliteStore::find_device(const std::string& username,
                                                             std::uint32_t device_id) {
    std::lock_guard lock(m_mutex);
    try {
        std::vector<Int64> reg;
        std::vector<BLOB> identity;
        std::string name = username;
        Int64 dev = device_id;
        *m_session << "SELECT d.registration_id, d.identity_key FROM devices d"
                      " JOIN accounts a ON a.id = d.account_id"
                      " WHERE a.username = ? AND d.device_id = ?",
            use(name), use(dev), into(reg), into(identity), now;
        if (reg.empty())
            return std::optional<DeviceRecord>{};
        return std::optional<DeviceRecord>(DeviceRecord{
            username, device_id, static_cast<std::uint32_t>(reg[0]), from_blob(identity[0])});
    } catch (const std::exception& e) {
        return database_error("looking up a device", e);
    }
}

Status SqliteStore::replace_signed_prekey(const std::string& username, std::uint32_t device_id,
                                          const SignedPrekeyRecord& prekey) {
    std::lock_guard lock(m_mutex);
    auto& s = *m_session;
    try {
        Transaction tx(s);
        auto device = device_row(s, username, device_id);
        if (!device)
            return make_error(Errc::not_found, "no such device");
        Int64 id = prekey.id;
        BLOB key = to_blob(prekey.public_key);
        BLOB sig = to_blob(prekey.signature);
        s << "UPDATE devices SET signed_prekey_id = ?, signed_prekey = ?,"
             " signed_prekey_signature = ? WHERE id = ?",
            use(id), use(key), use(sig), use(*device), now;
        tx.commit();
        return {};
    } catch (const std::exception& e) {
        return database_error("replacing a signed prekey", e);
    }
}

Status SqliteStore::add_one_time_prekeys(const std::string& username, std::uint32_t device_id,
                                         std::span<const OneTimePrekeyRecord> prekeys) {
    std::lock_guard lock(m_mutex);
    auto& s = *m_session;
    try {
        Transaction tx(s);
        auto device = device_row(s, username, device_id);
        if (!device)
            return make_error(Errc::not_found, "no such device");
        insert_prekeys(s, *device, prekeys);
        tx.commit();
        return {};
    } catch (const std::exception& e) {
        return database_error("adding one-time prekeys", e);
    }
}

Result<std::uint32_t> SqliteStore::count_one_time_prekeys(const std::string& username,
                                                          std::uint32_t device_id) {
    std::lock_guard lock(m_mutex);
    try {
        Int64 count = 0;
        std::string name = username;
        Int64 dev = device_id;
        *m_session << "SELECT COUNT(*) FROM one_time_prekeys k JOIN devices d ON d.id = k.device"
                      " JOIN accounts a ON a.id = d.account_id"
                      " WHERE a.username = ? AND d.device_id = ?",
            use(name), use(dev), into(count), now;
        return static_cast<std::uint32_t>(count);
    } catch (const std::exception& e) {
        return database_error("counting one-time prekeys", e);
    }
}

Result<std::optional<PrekeyBundleRecord>>
SqliteStore::take_prekey_bundle(const std::string& username) {
    std::lock_guard lock(m_mutex);
    auto& s = *m_session;
    try {
        Transaction tx(s);
        std::vector<Int64> row, device_id, reg, spk_id;
        std::vector<BLOB> identity, spk, spk_sig;
        std::string name = username;
        s << "SELECT d.id, d.device_id, d.registration_id, d.identity_key, d.signed_prekey_id,"
             " d.signed_prekey, d.signed_prekey_signature FROM devices d"
             " JOIN accounts a ON a.id = d.account_id WHERE a.username = ?"
             " ORDER BY d.device_id LIMIT 1",
            use(name), into(row), into(device_id), into(reg), into(identity), into(spk_id),
            into(spk), into(spk_sig), now;
        if (row.empty())
            return std::optional<PrekeyBundleRecord>{};

        PrekeyBundleRecord bundle;
        bundle.device = DeviceRecord{username, static_cast<std::uint32_t>(device_id[0]),
                                     static_cast<std::uint32_t>(reg[0]), from_blob(identity[0])};
        bundle.signed_prekey = SignedPrekeyRecord{static_cast<std::uint32_t>(spk_id[0]),
                                                  from_blob(spk[0]), from_blob(spk_sig[0])};

        std::vector<Int64> otk_id;
        std::vector<BLOB> otk_key;
        s << "SELECT prekey_id, public_key FROM one_time_prekeys WHERE device = ?"
             " ORDER BY prekey_id LIMIT 1",
            use(row[0]), into(otk_id), into(otk_key), now;
        if (!otk_id.empty()) {
            s << "DELETE FROM one_time_prekeys WHERE device = ? AND prekey_id = ?", use(row[0]),
                use(otk_id[0]), now;
            bundle.one_time_prekey =
                OneTimePrekeyRecord{static_cast<std::uint32_t>(otk_id[0]), from_blob(otk_key[0])};
        }
        tx.commit();
        return std::optional<PrekeyBundleRecord>(std::move(bundle));
    } catch (const std::exception& e) {
        return database_error("handing out a prekey bundle", e);
    }
}

Result<EnqueueOutcome> SqliteStore::enqueue(const NewEnvelope& env, std::int64_t now_ms) {
    std::lock_guard lock(m_mutex);
    auto& s = *m_session;
    try {
        Transaction tx(s);
        auto stored = enqueue_in(s, env, now_ms);
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
    std::lock_guard lock(m_mutex);
    auto& s = *m_session;
    try {
        auto device = device_row(s, username, device_id);
        if (!device)
            return std::vector<StoredEnvelope>{};
        std::vector<Int64> delivery, from_device, type, ts;
        std::vector<std::string> from;
        std::vector<BLOB> message_id, ciphertext;
        Int64 after = static_cast<Int64>(after_id);
        Int64 max_rows = static_cast<Int64>(limit);
        s << "SELECT delivery_id, message_id, from_username, from_device, type, ciphertext,"
             " server_ts FROM mailbox WHERE device = ? AND delivery_id > ?"
             " ORDER BY delivery_id LIMIT ?",
            use(*device), use(after), use(max_rows), into(delivery), into(message_id), into(from),
            into(from_device), into(type), into(ciphertext), into(ts), now;
        std::vector<StoredEnvelope> out;
        out.reserve(delivery.size());
        for (std::size_t i = 0; i < delivery.size(); ++i)
            out.push_back(StoredEnvelope{
                static_cast<std::uint64_t>(delivery[i]), from_blob(message_id[i]), from[i],
                static_cast<std::uint32_t>(from_device[i]), static_cast<std::uint32_t>(type[i]),
                from_blob(ciphertext[i]), ts[i]});
        return out;
    } catch (const std::exception& e) {
        return database_error("reading a mailbox", e);
    }
}

Result<std::size_t> SqliteStore::ack(const std::string& username, std::uint32_t device_id,
                                     std::span<const std::uint64_t> delivery_ids) {
    std::lock_guard lock(m_mutex);
    auto& s = *m_session;
    try {
        Transaction tx(s);
        const std::size_t deleted = ack_in(s, username, device_id, delivery_ids);
        tx.commit();
        return deleted;
    } catch (const std::exception& e) {
        return database_error("deleting acknowledged envelopes", e);
    }
}

Result<std::vector<MailboxWriteOutcome>>
SqliteStore::write_mailbox(std::span<const MailboxWrite> writes) {
    std::lock_guard lock(m_mutex);
    auto& s = *m_session;
    try {
        Transaction tx(s);
        std::vector<MailboxWriteOutcome> outcomes;
        outcomes.reserve(writes.size());
        for (const auto& write : writes) {
            if (const auto* env = std::get_if<NewEnvelope>(&write.what)) {
                outcomes.emplace_back(std::in_place_index<0>, enqueue_in(s, *env, write.now_ms));
            } else {
                const auto& a = std::get<MailboxAck>(write.what);
                outcomes.emplace_back(std::in_place_index<1>,
                                      ack_in(s, a.username, a.device_id, a.delivery_ids));
            }
        }
        tx.commit();
        return outcomes;
    } catch (const std::exception& e) {
        return database_error("writing a batch of mailbox changes", e);
    }
}

Result<std::size_t> SqliteStore::purge_before(std::int64_t cutoff_ms) {
    std::lock_guard lock(m_mutex);
    auto& s = *m_session;
    try {
        Transaction tx(s);
        Int64 cutoff = cutoff_ms;
        s << "DELETE FROM mailbox WHERE server_ts < ?", use(cutoff), now;
        auto deleted = static_cast<std::size_t>(changes(s));
        s << "DELETE FROM sends WHERE server_ts < ?", use(cutoff), now;
        tx.commit();
        return deleted;
    } catch (const std::exception& e) {
        return database_error("purging expired envelopes", e);
    }
}

Status SqliteStore::create_invite(const std::string& code, std::int64_t now_ms) {
    std::lock_guard lock(m_mutex);
    auto& s = *m_session;
    try {
        Transaction tx(s);
        std::string c = code;
        Int64 now_value = now_ms;
        s << "INSERT OR IGNORE INTO invites (code, created_ms) VALUES (?, ?)", use(c),
            use(now_value), now;
        if (changes(s) != 1)
            return make_error(Errc::already_exists, "the invite code exists already");
        tx.commit();
        return {};
    } catch (const std::exception& e) {
        return database_error("creating an invite", e);
    }
}

} // namespace veil::relay
