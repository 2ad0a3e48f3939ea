// The veil-desktop program itself (client-desktop/main.cpp), run as a child process on the
// offscreen platform.
#ifdef VEIL_DESKTOP_BIN
#include "session_bridge.h"

#include "desktop_fixture.h"
#include "support/process.h"

#include <csignal>
#include <map>

namespace veil::desktop {
namespace {

using namespace std::chrono_literals;

TEST_CASE("the desktop app takes VEIL_PASSPHRASE out of its environment: /proc/PID/environ "
          "shows only zero bytes where it was") {
    test::app();
    test::TempDir dir;
    const std::string passphrase = "desktop environment passphrase";
    {
        // A profile to open; nothing listens on port 1, so it stays offline.
        SessionBridge bridge;
        REQUIRE(bridge
                    .create_profile(dir.profile(), SecretBytes::from_string(passphrase), "alice",
                                    "ws://127.0.0.1:1")
                    .ok());
        bridge.close();
    }
    const std::map<std::string, std::string> env = {
        {"VEIL_PASSPHRASE", passphrase},
        {"HOME", dir.root().string()}, // its settings go here, not to the person's own
        {"XDG_RUNTIME_DIR", dir.root().string()},
        {"QT_QPA_PLATFORM", "offscreen"}};
    veil::test::Process app({VEIL_DESKTOP_BIN, "--profile", dir.profile().string(), "--unlock"},
                            env, dir.root(), "veil-desktop");
    // It opened the profile with the passphrase: the window is up (its log, in the profile).
    const auto log = dir.profile() / "veil-desktop.log";
    REQUIRE(test::wait_until(
        [&] {
            return std::filesystem::exists(log) &&
                   veil::test::read_file(log).find("main window open") != std::string::npos;
        },
        30000));
    // The initial environment block as the process holds it now: each entry ends with a 0.
    const std::string block = veil::test::read_file(std::filesystem::path("/proc") /
                                                    std::to_string(app.pid()) / "environ");
    REQUIRE_FALSE(block.empty());
    CHECK(block.find(passphrase) == std::string::npos);
    // The name stays in the block, its value wiped in place (the block cannot be shortened).
    const std::string name = "VEIL_PASSPHRASE=";
    auto at = block.find(name);
    REQUIRE(at != std::string::npos);
    CHECK(block.compare(at + name.size(), passphrase.size(),
                        std::string(passphrase.size(), '\0')) == 0);
    app.signal(SIGTERM);
    CHECK(app.wait(20s) == std::optional<int>(0));
}

} // namespace
} // namespace veil::desktop
#endif
