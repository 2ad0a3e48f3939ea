// Secrets hygiene with real processes (QUALITY.md: "Passphrase and derived keys never appear in
// logs, core dumps or shell history"): known passphrases and message texts are planted in a
// full session at debug log level, then every file the relay and the clients wrote, every log
// and every stdout and stderr is searched for them.
#include "cli_harness.h"
#include "rpc_client.h"
#include "util/hex.h"

#include <catch2/catch.hpp>

#include <cctype>
#include <fstream>
#include <sstream>
#include <string>

using namespace veil::test::e2e;
using veil::test::TempDir;

namespace {

const std::map<std::string, std::string> kDebug = {{"VEIL_LOG_LEVEL", "debug"}};

// Every file under dir that holds needle, except those for which skip is true.
template <typename Skip>
std::vector<std::string> files_holding(const std::filesystem::path& dir, const std::string& needle,
                                       Skip skip) {
    std::vector<std::string> found;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
        if (!entry.is_regular_file() || skip(entry.path()))
            continue;
        if (veil::test::read_file(entry.path()).find(needle) != std::string::npos)
            found.push_back(entry.path().string());
    }
    return found;
}

// The soft and hard "Max core file size" of a running process, from /proc/PID/limits.
std::string core_limit(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("Max core file size", 0) != 0)
            continue;
        std::istringstream words(line.substr(18));
        std::string soft, hard;
        words >> soft >> hard;
        return soft + " " + hard;
    }
    return {};
}

// The profile's derived database key in lower-case hex, from its own process
// (tools/profile_probe.cpp), with the passphrase on stdin.
std::string database_key_hex(const std::filesystem::path& profile, const std::string& passphrase) {
    TempDir logs("veil-key-probe");
    auto probe = veil::test::run({VEIL_PROFILE_PROBE_BIN, "key", profile.string()}, {}, logs.path(),
                                 "probe", passphrase);
    INFO(probe.err);
    REQUIRE(probe.code == 0);
    std::string hex = probe.out.substr(0, probe.out.find('\n'));
    REQUIRE(hex.size() == 64);
    return hex;
}

// The forms a 32-byte key could take in a file: the raw bytes, and hex in either case.
std::vector<std::string> key_forms(const std::string& hex) {
    auto raw = veil::from_hex(hex);
    REQUIRE(raw);
    std::string upper = hex;
    for (char& c : upper)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return {std::string(raw.value().begin(), raw.value().end()), hex, upper};
}

} // namespace

