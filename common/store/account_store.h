// AccountStore: one account's SQLCipher database (profile_dir/account.db). It implements
// libsignal's stores (crypto::ProtocolStore, sender keys included) and keeps the account, contacts,
// conversations, messages and the outgoing queue. The database key is Argon2id(passphrase, salt)
// handed to sqlite3_key as a raw key; the salt and KDF parameters live in profile_dir/kdf (not
// secret).
//
// Thread: one thread at a time. Every write outside an explicit Transaction is its own
// transaction. Errors are values; nothing here throws.
#pragma once

#include "crypto/protocol_store.h"
#include "util/result.h"
#include "util/secret_bytes.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace veil::store {

class Database;
class ProfileLock;

enum class Direction { incoming = 0, outgoing = 1 };

// Outgoing: queued (not yet accepted) -> sent (relay has it) -> delivered (recipient device has
// it) -> read (the recipient opened it, if they send read receipts). Incoming messages are
// `received`. `failed` marks a placeholder for an undecryptable message (text then holds the
// reason) or an outgoing message that can never be sent. `expired`: the relay deleted our
// message undelivered when its retention period ran out; it can be sent again.
enum class MessageStatus {
    queued = 0,
    sent = 1,
    delivered = 2,
    received = 3,
    failed = 4,
    read = 5,
    expired = 6
};

// An ordinary message, or a system line the client writes itself into a conversation (a join,
// a removal, a key change, a refused membership change). System lines have sender
// kSystemSender and are shown in row id order like any other message. synced: a message we
// sent from another of our devices (outgoing, shown as our own), which is news on this one.
enum class MessageKind { normal = 0, system = 1, synced = 2 };
inline constexpr const char* kSystemSender = "#system";

// The message a reply answers, as the reply quoted it (it shows even where the original is gone).
struct Quote {
    Bytes message_id;
    std::string author;
    std::string text;
};

// One person's reaction to a message.
struct ReactionRow {
    std::string reactor;
    std::string emoji;
    std::int64_t at_ms = 0;
};

// A file of a message. remote: only on the relay (download it); ready: the encrypted blob is in
// the profile (local_path) and opens with key; uploading: ours, on its way to the relay.
enum class AttachmentState { remote = 0, downloading = 1, ready = 2, failed = 3, uploading = 4 };

struct AttachmentRow {
    int index = 0;
    std::string blob_id;
    Bytes key;    // 64 bytes, AES-256 then HMAC-SHA256: only from attachment(), never in lists
    Bytes digest; // SHA-256 of the blob
    std::uint64_t size = 0;      // plaintext
    std::uint64_t blob_size = 0; // encrypted, as uploaded
    std::string file_name;
    std::string content_type;
    AttachmentState state = AttachmentState::remote;
    std::string local_path;
    Bytes thumbnail; // a small JPEG preview from the sender (protocol::kMaxThumbnailBytes)
};

struct MessageRow {
    std::int64_t id = 0; // local row id
    std::string peer;    // the other party of this 1:1 conversation
    Bytes message_id;    // 16 bytes, the wire message id
    Direction direction = Direction::incoming;
    std::string sender;
    std::string text;
    std::int64_t sent_at_ms = 0;
    std::int64_t received_at_ms = 0;
    MessageStatus status = MessageStatus::queued;
    MessageKind kind = MessageKind::normal;
    std::optional<Quote> quote;             // a reply
    std::vector<std::string> mentions;      // usernames mentioned (groups)
    std::int64_t edited_at_ms = 0;          // last edit (sender's clock); 0: never edited
    bool deleted = false;                   // deleted for everyone: text is empty
    std::uint32_t expire_timer_s = 0;       // the disappearing timer it was sent with
    std::int64_t expires_at_ms = 0;         // when it disappears (our clock); 0: never
    std::vector<ReactionRow> reactions;     // filled by the reading queries
    std::vector<AttachmentRow> attachments; // filled by the reading queries
};

// The conversation (MessageRow::peer) of a group: "#" and the group id in hex. '#' is never in a
// username, so a group conversation cannot collide with a 1:1 one.
std::string group_conversation(std::span<const std::uint8_t> group_id);
bool is_group_conversation(const std::string& peer);
// The group id of a group conversation, or nullopt for a 1:1 one (or a malformed name).
std::optional<Bytes> group_id_of(const std::string& conversation);

