// SqliteAdmin: RelayAdmin on DATA_DIR/relay.db, through a connection of its own beside the
// relay's (WAL lets it read while the relay writes; its few writes wait for the relay's write
// lock, at most SqliteDb's busy timeout). It keeps the disabled flags in a table of its own,
// account_flags, created when missing, so that the protocol store's schema stays as it is.
#pragma once

#include "core/admin_store.h"

#include <memory>
#include <string>

namespace veil::relay {

class SqliteDb;

class SqliteAdmin final : public RelayAdmin {
public:
    // Opens data_dir/relay.db, which must exist (a relay created it). not_found: it does not.
    static Result<std::unique_ptr<SqliteAdmin>> open(const std::string& data_dir);
    ~SqliteAdmin() override;
    SqliteAdmin(const SqliteAdmin&) = delete;
    SqliteAdmin& operator=(const SqliteAdmin&) = delete;

    Status ping() override;
    Result<std::int64_t> queued_count() override;
    Result<std::vector<QueueCount>> queue_of(const std::string& username) override;
    Result<std::vector<AdminInvite>> invites() override;
    Status revoke_invite(const std::string& code) override;
    Result<std::vector<AdminAccount>> accounts() override;
    Result<std::optional<std::vector<AdminDevice>>> devices(const std::string& username) override;
    Status set_disabled(const std::string& username, bool disabled, std::int64_t now_ms) override;
    Result<std::vector<std::string>> disabled_accounts() override;
    Result<AdminStats> stats(std::size_t top_n) override;
    Status for_each_record(const std::function<bool(const AuditRecord&)>& visit) override;
    Status backup_to(const std::string& dest_file) override;

private:
    explicit SqliteAdmin(std::unique_ptr<SqliteDb> db);
    std::unique_ptr<SqliteDb> m_db;
};

} // namespace veil::relay
