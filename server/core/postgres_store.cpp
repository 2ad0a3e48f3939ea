#include "core/postgres_store.h"

#include "core/pg_db.h"
#include "core/store_bracket.h"
#include "core/store_rules.h"
#include "protocol/limits.h"
#include "util/log.h"

#include <algorithm>
#include <climits>
#include <map>
#include <set>

namespace veil::relay {
namespace {

constexpr std::string_view kLog = "relay.store";

// wire::CIPHERTEXT_NONE: a Deliver that carries a group change and no ciphertext.
constexpr std::uint32_t kCiphertextNone = 4;

// Schema version 1: SqliteStore's version 4, table for table and column for column (BIGINT for
// SQLite's INTEGER, BYTEA for BLOB), so that a migration copies rows unchanged. A group message
// is stored once in payloads; the trigger frees a payload with the last mailbox row that
// references it. Mailbox delivery ids come from delivery_id_blocks (see PostgresStore), never
// from a serial column, whose values a rollback would not reuse either but which another relay
// process could not reserve in blocks.
constexpr const char* kSchemaV1[] = {
    "CREATE TABLE accounts (id BIGSERIAL PRIMARY KEY, username TEXT NOT NULL UNIQUE,"
    " created_ms BIGINT NOT NULL, next_device_id BIGINT NOT NULL DEFAULT 2)",
    "CREATE TABLE devices (id BIGSERIAL PRIMARY KEY, account_id BIGINT NOT NULL"
    " REFERENCES accounts(id), device_id BIGINT NOT NULL, registration_id BIGINT NOT NULL,"
    " identity_key BYTEA NOT NULL, signed_prekey_id BIGINT NOT NULL,"
    " signed_prekey BYTEA NOT NULL, signed_prekey_signature BYTEA NOT NULL,"
    " created_ms BIGINT NOT NULL, auth_key BYTEA NOT NULL, name BYTEA NOT NULL DEFAULT '',"
    " last_seen_ms BIGINT NOT NULL DEFAULT 0, removed_ms BIGINT, UNIQUE (account_id, device_id))",
    "CREATE TABLE one_time_prekeys (device BIGINT NOT NULL REFERENCES devices(id),"
    " prekey_id BIGINT NOT NULL, public_key BYTEA NOT NULL, PRIMARY KEY (device, prekey_id))",
    "CREATE TABLE payloads (id BIGSERIAL PRIMARY KEY, group_id BYTEA NOT NULL,"
    " from_username TEXT NOT NULL, from_device BIGINT NOT NULL, message_id BYTEA NOT NULL,"
    " type BIGINT NOT NULL, ciphertext BYTEA NOT NULL, server_ts BIGINT NOT NULL)",
    "CREATE TABLE mailbox (delivery_id BIGINT PRIMARY KEY,"
    " device BIGINT NOT NULL REFERENCES devices(id), from_username TEXT NOT NULL,"
    " from_device BIGINT NOT NULL, message_id BYTEA NOT NULL, type BIGINT NOT NULL,"
    " ciphertext BYTEA NOT NULL, server_ts BIGINT NOT NULL, payload BIGINT REFERENCES"
    " payloads(id), group_id BYTEA, change_revision BIGINT, expired_to TEXT,"
    " expired_sent_ts BIGINT, account_copies BIGINT)",
    "CREATE INDEX mailbox_by_device ON mailbox (device, delivery_id)",
    "CREATE INDEX mailbox_by_time ON mailbox (server_ts)",
    "CREATE INDEX mailbox_by_payload ON mailbox (payload) WHERE payload IS NOT NULL",
    "CREATE TABLE sends (from_username TEXT NOT NULL, from_device BIGINT NOT NULL,"
    " message_id BYTEA NOT NULL, digest BYTEA NOT NULL, delivery_id BIGINT NOT NULL,"
    " server_ts BIGINT NOT NULL, unreachable TEXT,"
    " PRIMARY KEY (from_username, from_device, message_id))",
    "CREATE INDEX sends_by_time ON sends (server_ts)",
    "CREATE TABLE invites (code TEXT PRIMARY KEY, created_ms BIGINT NOT NULL, used_ms BIGINT)",
    "CREATE TABLE groups (group_id BYTEA PRIMARY KEY, revision BIGINT NOT NULL,"
    " state BYTEA NOT NULL, state_hash BYTEA NOT NULL)",
    "CREATE TABLE group_members (group_id BYTEA NOT NULL, username TEXT NOT NULL,"
    " admin BIGINT NOT NULL, current BIGINT NOT NULL, left_revision BIGINT NOT NULL DEFAULT 0,"
    " PRIMARY KEY (group_id, username))",
    "CREATE INDEX group_members_by_username ON group_members (username)",
    "CREATE TABLE group_changes (group_id BYTEA NOT NULL, revision BIGINT NOT NULL,"
    " state BYTEA NOT NULL, signer TEXT NOT NULL, signature BYTEA NOT NULL,"
    " server_ts BIGINT NOT NULL, PRIMARY KEY (group_id, revision))",
    "CREATE FUNCTION mailbox_release_payload() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " DELETE FROM payloads WHERE id = OLD.payload"
    " AND NOT EXISTS (SELECT 1 FROM mailbox WHERE payload = OLD.payload);"
    " RETURN NULL; END $$",
    "CREATE TRIGGER mailbox_release_payload AFTER DELETE ON mailbox FOR EACH ROW"
    " WHEN (OLD.payload IS NOT NULL) EXECUTE FUNCTION mailbox_release_payload()",
    "CREATE SEQUENCE delivery_id_blocks",
};

// The ordered migration steps: step i brings the schema from version i to i + 1.
struct MigrationStep {
    const char* const* begin;
    const char* const* end;
};
constexpr MigrationStep kSteps[] = {
    {std::begin(kSchemaV1), std::end(kSchemaV1)},
};
static_assert(std::size(kSteps) == PostgresStore::kSchemaVersion);

std::int64_t i64(std::uint64_t v) {
    return static_cast<std::int64_t>(v);
}

// The row id of (username, device_id) in devices, or nullopt; removed devices count as absent.
std::optional<std::int64_t> device_row(PgDb& db, const std::string& username,
                                       std::uint32_t device_id) {
    auto r = db.run("SELECT d.id FROM devices d JOIN accounts a ON a.id = d.account_id"
                    " WHERE a.username = $1 AND d.device_id = $2 AND d.removed_ms IS NULL",
                    PgParams().add(username).add(std::int64_t{device_id}));
    if (r.rows() == 0)
        return std::nullopt;
    return r.int64(0, 0);
}

std::optional<std::int64_t> account_row(PgDb& db, const std::string& username) {
    auto r = db.run("SELECT id FROM accounts WHERE username = $1", PgParams().add(username));
    if (r.rows() == 0)
        return std::nullopt;
    return r.int64(0, 0);
}

std::size_t active_device_count(PgDb& db, std::int64_t account) {
    return static_cast<std::size_t>(
        db.query_int64("SELECT COUNT(*) FROM devices WHERE account_id = $1"
                       " AND removed_ms IS NULL",
                       PgParams().add(account)));
}

// Inserts a device and returns its row id. last_seen_ms: now for a device registering on its
// connection, 0 for one never connected yet.
std::int64_t insert_device(PgDb& db, std::int64_t account, std::uint32_t device_id,
                           const Bytes& identity_key, const NewDevice& d, std::int64_t now_ms,
                           std::int64_t last_seen_ms) {
    auto r = db.run(
        "INSERT INTO devices (account_id, device_id, registration_id, identity_key,"
        " signed_prekey_id, signed_prekey, signed_prekey_signature, created_ms, auth_key, name,"
        " last_seen_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        PgParams()
            .add(account)
            .add(std::int64_t{device_id})
            .add(std::int64_t{d.registration_id})
            .add_bytes(identity_key)
            .add(std::int64_t{d.signed_prekey.id})
            .add_bytes(d.signed_prekey.public_key)
            .add_bytes(d.signed_prekey.signature)
            .add(now_ms)
            .add_bytes(d.auth_key)
            .add_bytes(d.name)
            .add(last_seen_ms));
    return r.int64(0, 0);
}

void insert_prekeys(PgDb& db, std::int64_t device, std::span<const OneTimePrekeyRecord> prekeys) {
    for (const auto& k : prekeys)
        db.run("INSERT INTO one_time_prekeys (device, prekey_id, public_key) VALUES ($1, $2, $3)"
               " ON CONFLICT DO NOTHING",
               PgParams().add(device).add(std::int64_t{k.id}).add_bytes(k.public_key));
}

// Consumes an unused invite code. Returns false when the code is unknown or used.
bool consume_invite(PgDb& db, const std::string& code, std::int64_t now_ms) {
    return db.run("UPDATE invites SET used_ms = $1 WHERE code = $2 AND used_ms IS NULL",
                  PgParams().add(now_ms).add(code))
               .affected() == 1;
}

std::optional<SendRecord> lookup_send(PgDb& db, const std::string& from_username,
                                      std::int64_t from_device,
                                      std::span<const std::uint8_t> message_id) {
    auto r = db.run("SELECT digest, delivery_id, server_ts, unreachable FROM sends"
                    " WHERE from_username = $1 AND from_device = $2 AND message_id = $3",
                    PgParams().add(from_username).add(from_device).add_bytes(message_id));
    if (r.rows() == 0)
        return std::nullopt;
    return SendRecord{r.bytes(0, 0), static_cast<std::uint64_t>(r.int64(0, 1)), r.int64(0, 2),
                      split_names(r.text(0, 3))};
}

void add_active_rows(PgDb& db, std::int64_t account, const std::string& username,
                     std::uint32_t except, std::vector<DeviceSlot>& out) {
    auto r = db.run("SELECT device_id, id FROM devices WHERE account_id = $1"
                    " AND removed_ms IS NULL ORDER BY device_id",
                    PgParams().add(account));
    for (int i = 0; i < r.rows(); ++i) {
        const auto id = static_cast<std::uint32_t>(r.int64(i, 0));
        if (id != except)
            out.push_back(DeviceSlot{{username, id}, r.int64(i, 1)});
    }
}

// The device rows of env's copies, in the copies' order, when they address exactly the devices
// they must (NewEnvelope); nullopt otherwise. Read inside the writer's transaction.
std::optional<std::vector<std::int64_t>> copy_rows(PgDb& db, const NewEnvelope& env,
                                                   std::int64_t to_account) {
    const auto from = env.sync ? account_row(db, env.from_username) : std::nullopt;
    return copy_rows_of(
        env, to_account, from,
        [&](std::int64_t account, const std::string& username, std::uint32_t except,
            std::vector<DeviceSlot>& out) { add_active_rows(db, account, username, except, out); });
}

} // namespace

// Hands out delivery ids from blocks reserved in the sequence delivery_id_blocks, on a connection
// of its own so that a refill never waits behind the writer's commit.
class PostgresStore::IdBlocks {
public:
    explicit IdBlocks(std::unique_ptr<PgDb> db)
        : m_db(std::move(db)) {}

