// PostgresStore: RelayStore on a PostgreSQL database, through libpq with statements prepared on
// the server once per connection. Same semantics as SqliteStore, refusal for refusal; the schema
// mirrors SqliteStore's (version 4) table for table, so that `veil-relay migrate` copies rows as
// they are, ids included.
//
// libpq directly rather than Poco::Data::PostgreSQL, for the same reasons SqliteStore uses the
// SQLite C API: statements prepared once per connection and kept, bytea sent and received as raw
// binary (no escaping of ciphertext), BEGIN and the writer lock in one round trip, array
// parameters for the batched writes, and errors that never carry row data.
//
// write_mailbox writes the 1:1 sends of a call together: one query for the batch's send log
// entries, accounts and devices read once per account, one INSERT each for the new mailbox rows
// and send log entries, flushed before any ack or group write so that each item sees the earlier
// ones.
//
// Connections: one writer, one reader and one for delivery id blocks, each behind its own mutex.
// The writer runs every write transaction, serialised in this process by its mutex and across
// processes sharing the database by a transaction-level advisory lock taken with BEGIN (the one
// writer at a time that SqliteStore gets from BEGIN IMMEDIATE): the checks inside a transaction
// (taken usernames, the next device number, group revisions) stay true until its commit. The
// reader answers the reads that must not wait for a commit (find_send, queued, groups), as
// SqliteStore's second connection does under WAL. Group commits keep the single writer busy
// with many sends per transaction, so a pool of writers would only add lock waits.
//
// Delivery ids come from the sequence delivery_id_blocks: each value reserves a block of
// kDeliveryIdBlock ids that this process hands out from memory. A sequence never gives a value
// twice, not after a rollback, a crash or to another relay process, so no id is handed out twice.
//
// Schema versions live in the table veil_schema; open() applies the missing steps in order in
// one transaction, under the writer lock, so relays starting together migrate once.
//
// Durability::full keeps synchronous_commit on (a commit is flushed to the server's WAL before
// it returns); Durability::normal turns it off for the writer's session: a crash of the server
// may lose the last commits, but never leaves a half-written one. The id blocks are always
// committed synchronously.
#pragma once

#include "core/sqlite_store.h"
#include "core/storage.h"

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace veil::relay {

class PgDb;

class PostgresStore final : public RelayStore {
public:
    static constexpr int kSchemaVersion = 1;
    static constexpr std::uint64_t kDeliveryIdBlock = 4096;

    // Connects with a libpq connection string (postgresql://user@host:port/dbname, or key=value
    // pairs) and migrates the schema. Errors: database (unreachable, refused, newer schema).
    static Result<std::unique_ptr<PostgresStore>> open(const std::string& conninfo,
                                                       Durability durability = Durability::full);
    ~PostgresStore() override;
    PostgresStore(const PostgresStore&) = delete;
    PostgresStore& operator=(const PostgresStore&) = delete;

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
    // Returns 0 (the store then picks the id inside its transaction) only when a new block is
    // needed and PostgreSQL cannot be reached; the write that follows then fails as retryable.
    std::uint64_t allocate_delivery_id() override;
    Result<std::optional<SendRecord>> find_send(const std::string& from_username,
                                                std::uint32_t from_device_id,
                                                std::span<const std::uint8_t> message_id) override;
    Result<PurgeOutcome> purge_before(std::int64_t cutoff_ms, std::int64_t now_ms) override;
    Status create_invite(const std::string& code, std::int64_t now_ms) override;

    // As SqliteStore::delete_account (veil-relay account delete, with the relay stopped).
    Result<SqliteStore::DeletedAccount> delete_account(const std::string& username);

    Result<std::optional<GroupRecord>> find_group(std::span<const std::uint8_t> group_id) override;
    Result<std::optional<GroupMembership>> find_group_member(std::span<const std::uint8_t> group_id,
                                                             const std::string& username) override;
    Result<std::vector<GroupChangeRecord>> group_changes(std::span<const std::uint8_t> group_id,
                                                         std::uint64_t after_revision,
                                                         std::uint64_t up_to_revision,
                                                         std::size_t limit) override;
    Result<std::vector<DeviceAddress>> devices_of(std::span<const std::string> usernames) override;

    // The delivery id allocator, for the store's own use inside a transaction: throws PgError
    // when a block cannot be reserved.
    class IdBlocks;

private:
    PostgresStore(std::unique_ptr<PgDb> db, std::unique_ptr<PgDb> reader,
                  std::unique_ptr<IdBlocks> ids);
    Status migrate();

    std::mutex m_mutex; // the writer
    std::unique_ptr<PgDb> m_db;
    std::mutex m_read_mutex; // the reader
    std::unique_ptr<PgDb> m_reader;
    std::unique_ptr<IdBlocks> m_ids; // locks itself
};

} // namespace veil::relay
