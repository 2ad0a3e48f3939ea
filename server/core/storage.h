// RelayStore: everything the relay keeps on disk. Accounts and their devices' public keys,
// prekeys, the per-device mailboxes of ciphertext, the send log that makes retries idempotent,
// invite codes, and groups: each group's current signed state, its member list, every accepted
// change, and group messages stored once and referenced from the mailboxes. The relay holds no
// private key and no plaintext, so nothing here is secret.
//
// Errors come back as values: Errc::already_exists, Errc::not_found and Errc::refused carry the
// meanings documented per method; Errc::database means the storage failed and the request may
// be retried. Implementations are safe to call from many threads at once.
#pragma once

#include "util/result.h"
#include "util/secret_bytes.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace veil::relay {

struct SignedPrekeyRecord {
    std::uint32_t id = 0;
    Bytes public_key;
    Bytes signature;
};

struct OneTimePrekeyRecord {
    std::uint32_t id = 0;
    Bytes public_key;
};

struct NewAccount {
    std::string username;
    Bytes identity_key;
    std::uint32_t registration_id = 0;
    SignedPrekeyRecord signed_prekey;
    std::vector<OneTimePrekeyRecord> one_time_prekeys;
    std::string invite_code; // empty when no invite is needed
    bool invite_required = false;
    Bytes device_key;  // device 1's auth key; empty: the identity key is
    Bytes device_name; // sealed by the client; the relay cannot read it
};

// A device linked to an existing account (DeviceAddRequest). Its identity key is the account's.
struct NewDevice {
    Bytes auth_key;
    std::uint32_t registration_id = 0;
    SignedPrekeyRecord signed_prekey;
    std::vector<OneTimePrekeyRecord> one_time_prekeys;
    Bytes name; // sealed by the client
};

struct DeviceRecord {
    std::string username;
    std::uint32_t device_id = 0;
    std::uint32_t registration_id = 0;
    Bytes identity_key; // the account's, shared by all its devices
    Bytes auth_key;     // verifies this device's authentication signatures
    bool removed = false;
};

// A device was connected at seen_ms (DeviceInfo.last_seen_ms).
struct DeviceSeen {
    std::string username;
    std::uint32_t device_id = 0;
    std::int64_t seen_ms = 0;
};

// An active device as DeviceList shows it to its own account.
struct DeviceInfoRecord {
    std::uint32_t device_id = 0;
    std::uint32_t registration_id = 0;
    Bytes name; // sealed by the client
    std::int64_t created_ms = 0;
    std::int64_t last_seen_ms = 0;
};

struct PrekeyBundleRecord {
    DeviceRecord device;
    SignedPrekeyRecord signed_prekey;
    std::optional<OneTimePrekeyRecord> one_time_prekey;
};

// One device's copy of a 1:1 message, as the sender encrypted it for that device.
struct EnvelopeCopy {
    std::string username; // to_username, or (sync) the sender
    std::uint32_t device_id = 0;
    std::uint32_t type = 0;
    Bytes ciphertext;
    // The delivery id to store it under, from allocate_delivery_id(); 0: the store picks one.
    std::uint64_t delivery_id = 0;
};

// A 1:1 message as the sender handed it over (SendRequest): one copy per device of
// to_username and, with sync, one per other device of the sender. The copies must address
// exactly those active devices (when to_username is the sender: its devices but the sending
// one, and sync is false); the store checks that inside its transaction and stores every copy
// or none.
struct NewEnvelope {
    std::string from_username;
    std::uint32_t from_device_id = 0;
    std::string to_username;
    bool sync = false;
    Bytes message_id;
    Bytes content_digest; // identifies the content (all copies) for the idempotency check
    std::vector<EnvelopeCopy> copies;
};

// A send the store has committed, as the send log keeps it.
struct SendRecord {
    Bytes content_digest;
    std::uint64_t delivery_id = 0;
    std::int64_t server_timestamp_ms = 0;
    std::vector<std::string> unreachable; // group sends: members without a device
};