struct GroupMemberRow {
    std::string username;
    bool admin = false;
};

// A group as this account last accepted it. change is the serialized wire::GroupChange of
// `revision`, state_hash the SHA-256 of its state bytes (the next change's previous_hash).
// has_left: we left or were removed; the group is read-only.
struct GroupRow {
    Bytes group_id;
    std::uint64_t revision = 0;
    Bytes change;
    Bytes state_hash;
    std::string name;
    std::string description;
    Bytes avatar;
    bool has_left = false;
};

// A membership change of ours the relay has not answered yet: change is the serialized signed
// wire::GroupChange for `revision`; name is the name a group we create gets once accepted;
// share_info: once applied, send the group's name to its members (it adds some).
struct PendingGroupChange {
    Bytes group_id;
    std::uint64_t revision = 0;
    Bytes change;
    std::string name;
    bool share_info = false;
};

// A group message waiting for the relay: content is the serialized wire::Content. Once encrypted,
// ciphertext holds the SenderKeyMessage for `revision` (0 while not encrypted).
struct GroupOutboxItem {
    std::int64_t seq = 0;
    Bytes message_id;
    Bytes group_id;
    Bytes content;
    std::uint64_t revision = 0;
    Bytes ciphertext;
};

struct ConversationRow {
    std::string peer;
    std::string last_text;
    std::int64_t last_activity_ms = 0;
    int unread = 0;
};

struct AccountInfo {
    std::string username;
    std::string relay_url;
    std::uint32_t device_id = 1;
    bool registered = false; // the relay has accepted the registration
};

// A 1:1 message waiting for the relay to accept it (plaintext Content bytes, inside SQLCipher).
// peer is the recipient (our own username: our other devices only); sync: our other devices
// get a copy too (wire SyncSent).
struct PendingItem {
    std::int64_t seq = 0;
    Bytes message_id;
    std::string peer;
    Bytes content;
    bool sync = false;
};

// One device's ciphertext of a pending message; resent with the same id until the relay acks
// it. peer is the device's account: the recipient, or our own for the sync copies.
struct OutboxItem {
    Bytes message_id;
    std::string peer;
    std::int32_t device_id = 1;
    int type = 1; // crypto::CiphertextType
    Bytes ciphertext;
};

// Argon2id cost. The defaults are what a profile is created with; tests pass cheaper ones.
struct KdfParams {
    std::uint32_t t_cost = 3;
    std::uint32_t m_cost_kib = 64 * 1024;
    std::uint32_t parallelism = 1;
};

// For tests: hook runs on the calling thread whenever any AccountStore of the process opens a
// database file, prepares or runs a statement, so that a test can tell which threads use the
// store (the desktop checks that none is its GUI thread). nullptr (the default) turns it off.
// The hook must be thread-safe and quick; set it while no store is in use.
using StoreUseHook = void (*)();
void set_store_use_hook(StoreUseHook hook);

class AccountStore final : public crypto::ProtocolStore {
public:
    // Creates profile_dir (mode 0700) and a new database. Fails with already_exists if one is
    // there and with invalid_argument if the passphrase is empty. kdf sets the Argon2id cost
    // recorded in profile_dir/kdf; keep the default outside tests.
    static Result<std::unique_ptr<AccountStore>> create(const std::filesystem::path& profile_dir,
                                                        const SecretBytes& passphrase,
                                                        const KdfParams& kdf = KdfParams{});
    // Opens an existing database. Fails with wrong_passphrase if the key does not open it, with
    // not_found if there is no profile, with corrupt if the file is damaged, and with busy if
    // another process has the profile open.
    //
    // A passphrase change interrupted by a crash (change_passphrase) is settled here: the
    // database opens with whichever passphrase it is encrypted under, and the leftover kdf.next
    // is either put in place (the change had happened) or dropped (it had not).
    static Result<std::unique_ptr<AccountStore>> open(const std::filesystem::path& profile_dir,
                                                      const SecretBytes& passphrase);
    // Opens with the raw 32-byte database key (database_key() of an earlier open, kept in a
    // system keyring) instead of the passphrase, skipping Argon2id. Fails like open(), with
    // wrong_passphrase when the key no longer opens the database (the passphrase changed).
    static Result<std::unique_ptr<AccountStore>>
    open_with_key(const std::filesystem::path& profile_dir, const SecretBytes& key);
    // A second, read-only connection to a profile this process has open already (through
    // open(), open_with_key() or create()), for a thread that only reads while another one
    // writes: WAL lets it read beside the writer and it sees each write once committed. It takes
    // the raw key of the writer's store (no Argon2id), holds no profile lock (the writer does),
    // never migrates and writes nothing: the connection is query_only, so every write method
    // fails (Errc::io: SQLite says read-only). Fails with wrong_passphrase for a wrong key, with
    // not_found without a profile and with database when the file's schema is not this build's.
    // Close it before the writer's change_passphrase(), which needs the file to itself, and open it
    // again with the new key after.
    static Result<std::unique_ptr<AccountStore>>
    open_reader(const std::filesystem::path& profile_dir, const SecretBytes& key);
    static bool exists(const std::filesystem::path& profile_dir);
    // Deletes the files a profile consists of (not the folder, nor files others put there).
    // For undoing a create whose registration failed; the store must be closed.
    static void remove_profile(const std::filesystem::path& profile_dir);
    ~AccountStore() override;

