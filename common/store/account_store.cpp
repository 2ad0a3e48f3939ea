#include "store/account_store.h"

#include "crypto/provider.h"
#include "store/account_store_impl.h"
#include "store/database.h"
#include "store/kdf_file.h"
#include "store/schema.h"
#include "util/log.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace veil::store {

namespace fs = std::filesystem;

namespace {

constexpr const char* kLog = "store";
constexpr const char* kDbName = "account.db";
constexpr const char* kKdfName = "kdf";
// A passphrase change in progress (change_passphrase): the new parameters and salt.
constexpr const char* kKdfNextName = "kdf.next";
// SQLCipher's page size, set on every open; a database file is always a whole number of pages.
constexpr std::uintmax_t kPageSize = 4096;

Error errno_error(Errc code, std::string_view what) {
    return make_error(code, std::string(what) + ": " + std::strerror(errno));
}

// Hands the key to SQLCipher and proves it opens the file. SQLCipher reads nothing until the
// first statement, so the count below is where a wrong key shows up: page 1 fails its HMAC and
// SQLite reports SQLITE_NOTADB. Nothing is written before this check passes.
Status unlock(Database& db, const SecretBytes& key) {
    VEIL_TRY(db.key(key));
    // SQLCipher 3.4 forgets these between opens; they must follow the key directly.
    VEIL_TRY(db.exec("PRAGMA cipher_page_size = 4096; PRAGMA kdf_iter = 64000;"));
    return db.check_key();
}

// Connection settings, applied once the key is known to be right.
Status configure(Database& db) {
    VEIL_TRY(db.exec("PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON; "
                     "PRAGMA temp_store = MEMORY; PRAGMA busy_timeout = 5000;"));
    auto mode = db.prepare("PRAGMA journal_mode = WAL");
    if (!mode)
        return mode.error();
    auto row = mode->step();
    if (!row)
        return row.error();
    if (!row.value() || mode->column_text(0) != "wal")
        return make_error(Errc::database, "the account database refused write-ahead logging");
    return db.exec("PRAGMA synchronous = FULL;");
}

Status make_private_dir(const fs::path& dir) {
    std::error_code ec;
    if (dir.has_parent_path())
        fs::create_directories(dir.parent_path(), ec);
    if (ec)
        return make_error(Errc::io,
                          "could not create the profile's parent folder: " + ec.message());
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
        return errno_error(Errc::io, "could not create the profile folder");
    // A folder that was already there is made private too: it is about to hold the account.
    if (::chmod(dir.c_str(), 0700) != 0)
        return errno_error(Errc::io, "could not make the profile folder private");
    return {};
}

// SQLite would create the file with 0644 less the umask; creating it first fixes it at 0600,
// and SQLite gives the -wal and -shm files the same mode as the database.
Status create_empty_file(const fs::path& file) {
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return make_error(Errc::already_exists, "an account database already exists here");
        return errno_error(Errc::io, "could not create the account database");
    }
    ::close(fd);
    return {};
}

