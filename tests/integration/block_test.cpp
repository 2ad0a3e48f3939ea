// Blocking (issue 6) end to end: a blocked account's messages, 1:1 and in a group, are taken off
// the relay and never shown; unblocking lets the next ones through.
#include "cli_harness.h"

#include <catch2/catch.hpp>

#include <string>

using namespace veil::test::e2e;
using veil::test::TempDir;

TEST_CASE("a blocked account's messages are dropped unseen, in 1:1 and in groups, and the "
          "relay keeps none of them") {
    TempDir dir("veil-block");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");
    Client carol = make_client(dir.path(), relay.url(), "carol");
    REQUIRE(alice.run({"group", "create", "club", "--members", "bob,carol"}).code == 0);
    for (const Client* member : {&bob, &carol})
        REQUIRE(member->run({"receive"}).code == 0);

    auto blocked = alice.run({"block", "bob"});
    INFO(blocked.err);
    REQUIRE(blocked.code == 0);
    REQUIRE(bob.run({"send", "alice", "you cannot hear me 1d"}).code == 0);
    REQUIRE(bob.run({"send", "--group", "club", "nor here 2e"}).code == 0);
    REQUIRE(carol.run({"send", "--group", "club", "carol is heard 3f"}).code == 0);

    auto got = alice.run({"receive", "--json"});
    INFO(got.err);
    REQUIRE(got.code == 0);
    CHECK(count(got.out, "carol is heard 3f") == 1);
    CHECK(count(got.out, "you cannot hear me") == 0);
    CHECK(count(got.out, "nor here") == 0);
    CHECK(alice.run({"search", "hear"}).out.find("bob") == std::string::npos);
    CHECK(relay_device_mailbox_rows(dir.path() / "relay", "alice", 1) == 0);
    CHECK(alice.run({"contacts"}).out.find("bob (blocked)") != std::string::npos);
    CHECK(alice.run({"send", "bob", "hello?"}).code == 5);

    REQUIRE(alice.run({"unblock", "bob"}).code == 0);
    REQUIRE(bob.run({"send", "alice", "heard again 4a"}).code == 0);
    got = alice.run({"receive", "--json"});
    REQUIRE(got.code == 0);
    CHECK(count(got.out, "heard again 4a") == 1);
}
