// AccountStore: messages, conversations, processed envelopes and the outgoing queue.
#include "store/account_store.h"
#include "store/account_store_impl.h"

#include <algorithm>
#include <cctype>

namespace veil::store {

namespace {

// The columns read_message reads, in its order (m: the messages table).
// VEIL_MESSAGE_FROM joins the details of schema version 8 (x), which most messages lack.
#define VEIL_MESSAGE_COLUMNS                                                                       \
    "m.id, m.peer, m.message_id, m.direction, m.sender, m.text, m.sent_at_ms, m.received_at_ms, "  \
    "m.status, coalesce((SELECT kind FROM message_kinds k WHERE k.message = m.id), 0), "           \
    "x.quote_id, coalesce(x.quote_author, ''), coalesce(x.quote_text, ''), "                       \
    "coalesce(x.mentions, ''), coalesce(x.edited_at_ms, 0), coalesce(x.deleted, 0), "              \
    "coalesce(x.expire_timer_s, 0), coalesce(x.expires_at_ms, 0)"
#define VEIL_MESSAGE_FROM " FROM messages m LEFT JOIN message_details x ON x.message = m.id "

std::vector<std::string> split_words(const std::string& text) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t end = text.find(' ', i);
        if (end == std::string::npos)
            end = text.size();
        if (end > i)
            out.push_back(text.substr(i, end - i));
        i = end + 1;
    }
    return out;
}

std::string join_words(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& w : words) {
        if (!out.empty())
            out += ' ';
        out += w;
    }
    return out;
}

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
    if (!stmt.column_is_null(10))
        row.quote = Quote{stmt.column_blob(10), stmt.column_text(11), stmt.column_text(12)};
    row.mentions = split_words(stmt.column_text(13));
    row.edited_at_ms = stmt.column_int64(14);
    row.deleted = stmt.column_int64(15) != 0;
    row.expire_timer_s = static_cast<std::uint32_t>(stmt.column_int64(16));
    row.expires_at_ms = stmt.column_int64(17);
    return row;
}

AttachmentRow read_attachment(const Statement& s) {
    AttachmentRow out;
    out.index = static_cast<int>(s.column_int64(0));
    out.blob_id = s.column_text(1);
    out.key = s.column_blob(2);
    out.digest = s.column_blob(3);
    out.size = static_cast<std::uint64_t>(s.column_int64(4));
    out.blob_size = static_cast<std::uint64_t>(s.column_int64(5));
    out.file_name = s.column_text(6);
    out.content_type = s.column_text(7);
    out.state = static_cast<AttachmentState>(s.column_int64(8));
    out.local_path = s.column_text(9);
    out.thumbnail = s.column_blob(10);
    return out;
}

// Reactions and attachments (without keys) of rows just read.
Status fill_extras(Database& db, std::vector<MessageRow>& rows) {
    for (auto& row : rows) {
        auto reactions = db.prepare("SELECT reactor, emoji, at_ms FROM reactions WHERE message = "
                                    "?1 ORDER BY at_ms, reactor");
        if (!reactions)
            return reactions.error();
        reactions->bind(1, row.id);
        auto r = collect<ReactionRow>(reactions.value(), [](const Statement& s) {
            return ReactionRow{s.column_text(0), s.column_text(1), s.column_int64(2)};
        });
        if (!r)
            return r.error();
        row.reactions = std::move(r.value());
        auto attachments = db.prepare(
            "SELECT idx, blob_id, x'', digest, size, blob_size, file_name, content_type, state, "
            "local_path, thumbnail FROM attachments WHERE message = ?1 ORDER BY idx");
        if (!attachments)
            return attachments.error();
        attachments->bind(1, row.id);
        auto a = collect<AttachmentRow>(attachments.value(), read_attachment);
        if (!a)
            return a.error();
        row.attachments = std::move(a.value());
    }
    return {};
}

Result<std::vector<MessageRow>> read_messages(Database& db, Statement& stmt) {
    auto rows = collect<MessageRow>(stmt, read_message);
    if (!rows)
        return rows.error();
    VEIL_TRY(fill_extras(db, rows.value()));
    return rows;
}

