// AccountStore::Impl, shared by the store's source files (account_store.cpp,
// message_queries.cpp, protocol_queries.cpp, group_queries.cpp). Private to common/store.
#pragma once

#include "store/account_store.h"
#include "store/database.h"
#include "store/profile_lock.h"

#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

namespace veil::store {

class AccountStore::Impl {
public:
    Impl(Database database, std::optional<ProfileLock> profile_lock)
        : db(std::move(database))
        , lock(std::move(profile_lock)) {}

    // The meta table holds one value per key; reads return nullopt when the key is unset.
    Result<std::optional<std::int64_t>> meta_int(std::string_view key);
    Result<std::optional<std::string>> meta_text(std::string_view key);
    Result<std::optional<Bytes>> meta_blob(std::string_view key);
    Result<std::optional<SecretBytes>> meta_secret(std::string_view key);
    Status put_meta_int(std::string_view key, std::int64_t value);
    Status put_meta_text(std::string_view key, std::string_view value);
    Status put_meta_blob(std::string_view key, std::span<const std::uint8_t> value);

    Database db;
    // Held while the store is open; a reader (open_reader) has none: the writer holds it.
    std::optional<ProfileLock> lock;
    std::filesystem::path profile_dir;
    SecretBytes db_key; // the raw database key, for database_key() and change_passphrase()

private:
    // Runs the meta SELECT for key; the returned statement is on its row when the bool is true.
    Result<std::pair<Statement, bool>> select_meta(std::string_view key);
};

// Hands the raw key to a freshly opened connection, sets the pragmas SQLCipher needs on every
// open and proves the key opens the file (wrong_passphrase if not). Defined in
// account_store.cpp; snapshots.cpp keys its copies the same way.
Status unlock_database(Database& db, const SecretBytes& key);

// Steps stmt to the end, turning each row into a value with read.
template <typename T, typename Read>
Result<std::vector<T>> collect(Statement& stmt, Read read) {
    std::vector<T> out;
    for (;;) {
        auto row = stmt.step();
        if (!row)
            return row.error();
        if (!row.value())
            return out;
        out.push_back(read(stmt));
    }
}

} // namespace veil::store
