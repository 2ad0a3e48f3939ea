#include "store/schema.h"

#include <array>
#include <string>

namespace veil::store {

namespace {

// Written for SQLite 3.15 (SQLCipher 3.4.1): no UPSERT, RETURNING, window functions or JSON1.
// Every message-bearing table lives only inside the encrypted file.
constexpr const char* kVersion1 = R"sql(
CREATE TABLE meta (
    key TEXT PRIMARY KEY NOT NULL,
    value NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('next_prekey_id', 1);

CREATE TABLE settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE contacts (
    name TEXT PRIMARY KEY NOT NULL,
    added_at_ms INTEGER NOT NULL
) WITHOUT ROWID;

-- AUTOINCREMENT: row ids are cursors (incoming_after) and must never be reused.
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    peer TEXT NOT NULL,
    message_id BLOB NOT NULL,
    direction INTEGER NOT NULL,
    sender TEXT NOT NULL,
    text TEXT NOT NULL,
    sent_at_ms INTEGER NOT NULL,
    received_at_ms INTEGER NOT NULL,
    status INTEGER NOT NULL,
    is_read INTEGER NOT NULL DEFAULT 0,
    UNIQUE (sender, message_id)
);
CREATE INDEX messages_by_peer ON messages (peer, id);
CREATE INDEX messages_by_message_id ON messages (message_id);
CREATE INDEX messages_unread ON messages (peer) WHERE direction = 0 AND is_read = 0;
CREATE INDEX messages_incoming ON messages (id) WHERE direction = 0;

CREATE TABLE conversations (
    peer TEXT PRIMARY KEY NOT NULL,
    last_message INTEGER NOT NULL REFERENCES messages (id),
    last_activity_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX conversations_by_activity ON conversations (last_activity_ms);

CREATE TABLE processed (
    sender TEXT NOT NULL,
    message_id BLOB NOT NULL,
    processed_at_ms INTEGER NOT NULL,
    PRIMARY KEY (sender, message_id)
) WITHOUT ROWID;

CREATE TABLE pending (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id BLOB NOT NULL,
    peer TEXT NOT NULL,
    content BLOB NOT NULL
);

CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id BLOB NOT NULL,
    peer TEXT NOT NULL,
    device_id INTEGER NOT NULL,
    type INTEGER NOT NULL,
    ciphertext BLOB NOT NULL,
    UNIQUE (message_id, peer, device_id)
);

CREATE TABLE sessions (
    name TEXT NOT NULL,
    device_id INTEGER NOT NULL,
    record BLOB NOT NULL,
    user_record BLOB NOT NULL,
    PRIMARY KEY (name, device_id)
) WITHOUT ROWID;

CREATE TABLE prekeys (
    id INTEGER PRIMARY KEY,
    record BLOB NOT NULL
);

CREATE TABLE signed_prekeys (
    id INTEGER PRIMARY KEY,
    record BLOB NOT NULL
);

CREATE TABLE identities (
    name TEXT NOT NULL,
    device_id INTEGER NOT NULL,
    key BLOB NOT NULL,
    PRIMARY KEY (name, device_id)
) WITHOUT ROWID;
)sql";

// libsignal's sender keys (group messages): one record per (group, sending device), ours
// included. Records hold chain keys and, for our own, the private signing key.
constexpr const char* kVersion2 = R"sql(
CREATE TABLE sender_keys (
    group_id BLOB NOT NULL,
    name TEXT NOT NULL,
    device_id INTEGER NOT NULL,
    record BLOB NOT NULL,
    PRIMARY KEY (group_id, name, device_id)
) WITHOUT ROWID;
)sql";

