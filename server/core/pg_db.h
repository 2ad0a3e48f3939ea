// PgDb: a thin RAII layer over one libpq connection for the relay's PostgreSQL store, shaped like
// SqliteDb. Statements are prepared on the server once per connection and kept (keyed by their
// SQL text); parameters go as text (numbers, strings) or binary (bytea), results come back in
// binary, so ciphertext crosses the socket as raw bytes, never escaped. Failures throw PgError,
// which the store turns into Errc::database at its method boundary; the message names
// PostgreSQL's error, never row data, because every value is bound rather than spliced into SQL.
//
// A connection the server dropped (a restart, a network cut) is reopened by the next statement;
// a statement outside a transaction that meets the loss is run once more on the new connection
// (so a statement run that way must be safe to run twice: the store's are reads, nextval, or
// BEGIN), one inside a transaction fails and the caller rolls back.
//
// Not thread-safe: the owner serialises access to one PgDb.
#pragma once

#include "util/secret_bytes.h"

#include <cstdint>
#include <functional>
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

// The rows of a COPY ... FROM STDIN (FORMAT binary), built up in memory and sent in chunks:
// each row is begun with the number of its fields, then one value per field.
class PgCopyRows {
public:
    PgCopyRows();
    void begin_row(int fields);
    void add(std::int64_t value); // a bigint column
    void add(std::string_view text);
    void add_bytes(std::span<const std::uint8_t> bytes);
    void add_null();

    std::size_t size() const { return m_data.size(); }

private:
    friend class PgDb;
    void field(const void* data, std::size_t size);
    std::string m_data;
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
    // Runs a session setting (SET ...) now and again on every new connection after a loss, so
    // that a reconnect never runs with the server's defaults instead. Throws PgError.
    void set_session(const std::string& sql);
    // Runs a statement (prepared on first use, then reused) with its parameters.
    PgResult run(std::string_view sql, const PgParams& params = {});
    // Runs copy_sql (COPY table (columns) FROM STDIN (FORMAT binary)) with more's rows: more
    // fills the next chunk and returns false after the last one. Throws PgError; the rows then
    // are not in the table (COPY is one statement).
    void copy_in(const std::string& copy_sql, const std::function<bool(PgCopyRows&)>& more);
    // The single integer a query returns.
    std::int64_t query_int64(std::string_view sql, const PgParams& params = {});

private:
    friend class PgTransaction;
    [[noreturn]] void fail(const char* what, pg_result* result) const;
    void reconnect_if_lost();
    // Runs attempt; when it fails because the connection was lost (the server restarted) and
    // no transaction is open on it, reconnects and runs it once more. Inside a transaction the
    // failure stands: its earlier statements are gone with the old connection.
    template <typename Attempt>
    auto retry_once_if_lost(Attempt attempt);
    const std::string& prepared(std::string_view sql);
    PgResult run_once(std::string_view sql, const PgParams& params);

    pg_conn* m_conn = nullptr;
    std::unordered_map<std::string, std::string> m_statements; // SQL text -> statement name
    std::vector<std::string> m_session;                        // set_session's, in order
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