    // Throws PgError when a block is needed and cannot be reserved.
    std::uint64_t take() {
        std::lock_guard lock(m_mutex);
        if (m_next == m_end)
            refill();
        return m_next++;
    }

    std::uint64_t take_or_zero() {
        try {
            return take();
        } catch (const std::exception& e) {
            log::warn(kLog, std::string("reserving delivery ids failed: ") + e.what());
            return 0;
        }
    }

private:
    void refill() {
        // nextval is never rolled back, and its commit (autocommit, synchronous) reaches the
        // WAL before the block is used: no block is handed out twice, whatever crashes.
        const auto block =
            static_cast<std::uint64_t>(m_db->query_int64("SELECT nextval('delivery_id_blocks')"));
        m_next = block * kDeliveryIdBlock;
        m_end = m_next + kDeliveryIdBlock;
    }

    std::mutex m_mutex;
    std::unique_ptr<PgDb> m_db;
    std::uint64_t m_next = 0;
    std::uint64_t m_end = 0;
};

namespace {

std::int64_t take_delivery_id(std::uint64_t preset, PostgresStore::IdBlocks& ids);

Result<EnqueueOutcome> enqueue_in(PgDb& db, const NewEnvelope& env, std::int64_t now_ms,
                                  PostgresStore::IdBlocks& ids) {
    const std::int64_t from_device = env.from_device_id;
    if (auto sent = lookup_send(db, env.from_username, from_device, env.message_id)) {
        if (sent->content_digest != env.content_digest)
            return make_error(Errc::already_exists, "the message id was used before");
        return EnqueueOutcome{{}, sent->server_timestamp_ms, true};
    }

    auto to_account = account_row(db, env.to_username);
    if (!to_account)
        return make_error(Errc::not_found, "no such recipient");
    auto rows = env.copies.empty() ? std::nullopt : copy_rows(db, env, *to_account);
    if (!rows)
        return make_error(Errc::refused, "the copies do not match the devices");

    EnqueueOutcome outcome{{}, now_ms, false};
    for (std::size_t i = 0; i < env.copies.size(); ++i) {
        const auto& copy = env.copies[i];
        const auto same_account =
            std::count_if(env.copies.begin(), env.copies.end(),
                          [&](const auto& c) { return c.username == copy.username; });
        const std::int64_t delivery_id = take_delivery_id(copy.delivery_id, ids);
        db.run("INSERT INTO mailbox (delivery_id, device, from_username, from_device, message_id,"
               " type, ciphertext, server_ts, account_copies)"
               " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
               PgParams()
                   .add(delivery_id)
                   .add((*rows)[i])
                   .add(env.from_username)
                   .add(from_device)
                   .add_bytes(env.message_id)
                   .add(std::int64_t{copy.type})
                   .add_bytes(copy.ciphertext)
                   .add(now_ms)
                   .add(static_cast<std::int64_t>(same_account)));
        outcome.delivery_ids.push_back(static_cast<std::uint64_t>(delivery_id));
    }
    db.run("INSERT INTO sends (from_username, from_device, message_id, digest, delivery_id,"
           " server_ts) VALUES ($1, $2, $3, $4, $5, $6)",
           PgParams()
               .add(env.from_username)
               .add(from_device)
               .add_bytes(env.message_id)
               .add_bytes(env.content_digest)
               .add(i64(outcome.delivery_ids.front()))
               .add(now_ms));
    return outcome;
}

std::size_t delete_deliveries(PgDb& db, std::optional<std::int64_t> device,
                              std::span<const std::uint64_t> delivery_ids) {
    if (!device || delivery_ids.empty())
        return 0;
    // One statement for the whole list: an array literal of the ids.
    std::string list = "{";
    for (std::uint64_t id : delivery_ids) {
        if (list.size() > 1)
            list.push_back(',');
        list += std::to_string(i64(id));
    }
    list.push_back('}');
    return static_cast<std::size_t>(
        db.run("DELETE FROM mailbox WHERE device = $1 AND delivery_id = ANY($2::bigint[])",
               PgParams().add(*device).add(list))
            .affected());
}

std::size_t ack_in(PgDb& db, const std::string& username, std::uint32_t device_id,
                   std::span<const std::uint64_t> delivery_ids) {
    return delete_deliveries(db, device_row(db, username, device_id), delivery_ids);
}

std::optional<std::uint64_t> group_revision(PgDb& db, std::span<const std::uint8_t> group_id) {
    auto r =
        db.run("SELECT revision FROM groups WHERE group_id = $1", PgParams().add_bytes(group_id));
    if (r.rows() == 0)
        return std::nullopt;
    return static_cast<std::uint64_t>(r.int64(0, 0));
}

// Inserts one mailbox row referencing a payload or a group change (ciphertext stays empty).
void insert_group_row(PgDb& db, std::int64_t device, std::int64_t delivery_id,
                      const std::string& from, std::int64_t from_device, const Bytes& message_id,
                      std::uint32_t type, std::optional<std::int64_t> payload,
                      const Bytes& group_id, std::uint64_t change_revision, std::int64_t now_ms,
                      std::int64_t account_copies = 0) {
    PgParams p;
    p.add(delivery_id)
        .add(device)
        .add(from)
        .add(from_device)
        .add_bytes(message_id)
        .add(std::int64_t{type})
        .add(now_ms);
    if (payload)
        p.add(*payload).add_null().add_null().add(account_copies);
    else
        p.add_null().add_bytes(group_id).add(i64(change_revision)).add_null();
    db.run("INSERT INTO mailbox (delivery_id, device, from_username, from_device, message_id,"
           " type, ciphertext, server_ts, payload, group_id, change_revision, account_copies)"
           " VALUES ($1, $2, $3, $4, $5, $6, ''::bytea, $7, $8, $9, $10, $11)",
           p);
}

std::int64_t take_delivery_id(std::uint64_t preset, PostgresStore::IdBlocks& ids) {
    return preset != 0 ? i64(preset) : i64(ids.take());
}

Result<GroupWriteOutcome> group_message_in(PgDb& db, const NewGroupMessage& m, std::int64_t now_ms,
                                           PostgresStore::IdBlocks& ids) {
    const std::int64_t from_device = m.from_device_id;
    if (auto sent = lookup_send(db, m.from_username, from_device, m.message_id)) {
        if (sent->content_digest != m.content_digest)
            return make_error(Errc::already_exists, "the message id was used before");
        return GroupWriteOutcome{sent->server_timestamp_ms, true, std::move(sent->unreachable)};
    }
    auto revision = group_revision(db, m.group_id);
    if (!revision)
        return make_error(Errc::not_found, "no such group");
    {
        auto r = db.run("SELECT current FROM group_members WHERE group_id = $1 AND username = $2",
                        PgParams().add_bytes(m.group_id).add(m.from_username));
        if (r.rows() == 0 || r.int64(0, 0) == 0)
            return make_error(Errc::refused, "the sender is not a member of the group");
    }
    if (*revision != m.revision)
        return make_error(Errc::invalid_argument, "the group is at another revision");

    if (!m.recipients.empty()) {
        const std::int64_t payload_id =
            db.query_int64("INSERT INTO payloads (group_id, from_username, from_device,"
                           " message_id, type, ciphertext, server_ts)"
                           " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                           PgParams()
                               .add_bytes(m.group_id)
                               .add(m.from_username)
                               .add(from_device)
                               .add_bytes(m.message_id)
                               .add(std::int64_t{m.type})
                               .add_bytes(m.ciphertext)
                               .add(now_ms));
        std::map<std::string, std::int64_t> per_account;
        for (const auto& r : m.recipients)
            ++per_account[r.username];
        for (const auto& r : m.recipients) {
            auto device = device_row(db, r.username, r.device_id);
            if (!device)
                continue; // a recipient removed meanwhile gets no row
            insert_group_row(db, *device, take_delivery_id(r.delivery_id, ids), m.from_username,
                             from_device, Bytes{}, m.type, payload_id, {}, 0, now_ms,
                             per_account[r.username]);
        }
    }
    db.run("INSERT INTO sends (from_username, from_device, message_id, digest, delivery_id,"
           " server_ts, unreachable) VALUES ($1, $2, $3, $4, 0, $5, $6)",
           PgParams()
               .add(m.from_username)
               .add(from_device)
               .add_bytes(m.message_id)
               .add_bytes(m.content_digest)
               .add(now_ms)
               .add(join_names(m.unreachable)));
    return GroupWriteOutcome{now_ms, false, m.unreachable};
}

Result<GroupWriteOutcome> group_change_in(PgDb& db, const NewGroupChange& g, std::int64_t now_ms,
                                          PostgresStore::IdBlocks& ids) {
    const auto& c = g.change;
    {
        // The same change again (a retry) is answered as before; another one at a revision
        // that is taken is stale, or a conflict at revision 1.
        auto r = db.run("SELECT state, signer, signature, server_ts FROM group_changes"
                        " WHERE group_id = $1 AND revision = $2",
                        PgParams().add_bytes(c.group_id).add(i64(c.revision)));
        if (r.rows() > 0) {
            if (r.bytes(0, 0) == c.state && r.text(0, 1) == c.signer &&
                r.bytes(0, 2) == c.signature)
                return GroupWriteOutcome{r.int64(0, 3), true, {}};
            if (c.revision == 1)
                return make_error(Errc::already_exists, "the group exists already");
            return make_error(Errc::invalid_argument, "the group is at another revision");
        }
    }
    auto revision = group_revision(db, c.group_id);
    if (revision.value_or(0) != g.previous_revision)
        return make_error(g.previous_revision == 0 ? Errc::already_exists : Errc::invalid_argument,
                          "the group is at another revision");

    const auto rev = i64(c.revision);
    if (g.previous_revision == 0)
        db.run(
            "INSERT INTO groups (group_id, revision, state, state_hash) VALUES ($1, $2, $3, $4)",
            PgParams().add_bytes(c.group_id).add(rev).add_bytes(c.state).add_bytes(g.state_hash));
    else
        db.run(
            "UPDATE groups SET revision = $1, state = $2, state_hash = $3 WHERE group_id = $4",
            PgParams().add(rev).add_bytes(c.state).add_bytes(g.state_hash).add_bytes(c.group_id));
    // Everyone current becomes former at this revision, then the new state's members are
    // (again) current.
    db.run("UPDATE group_members SET current = 0, left_revision = $1"
           " WHERE group_id = $2 AND current = 1",
           PgParams().add(rev).add_bytes(c.group_id));
    for (const auto& [username, admin] : g.members)
        db.run("INSERT INTO group_members (group_id, username, admin, current, left_revision)"
               " VALUES ($1, $2, $3, 1, 0) ON CONFLICT (group_id, username) DO UPDATE SET"
               " admin = excluded.admin, current = 1, left_revision = 0",
               PgParams().add_bytes(c.group_id).add(username).add(std::int64_t{admin ? 1 : 0}));
    db.run("INSERT INTO group_changes (group_id, revision, state, signer, signature, server_ts)"
           " VALUES ($1, $2, $3, $4, $5, $6)",
           PgParams()
               .add_bytes(c.group_id)
               .add(rev)
               .add_bytes(c.state)
               .add(c.signer)
               .add_bytes(c.signature)
               .add(now_ms));

    Bytes message_id(8);
    for (int i = 0; i < 8; ++i)
        message_id[static_cast<std::size_t>(i)] =
            static_cast<std::uint8_t>(c.revision >> (8 * (7 - i)));
    for (const auto& r : g.recipients) {
        auto device = device_row(db, r.username, r.device_id);
        if (!device)
            continue;
        insert_group_row(db, *device, take_delivery_id(r.delivery_id, ids), c.signer, 0, message_id,
                         kCiphertextNone, std::nullopt, c.group_id, c.revision, now_ms);
    }
    return GroupWriteOutcome{now_ms, false, {}};
}

// As SqliteStore's: the messages of which the purge deletes envelopes and that no device of their
// recipient account acked, one per (sender, message, recipient account).
std::vector<std::pair<std::string, ExpiredRecord>> expired_messages(PgDb& db,
                                                                    std::int64_t cutoff_ms) {
    auto r = db.run(
        "SELECT m.from_username, COALESCE(p.message_id, m.message_id) AS mid, a.username,"
        " p.group_id, MIN(COALESCE(p.server_ts, m.server_ts))"
        " FROM mailbox m JOIN devices d ON d.id = m.device JOIN accounts a ON a.id = d.account_id"
        " LEFT JOIN payloads p ON p.id = m.payload"
        " WHERE m.server_ts < $1 AND m.expired_to IS NULL AND m.change_revision IS NULL"
        " AND a.username <> m.from_username"
        " GROUP BY m.from_username, mid, a.username, p.group_id"
        " HAVING MAX(m.account_copies) IS NULL OR COUNT(*) >= MAX(m.account_copies)",
        PgParams().add(cutoff_ms));
    std::vector<std::pair<std::string, ExpiredRecord>> out;
    for (int i = 0; i < r.rows(); ++i)
        out.emplace_back(r.text(i, 0),
                         ExpiredRecord{r.bytes(i, 1), r.text(i, 2), r.bytes(i, 3), r.int64(i, 4)});
    return out;
}

void queue_notices(PgDb& db, const std::string& sender, const ExpiredRecord& record,
                   std::int64_t now_ms, PostgresStore::IdBlocks& ids,
                   std::vector<QueuedNotice>& out) {
    auto account = account_row(db, sender);
    if (!account)
        return;
    std::vector<DeviceSlot> devices;
    add_active_rows(db, *account, sender, 0, devices);
    for (const auto& slot : devices) {
        const std::int64_t delivery_id = i64(ids.take());
        PgParams p;
        p.add(delivery_id)
            .add(slot.row)
            .add_bytes(record.message_id)
            .add(std::int64_t{kCiphertextNone})
            .add(now_ms);
        if (record.group_id.empty())
            p.add_null();
        else
            p.add_bytes(record.group_id);
        p.add(record.to_username).add(record.sent_at_ms);
        db.run("INSERT INTO mailbox (delivery_id, device, from_username, from_device, message_id,"
               " type, ciphertext, server_ts, group_id, expired_to, expired_sent_ts)"
               " VALUES ($1, $2, '', 0, $3, $4, ''::bytea, $5, $6, $7, $8)",
               p);
        StoredEnvelope e{static_cast<std::uint64_t>(delivery_id),
                         record.message_id,
                         {},
                         0,
                         kCiphertextNone,
                         {},
                         now_ms,
                         {},
                         std::nullopt,
                         record};
        out.push_back(QueuedNotice{sender, slot.address.second, std::move(e)});
    }
}

std::vector<std::pair<std::int64_t, PrekeyBundleRecord>>
active_bundles(PgDb& db, const std::string& username, std::int64_t account,
               std::span<const std::uint32_t> wanted) {
    auto r = db.run("SELECT id, device_id, registration_id, identity_key, signed_prekey_id,"
                    " signed_prekey, signed_prekey_signature, auth_key FROM devices"
                    " WHERE account_id = $1 AND removed_ms IS NULL ORDER BY device_id",
                    PgParams().add(account));
    std::vector<std::pair<std::int64_t, PrekeyBundleRecord>> out;
    for (int i = 0; i < r.rows(); ++i) {
        const auto device_id = static_cast<std::uint32_t>(r.int64(i, 1));
        if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), device_id) == wanted.end())
            continue;
        PrekeyBundleRecord bundle;
        bundle.device =
            DeviceRecord{username,      device_id,     static_cast<std::uint32_t>(r.int64(i, 2)),
                         r.bytes(i, 3), r.bytes(i, 7), false};
        bundle.signed_prekey = SignedPrekeyRecord{static_cast<std::uint32_t>(r.int64(i, 4)),
                                                  r.bytes(i, 5), r.bytes(i, 6)};
        out.emplace_back(r.int64(i, 0), std::move(bundle));
    }
    return out;
}

