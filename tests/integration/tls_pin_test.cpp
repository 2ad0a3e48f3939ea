// A relay serving wss:// with its own self-signed certificate (tls = auto) and real headless
// clients that pin it in the relay URL (wss://HOST:PORT#sha256:HEX): the right pin connects,
// a wrong pin or none is refused with a sentence saying why.
#include "cli_harness.h"
#include "support/process.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>

using namespace std::chrono_literals;
using namespace veil::test::e2e;
using veil::test::TempDir;

namespace {

std::string read_all(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string fingerprint(const std::filesystem::path& data) {
    auto r = veil::test::run({VEIL_RELAY_BIN, "tls", "fingerprint", "--data", data.string()}, {},
                             data.parent_path(), "fingerprint", {}, 20s);
    INFO(r.err);
    REQUIRE(r.code == 0);
    return first_line(r.out);
}

// The relay's wss:// address: the harness names it ws:// from the listening line.
std::string wss(const Relay& relay) {
    return "wss://" + relay.url().substr(std::string("ws://").size());
}

// `veil register` with a short deadline, for the attempts that must be refused.
veil::test::Run register_with(const std::filesystem::path& dir, const std::string& relay_url,
                              const std::string& name) {
    return veil::test::run({cli_bin(), "--profile", (dir / name).string(), "--relay", relay_url,
                            "--timeout", "5", "register", name},
                           {{"VEIL_PASSPHRASE", "correct horse " + name}}, dir, "veil");
}

} // namespace

TEST_CASE("tls auto makes a self-signed certificate once, keeps its key private and reuses it") {
    TempDir dir("veil-tls-auto");
    const auto data = dir.path() / "relay";
    std::string first;
    {
        Relay relay(dir.path(), {"--tls", "auto"});
        first = fingerprint(data);
        CHECK(std::regex_match(first, std::regex("sha256:[0-9a-f]{64}")));
        // The fingerprint is printed at start too, for the operator to hand to people.
        CHECK(relay.logs().find("TLS certificate " + first) != std::string::npos);
    }
    auto key_perms = std::filesystem::status(data / "tls" / "relay.key").permissions();
    CHECK((key_perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all)) ==
          std::filesystem::perms::none);
    const std::string cert = read_all(data / "tls" / "relay.crt");
    const std::string key = read_all(data / "tls" / "relay.key");
    REQUIRE(cert.find("BEGIN CERTIFICATE") != std::string::npos);

    Relay again(dir.path(), {"--tls", "auto"});
    CHECK(fingerprint(data) == first);
    CHECK(again.logs().find("TLS certificate " + first) != std::string::npos);
    CHECK(read_all(data / "tls" / "relay.crt") == cert);
    CHECK(read_all(data / "tls" / "relay.key") == key);
}

TEST_CASE("a certificate whose key is gone is not replaced behind the pinned clients' backs") {
    TempDir dir("veil-tls-lost-key");
    const auto data = dir.path() / "relay";
    { Relay relay(dir.path(), {"--tls", "auto"}); }
    std::filesystem::remove(data / "tls" / "relay.key");
    auto r = veil::test::run(
        {VEIL_RELAY_BIN, "--listen", "127.0.0.1:0", "--data", data.string(), "--tls", "auto"}, {},
        dir.path(), "relay-again", {}, 20s);
    CHECK(r.code == 1);
    CHECK(r.err.find("has lost its key") != std::string::npos);
    CHECK(std::filesystem::exists(data / "tls" / "relay.crt"));
}

TEST_CASE("clients that pin the relay's self-signed certificate exchange a message over wss") {
    TempDir dir("veil-tls-pin");
    Relay relay(dir.path(), {"--tls", "auto"});
    const std::string url = wss(relay) + "#" + fingerprint(dir.path() / "relay");
    Client alice = make_client(dir.path(), url, "alice");
    Client bob = make_client(dir.path(), url, "bob");

    const std::string text = "pinned hello from alice 3c9e";
    auto sent = alice.run({"send", "bob", text});
    INFO(sent.err);
    REQUIRE(sent.code == 0);
    auto got = bob.run({"receive", "--json"});
    INFO(got.err);
    REQUIRE(got.code == 0);
    CHECK(count(got.out, text) == 1);
    CHECK(got.out.find("\"from\":\"alice\"") != std::string::npos);

    // The pin is kept in the profile with the address: later verbs need no --relay.
    auto later = veil::test::run(
        {cli_bin(), "--profile", bob.profile.string(), "--timeout", "20", "receive", "--json"},
        bob.env(), dir.path(), "veil");
    INFO(later.err);
    CHECK(later.code == 0);
}

TEST_CASE("a wrong pin is refused with both fingerprints named, and nothing is kept") {
    TempDir dir("veil-tls-wrong-pin");
    Relay relay(dir.path(), {"--tls", "auto"});
    const std::string actual = fingerprint(dir.path() / "relay");
    // The right digest with its last hex digit changed.
    std::string wrong = actual;
    wrong.back() = wrong.back() == '0' ? '1' : '0';
    auto r = register_with(dir.path(), wss(relay) + "#" + wrong, "mallory");
    CHECK(r.code != 0);
    CHECK(r.err.find("the relay's TLS certificate is " + actual + ", not the pinned " + wrong) !=
          std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.path() / "mallory" / "account.db"));
    CHECK(relay.logs().find("registered") == std::string::npos);
}

TEST_CASE("a self-signed relay without a pin is refused with a sentence that says how to pin") {
    TempDir dir("veil-tls-no-pin");
    Relay relay(dir.path(), {"--tls", "auto"});
    auto r = register_with(dir.path(), wss(relay), "carol");
    CHECK(r.code != 0);
    CHECK(r.err.find("the relay's TLS certificate is not trusted") != std::string::npos);
    CHECK(r.err.find("#sha256:") != std::string::npos);
}

TEST_CASE("a malformed pin or a pin on ws:// is a usage error before anything is stored") {
    TempDir dir("veil-tls-bad-pin");
    for (const std::string& url :
         std::vector<std::string>{"wss://127.0.0.1:9#sha256:abc", "wss://127.0.0.1:9#md5:00",
                                  "ws://127.0.0.1:9#sha256:" + std::string(64, 'a')}) {
        auto r = register_with(dir.path(), url, "dave");
        INFO(url);
        CHECK(r.code == 2);
        CHECK(r.err.find("pin") != std::string::npos);
        CHECK_FALSE(std::filesystem::exists(dir.path() / "dave"));
    }
}

TEST_CASE("an unknown tls mode, and a fingerprint asked before any certificate, are clear errors") {
    TempDir dir("veil-tls-errors");
    const auto data = dir.path() / "relay";
    auto mode = veil::test::run(
        {VEIL_RELAY_BIN, "--listen", "127.0.0.1:0", "--data", data.string(), "--tls", "on"}, {},
        dir.path(), "relay-mode", {}, 20s);
    CHECK(mode.code == 2);
    CHECK(mode.err.find("unknown tls mode 'on' (use off or auto)") != std::string::npos);
    auto early = veil::test::run({VEIL_RELAY_BIN, "tls", "fingerprint", "--data", data.string()},
                                 {}, dir.path(), "fingerprint", {}, 20s);
    CHECK(early.code == 1);
    CHECK(early.err.find("makes it on its first start with tls = auto") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(data / "tls"));
}
