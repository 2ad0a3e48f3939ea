#include "relay_log.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>

namespace veil::relay {
namespace {

const char* level_name(log::Level level) {
    switch (level) {
    case log::Level::debug: return "DEBUG";
    case log::Level::info: return "INFO";
    case log::Level::warn: return "WARN";
    case log::Level::error: return "ERROR";
    case log::Level::off: break;
    }
    return "OFF";
}

std::string quote(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\')
            out += '\\';
        if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f)
            out += c;
    }
    return out + "\"";
}

} // namespace

std::string format_log_line(std::int64_t unix_ms, log::Level level, std::string_view component,
                            std::string_view message) {
    const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char stamp[40];
    const std::size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(stamp + n, sizeof stamp - n, ".%03dZ", static_cast<int>(unix_ms % 1000));

    std::string line = std::string(stamp) + " " + level_name(level) + " " + std::string(component);
    if (message.rfind("event=", 0) == 0) {
        // Structured already; a stray newline must not start a forged line.
        line += ' ';
        for (char c : message)
            line += (c == '\n' || c == '\r') ? ' ' : c;
    } else {
        line += " event=note text=" + quote(message);
    }
    return line;
}

log::Sink relay_log_sink() {
    auto mutex = std::make_shared<std::mutex>();
    return [mutex](log::Level level, std::string_view component, std::string_view message) {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
        const std::string line = format_log_line(ms, level, component, message) + "\n";
        std::lock_guard lock(*mutex);
        std::fwrite(line.data(), 1, line.size(), stdout);
        std::fflush(stdout);
    };
}

} // namespace veil::relay
