// The devices of accounts as this account knows them (ours included), the sender key holders by
// device, and this device's own authentication key. See schema version 5.
#include "store/account_store.h"
#include "store/account_store_impl.h"

namespace veil::store {

Result<std::optional<std::vector<std::int32_t>>>
AccountStore::known_devices(const std::string& username) {
    auto listed = m_impl->db.prepare("SELECT 1 FROM device_lists WHERE username = ?1");
    if (!listed)
        return listed.error();
    auto known = listed->bind(1, username).step();
    if (!known)
        return known.error();
    if (!known.value())
        return std::optional<std::vector<std::int32_t>>();
    auto stmt =
        m_impl->db.prepare("SELECT device_id FROM devices WHERE username = ?1 ORDER BY device_id");
    if (!stmt)
        return stmt.error();
    stmt->bind(1, username);
    auto ids = collect<std::int32_t>(stmt.value(), [](const Statement& s) {
        return static_cast<std::int32_t>(s.column_int64(0));
    });
    if (!ids)
        return ids.error();
    return std::optional<std::vector<std::int32_t>>(std::move(ids.value()));
}

Status AccountStore::set_known_devices(const std::string& username,
                                       std::span<const std::int32_t> ids, std::int64_t now_ms) {
    Savepoint sp(m_impl->db);
    VEIL_TRY(sp.begun());
    auto list = m_impl->db.prepare(
        "INSERT OR REPLACE INTO device_lists (username, learned_at_ms) VALUES (?1, ?2)");
    if (!list)
        return list.error();
    VEIL_TRY(list->bind(1, username).bind(2, now_ms).run());
    auto clear = m_impl->db.prepare("DELETE FROM devices WHERE username = ?1");
    if (!clear)
        return clear.error();
    VEIL_TRY(clear->bind(1, username).run());
    for (std::int32_t id : ids) {
        auto insert = m_impl->db.prepare(
            "INSERT OR IGNORE INTO devices (username, device_id) VALUES (?1, ?2)");
        if (!insert)
            return insert.error();
        VEIL_TRY(insert->bind(1, username).bind(2, id).run());
    }
    return sp.release();
}

Status AccountStore::add_known_device(const std::string& username, std::int32_t device_id) {
    auto stmt = m_impl->db.prepare(
        "INSERT OR IGNORE INTO devices (username, device_id) SELECT ?1, ?2 WHERE EXISTS "
        "(SELECT 1 FROM device_lists WHERE username = ?1)");
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, username).bind(2, device_id).run();
}

Status AccountStore::remove_known_device(const std::string& username, std::int32_t device_id) {
    auto stmt = m_impl->db.prepare("DELETE FROM devices WHERE username = ?1 AND device_id = ?2");
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, username).bind(2, device_id).run();
}

Result<std::vector<Bytes>> AccountStore::groups_keyed_to(const std::string& username,
                                                         std::int32_t device_id) {
    auto stmt = m_impl->db.prepare(
        "SELECT group_id FROM group_key_holders WHERE username = ?1 AND device_id = ?2");
    if (!stmt)
        return stmt.error();
    stmt->bind(1, username).bind(2, device_id);
    return collect<Bytes>(stmt.value(), [](const Statement& s) { return s.column_blob(0); });
}

Status AccountStore::forget_key_holder(const std::string& username, std::int32_t device_id) {
    auto stmt =
        m_impl->db.prepare("DELETE FROM group_key_holders WHERE username = ?1 AND device_id = ?2");
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, username).bind(2, device_id).run();
}

Result<std::vector<std::pair<std::string, std::int32_t>>>
AccountStore::sender_key_holders(std::span<const std::uint8_t> group_id) {
    auto stmt = m_impl->db.prepare("SELECT username, device_id FROM group_key_holders WHERE "
                                   "group_id = ?1 ORDER BY username, device_id");
    if (!stmt)
        return stmt.error();
    stmt->bind_blob(1, group_id);
    return collect<std::pair<std::string, std::int32_t>>(stmt.value(), [](const Statement& s) {
        return std::pair<std::string, std::int32_t>(s.column_text(0),
                                                    static_cast<std::int32_t>(s.column_int64(1)));
    });
}

Result<std::optional<crypto::IdentityKeyPair>> AccountStore::device_key_pair() {
    auto public_key = m_impl->meta_blob("device_public");
    if (!public_key)
        return public_key.error();
    auto private_key = m_impl->meta_secret("device_private");
    if (!private_key)
        return private_key.error();
    if (!public_key.value() || !private_key.value())
        return std::optional<crypto::IdentityKeyPair>();
    return std::optional<crypto::IdentityKeyPair>(
        crypto::IdentityKeyPair{std::move(*public_key.value()), std::move(*private_key.value())});
}

Status AccountStore::set_device_key_pair(const crypto::IdentityKeyPair& pair) {
    if (pair.public_key.empty() || pair.private_key.empty())
        return make_error(Errc::invalid_argument, "a device key pair needs both halves");
    Savepoint sp(m_impl->db);
    VEIL_TRY(sp.begun());
    VEIL_TRY(m_impl->put_meta_blob("device_public", pair.public_key));
    VEIL_TRY(m_impl->put_meta_blob("device_private", pair.private_key.view()));
    return sp.release();
}

} // namespace veil::store
