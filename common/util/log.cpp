#include "util/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <memory>
#include <mutex>

namespace veil::log {
namespace {

std::mutex g_mutex;
std::atomic<Level> g_level{Level::info};

const char* level_name(Level level) {
    switch (level) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
    case Level::off: return "off";
    }
    return "?";
}

std::string timestamp() {
    auto now = std::chrono::system_clock::now();
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

void stderr_sink(Level level, std::string_view sub, std::string_view msg) {
    std::fprintf(stderr, "%s %s [%.*s] %.*s\n", timestamp().c_str(), level_name(level),
                 static_cast<int>(sub.size()), sub.data(), static_cast<int>(msg.size()),
                 msg.data());
}

Sink& sink() {
    static Sink s = stderr_sink;
    return s;
}

} // namespace

void set_sink(Sink s) {
    std::lock_guard lock(g_mutex);
    sink() = std::move(s);
}

void set_level(Level level) {
    g_level = level;
}
Level level() {
    return g_level;
}

Level parse_level(std::string_view name, Level fallback) {
    if (name == "debug")
        return Level::debug;
    if (name == "info")
        return Level::info;
    if (name == "warn")
        return Level::warn;
    if (name == "error")
        return Level::error;
    if (name == "off")
        return Level::off;
    return fallback;
}

Sink file_sink(const std::string& path) {
    // Owner-only: logs hold no secrets, but ids and timing are still nobody else's business.
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    std::shared_ptr<std::FILE> file(fd >= 0 ? ::fdopen(fd, "a") : nullptr, [](std::FILE* f) {
        if (f)
            std::fclose(f);
    });
    return [file](Level level, std::string_view sub, std::string_view msg) {
        if (!file)
            return;
        std::fprintf(file.get(), "%s %s [%.*s] %.*s\n", timestamp().c_str(), level_name(level),
                     static_cast<int>(sub.size()), sub.data(), static_cast<int>(msg.size()),
                     msg.data());
        std::fflush(file.get());
    };
}

void write(Level lvl, std::string_view sub, std::string_view msg) {
    if (lvl < g_level.load() || lvl == Level::off)
        return;
    std::lock_guard lock(g_mutex);
    if (sink())
        sink()(lvl, sub, msg);
}

} // namespace veil::log
