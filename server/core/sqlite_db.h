// SqliteDb: a thin RAII layer over one plain SQLite connection for the relay's store. Statements
// are prepared once and kept (the mailbox path runs the same few statements thousands of times a
// second, and preparing dominates their cost otherwise). Failures throw SqliteError, which the
// store turns into Errc::database at its method boundary; the message names SQLite's error, never
// row data, because every value is bound rather than spliced into SQL.
//
// Not thread-safe: the owner serialises access.
#pragma once

#include "util/secret_bytes.h"

#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

struct sqlite3;
struct sqlite3_stmt;

namespace veil::relay {

class SqliteError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class SqliteDb;

// A prepared statement owned by its SqliteDb. bind_* take 1-based indexes; the values are copied
// (SQLITE_TRANSIENT), so temporaries are fine. step() returns true while it yields a row.
class SqliteStatement {
public:
    SqliteStatement(const SqliteStatement&) = delete;
    SqliteStatement& operator=(const SqliteStatement&) = delete;
    ~SqliteStatement();

    SqliteStatement& bind(int index, std::int64_t value);
    SqliteStatement& bind(int index, std::string_view text);
    SqliteStatement& bind_blob(int index, std::span<const std::uint8_t> bytes);

    bool step();
    // Runs the statement to completion and resets it.
    void run();
    // Resets and clears bindings, ready for the next use.
    void reset();

    std::int64_t column_int64(int index) const;
    std::string column_text(int index) const;
    Bytes column_blob(int index) const;
    bool column_is_null(int index) const;

private:
    friend class SqliteDb;
    SqliteStatement(SqliteDb& db, sqlite3_stmt* statement)
        : m_db(db)
        , m_statement(statement) {}

    SqliteDb& m_db;
    sqlite3_stmt* m_statement;
};

// Resets a statement when it goes out of scope, so that an exception in the middle of a use
// leaves it ready for the next one.
class StatementUse {
public:
    explicit StatementUse(SqliteStatement& statement)
        : m_statement(statement) {}
    ~StatementUse() { m_statement.reset(); }
    StatementUse(const StatementUse&) = delete;
    StatementUse& operator=(const StatementUse&) = delete;
    SqliteStatement* operator->() { return &m_statement; }
    SqliteStatement& operator*() { return m_statement; }

private:
    SqliteStatement& m_statement;
};

class SqliteDb {
public:
    // Opens (creating if needed) a database file. Throws SqliteError.
    explicit SqliteDb(const std::string& path);
    ~SqliteDb();
    SqliteDb(const SqliteDb&) = delete;
    SqliteDb& operator=(const SqliteDb&) = delete;

    // Runs SQL without results (may hold several statements). Throws SqliteError.
    void exec(const char* sql);
    // A single integer result of a query such as a PRAGMA.
    std::int64_t query_int64(const char* sql);
    std::string query_text(const char* sql);

    // The cached prepared statement for this SQL text (keyed by the text). Wrap uses in a
    // StatementUse.
    SqliteStatement& statement(std::string_view sql);

    std::int64_t changes() const;
    std::int64_t last_insert_rowid() const;
    // True while a transaction is open on this connection.
    bool in_transaction() const;

    [[noreturn]] void fail(const char* what) const;

private:
    sqlite3* m_db = nullptr;
    std::unordered_map<std::string, std::unique_ptr<SqliteStatement>> m_statements;
};

// BEGIN IMMEDIATE takes the write lock up front, so a transaction that reads and then writes
// cannot fail half-way because another process (an `invite create`) wrote in between. Rolls back
// unless committed.
class SqliteTransaction {
public:
    explicit SqliteTransaction(SqliteDb& db);
    ~SqliteTransaction();
    SqliteTransaction(const SqliteTransaction&) = delete;
    SqliteTransaction& operator=(const SqliteTransaction&) = delete;

    void commit();

private:
    SqliteDb& m_db;
    bool m_open = true;
};

} // namespace veil::relay
