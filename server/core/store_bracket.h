// The bracket every RelayStore method of both backends (SqliteStore, PostgresStore) runs its
// body in, written once: the connection's lock, for writes the transaction, and a storage
// failure (the backend's exception) turned into Errc::database. A change to how a store method
// locks, commits or reports a failure is made here for both backends.
#pragma once

#include "util/log.h"
#include "util/result.h"

#include <exception>
#include <mutex>
#include <string>
#include <string_view>

namespace veil::relay {

// A storage failure as RelayStore reports it. The exception's text names the database's error
// (disk full, connection lost); it never holds row data, because every value is bound, not
// spliced into the SQL.
inline Error storage_error(std::string_view what, const std::exception& e) {
    log::warn("relay.store", std::string(what) + " failed: " + e.what());
    return make_error(Errc::database, "the relay's storage is unavailable");
}

// Runs body(db) in a write transaction under mutex; commits when the body's result is a
// success, rolls back on a refusal (which writes nothing) or a failure.
template <typename Transaction, typename Db, typename Body>
auto write_transaction(std::mutex& mutex, Db& db, std::string_view what, Body&& body)
    -> decltype(body(db)) {
    std::lock_guard lock(mutex);
    try {
        Transaction tx(db);
        auto result = body(db);
        if (result)
            tx.commit();
        return result;
    } catch (const std::exception& e) {
        return storage_error(what, e);
    }
}

// Runs body(db) under mutex, for reads on a connection of their own.
template <typename Db, typename Body>
auto locked_read(std::mutex& mutex, Db& db, std::string_view what, Body&& body)
    -> decltype(body(db)) {
    std::lock_guard lock(mutex);
    try {
        return body(db);
    } catch (const std::exception& e) {
        return storage_error(what, e);
    }
}

} // namespace veil::relay
