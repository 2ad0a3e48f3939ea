// PostgresAdmin: RelayAdmin on the relay's PostgreSQL database (the logic is SqlAdmin's), through
// a libpq connection of its own beside the relay's (MVCC lets it read while the relay writes; its
// few writes are single statements that never wait for the relay's writer lock). Like
// SqliteAdmin it keeps the disabled flags in a table of its own, account_flags, created when
// missing, so that the protocol store's schema stays as it is.
//
// A connection the server dropped (a restart) is reopened by the next call (PgDb).
#pragma once

#include "core/sql_admin.h"

#include <memory>
#include <string>

namespace veil::relay {

class PgDb;

class PostgresAdmin final : public SqlAdmin {
public:
    // The table of disabled accounts, as open() creates it when missing (and `veil-relay
    // migrate` when the SQLite store it copies has one).
    static constexpr const char* kCreateFlags =
        "CREATE TABLE IF NOT EXISTS account_flags (username TEXT PRIMARY KEY,"
        " disabled_ms BIGINT NOT NULL)";

    // Connects with a libpq connection string. not_found: the database holds no relay store (no
    // relay ever ran on it); database: unreachable or refused.
    static Result<std::unique_ptr<PostgresAdmin>> open(const std::string& conninfo);
    ~PostgresAdmin() override;
    PostgresAdmin(const PostgresAdmin&) = delete;
    PostgresAdmin& operator=(const PostgresAdmin&) = delete;

    // Refused (Errc::invalid_argument), writing nothing: a consistent copy of a PostgreSQL
    // database is pg_dump's job; the message holds the command (pg_dump_command).
    Status backup_to(const std::string& dest_file) override;

    // The exact pg_dump command that writes a consistent copy of the database to dest_file, in
    // pg_dump's custom format (pg_restore reads it).
    static std::string pg_dump_command(const std::string& conninfo, const std::string& dest_file);

private:
    PostgresAdmin(std::unique_ptr<PgDb> db, std::string conninfo);
    void query(std::string_view sql, SqlParams params, const RowVisitor& row) override;
    std::int64_t execute(std::string_view sql, SqlParams params) override;
    std::uint64_t database_bytes() override; // pg_database_size: the whole database on disk
    void begin_snapshot() override;          // REPEATABLE READ, read only
    void end_snapshot() noexcept override;

    std::unique_ptr<PgDb> m_db;
    std::string m_conninfo;
};

// text in single quotes for a POSIX shell (for the commands the admin tools print).
std::string shell_quoted(const std::string& text);

} // namespace veil::relay
