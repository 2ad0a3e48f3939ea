// AccountStore as libsignal's session, prekey, signed prekey, identity and sender key stores. Each
// method is one statement, so each works the same inside the caller's Transaction (the engine wraps
// a whole decrypt in one) or on its own.
#include "store/account_store.h"
#include "store/account_store_impl.h"
#include "util/crash_point.h"

#include <algorithm>

namespace veil::store {

namespace {

Result<std::optional<SecretBytes>> load_record(Database& db, const char* sql, std::uint32_t id) {
    auto stmt = db.prepare(sql);
    if (!stmt)
        return stmt.error();
    auto row = stmt->bind(1, static_cast<std::int64_t>(id)).step();
    if (!row)
        return row.error();
    if (!row.value())
        return std::optional<SecretBytes>();
    return std::optional<SecretBytes>(stmt->column_secret(0));
}

Status store_record(Database& db, const char* sql, std::uint32_t id,
                    std::span<const std::uint8_t> record) {
    auto stmt = db.prepare(sql);
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, static_cast<std::int64_t>(id)).bind_blob(2, record).run();
}

Result<bool> contains_record(Database& db, const char* sql, std::uint32_t id) {
    auto stmt = db.prepare(sql);
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, static_cast<std::int64_t>(id)).step();
}

Status remove_record(Database& db, const char* sql, std::uint32_t id) {
    auto stmt = db.prepare(sql);
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, static_cast<std::int64_t>(id)).run();
}

} // namespace

// Sessions

Result<std::optional<crypto::SessionRecordBytes>>
AccountStore::load_session(const crypto::ProtocolAddress& a) {
    auto stmt = m_impl->db.prepare(
        "SELECT record, user_record FROM sessions WHERE name = ?1 AND device_id = ?2");
    if (!stmt)
        return stmt.error();
    auto row = stmt->bind(1, a.name).bind(2, a.device_id).step();
    if (!row)
        return row.error();
    if (!row.value())
        return std::optional<crypto::SessionRecordBytes>();
    crypto::SessionRecordBytes record{stmt->column_blob(0), stmt->column_blob(1)};
    return std::optional<crypto::SessionRecordBytes>(std::move(record));
}

Result<std::vector<std::int32_t>> AccountStore::session_devices(const std::string& name) {
    auto stmt =
        m_impl->db.prepare("SELECT device_id FROM sessions WHERE name = ?1 ORDER BY device_id");
    if (!stmt)
        return stmt.error();
    stmt->bind(1, name);
    std::vector<std::int32_t> devices;
    for (;;) {
        auto row = stmt->step();
        if (!row)
            return row.error();
        if (!row.value())
            return devices;
        devices.push_back(static_cast<std::int32_t>(stmt->column_int64(0)));
    }
}

Status AccountStore::store_session(const crypto::ProtocolAddress& a,
                                   std::span<const std::uint8_t> record,
                                   std::span<const std::uint8_t> user_record) {
    auto stmt = m_impl->db.prepare("INSERT OR REPLACE INTO sessions (name, device_id, record, "
                                   "user_record) VALUES (?1, ?2, ?3, ?4)");
    if (!stmt)
        return stmt.error();
    VEIL_TRY(stmt->bind(1, a.name)
                 .bind(2, a.device_id)
                 .bind_blob(3, record)
                 .bind_blob(4, user_record)
                 .run());
    crash::point("store.session_stored");
    return {};
}

Result<bool> AccountStore::contains_session(const crypto::ProtocolAddress& a) {
    auto stmt = m_impl->db.prepare("SELECT 1 FROM sessions WHERE name = ?1 AND device_id = ?2");
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, a.name).bind(2, a.device_id).step();
}

Status AccountStore::delete_session(const crypto::ProtocolAddress& a) {
    auto stmt = m_impl->db.prepare("DELETE FROM sessions WHERE name = ?1 AND device_id = ?2");
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, a.name).bind(2, a.device_id).run();
}

Status AccountStore::delete_all_sessions(const std::string& name) {
    auto stmt = m_impl->db.prepare("DELETE FROM sessions WHERE name = ?1");
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, name).run();
}

// One-time and signed prekeys

