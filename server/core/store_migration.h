// Moving a relay's data from its SQLite store to a PostgreSQL one (veil-relay migrate): every
// table row for row, ids included (accounts, devices, one-time prekeys, invites, groups with
// their members and changes, group payloads, mailboxes, the send log), in one PostgreSQL
// transaction, and the delivery id high-water mark, so that a relay restarted on the target
// neither loses a queued message nor hands out a delivery id a device has seen. Blobs
// (attachments) stay files in the data folder and are not touched.
//
// The caller makes sure that no relay uses the source meanwhile (the data folder's lock).
#pragma once

#include "util/result.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace veil::relay {

struct MigrationOptions {
    // Empty the target's tables first instead of refusing a target that holds any row.
    bool replace_target = false;
};

struct MigrationReport {
    std::vector<std::pair<std::string, std::int64_t>> rows; // (table, rows copied), in order
    std::uint64_t next_delivery_id = 0; // every id the target hands out is at least this
};

// Copies the SQLite store in data_dir (DATA_DIR/relay.db, migrated to the current schema first)
// into the PostgreSQL database conninfo (its schema created if needed), then checks that each
// table holds as many rows as the source. Errors: not_found (no relay.db), already_exists (the
// target holds data and replace_target is off), database.
Result<MigrationReport> migrate_sqlite_to_postgres(const std::string& data_dir,
                                                   const std::string& conninfo,
                                                   const MigrationOptions& options = {});

} // namespace veil::relay
