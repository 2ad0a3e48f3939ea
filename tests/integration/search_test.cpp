// Search (issue 6) end to end: messages that came through a real relay are found by their words
// in the receiving profile, and the relay's files never held those words.
#include "cli_harness.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <string>

using namespace veil::test::e2e;
using veil::test::TempDir;

namespace {

// Every byte of the relay's database files, as they are on disk now.
std::string relay_bytes(const std::filesystem::path& relay_dir) {
    std::string all;
    for (const char* name : {"relay.db", "relay.db-wal"}) {
        std::ifstream in(relay_dir / name, std::ios::binary);
        all.append(std::istreambuf_iterator<char>(in), {});
    }
    return all;
}

} // namespace

TEST_CASE("messages are found by their words across conversations, and the relay never held "
          "them") {
    TempDir dir("veil-search");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");
    Client carol = make_client(dir.path(), relay.url(), "carol");

    REQUIRE(bob.run({"send", "alice", "The Zanzibar ferry leaves at noon"}).code == 0);
    REQUIRE(carol.run({"send", "alice", "zanzibar again? I prefer Lisbon"}).code == 0);
    REQUIRE(alice.run({"send", "bob", "see you at the Zanzibar pier"}).code == 0);
    // Queued at the relay for alice, and only as ciphertext.
    CHECK(relay_bytes(dir.path() / "relay").find("anzibar") == std::string::npos);
    REQUIRE(alice.run({"receive"}).code == 0);

    auto found = alice.run({"search", "ZANZIBAR"});
    INFO(found.err);
    REQUIRE(found.code == 0);
    CHECK(count(found.out, "\n") == 3);
    CHECK(found.out.find("bob: The Zanzibar ferry") != std::string::npos);
    CHECK(found.out.find("carol: zanzibar again?") != std::string::npos);
    CHECK(found.out.find("alice: see you at the Zanzibar pier") != std::string::npos);

    auto both = alice.run({"search", "--json", "zanzibar", "lis"});
    REQUIRE(both.code == 0);
    CHECK(count(both.out, "\n") == 1);
    CHECK(both.out.find("\"from\":\"carol\"") != std::string::npos);

    auto none = alice.run({"search", "\"zanzibar OR nothing\""});
    CHECK(none.code == 1);
    CHECK(none.out.empty());
    CHECK(relay_bytes(dir.path() / "relay").find("anzibar") == std::string::npos);
}
