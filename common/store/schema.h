// The account database schema, versioned with PRAGMA user_version. Each migration runs in its
// own transaction together with the version bump, so a crash leaves the previous version.
#pragma once

#include "store/database.h"
#include "util/result.h"

namespace veil::store {

// The version this build writes. A database at version 0 has no schema at all.
int current_schema_version();

// Brings the database from its user_version up to current_schema_version(). Fails with
// Errc::database if the file was written by a newer build (it is left untouched).
Status migrate(Database& db);

} // namespace veil::store
