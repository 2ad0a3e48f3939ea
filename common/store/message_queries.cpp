// AccountStore: messages, conversations, processed envelopes and the outgoing queue.
#include "store/account_store.h"
#include "store/account_store_impl.h"

#include <cctype>

namespace veil::store {

namespace {

MessageRow read_message(const Statement& stmt) {
    MessageRow row;
    row.id = stmt.column_int64(0);
    row.peer = stmt.column_text(1);
    row.message_id = stmt.column_blob(2);
    row.direction = static_cast<Direction>(stmt.column_int64(3));
    row.sender = stmt.column_text(4);
    row.text = stmt.column_text(5);
    row.sent_at_ms = stmt.column_int64(6);
    row.received_at_ms = stmt.column_int64(7);
    row.status = static_cast<MessageStatus>(stmt.column_int64(8));
    row.kind = static_cast<MessageKind>(stmt.column_int64(9));
    return row;
}

// When a conversation was last active: incoming messages count from when they arrived here
// (the sender's clock is not trusted), outgoing ones from when they were written.
std::int64_t activity_ms(const MessageRow& row) {
    if (row.direction == Direction::incoming && row.received_at_ms != 0)
        return row.received_at_ms;
    return row.sent_at_ms;
}

} // namespace

Result<std::int64_t> AccountStore::insert_message(const MessageRow& row) {
    if (row.peer.empty() || row.sender.empty() || row.message_id.empty())
        return make_error(Errc::invalid_argument, "a message needs a peer, a sender and an id");
    Savepoint sp(m_impl->db);
    VEIL_TRY(sp.begun());
    auto duplicate = has_message(row.sender, row.message_id);
    if (!duplicate)
        return duplicate.error();
    if (duplicate.value())
        return make_error(Errc::duplicate_message, "this message is already stored");

    auto insert = m_impl->db.prepare(
        "INSERT INTO messages (peer, message_id, direction, sender, text, sent_at_ms, "
        "received_at_ms, status, is_read) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    if (!insert)
        return insert.error();
    bool incoming = row.direction == Direction::incoming;
    insert->bind(1, row.peer)
        .bind_blob(2, row.message_id)
        .bind(3, static_cast<std::int64_t>(row.direction))
        .bind(4, row.sender)
        .bind(5, row.text)
        .bind(6, row.sent_at_ms)
        .bind(7, row.received_at_ms)
        .bind(8, static_cast<std::int64_t>(row.status))
        .bind(9, incoming ? 0 : 1);
    VEIL_TRY(insert->run());
    std::int64_t id = m_impl->db.last_insert_rowid();
    if (row.kind != MessageKind::normal) {
        auto kind = m_impl->db.prepare("INSERT INTO message_kinds (message, kind) VALUES (?1, ?2)");
        if (!kind)
            return kind.error();
        VEIL_TRY(kind->bind(1, id).bind(2, static_cast<std::int64_t>(row.kind)).run());
    }

    // The newest message is the conversation's last one; its activity never moves backwards.
    auto conversation = m_impl->db.prepare(
        "INSERT OR REPLACE INTO conversations (peer, last_message, last_activity_ms) VALUES "
        "(?1, ?2, max(?3, coalesce((SELECT last_activity_ms FROM conversations WHERE peer = ?1), "
        "?3)))");
    if (!conversation)
        return conversation.error();
    VEIL_TRY(conversation->bind(1, row.peer).bind(2, id).bind(3, activity_ms(row)).run());
    VEIL_TRY(sp.release());
    return id;
}

Result<bool> AccountStore::has_message(const std::string& sender,
                                       std::span<const std::uint8_t> message_id) {
    auto stmt = m_impl->db.prepare("SELECT 1 FROM messages WHERE sender = ?1 AND message_id = ?2");
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, sender).bind_blob(2, message_id).step();
}

Status AccountStore::set_status(std::span<const std::uint8_t> message_id, MessageStatus status) {
    auto stmt = m_impl->db.prepare(
        "UPDATE messages SET status = ?2 WHERE message_id = ?1 AND direction = 1");
    if (!stmt)
        return stmt.error();
    VEIL_TRY(stmt->bind_blob(1, message_id).bind(2, static_cast<std::int64_t>(status)).run());
    if (m_impl->db.changes() == 0)
        return make_error(Errc::not_found, "no outgoing message has this id");
    return {};
}

Result<std::optional<MessageRow>>
AccountStore::find_outgoing(std::span<const std::uint8_t> message_id) {
    auto stmt = m_impl->db.prepare(
        "SELECT id, peer, message_id, direction, sender, text, sent_at_ms, received_at_ms, "
        "status, coalesce((SELECT kind FROM message_kinds k WHERE k.message = messages.id), 0) "
        "FROM messages WHERE message_id = ?1 AND direction = 1 ORDER BY id LIMIT 1");
    if (!stmt)
        return stmt.error();
    auto row = stmt->bind_blob(1, message_id).step();
    if (!row)
        return row.error();
    if (!row.value())
        return std::optional<MessageRow>();
    return std::optional<MessageRow>(read_message(stmt.value()));
}

Result<std::vector<MessageRow>> AccountStore::messages(const std::string& peer, int limit) {
    if (limit < 0)
        return make_error(Errc::invalid_argument, "a message limit cannot be negative");
    auto stmt = m_impl->db.prepare(
        "SELECT * FROM (SELECT id, peer, message_id, direction, sender, text, sent_at_ms, "
        "received_at_ms, status, coalesce((SELECT kind FROM message_kinds k WHERE k.message = "
        "messages.id), 0) "
        "FROM messages WHERE peer = ?1 ORDER BY id DESC LIMIT ?2) "
        "ORDER BY id");
    if (!stmt)
        return stmt.error();
    stmt->bind(1, peer).bind(2, limit);
    return collect<MessageRow>(stmt.value(), read_message);
}

namespace {

// The person's words as an FTS4 query: each one a quoted phrase (quotes inside doubled), so that
// nothing they type is read as search syntax; the last one also matches as a prefix.
std::string match_expression(std::string_view query) {
    std::string out;
    std::size_t i = 0;
    while (i < query.size()) {
        while (i < query.size() && std::isspace(static_cast<unsigned char>(query[i])))
            ++i;
        std::size_t start = i;
        while (i < query.size() && !std::isspace(static_cast<unsigned char>(query[i])))
            ++i;
        if (i == start)
            break;
        std::string word;
        for (char c : query.substr(start, i - start)) {
            word += c;
            if (c == '"')
                word += '"';
        }
        if (!out.empty())
            out += ' ';
        out += '"' + word + (i >= query.size() ? "*\"" : "\"");
    }
    return out;
}

} // namespace

Result<std::vector<MessageRow>> AccountStore::search(std::string_view query, int limit) {
    if (limit < 0)
        return make_error(Errc::invalid_argument, "a message limit cannot be negative");
    std::string match = match_expression(query);
    if (match.empty())
        return std::vector<MessageRow>{};
    auto stmt = m_impl->db.prepare(
        "SELECT id, peer, message_id, direction, sender, text, sent_at_ms, received_at_ms, "
        "status, coalesce((SELECT kind FROM message_kinds k WHERE k.message = messages.id), 0) "
        "FROM messages WHERE id IN (SELECT docid FROM messages_fts WHERE messages_fts MATCH ?1) "
        "AND id NOT IN (SELECT message FROM message_kinds WHERE kind = 1) "
        "ORDER BY id DESC LIMIT ?2");
    if (!stmt)
        return stmt.error();
    stmt->bind(1, match).bind(2, limit);
    return collect<MessageRow>(stmt.value(), read_message);
}

Result<std::vector<MessageRow>> AccountStore::incoming_after(std::int64_t after_id, int limit) {
    if (limit < 0)
        return make_error(Errc::invalid_argument, "a message limit cannot be negative");
    auto stmt = m_impl->db.prepare(
        "SELECT id, peer, message_id, direction, sender, text, sent_at_ms, received_at_ms, "
        "status, coalesce((SELECT kind FROM message_kinds k WHERE k.message = messages.id), 0) "
        "FROM messages WHERE (direction = 0 OR id IN (SELECT message FROM message_kinds "
        "WHERE kind = 2)) AND id > ?1 ORDER BY id LIMIT ?2");
    if (!stmt)
        return stmt.error();
    stmt->bind(1, after_id).bind(2, limit);
    return collect<MessageRow>(stmt.value(), read_message);
}

Result<std::vector<ConversationRow>> AccountStore::conversations() {
    auto stmt = m_impl->db.prepare(
        "SELECT c.peer, m.text, c.last_activity_ms, (SELECT count(*) FROM messages u WHERE "
        "u.peer = c.peer AND u.direction = 0 AND u.is_read = 0) FROM conversations c JOIN "
        "messages m ON m.id = c.last_message ORDER BY c.last_activity_ms DESC, c.peer");
    if (!stmt)
        return stmt.error();
    return collect<ConversationRow>(stmt.value(), [](const Statement& s) {
        ConversationRow row;
        row.peer = s.column_text(0);
        row.last_text = s.column_text(1);
        row.last_activity_ms = s.column_int64(2);
        row.unread = static_cast<int>(s.column_int64(3));
        return row;
    });
}

Status AccountStore::mark_read(const std::string& peer) {
    auto stmt = m_impl->db.prepare(
        "UPDATE messages SET is_read = 1 WHERE peer = ?1 AND direction = 0 AND is_read = 0");
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, peer).run();
}