void sync_dir(const fs::path& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

void remove_profile_files(const fs::path& dir) {
    std::error_code ec;
    for (const char* name : {"account.db", "account.db-journal", "account.db-wal", "account.db-shm",
                             "kdf", "kdf.tmp", kKdfNextName, "kdf.next.tmp", "lock"})
        fs::remove(dir / name, ec);
}

// A file that is empty or not a whole number of pages was truncated: SQLite would read it as
// an empty database or as a bad key, neither of which is true.
Status check_file_size(const fs::path& file) {
    std::error_code ec;
    auto size = fs::file_size(file, ec);
    if (ec)
        return make_error(Errc::io, "could not read the account database: " + ec.message());
    if (size == 0 || size % kPageSize != 0)
        return make_error(Errc::corrupt, "the account database is truncated");
    return {};
}

// Keys the freshly claimed (empty) account.db and writes the schema.
Result<Database> init_database(const fs::path& dir, const SecretBytes& key) {
    auto db = Database::open(dir / kDbName, false);
    if (!db)
        return db.error();
    VEIL_TRY(unlock(db.value(), key));
    // The schema is written before WAL is switched on, so account.db holds it from the start.
    VEIL_TRY(migrate(db.value()));
    VEIL_TRY(configure(db.value()));
    return std::move(db.value());
}

// A connection to the profile's database that key opens (wrong_passphrase when it does not).
Result<Database> keyed_database(const fs::path& dir, const SecretBytes& key) {
    auto db = Database::open(dir / kDbName, false);
    if (!db)
        return db.error();
    VEIL_TRY(unlock(db.value(), key));
    return std::move(db.value());
}

void discard_kdf_next(const fs::path& dir) {
    std::error_code ec;
    if (fs::remove(dir / kKdfNextName, ec)) {
        sync_dir(dir);
        log::info(kLog, "dropped the leftover of a passphrase change that did not happen");
    }
}

// The passphrase did not open the database under the kdf file: a change may have re-encrypted
// it and stopped before kdf.next replaced kdf. If kdf.next's key opens it, the change is
// finished here. Returns nothing when that is not so (the caller reports wrong_passphrase).
std::optional<std::pair<Database, SecretBytes>> open_with_kdf_next(const fs::path& dir,
                                                                   const SecretBytes& passphrase) {
    std::error_code ec;
    if (!fs::exists(dir / kKdfNextName, ec))
        return std::nullopt;
    auto next = read_kdf_file(dir / kKdfNextName);
    if (!next)
        return std::nullopt;
    auto key = derive_key(passphrase, next->salt, next->params);
    if (!key)
        return std::nullopt;
    auto db = keyed_database(dir, key.value());
    if (!db)
        return std::nullopt;
    if (!replace_kdf_file(dir / kKdfNextName, dir / kKdfName)) {
        // The database opens all the same; the next open tries kdf.next again.
        log::warn(kLog, "could not finish an interrupted passphrase change");
    } else {
        log::info(kLog, "finished an interrupted passphrase change");
    }
    return std::make_pair(std::move(db.value()), std::move(key.value()));
}

} // namespace

Status unlock_database(Database& db, const SecretBytes& key) {
    return unlock(db, key);
}

AccountStore::AccountStore(std::unique_ptr<Impl> impl)
    : m_impl(std::move(impl)) {}

AccountStore::~AccountStore() = default;

void AccountStore::remove_profile(const fs::path& profile_dir) {
    remove_profile_files(profile_dir);
}

bool AccountStore::exists(const fs::path& profile_dir) {
    std::error_code ec;
    return fs::is_regular_file(profile_dir / kDbName, ec);
}

Result<std::unique_ptr<AccountStore>> AccountStore::create(const fs::path& profile_dir,
                                                           const SecretBytes& passphrase,
                                                           const KdfParams& params) {
    if (passphrase.empty())
        return make_error(Errc::invalid_argument, "the passphrase must not be empty");
    VEIL_TRY(check_kdf_params(params));
    if (exists(profile_dir))
        return make_error(Errc::already_exists, "an account profile already exists here");
    VEIL_TRY(make_private_dir(profile_dir));
    auto lock = ProfileLock::acquire(profile_dir);
    if (!lock)
        return lock.error();

    KdfFile kdf{params, Bytes(kSaltBytes)};
    VEIL_TRY(crypto::random_bytes(std::span<std::uint8_t>(kdf.salt)));
    auto key = derive_key(passphrase, kdf.salt, kdf.params);
    if (!key)
        return key.error();

    // The empty account.db (created exclusively) claims the profile; a kdf file without a
    // database is the leftover of an interrupted create and is replaced.
    VEIL_TRY(create_empty_file(profile_dir / kDbName));
    // A -wal or -journal left by a deleted database would be replayed into the new one.
    std::error_code ec;
    for (const char* stale : {"account.db-journal", "account.db-wal", "account.db-shm"})
        fs::remove(profile_dir / stale, ec);
    Status st = write_kdf_file(profile_dir / kKdfName, kdf);
    auto db = st ? init_database(profile_dir, key.value()) : Result<Database>(st.error());
    if (!db) {
        remove_profile_files(profile_dir);
        return db.error();
    }
    sync_dir(profile_dir);
    log::info(kLog, "created an account database");
    auto impl = std::make_unique<Impl>(std::move(db.value()), std::move(lock.value()));
    impl->profile_dir = profile_dir;
    impl->db_key = std::move(key.value());
    return std::unique_ptr<AccountStore>(new AccountStore(std::move(impl)));
}