// A group membership change as its signer sent it (wire GroupChange), with the server time the
// relay accepted it.
struct GroupChangeRecord {
    Bytes group_id;
    std::uint64_t revision = 0;
    Bytes state; // the serialized GroupState, exactly as signed
    std::string signer;
    Bytes signature;
    std::int64_t server_timestamp_ms = 0;
};

// A message of the recipient's that the retention purge deleted undelivered (wire
// ExpiredNotice): one per (message, recipient account), queued to every device of its sender.
struct ExpiredRecord {
    Bytes message_id;
    std::string to_username;
    Bytes group_id;              // group messages
    std::int64_t sent_at_ms = 0; // the server time of the original send
};

struct StoredEnvelope {
    std::uint64_t delivery_id = 0;
    Bytes message_id;
    std::string from_username;
    std::uint32_t from_device_id = 0;
    std::uint32_t type = 0;
    Bytes ciphertext;
    std::int64_t server_timestamp_ms = 0;
    Bytes group_id;                          // set for group messages and group changes
    std::optional<GroupChangeRecord> change; // set for a group change (type CIPHERTEXT_NONE)
    std::optional<ExpiredRecord> expired;    // set for an expiry notice (type CIPHERTEXT_NONE)
};

// A notice the purge queued: the device whose mailbox holds it and the envelope as stored.
struct QueuedNotice {
    std::string username;
    std::uint32_t device_id = 0;
    StoredEnvelope envelope;
};

// What purge_before did: mailbox envelopes deleted and the expiry notices it queued instead.
struct PurgeOutcome {
    std::size_t deleted = 0;
    std::vector<QueuedNotice> notices;
};

// One device a group message or change goes to, with its delivery id (0: the store picks one).
struct GroupRecipient {
    std::string username;
    std::uint32_t device_id = 0;
    std::uint64_t delivery_id = 0;
};

// A group message for every device in recipients, stored once (one payload) and referenced by
// one mailbox row per device. The store checks, in its transaction, that the group is at
// revision and that the sender is a current member; the recipients are the active devices of
// the other members at that revision and the sender's own other devices, which the caller read
// (a revision names one member list). A recipient removed meanwhile gets no row.
struct NewGroupMessage {
    std::string from_username;
    std::uint32_t from_device_id = 0;
    Bytes group_id;
    std::uint64_t revision = 0;
    Bytes message_id;
    std::uint32_t type = 0;
    Bytes ciphertext;
    Bytes content_digest; // for the send log's idempotency check
    std::vector<GroupRecipient> recipients;
    std::vector<std::string> unreachable; // members without a device, kept for retries
};

// An accepted membership change: the group moves from previous_revision (0: it does not exist
// yet) to change.revision, with members as its new member list, and the change goes to every
// device in recipients (members of the previous and the new state). The caller checked the
// signature and the rules against the state at previous_revision.
struct NewGroupChange {
    GroupChangeRecord change;
    std::uint64_t previous_revision = 0;
    Bytes state_hash;                                  // SHA-256 of change.state
    std::vector<std::pair<std::string, bool>> members; // (username, admin), the new state's
    std::vector<GroupRecipient> recipients;
};

struct EnqueueOutcome {
    std::vector<std::uint64_t> delivery_ids; // one per copy, in order; empty for a duplicate
    std::int64_t server_timestamp_ms = 0;
    bool duplicate = false; // the same send was stored before; nothing new was written
};

// One mailbox write of a group commit: an envelope to store (as enqueue) or deliveries a device
// acknowledged (as ack).
struct MailboxAck {
    std::string username;
    std::uint32_t device_id = 0;
    std::vector<std::uint64_t> delivery_ids;
};

struct MailboxWrite {
    std::variant<NewEnvelope, MailboxAck, NewGroupMessage, NewGroupChange> what;
    std::int64_t now_ms = 0; // the server time the request arrived
};

