// SqliteStore: RelayStore on one embedded SQLite database (DATA_DIR/relay.db) through the SQLite C
// API with prepared statements kept for reuse. Plain SQLite, never SQLCipher: the relay keeps no
// secrets, and one process must never load both libraries (TOOLCHAIN.md). WAL with synchronous=FULL
// by default, so an acknowledged send survives a power cut; Durability::normal (synchronous=NORMAL)
// keeps the database consistent but may lose the last commits in a power cut (not in a crash of the
// relay alone). The schema version lives in PRAGMA user_version.
#pragma once

#include "core/storage.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

namespace veil::relay {

class SqliteDb;

enum class Durability {
    full,   // every commit is fsync'd before it returns (synchronous=FULL)
    normal, // WAL synchronous=NORMAL: commits are fsync'd at checkpoints only
};

class SqliteStore final : public RelayStore {
public:
    static constexpr int kSchemaVersion = 4;

    // Opens or creates data_dir/relay.db (creating data_dir if needed) and migrates the schema.
    static Result<std::unique_ptr<SqliteStore>> open(const std::string& data_dir,
                                                     Durability durability = Durability::full);
    ~SqliteStore() override;
    SqliteStore(const SqliteStore&) = delete;
    SqliteStore& operator=(const SqliteStore&) = delete;

    Status create_account(const NewAccount& account, std::int64_t now_ms) override;
    Result<std::optional<DeviceRecord>> find_device(const std::string& username,
                                                    std::uint32_t device_id) override;
    Result<std::optional<Bytes>> find_identity_key(const std::string& username) override;
    Result<std::uint32_t> add_device(const std::string& username, const NewDevice& device,
                                     std::int64_t now_ms) override;
    Result<std::optional<std::vector<DeviceInfoRecord>>>
    list_devices(const std::string& username) override;
    Status remove_device(const std::string& username, std::uint32_t device_id,
                         std::int64_t now_ms) override;
    Status touch_last_seen(std::span<const DeviceSeen> devices) override;
    Status replace_signed_prekey(const std::string& username, std::uint32_t device_id,
                                 const SignedPrekeyRecord& prekey) override;
    Status add_one_time_prekeys(const std::string& username, std::uint32_t device_id,
                                std::span<const OneTimePrekeyRecord> prekeys) override;
    Result<std::uint32_t> count_one_time_prekeys(const std::string& username,
                                                 std::uint32_t device_id) override;
    Result<std::optional<std::vector<PrekeyBundleRecord>>>
    take_prekey_bundles(const std::string& username,
                        std::span<const std::uint32_t> device_ids) override;
    Result<EnqueueOutcome> enqueue(const NewEnvelope& envelope, std::int64_t now_ms) override;
    Result<std::vector<StoredEnvelope>> queued(const std::string& username, std::uint32_t device_id,
                                               std::uint64_t after_id, std::size_t limit) override;
    Result<std::size_t> ack(const std::string& username, std::uint32_t device_id,
                            std::span<const std::uint64_t> delivery_ids) override;
    Result<std::vector<MailboxWriteOutcome>>
    write_mailbox(std::span<const MailboxWrite> writes) override;
    std::uint64_t allocate_delivery_id() override;
    Result<std::optional<SendRecord>> find_send(const std::string& from_username,
                                                std::uint32_t from_device_id,
                                                std::span<const std::uint8_t> message_id) override;
    Result<PurgeOutcome> purge_before(std::int64_t cutoff_ms, std::int64_t now_ms) override;
    Status create_invite(const std::string& code, std::int64_t now_ms) override;

    // An operator's reset (veil-relay account delete), with the relay stopped: the account and
    // everything kept for it go (its devices, their keys and prekeys, their mailboxes, its send
    // records); messages it sent that wait in others' mailboxes stay. The name can then be
    // registered again, with a new identity key that its contacts are told of. Its group
    // memberships stay: the groups' signed states name it, and only their admins change them.
    // Errors: not_found, database.
    struct DeletedAccount {
        std::size_t devices = 0; // including devices removed earlier
        std::size_t queued = 0;  // messages that waited for it
    };
    Result<DeletedAccount> delete_account(const std::string& username);
    Result<std::optional<GroupRecord>> find_group(std::span<const std::uint8_t> group_id) override;
    Result<std::optional<GroupMembership>> find_group_member(std::span<const std::uint8_t> group_id,
                                                             const std::string& username) override;
    Result<std::vector<GroupChangeRecord>> group_changes(std::span<const std::uint8_t> group_id,
                                                         std::uint64_t after_revision,
                                                         std::uint64_t up_to_revision,
                                                         std::size_t limit) override;
    Result<std::vector<DeviceAddress>> devices_of(std::span<const std::string> usernames) override;

private:
    SqliteStore(std::unique_ptr<SqliteDb> db, std::unique_ptr<SqliteDb> reader);
    Status migrate(Durability durability);

    // The writer, serialised by m_mutex: SQLite has a single writer anyway, and the connection
    // and its cached statements must not be shared between threads without a lock.
    std::mutex m_mutex;
    std::unique_ptr<SqliteDb> m_db;
    // A second connection for reads that must not wait for a commit's fsync (WAL lets it read
    // the last committed state beside the writer), serialised by m_read_mutex.
    std::mutex m_read_mutex;
    std::unique_ptr<SqliteDb> m_reader;
    // The next mailbox delivery id. Kept here rather than left to AUTOINCREMENT, whose counter a
    // rollback winds back: ids handed out for a failed batch stay used.
    std::atomic<std::int64_t> m_next_delivery_id{1};
};

} // namespace veil::relay
