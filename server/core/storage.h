// RelayStore: everything the relay keeps on disk. Accounts and their devices' public keys,
// prekeys, the per-device mailboxes of ciphertext, the send log that makes retries idempotent,
// and invite codes. The relay holds no private key and no plaintext, so nothing here is secret.
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
};

struct DeviceRecord {
    std::string username;
    std::uint32_t device_id = 0;
    std::uint32_t registration_id = 0;
    Bytes identity_key;
};

struct PrekeyBundleRecord {
    DeviceRecord device;
    SignedPrekeyRecord signed_prekey;
    std::optional<OneTimePrekeyRecord> one_time_prekey;
};

// One ciphertext addressed to one device, as the sender handed it over.
struct NewEnvelope {
    std::string from_username;
    std::uint32_t from_device_id = 0;
    std::string to_username;
    std::uint32_t to_device_id = 0;
    Bytes message_id;
    std::uint32_t type = 0;
    Bytes ciphertext;
    Bytes content_digest; // identifies the content for the idempotency check
    // The delivery id to store it under, from allocate_delivery_id(); 0: the store picks one.
    std::uint64_t delivery_id = 0;
};

// A send the store has committed, as the send log keeps it.
struct SendRecord {
    Bytes content_digest;
    std::uint64_t delivery_id = 0;
    std::int64_t server_timestamp_ms = 0;
};

struct StoredEnvelope {
    std::uint64_t delivery_id = 0;
    Bytes message_id;
    std::string from_username;
    std::uint32_t from_device_id = 0;
    std::uint32_t type = 0;
    Bytes ciphertext;
    std::int64_t server_timestamp_ms = 0;
};

struct EnqueueOutcome {
    std::uint64_t delivery_id = 0;
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
    std::variant<NewEnvelope, MailboxAck> what;
    std::int64_t now_ms = 0; // the server time the request arrived
};

// What one MailboxWrite came to: an EnqueueOutcome for an envelope, the number of deliveries
// deleted for an ack, or the refusal enqueue would have returned (already_exists, not_found).
using MailboxWriteOutcome = std::variant<Result<EnqueueOutcome>, Result<std::size_t>>;

class RelayStore {
public:
    virtual ~RelayStore() = default;

    // Creates the account with device 1, its signed prekey and one-time prekeys, and consumes
    // the invite code, all in one transaction. already_exists: the username is taken.
    // refused: an invite is required and the code is unknown or was used before.
    virtual Status create_account(const NewAccount& account, std::int64_t now_ms) = 0;

    virtual Result<std::optional<DeviceRecord>> find_device(const std::string& username,
                                                            std::uint32_t device_id) = 0;

    // not_found: no such device.
    virtual Status replace_signed_prekey(const std::string& username, std::uint32_t device_id,
                                         const SignedPrekeyRecord& prekey) = 0;

    // Adds one-time prekeys; ids the device already has are ignored. not_found: no such device.
    virtual Status add_one_time_prekeys(const std::string& username, std::uint32_t device_id,
                                        std::span<const OneTimePrekeyRecord> prekeys) = 0;

    virtual Result<std::uint32_t> count_one_time_prekeys(const std::string& username,
                                                         std::uint32_t device_id) = 0;

    // The bundle of the account's first device, removing the one-time prekey it hands out in
    // the same transaction, so that each one is handed out at most once. nullopt: no account.
    virtual Result<std::optional<PrekeyBundleRecord>>
    take_prekey_bundle(const std::string& username) = 0;

    // Stores an envelope durably in the recipient device's mailbox, or recognises a retry of the
    // same (sender, sender device, message id). already_exists: that id was used for different
    // content. not_found: the recipient device does not exist.
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
    // (already_exists, not_found) gets its refusal as its outcome and writes nothing; the others
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

    // Deletes mailbox envelopes and send-log entries stored before cutoff_ms. Returns the number
    // of mailbox envelopes deleted.
    virtual Result<std::size_t> purge_before(std::int64_t cutoff_ms) = 0;

    // already_exists: the code is present already.
    virtual Status create_invite(const std::string& code, std::int64_t now_ms) = 0;
};

} // namespace veil::relay