// Groups (veil.proto, "Groups"): the latest signed change of each group we are or were in, with
// its members, the name and description learned from GroupInfo, which member devices already
// hold our current sender key, and group sends waiting for the relay. System lines (joins,
// removals, refused changes) are messages whose kind is recorded in message_kinds; a message
// without a row there is an ordinary one, so the messages table itself is unchanged.
constexpr const char* kVersion3 = R"sql(
CREATE TABLE groups (
    group_id BLOB PRIMARY KEY NOT NULL,
    revision INTEGER NOT NULL,
    change BLOB NOT NULL,
    state_hash BLOB NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    avatar BLOB NOT NULL DEFAULT x'',
    has_left INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE group_members (
    group_id BLOB NOT NULL,
    username TEXT NOT NULL,
    admin INTEGER NOT NULL,
    PRIMARY KEY (group_id, username)
) WITHOUT ROWID;

CREATE TABLE group_key_holders (
    group_id BLOB NOT NULL,
    username TEXT NOT NULL,
    device_id INTEGER NOT NULL,
    PRIMARY KEY (group_id, username, device_id)
) WITHOUT ROWID;

CREATE TABLE group_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id BLOB NOT NULL UNIQUE,
    group_id BLOB NOT NULL,
    content BLOB NOT NULL,
    revision INTEGER NOT NULL DEFAULT 0,
    ciphertext BLOB
);

CREATE TABLE message_kinds (
    message INTEGER PRIMARY KEY REFERENCES messages (id),
    kind INTEGER NOT NULL
);
)sql";

// Version 4: a membership change of ours waits here, signed, until the relay answers it, so that a
// lost connection or a restart does not lose it (at most one per group). name: the name to give
// a group we create once the relay accepts it; share_info: send the group's name to its members
// once it applies (new members learn it only from us).
constexpr const char* kVersion4 = R"sql(
CREATE TABLE group_pending_changes (
    group_id BLOB PRIMARY KEY NOT NULL,
    revision INTEGER NOT NULL,
    change BLOB NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    share_info INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
)sql";

// Version 5: several devices per account (veil.proto, "Devices and linking").
// devices: the devices we know an account (ours included) to have; an account without a row in
// device_lists has a list we never learned, and the engine asks the relay before encrypting to
// it. pending rows now stay until the relay accepts the send, so that a send refused for a
// changed device list can be encrypted again for the new devices; outbox holds one ciphertext
// per (message, username, device), the sender's own devices included. sync: the message is
// also copied to our other devices.
constexpr const char* kVersion5 = R"sql(
CREATE TABLE device_lists (
    username TEXT PRIMARY KEY NOT NULL,
    learned_at_ms INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE devices (
    username TEXT NOT NULL,
    device_id INTEGER NOT NULL,
    PRIMARY KEY (username, device_id)
) WITHOUT ROWID;

ALTER TABLE pending ADD COLUMN sync INTEGER NOT NULL DEFAULT 0;
CREATE INDEX outbox_by_device ON outbox (peer, device_id);
CREATE INDEX group_key_holders_by_device ON group_key_holders (username, device_id);
)sql";

// Version 6: full-text search over message texts (FTS4 with the unicode61 tokenizer, so case
// and accents fold beyond ASCII), kept in step with messages by triggers and built for the rows
// already there. It indexes the messages table's own text: nothing leaves the encrypted file.
constexpr const char* kVersion6 = R"sql(
CREATE VIRTUAL TABLE messages_fts USING fts4(text, content='messages', tokenize=unicode61);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (docid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER messages_fts_delete BEFORE DELETE ON messages BEGIN
    DELETE FROM messages_fts WHERE docid = old.id;
END;
CREATE TRIGGER messages_fts_before_update BEFORE UPDATE OF text ON messages BEGIN
    DELETE FROM messages_fts WHERE docid = old.id;
END;
CREATE TRIGGER messages_fts_after_update AFTER UPDATE OF text ON messages BEGIN
    INSERT INTO messages_fts (docid, text) VALUES (new.id, new.text);
END;
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
)sql";