Result<std::optional<SecretBytes>> AccountStore::load_prekey(std::uint32_t id) {
    return load_record(m_impl->db, "SELECT record FROM prekeys WHERE id = ?1", id);
}

Status AccountStore::store_prekey(std::uint32_t id, std::span<const std::uint8_t> record) {
    return store_record(m_impl->db, "INSERT OR REPLACE INTO prekeys (id, record) VALUES (?1, ?2)",
                        id, record);
}

Result<bool> AccountStore::contains_prekey(std::uint32_t id) {
    return contains_record(m_impl->db, "SELECT 1 FROM prekeys WHERE id = ?1", id);
}

Status AccountStore::remove_prekey(std::uint32_t id) {
    return remove_record(m_impl->db, "DELETE FROM prekeys WHERE id = ?1", id);
}

Result<std::optional<SecretBytes>> AccountStore::load_signed_prekey(std::uint32_t id) {
    return load_record(m_impl->db, "SELECT record FROM signed_prekeys WHERE id = ?1", id);
}

Status AccountStore::store_signed_prekey(std::uint32_t id, std::span<const std::uint8_t> record) {
    return store_record(m_impl->db,
                        "INSERT OR REPLACE INTO signed_prekeys (id, record) VALUES (?1, ?2)", id,
                        record);
}

Result<bool> AccountStore::contains_signed_prekey(std::uint32_t id) {
    return contains_record(m_impl->db, "SELECT 1 FROM signed_prekeys WHERE id = ?1", id);
}

Status AccountStore::remove_signed_prekey(std::uint32_t id) {
    return remove_record(m_impl->db, "DELETE FROM signed_prekeys WHERE id = ?1", id);
}

// Identity

Result<crypto::IdentityKeyPair> AccountStore::identity_key_pair() {
    auto public_key = m_impl->meta_blob("identity_public");
    if (!public_key)
        return public_key.error();
    auto private_key = m_impl->meta_secret("identity_private");
    if (!private_key)
        return private_key.error();
    if (!public_key.value() || !private_key.value())
        return make_error(Errc::not_found, "this account has no identity key yet");
    return crypto::IdentityKeyPair{std::move(*public_key.value()), std::move(*private_key.value())};
}

Result<std::uint32_t> AccountStore::local_registration_id() {
    auto id = m_impl->meta_int("registration_id");
    if (!id)
        return id.error();
    if (!id.value())
        return make_error(Errc::not_found, "this account has no registration id yet");
    return static_cast<std::uint32_t>(*id.value());
}

Status AccountStore::save_identity(const crypto::ProtocolAddress& a,
                                   std::span<const std::uint8_t> key) {
    if (key.empty()) {
        auto stmt = m_impl->db.prepare("DELETE FROM identities WHERE name = ?1 AND device_id = ?2");
        if (!stmt)
            return stmt.error();
        return stmt->bind(1, a.name).bind(2, a.device_id).run();
    }
    // Every device of an account shares its identity key: a different key from the one we hold
    // for any of them is a changed key. The old rows go (they name a key nobody has any more),
    // the contact is no longer verified, a verified one must be accepted again before we send,
    // and the engine is left a notice for the conversation.
    auto known = peer_identity(a);
    if (!known)
        return known.error();
    if (known->has_value() &&
        !std::equal(known->value().begin(), known->value().end(), key.begin(), key.end())) {
        auto own = m_impl->meta_text("username");
        if (!own)
            return own.error();
        if (!own.value() || *own.value() != a.name) {
            auto drop = m_impl->db.prepare("DELETE FROM identities WHERE name = ?1");
            if (!drop)
                return drop.error();
            VEIL_TRY(drop->bind(1, a.name).run());
            auto mark = m_impl->db.prepare(
                "INSERT OR REPLACE INTO identity_trust (name, verified, changed_at_ms, "
                "needs_accept, notice) VALUES (?1, 0, CAST(strftime('%s', 'now') AS INTEGER) * "
                "1000, coalesce((SELECT verified FROM identity_trust WHERE name = ?1), 0), 1)");
            if (!mark)
                return mark.error();
            VEIL_TRY(mark->bind(1, a.name).run());
        }
    }
    auto stmt = m_impl->db.prepare(
        "INSERT OR REPLACE INTO identities (name, device_id, key) VALUES (?1, ?2, ?3)");
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, a.name).bind(2, a.device_id).bind_blob(3, key).run();
}

