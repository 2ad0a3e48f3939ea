#include "core/sqlite_store.h"

#include "core/sqlite_db.h"
#include "core/store_bracket.h"
#include "core/store_rules.h"
#include "protocol/limits.h"
#include "util/log.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <filesystem>
#include <map>
#include <stdexcept>

namespace veil::relay {
namespace {

constexpr std::string_view kLog = "relay.store";

// wire::CIPHERTEXT_NONE: a Deliver that carries a group change and no ciphertext.
constexpr std::uint32_t kCiphertextNone = 4;

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

// Schema version 2: groups. A group message is stored once, in payloads, and each recipient
// device's mailbox row references it with an empty ciphertext of its own; a group change is kept
// in group_changes and referenced the same way by (group_id, change_revision). The trigger frees
// a payload with the last mailbox row that references it, whether an ack or a purge deleted it.
// Former members keep their group_members row (current = 0) so that they may fetch the changes
// up to their removal.
constexpr const char* kSchemaV2[] = {
    "CREATE TABLE groups (group_id BLOB PRIMARY KEY, revision INTEGER NOT NULL,"
    " state BLOB NOT NULL, state_hash BLOB NOT NULL) WITHOUT ROWID",
    "CREATE TABLE group_members (group_id BLOB NOT NULL, username TEXT NOT NULL,"
    " admin INTEGER NOT NULL, current INTEGER NOT NULL, left_revision INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (group_id, username)) WITHOUT ROWID",
    "CREATE INDEX group_members_by_username ON group_members (username)",
    "CREATE TABLE group_changes (group_id BLOB NOT NULL, revision INTEGER NOT NULL,"
    " state BLOB NOT NULL, signer TEXT NOT NULL, signature BLOB NOT NULL,"
    " server_ts INTEGER NOT NULL, PRIMARY KEY (group_id, revision)) WITHOUT ROWID",
    "CREATE TABLE payloads (id INTEGER PRIMARY KEY, group_id BLOB NOT NULL,"
    " from_username TEXT NOT NULL, from_device INTEGER NOT NULL, message_id BLOB NOT NULL,"
    " type INTEGER NOT NULL, ciphertext BLOB NOT NULL, server_ts INTEGER NOT NULL)",
    "ALTER TABLE mailbox ADD COLUMN payload INTEGER REFERENCES payloads(id)",
    "ALTER TABLE mailbox ADD COLUMN group_id BLOB",
    "ALTER TABLE mailbox ADD COLUMN change_revision INTEGER",
    "CREATE INDEX mailbox_by_payload ON mailbox (payload) WHERE payload IS NOT NULL",
    "CREATE TRIGGER mailbox_release_payload AFTER DELETE ON mailbox"
    " WHEN OLD.payload IS NOT NULL BEGIN"
    " DELETE FROM payloads WHERE id = OLD.payload"
    " AND NOT EXISTS (SELECT 1 FROM mailbox WHERE payload = OLD.payload); END",
    "ALTER TABLE sends ADD COLUMN unreachable TEXT",
};

// Schema version 3: several devices per account. Every device authenticates with a key of its
// own (auth_key; older devices used the identity key, which the migration copies); a removed
// device keeps its row with removed_ms set, so that its number is never given out again
// (accounts.next_device_id only grows), while its prekeys and mailbox go. name is sealed by the
// clients.
constexpr const char* kSchemaV3[] = {
    "ALTER TABLE devices ADD COLUMN auth_key BLOB NOT NULL DEFAULT x''",
    "UPDATE devices SET auth_key = identity_key",
    "ALTER TABLE devices ADD COLUMN name BLOB NOT NULL DEFAULT x''",
    "ALTER TABLE devices ADD COLUMN last_seen_ms INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE devices ADD COLUMN removed_ms INTEGER",
    "ALTER TABLE accounts ADD COLUMN next_device_id INTEGER NOT NULL DEFAULT 2",
    ("UPDATE accounts SET next_device_id = (SELECT COALESCE(MAX(device_id), 0) + 1 FROM devices"
     " WHERE devices.account_id = accounts.id)"),
};

// Schema version 4: expiry notices (wire ExpiredNotice). A notice is a mailbox row of type
// CIPHERTEXT_NONE with expired_to set (the recipient whose mailbox the message expired in),
// message_id and group_id of the expired message, and expired_sent_ts its original server time.
// account_copies, on the rows of a message, counts the rows it was given for the same recipient
// account: when fewer remain at the purge, one of that account's devices acked it, and the
// message was delivered after all (NULL on rows older than version 4: unknown).
constexpr const char* kSchemaV4[] = {
    "ALTER TABLE mailbox ADD COLUMN expired_to TEXT",
    "ALTER TABLE mailbox ADD COLUMN expired_sent_ts INTEGER",
    "ALTER TABLE mailbox ADD COLUMN account_copies INTEGER",
};

// The row id of (username, device_id) in devices, or nullopt; removed devices count as absent:
// nothing is stored for them any more.
std::optional<std::int64_t> device_row(SqliteDb& db, const std::string& username,
                                       std::uint32_t device_id) {
    StatementUse q(db.statement("SELECT d.id FROM devices d JOIN accounts a ON a.id = d.account_id"
                                " WHERE a.username = ? AND d.device_id = ?"
                                " AND d.removed_ms IS NULL"));
    q->bind(1, username).bind(2, std::int64_t{device_id});
    if (!q->step())
        return std::nullopt;
    return q->column_int64(0);
}

std::optional<std::int64_t> account_row(SqliteDb& db, const std::string& username) {
    StatementUse q(db.statement("SELECT id FROM accounts WHERE username = ?"));
    q->bind(1, username);
    if (!q->step())
        return std::nullopt;
    return q->column_int64(0);
}

// The active device ids of an account, ascending.
std::vector<std::uint32_t> active_devices(SqliteDb& db, std::int64_t account) {
    StatementUse q(db.statement("SELECT device_id FROM devices WHERE account_id = ?"
                                " AND removed_ms IS NULL ORDER BY device_id"));
    q->bind(1, account);
    std::vector<std::uint32_t> out;
    while (q->step())
        out.push_back(static_cast<std::uint32_t>(q->column_int64(0)));
    return out;
}

// last_seen_ms: now for a device registering on its connection, 0 for one never connected yet.
void insert_device(SqliteDb& db, std::int64_t account, std::uint32_t device_id,
                   const Bytes& identity_key, const NewDevice& d, std::int64_t now_ms,
                   std::int64_t last_seen_ms) {
    auto& insert = db.statement(
        "INSERT INTO devices (account_id, device_id, registration_id, identity_key,"
        " signed_prekey_id, signed_prekey, signed_prekey_signature, created_ms, auth_key, name,"
        " last_seen_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    insert.bind(1, account)
        .bind(2, std::int64_t{device_id})
        .bind(3, std::int64_t{d.registration_id})
        .bind_blob(4, identity_key)
        .bind(5, std::int64_t{d.signed_prekey.id})
        .bind_blob(6, d.signed_prekey.public_key)
        .bind_blob(7, d.signed_prekey.signature)
        .bind(8, now_ms)
        .bind_blob(9, d.auth_key)
        .bind_blob(10, d.name)
        .bind(11, last_seen_ms);
    insert.run();
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

// The send log's entry for (sender, sender device, message id), on db (the writer inside a
// transaction, or the reader).
std::optional<SendRecord> lookup_send(SqliteDb& db, const std::string& from_username,
                                      std::int64_t from_device,
                                      std::span<const std::uint8_t> message_id) {
    StatementUse q(db.statement("SELECT digest, delivery_id, server_ts, unreachable FROM sends"
                                " WHERE from_username = ? AND from_device = ? AND message_id = ?"));
    q->bind(1, from_username).bind(2, from_device).bind_blob(3, message_id);
    if (!q->step())
        return std::nullopt;
    return SendRecord{q->column_blob(0), static_cast<std::uint64_t>(q->column_int64(1)),
                      q->column_int64(2), split_names(q->column_text(3))};
}

// The active devices of an account with their rows, by device id.
void add_active_rows(SqliteDb& db, std::int64_t account, const std::string& username,
                     std::uint32_t except, std::vector<DeviceSlot>& out) {
    StatementUse q(db.statement("SELECT device_id, id FROM devices WHERE account_id = ?"
                                " AND removed_ms IS NULL ORDER BY device_id"));
    q->bind(1, account);
    while (q->step()) {
        const auto id = static_cast<std::uint32_t>(q->column_int64(0));
        if (id != except)
            out.push_back(DeviceSlot{{username, id}, q->column_int64(1)});
    }
}

// The device rows of env's copies, in the copies' order, when they address exactly the devices
// they must (NewEnvelope); nullopt otherwise. Read inside the writer's transaction, so that no
// device added or removed since the caller's check slips through.
std::optional<std::vector<std::int64_t>> copy_rows(SqliteDb& db, const NewEnvelope& env,
                                                   std::int64_t to_account) {
    const auto from = env.sync ? account_row(db, env.from_username) : std::nullopt;
    return copy_rows_of(
        env, to_account, from,
        [&](std::int64_t account, const std::string& username, std::uint32_t except,
            std::vector<DeviceSlot>& out) { add_active_rows(db, account, username, except, out); });
}

// The body of enqueue, inside the caller's transaction. A refusal writes nothing; storage
// failures throw.
Result<EnqueueOutcome> enqueue_in(SqliteDb& db, const NewEnvelope& env, std::int64_t now_ms,
                                  std::atomic<std::int64_t>& next_delivery_id) {
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

    auto& insert = db.statement("INSERT INTO mailbox (delivery_id, device, from_username,"
                                " from_device, message_id, type, ciphertext, server_ts,"
                                " account_copies) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    EnqueueOutcome outcome{{}, now_ms, false};
    for (std::size_t i = 0; i < env.copies.size(); ++i) {
        const auto& copy = env.copies[i];
        const auto same_account =
            std::count_if(env.copies.begin(), env.copies.end(),
                          [&](const auto& c) { return c.username == copy.username; });
        const std::int64_t delivery_id = copy.delivery_id != 0
                                             ? static_cast<std::int64_t>(copy.delivery_id)
                                             : next_delivery_id.fetch_add(1);
        insert.bind(1, delivery_id)
            .bind(2, (*rows)[i])
            .bind(3, env.from_username)
            .bind(4, from_device)
            .bind_blob(5, env.message_id)
            .bind(6, std::int64_t{copy.type})
            .bind_blob(7, copy.ciphertext)
            .bind(8, now_ms)
            .bind(9, static_cast<std::int64_t>(same_account));
        insert.run();
        outcome.delivery_ids.push_back(static_cast<std::uint64_t>(delivery_id));
    }
    auto& log_send = db.statement("INSERT INTO sends (from_username, from_device, message_id,"
                                  " digest, delivery_id, server_ts) VALUES (?, ?, ?, ?, ?, ?)");
    log_send.bind(1, env.from_username)
        .bind(2, from_device)
        .bind_blob(3, env.message_id)
        .bind_blob(4, env.content_digest)
        .bind(5, static_cast<std::int64_t>(outcome.delivery_ids.front()))
        .bind(6, now_ms);
    log_send.run();
    return outcome;
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

// The current revision of a group inside the writer's transaction, or nullopt.
std::optional<std::uint64_t> group_revision(SqliteDb& db, std::span<const std::uint8_t> group_id) {
    StatementUse q(db.statement("SELECT revision FROM groups WHERE group_id = ?"));
    q->bind_blob(1, group_id);
    if (!q->step())
        return std::nullopt;
    return static_cast<std::uint64_t>(q->column_int64(0));
}

// Inserts one mailbox row referencing a payload or a group change (ciphertext stays empty).
void insert_group_row(SqliteDb& db, std::int64_t device, std::int64_t delivery_id,
                      const std::string& from, std::int64_t from_device, const Bytes& message_id,
                      std::uint32_t type, std::optional<std::int64_t> payload,
                      const Bytes& group_id, std::uint64_t change_revision, std::int64_t now_ms,
                      std::int64_t account_copies = 0) {
    auto& insert = db.statement(
        "INSERT INTO mailbox (delivery_id, device, from_username, from_device, message_id, type,"
        " ciphertext, server_ts, payload, group_id, change_revision, account_copies)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    insert.bind(1, delivery_id)
        .bind(2, device)
        .bind(3, from)
        .bind(4, from_device)
        .bind_blob(5, message_id)
        .bind(6, std::int64_t{type})
        .bind_blob(7, Bytes{})
        .bind(8, now_ms);
    if (payload) {
        insert.bind(9, *payload);
        insert.bind(12, account_copies);
    } else {
        insert.bind_blob(10, group_id);
        insert.bind(11, static_cast<std::int64_t>(change_revision));
    }
    insert.run();
}

std::int64_t take_delivery_id(std::uint64_t preset, std::atomic<std::int64_t>& next) {
    return preset != 0 ? static_cast<std::int64_t>(preset) : next.fetch_add(1);
}

// The body of a group message write, inside the caller's transaction.
Result<GroupWriteOutcome> group_message_in(SqliteDb& db, const NewGroupMessage& m,
                                           std::int64_t now_ms,
                                           std::atomic<std::int64_t>& next_delivery_id) {
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
        StatementUse q(db.statement("SELECT current FROM group_members"
                                    " WHERE group_id = ? AND username = ?"));
        q->bind_blob(1, m.group_id).bind(2, m.from_username);
        if (!q->step() || q->column_int64(0) == 0)
            return make_error(Errc::refused, "the sender is not a member of the group");
    }
    if (*revision != m.revision)
        return make_error(Errc::invalid_argument, "the group is at another revision");

    if (!m.recipients.empty()) {
        auto& payload = db.statement(
            "INSERT INTO payloads (group_id, from_username, from_device, message_id, type,"
            " ciphertext, server_ts) VALUES (?, ?, ?, ?, ?, ?, ?)");
        payload.bind_blob(1, m.group_id)
            .bind(2, m.from_username)
            .bind(3, from_device)
            .bind_blob(4, m.message_id)
            .bind(5, std::int64_t{m.type})
            .bind_blob(6, m.ciphertext)
            .bind(7, now_ms);
        payload.run();
        const std::int64_t payload_id = db.last_insert_rowid();
        std::map<std::string, std::int64_t> per_account;
        for (const auto& r : m.recipients)
            ++per_account[r.username];
        for (const auto& r : m.recipients) {
            auto device = device_row(db, r.username, r.device_id);
            if (!device)
                continue; // accounts and devices are never deleted; the caller read them
            insert_group_row(db, *device, take_delivery_id(r.delivery_id, next_delivery_id),
                             m.from_username, from_device, Bytes{}, m.type, payload_id, {}, 0,
                             now_ms, per_account[r.username]);
        }
    }
    auto& log_send = db.statement("INSERT INTO sends (from_username, from_device, message_id,"
                                  " digest, delivery_id, server_ts, unreachable)"
                                  " VALUES (?, ?, ?, ?, 0, ?, ?)");
    log_send.bind(1, m.from_username)
        .bind(2, from_device)
        .bind_blob(3, m.message_id)
        .bind_blob(4, m.content_digest)
        .bind(5, now_ms)
        .bind(6, join_names(m.unreachable));
    log_send.run();
    return GroupWriteOutcome{now_ms, false, m.unreachable};
}

// The body of a group change write, inside the caller's transaction.
Result<GroupWriteOutcome> group_change_in(SqliteDb& db, const NewGroupChange& g,
                                          std::int64_t now_ms,
                                          std::atomic<std::int64_t>& next_delivery_id) {
    const auto& c = g.change;
    {
        // The same change again (a retry) is answered as before; another one at a revision
        // that is taken is stale, or a conflict at revision 1.
        StatementUse q(db.statement("SELECT state, signer, signature, server_ts FROM"
                                    " group_changes WHERE group_id = ? AND revision = ?"));
        q->bind_blob(1, c.group_id).bind(2, static_cast<std::int64_t>(c.revision));
        if (q->step()) {
            if (q->column_blob(0) == c.state && q->column_text(1) == c.signer &&
                q->column_blob(2) == c.signature)
                return GroupWriteOutcome{q->column_int64(3), true, {}};
            if (c.revision == 1)
                return make_error(Errc::already_exists, "the group exists already");
            return make_error(Errc::invalid_argument, "the group is at another revision");
        }
    }
    auto revision = group_revision(db, c.group_id);
    if (revision.value_or(0) != g.previous_revision)
        return make_error(g.previous_revision == 0 ? Errc::already_exists : Errc::invalid_argument,
                          "the group is at another revision");

    const auto rev = static_cast<std::int64_t>(c.revision);
    if (g.previous_revision == 0) {
        auto& insert = db.statement(
            "INSERT INTO groups (group_id, revision, state, state_hash) VALUES (?, ?, ?, ?)");
        insert.bind_blob(1, c.group_id)
            .bind(2, rev)
            .bind_blob(3, c.state)
            .bind_blob(4, g.state_hash);
        insert.run();
    } else {
        auto& update = db.statement(
            "UPDATE groups SET revision = ?, state = ?, state_hash = ? WHERE group_id = ?");
        update.bind(1, rev)
            .bind_blob(2, c.state)
            .bind_blob(3, g.state_hash)
            .bind_blob(4, c.group_id);
        update.run();
    }
    // Everyone current becomes former at this revision, then the new state's members are
    // (again) current.
    auto& retire = db.statement("UPDATE group_members SET current = 0, left_revision = ?"
                                " WHERE group_id = ? AND current = 1");
    retire.bind(1, rev).bind_blob(2, c.group_id);
    retire.run();
    auto& member =
        db.statement("INSERT INTO group_members (group_id, username, admin, current, left_revision)"
                     " VALUES (?, ?, ?, 1, 0) ON CONFLICT (group_id, username) DO UPDATE SET"
                     " admin = excluded.admin, current = 1, left_revision = 0");
    for (const auto& [username, admin] : g.members) {
        member.bind_blob(1, c.group_id).bind(2, username).bind(3, std::int64_t{admin ? 1 : 0});
        member.run();
    }
    auto& log_change =
        db.statement("INSERT INTO group_changes (group_id, revision, state, signer, signature,"
                     " server_ts) VALUES (?, ?, ?, ?, ?, ?)");
    log_change.bind_blob(1, c.group_id)
        .bind(2, rev)
        .bind_blob(3, c.state)
        .bind(4, c.signer)
        .bind_blob(5, c.signature)
        .bind(6, now_ms);
    log_change.run();

    Bytes message_id(8);
    for (int i = 0; i < 8; ++i)
        message_id[static_cast<std::size_t>(i)] =
            static_cast<std::uint8_t>(c.revision >> (8 * (7 - i)));
    for (const auto& r : g.recipients) {
        auto device = device_row(db, r.username, r.device_id);
        if (!device)
            continue;
        insert_group_row(db, *device, take_delivery_id(r.delivery_id, next_delivery_id), c.signer,
                         0, message_id, kCiphertextNone, std::nullopt, c.group_id, c.revision,
                         now_ms);
    }
    return GroupWriteOutcome{now_ms, false, {}};
}

// The messages of which the purge at cutoff_ms deletes envelopes and that no device of their
// recipient account acked: one per (sender, message, recipient account), with the sender. A group
// message's rows share its payload, which holds its id and group. Envelopes to the sender's own
// account, group changes and notices are left out: nobody is told about those.
std::vector<std::pair<std::string, ExpiredRecord>> expired_messages(SqliteDb& db,
                                                                    std::int64_t cutoff_ms) {
    StatementUse q(db.statement(
        "SELECT m.from_username, COALESCE(p.message_id, m.message_id) AS mid, a.username,"
        " p.group_id, MIN(COALESCE(p.server_ts, m.server_ts))"
        " FROM mailbox m JOIN devices d ON d.id = m.device JOIN accounts a ON a.id = d.account_id"
        " LEFT JOIN payloads p ON p.id = m.payload"
        " WHERE m.server_ts < ? AND m.expired_to IS NULL AND m.change_revision IS NULL"
        " AND a.username <> m.from_username"
        " GROUP BY m.from_username, mid, a.username, p.group_id"
        " HAVING MAX(m.account_copies) IS NULL OR COUNT(*) >= MAX(m.account_copies)"));
    q->bind(1, cutoff_ms);
    std::vector<std::pair<std::string, ExpiredRecord>> out;
    while (q->step())
        out.emplace_back(q->column_text(0), ExpiredRecord{q->column_blob(1), q->column_text(2),
                                                          q->column_blob(3), q->column_int64(4)});
    return out;
}

// Queues one notice about record into the mailbox of every active device of sender.
void queue_notices(SqliteDb& db, const std::string& sender, const ExpiredRecord& record,
                   std::int64_t now_ms, std::atomic<std::int64_t>& next_delivery_id,
                   std::vector<QueuedNotice>& out) {
    auto account = account_row(db, sender);
    if (!account)
        return;
    std::vector<DeviceSlot> devices;
    add_active_rows(db, *account, sender, 0, devices);
    auto& insert = db.statement(
        "INSERT INTO mailbox (delivery_id, device, from_username, from_device, message_id, type,"
        " ciphertext, server_ts, group_id, expired_to, expired_sent_ts)"
        " VALUES (?, ?, '', 0, ?, ?, x'', ?, ?, ?, ?)");
    for (const auto& slot : devices) {
        const std::int64_t delivery_id = next_delivery_id.fetch_add(1);
        insert.bind(1, delivery_id)
            .bind(2, slot.row)
            .bind_blob(3, record.message_id)
            .bind(4, std::int64_t{kCiphertextNone})
            .bind(5, now_ms);
        if (!record.group_id.empty())
            insert.bind_blob(6, record.group_id);
        insert.bind(7, record.to_username).bind(8, record.sent_at_ms);
        insert.run();
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

// The bundles of an account's active devices (the named ones, or all when wanted is empty),
// without one-time prekeys, by device id; each with its row in devices.
std::vector<std::pair<std::int64_t, PrekeyBundleRecord>>
active_bundles(SqliteDb& db, const std::string& username, std::int64_t account,
               std::span<const std::uint32_t> wanted) {
    StatementUse q(db.statement(
        "SELECT id, device_id, registration_id, identity_key, signed_prekey_id, signed_prekey,"
        " signed_prekey_signature, auth_key FROM devices"
        " WHERE account_id = ? AND removed_ms IS NULL ORDER BY device_id"));
    q->bind(1, account);
    std::vector<std::pair<std::int64_t, PrekeyBundleRecord>> out;
    while (q->step()) {
        const auto device_id = static_cast<std::uint32_t>(q->column_int64(1));
        if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), device_id) == wanted.end())
            continue;
        PrekeyBundleRecord bundle;
        bundle.device = DeviceRecord{
            username,          device_id,         static_cast<std::uint32_t>(q->column_int64(2)),
            q->column_blob(3), q->column_blob(7), false};
        bundle.signed_prekey = SignedPrekeyRecord{static_cast<std::uint32_t>(q->column_int64(4)),
                                                  q->column_blob(5), q->column_blob(6)};
        out.emplace_back(q->column_int64(0), std::move(bundle));
    }
    return out;
}

// Takes the device's lowest one-time prekey out of the store, inside the writer's transaction,
// so that it is handed out once; nullopt when none is left.
std::optional<OneTimePrekeyRecord> take_one_time_prekey(SqliteDb& db, std::int64_t device) {
    std::optional<OneTimePrekeyRecord> taken;
    {
        StatementUse q(db.statement("SELECT prekey_id, public_key FROM one_time_prekeys"
                                    " WHERE device = ? ORDER BY prekey_id LIMIT 1"));
        q->bind(1, device);
        if (q->step())
            taken = OneTimePrekeyRecord{static_cast<std::uint32_t>(q->column_int64(0)),
                                        q->column_blob(1)};
    }
    if (taken) {
        auto& remove =
            db.statement("DELETE FROM one_time_prekeys WHERE device = ? AND prekey_id = ?");
        remove.bind(1, device).bind(2, std::int64_t{taken->id});
        remove.run();
    }
    return taken;
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
        return storage_error("opening the database", e);
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
    if (version < kSchemaVersion) {
        // Older files are migrated in place: every table and row they hold stays.
        SqliteTransaction tx(db);
        if (version < 1)
            for (const char* sql : kSchemaV1)
                db.exec(sql);
        if (version < 2)
            for (const char* sql : kSchemaV2)
                db.exec(sql);
        if (version < 3)
            for (const char* sql : kSchemaV3)
                db.exec(sql);
        for (const char* sql : kSchemaV4)
            db.exec(sql);
        db.exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str());
        tx.commit();
        log::info(kLog, version == 0
                            ? "created schema version " + std::to_string(kSchemaVersion)
                            : "migrated the schema from version " + std::to_string(version) +
                                  " to " + std::to_string(kSchemaVersion));
    }
    // AUTOINCREMENT's counter covers every id ever committed, deleted rows included. Ids of a
    // batch that was pushed and then rolled back just before a crash are not in it, so a
    // reopened store starts a fresh block well above it.
    if (version > 0)
        m_next_delivery_id.store(db.query_int64("SELECT COALESCE(MAX(seq), 0) + 1"
                                                " FROM sqlite_sequence WHERE name = 'mailbox'") +
                                 kDeliveryIdRestartGap);
    return {};
}

Status SqliteStore::create_account(const NewAccount& account, std::int64_t now_ms) {
    return write_transaction<SqliteTransaction>(
        m_mutex, *m_db, "creating an account", [&](SqliteDb& db) -> Status {
            {
                StatementUse q(db.statement("SELECT id FROM accounts WHERE username = ?"));
                q->bind(1, account.username);
                if (q->step())
                    return make_error(Errc::already_exists, "the username is taken");
            }
            if (account.invite_required && !consume_invite(db, account.invite_code, now_ms))
                return make_error(Errc::refused, "the invite code is unknown or used");

            auto& insert_account = db.statement(
                "INSERT INTO accounts (username, created_ms, next_device_id) VALUES (?, ?, 2)");
            insert_account.bind(1, account.username).bind(2, now_ms);
            insert_account.run();
            const std::int64_t account_row = db.last_insert_rowid();
            const NewDevice first{account.device_key.empty() ? account.identity_key
                                                             : account.device_key,
                                  account.registration_id,
                                  account.signed_prekey,
                                  {},
                                  account.device_name};
            insert_device(db, account_row, 1, account.identity_key, first, now_ms, now_ms);
            insert_prekeys(db, db.last_insert_rowid(), account.one_time_prekeys);
            return {};
        });
}

Result<std::optional<DeviceRecord>> SqliteStore::find_device(const std::string& username,
                                                             std::uint32_t device_id) {
    return locked_read(
        m_read_mutex, *m_reader, "looking up a device",
        [&](SqliteDb& db) -> Result<std::optional<DeviceRecord>> {
            StatementUse q(db.statement(
                "SELECT d.registration_id, d.identity_key, d.auth_key, d.removed_ms IS NOT NULL"
                " FROM devices d JOIN accounts a ON a.id = d.account_id"
                " WHERE a.username = ? AND d.device_id = ?"));
            q->bind(1, username).bind(2, std::int64_t{device_id});
            if (!q->step())
                return std::optional<DeviceRecord>{};
            return std::optional<DeviceRecord>(
                DeviceRecord{username, device_id, static_cast<std::uint32_t>(q->column_int64(0)),
                             q->column_blob(1), q->column_blob(2), q->column_int64(3) != 0});
        });
}

Result<std::optional<Bytes>> SqliteStore::find_identity_key(const std::string& username) {
    return locked_read(
        m_read_mutex, *m_reader, "looking up an identity key",
        [&](SqliteDb& db) -> Result<std::optional<Bytes>> {
            // Every device row holds the account's identity key, removed ones included.
            StatementUse q(db.statement(
                "SELECT d.identity_key FROM devices d JOIN accounts a ON a.id = d.account_id"
                " WHERE a.username = ? ORDER BY d.device_id LIMIT 1"));
            q->bind(1, username);
            if (!q->step())
                return std::optional<Bytes>{};
            return std::optional<Bytes>(q->column_blob(0));
        });
}

Result<std::uint32_t> SqliteStore::add_device(const std::string& username, const NewDevice& device,
                                              std::int64_t now_ms) {
    return write_transaction<SqliteTransaction>(
        m_mutex, *m_db, "adding a device", [&](SqliteDb& db) -> Result<std::uint32_t> {
            std::int64_t account = 0;
            std::int64_t next_id = 0;
            {
                StatementUse q(db.statement("SELECT id, next_device_id FROM accounts"
                                            " WHERE username = ?"));
                q->bind(1, username);
                if (!q->step())
                    return make_error(Errc::not_found, "no such account");
                account = q->column_int64(0);
                next_id = q->column_int64(1);
            }
            if (active_devices(db, account).size() >= protocol::kMaxDevicesPerAccount)
                return make_error(Errc::refused, "the account has the most devices it may have");
            if (next_id <= 0 || next_id > std::int64_t{UINT32_MAX})
                return make_error(Errc::refused, "the account has used every device number");
            Bytes identity_key;
            {
                StatementUse q(db.statement("SELECT identity_key FROM devices WHERE account_id = ?"
                                            " ORDER BY device_id LIMIT 1"));
                q->bind(1, account);
                if (!q->step())
                    return make_error(Errc::not_found, "the account has no identity key");
                identity_key = q->column_blob(0);
            }
            const auto device_id = static_cast<std::uint32_t>(next_id);
            insert_device(db, account, device_id, identity_key, device, now_ms, 0);
            insert_prekeys(db, db.last_insert_rowid(), device.one_time_prekeys);
            auto& bump = db.statement("UPDATE accounts SET next_device_id = ? WHERE id = ?");
            bump.bind(1, next_id + 1).bind(2, account);
            bump.run();
            return device_id;
        });
}

Result<std::optional<std::vector<DeviceInfoRecord>>>
SqliteStore::list_devices(const std::string& username) {
    return locked_read(
        m_read_mutex, *m_reader, "listing devices",
        [&](SqliteDb& db) -> Result<std::optional<std::vector<DeviceInfoRecord>>> {
            auto account = account_row(db, username);
            if (!account)
                return std::optional<std::vector<DeviceInfoRecord>>{};
            StatementUse q(db.statement(
                "SELECT device_id, registration_id, name, created_ms, last_seen_ms FROM devices"
                " WHERE account_id = ? AND removed_ms IS NULL ORDER BY device_id"));
            q->bind(1, *account);
            std::vector<DeviceInfoRecord> out;
            while (q->step())
                out.push_back(DeviceInfoRecord{static_cast<std::uint32_t>(q->column_int64(0)),
                                               static_cast<std::uint32_t>(q->column_int64(1)),
                                               q->column_blob(2), q->column_int64(3),
                                               q->column_int64(4)});
            return std::optional<std::vector<DeviceInfoRecord>>(std::move(out));
        });
}

Status SqliteStore::remove_device(const std::string& username, std::uint32_t device_id,
                                  std::int64_t now_ms) {
    return write_transaction<SqliteTransaction>(
        m_mutex, *m_db, "removing a device", [&](SqliteDb& db) -> Status {
            auto account = account_row(db, username);
            auto device = device_row(db, username, device_id);
            if (!account || !device)
                return make_error(Errc::not_found, "no such device");
            if (active_devices(db, *account).size() <= 1)
                return make_error(Errc::refused, "the last device of an account stays");
            auto& mark = db.statement("UPDATE devices SET removed_ms = ? WHERE id = ?");
            mark.bind(1, now_ms).bind(2, *device);
            mark.run();
            // The trigger frees group payloads whose last reference goes with the mailbox.
            auto& mailbox = db.statement("DELETE FROM mailbox WHERE device = ?");
            mailbox.bind(1, *device);
            mailbox.run();
            auto& prekeys = db.statement("DELETE FROM one_time_prekeys WHERE device = ?");
            prekeys.bind(1, *device);
            prekeys.run();
            return {};
        });
}

Status SqliteStore::touch_last_seen(std::span<const DeviceSeen> devices) {
    return write_transaction<SqliteTransaction>(
        m_mutex, *m_db, "recording when a device was seen", [&](SqliteDb& db) -> Status {
            auto& update =
                db.statement("UPDATE devices SET last_seen_ms = ? WHERE device_id = ? AND"
                             " account_id = (SELECT id FROM accounts WHERE username = ?)");
            for (const auto& d : devices) {
                update.bind(1, d.seen_ms).bind(2, std::int64_t{d.device_id}).bind(3, d.username);
                update.run();
            }
            return {};
        });
}

Status SqliteStore::replace_signed_prekey(const std::string& username, std::uint32_t device_id,
                                          const SignedPrekeyRecord& prekey) {
    return write_transaction<SqliteTransaction>(
        m_mutex, *m_db, "replacing a signed prekey", [&](SqliteDb& db) -> Status {
            auto device = device_row(db, username, device_id);
            if (!device)
                return make_error(Errc::not_found, "no such device");
            auto& update =
                db.statement("UPDATE devices SET signed_prekey_id = ?, signed_prekey = ?,"
                             " signed_prekey_signature = ? WHERE id = ?");
            update.bind(1, std::int64_t{prekey.id})
                .bind_blob(2, prekey.public_key)
                .bind_blob(3, prekey.signature)
                .bind(4, *device);
            update.run();
            return {};
        });
}

Status SqliteStore::add_one_time_prekeys(const std::string& username, std::uint32_t device_id,
                                         std::span<const OneTimePrekeyRecord> prekeys) {
    return write_transaction<SqliteTransaction>(
        m_mutex, *m_db, "adding one-time prekeys", [&](SqliteDb& db) -> Status {
            auto device = device_row(db, username, device_id);
            if (!device)
                return make_error(Errc::not_found, "no such device");
            insert_prekeys(db, *device, prekeys);
            return {};
        });
}

Result<std::uint32_t> SqliteStore::count_one_time_prekeys(const std::string& username,
                                                          std::uint32_t device_id) {
    return locked_read(
        m_read_mutex, *m_reader, "counting one-time prekeys",
        [&](SqliteDb& db) -> Result<std::uint32_t> {
            StatementUse q(db.statement(
                "SELECT COUNT(*) FROM one_time_prekeys k JOIN devices d ON d.id = k.device"
                " JOIN accounts a ON a.id = d.account_id WHERE a.username = ? AND d.device_id = "
                "?"));
            q->bind(1, username).bind(2, std::int64_t{device_id});
            if (!q->step())
                return 0u;
            return static_cast<std::uint32_t>(q->column_int64(0));
        });
}

Result<std::optional<std::vector<PrekeyBundleRecord>>>
SqliteStore::take_prekey_bundles(const std::string& username,
                                 std::span<const std::uint32_t> device_ids) {
    return write_transaction<SqliteTransaction>(
        m_mutex, *m_db, "handing out prekey bundles",
        [&](SqliteDb& db) -> Result<std::optional<std::vector<PrekeyBundleRecord>>> {
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

Result<EnqueueOutcome> SqliteStore::enqueue(const NewEnvelope& env, std::int64_t now_ms) {
    return write_transaction<SqliteTransaction>(
        m_mutex, *m_db, "storing an envelope", [&](SqliteDb& db) -> Result<EnqueueOutcome> {
            auto stored = enqueue_in(db, env, now_ms, m_next_delivery_id);
            return stored;
        });
}

Result<std::vector<StoredEnvelope>> SqliteStore::queued(const std::string& username,
                                                        std::uint32_t device_id,
                                                        std::uint64_t after_id, std::size_t limit) {
    return locked_read(
        m_read_mutex, *m_reader, "reading a mailbox",
        [&](SqliteDb& db) -> Result<std::vector<StoredEnvelope>> {
            auto device = device_row(db, username, device_id);
            if (!device)
                return std::vector<StoredEnvelope>{};
            // Group messages take their content from the payload they reference, group changes
            // from the change log; 1:1 envelopes carry theirs in the row.
            StatementUse q(db.statement(
                "SELECT m.delivery_id, m.message_id, m.from_username, m.from_device, m.type,"
                " m.ciphertext, m.server_ts, m.payload, p.message_id, p.ciphertext, p.group_id,"
                " m.group_id, m.change_revision, c.state, c.signer, c.signature, c.server_ts,"
                " m.expired_to, m.expired_sent_ts"
                " FROM mailbox m LEFT JOIN payloads p ON p.id = m.payload"
                " LEFT JOIN group_changes c ON c.group_id = m.group_id"
                " AND c.revision = m.change_revision"
                " WHERE m.device = ? AND m.delivery_id > ? ORDER BY m.delivery_id LIMIT ?"));
            q->bind(1, *device)
                .bind(2, static_cast<std::int64_t>(after_id))
                .bind(3, static_cast<std::int64_t>(limit));
            std::vector<StoredEnvelope> out;
            while (q->step()) {
                StoredEnvelope e{static_cast<std::uint64_t>(q->column_int64(0)),
                                 q->column_blob(1),
                                 q->column_text(2),
                                 static_cast<std::uint32_t>(q->column_int64(3)),
                                 static_cast<std::uint32_t>(q->column_int64(4)),
                                 q->column_blob(5),
                                 q->column_int64(6),
                                 {},
                                 std::nullopt,
                                 std::nullopt};
                if (!q->column_is_null(17)) {
                    e.expired = ExpiredRecord{e.message_id, q->column_text(17), q->column_blob(11),
                                              q->column_int64(18)};
                } else if (q->column_int64(7) != 0) {
                    e.message_id = q->column_blob(8);
                    e.ciphertext = q->column_blob(9);
                    e.group_id = q->column_blob(10);
                } else if (q->column_int64(12) != 0) {
                    e.group_id = q->column_blob(11);
                    e.change = GroupChangeRecord{
                        e.group_id,         static_cast<std::uint64_t>(q->column_int64(12)),
                        q->column_blob(13), q->column_text(14),
                        q->column_blob(15), q->column_int64(16)};
                }
                out.push_back(std::move(e));
            }
            return out;
        });
}

Result<std::size_t> SqliteStore::ack(const std::string& username, std::uint32_t device_id,
                                     std::span<const std::uint64_t> delivery_ids) {
    return write_transaction<SqliteTransaction>(m_mutex, *m_db, "deleting acknowledged envelopes",
                                                [&](SqliteDb& db) -> Result<std::size_t> {
                                                    const std::size_t deleted = ack_in(
                                                        db, username, device_id, delivery_ids);
                                                    return deleted;
                                                });
}

Result<std::vector<MailboxWriteOutcome>>
SqliteStore::write_mailbox(std::span<const MailboxWrite> writes) {
    return write_transaction<SqliteTransaction>(
        m_mutex, *m_db, "writing a batch of mailbox changes",
        [&](SqliteDb& db) -> Result<std::vector<MailboxWriteOutcome>> {
            std::vector<MailboxWriteOutcome> outcomes;
            outcomes.reserve(writes.size());
            for (const auto& write : writes) {
                if (const auto* env = std::get_if<NewEnvelope>(&write.what)) {
                    outcomes.emplace_back(std::in_place_index<0>,
                                          enqueue_in(db, *env, write.now_ms, m_next_delivery_id));
                } else if (const auto* a = std::get_if<MailboxAck>(&write.what)) {
                    outcomes.emplace_back(std::in_place_index<1>,
                                          ack_in(db, a->username, a->device_id, a->delivery_ids));
                } else if (const auto* m = std::get_if<NewGroupMessage>(&write.what)) {
                    outcomes.emplace_back(
                        std::in_place_index<2>,
                        group_message_in(db, *m, write.now_ms, m_next_delivery_id));
                } else {
                    outcomes.emplace_back(std::in_place_index<2>,
                                          group_change_in(db, std::get<NewGroupChange>(write.what),
                                                          write.now_ms, m_next_delivery_id));
                }
            }
            return outcomes;
        });
}

std::uint64_t SqliteStore::allocate_delivery_id() {
    return static_cast<std::uint64_t>(m_next_delivery_id.fetch_add(1));
}

Result<std::optional<SendRecord>> SqliteStore::find_send(const std::string& from_username,
                                                         std::uint32_t from_device_id,
                                                         std::span<const std::uint8_t> message_id) {
    return locked_read(m_read_mutex, *m_reader, "looking up a send",
                       [&](SqliteDb& db) -> Result<std::optional<SendRecord>> {
                           return lookup_send(db, from_username, std::int64_t{from_device_id},
                                              message_id);
                       });
}

Result<PurgeOutcome> SqliteStore::purge_before(std::int64_t cutoff_ms, std::int64_t now_ms) {
    return write_transaction<SqliteTransaction>(
        m_mutex, *m_db, "purging expired envelopes", [&](SqliteDb& db) -> Result<PurgeOutcome> {
            // Read before the delete, while the payloads that group rows reference still exist.
            auto expired = expired_messages(db, cutoff_ms);
            auto& purge_mailbox = db.statement("DELETE FROM mailbox WHERE server_ts < ?");
            purge_mailbox.bind(1, cutoff_ms);
            purge_mailbox.run();
            PurgeOutcome outcome;
            outcome.deleted = static_cast<std::size_t>(db.changes());
            // The trigger frees payloads with their last mailbox row; a payload no row references
            // (a write interrupted by a crash cannot leave one, but an older relay might) goes too.
            auto& purge_payloads =
                db.statement("DELETE FROM payloads WHERE server_ts < ?"
                             " AND NOT EXISTS (SELECT 1 FROM mailbox WHERE payload = payloads.id)");
            purge_payloads.bind(1, cutoff_ms);
            purge_payloads.run();
            auto& purge_sends = db.statement("DELETE FROM sends WHERE server_ts < ?");
            purge_sends.bind(1, cutoff_ms);
            purge_sends.run();
            for (const auto& [sender, record] : expired)
                queue_notices(db, sender, record, now_ms, m_next_delivery_id, outcome.notices);
            return outcome;
        });
}

Status SqliteStore::create_invite(const std::string& code, std::int64_t now_ms) {
    return write_transaction<SqliteTransaction>(
        m_mutex, *m_db, "creating an invite", [&](SqliteDb& db) -> Status {
            auto& insert =
                db.statement("INSERT OR IGNORE INTO invites (code, created_ms) VALUES (?, ?)");
            insert.bind(1, code).bind(2, now_ms);
            insert.run();
            if (db.changes() != 1)
                return make_error(Errc::already_exists, "the invite code exists already");
            return {};
        });
}

Result<SqliteStore::DeletedAccount> SqliteStore::delete_account(const std::string& username) {
    return write_transaction<SqliteTransaction>(
        m_mutex, *m_db, "deleting an account",
        [&](SqliteDb& db) -> Result<SqliteStore::DeletedAccount> {
            auto account = account_row(db, username);
            if (!account)
                return make_error(Errc::not_found, "no account is named '" + username + "'");
            DeletedAccount out;
            {
                StatementUse q(db.statement("SELECT count(*) FROM devices WHERE account_id = ?"));
                q->bind(1, *account);
                if (q->step())
                    out.devices = static_cast<std::size_t>(q->column_int64(0));
            }
            // The trigger frees group payloads whose last reference goes with the mailbox.
            auto& mailbox = db.statement("DELETE FROM mailbox WHERE device IN (SELECT id FROM "
                                         "devices WHERE account_id = ?)");
            mailbox.bind(1, *account);
            mailbox.run();
            out.queued = static_cast<std::size_t>(db.changes());
            auto& prekeys = db.statement("DELETE FROM one_time_prekeys WHERE device IN (SELECT id "
                                         "FROM devices WHERE account_id = ?)");
            prekeys.bind(1, *account);
            prekeys.run();
            auto& devices = db.statement("DELETE FROM devices WHERE account_id = ?");
            devices.bind(1, *account);
            devices.run();
            auto& sends = db.statement("DELETE FROM sends WHERE from_username = ?");
            sends.bind(1, username);
            sends.run();
            auto& accounts = db.statement("DELETE FROM accounts WHERE id = ?");
            accounts.bind(1, *account);
            accounts.run();
            return out;
        });
}

} // namespace veil::relay

namespace veil::relay {

Result<std::optional<GroupRecord>> SqliteStore::find_group(std::span<const std::uint8_t> group_id) {
    return locked_read(
        m_read_mutex, *m_reader, "reading a group",
        [&](SqliteDb& db) -> Result<std::optional<GroupRecord>> {
            StatementUse q(
                db.statement("SELECT revision, state, state_hash FROM groups WHERE group_id = ?"));
            q->bind_blob(1, group_id);
            if (!q->step())
                return std::optional<GroupRecord>{};
            return std::optional<GroupRecord>(
                GroupRecord{Bytes(group_id.begin(), group_id.end()),
                            static_cast<std::uint64_t>(q->column_int64(0)), q->column_blob(1),
                            q->column_blob(2)});
        });
}

Result<std::optional<GroupMembership>>
SqliteStore::find_group_member(std::span<const std::uint8_t> group_id,
                               const std::string& username) {
    return locked_read(m_read_mutex, *m_reader, "reading a group member",
                       [&](SqliteDb& db) -> Result<std::optional<GroupMembership>> {
                           StatementUse q(
                               db.statement("SELECT admin, current, left_revision FROM"
                                            " group_members WHERE group_id = ? AND username = ?"));
                           q->bind_blob(1, group_id).bind(2, username);
                           if (!q->step())
                               return std::optional<GroupMembership>{};
                           return std::optional<GroupMembership>(
                               GroupMembership{q->column_int64(0) != 0, q->column_int64(1) != 0,
                                               static_cast<std::uint64_t>(q->column_int64(2))});
                       });
}

Result<std::vector<GroupChangeRecord>>
SqliteStore::group_changes(std::span<const std::uint8_t> group_id, std::uint64_t after_revision,
                           std::uint64_t up_to_revision, std::size_t limit) {
    return locked_read(
        m_read_mutex, *m_reader, "reading group changes",
        [&](SqliteDb& db) -> Result<std::vector<GroupChangeRecord>> {
            StatementUse q(db.statement(
                "SELECT revision, state, signer, signature, server_ts FROM group_changes"
                " WHERE group_id = ? AND revision > ? AND revision <= ? ORDER BY revision LIMIT "
                "?"));
            q->bind_blob(1, group_id)
                .bind(2,
                      static_cast<std::int64_t>(std::min<std::uint64_t>(after_revision, INT64_MAX)))
                .bind(3,
                      static_cast<std::int64_t>(std::min<std::uint64_t>(up_to_revision, INT64_MAX)))
                .bind(4, static_cast<std::int64_t>(limit));
            std::vector<GroupChangeRecord> out;
            while (q->step())
                out.push_back(GroupChangeRecord{Bytes(group_id.begin(), group_id.end()),
                                                static_cast<std::uint64_t>(q->column_int64(0)),
                                                q->column_blob(1), q->column_text(2),
                                                q->column_blob(3), q->column_int64(4)});
            return out;
        });
}

Result<std::vector<DeviceAddress>> SqliteStore::devices_of(std::span<const std::string> usernames) {
    return locked_read(
        m_read_mutex, *m_reader, "listing devices",
        [&](SqliteDb& db) -> Result<std::vector<DeviceAddress>> {
            StatementUse q(db.statement(
                "SELECT d.device_id FROM devices d JOIN accounts a ON a.id = d.account_id"
                " WHERE a.username = ? AND d.removed_ms IS NULL ORDER BY d.device_id"));
            std::vector<std::string> sorted(usernames.begin(), usernames.end());
            std::sort(sorted.begin(), sorted.end());
            std::vector<DeviceAddress> out;
            for (const auto& name : sorted) {
                q->bind(1, name);
                while (q->step())
                    out.push_back(
                        DeviceAddress{name, static_cast<std::uint32_t>(q->column_int64(0))});
                q->reset();
            }
            return out;
        });
}

} // namespace veil::relay