// Version 7: blocked accounts. Their messages are acked to the relay and never stored, shown or
// confirmed with a receipt.
constexpr const char* kVersion7 = R"sql(
CREATE TABLE blocked (
    name TEXT PRIMARY KEY NOT NULL,
    blocked_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// Version 8: everyday messaging. A message may quote another (reply), mention people, be edited
// or deleted for everyone (then its text is emptied, so search forgets it), and disappear:
// expires_at_ms is when every trace of it is deleted (0: never). These live in message_details
// (a row only for messages that have any), so the messages table itself is unchanged. Reactions
// hang off a message, one per person; attachments are files whose encrypted blob lives on the relay
// (key and digest only here). conversation_settings: each conversation's disappearing timer.
// identity_trust: contacts marked verified, and whether a changed identity key awaits the
// person's acceptance (a verified contact's new key stops our sending until then); notice: a
// change the engine has not yet written into the conversation. events: what changed about stored
// messages (edits, reactions, deletions, statuses, disappearances), in order, so that a headless
// client reports changes that another run processed; the newest 10,000 are kept.
constexpr const char* kVersion8 = R"sql(
CREATE TABLE message_details (
    message INTEGER PRIMARY KEY REFERENCES messages (id),
    quote_id BLOB,
    quote_author TEXT NOT NULL DEFAULT '',
    quote_text TEXT NOT NULL DEFAULT '',
    mentions TEXT NOT NULL DEFAULT '',
    edited_at_ms INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    expire_timer_s INTEGER NOT NULL DEFAULT 0,
    expires_at_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX message_details_expiring ON message_details (expires_at_ms) WHERE expires_at_ms > 0;

CREATE TABLE reactions (
    message INTEGER NOT NULL REFERENCES messages (id),
    reactor TEXT NOT NULL,
    emoji TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (message, reactor)
) WITHOUT ROWID;

CREATE TABLE attachments (
    message INTEGER NOT NULL REFERENCES messages (id),
    idx INTEGER NOT NULL,
    blob_id TEXT NOT NULL,
    key BLOB NOT NULL,
    digest BLOB NOT NULL,
    size INTEGER NOT NULL,
    blob_size INTEGER NOT NULL,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    state INTEGER NOT NULL DEFAULT 0,
    local_path TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (message, idx)
) WITHOUT ROWID;

CREATE TABLE conversation_settings (
    peer TEXT PRIMARY KEY NOT NULL,
    expire_timer_s INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE identity_trust (
    name TEXT PRIMARY KEY NOT NULL,
    verified INTEGER NOT NULL DEFAULT 0,
    changed_at_ms INTEGER NOT NULL DEFAULT 0,
    needs_accept INTEGER NOT NULL DEFAULT 0,
    notice INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind INTEGER NOT NULL,
    message INTEGER NOT NULL DEFAULT 0,
    message_id BLOB,
    status INTEGER NOT NULL DEFAULT 0,
    conversation TEXT NOT NULL DEFAULT '',
    count INTEGER NOT NULL DEFAULT 0
);
)sql";

// Version 9: receipts per member of our group messages. A row per member who was sent the
// message (status sent), raised to delivered or read by that member's receipts; the message's
// own status is the lowest of them, so two ticks mean every member has it.
constexpr const char* kVersion9 = R"sql(
CREATE TABLE message_receipts (
    message INTEGER NOT NULL REFERENCES messages (id),
    member TEXT NOT NULL,
    status INTEGER NOT NULL,
    at_ms INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (message, member)
) WITHOUT ROWID;
)sql";

// Version 10: a file's preview, sent inside the message (Attachment.thumbnail).
constexpr const char* kVersion10 = R"sql(
ALTER TABLE attachments ADD COLUMN thumbnail BLOB NOT NULL DEFAULT x'';
)sql";

// Migration i brings the schema from version i to version i + 1. Append only; never edit a
// migration that has shipped.
constexpr std::array kMigrations = {kVersion1, kVersion2, kVersion3, kVersion4, kVersion5,
                                    kVersion6, kVersion7, kVersion8, kVersion9, kVersion10};

} // namespace

int current_schema_version() {
    return static_cast<int>(kMigrations.size());
}

Status migrate(Database& db) {
    auto version = db.query_int("PRAGMA user_version");
    if (!version)
        return version.error();
    if (version.value() > current_schema_version())
        return make_error(Errc::database, "the account database was written by a newer version "
                                          "of Veil; update Veil to open it");
    for (auto v = version.value(); v < current_schema_version(); ++v) {
        VEIL_TRY(db.exec("BEGIN IMMEDIATE"));
        // PRAGMA takes no parameters; the version is a number we produce ourselves.
        std::string bump = "PRAGMA user_version = " + std::to_string(v + 1);
        Status st = db.exec(kMigrations[static_cast<std::size_t>(v)]);
        if (st)
            st = db.exec(bump.c_str());
        if (st)
            st = db.exec("COMMIT");
        if (!st) {
            if (db.in_transaction())
                (void)db.exec("ROLLBACK");
            return st;
        }
    }
    return {};
}

} // namespace veil::store