TEST_CASE("passphrases and message texts appear in no log, output, profile file or relay file, "
          "at debug level through a whole session") {
    TempDir dir("veil-secrets");
    Relay relay(dir.path(), {"--log-level", "debug"});
    const std::string alice_pass = "planted passphrase Quokka 7731";
    const std::string alice_new_pass = "planted new passphrase Wombat 4410";
    const std::string bob_pass = "planted passphrase Numbat 2290";
    const std::string to_bob = "planted text for bob Xylophone 5521";
    const std::string to_alice = "planted answer for alice Zeppelin 6634";
    Client alice{dir.path(), dir.path() / "alice", relay.url(), alice_pass};
    Client bob{dir.path(), dir.path() / "bob", relay.url(), bob_pass};

    REQUIRE(alice.run_with(kDebug, {"register", "alice"}).code == 0);
    REQUIRE(bob.run_with(kDebug, {"register", "bob"}).code == 0);
    // The keys derived from the passphrases, read now, while no client has the profile open.
    const std::string alice_key = database_key_hex(alice.profile, alice_pass);
    const std::string bob_key = database_key_hex(bob.profile, bob_pass);
    REQUIRE(alice.run_with(kDebug, {"send", "bob", to_bob}).code == 0);
    auto got = bob.run_with(kDebug, {"receive", "--json"});
    REQUIRE(count(got.out, to_bob) == 1);
    REQUIRE(bob.run_with(kDebug, {"send", "alice", to_alice}).code == 0);

    auto changed = alice.run_with(
        {{"VEIL_LOG_LEVEL", "debug"}, {"VEIL_NEW_PASSPHRASE", alice_new_pass}}, {"passphrase"});
    INFO(changed.err);
    REQUIRE(changed.code == 0);
    alice.passphrase = alice_new_pass;
    const std::string alice_new_key = database_key_hex(alice.profile, alice_new_pass);
    REQUIRE(alice_new_key != alice_key);
    auto answer = alice.run_with(kDebug, {"receive", "--json"});
    REQUIRE(count(answer.out, to_alice) == 1);
    REQUIRE(alice.run_with(kDebug, {"search", "Xylophone"}).code == 0);

    // The relay logged at debug level, so the search below reads real debug output. The
    // clients ran at debug level too, but their code has almost no debug lines (three in all):
    // what they wrote at info and above is what is searched.
    REQUIRE(relay.logs().find(" DEBUG ") != std::string::npos); // relay_log.h: upper case
    REQUIRE(veil::test::read_file(alice.profile / "veil.log").find(" info ") != std::string::npos);

    auto none = [](const std::filesystem::path&) { return false; };
    for (const auto& secret : {alice_pass, alice_new_pass, bob_pass, std::string("Quokka"),
                               std::string("Wombat"), std::string("Numbat")}) {
        INFO(secret);
        CHECK(files_holding(dir.path(), secret, none).empty());
    }
    // Nor the keys derived from them, raw or in hex, in any file (logs, outputs, the profiles,
    // their snapshots, the relay's database).
    for (const auto& key : {alice_key, alice_new_key, bob_key}) {
        for (const auto& form : key_forms(key)) {
            INFO("a form of a derived key");
            CHECK(files_holding(dir.path(), form, none).empty());
        }
    }
    // A receive prints what came, on stdout (the *.out files); nowhere else may a text show.
    auto stdout_file = [](const std::filesystem::path& p) { return p.extension() == ".out"; };
    // The search does find a planted text where it belongs: in the output of a receive.
    REQUIRE_FALSE(files_holding(dir.path(), to_bob, none).empty());
    for (const auto& text : {to_bob, to_alice, std::string("Xylophone"), std::string("Zeppelin")}) {
        INFO(text);
        CHECK(files_holding(dir.path(), text, stdout_file).empty());
    }
    // The relay is still running; its database and WAL are part of what was searched.
    CHECK(std::filesystem::exists(dir.path() / "relay" / "relay.db"));
}

TEST_CASE("the relay and the terminal app run with core dumps off") {
    TempDir dir("veil-no-core");
    Relay relay(dir.path());
    CHECK(core_limit(relay.process().pid()) == "0 0");
    Client alice = make_client(dir.path(), relay.url(), "alice");
    auto daemon = alice.start({"daemon"});
    REQUIRE(daemon->wait_for_output("veil: daemon ready", 30s, true));
    CHECK(core_limit(daemon->pid()) == "0 0");
    daemon->signal(SIGTERM);
    CHECK(daemon->wait(20s) == std::optional<int>(0));
}

TEST_CASE("the terminal app takes VEIL_PASSPHRASE out of its environment: /proc/PID/environ "
          "shows only zero bytes where it was") {
    TempDir dir("veil-env-passphrase");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    REQUIRE(alice.passphrase.size() >= 8);
    auto daemon = alice.start({"daemon"});
    REQUIRE(daemon->wait_for_output("veil: daemon ready", 30s, true));
    // The initial environment block as the process holds it now: each entry ends with a 0.
    const std::string block = veil::test::read_file(std::filesystem::path("/proc") /
                                                    std::to_string(daemon->pid()) / "environ");
    REQUIRE_FALSE(block.empty());
    CHECK(block.find(alice.passphrase) == std::string::npos);
    // The name stays in the block, its value wiped in place (not shortened: the block cannot be).
    const std::string name = "VEIL_PASSPHRASE=";
    auto at = block.find(name);
    REQUIRE(at != std::string::npos);
    CHECK(block.compare(at + name.size(), alice.passphrase.size(),
                        std::string(alice.passphrase.size(), '\0')) == 0);
    // It still opened the profile with it: the daemon answers.
    veil::test::e2e::RpcClient rpc(alice.profile / "veil.sock");
    CHECK(rpc.call(1, "contacts").find("\"result\"") != std::string::npos);
    daemon->signal(SIGTERM);
    CHECK(daemon->wait(20s) == std::optional<int>(0));
}