Result<int> AccountStore::unread(const std::string& peer) {
    auto stmt = m_impl->db.prepare(
        "SELECT count(*) FROM messages WHERE peer = ?1 AND direction = 0 AND is_read = 0");
    if (!stmt)
        return stmt.error();
    auto row = stmt->bind(1, peer).step();
    if (!row)
        return row.error();
    return static_cast<int>(stmt->column_int64(0));
}

Result<std::optional<std::pair<std::string, Bytes>>>
AccountStore::newest_incoming(const std::string& peer) {
    auto stmt = m_impl->db.prepare("SELECT sender, message_id FROM messages WHERE peer = ?1 AND "
                                   "direction = 0 ORDER BY id DESC LIMIT 1");
    if (!stmt)
        return stmt.error();
    auto row = stmt->bind(1, peer).step();
    if (!row)
        return row.error();
    if (!row.value())
        return std::optional<std::pair<std::string, Bytes>>();
    return std::optional<std::pair<std::string, Bytes>>(
        std::pair<std::string, Bytes>(stmt->column_text(0), stmt->column_blob(1)));
}

Status AccountStore::mark_read_up_to(const std::string& peer, const std::string& sender,
                                     std::span<const std::uint8_t> message_id) {
    auto stmt = m_impl->db.prepare(
        "UPDATE messages SET is_read = 1 WHERE peer = ?1 AND direction = 0 AND is_read = 0 AND "
        "id <= coalesce((SELECT id FROM messages WHERE peer = ?1 AND sender = ?2 AND "
        "message_id = ?3), (SELECT max(id) FROM messages))");
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, peer).bind(2, sender).bind_blob(3, message_id).run();
}