    // Reads and checks every page (PRAGMA quick_check). Fails with corrupt if any page is
    // damaged. It costs a full read of the file, so it is for an explicit "verify" action, not
    // for every open; open() itself only proves the key on the first page.
    Status check_integrity();
    // True once damage was found in the open database: a statement met a damaged page or an
    // I/O error (SQLite's SQLITE_CORRUPT, SQLITE_NOTADB, SQLITE_IOERR), or check_integrity()
    // failed. From then on every write fails with Errc::corrupt and the same sentence, and
    // nothing is written into the file (no snapshot either); reads still work. Close the store
    // and restore_snapshot() to go on.
    bool damaged() const;

    // Snapshots (store/snapshots.cpp): encrypted copies of the database under the same key, in
    // profile_dir/snapshots, for restoring a profile whose database file was damaged.
    //
    // Writes a snapshot now if the newest is older than max_age_ms (or there is none), through
    // SQLite's backup API (a consistent copy even while the WAL holds changes), checks that it
    // opens and passes quick_check, and keeps the `keep` newest. Returns whether it wrote one.
    // Errors: io (disk full, permissions; the partial copy is removed), database.
    Result<bool> snapshot_if_older(std::int64_t now_ms, std::int64_t max_age_ms, int keep = 3);
    // The profile's snapshots, newest first.
    static std::vector<std::filesystem::path> snapshots(const std::filesystem::path& profile_dir);
    // Deletes every snapshot. change_passphrase calls it: snapshots under the old key would
    // still open with the old passphrase, which the change is meant to retire.
    static void remove_snapshots(const std::filesystem::path& profile_dir);
    // Puts the newest snapshot that the passphrase opens and that passes quick_check in place
    // of account.db; the damaged file (and its -wal and -shm) is kept aside as
    // account.db.damaged-<ms>, never deleted. Returns the snapshot used. Errors: not_found (no
    // snapshot the passphrase opens whole), busy (the profile is open elsewhere), corrupt (the
    // kdf file is damaged), io.
    //
    // The restored copy is older than what the relay and the other side know: before it goes in
    // place, its next one-time prekey id jumps ahead by a random 2^20 to 2^21 (more ids than a
    // client hands out in years of refills), so that no id uploaded after the snapshot is used
    // again, and the restore time is recorded (restored_at_ms).
    static Result<std::filesystem::path> restore_snapshot(const std::filesystem::path& profile_dir,
                                                          const SecretBytes& passphrase,
                                                          std::int64_t now_ms);
    // When this database was last put in place by restore_snapshot (now_ms as given there), or 0
    // if never. Sessions older than that may have moved on at the other side.
    Result<std::int64_t> restored_at_ms();

    // The raw key the database is encrypted with now (a copy; wipe it when done). It opens the
    // profile through open_with_key() until the passphrase changes.
    SecretBytes database_key() const;