Result<std::optional<MessageRow>> one_message(Database& db, Statement& stmt) {
    auto rows = read_messages(db, stmt);
    if (!rows)
        return rows.error();
    if (rows->empty())
        return std::optional<MessageRow>();
    return std::optional<MessageRow>(std::move(rows->front()));
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
    if (row.quote || !row.mentions.empty() || row.edited_at_ms || row.deleted ||
        row.expire_timer_s || row.expires_at_ms) {
        auto details = m_impl->db.prepare(
            "INSERT INTO message_details (message, quote_id, quote_author, quote_text, mentions, "
            "edited_at_ms, deleted, expire_timer_s, expires_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, "
            "?6, ?7, ?8, ?9)");
        if (!details)
            return details.error();
        details->bind(1, id)
            .bind(3, row.quote ? row.quote->author : std::string())
            .bind(4, row.quote ? row.quote->text : std::string())
            .bind(5, join_words(row.mentions))
            .bind(6, row.edited_at_ms)
            .bind(7, row.deleted ? 1 : 0)
            .bind(8, static_cast<std::int64_t>(row.expire_timer_s))
            .bind(9, row.expires_at_ms);
        if (row.quote)
            details->bind_blob(2, row.quote->message_id);
        else
            details->bind_null(2);
        VEIL_TRY(details->run());
    }
    for (const auto& attachment : row.attachments)
        VEIL_TRY(add_attachment(id, attachment));
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
    auto stmt = m_impl->db.prepare("SELECT " VEIL_MESSAGE_COLUMNS VEIL_MESSAGE_FROM "WHERE "
                                   "m.message_id = ?1 AND m.direction = 1 ORDER BY m.id LIMIT 1");
    if (!stmt)
        return stmt.error();
    stmt->bind_blob(1, message_id);
    return one_message(m_impl->db, stmt.value());
}

Result<std::vector<MessageRow>> AccountStore::messages(const std::string& peer, int limit) {
    if (limit < 0)
        return make_error(Errc::invalid_argument, "a message limit cannot be negative");
    return messages_before(peer, 0, limit);
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
        "SELECT " VEIL_MESSAGE_COLUMNS VEIL_MESSAGE_FROM "WHERE m.id IN (SELECT docid FROM "
        "messages_fts WHERE messages_fts MATCH ?1) AND m.id NOT IN (SELECT message FROM "
        "message_kinds WHERE kind = 1) ORDER BY m.id DESC LIMIT ?2");
    if (!stmt)
        return stmt.error();
    stmt->bind(1, match).bind(2, limit);
    return read_messages(m_impl->db, stmt.value());
}

