// Restoring a chosen snapshot, beside AccountStore::restore_snapshot (which takes the newest
// good one): for an app that lists the snapshots and lets the person pick (the desktop's
// restore dialog). Kept out of account_store.h so that the many files including that header do
// not depend on it.
#pragma once

#include "util/result.h"
#include "util/secret_bytes.h"

#include <cstdint>
#include <filesystem>
#include <optional>

namespace veil::store {

// When a snapshot (a path from AccountStore::snapshots) was written, in ms since 1970, read
// from its name; nullopt for a file that is not a snapshot.
std::optional<std::int64_t> snapshot_time_ms(const std::filesystem::path& snapshot);

// AccountStore::restore_snapshot with only chosen tried (one of AccountStore::snapshots()): it
// must open with the passphrase and pass quick_check, then it replaces account.db, which is kept
// aside as account.db.damaged-<now_ms>. Errors: as restore_snapshot; not_found also when chosen
// is not a snapshot of this profile, or the passphrase does not open it, or it is damaged.
Result<std::filesystem::path> restore_chosen_snapshot(const std::filesystem::path& profile_dir,
                                                      const SecretBytes& passphrase,
                                                      std::int64_t now_ms,
                                                      const std::filesystem::path& chosen);

} // namespace veil::store