    // Changes the passphrase (store/passphrase_change.cpp): old_passphrase must be the current
    // one (else wrong_passphrase, nothing changed). A fresh salt and kdf (the Argon2id cost)
    // give a new key; every page is re-encrypted under it. Crash-safe: the new kdf parameters go
    // to profile_dir/kdf.next first (written and flushed), then the database is re-encrypted in
    // one transaction, then kdf.next replaces kdf; at every point one of the two passphrases
    // opens the profile (open() settles what is left). Fails with invalid_argument for an
    // empty new passphrase and busy inside a Transaction. database_key() is the new key after.
    Status change_passphrase(const SecretBytes& old_passphrase, const SecretBytes& new_passphrase,
                             const KdfParams& kdf = KdfParams{});

    // RAII transaction: rolls back unless commit() succeeded. Begun inside another one, it is a
    // savepoint of it: its commit keeps its changes for the outer transaction to commit (nothing
    // is durable before the outermost commit), its rollback undoes only its own changes.
    class Transaction {
    public:
        explicit Transaction(AccountStore& store);
        ~Transaction();
        Transaction(const Transaction&) = delete;
        Transaction& operator=(const Transaction&) = delete;
        Status begun() const { return m_begun; }
        Status commit();
        bool nested() const { return m_nested; }

    private:
        AccountStore& m_store;
        bool m_nested;
        Status m_begun;
        bool m_done = false;
    };

    // Account. account() fails with not_found until set_account has been called.
    Result<AccountInfo> account();
    Status set_account(const AccountInfo& info);
    Status set_identity(const crypto::IdentityKeyPair& pair, std::uint32_t registration_id);
    Result<bool> has_identity();
    // A monotonic counter for one-time prekey ids, persisted; returns the first id of a block
    // of `count` and advances past it. Ids are never reused.
    Result<std::uint32_t> reserve_prekey_ids(unsigned count);

    // Contacts.
    Status add_contact(const std::string& name, std::int64_t now_ms);
    Result<std::vector<std::string>> contacts();
    Result<bool> is_contact(const std::string& name);
    // Blocked accounts (schema version 7); blocking twice or unblocking a stranger is no error.
    Status set_blocked(const std::string& name, bool blocked, std::int64_t now_ms);
    Result<bool> is_blocked(const std::string& name);
    Result<std::vector<std::string>> blocked();

    // Conversations and messages. insert_message fails with duplicate_message if a message with
    // the same (sender, message_id) exists. set_status changes outgoing messages only and fails
    // with not_found if none has the id. messages() returns the newest `limit` rows of a peer in
    // local arrival (row id) order, oldest first. conversations() is newest activity first; an
    // incoming message counts from received_at_ms (the sender's clock is not trusted), an
    // outgoing one from sent_at_ms; unread counts incoming messages since the last mark_read.
    Result<std::int64_t> insert_message(const MessageRow& row);
    Result<bool> has_message(const std::string& sender, std::span<const std::uint8_t> message_id);
    Status set_status(std::span<const std::uint8_t> message_id, MessageStatus status);
    Result<std::optional<MessageRow>> find_outgoing(std::span<const std::uint8_t> message_id);
    Result<std::vector<MessageRow>> messages(const std::string& peer, int limit);
    Result<std::vector<ConversationRow>> conversations();
    Status mark_read(const std::string& peer);
    // Incoming messages of a conversation not marked read.
    Result<int> unread(const std::string& peer);
    // The unread incoming messages of a conversation, as (sender, message id), oldest first.
    Result<std::vector<std::pair<std::string, Bytes>>> unread_incoming(const std::string& peer);
    // The newest incoming message of a conversation, as (sender, message id), if any.
    Result<std::optional<std::pair<std::string, Bytes>>> newest_incoming(const std::string& peer);
    // Marks the conversation's incoming messages read up to and including (sender, message_id)
    // in arrival order; all of them when that message is not here.
    Status mark_read_up_to(const std::string& peer, const std::string& sender,
                           std::span<const std::uint8_t> message_id);
    // Messages of every conversation whose text holds every word of query (case and accents
    // folded; the last word also as a prefix), newest first, system lines left out. The query
    // is plain words, never search syntax: quotes, stars and operators are only characters.
    Result<std::vector<MessageRow>> search(std::string_view query, int limit);
    // Incoming messages, and ours sent from our other devices (MessageKind::synced), of all
    // conversations with a row id above after_id, oldest first.
    Result<std::vector<MessageRow>> incoming_after(std::int64_t after_id, int limit);

