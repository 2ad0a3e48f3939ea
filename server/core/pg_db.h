// PgDb: a thin RAII layer over one libpq connection for the relay's PostgreSQL store, shaped like
// SqliteDb. Statements are prepared on the server once per connection and kept (keyed by their
// SQL text); parameters go as text (numbers, strings) or binary (bytea), results come back in
// binary, so ciphertext crosses the socket as raw bytes, never escaped. Failures throw PgError,
// which the store turns into Errc::database at its method boundary; the message names
// PostgreSQL's error, never row data, because every value is bound rather than spliced into SQL.
//
// Not thread-safe: the owner serialises access to one PgDb.
#pragma once

#include "util/secret_bytes.h"

#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

struct pg_conn;
struct pg_result;

namespace veil::relay {

class PgError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The parameters of one statement, in order ($1, $2, ...). Values are copied.
class PgParams {
public:
    PgParams& add(std::int64_t value);
    PgParams& add(std::string_view text);
    PgParams& add_bytes(std::span<const std::uint8_t> bytes);
    PgParams& add_null();

    int size() const { return static_cast<int>(m_values.size()); }

private:
    friend class PgDb;
    std::vector<std::string> m_values;
    std::vector<bool> m_null;
    std::vector<int> m_binary;
};

// The rows of one statement, in binary format. Owns the libpq result.
class PgResult {
public:
    PgResult() = default;
    explicit PgResult(pg_result* result);
    PgResult(PgResult&& other) noexcept;
    PgResult& operator=(PgResult&& other) noexcept;
    PgResult(const PgResult&) = delete;
    PgResult& operator=(const PgResult&) = delete;
    ~PgResult();

    int rows() const;
    // Rows an INSERT, UPDATE or DELETE touched.
    std::int64_t affected() const;
    bool is_null(int row, int column) const;
    // smallint, integer, bigint or boolean columns; NULL reads as 0.
    std::int64_t int64(int row, int column) const;
    std::string text(int row, int column) const;
    Bytes bytes(int row, int column) const;

private:
    pg_result* m_result = nullptr;
};

class PgDb {
public:
    // Connects with a libpq connection string (a postgresql:// URL or key=value pairs). Throws
    // PgError.
    explicit PgDb(const std::string& conninfo);
    ~PgDb();
    PgDb(const PgDb&) = delete;
    PgDb& operator=(const PgDb&) = delete;

    // Runs SQL without parameters (may hold several statements). Throws PgError.
    void exec(const std::string& sql);
    // Runs a statement (prepared on first use, then reused) with its parameters.
    PgResult run(std::string_view sql, const PgParams& params = {});
    // The single integer a query returns.
    std::int64_t query_int64(std::string_view sql, const PgParams& params = {});

private:
    friend class PgTransaction;
    [[noreturn]] void fail(const char* what, pg_result* result) const;
    void reconnect_if_lost();
    const std::string& prepared(std::string_view sql);

    pg_conn* m_conn = nullptr;
    std::unordered_map<std::string, std::string> m_statements; // SQL text -> statement name
    bool m_in_transaction = false;
};

// A write transaction that holds the store-wide writer lock (a transaction-level advisory lock),
// so that writers of several relay processes sharing one database take turns, as SQLite's
// BEGIN IMMEDIATE makes them. Rolls back unless committed.
class PgTransaction {
public:
    explicit PgTransaction(PgDb& db);
    ~PgTransaction();
    PgTransaction(const PgTransaction&) = delete;
    PgTransaction& operator=(const PgTransaction&) = delete;

    void commit();

private:
    PgDb& m_db;
    bool m_open = true;
};

} // namespace veil::relay
