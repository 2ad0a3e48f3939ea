// Several devices per account, end to end: a real relay and real headless `veil` clients
// linking a second profile to an account with a one-time code, messages reaching and appearing
// on both devices, codes that expired or were used, and a device unlinked for good.
#include "cli_harness.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <string>

using namespace veil::test::e2e;
using veil::test::TempDir;

namespace {

std::string read_log(const std::filesystem::path& file) {
    std::ifstream in(file);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// Links a new profile to `existing`'s account; returns it. history: copy recent conversations.
Client link_device(const Client& existing, const std::string& profile_name, bool history) {
    Client fresh = new_client(existing.dir, existing.relay, profile_name, "second " + profile_name);
    auto link = fresh.start({"link", "--name", profile_name});
    const std::string code = link_code(*link);
    std::vector<std::string> accept = {"link", "accept", code};
    if (history)
        accept.push_back("--history");
    auto accepted = existing.run(accept);
    INFO(accepted.err);
    REQUIRE(accepted.code == 0);
    CHECK(accepted.out.find("linked device") != std::string::npos);
    auto done = link->wait(30s);
    INFO(link->err());
    REQUIRE(done == std::optional<int>(0));
    CHECK(link->out().find("linked as device") != std::string::npos);
    return fresh;
}

} // namespace

TEST_CASE("a second terminal profile linked to an account gets its messages, and what it sends "
          "appears as sent on the first") {
    TempDir dir("veil-devices");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");

    // Some history first, copied on link.
    const std::string before = "before the link 51aa";
    REQUIRE(bob.run({"send", "alice", before}).code == 0);
    REQUIRE(alice.run({"receive", "--json"}).code == 0);

    Client laptop = link_device(alice, "laptop", true);
    auto copied = laptop.run({"receive", "--json"});
    INFO(copied.err);
    REQUIRE(copied.code == 0);
    CHECK(count(copied.out, before) == 1);

    // The laptop writes first: bob's client did not know that device, shows the message and
    // asks the relay for alice's devices.
    const std::string first = "first words from the laptop 2f90";
    auto answered = laptop.run({"send", "bob", first});
    INFO(answered.err);
    REQUIRE(answered.code == 0);
    auto at_bob = bob.run({"receive", "--json"});
    REQUIRE(at_bob.code == 0);
    CHECK(count(at_bob.out, first) == 1);
    CHECK(read_log(bob.profile / "veil.log").find("a device we did not know") != std::string::npos);
    // alice's first device shows it as sent by her.
    auto at_alice = alice.run({"receive", "--json"});
    INFO(at_alice.err);
    REQUIRE(at_alice.code == 0);
    CHECK(count(at_alice.out, first) == 1);
    CHECK(at_alice.out.find("\"outgoing\":true") != std::string::npos);
    CHECK(at_alice.out.find("\"conversation\":\"bob\"") != std::string::npos);

    // bob's answer reaches both of alice's devices.
    const std::string hello = "hello to both of alice 7c1e";
    auto sent = bob.run({"send", "alice", hello});
    INFO(sent.err);
    REQUIRE(sent.code == 0);
    for (const Client* device : {&alice, &laptop}) {
        auto got = device->run({"receive", "--json"});
        INFO(got.err);
        REQUIRE(got.code == 0);
        CHECK(count(got.out, hello) == 1);
        CHECK(got.out.find("\"from\":\"bob\"") != std::string::npos);
    }

    // Both devices are listed, with names, on either.
    auto listed = laptop.run({"devices"});
    INFO(listed.err);
    REQUIRE(listed.code == 0);
    CHECK(listed.out.rfind("1\t", 0) == 0);
    CHECK(listed.out.find("\n2\tlaptop\t") != std::string::npos);
    CHECK(listed.out.find("(this device)") != std::string::npos);
}

TEST_CASE("a history larger than the relay's queue for one connection is copied whole, one box "
          "at a time") {
    TempDir dir("veil-link-history");
    // 400 KB at most waiting for any one connection; the history below is about 1 MB.
    Relay relay(dir.path(), {"--max-outgoing-bytes", "400000"});
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");
    constexpr int kMessages = 16;
    for (int i = 0; i < kMessages; ++i) {
        std::string text = "long message " + std::to_string(i) + " " + std::string(60'000, 'x');
        REQUIRE(bob.run({"send", "alice", "-"}, text).code == 0);
    }
    REQUIRE(alice.run({"receive", "--json"}).code == 0);

    Client desk = link_device(alice, "desk", true);
    auto copied = desk.run({"receive", "--json"});
    INFO(copied.err);
    REQUIRE(copied.code == 0);
    for (int i = 0; i < kMessages; ++i)
        CHECK(count(copied.out, "long message " + std::to_string(i) + " ") == 1);
}

TEST_CASE("a link code works once, expires, and a mistyped one is caught before the relay") {
    TempDir dir("veil-link-codes");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");

    // Used: a second device may not take the same code.
    Client fresh = new_client(dir.path(), relay.url(), "tablet", "second tablet");
    auto link = fresh.start({"link"});
    const std::string code = link_code(*link);
    REQUIRE(alice.run({"link", "accept", code}).code == 0);
    REQUIRE(link->wait(30s) == std::optional<int>(0));
    auto again = alice.run({"link", "accept", code});
    CHECK(again.code == 5);
    CHECK(again.err.find("expired or was already used") != std::string::npos);

    // Expired: the new device gives up by itself when the relay's timeout passes, and keeps
    // nothing; the code is refused afterwards. (A relay whose codes last 1.5 s.)
    TempDir quick_dir("veil-link-expiry");
    Relay quick(quick_dir.path(), {"--link-timeout-ms", "1500"});
    Client bob = make_client(quick_dir.path(), quick.url(), "bob");
    Client late = new_client(quick_dir.path(), quick.url(), "late", "late device");
    auto waiting = late.start({"link"});
    const std::string late_code = link_code(*waiting);
    auto gave_up = waiting->wait(30s);
    REQUIRE(gave_up.has_value());
    CHECK(gave_up.value() != 0);
    CHECK(waiting->err().find("expired") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(late.profile / "account.db"));
    auto expired = bob.run({"link", "accept", late_code});
    CHECK(expired.code == 5);
    CHECK(expired.err.find("expired or was already used") != std::string::npos);

    // A typo: refused by its check letter, as a usage error.
    std::string typo = code;
    typo[0] = typo[0] == 'A' ? 'B' : 'A';
    auto mistyped = alice.run({"link", "accept", typo});
    CHECK(mistyped.code == 2);
    CHECK(mistyped.err.find("typo") != std::string::npos);
}

TEST_CASE("an unlinked device can neither send nor receive, and messages reach the devices left") {
    TempDir dir("veil-unlink");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");
    Client phone = link_device(alice, "phone", false);
    REQUIRE(phone.run({"send", "bob", "hello from the phone"}).code == 0);
    REQUIRE(bob.run({"receive", "--json"}).code == 0);

    // From the first device; the phone cannot remove the device it runs on.
    CHECK(phone.run({"devices", "remove", "2"}).code != 0);
    auto removed = alice.run({"devices", "remove", "2"});
    INFO(removed.err);
    REQUIRE(removed.code == 0);
    CHECK(alice.run({"devices", "remove", "2"}).code != 0); // gone already
    CHECK(alice.run({"devices", "remove", "1"}).code != 0); // this device, and the last

    const std::string after = "after the phone was unlinked 9d3b";
    auto sent = bob.run({"send", "alice", after});
    INFO(sent.err);
    REQUIRE(sent.code == 0);
    auto at_alice = alice.run({"receive", "--json"});
    REQUIRE(at_alice.code == 0);
    CHECK(count(at_alice.out, after) == 1);

    auto phone_send = phone.run({"send", "bob", "still here?"});
    CHECK(phone_send.code == 5);
    CHECK(phone_send.err.find("unlinked") != std::string::npos);
    auto phone_receive = phone.run({"receive", "--json"});
    CHECK(phone_receive.code == 5);
    CHECK(count(phone_receive.out, after) == 0);
    auto at_bob = bob.run({"receive", "--json"});
    REQUIRE(at_bob.code == 0);
    CHECK(count(at_bob.out, "still here?") == 0);

    auto listed = alice.run({"devices"});
    REQUIRE(listed.code == 0);
    CHECK(listed.out.rfind("1\t", 0) == 0);
    CHECK(listed.out.find("\n2\t") == std::string::npos);
}

TEST_CASE("a device offline while another is linked, unlinked and a group changes catches up and "
          "never writes to the removed device") {
    TempDir dir("veil-devices-offline");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");
    Client carol = make_client(dir.path(), relay.url(), "carol");

    auto created = alice.run({"group", "create", "hikers", "--members", "bob"});
    INFO(created.err);
    REQUIRE(created.code == 0);
    REQUIRE(bob.run({"receive", "--json"}).code == 0); // bob learns of the group
    REQUIRE(bob.run({"send", "--group", "hikers", "bob is here"}).code == 0);
    REQUIRE(alice.run({"receive", "--json"}).code == 0);

    // bob is away from here on. alice links a tablet, which sees the group and writes in it;
    // then alice adds carol and unlinks the tablet.
    Client tablet = link_device(alice, "tablet", false);
    auto groups = tablet.run({"group", "list"});
    REQUIRE(groups.code == 0);
    CHECK(groups.out.find("hikers") != std::string::npos);
    const std::string from_tablet = "written on the tablet 33e0";
    auto tablet_sent = tablet.run({"send", "--group", "hikers", from_tablet});
    INFO(tablet_sent.err);
    REQUIRE(tablet_sent.code == 0);
    REQUIRE(alice.run({"group", "add", "hikers", "carol"}).code == 0);
    REQUIRE(alice.run({"devices", "remove", "2"}).code == 0);

    // bob returns: the tablet's message, the new member, and his own message reaches alice's
    // remaining device and carol.
    auto caught_up = bob.run({"receive", "--json"});
    INFO(caught_up.err);
    REQUIRE(caught_up.code == 0);
    CHECK(count(caught_up.out, from_tablet) == 1);
    CHECK(caught_up.out.find("carol") != std::string::npos);
    const std::string back = "bob is back 7a41";
    auto bob_sent = bob.run({"send", "--group", "hikers", back});
    INFO(bob_sent.err);
    REQUIRE(bob_sent.code == 0);
    auto direct = bob.run({"send", "alice", "and directly 5e2c"});
    INFO(direct.err);
    REQUIRE(direct.code == 0);
    for (const Client* reader : {&alice, &carol}) {
        auto got = reader->run({"receive", "--json"});
        INFO(got.err);
        REQUIRE(got.code == 0);
        CHECK(count(got.out, back) == 1);
        CHECK(count(got.out, "and directly 5e2c") == (reader == &alice ? 1 : 0));
    }
    // Nothing was queued for the removed tablet: the relay holds no envelope for it.
    CHECK(relay_device_mailbox_rows(dir.path() / "relay", "alice", 2) == 0);
    CHECK(tablet.run({"receive", "--json"}).code == 5);
}

TEST_CASE("copied history keeps replies, edits, reactions, deletions, files and disappearing "
          "timers") {
    TempDir dir("veil-link-rich");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");

    auto original = bob.run({"send", "alice", "a heron by the weir"});
    REQUIRE(original.code == 0);
    const std::string id = first_line(original.out);
    auto doomed = bob.run({"send", "alice", "sent by mistake 93bd"});
    REQUIRE(doomed.code == 0);
    REQUIRE(alice.run({"receive"}).code == 0);
    REQUIRE(bob.run({"edit", id, "a grey heron by the weir"}).code == 0);
    REQUIRE(bob.run({"delete", first_line(doomed.out)}).code == 0);
    REQUIRE(bob.run({"send", "alice", "which weir?", "--reply", id}).code == 0);
    const auto file = dir.path() / "map-of-the-weir.txt";
    std::ofstream(file) << "the weir is north of the bridge\n";
    auto with_file = bob.run({"send", "alice", "a map", "--file", file.string()});
    INFO(with_file.err);
    REQUIRE(with_file.code == 0);
    REQUIRE(alice.run({"receive"}).code == 0);
    REQUIRE(alice.run({"react", id, "🪶"}).code == 0);
    REQUIRE(alice.run({"timer", "bob", "1h"}).code == 0);
    REQUIRE(bob.run({"receive"}).code == 0);
    REQUIRE(bob.run({"send", "alice", "gone within the hour"}).code == 0);
    REQUIRE(alice.run({"receive"}).code == 0);

    Client laptop = link_device(alice, "laptop", true);
    auto copied = laptop.run({"receive", "--json"});
    INFO(copied.err);
    REQUIRE(copied.code == 0);
    std::string edited = line_with(copied.out, "a grey heron by the weir\"");
    CHECK(edited.find("\"edited\":true") != std::string::npos);
    CHECK(edited.find("{\"from\":\"alice\",\"emoji\":\"🪶\"}") != std::string::npos);
    CHECK(line_with(copied.out, "which weir?").find("\"reply_to\":{\"id\":\"" + id) !=
          std::string::npos);
    CHECK(copied.out.find("sent by mistake 93bd") == std::string::npos);
    CHECK(copied.out.find("\"deleted\":true") != std::string::npos);
    std::string vanishing = line_with(copied.out, "gone within the hour");
    REQUIRE_FALSE(vanishing.empty());
    CHECK(vanishing.find("\"expire_timer\":3600") != std::string::npos);
    CHECK(vanishing.find("\"expires_at\":0") == std::string::npos);

    // The file's key came along: the laptop fetches and decrypts it.
    std::string map_line = line_with(copied.out, "map-of-the-weir.txt");
    REQUIRE_FALSE(map_line.empty());
    const std::string map_id = map_line.substr(map_line.find("\"id\":\"") + 6, 32);
    const auto out_dir = dir.path() / "saved";
    std::filesystem::create_directories(out_dir);
    auto saved = laptop.run({"save", map_id, out_dir.string()});
    INFO(saved.err);
    REQUIRE(saved.code == 0);
    std::ifstream in(out_dir / "map-of-the-weir.txt");
    CHECK(std::string(std::istreambuf_iterator<char>(in), {}) ==
          "the weir is north of the bridge\n");
}
