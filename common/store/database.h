// Database: a small RAII wrapper over the SQLCipher C API, private to the store module. It owns
// one sqlite3 connection and a cache of prepared statements; Statement is a borrowed handle to a
// cached statement that is reset (and its bindings cleared) when the handle goes away.
//
// Thread: one thread at a time, like AccountStore. Errors are values; nothing here throws.
// Include only from common/store/*.cpp: it pulls in SQLCipher's <sqlite3.h>.
#pragma once

#include "util/result.h"
#include "util/secret_bytes.h"

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

namespace veil::store {

struct ConnectionDeleter {
    void operator()(sqlite3* db) const;
};
struct StatementDeleter {
    void operator()(sqlite3_stmt* stmt) const;
};
using ConnectionPtr = std::unique_ptr<sqlite3, ConnectionDeleter>;
using StatementPtr = std::unique_ptr<sqlite3_stmt, StatementDeleter>;

// Maps a SQLite result code to an Error whose sentence starts with `what`. Damaged pages
// (SQLITE_CORRUPT, SQLITE_NOTADB once the key is known to be right) become Errc::corrupt.
Error sqlite_error(sqlite3* db, int rc, std::string_view what);

// Damage found while a Database is open. The first statement that meets a damaged page or an
// I/O error (SQLITE_CORRUPT, SQLITE_NOTADB, SQLITE_IOERR) sets it; from then on the Database
// refuses every write, so that nothing is written into a damaged file: a prepared statement that
// is not read-only and every exec() but a ROLLBACK fail with damaged_error(). Reads go on, so
// what is intact can still be shown. It stays set until the Database is closed.
struct DamageLatch {
    bool damaged = false;
    int first_rc = SQLITE_OK; // the result code that set it
};

// The one error every write gets once the database was found damaged.
Error damaged_error();

// A prepared statement borrowed from the Database cache. Bind indexes start at 1, column
// indexes at 0. Values bound are copied by SQLite, so temporaries are fine.
class Statement {
public:
    Statement(sqlite3* db, sqlite3_stmt* stmt, DamageLatch* damage = nullptr)
        : m_db(db)
        , m_stmt(stmt)
        , m_damage(damage) {}
    ~Statement();
    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&&) = delete;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, std::string_view text);
    Statement& bind_blob(int index, std::span<const std::uint8_t> blob);
    Statement& bind_null(int index);

    // Steps once: true when a row is ready, false when the statement is done.
    Result<bool> step();
    // Steps a statement that returns no rows (INSERT, UPDATE, DELETE).
    Status run();

    std::int64_t column_int64(int index) const;
    std::string column_text(int index) const;
    Bytes column_blob(int index) const;
    SecretBytes column_secret(int index) const;
    bool column_is_null(int index) const;

private:
    sqlite3* m_db;
    sqlite3_stmt* m_stmt;
    DamageLatch* m_damage; // the owning Database's, or null
    // The first bind failure, reported by step() so that call sites can chain binds.
    int m_bind_rc = SQLITE_OK;
};

class Database {
public:
    // Opens (or, with create, creates) the file. The connection is unusable until key() is
    // called: SQLCipher reads nothing before the first statement.
    static Result<Database> open(const std::filesystem::path& file, bool create);

    Database() = default;
    Database(Database&&) noexcept = default;
    Database& operator=(Database&&) noexcept = default;
    ~Database();

    // Hands the 32-byte raw key to sqlite3_key in SQLCipher's "x'<hex>'" raw-key form; the hex
    // is built in a SecretBytes and wiped.
    Status key(const SecretBytes& raw_key);
    // Re-encrypts every page under a new 32-byte raw key (sqlite3_rekey), in one transaction:
    // after a crash the file is wholly under the old key or wholly under the new one. Call it
    // outside any transaction and in rollback-journal mode (see AccountStore::change_passphrase).
    Status rekey(const SecretBytes& raw_key);

    // Reads the schema once: fails with Errc::wrong_passphrase when SQLCipher cannot decrypt
    // page 1 (SQLITE_NOTADB), which is how a wrong key shows.
    Status check_key();

    // Runs one or more statements without parameters or results.
    Status exec(const char* sql);
    // A cached prepared statement for sql (which must be a string literal or otherwise outlive
    // the Database: it keys the cache).
    Result<Statement> prepare(const char* sql);
    // Runs a statement that returns one integer (e.g. a PRAGMA).
    Result<std::int64_t> query_int(const char* sql);

    std::int64_t last_insert_rowid() const;
    int changes() const;
    bool in_transaction() const;
    sqlite3* handle() const { return m_db.get(); }
    // Whether a statement has met damage since the file was opened (DamageLatch).
    bool damaged() const { return m_damage && m_damage->damaged; }
    // Sets the latch for damage found otherwise (an integrity check that did not pass).
    void mark_damaged() {
        if (m_damage && !m_damage->damaged) {
            m_damage->damaged = true;
            m_damage->first_rc = SQLITE_CORRUPT;
        }
    }

private:
    explicit Database(ConnectionPtr db)
        : m_db(std::move(db))
        , m_damage(std::make_unique<DamageLatch>()) {}
    // Sets the latch when rc says the file is damaged or unreadable; returns the error for rc.
    Error fail(int rc, std::string_view what);
    // Statements are declared after the connection so that they are finalized first.
    ConnectionPtr m_db;
    // On the heap so that Statements keep pointing at it when the Database moves.
    std::unique_ptr<DamageLatch> m_damage;
    std::unordered_map<const char*, StatementPtr> m_cache;
};

// A savepoint: groups the statements of one store method so that they apply together whether or
// not the caller has a Transaction open. Rolls back unless release() succeeded.
class Savepoint {
public:
    explicit Savepoint(Database& db);
    ~Savepoint();
    Savepoint(const Savepoint&) = delete;
    Savepoint& operator=(const Savepoint&) = delete;
    Status begun() const { return m_begun; }
    Status release();

private:
    Database& m_db;
    Status m_begun;
    bool m_done = false;
};

} // namespace veil::store