Result<std::unique_ptr<AccountStore>> AccountStore::open(const fs::path& profile_dir,
                                                         const SecretBytes& passphrase) {
    if (!exists(profile_dir))
        return make_error(Errc::not_found, "there is no account profile in this folder");
    auto lock = ProfileLock::acquire(profile_dir);
    if (!lock)
        return lock.error();
    auto kdf = read_kdf_file(profile_dir / kKdfName);
    if (!kdf)
        return kdf.error();
    VEIL_TRY(check_file_size(profile_dir / kDbName));
    auto key = derive_key(passphrase, kdf->salt, kdf->params);
    if (!key)
        return key.error();
    auto db = keyed_database(profile_dir, key.value());
    if (db) {
        // The database is under the kdf file's key, so a change that left kdf.next behind never
        // committed: its side file is dropped.
        discard_kdf_next(profile_dir);
    } else if (db.error().code == Errc::wrong_passphrase) {
        auto next = open_with_kdf_next(profile_dir, passphrase);
        if (!next)
            return db.error();
        db = std::move(next->first);
        key = std::move(next->second);
    }
    if (!db)
        return db.error();
    return finish_open(std::move(db.value()), std::move(lock.value()), profile_dir,
                       std::move(key.value()));
}

Result<std::unique_ptr<AccountStore>> AccountStore::open_with_key(const fs::path& profile_dir,
                                                                  const SecretBytes& key) {
    if (!exists(profile_dir))
        return make_error(Errc::not_found, "there is no account profile in this folder");
    auto lock = ProfileLock::acquire(profile_dir);
    if (!lock)
        return lock.error();
    VEIL_TRY(check_file_size(profile_dir / kDbName));
    // A kdf.next left by an interrupted change stays: without the passphrase there is no
    // telling which file this key belongs to. The next open with a passphrase settles it.
    auto db = keyed_database(profile_dir, key);
    if (!db)
        return db.error();
    return finish_open(std::move(db.value()), std::move(lock.value()), profile_dir, key.clone());
}

Result<std::unique_ptr<AccountStore>> AccountStore::open_reader(const fs::path& profile_dir,
                                                                const SecretBytes& key) {
    if (!exists(profile_dir))
        return make_error(Errc::not_found, "there is no account profile in this folder");
    auto db = keyed_database(profile_dir, key);
    if (!db)
        return db.error();
    // query_only first: from here on nothing this connection runs can change the file.
    VEIL_TRY(db->exec("PRAGMA query_only = ON; PRAGMA foreign_keys = ON; "
                      "PRAGMA temp_store = MEMORY; PRAGMA busy_timeout = 5000;"));
    auto version = db->query_int("PRAGMA user_version");
    if (!version)
        return version.error();
    if (version.value() != current_schema_version())
        return make_error(Errc::database,
                          "the account database is not at this build's schema version");
    auto impl = std::make_unique<Impl>(std::move(db.value()), std::nullopt);
    impl->profile_dir = profile_dir;
    impl->db_key = key.clone();
    return std::unique_ptr<AccountStore>(new AccountStore(std::move(impl)));
}

Result<std::unique_ptr<AccountStore>> AccountStore::finish_open(Database db, ProfileLock lock,
                                                                const fs::path& profile_dir,
                                                                SecretBytes key) {
    auto version = db.query_int("PRAGMA user_version");
    if (!version)
        return version.error();
    if (version.value() == 0)
        return make_error(Errc::corrupt, "the account database has no schema");
    VEIL_TRY(configure(db));
    VEIL_TRY(migrate(db));
    log::info(kLog, "opened the account database");
    auto impl = std::make_unique<Impl>(std::move(db), std::move(lock));
    impl->profile_dir = profile_dir;
    impl->db_key = std::move(key);
    return std::unique_ptr<AccountStore>(new AccountStore(std::move(impl)));
}

SecretBytes AccountStore::database_key() const {
    return m_impl->db_key.clone();
}

Status AccountStore::check_integrity() {
    auto stmt = m_impl->db.prepare("PRAGMA quick_check");
    if (!stmt)
        return stmt.error();
    auto row = stmt->step();
    if (!row)
        return row.error();
    if (!row.value() || stmt->column_text(0) != "ok") {
        m_impl->db.mark_damaged();
        return make_error(Errc::corrupt, "the account database failed its integrity check");
    }
    return {};
}

bool AccountStore::damaged() const {
    return m_impl->db.damaged();
}

// Transaction

AccountStore::Transaction::Transaction(AccountStore& store)
    : m_store(store)
    , m_nested(store.m_impl->db.in_transaction())
    , m_begun(store.m_impl->db.exec(m_nested ? "SAVEPOINT veil_nested" : "BEGIN IMMEDIATE")) {}

