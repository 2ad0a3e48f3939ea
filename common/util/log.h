// Log facade: per-subsystem loggers, a sink the host installs. Logs say why, never what: no
// keys, plaintext, passphrases or whole frames at any level.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace veil::log {

enum class Level { debug = 0, info, warn, error, off };

using Sink = std::function<void(Level, std::string_view subsystem, std::string_view message)>;

// Installs the process-wide sink (thread-safe). The default writes to stderr at info and up.
void set_sink(Sink sink);
void set_level(Level level);
Level level();
// A sink that appends lines to a file; used by the terminal app, which owns the screen.
Sink file_sink(const std::string& path);
Level parse_level(std::string_view name, Level fallback);

void write(Level level, std::string_view subsystem, std::string_view message);

inline void debug(std::string_view sub, std::string_view msg) {
    write(Level::debug, sub, msg);
}
inline void info(std::string_view sub, std::string_view msg) {
    write(Level::info, sub, msg);
}
inline void warn(std::string_view sub, std::string_view msg) {
    write(Level::warn, sub, msg);
}
inline void error(std::string_view sub, std::string_view msg) {
    write(Level::error, sub, msg);
}

} // namespace veil::log