// Processed envelopes

Status AccountStore::mark_processed(const std::string& sender,
                                    std::span<const std::uint8_t> message_id, std::int64_t now_ms) {
    auto stmt = m_impl->db.prepare("INSERT OR IGNORE INTO processed (sender, message_id, "
                                   "processed_at_ms) VALUES (?1, ?2, ?3)");
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, sender).bind_blob(2, message_id).bind(3, now_ms).run();
}

Result<bool> AccountStore::was_processed(const std::string& sender,
                                         std::span<const std::uint8_t> message_id) {
    auto stmt = m_impl->db.prepare("SELECT 1 FROM processed WHERE sender = ?1 AND message_id = ?2");
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, sender).bind_blob(2, message_id).step();
}

// Outgoing pipeline

Result<std::int64_t> AccountStore::add_pending(const PendingItem& item) {
    auto stmt = m_impl->db.prepare(
        "INSERT INTO pending (message_id, peer, content, sync) VALUES (?1, ?2, ?3, ?4)");
    if (!stmt)
        return stmt.error();
    VEIL_TRY(stmt->bind_blob(1, item.message_id)
                 .bind(2, item.peer)
                 .bind_blob(3, item.content)
                 .bind(4, item.sync ? 1 : 0)
                 .run());
    return m_impl->db.last_insert_rowid();
}