    // ---- Everyday messaging (schema version 8).
    // A message by its sender and wire id, or by row id; nullopt when not here.
    Result<std::optional<MessageRow>> find_message(const std::string& sender,
                                                   std::span<const std::uint8_t> message_id);
    Result<std::optional<MessageRow>> message_by_id(std::int64_t id);
    // Every message with this wire id (normally one), oldest first.
    Result<std::vector<MessageRow>> find_by_message_id(std::span<const std::uint8_t> message_id);
    // The newest `limit` messages of a peer before row id `before` (0: the newest), oldest first.
    Result<std::vector<MessageRow>> messages_before(const std::string& peer, std::int64_t before,
                                                    int limit);
    // An edit: the new text, and when it was made (sender's clock).
    Status edit_message(std::int64_t id, const std::string& text, std::int64_t edited_at_ms);
    // Deleted for everyone: text, quote and mentions are emptied, reactions and attachments go;
    // the row stays as a tombstone. Returns the local files of its attachments, to unlink.
    Result<std::vector<std::string>> delete_for_everyone(std::int64_t id);
    // One reaction per person per message; an empty emoji removes it.
    Status set_reaction(std::int64_t message, const std::string& reactor, const std::string& emoji,
                        std::int64_t at_ms);
    // A conversation's disappearing timer in seconds (0: off).
    Result<std::uint32_t> expire_timer(const std::string& peer);
    Status set_expire_timer(const std::string& peer, std::uint32_t seconds);
    // Deletes every message whose time is up (expires_at_ms <= now): the rows, their reactions,
    // attachments and search entries; a conversation keeps its newest remaining message or, with
    // none left, leaves the list (its settings stay).
    struct Expired {
        std::vector<MessageRow> messages; // peer, id and message_id of each deleted row
        std::vector<std::string> files;   // local attachment files, to unlink
    };
    Result<Expired> delete_expired(std::int64_t now_ms);
    // The earliest expires_at_ms of any message, or nullopt.
    Result<std::optional<std::int64_t>> next_expiry();
    // Attachments of a message (also filled into MessageRow::attachments by reading queries).
    Status add_attachment(std::int64_t message, const AttachmentRow& attachment);
    // (message row id, index) of every attachment in a state, oldest message first.
    Result<std::vector<std::pair<std::int64_t, int>>> attachments_in(AttachmentState state);
    // An upload finished: the relay's blob id, and the state ready.
    Status set_attachment_uploaded(std::int64_t message, int index, const std::string& blob_id);
    // One attachment with its key, or nullopt.
    Result<std::optional<AttachmentRow>> attachment(std::int64_t message, int index);
    Status set_attachment_state(std::int64_t message, int index, AttachmentState state,
                                const std::string& local_path);

    // ---- Receipts per member of our group messages (schema version 9).
    struct ReceiptRow {
        std::string member;
        MessageStatus status = MessageStatus::sent; // sent (no receipt yet), delivered or read
        std::int64_t at_ms = 0;                     // when the receipt arrived (our clock)
    };
    // The members a group message of ours went to, each waiting for their receipts.
    Status expect_receipts(std::int64_t message, const std::vector<std::string>& members);
    // A member's receipt (delivered or read; a read is never lowered). Returns the lowest status
    // over all the message's members when this changed anything, nullopt when it did not (a
    // repeat, or from someone the message was not sent to).
    Result<std::optional<MessageStatus>> record_receipt(std::int64_t message,
                                                        const std::string& member,
                                                        MessageStatus status, std::int64_t at_ms);
    // Every member's receipt state for a message, by member name.
    Result<std::vector<ReceiptRow>> receipts(std::int64_t message);

    // Changes to stored messages, in order (schema version 8, table events).
    enum class EventKind { changed = 1, status = 2, disappeared = 3 };
    struct EventRow {
        std::int64_t seq = 0;
        EventKind kind = EventKind::changed;
        std::int64_t message = 0; // changed: the row id
        Bytes message_id;         // status: the message
        MessageStatus status = MessageStatus::queued;
        std::string conversation; // disappeared: where, and how many
        int count = 0;
    };
    Status log_event(const EventRow& event);
    Result<std::vector<EventRow>> events_after(std::int64_t seq, int limit);

