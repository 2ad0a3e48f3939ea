// AccountStore::change_passphrase. The order of the steps is what makes it crash-safe:
//
//   1. kdf.next gets the new parameters and salt (written, flushed, folder flushed).
//   2. The database is re-encrypted under the new key in one rollback-journal transaction
//      (SQLCipher writes the journal under the old key, so a crash rolls back to it whole).
//   3. kdf.next replaces kdf (rename, folder flushed).
//
// A crash before 2 commits leaves the database under the old key and a kdf.next that open()
// drops once the old passphrase opens it. A crash between 2 and 3 leaves the database under the
// new key with the old kdf; open() then finds that the new passphrase opens it through kdf.next
// and finishes step 3. No state exists that neither passphrase opens.
#include "store/account_store.h"

#include "crypto/provider.h"
#include "store/account_store_impl.h"
#include "store/database.h"
#include "store/kdf_file.h"
#include "util/log.h"

#include <openssl/crypto.h>

namespace veil::store {

namespace fs = std::filesystem;

namespace {

constexpr const char* kLog = "store";

// Runs a journal_mode pragma and checks the mode SQLite reports back.
Status set_journal_mode(Database& db, const char* sql, const char* expected) {
    auto mode = db.prepare(sql);
    if (!mode)
        return mode.error();
    auto row = mode->step();
    if (!row)
        return row.error();
    if (!row.value() || mode->column_text(0) != expected)
        return make_error(Errc::database, std::string("the account database did not switch to ") +
                                              expected + " journal mode");
    return {};
}

// Moves every page out of the write-ahead log into the file and empties the log, so that the
// re-encryption below rewrites all of the database and no old-key frame stays behind.
Status checkpoint(Database& db) {
    auto stmt = db.prepare("PRAGMA wal_checkpoint(TRUNCATE)");
    if (!stmt)
        return stmt.error();
    auto row = stmt->step();
    if (!row)
        return row.error();
    if (!row.value() || stmt->column_int64(0) != 0)
        return make_error(Errc::busy, "the account database is busy; try again");
    return {};
}

// Step 2: WAL is left for the rekey's transaction (SQLCipher documents rekey for rollback
// journals, whose pages it keeps under the old key) and put back afterwards.
Status reencrypt(Database& db, const SecretBytes& new_key) {
    VEIL_TRY(checkpoint(db));
    VEIL_TRY(set_journal_mode(db, "PRAGMA journal_mode = DELETE", "delete"));
    Status st = db.rekey(new_key);
    Status wal = set_journal_mode(db, "PRAGMA journal_mode = WAL", "wal");
    VEIL_TRY(st);
    return wal;
}

bool same_key(const SecretBytes& a, const SecretBytes& b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace

Status AccountStore::change_passphrase(const SecretBytes& old_passphrase,
                                       const SecretBytes& new_passphrase, const KdfParams& params) {
    if (new_passphrase.empty())
        return make_error(Errc::invalid_argument, "the new passphrase must not be empty");
    VEIL_TRY(check_kdf_params(params));
    Impl& impl = *m_impl;
    if (impl.db.in_transaction())
        return make_error(Errc::busy, "the passphrase cannot change inside a transaction");

    // The old passphrase must give the key the database is open with now.
    auto current = read_kdf_file(impl.profile_dir / "kdf");
    if (!current)
        return current.error();
    auto old_key = derive_key(old_passphrase, current->salt, current->params);
    if (!old_key)
        return old_key.error();
    if (!same_key(old_key.value(), impl.db_key))
        return make_error(Errc::wrong_passphrase, "the current passphrase is not right");

    KdfFile next{params, Bytes(kSaltBytes)};
    VEIL_TRY(crypto::random_bytes(std::span<std::uint8_t>(next.salt)));
    auto new_key = derive_key(new_passphrase, next.salt, next.params);
    if (!new_key)
        return new_key.error();

    const fs::path next_file = impl.profile_dir / "kdf.next";
    VEIL_TRY(write_kdf_file(next_file, next));
    if (Status st = reencrypt(impl.db, new_key.value()); !st) {
        // The rekey rolled back: the database is under the old key, which kdf still describes.
        std::error_code ec;
        fs::remove(next_file, ec);
        log::warn(kLog, "a passphrase change failed and was rolled back");
        return st;
    }
    impl.db_key = std::move(new_key.value());
    // The next open takes a snapshot under the new key.
    remove_snapshots(impl.profile_dir);
    // From here the new passphrase is the one; if the rename fails, open() finishes it.
    if (Status st = replace_kdf_file(next_file, impl.profile_dir / "kdf"); !st) {
        log::warn(kLog, "the passphrase changed but the kdf file could not be put in place");
        return make_error(Errc::io, "the passphrase changed, but the profile's kdf file could "
                                    "not be updated; the new passphrase opens it all the same");
    }
    log::info(kLog, "changed the passphrase");
    return {};
}

} // namespace veil::store