// Takes the device's lowest one-time prekey out of the store inside the writer's transaction.
std::optional<OneTimePrekeyRecord> take_one_time_prekey(PgDb& db, std::int64_t device) {
    auto r = db.run("DELETE FROM one_time_prekeys WHERE device = $1 AND prekey_id ="
                    " (SELECT MIN(prekey_id) FROM one_time_prekeys WHERE device = $1)"
                    " RETURNING prekey_id, public_key",
                    PgParams().add(device));
    if (r.rows() == 0)
        return std::nullopt;
    return OneTimePrekeyRecord{static_cast<std::uint32_t>(r.int64(0, 0)), r.bytes(0, 1)};
}

// A PostgreSQL array literal of texts, every element quoted (usernames and hex never hold a
// quote or a backslash, but they are escaped all the same).
std::string text_array(const std::vector<std::string>& values) {
    std::string out = "{";
    for (const auto& v : values) {
        if (out.size() > 1)
            out.push_back(',');
        out.push_back('"');
        for (char c : v) {
            if (c == '"' || c == '\\')
                out.push_back('\\');
            out.push_back(c);
        }
        out.push_back('"');
    }
    out.push_back('}');
    return out;
}

std::string int_array(const std::vector<std::int64_t>& values) {
    std::string out = "{";
    for (auto v : values) {
        if (out.size() > 1)
            out.push_back(',');
        out += std::to_string(v);
    }
    out.push_back('}');
    return out;
}

