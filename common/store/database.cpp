#include "store/database.h"

#include "store/account_store.h"

#include <atomic>
#include <cstring>
#include <utility>

namespace veil::store {

void ConnectionDeleter::operator()(sqlite3* db) const {
    // close_v2 defers the close until every statement is finalized, so the order in which a
    // moved-from Database releases its cache does not matter.
    sqlite3_close_v2(db);
}

void StatementDeleter::operator()(sqlite3_stmt* stmt) const {
    sqlite3_finalize(stmt);
}

Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
    std::string message(what);
    message += ": ";
    // sqlite3_errmsg names tables and columns at most; values are always bound, never in SQL.
    message += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return make_error(Errc::corrupt, message + " (the database file is damaged)");
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_FULL:
    case SQLITE_PERM:
    case SQLITE_READONLY: return make_error(Errc::io, std::move(message));
    default: return make_error(Errc::database, std::move(message));
    }
}

namespace {

std::atomic<StoreUseHook> g_use_hook{nullptr};

void note_use() {
    if (StoreUseHook hook = g_use_hook.load(std::memory_order_relaxed))
        hook();
}

bool is_damage(int rc) {
    switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_IOERR: return true;
    default: return false;
    }
}

void latch(DamageLatch* damage, int rc) {
    if (damage && !damage->damaged && is_damage(rc)) {
        damage->damaged = true;
        damage->first_rc = rc;
    }
}

} // namespace

void set_store_use_hook(StoreUseHook hook) {
    g_use_hook.store(hook, std::memory_order_relaxed);
}

Error damaged_error() {
    return make_error(Errc::corrupt, "the account database is damaged, so nothing more is "
                                     "written to it; restore it from a snapshot");
}

// Statement

Statement::~Statement() {
    if (m_stmt) {
        sqlite3_reset(m_stmt);
        sqlite3_clear_bindings(m_stmt);
    }
}

Statement::Statement(Statement&& other) noexcept
    : m_db(other.m_db)
    , m_stmt(std::exchange(other.m_stmt, nullptr))
    , m_damage(other.m_damage)
    , m_bind_rc(other.m_bind_rc) {}

Statement& Statement::bind(int index, std::int64_t value) {
    int rc = sqlite3_bind_int64(m_stmt, index, value);
    if (m_bind_rc == SQLITE_OK)
        m_bind_rc = rc;
    return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
    int rc =
        sqlite3_bind_text64(m_stmt, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    if (m_bind_rc == SQLITE_OK)
        m_bind_rc = rc;
    return *this;
}

Statement& Statement::bind_blob(int index, std::span<const std::uint8_t> blob) {
    // A zero-length blob is bound as an empty blob, not NULL: columns are NOT NULL.
    int rc = blob.empty()
                 ? sqlite3_bind_zeroblob(m_stmt, index, 0)
                 : sqlite3_bind_blob64(m_stmt, index, blob.data(), blob.size(), SQLITE_TRANSIENT);
    if (m_bind_rc == SQLITE_OK)
        m_bind_rc = rc;
    return *this;
}

Statement& Statement::bind_null(int index) {
    int rc = sqlite3_bind_null(m_stmt, index);
    if (m_bind_rc == SQLITE_OK)
        m_bind_rc = rc;
    return *this;
}

Result<bool> Statement::step() {
    if (m_bind_rc != SQLITE_OK)
        return sqlite_error(m_db, m_bind_rc, "could not bind a statement parameter");
    if (m_damage && m_damage->damaged && !sqlite3_stmt_readonly(m_stmt))
        return damaged_error();
    int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW)
        return true;
    if (rc == SQLITE_DONE)
        return false;
    latch(m_damage, rc);
    return sqlite_error(m_db, rc, "a database statement failed");
}

Status Statement::run() {
    auto row = step();
    if (!row)
        return row.error();
    return {};
}

std::int64_t Statement::column_int64(int index) const {
    return sqlite3_column_int64(m_stmt, index);
}

std::string Statement::column_text(int index) const {
    auto* text = sqlite3_column_text(m_stmt, index);
    int size = sqlite3_column_bytes(m_stmt, index);
    if (!text || size <= 0)
        return {};
    return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size));
}

Bytes Statement::column_blob(int index) const {
    auto* blob = static_cast<const std::uint8_t*>(sqlite3_column_blob(m_stmt, index));
    int size = sqlite3_column_bytes(m_stmt, index);
    if (!blob || size <= 0)
        return {};
    return Bytes(blob, blob + size);
}

SecretBytes Statement::column_secret(int index) const {
    auto* blob = static_cast<const std::uint8_t*>(sqlite3_column_blob(m_stmt, index));
    int size = sqlite3_column_bytes(m_stmt, index);
    if (!blob || size <= 0)
        return {};
    return SecretBytes(blob, static_cast<std::size_t>(size));
}

bool Statement::column_is_null(int index) const {
    return sqlite3_column_type(m_stmt, index) == SQLITE_NULL;
}

// Database