    // Identity trust. verified: the person compared safety numbers and said they match.
    // A changed identity key (saved by libsignal through save_identity) clears verified, sets
    // needs_accept if the contact was verified, and leaves a notice for the engine to write
    // into the conversation (take_identity_notices, which also clears them).
    struct Trust {
        bool verified = false;
        bool needs_accept = false;
        std::int64_t changed_at_ms = 0;
    };
    Result<Trust> trust(const std::string& name);
    Status set_verified(const std::string& name, bool verified);
    // The person accepts a changed key: sending resumes (not verified until they verify again).
    Status accept_identity(const std::string& name);
    Result<std::vector<std::string>> take_identity_notices();

    // Groups. save_group writes the group row and replaces its member list, in one savepoint;
    // name, description, avatar and has_left are kept from the stored row when it exists (they
    // change through set_group_info and set_group_left). group() is nullopt for an unknown id.
    Status save_group(const GroupRow& group, const std::vector<GroupMemberRow>& members);
    Result<std::optional<GroupRow>> group(std::span<const std::uint8_t> group_id);
    Result<std::vector<GroupRow>> groups();
    Result<std::vector<GroupMemberRow>> group_members(std::span<const std::uint8_t> group_id);
    Status set_group_info(std::span<const std::uint8_t> group_id, const std::string& name,
                          const std::string& description, std::span<const std::uint8_t> avatar);
    Status set_group_left(std::span<const std::uint8_t> group_id, bool has_left);

    // Member devices that already hold our current sender key for a group. A rotation clears
    // them all; a departed member's rows go with remove_sender_key_holder.
    Status add_sender_key_holder(std::span<const std::uint8_t> group_id,
                                 const std::string& username, std::int32_t device_id);
    Result<bool> holds_sender_key(std::span<const std::uint8_t> group_id,
                                  const std::string& username, std::int32_t device_id);
    Status remove_sender_key_holder(std::span<const std::uint8_t> group_id,
                                    const std::string& username);
    Status clear_sender_key_holders(std::span<const std::uint8_t> group_id);

    // Our membership changes awaiting the relay, at most one per group (saving another for the
    // same group replaces it).
    Status save_pending_group_change(const PendingGroupChange& change);
    Result<std::vector<PendingGroupChange>> pending_group_changes();
    Status remove_pending_group_change(std::span<const std::uint8_t> group_id);

    // Group sends, oldest first. set_group_ciphertext records the encryption for revision.
    Status add_group_outbox(const GroupOutboxItem& item);
    Result<std::vector<GroupOutboxItem>> group_outbox();
    Status set_group_ciphertext(std::span<const std::uint8_t> message_id, std::uint64_t revision,
                                std::span<const std::uint8_t> ciphertext);
    Status remove_group_outbox(std::span<const std::uint8_t> message_id);

    // The identity key we hold for a peer (saved by libsignal when a session began), or
    // nullopt. Every device of an account shares its identity key, so a key saved for any of
    // the account's devices counts; our own account's is our own identity key.
    Result<std::optional<Bytes>> peer_identity(const crypto::ProtocolAddress& a);
    // Every identity key we hold, one per account: (username, key).
    Result<std::vector<std::pair<std::string, Bytes>>> peer_identities();

    // Small client settings (e.g. the headless CLI's print cursor); empty when unset.
    Result<std::string> setting(const std::string& key);
    Status set_setting(const std::string& key, const std::string& value);

    // Envelopes already processed (by sender and wire message id), so that a redelivery after a
    // crash between commit and ack is acked and not shown twice.
    Status mark_processed(const std::string& sender, std::span<const std::uint8_t> message_id,
                          std::int64_t now_ms);
    Result<bool> was_processed(const std::string& sender, std::span<const std::uint8_t> message_id);

    // Outgoing pipeline.
    Result<std::int64_t> add_pending(const PendingItem& item);
    Result<std::vector<PendingItem>> pending();
    // The newest pending message to peer, if any, and a new content for a pending message (one
    // not yet encrypted for anyone: a delivery receipt that takes more ids).
    Result<std::optional<PendingItem>> last_pending_to(const std::string& peer);
    Status set_pending_content(std::int64_t seq, std::span<const std::uint8_t> content);
    Status remove_pending(std::int64_t seq);
    Status add_outbox(const OutboxItem& item);
    Result<std::vector<OutboxItem>> outbox();
    // The copies of one message, and removal of one device's copies of every message (the
    // device is gone: they are encrypted for nobody).
    Result<std::vector<OutboxItem>> outbox_of(std::span<const std::uint8_t> message_id);
    Status remove_outbox(std::span<const std::uint8_t> message_id);
    Status remove_outbox_device(const std::string& username, std::int32_t device_id);

