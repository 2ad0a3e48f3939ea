#include "util/crash_point.h"

#include <atomic>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace veil::crash {
namespace {

struct Target {
    std::string name;
    long pass = 1;
};

// VEIL_CRASH_AT as NAME[:N]; an N that is not a positive number names no pass at all, so a
// typo in a test never kills the process somewhere unplanned.
Target parse_target() {
    Target t;
    const char* env = std::getenv("VEIL_CRASH_AT");
    if (!env)
        return t;
    std::string_view text(env);
    auto colon = text.rfind(':');
    t.name = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) {
        auto digits = text.substr(colon + 1);
        long n = 0;
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
        t.pass = ec == std::errc() && end == digits.data() + digits.size() && n > 0 ? n : 0;
    }
    return t;
}

const Target& target() {
    static const Target t = parse_target();
    return t;
}

std::atomic<long> g_passes{0};

} // namespace

namespace detail {

const bool g_armed = std::getenv("VEIL_CRASH_AT") != nullptr;

void reached(std::string_view point) {
    const Target& t = target();
    if (point != t.name || t.pass == 0)
        return;
    if (g_passes.fetch_add(1) + 1 != t.pass)
        return;
    // write(2), not stdio: nothing buffered may be lost or half written by the kill.
    std::string line = "veil: crash point " + t.name + " reached\n";
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
    ::raise(SIGKILL);
}

} // namespace detail
} // namespace veil::crash