Result<Database> Database::open(const std::filesystem::path& file, bool create) {
    note_use();
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(file.c_str(), &raw, flags, nullptr);
    ConnectionPtr db(raw);
    if (rc != SQLITE_OK)
        return sqlite_error(raw, rc, "could not open the account database");
    sqlite3_extended_result_codes(raw, 1);
    return Database(std::move(db));
}

Database::~Database() = default;

namespace {

// SQLCipher treats a key of the exact form x'<64 hex digits>' as a raw key and skips its own
// (SHA-1 based) PBKDF2; the Argon2id output is already a uniformly random key. The text is a
// SecretBytes, wiped when it goes.
Result<SecretBytes> raw_key_text(const SecretBytes& raw_key) {
    static const char digits[] = "0123456789abcdef";
    if (raw_key.size() != 32)
        return make_error(Errc::internal, "the database key must be 32 bytes");
    SecretBytes text(3 + 2 * raw_key.size());
    auto* out = text.data();
    *out++ = 'x';
    *out++ = '\'';
    for (auto b : raw_key.view()) {
        *out++ = static_cast<std::uint8_t>(digits[b >> 4]);
        *out++ = static_cast<std::uint8_t>(digits[b & 0xf]);
    }
    *out = '\'';
    return text;
}

} // namespace

Status Database::key(const SecretBytes& raw_key) {
    note_use();
    auto text = raw_key_text(raw_key);
    if (!text)
        return text.error();
    int rc = sqlite3_key(m_db.get(), text->data(), static_cast<int>(text->size()));
    if (rc != SQLITE_OK)
        return sqlite_error(m_db.get(), rc, "could not set the database key");
    return {};
}

Status Database::rekey(const SecretBytes& raw_key) {
    note_use();
    auto text = raw_key_text(raw_key);
    if (!text)
        return text.error();
    int rc = sqlite3_rekey(m_db.get(), text->data(), static_cast<int>(text->size()));
    if (rc != SQLITE_OK)
        return sqlite_error(m_db.get(), rc, "could not re-encrypt the account database");
    return {};
}

Status Database::check_key() {
    note_use();
    sqlite3_stmt* raw = nullptr;
    int rc =
        sqlite3_prepare_v2(m_db.get(), "SELECT count(*) FROM sqlite_master", -1, &raw, nullptr);
    StatementPtr stmt(raw);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return {};
    if ((rc & 0xff) == SQLITE_NOTADB)
        return make_error(Errc::wrong_passphrase,
                          "the passphrase does not open this account (or its first page is "
                          "damaged)");
    return sqlite_error(m_db.get(), rc, "could not read the account database");
}

Error Database::fail(int rc, std::string_view what) {
    latch(m_damage.get(), rc);
    return sqlite_error(m_db.get(), rc, what);
}

Status Database::exec(const char* sql) {
    note_use();
    // exec runs transaction control and schema changes: once damaged, only a rollback may run
    // (it writes nothing into the file and lets a transaction already open end).
    if (damaged() && std::strncmp(sql, "ROLLBACK", 8) != 0)
        return damaged_error();
    int rc = sqlite3_exec(m_db.get(), sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK)
        return fail(rc, "a database statement failed");
    return {};
}

Result<Statement> Database::prepare(const char* sql) {
    note_use();
    auto it = m_cache.find(sql);
    if (it == m_cache.end()) {
        sqlite3_stmt* raw = nullptr;
        int rc = sqlite3_prepare_v2(m_db.get(), sql, -1, &raw, nullptr);
        StatementPtr stmt(raw);
        if (rc != SQLITE_OK)
            return fail(rc, "could not prepare a database statement");
        it = m_cache.emplace(sql, std::move(stmt)).first;
    }
    return Statement(m_db.get(), it->second.get(), m_damage.get());
}

Result<std::int64_t> Database::query_int(const char* sql) {
    note_use();
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(m_db.get(), sql, -1, &raw, nullptr);
    StatementPtr stmt(raw);
    if (rc != SQLITE_OK)
        return fail(rc, "could not prepare a database query");
    if (damaged() && !sqlite3_stmt_readonly(stmt.get()))
        return damaged_error();
    rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_ROW)
        return sqlite3_column_int64(stmt.get(), 0);
    if (rc == SQLITE_DONE)
        return make_error(Errc::database, "a database query returned no row");
    return fail(rc, "a database query failed");
}

std::int64_t Database::last_insert_rowid() const {
    return sqlite3_last_insert_rowid(m_db.get());
}

int Database::changes() const {
    return sqlite3_changes(m_db.get());
}

bool Database::in_transaction() const {
    return sqlite3_get_autocommit(m_db.get()) == 0;
}

// Savepoint

Savepoint::Savepoint(Database& db)
    : m_db(db)
    , m_begun(db.exec("SAVEPOINT veil_store")) {}

Savepoint::~Savepoint() {
    if (m_begun && !m_done && m_db.in_transaction())
        (void)m_db.exec("ROLLBACK TO veil_store; RELEASE veil_store");
}

Status Savepoint::release() {
    VEIL_TRY(m_begun);
    VEIL_TRY(m_db.exec("RELEASE veil_store"));
    m_done = true;
    return {};
}

} // namespace veil::store
