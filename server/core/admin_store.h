// RelayAdmin: what a self-hoster's tools read and change in the relay's store beside the
// protocol's own RelayStore (kept apart so that each backend adds it on its own): invites,
// accounts with their devices and the disabled flag, statistics, the records the audit scans,
// and an online backup. It never returns a record's content except to the audit, which only
// judges its shape.
//
// Errors come back as values: Errc::not_found as documented per method; Errc::database when the
// storage failed. Implementations may be used from one thread at a time.
#pragma once

#include "util/result.h"
#include "util/secret_bytes.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace veil::relay {

struct AdminInvite {
    std::string code;
    std::int64_t created_ms = 0;
    std::optional<std::int64_t> used_ms; // nullopt: unused
};

struct AdminAccount {
    std::string username;
    std::size_t devices = 0; // active devices
    std::int64_t created_ms = 0;
    std::int64_t last_seen_ms = 0; // the latest of its devices' (0: never recorded)
    bool disabled = false;
};

struct AdminDevice {
    std::uint32_t device_id = 0;
    std::int64_t created_ms = 0;
    std::int64_t last_seen_ms = 0;
    std::optional<std::int64_t> removed_ms;
    std::size_t queued = 0; // mailbox rows waiting for it
    std::size_t one_time_prekeys = 0;
};

struct MailboxDepth {
    std::string username;
    std::uint32_t device_id = 0;
    std::size_t queued = 0;
};

struct AdminStats {
    std::size_t accounts = 0;
    std::size_t disabled_accounts = 0;
    std::size_t devices = 0; // active
    std::size_t groups = 0;
    std::size_t group_payloads = 0;
    std::size_t queued = 0;           // mailbox rows
    std::vector<MailboxDepth> top;    // the fullest mailboxes, fullest first
    std::uint64_t database_bytes = 0; // page_count * page_size
};

// Envelopes waiting in one device's mailbox from one sender (a quota's input).
struct QueueCount {
    std::uint32_t device_id = 0;
    std::string from_username;
    std::size_t queued = 0;
};

// One stored ciphertext as the audit sees it.
struct AuditRecord {
    enum class Kind { mailbox, group_payload };
    Kind kind = Kind::mailbox;
    std::int64_t id = 0;    // mailbox delivery id, or payload id
    std::string mailbox;    // "user/device" for a mailbox row, the group id in hex for a payload
    std::uint32_t type = 0; // wire CiphertextType
    Bytes ciphertext;       // empty for rows that reference a payload, change or notice
    bool references_payload = false; // a group message's row: its ciphertext is the payload's
    std::int64_t stored_ms = 0;
};

class RelayAdmin {
public:
    virtual ~RelayAdmin() = default;

    // A cheap query that succeeds when the store answers.
    virtual Status ping() = 0;
    // Mailbox rows waiting for any device.
    virtual Result<std::int64_t> queued_count() = 0;
    // The rows waiting for the account's devices, by device and sender (none: no rows).
    virtual Result<std::vector<QueueCount>> queue_of(const std::string& username) = 0;

    virtual Result<std::vector<AdminInvite>> invites() = 0;
    // Deletes an unused invite. not_found: no such unused code.
    virtual Status revoke_invite(const std::string& code) = 0;

    virtual Result<std::vector<AdminAccount>> accounts() = 0;
    // Every device the account ever had, removed ones included; nullopt: no such account.
    virtual Result<std::optional<std::vector<AdminDevice>>>
    devices(const std::string& username) = 0;
    // not_found: no such account.
    virtual Status set_disabled(const std::string& username, bool disabled,
                                std::int64_t now_ms) = 0;
    virtual Result<std::vector<std::string>> disabled_accounts() = 0;

    virtual Result<AdminStats> stats(std::size_t top_n) = 0;

    // Calls visit for every mailbox row and group payload, in id order, until it returns false.
    virtual Status for_each_record(const std::function<bool(const AuditRecord&)>& visit) = 0;

    // Writes a consistent copy of the whole database to dest_file (which must not exist), while
    // others keep writing.
    virtual Status backup_to(const std::string& dest_file) = 0;
};

} // namespace veil::relay