Result<std::optional<Bytes>> AccountStore::peer_identity(const crypto::ProtocolAddress& a) {
    // Our own other devices share our identity key.
    auto own = m_impl->meta_text("username");
    if (!own)
        return own.error();
    if (own.value() && *own.value() == a.name) {
        auto key = m_impl->meta_blob("identity_public");
        if (!key)
            return key.error();
        return key.value();
    }
    // The device's own row first, else any device of the account: all share one identity.
    auto stmt = m_impl->db.prepare("SELECT key FROM identities WHERE name = ?1 "
                                   "ORDER BY device_id = ?2 DESC, device_id LIMIT 1");
    if (!stmt)
        return stmt.error();
    auto row = stmt->bind(1, a.name).bind(2, a.device_id).step();
    if (!row)
        return row.error();
    if (!row.value())
        return std::optional<Bytes>();
    return std::optional<Bytes>(stmt->column_blob(0));
}

Result<std::vector<std::pair<std::string, Bytes>>> AccountStore::peer_identities() {
    auto stmt = m_impl->db.prepare(
        "SELECT name, key FROM identities i WHERE device_id = (SELECT min(device_id) FROM "
        "identities j WHERE j.name = i.name) ORDER BY name");
    if (!stmt)
        return stmt.error();
    return collect<std::pair<std::string, Bytes>>(stmt.value(), [](const Statement& s) {
        return std::pair<std::string, Bytes>(s.column_text(0), s.column_blob(1));
    });
}

Result<bool> AccountStore::is_trusted_identity(const crypto::ProtocolAddress& a,
                                               std::span<const std::uint8_t> key) {
    // Trust on first use, and a changed key is accepted too (as Signal does): save_identity
    // records the change, the conversation shows a notice, and for a contact the person had
    // verified the engine sends nothing until they accept the new key. Our own account's key
    // never changes.
    auto stored = peer_identity(a);
    if (!stored)
        return stored.error();
    if (!stored->has_value())
        return true;
    auto own = m_impl->meta_text("username");
    if (!own)
        return own.error();
    if (own.value() && *own.value() == a.name) {
        const Bytes& known = stored->value();
        return std::equal(known.begin(), known.end(), key.begin(), key.end());
    }
    return true;
}

// Sender keys

Result<std::optional<SecretBytes>> AccountStore::load_sender_key(const crypto::SenderKeyName& n) {
    auto stmt = m_impl->db.prepare("SELECT record FROM sender_keys WHERE group_id = ?1 AND "
                                   "name = ?2 AND device_id = ?3");
    if (!stmt)
        return stmt.error();
    auto row =
        stmt->bind_blob(1, n.group_id).bind(2, n.sender.name).bind(3, n.sender.device_id).step();
    if (!row)
        return row.error();
    if (!row.value())
        return std::optional<SecretBytes>();
    return std::optional<SecretBytes>(stmt->column_secret(0));
}

Status AccountStore::store_sender_key(const crypto::SenderKeyName& n,
                                      std::span<const std::uint8_t> record) {
    auto stmt = m_impl->db.prepare("INSERT OR REPLACE INTO sender_keys (group_id, name, "
                                   "device_id, record) VALUES (?1, ?2, ?3, ?4)");
    if (!stmt)
        return stmt.error();
    return stmt->bind_blob(1, n.group_id)
        .bind(2, n.sender.name)
        .bind(3, n.sender.device_id)
        .bind_blob(4, record)
        .run();
}

Status AccountStore::delete_sender_key(const crypto::SenderKeyName& n) {
    auto stmt = m_impl->db.prepare(
        "DELETE FROM sender_keys WHERE group_id = ?1 AND name = ?2 AND device_id = ?3");
    if (!stmt)
        return stmt.error();
    return stmt->bind_blob(1, n.group_id).bind(2, n.sender.name).bind(3, n.sender.device_id).run();
}

} // namespace veil::store
