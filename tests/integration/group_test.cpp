// Groups end to end: a real relay and real headless `veil` clients creating a group, talking in
// it, and removing a member who then reads nothing more.
#include "cli_harness.h"

#include <catch2/catch.hpp>

#include <string>

using namespace veil::test::e2e;
using veil::test::TempDir;

TEST_CASE("three people hold a group chat from the command line, and a removed member reads "
          "nothing sent after the removal",
          "[relay-store]") {
    TempDir dir("veil-group");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");
    Client carol = make_client(dir.path(), relay.url(), "carol");

    auto created = alice.run({"group", "create", "hikers", "--members", "bob,carol"});
    INFO(created.err);
    REQUIRE(created.code == 0);
    const std::string id = first_line(created.out);
    CHECK(id.size() == 32);

    const std::string hello = "group hello from alice 4e1d";
    auto sent = alice.run({"send", "--group", "hikers", hello});
    INFO(sent.err);
    REQUIRE(sent.code == 0);

    for (Client* member : {&bob, &carol}) {
        auto got = member->run({"receive", "--json"});
        INFO(got.err);
        REQUIRE(got.code == 0);
        CHECK(count(got.out, hello) == 1);
        CHECK(got.out.find("\"group\":\"hikers\"") != std::string::npos);
        CHECK(got.out.find("\"group_id\":\"" + id + "\"") != std::string::npos);
        CHECK(got.out.find("\"from\":\"alice\"") != std::string::npos);
    }

    // bob answers in the group; alice and carol read it.
    const std::string answer = "bob answers the group 0c77";
    auto answered = bob.run({"send", "--group", "hikers", answer});
    INFO(answered.err);
    REQUIRE(answered.code == 0);
    auto at_alice = alice.run({"receive", "--json"});
    REQUIRE(at_alice.code == 0);
    CHECK(count(at_alice.out, answer) == 1);

    auto members = alice.run({"group", "members", "hikers"});
    REQUIRE(members.code == 0);
    CHECK(members.out.find("alice  admin") != std::string::npos);
    CHECK(members.out.find("carol") != std::string::npos);

    // An unknown group or member is a failed action (exit 1), not a profile problem (3).
    CHECK(alice.run({"send", "--group", "nosuch", "x"}).code == 1);
    CHECK(alice.run({"group", "remove", "hikers", "nobody"}).code == 1);

    // Only an admin removes members, or promotes.
    auto refused = bob.run({"group", "remove", "hikers", "carol"});
    CHECK(refused.code != 0);
    CHECK(bob.run({"group", "promote", "hikers", "bob"}).code != 0);
    auto promoted = alice.run({"group", "promote", "hikers", "bob"});
    INFO(promoted.err);
    REQUIRE(promoted.code == 0);
    auto admins = alice.run({"group", "members", "hikers"});
    REQUIRE(admins.code == 0);
    CHECK(admins.out.find("bob  admin") != std::string::npos);
    CHECK(carol.run({"group", "rename", "hikers", "walkers"}).code != 0); // not an admin

    auto removed = alice.run({"group", "remove", "hikers", "carol"});
    INFO(removed.err);
    REQUIRE(removed.code == 0);
    const std::string secret = "after carol left 9b2e";
    auto after = alice.run({"send", "--group", "hikers", secret});
    INFO(after.err);
    REQUIRE(after.code == 0);

    auto at_bob = bob.run({"receive", "--json"});
    REQUIRE(at_bob.code == 0);
    CHECK(count(at_bob.out, answer) == 0); // bob's own message is not printed back to him
    CHECK(count(at_bob.out, secret) == 1);
    auto at_carol = carol.run({"receive", "--json"});
    INFO(at_carol.err);
    REQUIRE(at_carol.code == 0);
    CHECK(count(at_carol.out, answer) == 1);
    CHECK(count(at_carol.out, secret) == 0);
    CHECK(at_carol.out.find("\"system\":true") != std::string::npos); // she learns of it

    // Carol can no longer send to the group.
    auto carol_send = carol.run({"send", "--group", "hikers", "still here?"});
    CHECK(carol_send.code != 0);

    // Renamed by an admin: the members see the new name, carol (removed) does not.
    auto renamed = alice.run({"group", "rename", "hikers", "walkers"});
    INFO(renamed.err);
    REQUIRE(renamed.code == 0);
    auto bob_list_before = bob.run({"receive", "--json"});
    REQUIRE(bob_list_before.code == 0);
    CHECK(bob.run({"group", "list"}).out.find("walkers") != std::string::npos);
    carol.run({"receive", "--json"});
    CHECK(carol.run({"group", "list"}).out.find("walkers") == std::string::npos);
}