Result<std::vector<MessageRow>> AccountStore::incoming_after(std::int64_t after_id, int limit) {
    if (limit < 0)
        return make_error(Errc::invalid_argument, "a message limit cannot be negative");
    auto stmt = m_impl->db.prepare(
        "SELECT " VEIL_MESSAGE_COLUMNS VEIL_MESSAGE_FROM "WHERE (m.direction = 0 OR m.id IN "
        "(SELECT message FROM message_kinds WHERE kind = 2)) AND m.id > ?1 ORDER BY m.id "
        "LIMIT ?2");
    if (!stmt)
        return stmt.error();
    stmt->bind(1, after_id).bind(2, limit);
    return read_messages(m_impl->db, stmt.value());
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

Result<std::vector<std::pair<std::string, Bytes>>>
AccountStore::unread_incoming(const std::string& peer) {
    auto stmt = m_impl->db.prepare("SELECT sender, message_id FROM messages WHERE peer = ?1 AND "
                                   "direction = 0 AND is_read = 0 ORDER BY id");
    if (!stmt)
        return stmt.error();
    stmt->bind(1, peer);
    return collect<std::pair<std::string, Bytes>>(stmt.value(), [](const Statement& s) {
        return std::pair<std::string, Bytes>(s.column_text(0), s.column_blob(1));
    });
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

namespace {

PendingItem read_pending(const Statement& s) {
    PendingItem item;
    item.seq = s.column_int64(0);
    item.message_id = s.column_blob(1);
    item.peer = s.column_text(2);
    item.content = s.column_blob(3);
    item.sync = s.column_int64(4) != 0;
    return item;
}

} // namespace

Result<std::vector<PendingItem>> AccountStore::pending() {
    auto stmt =
        m_impl->db.prepare("SELECT seq, message_id, peer, content, sync FROM pending ORDER BY seq");
    if (!stmt)
        return stmt.error();
    return collect<PendingItem>(stmt.value(), read_pending);
}

Result<std::optional<PendingItem>> AccountStore::last_pending_to(const std::string& peer) {
    auto stmt = m_impl->db.prepare("SELECT seq, message_id, peer, content, sync FROM pending "
                                   "WHERE peer = ?1 ORDER BY seq DESC LIMIT 1");
    if (!stmt)
        return stmt.error();
    auto rows = collect<PendingItem>(stmt->bind(1, peer), read_pending);
    if (!rows)
        return rows.error();
    if (rows->empty())
        return std::optional<PendingItem>();
    return std::optional<PendingItem>(std::move(rows->front()));
}

Status AccountStore::set_pending_content(std::int64_t seq, std::span<const std::uint8_t> content) {
    auto stmt = m_impl->db.prepare("UPDATE pending SET content = ?2 WHERE seq = ?1");
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, seq).bind_blob(2, content).run();
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

namespace veil::store {

// Everyday messaging

Result<std::optional<MessageRow>>
AccountStore::find_message(const std::string& sender, std::span<const std::uint8_t> message_id) {
    auto stmt = m_impl->db.prepare("SELECT " VEIL_MESSAGE_COLUMNS VEIL_MESSAGE_FROM
                                   "WHERE m.sender = ?1 AND m.message_id = ?2");
    if (!stmt)
        return stmt.error();
    stmt->bind(1, sender).bind_blob(2, message_id);
    return one_message(m_impl->db, stmt.value());
}

Result<std::optional<MessageRow>> AccountStore::message_by_id(std::int64_t id) {
    auto stmt =
        m_impl->db.prepare("SELECT " VEIL_MESSAGE_COLUMNS VEIL_MESSAGE_FROM "WHERE m.id = ?1");
    if (!stmt)
        return stmt.error();
    stmt->bind(1, id);
    return one_message(m_impl->db, stmt.value());
}

Result<std::vector<MessageRow>>
AccountStore::find_by_message_id(std::span<const std::uint8_t> message_id) {
    auto stmt = m_impl->db.prepare("SELECT " VEIL_MESSAGE_COLUMNS VEIL_MESSAGE_FROM
                                   "WHERE m.message_id = ?1 ORDER BY m.id");
    if (!stmt)
        return stmt.error();
    stmt->bind_blob(1, message_id);
    return read_messages(m_impl->db, stmt.value());
}

Result<std::vector<MessageRow>> AccountStore::messages_before(const std::string& peer,
                                                              std::int64_t before, int limit) {
    if (limit < 0)
        return make_error(Errc::invalid_argument, "a message limit cannot be negative");
    auto stmt = m_impl->db.prepare("SELECT * FROM (SELECT " VEIL_MESSAGE_COLUMNS VEIL_MESSAGE_FROM
                                   "WHERE m.peer = ?1 AND "
                                   "(?3 = 0 OR m.id < ?3) ORDER BY m.id DESC LIMIT ?2) ORDER BY 1");
    if (!stmt)
        return stmt.error();
    stmt->bind(1, peer).bind(2, limit).bind(3, before);
    return read_messages(m_impl->db, stmt.value());
}

namespace {

// A message_details row for message id, so that an UPDATE of it has something to change.
Status ensure_details(Database& db, std::int64_t id) {
    auto stmt = db.prepare("INSERT OR IGNORE INTO message_details (message) VALUES (?1)");
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, id).run();
}

} // namespace

Status AccountStore::edit_message(std::int64_t id, const std::string& text,
                                  std::int64_t edited_at_ms) {
    Savepoint sp(m_impl->db);
    VEIL_TRY(sp.begun());
    auto stmt = m_impl->db.prepare(
        "UPDATE messages SET text = ?2 WHERE id = ?1 AND id NOT IN (SELECT message FROM "
        "message_details WHERE deleted = 1)");
    if (!stmt)
        return stmt.error();
    VEIL_TRY(stmt->bind(1, id).bind(2, text).run());
    if (m_impl->db.changes() == 0)
        return make_error(Errc::not_found, "no such message");
    VEIL_TRY(ensure_details(m_impl->db, id));
    auto details =
        m_impl->db.prepare("UPDATE message_details SET edited_at_ms = ?2 WHERE message = ?1");
    if (!details)
        return details.error();
    VEIL_TRY(details->bind(1, id).bind(2, edited_at_ms).run());
    return sp.release();
}

namespace {

// The local files of a message's attachments, and its reactions and attachment rows deleted.
Result<std::vector<std::string>> drop_extras(Database& db, std::int64_t id) {
    auto files = db.prepare("SELECT local_path FROM attachments WHERE message = ?1 AND "
                            "local_path != ''");
    if (!files)
        return files.error();
    files->bind(1, id);
    auto paths =
        collect<std::string>(files.value(), [](const Statement& s) { return s.column_text(0); });
    if (!paths)
        return paths.error();
    for (const char* sql :
         {"DELETE FROM reactions WHERE message = ?1", "DELETE FROM attachments WHERE message = ?1",
          "DELETE FROM message_receipts WHERE message = ?1"}) {
        auto stmt = db.prepare(sql);
        if (!stmt)
            return stmt.error();
        VEIL_TRY(stmt->bind(1, id).run());
    }
    return paths;
}

} // namespace

Result<std::vector<std::string>> AccountStore::delete_for_everyone(std::int64_t id) {
    Savepoint sp(m_impl->db);
    VEIL_TRY(sp.begun());
    auto files = drop_extras(m_impl->db, id);
    if (!files)
        return files.error();
    auto stmt = m_impl->db.prepare("UPDATE messages SET text = '' WHERE id = ?1");
    if (!stmt)
        return stmt.error();
    VEIL_TRY(stmt->bind(1, id).run());
    if (m_impl->db.changes() == 0)
        return make_error(Errc::not_found, "no such message");
    VEIL_TRY(ensure_details(m_impl->db, id));
    auto details = m_impl->db.prepare(
        "UPDATE message_details SET quote_id = NULL, quote_author = '', quote_text = '', "
        "mentions = '', deleted = 1 WHERE message = ?1");
    if (!details)
        return details.error();
    VEIL_TRY(details->bind(1, id).run());
    VEIL_TRY(sp.release());
    return files;
}

Status AccountStore::set_reaction(std::int64_t message, const std::string& reactor,
                                  const std::string& emoji, std::int64_t at_ms) {
    if (emoji.empty()) {
        auto stmt = m_impl->db.prepare("DELETE FROM reactions WHERE message = ?1 AND reactor = ?2");
        if (!stmt)
            return stmt.error();
        return stmt->bind(1, message).bind(2, reactor).run();
    }
    auto stmt = m_impl->db.prepare("INSERT OR REPLACE INTO reactions (message, reactor, emoji, "
                                   "at_ms) VALUES (?1, ?2, ?3, ?4)");
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, message).bind(2, reactor).bind(3, emoji).bind(4, at_ms).run();
}

Status AccountStore::expect_receipts(std::int64_t message,
                                     const std::vector<std::string>& members) {
    for (const auto& member : members) {
        auto stmt = m_impl->db.prepare("INSERT OR IGNORE INTO message_receipts (message, member, "
                                       "status) VALUES (?1, ?2, ?3)");
        if (!stmt)
            return stmt.error();
        VEIL_TRY(stmt->bind(1, message)
                     .bind(2, member)
                     .bind(3, static_cast<std::int64_t>(MessageStatus::sent))
                     .run());
    }
    return {};
}

Result<std::optional<MessageStatus>> AccountStore::record_receipt(std::int64_t message,
                                                                  const std::string& member,
                                                                  MessageStatus status,
                                                                  std::int64_t at_ms) {
    if (status != MessageStatus::delivered && status != MessageStatus::read)
        return make_error(Errc::invalid_argument, "a receipt says delivered or read");
    auto update = m_impl->db.prepare("UPDATE message_receipts SET status = ?3, at_ms = ?4 WHERE "
                                     "message = ?1 AND member = ?2 AND status < ?3");
    if (!update)
        return update.error();
    VEIL_TRY(update->bind(1, message)
                 .bind(2, member)
                 .bind(3, static_cast<std::int64_t>(status))
                 .bind(4, at_ms)
                 .run());
    if (m_impl->db.changes() == 0)
        return std::optional<MessageStatus>();
    auto lowest = m_impl->db.prepare("SELECT min(status) FROM message_receipts WHERE message = ?1");
    if (!lowest)
        return lowest.error();
    auto row = lowest->bind(1, message).step();
    if (!row)
        return row.error();
    return std::optional<MessageStatus>(static_cast<MessageStatus>(lowest->column_int64(0)));
}

Result<std::vector<AccountStore::ReceiptRow>> AccountStore::receipts(std::int64_t message) {
    auto stmt = m_impl->db.prepare("SELECT member, status, at_ms FROM message_receipts WHERE "
                                   "message = ?1 ORDER BY member");
    if (!stmt)
        return stmt.error();
    stmt->bind(1, message);
    return collect<ReceiptRow>(stmt.value(), [](const Statement& s) {
        return ReceiptRow{s.column_text(0), static_cast<MessageStatus>(s.column_int64(1)),
                          s.column_int64(2)};
    });
}

Result<std::uint32_t> AccountStore::expire_timer(const std::string& peer) {
    auto stmt =
        m_impl->db.prepare("SELECT expire_timer_s FROM conversation_settings WHERE peer = ?1");
    if (!stmt)
        return stmt.error();
    auto row = stmt->bind(1, peer).step();
    if (!row)
        return row.error();
    return row.value() ? static_cast<std::uint32_t>(stmt->column_int64(0)) : 0u;
}

Status AccountStore::set_expire_timer(const std::string& peer, std::uint32_t seconds) {
    auto stmt = m_impl->db.prepare("INSERT OR REPLACE INTO conversation_settings (peer, "
                                   "expire_timer_s) VALUES (?1, ?2)");
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, peer).bind(2, static_cast<std::int64_t>(seconds)).run();
}

