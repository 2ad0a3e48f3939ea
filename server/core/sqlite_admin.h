// SqliteAdmin: RelayAdmin on DATA_DIR/relay.db (the logic is SqlAdmin's), through a connection of
// its own beside the relay's (WAL lets it read while the relay writes; its few writes wait for
// the relay's write lock, at most SqliteDb's busy timeout). It keeps the disabled flags in a
// table of its own, account_flags, created when missing, so that the protocol store's schema
// stays as it is.
#pragma once

#include "core/sql_admin.h"

#include <memory>
#include <string>

namespace veil::relay {

class SqliteDb;

class SqliteAdmin final : public SqlAdmin {
public:
    // Opens data_dir/relay.db, which must exist (a relay created it). not_found: it does not.
    static Result<std::unique_ptr<SqliteAdmin>> open(const std::string& data_dir);
    ~SqliteAdmin() override;
    SqliteAdmin(const SqliteAdmin&) = delete;
    SqliteAdmin& operator=(const SqliteAdmin&) = delete;

    // VACUUM INTO: one snapshot, written as a compact file without a WAL.
    Status backup_to(const std::string& dest_file) override;

private:
    explicit SqliteAdmin(std::unique_ptr<SqliteDb> db);
    void query(std::string_view sql, SqlParams params, const RowVisitor& row) override;
    std::int64_t execute(std::string_view sql, SqlParams params) override;
    std::uint64_t database_bytes() override; // page_count * page_size
    void begin_snapshot() override;          // a read transaction
    void end_snapshot() noexcept override;

    std::unique_ptr<SqliteDb> m_db;
};

} // namespace veil::relay