std::string hex(std::span<const std::uint8_t> bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (auto b : bytes) {
        out.push_back(kDigits[b >> 4]);
        out.push_back(kDigits[b & 15]);
    }
    return out;
}

// The 1:1 sends of one write_mailbox call, written together. Every 1:1 send costs a few round
// trips on its own (the send log, the recipient's devices, two inserts); here the send log
// entries of the whole batch are read in one query, accounts and their active devices once per
// account, and the new mailbox rows and send log entries go in one statement each (arrays
// unnested on the server). Inside the writer's transaction nothing else changes accounts or
// devices, so what was read stays true until the commit. Rows wait in memory until flush(),
// which runs before anything that reads mailbox rows (group writes) and at the end, so that
// every item still sees the earlier ones.
//
// Acknowledgements wait too, and go in one DELETE per flush: a batch where recipients ack
// what they were just pushed alternates sends and acks, and one round trip per ack made B2 on
// PostgreSQL eleven times slower than on SQLite (docs/scaling.md). Acks and sends commute,
// because a send's delivery ids are new: an ack can only name a row stored before, or a row
// of this very batch that still waits in memory, and that row is then simply not inserted
// (inserting and deleting it in one transaction leaves the same state). An id acked twice in
// one batch counts for the first ack only, as it would one statement at a time.
class SendBatch {
public:
    SendBatch(PgDb& db, PostgresStore::IdBlocks& ids)
        : m_db(db)
        , m_ids(ids) {}

    // Reads the send log entries the batch's 1:1 sends and group messages may repeat.
    void prefetch(std::span<const MailboxWrite> writes) {
        std::vector<std::string> names;
        std::vector<std::int64_t> devices;
        std::vector<std::string> ids;
        for (const auto& w : writes) {
            if (const auto* env = std::get_if<NewEnvelope>(&w.what)) {
                names.push_back(env->from_username);
                devices.push_back(env->from_device_id);
                ids.push_back(hex(env->message_id));
            }
        }
        if (names.empty())
            return;
        auto r = m_db.run(
            "SELECT s.from_username, s.from_device, s.message_id, s.digest,"
            " s.delivery_id, s.server_ts, s.unreachable FROM sends s"
            " JOIN unnest($1::text[], $2::bigint[], $3::text[]) AS k(u, d, m)"
            " ON s.from_username = k.u AND s.from_device = k.d"
            " AND s.message_id = decode(k.m, 'hex')",
            PgParams().add(text_array(names)).add(int_array(devices)).add(text_array(ids)));
        for (int i = 0; i < r.rows(); ++i)
            m_sends[key(r.text(i, 0), r.int64(i, 1), r.bytes(i, 2))] =
                SendRecord{r.bytes(i, 3), static_cast<std::uint64_t>(r.int64(i, 4)), r.int64(i, 5),
                           split_names(r.text(i, 6))};
    }

    Result<EnqueueOutcome> enqueue(const NewEnvelope& env, std::int64_t now_ms) {
        const std::int64_t from_device = env.from_device_id;
        const auto k = key(env.from_username, from_device, env.message_id);
        if (auto found = m_sends.find(k); found != m_sends.end()) {
            if (found->second.content_digest != env.content_digest)
                return make_error(Errc::already_exists, "the message id was used before");
            return EnqueueOutcome{{}, found->second.server_timestamp_ms, true};
        }
        auto rows = copy_rows(env);
        if (!rows)
            return rows.error();
        EnqueueOutcome outcome{{}, now_ms, false};
        for (std::size_t i = 0; i < env.copies.size(); ++i) {
            const auto& copy = env.copies[i];
            const auto same_account =
                std::count_if(env.copies.begin(), env.copies.end(),
                              [&](const auto& c) { return c.username == copy.username; });
            const std::int64_t delivery_id = take_delivery_id(copy.delivery_id, m_ids);
            m_mailbox.delivery_id.push_back(delivery_id);
            m_mailbox.device.push_back((*rows)[i]);
            m_mailbox.from_username.push_back(env.from_username);
            m_mailbox.from_device.push_back(from_device);
            m_mailbox.message_id.push_back(hex(env.message_id));
            m_mailbox.type.push_back(copy.type);
            m_mailbox.ciphertext.push_back(hex(copy.ciphertext));
            m_mailbox.server_ts.push_back(now_ms);
            m_mailbox.account_copies.push_back(same_account);
            m_mailbox.cancelled.push_back(false);
            m_pending_rows[{(*rows)[i], delivery_id}] = m_mailbox.delivery_id.size() - 1;
            outcome.delivery_ids.push_back(static_cast<std::uint64_t>(delivery_id));
        }
        m_sends_new.from_username.push_back(env.from_username);
        m_sends_new.from_device.push_back(from_device);
        m_sends_new.message_id.push_back(hex(env.message_id));
        m_sends_new.digest.push_back(hex(env.content_digest));
        m_sends_new.delivery_id.push_back(i64(outcome.delivery_ids.front()));
        m_sends_new.server_ts.push_back(now_ms);
        m_sends[k] = SendRecord{env.content_digest, outcome.delivery_ids.front(), now_ms, {}};
        return outcome;
    }