    // Devices of accounts, ours included (see schema version 5). known_devices is nullopt when
    // the account's list was never learned. set_known_devices replaces the list;
    // add_known_device adds to a learned list only (one device does not make a list).
    Result<std::optional<std::vector<std::int32_t>>> known_devices(const std::string& username);
    Status set_known_devices(const std::string& username, std::span<const std::int32_t> ids,
                             std::int64_t now_ms);
    Status add_known_device(const std::string& username, std::int32_t device_id);
    Status remove_known_device(const std::string& username, std::int32_t device_id);
    // Groups where this device holds our sender key; forgetting the device removes those rows.
    Result<std::vector<Bytes>> groups_keyed_to(const std::string& username, std::int32_t device_id);
    Status forget_key_holder(const std::string& username, std::int32_t device_id);
    // Every (username, device) holding our current sender key for a group.
    Result<std::vector<std::pair<std::string, std::int32_t>>>
    sender_key_holders(std::span<const std::uint8_t> group_id);

    // This device's own key pair for authenticating to the relay (not the account's identity,
    // which every device of the account shares). nullopt: a profile from before linking
    // existed, which authenticates with the identity key.
    Result<std::optional<crypto::IdentityKeyPair>> device_key_pair();
    Status set_device_key_pair(const crypto::IdentityKeyPair& pair);

    // crypto::ProtocolStore
    Result<std::optional<crypto::SessionRecordBytes>>
    load_session(const crypto::ProtocolAddress& a) override;
    Result<std::vector<std::int32_t>> session_devices(const std::string& name) override;
    Status store_session(const crypto::ProtocolAddress& a, std::span<const std::uint8_t> record,
                         std::span<const std::uint8_t> user_record) override;
    Result<bool> contains_session(const crypto::ProtocolAddress& a) override;
    Status delete_session(const crypto::ProtocolAddress& a) override;
    Status delete_all_sessions(const std::string& name) override;
    Result<std::optional<SecretBytes>> load_prekey(std::uint32_t id) override;
    Status store_prekey(std::uint32_t id, std::span<const std::uint8_t> record) override;
    Result<bool> contains_prekey(std::uint32_t id) override;
    Status remove_prekey(std::uint32_t id) override;
    Result<std::optional<SecretBytes>> load_signed_prekey(std::uint32_t id) override;
    Status store_signed_prekey(std::uint32_t id, std::span<const std::uint8_t> record) override;
    Result<bool> contains_signed_prekey(std::uint32_t id) override;
    Status remove_signed_prekey(std::uint32_t id) override;
    Result<crypto::IdentityKeyPair> identity_key_pair() override;
    Result<std::uint32_t> local_registration_id() override;
    Status save_identity(const crypto::ProtocolAddress& a,
                         std::span<const std::uint8_t> key) override;
    Result<bool> is_trusted_identity(const crypto::ProtocolAddress& a,
                                     std::span<const std::uint8_t> key) override;
    Result<std::optional<SecretBytes>> load_sender_key(const crypto::SenderKeyName& n) override;
    Status store_sender_key(const crypto::SenderKeyName& n,
                            std::span<const std::uint8_t> record) override;
    Status delete_sender_key(const crypto::SenderKeyName& n) override;

private:
    class Impl;
    explicit AccountStore(std::unique_ptr<Impl> impl);
    // The part of open() and open_with_key() after the key proved right.
    static Result<std::unique_ptr<AccountStore>>
    finish_open(Database db, ProfileLock lock, const std::filesystem::path& dir, SecretBytes key);
    std::unique_ptr<Impl> m_impl;
};

// Argon2id(passphrase, salt) -> 32-byte key. Exposed for tests and benchmarks.
Result<SecretBytes> derive_key(const SecretBytes& passphrase, std::span<const std::uint8_t> salt,
                               const KdfParams& params);

} // namespace veil::store