Result<std::vector<PendingItem>> AccountStore::pending() {
    auto stmt =
        m_impl->db.prepare("SELECT seq, message_id, peer, content, sync FROM pending ORDER BY seq");
    if (!stmt)
        return stmt.error();
    return collect<PendingItem>(stmt.value(), [](const Statement& s) {
        PendingItem item;
        item.seq = s.column_int64(0);
        item.message_id = s.column_blob(1);
        item.peer = s.column_text(2);
        item.content = s.column_blob(3);
        item.sync = s.column_int64(4) != 0;
        return item;
    });
}

Status AccountStore::remove_pending(std::int64_t seq) {
    auto stmt = m_impl->db.prepare("DELETE FROM pending WHERE seq = ?1");
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, seq).run();
}

Status AccountStore::add_outbox(const OutboxItem& item) {
    // Re-adding the same (message id, peer, device) replaces the ciphertext: one copy per device.
    auto stmt = m_impl->db.prepare(
        "INSERT OR REPLACE INTO outbox (message_id, peer, device_id, type, ciphertext) VALUES "
        "(?1, ?2, ?3, ?4, ?5)");
    if (!stmt)
        return stmt.error();
    return stmt->bind_blob(1, item.message_id)
        .bind(2, item.peer)
        .bind(3, item.device_id)
        .bind(4, item.type)
        .bind_blob(5, item.ciphertext)
        .run();
}

namespace {

OutboxItem read_outbox(const Statement& s) {
    OutboxItem item;
    item.message_id = s.column_blob(0);
    item.peer = s.column_text(1);
    item.device_id = static_cast<std::int32_t>(s.column_int64(2));
    item.type = static_cast<int>(s.column_int64(3));
    item.ciphertext = s.column_blob(4);
    return item;
}

} // namespace

Result<std::vector<OutboxItem>> AccountStore::outbox() {
    auto stmt = m_impl->db.prepare(
        "SELECT message_id, peer, device_id, type, ciphertext FROM outbox ORDER BY seq");
    if (!stmt)
        return stmt.error();
    return collect<OutboxItem>(stmt.value(), read_outbox);
}

Result<std::vector<OutboxItem>> AccountStore::outbox_of(std::span<const std::uint8_t> message_id) {
    auto stmt = m_impl->db.prepare("SELECT message_id, peer, device_id, type, ciphertext FROM "
                                   "outbox WHERE message_id = ?1 ORDER BY seq");
    if (!stmt)
        return stmt.error();
    stmt->bind_blob(1, message_id);
    return collect<OutboxItem>(stmt.value(), read_outbox);
}

Status AccountStore::remove_outbox_device(const std::string& username, std::int32_t device_id) {
    auto stmt = m_impl->db.prepare("DELETE FROM outbox WHERE peer = ?1 AND device_id = ?2");
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, username).bind(2, device_id).run();
}

Status AccountStore::remove_outbox(std::span<const std::uint8_t> message_id) {
    auto stmt = m_impl->db.prepare("DELETE FROM outbox WHERE message_id = ?1");
    if (!stmt)
        return stmt.error();
    return stmt->bind_blob(1, message_id).run();
}

} // namespace veil::store