    // A group message stored by group_message_in: later sends in the batch must see its id.
    void remember_send(const NewGroupMessage& m, std::int64_t now_ms) {
        m_sends[key(m.from_username, m.from_device_id, m.message_id)] =
            SendRecord{m.content_digest, 0, now_ms, m.unreachable};
    }

    // An ack whose outcome (the number of rows it deleted) belongs at outcomes[index]; that
    // slot holds 0 until flush() adds what the database deleted for it.
    void ack(const MailboxAck& a, std::vector<MailboxWriteOutcome>& outcomes, std::size_t index) {
        const auto row = device(a.username, a.device_id);
        if (!row)
            return;
        auto& count = *std::get<1>(outcomes[index]);
        for (std::uint64_t id : a.delivery_ids) {
            const auto k = std::make_pair(*row, i64(id));
            if (auto pending = m_pending_rows.find(k); pending != m_pending_rows.end()) {
                m_mailbox.cancelled[pending->second] = true;
                m_pending_rows.erase(pending);
                ++count;
                continue;
            }
            if (!m_acked.insert(k).second)
                continue; // an earlier ack of this batch deletes it
            m_acks.device.push_back(*row);
            m_acks.delivery_id.push_back(i64(id));
            m_acks.index.push_back(static_cast<std::int64_t>(index));
        }
        m_outcomes = &outcomes;
    }

    void flush() {
        flush_sends();
        if (m_acks.device.empty())
            return;
        auto r = m_db.run("WITH k AS (SELECT * FROM unnest($1::bigint[], $2::bigint[],"
                          " $3::bigint[]) AS k(dev, id, i)),"
                          " d AS (DELETE FROM mailbox m USING k WHERE m.device = k.dev"
                          " AND m.delivery_id = k.id RETURNING k.i)"
                          " SELECT i, count(*) FROM d GROUP BY i",
                          PgParams()
                              .add(int_array(m_acks.device))
                              .add(int_array(m_acks.delivery_id))
                              .add(int_array(m_acks.index)));
        for (int i = 0; i < r.rows(); ++i)
            *std::get<1>((*m_outcomes)[static_cast<std::size_t>(r.int64(i, 0))]) +=
                static_cast<std::size_t>(r.int64(i, 1));
        m_acks = {};
        m_acked.clear();
    }

private:
    void flush_sends() {
        if (std::find(m_mailbox.cancelled.begin(), m_mailbox.cancelled.end(), true) !=
            m_mailbox.cancelled.end())
            drop_cancelled();
        m_pending_rows.clear();
        if (!m_mailbox.delivery_id.empty()) {
            m_db.run("INSERT INTO mailbox (delivery_id, device, from_username, from_device,"
                     " message_id, type, ciphertext, server_ts, account_copies)"
                     " SELECT d, v, u, f, decode(m, 'hex'), t, decode(c, 'hex'), s, a FROM"
                     " unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[],"
                     " $6::bigint[], $7::text[], $8::bigint[], $9::bigint[])"
                     " AS r(d, v, u, f, m, t, c, s, a)",
                     PgParams()
                         .add(int_array(m_mailbox.delivery_id))
                         .add(int_array(m_mailbox.device))
                         .add(text_array(m_mailbox.from_username))
                         .add(int_array(m_mailbox.from_device))
                         .add(text_array(m_mailbox.message_id))
                         .add(int_array(m_mailbox.type))
                         .add(text_array(m_mailbox.ciphertext))
                         .add(int_array(m_mailbox.server_ts))
                         .add(int_array(m_mailbox.account_copies)));
            m_mailbox = {};
        }
        if (!m_sends_new.from_username.empty()) {
            m_db.run("INSERT INTO sends (from_username, from_device, message_id, digest,"
                     " delivery_id, server_ts)"
                     " SELECT u, f, decode(m, 'hex'), decode(g, 'hex'), d, s FROM"
                     " unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[],"
                     " $6::bigint[]) AS r(u, f, m, g, d, s)",
                     PgParams()
                         .add(text_array(m_sends_new.from_username))
                         .add(int_array(m_sends_new.from_device))
                         .add(text_array(m_sends_new.message_id))
                         .add(text_array(m_sends_new.digest))
                         .add(int_array(m_sends_new.delivery_id))
                         .add(int_array(m_sends_new.server_ts)));
            m_sends_new = {};
        }
    }

    // Removes the rows an ack of this batch cancelled before they were inserted.
    void drop_cancelled() {
        auto& m = m_mailbox;
        std::size_t kept = 0;
        for (std::size_t i = 0; i < m.delivery_id.size(); ++i) {
            if (m.cancelled[i])
                continue;
            m.delivery_id[kept] = m.delivery_id[i];
            m.device[kept] = m.device[i];
            m.from_username[kept] = std::move(m.from_username[i]);
            m.from_device[kept] = m.from_device[i];
            m.message_id[kept] = std::move(m.message_id[i]);
            m.type[kept] = m.type[i];
            m.ciphertext[kept] = std::move(m.ciphertext[i]);
            m.server_ts[kept] = m.server_ts[i];
            m.account_copies[kept] = m.account_copies[i];
            ++kept;
        }
        for (auto* v :
             {&m.delivery_id, &m.device, &m.from_device, &m.type, &m.server_ts, &m.account_copies})
            v->resize(kept);
        for (auto* v : {&m.from_username, &m.message_id, &m.ciphertext})
            v->resize(kept);
        m.cancelled.assign(kept, false);
    }

public:
    // The row of an active device, from the cache; nullopt when it is not active.
    std::optional<std::int64_t> device(const std::string& username, std::uint32_t device_id) {
        const auto* slots = active(username);
        if (!slots)
            return std::nullopt;
        for (const auto& [id, row] : *slots)
            if (id == device_id)
                return row;
        return std::nullopt;
    }

private:
    using Slots = std::vector<std::pair<std::uint32_t, std::int64_t>>; // (device id, row)

    static std::string key(const std::string& from, std::int64_t device,
                           std::span<const std::uint8_t> message_id) {
        return from + '\n' + std::to_string(device) + '\n' + hex(message_id);
    }

    // The account's active devices by device id; nullptr: no such account.
    const Slots* active(const std::string& username) {
        auto found = m_active.find(username);
        if (found != m_active.end())
            return found->second ? &*found->second : nullptr;
        std::optional<Slots> slots;
        if (auto account = account_row(m_db, username)) {
            std::vector<DeviceSlot> out;
            add_active_rows(m_db, *account, username, 0, out);
            slots.emplace();
            for (const auto& s : out)
                slots->emplace_back(s.address.second, s.row);
        }
        auto& stored = m_active[username] = std::move(slots);
        return stored ? &*stored : nullptr;
    }

    // As copy_rows() above (the same rule, copy_rows_of), from the cache.
    Result<std::vector<std::int64_t>> copy_rows(const NewEnvelope& env) {
        if (!active(env.to_username))
            return make_error(Errc::not_found, "no such recipient");
        // The cache is read by name, so the account numbers copy_rows_of passes are not needed:
        // 0 stands for "the sender has an account", which active() then finds out.
        const ActiveRows cached = [&](std::int64_t, const std::string& username,
                                      std::uint32_t except, std::vector<DeviceSlot>& out) {
            if (const auto* slots = active(username))
                for (const auto& [id, row] : *slots)
                    if (id != except)
                        out.push_back(DeviceSlot{{username, id}, row});
        };
        auto rows =
            env.copies.empty()
                ? std::nullopt
                : copy_rows_of(env, 0, env.sync ? std::optional<std::int64_t>(0) : std::nullopt,
                               cached);
        if (!rows)
            return make_error(Errc::refused, "the copies do not match the devices");
        return std::move(*rows);
    }

    PgDb& m_db;
    PostgresStore::IdBlocks& m_ids;
    std::map<std::string, SendRecord> m_sends; // the send log as this batch sees it
    std::map<std::string, std::optional<Slots>> m_active;
    struct {
        std::vector<std::int64_t> delivery_id, device, from_device, type, server_ts, account_copies;
        std::vector<std::string> from_username, message_id, ciphertext;
        std::vector<bool> cancelled; // acked in this batch before it was inserted
    } m_mailbox;
    // (device row, delivery id) of each row waiting in m_mailbox, to its index there.
    std::map<std::pair<std::int64_t, std::int64_t>, std::size_t> m_pending_rows;
    struct {
        std::vector<std::int64_t> device, delivery_id, index;
    } m_acks; // waiting acks: each row to delete and the outcome slot it counts for
    std::set<std::pair<std::int64_t, std::int64_t>> m_acked; // the rows m_acks names
    std::vector<MailboxWriteOutcome>* m_outcomes = nullptr;
    struct {
        std::vector<std::int64_t> from_device, delivery_id, server_ts;
        std::vector<std::string> from_username, message_id, digest;
    } m_sends_new;
};

} // namespace

