// AccountStore: groups, their members, who holds our sender key, and group sends.
#include "store/account_store.h"
#include "store/account_store_impl.h"
#include "util/hex.h"

namespace veil::store {

namespace {

GroupRow read_group(const Statement& s) {
    GroupRow row;
    row.group_id = s.column_blob(0);
    row.revision = static_cast<std::uint64_t>(s.column_int64(1));
    row.change = s.column_blob(2);
    row.state_hash = s.column_blob(3);
    row.name = s.column_text(4);
    row.description = s.column_text(5);
    row.avatar = s.column_blob(6);
    row.has_left = s.column_int64(7) != 0;
    return row;
}

GroupOutboxItem read_group_outbox(const Statement& s) {
    GroupOutboxItem item;
    item.seq = s.column_int64(0);
    item.message_id = s.column_blob(1);
    item.group_id = s.column_blob(2);
    item.content = s.column_blob(3);
    item.revision = static_cast<std::uint64_t>(s.column_int64(4));
    if (!s.column_is_null(5))
        item.ciphertext = s.column_blob(5);
    return item;
}

} // namespace

std::string group_conversation(std::span<const std::uint8_t> group_id) {
    return "#" + to_hex(group_id);
}

bool is_group_conversation(const std::string& peer) {
    return !peer.empty() && peer[0] == '#';
}

std::optional<Bytes> group_id_of(const std::string& conversation) {
    if (!is_group_conversation(conversation))
        return std::nullopt;
    auto id = from_hex(std::string_view(conversation).substr(1));
    if (!id || id->empty())
        return std::nullopt;
    return id.value();
}

Status AccountStore::save_group(const GroupRow& group, const std::vector<GroupMemberRow>& members) {
    if (group.group_id.empty() || group.revision == 0 || group.change.empty())
        return make_error(Errc::invalid_argument, "a group needs an id, a revision and a change");
    Savepoint sp(m_impl->db);
    VEIL_TRY(sp.begun());
    auto existing = this->group(group.group_id);
    if (!existing)
        return existing.error();
    if (existing.value()) {
        auto update = m_impl->db.prepare("UPDATE groups SET revision = ?2, change = ?3, "
                                         "state_hash = ?4 WHERE group_id = ?1");
        if (!update)
            return update.error();
        VEIL_TRY(update->bind_blob(1, group.group_id)
                     .bind(2, static_cast<std::int64_t>(group.revision))
                     .bind_blob(3, group.change)
                     .bind_blob(4, group.state_hash)
                     .run());
    } else {
        auto insert = m_impl->db.prepare(
            "INSERT INTO groups (group_id, revision, change, state_hash, name, description, "
            "avatar, has_left) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
        if (!insert)
            return insert.error();
        VEIL_TRY(insert->bind_blob(1, group.group_id)
                     .bind(2, static_cast<std::int64_t>(group.revision))
                     .bind_blob(3, group.change)
                     .bind_blob(4, group.state_hash)
                     .bind(5, group.name)
                     .bind(6, group.description)
                     .bind_blob(7, group.avatar)
                     .bind(8, group.has_left ? 1 : 0)
                     .run());
    }
    auto clear = m_impl->db.prepare("DELETE FROM group_members WHERE group_id = ?1");
    if (!clear)
        return clear.error();
    VEIL_TRY(clear->bind_blob(1, group.group_id).run());
    for (const auto& m : members) {
        auto add = m_impl->db.prepare(
            "INSERT INTO group_members (group_id, username, admin) VALUES (?1, ?2, ?3)");
        if (!add)
            return add.error();
        VEIL_TRY(add->bind_blob(1, group.group_id).bind(2, m.username).bind(3, m.admin).run());
    }
    return sp.release();
}

Result<std::optional<GroupRow>> AccountStore::group(std::span<const std::uint8_t> group_id) {
    auto stmt = m_impl->db.prepare("SELECT group_id, revision, change, state_hash, name, "
                                   "description, avatar, has_left FROM groups WHERE group_id = ?1");
    if (!stmt)
        return stmt.error();
    auto row = stmt->bind_blob(1, group_id).step();
    if (!row)
        return row.error();
    if (!row.value())
        return std::optional<GroupRow>();
    return std::optional<GroupRow>(read_group(stmt.value()));
}

Result<std::vector<GroupRow>> AccountStore::groups() {
    auto stmt = m_impl->db.prepare("SELECT group_id, revision, change, state_hash, name, "
                                   "description, avatar, has_left FROM groups ORDER BY name, "
                                   "group_id");
    if (!stmt)
        return stmt.error();
    return collect<GroupRow>(stmt.value(), read_group);
}

Result<std::vector<GroupMemberRow>>
AccountStore::group_members(std::span<const std::uint8_t> group_id) {
    auto stmt = m_impl->db.prepare(
        "SELECT username, admin FROM group_members WHERE group_id = ?1 ORDER BY username");
    if (!stmt)
        return stmt.error();
    stmt->bind_blob(1, group_id);
    return collect<GroupMemberRow>(stmt.value(), [](const Statement& s) {
        return GroupMemberRow{s.column_text(0), s.column_int64(1) != 0};
    });
}

Status AccountStore::set_group_info(std::span<const std::uint8_t> group_id, const std::string& name,
                                    const std::string& description,
                                    std::span<const std::uint8_t> avatar) {
    auto stmt = m_impl->db.prepare(
        "UPDATE groups SET name = ?2, description = ?3, avatar = ?4 WHERE group_id = ?1");
    if (!stmt)
        return stmt.error();
    VEIL_TRY(
        stmt->bind_blob(1, group_id).bind(2, name).bind(3, description).bind_blob(4, avatar).run());
    if (m_impl->db.changes() == 0)
        return make_error(Errc::not_found, "no group has this id");
    return {};
}

Status AccountStore::set_group_left(std::span<const std::uint8_t> group_id, bool has_left) {
    auto stmt = m_impl->db.prepare("UPDATE groups SET has_left = ?2 WHERE group_id = ?1");
    if (!stmt)
        return stmt.error();
    VEIL_TRY(stmt->bind_blob(1, group_id).bind(2, has_left ? 1 : 0).run());
    if (m_impl->db.changes() == 0)
        return make_error(Errc::not_found, "no group has this id");
    return {};
}

// Sender key holders

Status AccountStore::add_sender_key_holder(std::span<const std::uint8_t> group_id,
                                           const std::string& username, std::int32_t device_id) {
    auto stmt = m_impl->db.prepare("INSERT OR IGNORE INTO group_key_holders (group_id, username, "
                                   "device_id) VALUES (?1, ?2, ?3)");
    if (!stmt)
        return stmt.error();
    return stmt->bind_blob(1, group_id).bind(2, username).bind(3, device_id).run();
}

Result<bool> AccountStore::holds_sender_key(std::span<const std::uint8_t> group_id,
                                            const std::string& username, std::int32_t device_id) {
    auto stmt = m_impl->db.prepare("SELECT 1 FROM group_key_holders WHERE group_id = ?1 AND "
                                   "username = ?2 AND device_id = ?3");
    if (!stmt)
        return stmt.error();
    return stmt->bind_blob(1, group_id).bind(2, username).bind(3, device_id).step();
}

Status AccountStore::remove_sender_key_holder(std::span<const std::uint8_t> group_id,
                                              const std::string& username) {
    auto stmt =
        m_impl->db.prepare("DELETE FROM group_key_holders WHERE group_id = ?1 AND username = ?2");
    if (!stmt)
        return stmt.error();
    return stmt->bind_blob(1, group_id).bind(2, username).run();
}

Status AccountStore::clear_sender_key_holders(std::span<const std::uint8_t> group_id) {
    auto stmt = m_impl->db.prepare("DELETE FROM group_key_holders WHERE group_id = ?1");
    if (!stmt)
        return stmt.error();
    return stmt->bind_blob(1, group_id).run();
}

// Group sends

Status AccountStore::add_group_outbox(const GroupOutboxItem& item) {
    auto stmt = m_impl->db.prepare(
        "INSERT INTO group_outbox (message_id, group_id, content) VALUES (?1, ?2, ?3)");
    if (!stmt)
        return stmt.error();
    return stmt->bind_blob(1, item.message_id)
        .bind_blob(2, item.group_id)
        .bind_blob(3, item.content)
        .run();
}

Result<std::vector<GroupOutboxItem>> AccountStore::group_outbox() {
    auto stmt = m_impl->db.prepare("SELECT seq, message_id, group_id, content, revision, "
                                   "ciphertext FROM group_outbox ORDER BY seq");
    if (!stmt)
        return stmt.error();
    return collect<GroupOutboxItem>(stmt.value(), read_group_outbox);
}

Status AccountStore::set_group_ciphertext(std::span<const std::uint8_t> message_id,
                                          std::uint64_t revision,
                                          std::span<const std::uint8_t> ciphertext) {
    auto stmt = m_impl->db.prepare(
        "UPDATE group_outbox SET revision = ?2, ciphertext = ?3 WHERE message_id = ?1");
    if (!stmt)
        return stmt.error();
    VEIL_TRY(stmt->bind_blob(1, message_id)
                 .bind(2, static_cast<std::int64_t>(revision))
                 .bind_blob(3, ciphertext)
                 .run());
    if (m_impl->db.changes() == 0)
        return make_error(Errc::not_found, "no group send has this id");
    return {};
}

Status AccountStore::save_pending_group_change(const PendingGroupChange& change) {
    auto stmt = m_impl->db.prepare(
        "INSERT OR REPLACE INTO group_pending_changes (group_id, revision, change, name,"
        " share_info) VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!stmt)
        return stmt.error();
    return stmt->bind_blob(1, change.group_id)
        .bind(2, static_cast<std::int64_t>(change.revision))
        .bind_blob(3, change.change)
        .bind(4, change.name)
        .bind(5, std::int64_t{change.share_info ? 1 : 0})
        .run();
}

Result<std::vector<PendingGroupChange>> AccountStore::pending_group_changes() {
    auto stmt = m_impl->db.prepare(
        "SELECT group_id, revision, change, name, share_info FROM group_pending_changes"
        " ORDER BY group_id");
    if (!stmt)
        return stmt.error();
    return collect<PendingGroupChange>(stmt.value(), [](const Statement& s) {
        return PendingGroupChange{s.column_blob(0), static_cast<std::uint64_t>(s.column_int64(1)),
                                  s.column_blob(2), s.column_text(3), s.column_int64(4) != 0};
    });
}

Status AccountStore::remove_pending_group_change(std::span<const std::uint8_t> group_id) {
    auto stmt = m_impl->db.prepare("DELETE FROM group_pending_changes WHERE group_id = ?1");
    if (!stmt)
        return stmt.error();
    return stmt->bind_blob(1, group_id).run();
}

Status AccountStore::remove_group_outbox(std::span<const std::uint8_t> message_id) {
    auto stmt = m_impl->db.prepare("DELETE FROM group_outbox WHERE message_id = ?1");
    if (!stmt)
        return stmt.error();
    return stmt->bind_blob(1, message_id).run();
}

} // namespace veil::store