Result<AccountStore::Expired> AccountStore::delete_expired(std::int64_t now_ms) {
    Savepoint sp(m_impl->db);
    VEIL_TRY(sp.begun());
    Expired out;
    {
        auto stmt = m_impl->db.prepare("SELECT " VEIL_MESSAGE_COLUMNS VEIL_MESSAGE_FROM "WHERE "
                                       "x.expires_at_ms > 0 AND x.expires_at_ms <= ?1");
        if (!stmt)
            return stmt.error();
        stmt->bind(1, now_ms);
        auto rows = collect<MessageRow>(stmt.value(), read_message);
        if (!rows)
            return rows.error();
        out.messages = std::move(rows.value());
    }
    std::vector<std::string> peers;
    for (auto& row : out.messages) {
        auto files = drop_extras(m_impl->db, row.id);
        if (!files)
            return files.error();
        out.files.insert(out.files.end(), files->begin(), files->end());
        row.text.clear(); // the caller needs peer and ids only
        row.quote.reset();
        if (std::find(peers.begin(), peers.end(), row.peer) == peers.end())
            peers.push_back(row.peer);
    }
    for (const char* sql :
         {"CREATE TEMP TABLE IF NOT EXISTS expiring (id INTEGER PRIMARY KEY)",
          "DELETE FROM temp.expiring",
          "INSERT INTO temp.expiring SELECT message FROM message_details WHERE expires_at_ms > 0 "
          "AND expires_at_ms <= ?1",
          "DELETE FROM message_kinds WHERE message IN (SELECT id FROM temp.expiring)",
          // A reply to a vanished message keeps no copy of its text.
          "UPDATE message_details SET quote_text = '' WHERE quote_id IN (SELECT message_id FROM "
          "messages WHERE id IN (SELECT id FROM temp.expiring))",
          "DELETE FROM conversations WHERE last_message IN (SELECT id FROM temp.expiring)",
          "DELETE FROM message_details WHERE message IN (SELECT id FROM temp.expiring)",
          "DELETE FROM messages WHERE id IN (SELECT id FROM temp.expiring)",
          "DELETE FROM temp.expiring"}) {
        auto stmt = m_impl->db.prepare(sql);
        if (!stmt)
            return stmt.error();
        if (std::string_view(sql).find("?1") != std::string_view::npos)
            stmt->bind(1, now_ms);
        VEIL_TRY(stmt->run());
    }
    // A conversation whose last message went keeps its newest remaining one.
    for (const auto& peer : peers) {
        auto stmt = m_impl->db.prepare(
            "INSERT OR IGNORE INTO conversations (peer, last_message, last_activity_ms) SELECT "
            "peer, id, CASE WHEN direction = 0 AND received_at_ms != 0 THEN received_at_ms ELSE "
            "sent_at_ms END FROM messages WHERE peer = ?1 ORDER BY id DESC LIMIT 1");
        if (!stmt)
            return stmt.error();
        VEIL_TRY(stmt->bind(1, peer).run());
    }
    VEIL_TRY(sp.release());
    return out;
}