PostgresStore::PostgresStore(std::unique_ptr<PgDb> db, std::unique_ptr<PgDb> reader,
                             std::unique_ptr<IdBlocks> ids)
    : m_db(std::move(db))
    , m_reader(std::move(reader))
    , m_ids(std::move(ids)) {}

PostgresStore::~PostgresStore() = default;

Result<std::unique_ptr<PostgresStore>> PostgresStore::open(const std::string& conninfo,
                                                           Durability durability) {
    try {
        auto db = std::make_unique<PgDb>(conninfo);
        auto reader = std::make_unique<PgDb>(conninfo);
        auto id_db = std::make_unique<PgDb>(conninfo);
        if (durability == Durability::normal)
            db->set_session("SET synchronous_commit = off");
        // The allocator's commits are always synchronous: see IdBlocks::refill.
        id_db->set_session("SET synchronous_commit = on");
        std::unique_ptr<PostgresStore> store(new PostgresStore(
            std::move(db), std::move(reader), std::make_unique<IdBlocks>(std::move(id_db))));
        VEIL_TRY(store->migrate());
        return store;
    } catch (const std::exception& e) {
        return storage_error("opening the PostgreSQL database", e);
    }
}

Status PostgresStore::migrate() {
    auto& db = *m_db;
    // Under the writer lock: relays starting together on one database migrate once.
    PgTransaction tx(db);
    db.exec("CREATE TABLE IF NOT EXISTS veil_schema (version INTEGER NOT NULL)");
    auto r = db.run("SELECT version FROM veil_schema");
    const std::int64_t version = r.rows() > 0 ? r.int64(0, 0) : 0;
    if (version > kSchemaVersion)
        return make_error(Errc::database, "the database was written by a newer relay");
    if (version == kSchemaVersion)
        return {}; // the transaction rolls back: nothing was changed
    for (auto v = version; v < kSchemaVersion; ++v)
        for (const char* const* sql = kSteps[v].begin; sql != kSteps[v].end; ++sql)
            db.exec(*sql);
    db.exec("DELETE FROM veil_schema");
    db.run("INSERT INTO veil_schema (version) VALUES ($1)",
           PgParams().add(std::int64_t{kSchemaVersion}));
    tx.commit();
    log::info(kLog, version == 0
                        ? "created PostgreSQL schema version " + std::to_string(kSchemaVersion)
                        : "migrated the PostgreSQL schema from version " + std::to_string(version) +
                              " to " + std::to_string(kSchemaVersion));
    return {};
}

Status PostgresStore::create_account(const NewAccount& account, std::int64_t now_ms) {
    return write_transaction<PgTransaction>(
        m_mutex, *m_db, "creating an account", [&](PgDb& db) -> Status {
            if (account_row(db, account.username))
                return make_error(Errc::already_exists, "the username is taken");
            if (account.invite_required && !consume_invite(db, account.invite_code, now_ms))
                return make_error(Errc::refused, "the invite code is unknown or used");
            const std::int64_t account_id =
                db.query_int64("INSERT INTO accounts (username, created_ms, next_device_id)"
                               " VALUES ($1, $2, 2) RETURNING id",
                               PgParams().add(account.username).add(now_ms));
            const NewDevice first{account.device_key.empty() ? account.identity_key
                                                             : account.device_key,
                                  account.registration_id,
                                  account.signed_prekey,
                                  {},
                                  account.device_name};
            const auto device =
                insert_device(db, account_id, 1, account.identity_key, first, now_ms, now_ms);
            insert_prekeys(db, device, account.one_time_prekeys);
            return {};
        });
}

Result<std::optional<DeviceRecord>> PostgresStore::find_device(const std::string& username,
                                                               std::uint32_t device_id) {
    return locked_read(
        m_read_mutex, *m_reader, "looking up a device",
        [&](PgDb& db) -> Result<std::optional<DeviceRecord>> {
            auto r = db.run(
                "SELECT d.registration_id, d.identity_key, d.auth_key, d.removed_ms IS NOT NULL"
                " FROM devices d JOIN accounts a ON a.id = d.account_id"
                " WHERE a.username = $1 AND d.device_id = $2",
                PgParams().add(username).add(std::int64_t{device_id}));
            if (r.rows() == 0)
                return std::optional<DeviceRecord>{};
            return std::optional<DeviceRecord>(
                DeviceRecord{username, device_id, static_cast<std::uint32_t>(r.int64(0, 0)),
                             r.bytes(0, 1), r.bytes(0, 2), r.int64(0, 3) != 0});
        });
}

Result<std::optional<Bytes>> PostgresStore::find_identity_key(const std::string& username) {
    return locked_read(
        m_read_mutex, *m_reader, "looking up an identity key",
        [&](PgDb& db) -> Result<std::optional<Bytes>> {
            auto r =
                db.run("SELECT d.identity_key FROM devices d JOIN accounts a ON a.id = d.account_id"
                       " WHERE a.username = $1 ORDER BY d.device_id LIMIT 1",
                       PgParams().add(username));
            if (r.rows() == 0)
                return std::optional<Bytes>{};
            return std::optional<Bytes>(r.bytes(0, 0));
        });
}

Result<std::uint32_t> PostgresStore::add_device(const std::string& username,
                                                const NewDevice& device, std::int64_t now_ms) {
    return write_transaction<PgTransaction>(
        m_mutex, *m_db, "adding a device", [&](PgDb& db) -> Result<std::uint32_t> {
            auto a = db.run("SELECT id, next_device_id FROM accounts WHERE username = $1",
                            PgParams().add(username));
            if (a.rows() == 0)
                return make_error(Errc::not_found, "no such account");
            const std::int64_t account = a.int64(0, 0);
            const std::int64_t next_id = a.int64(0, 1);
            if (active_device_count(db, account) >= protocol::kMaxDevicesPerAccount)
                return make_error(Errc::refused, "the account has the most devices it may have");
            if (next_id <= 0 || next_id > std::int64_t{UINT32_MAX})
                return make_error(Errc::refused, "the account has used every device number");
            auto k = db.run("SELECT identity_key FROM devices WHERE account_id = $1"
                            " ORDER BY device_id LIMIT 1",
                            PgParams().add(account));
            if (k.rows() == 0)
                return make_error(Errc::not_found, "the account has no identity key");
            const auto device_id = static_cast<std::uint32_t>(next_id);
            const auto row =
                insert_device(db, account, device_id, k.bytes(0, 0), device, now_ms, 0);
            insert_prekeys(db, row, device.one_time_prekeys);
            db.run("UPDATE accounts SET next_device_id = $1 WHERE id = $2",
                   PgParams().add(next_id + 1).add(account));
            return device_id;
        });
}

Result<std::optional<std::vector<DeviceInfoRecord>>>
PostgresStore::list_devices(const std::string& username) {
    return locked_read(
        m_read_mutex, *m_reader, "listing devices",
        [&](PgDb& db) -> Result<std::optional<std::vector<DeviceInfoRecord>>> {
            auto account = account_row(db, username);
            if (!account)
                return std::optional<std::vector<DeviceInfoRecord>>{};
            auto r = db.run("SELECT device_id, registration_id, name, created_ms, last_seen_ms"
                            " FROM devices WHERE account_id = $1 AND removed_ms IS NULL"
                            " ORDER BY device_id",
                            PgParams().add(*account));
            std::vector<DeviceInfoRecord> out;
            for (int i = 0; i < r.rows(); ++i)
                out.push_back(DeviceInfoRecord{static_cast<std::uint32_t>(r.int64(i, 0)),
                                               static_cast<std::uint32_t>(r.int64(i, 1)),
                                               r.bytes(i, 2), r.int64(i, 3), r.int64(i, 4)});
            return std::optional<std::vector<DeviceInfoRecord>>(std::move(out));
        });
}

