// Snapshots of the account database: encrypted copies under the same raw key, written through
// SQLite's backup API so that a copy taken while the WAL holds changes is still consistent, and
// checked (opened with the key, PRAGMA quick_check) before they count. A restore never deletes
// the damaged file: it is renamed aside, for export or forensics.
#include "store/account_store.h"

#include "store/account_store_impl.h"
#include "store/database.h"
#include "store/kdf_file.h"
#include "store/profile_lock.h"
#include "store/snapshot_restore.h"
#include "util/log.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

namespace veil::store {

namespace fs = std::filesystem;

namespace {

constexpr const char* kLog = "store";
constexpr const char* kSnapshotDir = "snapshots";
constexpr const char* kDbName = "account.db";
constexpr std::string_view kPrefix = "account-";
constexpr std::string_view kSuffix = ".db";
constexpr std::size_t kDigits = 15; // milliseconds since 1970, zero-padded: names sort by time

std::string snapshot_name(std::int64_t ms) {
    // Clamped to 15 digits (until the year 33658), so that every name has the same length.
    std::string digits = std::to_string(std::clamp<std::int64_t>(ms, 0, 999'999'999'999'999));
    return std::string(kPrefix) + std::string(kDigits - digits.size(), '0') + digits +
           std::string(kSuffix);
}

std::optional<std::int64_t> snapshot_time(const fs::path& file) {
    const std::string name = file.filename().string();
    if (name.size() != kPrefix.size() + kDigits + kSuffix.size() || name.rfind(kPrefix, 0) != 0 ||
        name.compare(kPrefix.size() + kDigits, kSuffix.size(), kSuffix) != 0)
        return std::nullopt;
    std::int64_t ms = 0;
    const char* first = name.data() + kPrefix.size();
    auto [end, ec] = std::from_chars(first, first + kDigits, ms);
    if (ec != std::errc() || end != first + kDigits)
        return std::nullopt;
    return ms;
}

Error errno_error(std::string_view what) {
    return make_error(Errc::io, std::string(what) + ": " + std::strerror(errno));
}

Status fsync_path(const fs::path& path, bool directory) {
    int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
    if (fd < 0)
        return errno_error("could not open a snapshot to flush it");
    int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0)
        return errno_error("could not flush a snapshot to disk");
    return {};
}

// Opens a copy with key and reads every page of it: the key opens it, it has a schema, and
// quick_check finds nothing (SQLCipher's page HMAC fails on any page that was changed).
Status verify_copy(const fs::path& file, const SecretBytes& key) {
    auto db = Database::open(file, false);
    if (!db)
        return db.error();
    VEIL_TRY(unlock_database(db.value(), key));
    auto version = db->query_int("PRAGMA user_version");
    if (!version)
        return version.error();
    if (version.value() == 0)
        return make_error(Errc::corrupt, "the snapshot has no schema");
    auto check = db->prepare("PRAGMA quick_check");
    if (!check)
        return check.error();
    auto row = check->step();
    if (!row)
        return row.error();
    if (!row.value() || check->column_text(0) != "ok")
        return make_error(Errc::corrupt, "the snapshot failed its integrity check");
    return {};
}

// Prepares a restored copy for use before it goes in place: one-time prekey ids jump past any
// the newer, lost database may have uploaded (AccountStore::restore_snapshot), and the restore
// time is recorded. libsignal's prekey ids are 24-bit; a jump past the top wraps as
// reserve_prekey_ids does.
Status mark_restored(const fs::path& file, const SecretBytes& key, std::int64_t now_ms) {
    constexpr std::int64_t kMaxId = 0xFFFFFE;
    auto db = Database::open(file, false);
    if (!db)
        return db.error();
    VEIL_TRY(unlock_database(db.value(), key));
    auto next = db->query_int("SELECT value FROM meta WHERE key = 'next_prekey_id'");
    if (!next)
        return next.error();
    std::random_device random;
    std::uniform_int_distribution<std::int64_t> jump(std::int64_t{1} << 20, std::int64_t{1} << 21);
    std::int64_t after = next.value() + jump(random);
    if (after > kMaxId)
        after = after - kMaxId;
    // One cached statement, so each use ends (and resets it) before the next.
    auto put = [&db](std::string_view name, std::int64_t value) -> Status {
        auto stmt = db->prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)");
        if (!stmt)
            return stmt.error();
        return stmt->bind(1, name).bind(2, value).run();
    };
    VEIL_TRY(db->exec("BEGIN IMMEDIATE"));
    Status st = put("next_prekey_id", after);
    if (st)
        st = put("restored_at_ms", now_ms);
    if (st)
        st = db->exec("COMMIT");
    if (!st) {
        (void)db->exec("ROLLBACK");
        return st.error();
    }
    return {};
}