// What a group message or change came to. duplicate: the same group send (by sender, device
// and message id), or the same change at the same revision, was stored before; nothing new was
// written and the recipients got nothing new.
struct GroupWriteOutcome {
    std::int64_t server_timestamp_ms = 0;
    bool duplicate = false;
    std::vector<std::string> unreachable; // group sends
};

// What one MailboxWrite came to: an EnqueueOutcome for an envelope, the number of deliveries
// deleted for an ack, a GroupWriteOutcome for a group message or change; or the refusal the
// store returned. Group refusals: already_exists (a message id used for other content, or
// revision 1 of a group that exists), invalid_argument (the group is not at the revision the
// write expects: stale), refused (the sender is not a current member), not_found (no such
// group). A send's refusals are enqueue's.
using MailboxWriteOutcome =
    std::variant<Result<EnqueueOutcome>, Result<std::size_t>, Result<GroupWriteOutcome>>;

// A group as the relay keeps it: its current revision and state.
struct GroupRecord {
    Bytes group_id;
    std::uint64_t revision = 0;
    Bytes state;      // the latest accepted GroupState, serialized as signed
    Bytes state_hash; // SHA-256 of state
};

// One user's place in a group: a current member, or a former one removed at left_revision.
struct GroupMembership {
    bool admin = false;
    bool current = false;
    std::uint64_t left_revision = 0; // former members: the revision that removed them
};

struct DeviceAddress {
    std::string username;
    std::uint32_t device_id = 0;
};

class RelayStore {
public:
    virtual ~RelayStore() = default;

    // Creates the account with device 1, its signed prekey and one-time prekeys, and consumes
    // the invite code, all in one transaction. already_exists: the username is taken.
    // refused: an invite is required and the code is unknown or was used before.
    virtual Status create_account(const NewAccount& account, std::int64_t now_ms) = 0;

    // The device, active or removed (DeviceRecord::removed); nullopt: it never existed.
    virtual Result<std::optional<DeviceRecord>> find_device(const std::string& username,
                                                            std::uint32_t device_id) = 0;

    // The account's identity key, whichever of its devices remain; nullopt: no such account.
    virtual Result<std::optional<Bytes>> find_identity_key(const std::string& username) = 0;

    // Adds a device to the account under a number it never used before (numbers of removed
    // devices are not given out again), with its prekeys, in one transaction. Returns the
    // device id. not_found: no such account. refused: the account has kMaxDevicesPerAccount
    // active devices.
    virtual Result<std::uint32_t> add_device(const std::string& username, const NewDevice& device,
                                             std::int64_t now_ms) = 0;

    // The account's active devices, by device id; nullopt: no such account.
    virtual Result<std::optional<std::vector<DeviceInfoRecord>>>
    list_devices(const std::string& username) = 0;

    // Marks the device removed (it keeps its number, so that it is never reused) and deletes
    // its prekeys and its mailbox, in one transaction. not_found: no such active device.
    // refused: it is the account's last active device.
    virtual Status remove_device(const std::string& username, std::uint32_t device_id,
                                 std::int64_t now_ms) = 0;

    // Records when each device was last connected, all in one transaction. Unknown devices are
    // ignored.
    virtual Status touch_last_seen(std::span<const DeviceSeen> devices) = 0;

    // not_found: no such device.
    virtual Status replace_signed_prekey(const std::string& username, std::uint32_t device_id,
                                         const SignedPrekeyRecord& prekey) = 0;

    // Adds one-time prekeys; ids the device already has are ignored. not_found: no such device.
    virtual Status add_one_time_prekeys(const std::string& username, std::uint32_t device_id,
                                        std::span<const OneTimePrekeyRecord> prekeys) = 0;

    virtual Result<std::uint32_t> count_one_time_prekeys(const std::string& username,
                                                         std::uint32_t device_id) = 0;

    // The bundles of the named active devices of the account (all of them when device_ids is
    // empty; ids of other devices are skipped), by device id, removing the one-time prekey each
    // hands out in the same transaction, so that each one is handed out at most once. nullopt:
    // no account.
    virtual Result<std::optional<std::vector<PrekeyBundleRecord>>>
    take_prekey_bundles(const std::string& username, std::span<const std::uint32_t> device_ids) = 0;