AccountStore::Transaction::~Transaction() {
    if (m_begun && !m_done && m_store.m_impl->db.in_transaction()) {
        // ROLLBACK TO keeps the savepoint open, RELEASE then ends it.
        if (!m_store.m_impl->db.exec(m_nested ? "ROLLBACK TO veil_nested; RELEASE veil_nested"
                                              : "ROLLBACK"))
            log::warn(kLog, "a transaction could not be rolled back");
    }
}

Status AccountStore::Transaction::commit() {
    VEIL_TRY(m_begun);
    if (m_done)
        return make_error(Errc::internal, "the transaction has already been committed");
    // SQLite may have rolled the whole transaction back on its own (an I/O error, a full disk);
    // committing then would silently commit nothing.
    if (!m_store.m_impl->db.in_transaction())
        return make_error(Errc::database, "the transaction was rolled back by the database");
    VEIL_TRY(m_store.m_impl->db.exec(m_nested ? "RELEASE veil_nested" : "COMMIT"));
    m_done = true;
    return {};
}

// Meta helpers

Result<std::pair<Statement, bool>> AccountStore::Impl::select_meta(std::string_view key) {
    auto stmt = db.prepare("SELECT value FROM meta WHERE key = ?1");
    if (!stmt)
        return stmt.error();
    stmt->bind(1, key);
    auto row = stmt->step();
    if (!row)
        return row.error();
    return std::pair<Statement, bool>(std::move(stmt.value()), row.value());
}

Result<std::optional<std::int64_t>> AccountStore::Impl::meta_int(std::string_view key) {
    auto found = select_meta(key);
    if (!found)
        return found.error();
    if (!found->second)
        return std::optional<std::int64_t>();
    return std::optional<std::int64_t>(found->first.column_int64(0));
}

Result<std::optional<std::string>> AccountStore::Impl::meta_text(std::string_view key) {
    auto found = select_meta(key);
    if (!found)
        return found.error();
    if (!found->second)
        return std::optional<std::string>();
    return std::optional<std::string>(found->first.column_text(0));
}

Result<std::optional<Bytes>> AccountStore::Impl::meta_blob(std::string_view key) {
    auto found = select_meta(key);
    if (!found)
        return found.error();
    if (!found->second)
        return std::optional<Bytes>();
    return std::optional<Bytes>(found->first.column_blob(0));
}

Result<std::optional<SecretBytes>> AccountStore::Impl::meta_secret(std::string_view key) {
    auto found = select_meta(key);
    if (!found)
        return found.error();
    if (!found->second)
        return std::optional<SecretBytes>();
    return std::optional<SecretBytes>(found->first.column_secret(0));
}

Status AccountStore::Impl::put_meta_int(std::string_view key, std::int64_t value) {
    auto stmt = db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)");
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, key).bind(2, value).run();
}

Status AccountStore::Impl::put_meta_text(std::string_view key, std::string_view value) {
    auto stmt = db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)");
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, key).bind(2, value).run();
}

Status AccountStore::Impl::put_meta_blob(std::string_view key,
                                         std::span<const std::uint8_t> value) {
    auto stmt = db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)");
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, key).bind_blob(2, value).run();
}

// Account

Result<AccountInfo> AccountStore::account() {
    auto username = m_impl->meta_text("username");
    if (!username)
        return username.error();
    if (!username.value())
        return make_error(Errc::not_found, "the account has not been set up");
    auto relay_url = m_impl->meta_text("relay_url");
    auto device_id = m_impl->meta_int("device_id");
    auto registered = m_impl->meta_int("registered");
    if (!relay_url)
        return relay_url.error();
    if (!device_id)
        return device_id.error();
    if (!registered)
        return registered.error();
    AccountInfo info;
    info.username = std::move(*username.value());
    info.relay_url = relay_url.value().value_or("");
    info.device_id = static_cast<std::uint32_t>(device_id.value().value_or(1));
    info.registered = registered.value().value_or(0) != 0;
    return info;
}

Status AccountStore::set_account(const AccountInfo& info) {
    Savepoint sp(m_impl->db);
    VEIL_TRY(sp.begun());
    VEIL_TRY(m_impl->put_meta_text("username", info.username));
    VEIL_TRY(m_impl->put_meta_text("relay_url", info.relay_url));
    VEIL_TRY(m_impl->put_meta_int("device_id", info.device_id));
    VEIL_TRY(m_impl->put_meta_int("registered", info.registered ? 1 : 0));
    return sp.release();
}