Status PostgresStore::remove_device(const std::string& username, std::uint32_t device_id,
                                    std::int64_t now_ms) {
    return write_transaction<PgTransaction>(
        m_mutex, *m_db, "removing a device", [&](PgDb& db) -> Status {
            auto account = account_row(db, username);
            auto device = device_row(db, username, device_id);
            if (!account || !device)
                return make_error(Errc::not_found, "no such device");
            if (active_device_count(db, *account) <= 1)
                return make_error(Errc::refused, "the last device of an account stays");
            db.run("UPDATE devices SET removed_ms = $1 WHERE id = $2",
                   PgParams().add(now_ms).add(*device));
            // The trigger frees group payloads whose last reference goes with the mailbox.
            db.run("DELETE FROM mailbox WHERE device = $1", PgParams().add(*device));
            db.run("DELETE FROM one_time_prekeys WHERE device = $1", PgParams().add(*device));
            return {};
        });
}

Status PostgresStore::touch_last_seen(std::span<const DeviceSeen> devices) {
    return write_transaction<PgTransaction>(
        m_mutex, *m_db, "recording when a device was seen", [&](PgDb& db) -> Status {
            for (const auto& d : devices)
                db.run("UPDATE devices SET last_seen_ms = $1 WHERE device_id = $2 AND"
                       " account_id = (SELECT id FROM accounts WHERE username = $3)",
                       PgParams().add(d.seen_ms).add(std::int64_t{d.device_id}).add(d.username));
            return {};
        });
}

Status PostgresStore::replace_signed_prekey(const std::string& username, std::uint32_t device_id,
                                            const SignedPrekeyRecord& prekey) {
    return write_transaction<PgTransaction>(
        m_mutex, *m_db, "replacing a signed prekey", [&](PgDb& db) -> Status {
            auto device = device_row(db, username, device_id);
            if (!device)
                return make_error(Errc::not_found, "no such device");
            db.run("UPDATE devices SET signed_prekey_id = $1, signed_prekey = $2,"
                   " signed_prekey_signature = $3 WHERE id = $4",
                   PgParams()
                       .add(std::int64_t{prekey.id})
                       .add_bytes(prekey.public_key)
                       .add_bytes(prekey.signature)
                       .add(*device));
            return {};
        });
}

Status PostgresStore::add_one_time_prekeys(const std::string& username, std::uint32_t device_id,
                                           std::span<const OneTimePrekeyRecord> prekeys) {
    return write_transaction<PgTransaction>(
        m_mutex, *m_db, "adding one-time prekeys", [&](PgDb& db) -> Status {
            auto device = device_row(db, username, device_id);
            if (!device)
                return make_error(Errc::not_found, "no such device");
            insert_prekeys(db, *device, prekeys);
            return {};
        });
}

Result<std::uint32_t> PostgresStore::count_one_time_prekeys(const std::string& username,
                                                            std::uint32_t device_id) {
    return locked_read(
        m_read_mutex, *m_reader, "counting one-time prekeys",
        [&](PgDb& db) -> Result<std::uint32_t> {
            return static_cast<std::uint32_t>(db.query_int64(
                "SELECT COUNT(*) FROM one_time_prekeys k JOIN devices d ON d.id = k.device"
                " JOIN accounts a ON a.id = d.account_id WHERE a.username = $1 AND d.device_id = "
                "$2",
                PgParams().add(username).add(std::int64_t{device_id})));
        });
}

Result<std::optional<std::vector<PrekeyBundleRecord>>>
PostgresStore::take_prekey_bundles(const std::string& username,
                                   std::span<const std::uint32_t> device_ids) {
    return write_transaction<PgTransaction>(
        m_mutex, *m_db, "handing out prekey bundles",
        [&](PgDb& db) -> Result<std::optional<std::vector<PrekeyBundleRecord>>> {
            auto account = account_row(db, username);
            if (!account)
                return std::optional<std::vector<PrekeyBundleRecord>>{};
            std::vector<PrekeyBundleRecord> bundles;
            for (auto& [row, bundle] : active_bundles(db, username, *account, device_ids)) {
                bundle.one_time_prekey = take_one_time_prekey(db, row);
                bundles.push_back(std::move(bundle));
            }
            return std::optional<std::vector<PrekeyBundleRecord>>(std::move(bundles));
        });
}

Result<EnqueueOutcome> PostgresStore::enqueue(const NewEnvelope& env, std::int64_t now_ms) {
    return write_transaction<PgTransaction>(m_mutex, *m_db, "storing an envelope",
                                            [&](PgDb& db) -> Result<EnqueueOutcome> {
                                                auto stored = enqueue_in(db, env, now_ms, *m_ids);
                                                return stored;
                                            });
}

Result<std::vector<StoredEnvelope>> PostgresStore::queued(const std::string& username,
                                                          std::uint32_t device_id,
                                                          std::uint64_t after_id,
                                                          std::size_t limit) {
    return locked_read(
        m_read_mutex, *m_reader, "reading a mailbox",
        [&](PgDb& db) -> Result<std::vector<StoredEnvelope>> {
            auto device = device_row(db, username, device_id);
            if (!device)
                return std::vector<StoredEnvelope>{};
            // Group messages take their content from the payload they reference, group changes
            // from the change log; 1:1 envelopes carry theirs in the row. The device is looked up
            // first and the order names it, so that a plan (a prepared statement soon gets a
            // generic one) can walk mailbox_by_device from after_id: a join on the username instead
            // read and sorted the whole mailbox for every page (144 ms a page at 50,000 rows).
            auto q = db.run(
                "SELECT m.delivery_id, m.message_id, m.from_username, m.from_device, m.type,"
                " m.ciphertext, m.server_ts, m.payload, p.message_id, p.ciphertext, p.group_id,"
                " m.group_id, m.change_revision, c.state, c.signer, c.signature, c.server_ts,"
                " m.expired_to, m.expired_sent_ts"
                " FROM mailbox m LEFT JOIN payloads p ON p.id = m.payload"
                " LEFT JOIN group_changes c ON c.group_id = m.group_id"
                " AND c.revision = m.change_revision"
                " WHERE m.device = $1 AND m.delivery_id > $2"
                " ORDER BY m.device, m.delivery_id LIMIT $3",
                PgParams()
                    .add(*device)
                    .add(i64(std::min<std::uint64_t>(after_id, INT64_MAX)))
                    .add(static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX))));
            std::vector<StoredEnvelope> out;
            out.reserve(static_cast<std::size_t>(q.rows()));
            for (int i = 0; i < q.rows(); ++i) {
                StoredEnvelope e{static_cast<std::uint64_t>(q.int64(i, 0)),
                                 q.bytes(i, 1),
                                 q.text(i, 2),
                                 static_cast<std::uint32_t>(q.int64(i, 3)),
                                 static_cast<std::uint32_t>(q.int64(i, 4)),
                                 q.bytes(i, 5),
                                 q.int64(i, 6),
                                 {},
                                 std::nullopt,
                                 std::nullopt};
                if (!q.is_null(i, 17)) {
                    e.expired =
                        ExpiredRecord{e.message_id, q.text(i, 17), q.bytes(i, 11), q.int64(i, 18)};
                } else if (q.int64(i, 7) != 0) {
                    e.message_id = q.bytes(i, 8);
                    e.ciphertext = q.bytes(i, 9);
                    e.group_id = q.bytes(i, 10);
                } else if (q.int64(i, 12) != 0) {
                    e.group_id = q.bytes(i, 11);
                    e.change = GroupChangeRecord{
                        e.group_id,     static_cast<std::uint64_t>(q.int64(i, 12)),
                        q.bytes(i, 13), q.text(i, 14),
                        q.bytes(i, 15), q.int64(i, 16)};
                }
                out.push_back(std::move(e));
            }
            return out;
        });
}

Result<std::size_t> PostgresStore::ack(const std::string& username, std::uint32_t device_id,
                                       std::span<const std::uint64_t> delivery_ids) {
    return write_transaction<PgTransaction>(
        m_mutex, *m_db, "deleting acknowledged envelopes", [&](PgDb& db) -> Result<std::size_t> {
            const std::size_t deleted = ack_in(db, username, device_id, delivery_ids);
            return deleted;
        });
}