// Copies every page of source into the new file target under the same key.
Status copy_database(Database& source, const fs::path& target, const SecretBytes& key) {
    int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return errno_error("could not create a snapshot");
    ::close(fd);
    auto dest = Database::open(target, false);
    if (!dest)
        return dest.error();
    VEIL_TRY(unlock_database(dest.value(), key));
    sqlite3_backup* backup = sqlite3_backup_init(dest->handle(), "main", source.handle(), "main");
    if (!backup)
        return sqlite_error(dest->handle(), sqlite3_errcode(dest->handle()),
                            "could not start a snapshot");
    int rc = sqlite3_backup_step(backup, -1);
    sqlite3_backup_finish(backup);
    if (rc != SQLITE_DONE)
        return sqlite_error(dest->handle(), rc, "could not write a snapshot");
    return {};
}

void remove_quietly(const fs::path& file) {
    std::error_code ec;
    fs::remove(file, ec);
}

// Moves account.db and the files SQLite keeps beside it out of the way, each renamed with
// suffix; none is deleted.
Status set_aside(const fs::path& dir, const std::string& suffix) {
    for (const char* name :
         {"account.db", "account.db-wal", "account.db-shm", "account.db-journal"}) {
        std::error_code ec;
        if (!fs::exists(dir / name, ec))
            continue;
        fs::rename(dir / name, dir / (std::string(name) + suffix), ec);
        if (ec)
            return make_error(Errc::io,
                              "could not move the damaged database aside: " + ec.message());
    }
    return {};
}

} // namespace

std::vector<fs::path> AccountStore::snapshots(const fs::path& profile_dir) {
    std::vector<fs::path> found;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(profile_dir / kSnapshotDir, ec))
        if (entry.is_regular_file(ec) && snapshot_time(entry.path()))
            found.push_back(entry.path());
    std::sort(found.begin(), found.end(), [](const fs::path& a, const fs::path& b) {
        return a.filename().string() > b.filename().string();
    });
    return found;
}

void AccountStore::remove_snapshots(const fs::path& profile_dir) {
    for (const auto& snapshot : snapshots(profile_dir))
        remove_quietly(snapshot);
}

Result<bool> AccountStore::snapshot_if_older(std::int64_t now_ms, std::int64_t max_age_ms,
                                             int keep) {
    // A copy of a damaged file would be refused by verify_copy anyway; refusing first also
    // keeps the rotation from touching the good snapshots a restore will need.
    if (m_impl->db.damaged())
        return damaged_error();
    const fs::path dir = m_impl->profile_dir / kSnapshotDir;
    auto existing = snapshots(m_impl->profile_dir);
    if (!existing.empty()) {
        auto newest = snapshot_time(existing.front());
        // A snapshot from the future (the clock was stepped back) counts as fresh.
        if (newest && now_ms - *newest < max_age_ms)
            return false;
    }
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
        return errno_error("could not create the snapshot folder");

    const std::string name = snapshot_name(now_ms);
    const fs::path partial = dir / (".partial-" + name);
    remove_quietly(partial);
    Status st = copy_database(m_impl->db, partial, m_impl->db_key);
    if (st)
        st = verify_copy(partial, m_impl->db_key);
    if (st)
        st = fsync_path(partial, false);
    if (st && ::rename(partial.c_str(), (dir / name).c_str()) != 0)
        st = errno_error("could not put a snapshot in place");
    if (!st) {
        remove_quietly(partial);
        return st.error();
    }
    (void)fsync_path(dir, true);
    auto all = snapshots(m_impl->profile_dir);
    for (std::size_t i = static_cast<std::size_t>(std::max(keep, 1)); i < all.size(); ++i)
        remove_quietly(all[i]);
    log::info(kLog, "wrote a snapshot of the account database");
    return true;
}

