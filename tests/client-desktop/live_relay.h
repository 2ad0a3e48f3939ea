// A veil-relay process on a free loopback port for the desktop's live tests, stopped at the end
// of the test. Only with VEIL_RELAY_BIN (the relay is built).
#pragma once

#ifdef VEIL_RELAY_BIN
#include "desktop_fixture.h"
#include "session_bridge.h"
#include "support/process.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

namespace veil::desktop::test {

struct LiveRelay {
    // extra: more options for veil-relay (e.g. a short --retention-ms).
    explicit LiveRelay(const std::filesystem::path& dir, std::vector<std::string> extra = {})
        : process(arguments(dir, std::move(extra)), {}, dir, "relay") {
        REQUIRE(process.wait_for_output("listening on", std::chrono::seconds(20)));
        std::smatch m;
        std::string listening = process.out();
        REQUIRE(std::regex_search(listening, m, std::regex(R"(listening on ([0-9.]+:[0-9]+))")));
        url = "ws://" + m[1].str();
    }
    ~LiveRelay() {
        process.signal(SIGTERM);
        process.wait(std::chrono::seconds(10));
    }
    LiveRelay(const LiveRelay&) = delete;
    LiveRelay& operator=(const LiveRelay&) = delete;

    veil::test::Process process;
    std::string url;

private:
    static std::vector<std::string> arguments(const std::filesystem::path& dir,
                                              std::vector<std::string> extra) {
        std::vector<std::string> a = {VEIL_RELAY_BIN, "--listen", "127.0.0.1:0", "--data",
                                      (dir / "relay").string()};
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    }
};

// A new account on the relay at url, in dir/name, started and ready.
inline void register_account(SessionBridge& bridge, const std::filesystem::path& dir,
                             const std::string& name, const std::string& url,
                             int wait_ms = 20'000) {
    REQUIRE(bridge.create_profile(dir / name, SecretBytes::from_string(name + " pass"), name, url)
                .ok());
    REQUIRE(bridge.start().ok());
    REQUIRE(wait_until([&] { return bridge.state() == engine::State::ready; }, wait_ms));
}

} // namespace veil::desktop::test
#endif // VEIL_RELAY_BIN
