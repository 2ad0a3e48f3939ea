// SqlAdmin: RelayAdmin's logic written once for both backends. Its queries are written in the SQL
// that SQLite and PostgreSQL both read, with $1-style parameters (SQLite takes them as named
// parameters, numbered in the order of their first use, which is theirs). A backend supplies
// only what differs (SqliteAdmin, PostgresAdmin): how to run a statement, the database's size, a
// consistent snapshot for the audit scan, and the backup.
//
// Errors as RelayAdmin documents them: a backend's query throws (SqliteError, PgError) and the
// method turns it into Errc::database, naming the database's error, never row data.
#pragma once

#include "core/admin_store.h"

#include <initializer_list>
#include <string_view>
#include <variant>

namespace veil::relay {

// One row of a result; columns count from 0. NULL reads as 0 or empty.
class SqlRow {
public:
    virtual bool is_null(int column) const = 0;
    virtual std::int64_t int64(int column) const = 0;
    virtual std::string text(int column) const = 0;
    virtual Bytes bytes(int column) const = 0;

protected:
    ~SqlRow() = default;
};

// A statement parameter ($1, $2, ... in order).
using SqlValue = std::variant<std::int64_t, std::string>;
using SqlParams = std::initializer_list<SqlValue>;

class SqlAdmin : public RelayAdmin {
public:
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
    // One snapshot for the whole scan (begin_snapshot), read in pages of rows so that memory
    // stays bounded on a large store.
    Status for_each_record(const std::function<bool(const AuditRecord&)>& visit) override;

protected:
    using RowVisitor = std::function<bool(const SqlRow&)>;

    // Runs a query and calls row for each result row until it returns false. Throws on failure.
    virtual void query(std::string_view sql, SqlParams params, const RowVisitor& row) = 0;
    // Runs a statement; returns the rows it changed. Throws on failure.
    virtual std::int64_t execute(std::string_view sql, SqlParams params) = 0;
    // The database's size in bytes. Throws on failure.
    virtual std::uint64_t database_bytes() = 0;
    // A read-only snapshot that the audit scan's queries all see; end_snapshot closes it.
    // begin throws on failure; end never throws.
    virtual void begin_snapshot() = 0;
    virtual void end_snapshot() noexcept = 0;

private:
    std::int64_t count(std::string_view sql, SqlParams params = {});
    bool account_exists(const std::string& username);
    bool visit_mailbox_page(std::int64_t& after,
                            const std::function<bool(const AuditRecord&)>& visit, bool& stopped);
    bool visit_payload_page(std::int64_t& after,
                            const std::function<bool(const AuditRecord&)>& visit, bool& stopped);
};

} // namespace veil::relay