namespace {

// Puts the first of candidates that the passphrase opens whole in place of account.db.
Result<fs::path> restore_first_good(const fs::path& profile_dir, const SecretBytes& passphrase,
                                    std::int64_t now_ms, const std::vector<fs::path>& candidates) {
    auto lock = ProfileLock::acquire(profile_dir);
    if (!lock)
        return lock.error();
    auto kdf = read_kdf_file(profile_dir / "kdf");
    if (!kdf)
        return kdf.error();
    auto key = derive_key(passphrase, kdf->salt, kdf->params);
    if (!key)
        return key.error();
    for (const auto& snapshot : candidates) {
        // One written under an earlier passphrase, or damaged itself, is passed over.
        if (!verify_copy(snapshot, key.value())) {
            log::warn(kLog, "a snapshot did not open or failed its check; trying an older one");
            continue;
        }
        const fs::path restoring = profile_dir / "account.db.restoring";
        remove_quietly(restoring);
        std::error_code ec;
        fs::copy_file(snapshot, restoring, ec);
        if (ec)
            return make_error(Errc::io, "could not copy the snapshot: " + ec.message());
        fs::permissions(restoring, fs::perms::owner_read | fs::perms::owner_write, ec);
        VEIL_TRY(mark_restored(restoring, key.value(), now_ms));
        VEIL_TRY(fsync_path(restoring, false));
        VEIL_TRY(set_aside(profile_dir, ".damaged-" + std::to_string(now_ms)));
        if (::rename(restoring.c_str(), (profile_dir / kDbName).c_str()) != 0)
            return errno_error("could not put the restored database in place");
        (void)fsync_path(profile_dir, true);
        log::info(kLog, "restored the account database from a snapshot");
        return snapshot;
    }
    return make_error(Errc::not_found,
                      "no snapshot of this profile opens with this passphrase and passes its "
                      "integrity check");
}

} // namespace

Result<fs::path> AccountStore::restore_snapshot(const fs::path& profile_dir,
                                                const SecretBytes& passphrase,
                                                std::int64_t now_ms) {
    return restore_first_good(profile_dir, passphrase, now_ms, snapshots(profile_dir));
}

std::optional<std::int64_t> snapshot_time_ms(const fs::path& snapshot) {
    return snapshot_time(snapshot);
}

Result<fs::path> restore_chosen_snapshot(const fs::path& profile_dir, const SecretBytes& passphrase,
                                         std::int64_t now_ms, const fs::path& chosen) {
    // Only a snapshot of this profile's own folder: the choice names one of snapshots().
    auto all = AccountStore::snapshots(profile_dir);
    if (std::find(all.begin(), all.end(), chosen) == all.end())
        return make_error(Errc::not_found, "there is no such snapshot of this profile");
    return restore_first_good(profile_dir, passphrase, now_ms, {chosen});
}

Result<std::int64_t> AccountStore::restored_at_ms() {
    auto at = m_impl->meta_int("restored_at_ms");
    if (!at)
        return at.error();
    return at.value().value_or(0);
}

} // namespace veil::store
