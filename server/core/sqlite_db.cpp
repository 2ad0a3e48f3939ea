#include "core/sqlite_db.h"

#include "util/log.h"

#include <sqlite3.h>

namespace veil::relay {
namespace {

constexpr std::string_view kLog = "relay.store";

} // namespace

SqliteStatement::~SqliteStatement() {
    sqlite3_finalize(m_statement);
}

SqliteStatement& SqliteStatement::bind(int index, std::int64_t value) {
    if (sqlite3_bind_int64(m_statement, index, value) != SQLITE_OK)
        m_db.fail("binding a value");
    return *this;
}

SqliteStatement& SqliteStatement::bind(int index, std::string_view text) {
    if (sqlite3_bind_text64(m_statement, index, text.data(), text.size(), SQLITE_TRANSIENT,
                            SQLITE_UTF8) != SQLITE_OK)
        m_db.fail("binding a value");
    return *this;
}

SqliteStatement& SqliteStatement::bind_blob(int index, std::span<const std::uint8_t> bytes) {
    // A zero-length blob must still be a blob, not NULL: SQLite binds NULL for a null pointer.
    static constexpr std::uint8_t kEmpty = 0;
    const void* data = bytes.empty() ? &kEmpty : bytes.data();
    if (sqlite3_bind_blob64(m_statement, index, data, bytes.size(), SQLITE_TRANSIENT) != SQLITE_OK)
        m_db.fail("binding a value");
    return *this;
}

bool SqliteStatement::step() {
    const int rc = sqlite3_step(m_statement);
    if (rc == SQLITE_ROW)
        return true;
    if (rc == SQLITE_DONE)
        return false;
    m_db.fail("running a statement");
}

void SqliteStatement::run() {
    StatementUse use(*this); // resets even when a step throws
    while (step()) {
    }
}

void SqliteStatement::reset() {
    sqlite3_reset(m_statement);
    sqlite3_clear_bindings(m_statement);
}

std::int64_t SqliteStatement::column_int64(int index) const {
    return sqlite3_column_int64(m_statement, index);
}

std::string SqliteStatement::column_text(int index) const {
    const auto* text = sqlite3_column_text(m_statement, index);
    const int size = sqlite3_column_bytes(m_statement, index);
    if (!text)
        return {};
    return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size));
}

bool SqliteStatement::column_is_null(int index) const {
    return sqlite3_column_type(m_statement, index) == SQLITE_NULL;
}

Bytes SqliteStatement::column_blob(int index) const {
    const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(m_statement, index));
    const int size = sqlite3_column_bytes(m_statement, index);
    if (!data || size <= 0)
        return {};
    return Bytes(data, data + size);
}

SqliteDb::SqliteDb(const std::string& path) {
    const int rc =
        sqlite3_open_v2(path.c_str(), &m_db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        std::string message = m_db ? sqlite3_errmsg(m_db) : sqlite3_errstr(rc);
        sqlite3_close_v2(m_db);
        m_db = nullptr;
        throw SqliteError("opening the database: " + message);
    }
    sqlite3_extended_result_codes(m_db, 1);
    sqlite3_busy_timeout(m_db, 5000);
}

SqliteDb::~SqliteDb() {
    m_statements.clear(); // finalize before closing
    sqlite3_close_v2(m_db);
}

void SqliteDb::exec(const char* sql) {
    char* error = nullptr;
    if (sqlite3_exec(m_db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
        std::string message = error ? error : "unknown error";
        sqlite3_free(error);
        throw SqliteError(message);
    }
}

std::int64_t SqliteDb::query_int64(const char* sql) {
    StatementUse use(statement(sql));
    if (!use->step())
        throw SqliteError("a query returned no row");
    return use->column_int64(0);
}

std::string SqliteDb::query_text(const char* sql) {
    StatementUse use(statement(sql));
    if (!use->step())
        throw SqliteError("a query returned no row");
    return use->column_text(0);
}

SqliteStatement& SqliteDb::statement(std::string_view sql) {
    auto found = m_statements.find(std::string(sql));
    if (found != m_statements.end())
        return *found->second;
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v3(m_db, sql.data(), static_cast<int>(sql.size()),
                           SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK)
        fail("preparing a statement");
    std::unique_ptr<SqliteStatement> owned(new SqliteStatement(*this, raw));
    auto& ref = *owned;
    m_statements.emplace(std::string(sql), std::move(owned));
    return ref;
}

std::int64_t SqliteDb::changes() const {
    return sqlite3_changes64(m_db);
}

std::int64_t SqliteDb::last_insert_rowid() const {
    return sqlite3_last_insert_rowid(m_db);
}

bool SqliteDb::in_transaction() const {
    return sqlite3_get_autocommit(m_db) == 0;
}

void SqliteDb::fail(const char* what) const {
    throw SqliteError(std::string(what) + ": " + sqlite3_errmsg(m_db));
}

SqliteTransaction::SqliteTransaction(SqliteDb& db)
    : m_db(db) {
    m_db.statement("BEGIN IMMEDIATE").run();
}

SqliteTransaction::~SqliteTransaction() {
    // SQLite rolls a transaction back by itself on some errors (SQLITE_FULL when the disk is
    // full, SQLITE_NOMEM, some I/O errors); then there is nothing left to roll back.
    if (!m_open || !m_db.in_transaction())
        return;
    try {
        m_db.statement("ROLLBACK").run();
    } catch (const std::exception& e) {
        log::warn(kLog, std::string("rollback failed: ") + e.what());
    }
}

void SqliteTransaction::commit() {
    m_db.statement("COMMIT").run();
    m_open = false;
}

} // namespace veil::relay