Result<std::vector<MailboxWriteOutcome>>
PostgresStore::write_mailbox(std::span<const MailboxWrite> writes) {
    return write_transaction<PgTransaction>(
        m_mutex, *m_db, "writing a batch of mailbox changes",
        [&](PgDb& db) -> Result<std::vector<MailboxWriteOutcome>> {
            SendBatch batch(db, *m_ids);
            batch.prefetch(writes);
            std::vector<MailboxWriteOutcome> outcomes;
            outcomes.reserve(writes.size());
            for (const auto& write : writes) {
                // A refused item has written nothing before it refused (every check comes before
                // the first insert), so the items after it see no trace of it.
                if (const auto* env = std::get_if<NewEnvelope>(&write.what)) {
                    outcomes.emplace_back(std::in_place_index<0>,
                                          batch.enqueue(*env, write.now_ms));
                    continue;
                }
                if (const auto* a = std::get_if<MailboxAck>(&write.what)) {
                    outcomes.emplace_back(std::in_place_index<1>, std::size_t{0});
                    batch.ack(*a, outcomes, outcomes.size() - 1);
                    continue;
                }
                batch.flush(); // what follows reads mailbox rows and sends
                if (const auto* m = std::get_if<NewGroupMessage>(&write.what)) {
                    auto stored = group_message_in(db, *m, write.now_ms, *m_ids);
                    if (stored && !stored->duplicate)
                        batch.remember_send(*m, write.now_ms);
                    outcomes.emplace_back(std::in_place_index<2>, std::move(stored));
                } else {
                    outcomes.emplace_back(std::in_place_index<2>,
                                          group_change_in(db, std::get<NewGroupChange>(write.what),
                                                          write.now_ms, *m_ids));
                }
            }
            batch.flush();
            return outcomes;
        });
}

std::uint64_t PostgresStore::allocate_delivery_id() {
    return m_ids->take_or_zero();
}

Result<std::optional<SendRecord>>
PostgresStore::find_send(const std::string& from_username, std::uint32_t from_device_id,
                         std::span<const std::uint8_t> message_id) {
    return locked_read(m_read_mutex, *m_reader, "looking up a send",
                       [&](PgDb& db) -> Result<std::optional<SendRecord>> {
                           return lookup_send(db, from_username, std::int64_t{from_device_id},
                                              message_id);
                       });
}

Result<PurgeOutcome> PostgresStore::purge_before(std::int64_t cutoff_ms, std::int64_t now_ms) {
    return write_transaction<PgTransaction>(
        m_mutex, *m_db, "purging expired envelopes", [&](PgDb& db) -> Result<PurgeOutcome> {
            // Read before the delete, while the payloads that group rows reference still exist.
            auto expired = expired_messages(db, cutoff_ms);
            PurgeOutcome outcome;
            outcome.deleted = static_cast<std::size_t>(
                db.run("DELETE FROM mailbox WHERE server_ts < $1", PgParams().add(cutoff_ms))
                    .affected());
            db.run("DELETE FROM payloads WHERE server_ts < $1"
                   " AND NOT EXISTS (SELECT 1 FROM mailbox WHERE payload = payloads.id)",
                   PgParams().add(cutoff_ms));
            db.run("DELETE FROM sends WHERE server_ts < $1", PgParams().add(cutoff_ms));
            for (const auto& [sender, record] : expired)
                queue_notices(db, sender, record, now_ms, *m_ids, outcome.notices);
            return outcome;
        });
}

Status PostgresStore::create_invite(const std::string& code, std::int64_t now_ms) {
    return write_transaction<PgTransaction>(
        m_mutex, *m_db, "creating an invite", [&](PgDb& db) -> Status {
            auto inserted = db.run("INSERT INTO invites (code, created_ms) VALUES ($1, $2)"
                                   " ON CONFLICT DO NOTHING",
                                   PgParams().add(code).add(now_ms));
            if (inserted.affected() != 1)
                return make_error(Errc::already_exists, "the invite code exists already");
            return {};
        });
}

Result<SqliteStore::DeletedAccount> PostgresStore::delete_account(const std::string& username) {
    return write_transaction<PgTransaction>(
        m_mutex, *m_db, "deleting an account",
        [&](PgDb& db) -> Result<SqliteStore::DeletedAccount> {
            auto account = account_row(db, username);
            if (!account)
                return make_error(Errc::not_found, "no account is named '" + username + "'");
            SqliteStore::DeletedAccount out;
            out.devices = static_cast<std::size_t>(db.query_int64(
                "SELECT COUNT(*) FROM devices WHERE account_id = $1", PgParams().add(*account)));
            // The trigger frees group payloads whose last reference goes with the mailbox.
            out.queued =
                static_cast<std::size_t>(db.run("DELETE FROM mailbox WHERE device IN"
                                                " (SELECT id FROM devices WHERE account_id = $1)",
                                                PgParams().add(*account))
                                             .affected());
            db.run("DELETE FROM one_time_prekeys WHERE device IN"
                   " (SELECT id FROM devices WHERE account_id = $1)",
                   PgParams().add(*account));
            db.run("DELETE FROM devices WHERE account_id = $1", PgParams().add(*account));
            db.run("DELETE FROM sends WHERE from_username = $1", PgParams().add(username));
            db.run("DELETE FROM accounts WHERE id = $1", PgParams().add(*account));
            return out;
        });
}

Result<std::optional<GroupRecord>>
PostgresStore::find_group(std::span<const std::uint8_t> group_id) {
    return locked_read(
        m_read_mutex, *m_reader, "reading a group",
        [&](PgDb& db) -> Result<std::optional<GroupRecord>> {
            auto r = db.run("SELECT revision, state, state_hash FROM groups WHERE group_id = $1",
                            PgParams().add_bytes(group_id));
            if (r.rows() == 0)
                return std::optional<GroupRecord>{};
            return std::optional<GroupRecord>(GroupRecord{Bytes(group_id.begin(), group_id.end()),
                                                          static_cast<std::uint64_t>(r.int64(0, 0)),
                                                          r.bytes(0, 1), r.bytes(0, 2)});
        });
}

Result<std::optional<GroupMembership>>
PostgresStore::find_group_member(std::span<const std::uint8_t> group_id,
                                 const std::string& username) {
    return locked_read(m_read_mutex, *m_reader, "reading a group member",
                       [&](PgDb& db) -> Result<std::optional<GroupMembership>> {
                           auto r = db.run("SELECT admin, current, left_revision FROM group_members"
                                           " WHERE group_id = $1 AND username = $2",
                                           PgParams().add_bytes(group_id).add(username));
                           if (r.rows() == 0)
                               return std::optional<GroupMembership>{};
                           return std::optional<GroupMembership>(
                               GroupMembership{r.int64(0, 0) != 0, r.int64(0, 1) != 0,
                                               static_cast<std::uint64_t>(r.int64(0, 2))});
                       });
}

Result<std::vector<GroupChangeRecord>>
PostgresStore::group_changes(std::span<const std::uint8_t> group_id, std::uint64_t after_revision,
                             std::uint64_t up_to_revision, std::size_t limit) {
    return locked_read(
        m_read_mutex, *m_reader, "reading group changes",
        [&](PgDb& db) -> Result<std::vector<GroupChangeRecord>> {
            auto r = db.run(
                "SELECT revision, state, signer, signature, server_ts FROM group_changes"
                " WHERE group_id = $1 AND revision > $2 AND revision <= $3 ORDER BY revision LIMIT "
                "$4",
                PgParams()
                    .add_bytes(group_id)
                    .add(i64(std::min<std::uint64_t>(after_revision, INT64_MAX)))
                    .add(i64(std::min<std::uint64_t>(up_to_revision, INT64_MAX)))
                    .add(static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX))));
            std::vector<GroupChangeRecord> out;
            for (int i = 0; i < r.rows(); ++i)
                out.push_back(GroupChangeRecord{Bytes(group_id.begin(), group_id.end()),
                                                static_cast<std::uint64_t>(r.int64(i, 0)),
                                                r.bytes(i, 1), r.text(i, 2), r.bytes(i, 3),
                                                r.int64(i, 4)});
            return out;
        });
}

Result<std::vector<DeviceAddress>>
PostgresStore::devices_of(std::span<const std::string> usernames) {
    return locked_read(
        m_read_mutex, *m_reader, "listing devices",
        [&](PgDb& db) -> Result<std::vector<DeviceAddress>> {
            std::vector<std::string> sorted(usernames.begin(), usernames.end());
            std::sort(sorted.begin(), sorted.end());
            std::vector<DeviceAddress> out;
            for (const auto& name : sorted) {
                auto r = db.run(
                    "SELECT d.device_id FROM devices d JOIN accounts a ON a.id = d.account_id"
                    " WHERE a.username = $1 AND d.removed_ms IS NULL ORDER BY d.device_id",
                    PgParams().add(name));
                for (int i = 0; i < r.rows(); ++i)
                    out.push_back(DeviceAddress{name, static_cast<std::uint32_t>(r.int64(i, 0))});
            }
            return out;
        });
}

} // namespace veil::relay
