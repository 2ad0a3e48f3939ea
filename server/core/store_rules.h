// The backend-neutral decisions of RelayStore, written once for SqliteStore and PostgresStore:
// which devices a 1:1 send's copies must address, and how the send log keeps the members a group
// send could not reach. Each backend reads its rows and hands them here; a rule changed here
// changes for both.
#pragma once

#include "core/storage.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace veil::relay {

// An active device: (username, device id) and its row in devices.
struct DeviceSlot {
    std::pair<std::string, std::uint32_t> address;
    std::int64_t row = 0;
};

// Appends the active devices of account (named username) to out, by device id, leaving out the
// device numbered except (0: none). Reads inside the writer's transaction; throws on failure.
using ActiveRows = std::function<void(std::int64_t account, const std::string& username,
                                      std::uint32_t except, std::vector<DeviceSlot>& out)>;

// The device rows of env's copies, in the copies' order, when they address exactly the devices
// they must (NewEnvelope): every active device of to_account (but the sending one when the
// sender writes to itself) and, with sync, every other active device of the sender
// (from_account; nullopt: the sender has no account), each once. nullopt otherwise, and for a
// sync send to oneself.
std::optional<std::vector<std::int64_t>> copy_rows_of(const NewEnvelope& env,
                                                      std::int64_t to_account,
                                                      std::optional<std::int64_t> from_account,
                                                      const ActiveRows& active_rows);

// The send log's unreachable column: member names, one per line (names never hold a newline).
std::string join_names(const std::vector<std::string>& names);
std::vector<std::string> split_names(const std::string& joined);

} // namespace veil::relay