    // Stores every copy of a message durably in its device's mailbox, or recognises a retry of
    // the same (sender, sender device, message id). already_exists: that id was used for
    // different content. not_found: to_username has no account. refused: the copies do not
    // address exactly the devices they must (NewEnvelope); nothing was stored.
    virtual Result<EnqueueOutcome> enqueue(const NewEnvelope& envelope, std::int64_t now_ms) = 0;

    // Up to limit queued envelopes of one device with delivery ids above after_id, oldest first.
    virtual Result<std::vector<StoredEnvelope>> queued(const std::string& username,
                                                       std::uint32_t device_id,
                                                       std::uint64_t after_id,
                                                       std::size_t limit) = 0;

    // Deletes the given deliveries from this device's mailbox only; other ids are ignored.
    // Returns how many were deleted.
    virtual Result<std::size_t> ack(const std::string& username, std::uint32_t device_id,
                                    std::span<const std::uint64_t> delivery_ids) = 0;

    // Applies writes in order, in one transaction with one commit. An item the store refuses
    // (see MailboxWriteOutcome) gets its refusal as its outcome and writes nothing; the others
    // still apply. Items see the earlier items of the same call, so a retried send in the same
    // batch is a duplicate, and an ack of a delivery stored earlier in the batch deletes it
    // before anything reaches the disk. Errc::database: the whole call was rolled back and
    // nothing was written. On success, one outcome per write, in the same order.
    virtual Result<std::vector<MailboxWriteOutcome>>
    write_mailbox(std::span<const MailboxWrite> writes) = 0;

    // A delivery id for an envelope not stored yet (NewEnvelope::delivery_id). Ids only grow and
    // are never handed out twice, not even across restarts or when the envelope is never stored:
    // a device may see an envelope pushed before its commit, and its ack of that id must never
    // delete another envelope. Thread-safe and quick (no storage access).
    virtual std::uint64_t allocate_delivery_id() = 0;

    // The committed send of (sender, sender device, message id), if any. Reads beside the
    // writer: it never waits for a commit.
    virtual Result<std::optional<SendRecord>>
    find_send(const std::string& from_username, std::uint32_t from_device_id,
              std::span<const std::uint8_t> message_id) = 0;

    // Deletes mailbox envelopes and send-log entries stored before cutoff_ms. In the same
    // transaction, for every (message, recipient account) whose envelopes it deletes while no
    // device of that account acked the message, it queues one expiry notice (stored at now_ms) into
    // the mailbox of every active device of the message's sender; envelopes to the sender's own
    // account, group changes and notices themselves get none.
    virtual Result<PurgeOutcome> purge_before(std::int64_t cutoff_ms, std::int64_t now_ms) = 0;

    // already_exists: the code is present already.
    virtual Status create_invite(const std::string& code, std::int64_t now_ms) = 0;

    // Groups. Writes (new group messages and changes) go through write_mailbox; these read
    // beside the writer and never wait for a commit.

    // The group's current revision and state; nullopt: no such group.
    virtual Result<std::optional<GroupRecord>>
    find_group(std::span<const std::uint8_t> group_id) = 0;

    // username's place in the group; nullopt: never a member.
    virtual Result<std::optional<GroupMembership>>
    find_group_member(std::span<const std::uint8_t> group_id, const std::string& username) = 0;

    // Up to limit accepted changes with after_revision < revision <= up_to_revision, oldest
    // first.
    virtual Result<std::vector<GroupChangeRecord>>
    group_changes(std::span<const std::uint8_t> group_id, std::uint64_t after_revision,
                  std::uint64_t up_to_revision, std::size_t limit) = 0;

    // Every active device of the given accounts, ordered by username then device id. An
    // account that does not exist has none.
    virtual Result<std::vector<DeviceAddress>>
    devices_of(std::span<const std::string> usernames) = 0;
};

} // namespace veil::relay
