// Secrets handed to a program through its environment (VEIL_PASSPHRASE): taken out of it once,
// first thing in main, by every Veil program that reads one.
#pragma once

#include "util/secret_bytes.h"

#include <optional>

namespace veil {

// Copies the value of the environment variable name into a SecretBytes, overwrites the value's
// bytes in place with zeros and unsets the variable. Children therefore do not inherit it, and
// /proc/PID/environ (the block the process started with, as it now is in memory) shows the
// name followed by zero bytes instead of the secret. nullopt when the variable is not set (a
// set but empty variable gives an empty SecretBytes).
// Thread: call it before any other thread starts; getenv and unsetenv are not thread-safe.
std::optional<SecretBytes> take_secret_from_environment(const char* name);

} // namespace veil