Status AccountStore::set_identity(const crypto::IdentityKeyPair& pair,
                                  std::uint32_t registration_id) {
    if (pair.public_key.empty() || pair.private_key.empty())
        return make_error(Errc::invalid_argument, "an identity key pair needs both halves");
    Savepoint sp(m_impl->db);
    VEIL_TRY(sp.begun());
    VEIL_TRY(m_impl->put_meta_blob("identity_public", pair.public_key));
    VEIL_TRY(m_impl->put_meta_blob("identity_private", pair.private_key.view()));
    VEIL_TRY(m_impl->put_meta_int("registration_id", registration_id));
    return sp.release();
}

Result<bool> AccountStore::has_identity() {
    auto key = m_impl->meta_blob("identity_public");
    if (!key)
        return key.error();
    return key.value().has_value();
}

Result<std::uint32_t> AccountStore::reserve_prekey_ids(unsigned count) {
    // libsignal's prekey ids are 24-bit "medium" values; 0 is never used and the counter wraps
    // to 1 before a block would reach 0xFFFFFF.
    constexpr std::int64_t kMaxId = 0xFFFFFE;
    if (count == 0 || count > kMaxId)
        return make_error(Errc::invalid_argument, "a prekey id block must hold 1 to 0xFFFFFE ids");
    Savepoint sp(m_impl->db);
    VEIL_TRY(sp.begun());
    auto next = m_impl->meta_int("next_prekey_id");
    if (!next)
        return next.error();
    std::int64_t first = next.value().value_or(1);
    if (first < 1 || first > kMaxId || first + count - 1 > kMaxId)
        first = 1;
    std::int64_t after = first + count;
    if (after > kMaxId)
        after = 1;
    VEIL_TRY(m_impl->put_meta_int("next_prekey_id", after));
    VEIL_TRY(sp.release());
    return static_cast<std::uint32_t>(first);
}

// Settings

Result<std::string> AccountStore::setting(const std::string& key) {
    auto stmt = m_impl->db.prepare("SELECT value FROM settings WHERE key = ?1");
    if (!stmt)
        return stmt.error();
    auto row = stmt->bind(1, key).step();
    if (!row)
        return row.error();
    return row.value() ? stmt->column_text(0) : std::string();
}

Status AccountStore::set_setting(const std::string& key, const std::string& value) {
    auto stmt = m_impl->db.prepare("INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)");
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, key).bind(2, value).run();
}

// Contacts

Status AccountStore::add_contact(const std::string& name, std::int64_t now_ms) {
    if (name.empty())
        return make_error(Errc::invalid_argument, "a contact needs a name");
    auto stmt =
        m_impl->db.prepare("INSERT OR IGNORE INTO contacts (name, added_at_ms) VALUES (?1, ?2)");
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, name).bind(2, now_ms).run();
}

Result<std::vector<std::string>> AccountStore::contacts() {
    auto stmt = m_impl->db.prepare("SELECT name FROM contacts ORDER BY name");
    if (!stmt)
        return stmt.error();
    std::vector<std::string> names;
    for (;;) {
        auto row = stmt->step();
        if (!row)
            return row.error();
        if (!row.value())
            break;
        names.push_back(stmt->column_text(0));
    }
    return names;
}

Result<bool> AccountStore::is_contact(const std::string& name) {
    auto stmt = m_impl->db.prepare("SELECT 1 FROM contacts WHERE name = ?1");
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, name).step();
}

Status AccountStore::set_blocked(const std::string& name, bool blocked, std::int64_t now_ms) {
    auto stmt = blocked ? m_impl->db.prepare("INSERT OR IGNORE INTO blocked (name, blocked_at_ms) "
                                             "VALUES (?1, ?2)")
                        : m_impl->db.prepare("DELETE FROM blocked WHERE name = ?1");
    if (!stmt)
        return stmt.error();
    stmt->bind(1, name);
    if (blocked)
        stmt->bind(2, now_ms);
    return stmt->run();
}

Result<bool> AccountStore::is_blocked(const std::string& name) {
    auto stmt = m_impl->db.prepare("SELECT 1 FROM blocked WHERE name = ?1");
    if (!stmt)
        return stmt.error();
    return stmt->bind(1, name).step();
}

Result<std::vector<std::string>> AccountStore::blocked() {
    auto stmt = m_impl->db.prepare("SELECT name FROM blocked ORDER BY name");
    if (!stmt)
        return stmt.error();
    return collect<std::string>(stmt.value(), [](const Statement& s) { return s.column_text(0); });
}

} // namespace veil::store