Result<std::optional<std::int64_t>> AccountStore::next_expiry() {
    auto stmt = m_impl->db.prepare(
        "SELECT min(expires_at_ms) FROM message_details WHERE expires_at_ms > 0");
    if (!stmt)
        return stmt.error();
    auto row = stmt->step();
    if (!row)
        return row.error();
    if (!row.value() || stmt->column_is_null(0))
        return std::optional<std::int64_t>();
    return std::optional<std::int64_t>(stmt->column_int64(0));
}

Status AccountStore::add_attachment(std::int64_t message, const AttachmentRow& a) {
    auto stmt = m_impl->db.prepare(
        "INSERT OR REPLACE INTO attachments (message, idx, blob_id, key, digest, size, "
        "blob_size, file_name, content_type, state, local_path, thumbnail) VALUES (?1, ?2, ?3, "
        "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, message)
        .bind(2, a.index)
        .bind(3, a.blob_id)
        .bind_blob(4, a.key)
        .bind_blob(5, a.digest)
        .bind(6, static_cast<std::int64_t>(a.size))
        .bind(7, static_cast<std::int64_t>(a.blob_size))
        .bind(8, a.file_name)
        .bind(9, a.content_type)
        .bind(10, static_cast<std::int64_t>(a.state))
        .bind(11, a.local_path)
        .bind_blob(12, a.thumbnail)
        .run();
}

Result<std::optional<AttachmentRow>> AccountStore::attachment(std::int64_t message, int index) {
    auto stmt = m_impl->db.prepare(
        "SELECT idx, blob_id, key, digest, size, blob_size, file_name, content_type, state, "
        "local_path, thumbnail FROM attachments WHERE message = ?1 AND idx = ?2");
    if (!stmt)
        return stmt.error();
    auto row = stmt->bind(1, message).bind(2, index).step();
    if (!row)
        return row.error();
    if (!row.value())
        return std::optional<AttachmentRow>();
    return std::optional<AttachmentRow>(read_attachment(stmt.value()));
}

Result<std::vector<std::pair<std::int64_t, int>>>
AccountStore::attachments_in(AttachmentState state) {
    auto stmt = m_impl->db.prepare(
        "SELECT message, idx FROM attachments WHERE state = ?1 ORDER BY message, idx");
    if (!stmt)
        return stmt.error();
    stmt->bind(1, static_cast<std::int64_t>(state));
    return collect<std::pair<std::int64_t, int>>(stmt.value(), [](const Statement& s) {
        return std::pair<std::int64_t, int>(s.column_int64(0), static_cast<int>(s.column_int64(1)));
    });
}

Status AccountStore::set_attachment_uploaded(std::int64_t message, int index,
                                             const std::string& blob_id) {
    auto stmt = m_impl->db.prepare(
        "UPDATE attachments SET blob_id = ?3, state = ?4 WHERE message = ?1 AND idx = ?2");
    if (!stmt)
        return stmt.error();
    VEIL_TRY(stmt->bind(1, message)
                 .bind(2, index)
                 .bind(3, blob_id)
                 .bind(4, static_cast<std::int64_t>(AttachmentState::ready))
                 .run());
    if (m_impl->db.changes() == 0)
        return make_error(Errc::not_found, "no such attachment");
    return {};
}

Status AccountStore::set_attachment_state(std::int64_t message, int index, AttachmentState state,
                                          const std::string& local_path) {
    auto stmt = m_impl->db.prepare(
        "UPDATE attachments SET state = ?3, local_path = ?4 WHERE message = ?1 AND idx = ?2");
    if (!stmt)
        return stmt.error();
    VEIL_TRY(stmt->bind(1, message)
                 .bind(2, index)
                 .bind(3, static_cast<std::int64_t>(state))
                 .bind(4, local_path)
                 .run());
    if (m_impl->db.changes() == 0)
        return make_error(Errc::not_found, "no such attachment");
    return {};
}

// Events

Status AccountStore::log_event(const EventRow& e) {
    auto stmt = m_impl->db.prepare(
        "INSERT INTO events (kind, message, message_id, status, conversation, count) VALUES "
        "(?1, ?2, ?3, ?4, ?5, ?6)");
    if (!stmt)
        return stmt.error();
    VEIL_TRY(stmt->bind(1, static_cast<std::int64_t>(e.kind))
                 .bind(2, e.message)
                 .bind_blob(3, e.message_id)
                 .bind(4, static_cast<std::int64_t>(e.status))
                 .bind(5, e.conversation)
                 .bind(6, e.count)
                 .run());
    auto prune = m_impl->db.prepare("DELETE FROM events WHERE seq <= ?1 - 10000");
    if (!prune)
        return prune.error();
    return prune->bind(1, m_impl->db.last_insert_rowid()).run();
}

Result<std::vector<AccountStore::EventRow>> AccountStore::events_after(std::int64_t seq,
                                                                       int limit) {
    auto stmt = m_impl->db.prepare("SELECT seq, kind, message, message_id, status, conversation, "
                                   "count FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2");
    if (!stmt)
        return stmt.error();
    stmt->bind(1, seq).bind(2, limit);
    return collect<EventRow>(stmt.value(), [](const Statement& s) {
        EventRow e;
        e.seq = s.column_int64(0);
        e.kind = static_cast<EventKind>(s.column_int64(1));
        e.message = s.column_int64(2);
        e.message_id = s.column_blob(3);
        e.status = static_cast<MessageStatus>(s.column_int64(4));
        e.conversation = s.column_text(5);
        e.count = static_cast<int>(s.column_int64(6));
        return e;
    });
}

// Identity trust

Result<AccountStore::Trust> AccountStore::trust(const std::string& name) {
    auto stmt = m_impl->db.prepare(
        "SELECT verified, needs_accept, changed_at_ms FROM identity_trust WHERE name = ?1");
    if (!stmt)
        return stmt.error();
    auto row = stmt->bind(1, name).step();
    if (!row)
        return row.error();
    Trust t;
    if (row.value()) {
        t.verified = stmt->column_int64(0) != 0;
        t.needs_accept = stmt->column_int64(1) != 0;
        t.changed_at_ms = stmt->column_int64(2);
    }
    return t;
}

Status AccountStore::set_verified(const std::string& name, bool verified) {
    auto stmt = m_impl->db.prepare(
        "INSERT OR REPLACE INTO identity_trust (name, verified, changed_at_ms, needs_accept, "
        "notice) VALUES (?1, ?2, coalesce((SELECT changed_at_ms FROM identity_trust WHERE name "
        "= ?1), 0), 0, coalesce((SELECT notice FROM identity_trust WHERE name = ?1), 0))");
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, name).bind(2, verified ? 1 : 0).run();
}

Status AccountStore::accept_identity(const std::string& name) {
    auto stmt = m_impl->db.prepare("UPDATE identity_trust SET needs_accept = 0 WHERE name = ?1");
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, name).run();
}

Result<std::vector<std::string>> AccountStore::take_identity_notices() {
    auto stmt =
        m_impl->db.prepare("SELECT name FROM identity_trust WHERE notice = 1 ORDER BY name");
    if (!stmt)
        return stmt.error();
    auto names =
        collect<std::string>(stmt.value(), [](const Statement& s) { return s.column_text(0); });
    if (!names)
        return names.error();
    if (!names->empty()) {
        auto clear = m_impl->db.prepare("UPDATE identity_trust SET notice = 0 WHERE notice = 1");
        if (!clear)
            return clear.error();
        VEIL_TRY(clear->run());
    }
    return names;
}

} // namespace veil::store
