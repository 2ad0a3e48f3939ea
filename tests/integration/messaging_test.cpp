// Everyday messaging (issue 6) end to end: a real relay and headless clients. Replies,
// reactions, edits, deletions for everyone, read receipts, disappearing messages, typing,
// files and safety numbers; after each, the relay's files (database and blobs) hold none of the
// content.
#include "cli_harness.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <thread>

using namespace veil::test::e2e;
using veil::test::TempDir;

namespace {

// Every byte of every file under the relay's data folder (database, WAL, blobs), as on disk now.
std::string relay_bytes(const std::filesystem::path& relay_dir) {
    std::string all;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(relay_dir)) {
        if (!entry.is_regular_file())
            continue;
        std::ifstream in(entry.path(), std::ios::binary);
        all.append(std::istreambuf_iterator<char>(in), {});
        all += entry.path().filename().string();
    }
    return all;
}

bool relay_holds(const TempDir& dir, const std::string& needle) {
    return relay_bytes(dir.path() / "relay").find(needle) != std::string::npos;
}

std::string write_file(const std::filesystem::path& path, std::size_t size,
                       const std::string& pattern) {
    std::string bytes;
    bytes.reserve(size);
    while (bytes.size() < size)
        bytes += pattern + std::to_string(bytes.size()) + "\n";
    bytes.resize(size);
    std::ofstream(path, std::ios::binary) << bytes;
    return bytes;
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

} // namespace

TEST_CASE("replies, reactions, edits and deletions reach the other side inside the encryption") {
    TempDir dir("veil-everyday");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");

    auto sent = bob.run({"send", "alice", "Lunch at the Quokka cafe?"});
    REQUIRE(sent.code == 0);
    std::string lunch = first_line(sent.out);
    REQUIRE(lunch.size() == 32);
    REQUIRE(alice.run({"receive"}).code == 0);

    // A reply quotes the message it answers.
    auto reply = alice.run({"send", "bob", "Yes, the Numbat table", "--reply", lunch});
    INFO(reply.err);
    REQUIRE(reply.code == 0);
    auto got = bob.run({"receive", "--json"});
    REQUIRE(got.code == 0);
    std::string reply_line = line_with(got.out, "Numbat table");
    REQUIRE(!reply_line.empty());
    CHECK(reply_line.find("\"reply_to\":{\"id\":\"" + lunch +
                          "\",\"from\":\"bob\",\"text\":\"Lunch at the Quokka cafe?\"}") !=
          std::string::npos);

    // A reaction, then the author edits, then deletes for everyone.
    auto react = alice.run({"react", lunch, "🦘"});
    INFO(react.err);
    REQUIRE(react.code == 0);
    got = bob.run({"receive", "--json"});
    REQUIRE(got.code == 0);
    std::string changed = line_with(got.out, "\"event\":\"changed\"");
    REQUIRE(!changed.empty());
    CHECK(changed.find("\"reactions\":[{\"from\":\"alice\",\"emoji\":\"🦘\"}]") !=
          std::string::npos);

    REQUIRE(bob.run({"edit", lunch, "Lunch at the Wombat cafe?"}).code == 0);
    // Another verb processes the edit first: receive still reports it, from the event log.
    REQUIRE(alice.run({"read", "bob"}).code == 0);
    got = alice.run({"receive", "--json"});
    REQUIRE(got.code == 0);
    changed = line_with(got.out, "Wombat");
    CHECK(changed.find("\"edited\":true") != std::string::npos);
    CHECK(alice.run({"search", "Quokka"}).code == 1); // the old words left the index
    CHECK(alice.run({"search", "Wombat"}).code == 0);

    // Only the author may edit: alice's edit of bob's message is refused.
    CHECK(alice.run({"edit", lunch, "hijacked"}).code != 0);

    REQUIRE(bob.run({"delete", lunch}).code == 0);
    got = alice.run({"receive", "--json"});
    REQUIRE(got.code == 0);
    CHECK(got.out.find("\"deleted\":true") != std::string::npos);
    CHECK(alice.run({"search", "Wombat"}).code == 1);
    CHECK(bob.run({"search", "Wombat"}).code == 1);

    for (const char* secret : {"Quokka", "Wombat", "Numbat", "🦘", "hijacked"}) {
        INFO(secret);
        CHECK_FALSE(relay_holds(dir, secret));
    }
}

TEST_CASE("read receipts tell the sender a message was read, unless the reader turned them off") {
    TempDir dir("veil-receipts");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");

    auto first = alice.run({"send", "bob", "first"});
    REQUIRE(first.code == 0);
    std::string first_id = first_line(first.out);
    REQUIRE(bob.run({"receive"}).code == 0);
    REQUIRE(bob.run({"read", "alice"}).code == 0);
    auto got = alice.run({"receive", "--json"});
    REQUIRE(got.code == 0);
    CHECK(got.out.find("{\"event\":\"status\",\"id\":\"" + first_id + "\",\"status\":\"read\"}") !=
          std::string::npos);

    auto off = bob.run({"read-receipts", "off"});
    REQUIRE(off.code == 0);
    CHECK(off.out == "read receipts off\n");
    auto second = alice.run({"send", "bob", "second"});
    REQUIRE(second.code == 0);
    std::string second_id = first_line(second.out);
    REQUIRE(bob.run({"receive"}).code == 0);
    REQUIRE(bob.run({"read", "alice"}).code == 0);
    got = alice.run({"receive", "--json"});
    REQUIRE(got.code == 0);
    // Delivered, never read.
    CHECK(got.out.find("{\"event\":\"status\",\"id\":\"" + second_id +
                       "\",\"status\":\"delivered\"}") != std::string::npos);
    CHECK(got.out.find("\"id\":\"" + second_id + "\",\"status\":\"read\"") == std::string::npos);
}

TEST_CASE("disappearing messages vanish from every database on time, also on a device that was "
          "offline") {
    TempDir dir("veil-disappear");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");
    Client carol = make_client(dir.path(), relay.url(), "carol");
    REQUIRE(bob.run({"send", "alice", "hello"}).code == 0);
    REQUIRE(carol.run({"send", "alice", "hello"}).code == 0);
    REQUIRE(alice.run({"receive"}).code == 0);

    auto timer = alice.run({"timer", "bob", "5s"});
    INFO(timer.err);
    REQUIRE(timer.code == 0);
    CHECK(timer.out == "disappearing messages: 5 seconds\n");
    REQUIRE(alice.run({"timer", "carol", "5s"}).code == 0);
    auto sent = alice.run({"send", "bob", "the Kestrel code is 4471"});
    REQUIRE(sent.code == 0);
    REQUIRE(alice.run({"send", "carol", "the Kestrel code is 4471"}).code == 0);
    auto sent_at = std::chrono::system_clock::now();

    // bob reads it in time; the timer travelled inside the ciphertext.
    auto got = bob.run({"receive", "--json"});
    REQUIRE(got.code == 0);
    CHECK(got.out.find("alice set disappearing messages to 5 seconds") != std::string::npos);
    std::string line = line_with(got.out, "Kestrel");
    REQUIRE(!line.empty());
    CHECK(line.find("\"expire_timer\":5") != std::string::npos);
    REQUIRE(bob.run({"search", "Kestrel"}).code == 0);
    CHECK_FALSE(relay_holds(dir, "Kestrel"));

    // Its time is up (waiting for the deadline itself, not for a process).
    std::this_thread::sleep_until(sent_at + std::chrono::seconds(6));
    CHECK(bob.run({"search", "Kestrel"}).code == 1);
    CHECK(alice.run({"search", "Kestrel"}).code == 1);
    // carol was offline the whole time: the message arrives expired and is never stored.
    got = carol.run({"receive", "--json"});
    REQUIRE(got.code == 0);
    CHECK(got.out.find("Kestrel") == std::string::npos);
    CHECK(carol.run({"search", "Kestrel"}).code == 1);
    // Turning the timer off is announced too, and later messages stay.
    REQUIRE(alice.run({"timer", "bob", "off"}).code == 0);
    REQUIRE(alice.run({"send", "bob", "this one stays"}).code == 0);
    got = bob.run({"receive", "--json"});
    CHECK(got.out.find("alice turned off disappearing messages") != std::string::npos);
    CHECK(line_with(got.out, "this one stays").find("\"expires_at\":0") != std::string::npos);
}

TEST_CASE("typing indicators reach an online device and are never stored") {
    TempDir dir("veil-typing");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");
    REQUIRE(bob.run({"send", "alice", "hi"}).code == 0);
    REQUIRE(alice.run({"receive"}).code == 0);
    REQUIRE(bob.run({"receive"}).code == 0);

    auto listening = bob.start({"receive", "--json", "--wait", "20"});
    REQUIRE(listening->wait_for_output("waiting for messages", 20s, /*stderr=*/true));
    auto typed = alice.run({"typing", "bob"});
    INFO(typed.err);
    REQUIRE(typed.code == 0);
    REQUIRE(listening->wait_for_output(
        "{\"event\":\"typing\",\"conversation\":\"alice\",\"from\":\"alice\",\"typing\":true}",
        20s));
    REQUIRE(alice.run({"typing", "bob", "--stop"}).code == 0);
    REQUIRE(listening->wait_for_output(
        "{\"event\":\"typing\",\"conversation\":\"alice\",\"from\":\"alice\",\"typing\":false}",
        20s));
    listening->signal(SIGTERM);
    listening->wait(10s);
    CHECK(relay_mailbox_rows(dir.path() / "relay") == 0);

    // Offline, a typing indicator is dropped, not queued.
    REQUIRE(alice.run({"typing", "bob"}).code == 0);
    CHECK(relay_mailbox_rows(dir.path() / "relay") == 0);
}

TEST_CASE("a file is encrypted, uploaded as a blob, fetched and decrypted, and the relay never "
          "sees its bytes or name") {
    TempDir dir("veil-files");
    Relay relay(dir.path(), {"--max-attachment-mib", "4"});
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");

    auto file = dir.path() / "holiday-plans-Xq7.txt";
    std::string bytes = write_file(file, 3 * 1024 * 1024 + 17, "PLATYPUS-SECRET-PATTERN ");
    auto sent = alice.run({"send", "bob", "the plans", "--file", file.string()});
    INFO(sent.err);
    REQUIRE(sent.code == 0);
    std::string id = first_line(sent.out);
    CHECK(sent.err.find("100%") != std::string::npos); // progress was shown
    CHECK_FALSE(relay_holds(dir, "PLATYPUS"));
    CHECK_FALSE(relay_holds(dir, "holiday-plans"));
    CHECK_FALSE(relay_holds(dir, "the plans"));

    auto got = bob.run({"receive", "--json"});
    REQUIRE(got.code == 0);
    std::string line = line_with(got.out, id);
    CHECK(line.find("\"attachments\":[{\"index\":0,\"name\":\"holiday-plans-Xq7.txt\",\"size\":" +
                    std::to_string(bytes.size()) +
                    ",\"content_type\":\"text/plain\",\"state\":\"remote\"}]") !=
          std::string::npos);

    auto out_dir = dir.path() / "downloads";
    std::filesystem::create_directories(out_dir);
    auto saved = bob.run({"save", id, out_dir.string()});
    INFO(saved.err);
    REQUIRE(saved.code == 0);
    CHECK(first_line(saved.out) == (out_dir / "holiday-plans-Xq7.txt").string());
    CHECK(read_file(out_dir / "holiday-plans-Xq7.txt") == bytes);
    // Saving again never overwrites.
    saved = bob.run({"save", id, out_dir.string()});
    REQUIRE(saved.code == 0);
    CHECK(first_line(saved.out) == (out_dir / "holiday-plans-Xq7 (1).txt").string());
    // The copy kept in bob's profile is the encrypted blob, not the file.
    for (const auto& entry : std::filesystem::recursive_directory_iterator(bob.profile)) {
        if (entry.is_regular_file()) {
            INFO(entry.path());
            CHECK(read_file(entry.path()).find("PLATYPUS") == std::string::npos);
        }
    }

    // Above the operator's limit: refused with a clear error, nothing sent.
    auto big = dir.path() / "big.bin";
    write_file(big, 5 * 1024 * 1024, "x");
    auto refused = alice.run({"send", "bob", "--file", big.string()});
    CHECK(refused.code != 0);
    CHECK(refused.err.find("big.bin was not sent") != std::string::npos);
}

TEST_CASE("both sides see the same safety number, and marking it verified is kept") {
    TempDir dir("veil-verify");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");
    // Before any message there is no key to compare.
    CHECK(alice.run({"verify", "bob"}).code != 0);
    REQUIRE(alice.run({"send", "bob", "hi"}).code == 0);
    REQUIRE(bob.run({"receive"}).code == 0);

    auto a = alice.run({"verify", "bob", "--ascii"});
    auto b = bob.run({"verify", "alice", "--ascii"});
    INFO(a.err << b.err);
    REQUIRE(a.code == 0);
    REQUIRE(b.code == 0);
    std::regex digits(R"(((\d{5} ){3}\d{5}\n  ){2}(\d{5} ){3}\d{5})");
    std::smatch ma, mb;
    REQUIRE(std::regex_search(a.out, ma, digits));
    REQUIRE(std::regex_search(b.out, mb, digits));
    CHECK(ma.str() == mb.str());
    CHECK(a.out.find("##") != std::string::npos); // the QR code
    CHECK(a.out.find("not verified") != std::string::npos);

    auto marked = alice.run({"verify", "bob", "--mark"});
    REQUIRE(marked.code == 0);
    CHECK(marked.out.find("\nverified") != std::string::npos);
    CHECK(alice.run({"verify", "bob"}).out.find("\nverified") != std::string::npos);
    REQUIRE(alice.run({"verify", "bob", "--clear"}).code == 0);
    CHECK(alice.run({"verify", "bob"}).out.find("not verified") != std::string::npos);
}

TEST_CASE("a message that expires undelivered on the relay is shown to its sender, who can send "
          "it again") {
    TempDir dir("veil-expired");
    // The relay keeps mailboxes for 3 s here instead of 30 days, and purges every 100 ms.
    Relay relay(dir.path(), {"--retention-ms", "3000", "--purge-interval-ms", "100"});
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");

    auto sent = alice.run({"send", "bob", "the Pelican left without you"});
    REQUIRE(sent.code == 0);
    std::string id = first_line(sent.out);
    auto sent_at = std::chrono::system_clock::now();
    // bob stays offline past the retention (waiting for the deadline itself).
    std::this_thread::sleep_until(sent_at + std::chrono::milliseconds(3500));

    auto got = alice.run({"receive", "--json"});
    INFO(got.err);
    REQUIRE(got.code == 0);
    CHECK(got.out.find("{\"event\":\"status\",\"id\":\"" + id + "\",\"status\":\"expired\"}") !=
          std::string::npos);
    auto resent = alice.run({"resend", id});
    INFO(resent.err);
    REQUIRE(resent.code == 0);
    std::string again = first_line(resent.out);
    CHECK(again.size() == 32);
    CHECK(again != id);
    got = bob.run({"receive", "--json"});
    REQUIRE(got.code == 0);
    CHECK(count(got.out, "the Pelican left without you") == 1);
    CHECK(got.out.find("\"id\":\"" + again + "\"") != std::string::npos);
    // A message that was delivered cannot be resent.
    CHECK(alice.run({"resend", again}).code != 0);
    CHECK_FALSE(relay_holds(dir, "Pelican"));
}

TEST_CASE("in a group, mentions, replies, reactions and a disappearing timer reach every member") {
    TempDir dir("veil-group-everyday");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");
    Client carol = make_client(dir.path(), relay.url(), "carol");
    REQUIRE(alice.run({"group", "create", "birders", "--members", "bob,carol"}).code == 0);
    REQUIRE(bob.run({"receive"}).code == 0);
    REQUIRE(carol.run({"receive"}).code == 0);

    auto sent = alice.run({"send", "--group", "birders", "@bob did you see the Ibis? (@zed too)"});
    INFO(sent.err);
    REQUIRE(sent.code == 0);
    std::string id = first_line(sent.out);
    auto got = bob.run({"receive", "--json"});
    REQUIRE(got.code == 0);
    // Only members are mentions: zed is not in the group.
    CHECK(line_with(got.out, "Ibis").find("\"mentions\":[\"bob\"]") != std::string::npos);

    auto reply = bob.run({"send", "--group", "birders", "Yes, by the lake", "--reply", id});
    INFO(reply.err);
    REQUIRE(reply.code == 0);
    CHECK(carol.run({"react", id, "👀"}).code == 1); // not received yet: no such message
    REQUIRE(carol.run({"receive"}).code == 0);
    REQUIRE(carol.run({"react", id, "👀"}).code == 0);
    got = alice.run({"receive", "--json"});
    REQUIRE(got.code == 0);
    CHECK(line_with(got.out, "by the lake").find("\"reply_to\":{\"id\":\"" + id) !=
          std::string::npos);
    CHECK(got.out.find("{\"from\":\"carol\",\"emoji\":\"👀\"}") != std::string::npos);

    auto timer = alice.run({"timer", "--group", "birders", "1h"});
    INFO(timer.err);
    REQUIRE(timer.code == 0);
    REQUIRE(alice.run({"send", "--group", "birders", "gone in an hour"}).code == 0);
    got = carol.run({"receive", "--json"});
    REQUIRE(got.code == 0);
    CHECK(got.out.find("alice set disappearing messages to 1 hour") != std::string::npos);
    CHECK(line_with(got.out, "gone in an hour").find("\"expire_timer\":3600") != std::string::npos);
    for (const char* secret : {"Ibis", "lake", "👀", "gone in an hour"}) {
        INFO(secret);
        CHECK_FALSE(relay_holds(dir, secret));
    }
}

TEST_CASE("in a group, two ticks wait for every member, and typing reaches members online") {
    TempDir dir("veil-group-receipts");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");
    Client carol = make_client(dir.path(), relay.url(), "carol");
    Client dave = make_client(dir.path(), relay.url(), "dave");
    REQUIRE(alice.run({"group", "create", "birders", "--members", "bob,carol"}).code == 0);
    REQUIRE(bob.run({"receive"}).code == 0);
    REQUIRE(carol.run({"receive"}).code == 0);

    auto sent = alice.run({"send", "--group", "birders", "a heron at the weir"});
    INFO(sent.err);
    REQUIRE(sent.code == 0);
    std::string id = first_line(sent.out);
    const std::string delivered =
        "{\"event\":\"status\",\"id\":\"" + id + "\",\"status\":\"delivered\"}";
    const std::string read = "{\"event\":\"status\",\"id\":\"" + id + "\",\"status\":\"read\"}";

    // Bob has it, Carol not yet: still one tick.
    REQUIRE(bob.run({"receive"}).code == 0);
    auto got = alice.run({"receive", "--json"});
    REQUIRE(got.code == 0);
    CHECK(got.out.find("\"id\":\"" + id + "\",\"status\"") == std::string::npos);
    // Carol too: two ticks.
    REQUIRE(carol.run({"receive"}).code == 0);
    got = alice.run({"receive", "--json"});
    REQUIRE(got.code == 0);
    CHECK(got.out.find(delivered) != std::string::npos);
    // Read once both have read it.
    REQUIRE(bob.run({"read", "--group", "birders"}).code == 0);
    got = alice.run({"receive", "--json"});
    REQUIRE(got.code == 0);
    CHECK(got.out.find(read) == std::string::npos);
    REQUIRE(carol.run({"read", "--group", "birders"}).code == 0);
    got = alice.run({"receive", "--json"});
    REQUIRE(got.code == 0);
    CHECK(got.out.find(read) != std::string::npos);

    // Typing in the group reaches a member who is online and with whom a session exists (Bob
    // sent his sender key to Carol with his first message); nothing is stored on the relay.
    REQUIRE(bob.run({"send", "--group", "birders", "which weir?"}).code == 0);
    REQUIRE(carol.run({"receive"}).code == 0);
    REQUIRE(alice.run({"receive"}).code == 0);
    REQUIRE(bob.run({"receive"}).code == 0);
    auto listening = carol.start({"receive", "--json", "--wait", "20"});
    REQUIRE(listening->wait_for_output("waiting for messages", 20s, /*stderr=*/true));
    auto typed = bob.run({"typing", "--group", "birders"});
    INFO(typed.err);
    REQUIRE(typed.code == 0);
    REQUIRE(listening->wait_for_output("\"from\":\"bob\",\"typing\":true}", 20s));
    listening->signal(SIGTERM);
    listening->wait(10s);
    auto lines = listening->out();
    std::string line = line_with(lines, "\"from\":\"bob\",\"typing\":true}");
    CHECK(line.find("\"conversation\":\"#") != std::string::npos);
    CHECK(relay_mailbox_rows(dir.path() / "relay") == 0);

    // Someone outside the group cannot type into it: dave has no such group.
    CHECK(dave.run({"typing", "--group", "birders"}).code != 0);
}

TEST_CASE("after the operator resets an account, its new key is announced and a verified contact "
          "must accept it before writing",
          "[relay-store]") {
    TempDir dir("veil-key-change");
    auto relay = std::make_unique<Relay>(dir.path());
    Client alice = make_client(dir.path(), relay->url(), "alice");
    Client bob = make_client(dir.path(), relay->url(), "bob");
    REQUIRE(bob.run({"send", "alice", "hi"}).code == 0);
    REQUIRE(alice.run({"receive"}).code == 0);
    REQUIRE(alice.run({"verify", "bob", "--mark"}).code == 0);
    auto before = alice.run({"verify", "bob", "--ascii"});
    REQUIRE(before.code == 0);

    const std::string data = (dir.path() / "relay").string();
    auto admin = [&](std::vector<std::string> args) {
        args.insert(args.begin(), VEIL_RELAY_BIN);
        args.insert(args.end(), {"--data", data});
        if (relay_on_postgres()) // the second pass of [relay-store]: the relay's database
            args.insert(args.end(), {"--store", relay_database(data).conninfo()});
        return veil::test::run(args, {}, dir.path(), "relay-admin");
    };
    // Not while the relay runs.
    auto busy = admin({"account", "delete", "bob"});
    CHECK(busy.code == 1);
    CHECK(busy.err.find("stop the relay first") != std::string::npos);
    relay.reset();
    auto unknown = admin({"account", "delete", "nobody"});
    CHECK(unknown.code == 1);
    CHECK(unknown.err.find("no account is named 'nobody'") != std::string::npos);
    auto deleted = admin({"account", "delete", "bob"});
    INFO(deleted.err);
    REQUIRE(deleted.code == 0);
    CHECK(deleted.out.find("deleted account bob (1 device") != std::string::npos);

    // Bob starts again on a new device under the same name: a new identity key.
    relay = std::make_unique<Relay>(dir.path());
    alice.relay = relay->url();
    Client bob_again{dir.path(), dir.path() / "bob-again", relay->url(), "a new passphrase"};
    auto registered = bob_again.run({"register", "bob"});
    INFO(registered.err);
    REQUIRE(registered.code == 0);
    REQUIRE(bob_again.run({"send", "alice", "new phone, same bob"}).code == 0);
    auto got = alice.run({"receive", "--json"});
    INFO(got.err);
    REQUIRE(got.code == 0);
    CHECK(got.out.find("new phone, same bob") != std::string::npos);
    CHECK(got.out.find("Your safety number with bob changed") != std::string::npos);
    CHECK(got.out.find("Sending to them is paused") != std::string::npos);
    auto after = alice.run({"verify", "bob", "--ascii"});
    REQUIRE(after.code == 0);
    CHECK(after.out != before.out);

    // Alice verified the old key: nothing goes out until she accepts the new one.
    auto paused = alice.run({"send", "bob", "is that you?"});
    CHECK(paused.code != 0);
    CHECK(paused.err.find("accept the new key") != std::string::npos);
    REQUIRE(alice.run({"verify", "bob", "--accept"}).code == 0);
    REQUIRE(alice.run({"send", "bob", "welcome back"}).code == 0);
    got = bob_again.run({"receive"});
    INFO(got.err);
    REQUIRE(got.code == 0);
    CHECK(got.out.find("welcome back") != std::string::npos);
    CHECK_FALSE(relay_holds(dir, "welcome back"));
}

TEST_CASE("the terminal shows who holds keys, starts new sessions and renews a group key") {
    TempDir dir("veil-encryption");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");
    Client carol = make_client(dir.path(), relay.url(), "carol");
    auto before = alice.run({"encryption", "bob"});
    REQUIRE(before.code == 0);
    CHECK(before.out == "bob: no key yet (no message exchanged)\n");
    REQUIRE(alice.run({"send", "bob", "hello"}).code == 0);
    REQUIRE(alice.run({"verify", "bob", "--mark"}).code == 0);
    auto shown = alice.run({"encryption", "bob"});
    REQUIRE(shown.code == 0);
    CHECK(shown.out == "bob: verified\n  device 1: session\n");

    auto restarted = alice.run({"encryption", "bob", "restart"});
    INFO(restarted.err);
    REQUIRE(restarted.code == 0);
    CHECK(restarted.out == "started new sessions with bob's devices\n");
    // Both the old session's message and the new one's decrypt on bob's side.
    REQUIRE(alice.run({"send", "bob", "after the restart"}).code == 0);
    auto got = bob.run({"receive"});
    REQUIRE(got.code == 0);
    CHECK(got.out.find("hello") != std::string::npos);
    CHECK(got.out.find("after the restart") != std::string::npos);
    CHECK(got.out.find("could not decrypt") == std::string::npos);

    REQUIRE(alice.run({"group", "create", "owls", "--members", "bob,carol"}).code == 0);
    REQUIRE(alice.run({"send", "--group", "owls", "first hoot"}).code == 0);
    auto members = alice.run({"encryption", "--group", "owls"});
    REQUIRE(members.code == 0);
    CHECK(members.out.find("bob: verified\n  device 1: session, has your group key\n") !=
          std::string::npos);
    CHECK(members.out.find("carol: not verified\n  device 1: session, has your group key\n") !=
          std::string::npos);
    auto renewed = alice.run({"encryption", "--group", "owls", "renew"});
    REQUIRE(renewed.code == 0);
    members = alice.run({"encryption", "--group", "owls"});
    CHECK(members.out.find("gets your group key with your next message") != std::string::npos);
    REQUIRE(alice.run({"send", "--group", "owls", "second hoot"}).code == 0);
    for (Client* member : {&bob, &carol}) {
        auto hoots = member->run({"receive"});
        REQUIRE(hoots.code == 0);
        CHECK(hoots.out.find("second hoot") != std::string::npos);
        CHECK(hoots.out.find("could not decrypt") == std::string::npos);
    }
    CHECK(alice.run({"encryption", "bob", "renew"}).code == 2);
}

TEST_CASE("the passphrase changes from the terminal, and only the new one opens the profile") {
    TempDir dir("veil-passphrase");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");
    REQUIRE(bob.run({"send", "alice", "kept across the change"}).code == 0);
    REQUIRE(alice.run({"receive"}).code == 0);

    auto change = [&](const std::string& current, const std::string& next) {
        return veil::test::run(alice.argv({"passphrase"}),
                               {{"VEIL_PASSPHRASE", current}, {"VEIL_NEW_PASSPHRASE", next}},
                               dir.path(), "veil");
    };
    auto wrong = change("not the passphrase", "whatever new");
    CHECK(wrong.code == 3);
    auto empty = change(alice.passphrase, "");
    CHECK(empty.code == 2);
    auto changed = change(alice.passphrase, "a brand new passphrase");
    INFO(changed.err);
    REQUIRE(changed.code == 0);
    CHECK(changed.out == "passphrase changed\n");

    auto old_one = alice.run({"search", "kept"});
    CHECK(old_one.code == 3);
    alice.passphrase = "a brand new passphrase";
    auto found = alice.run({"search", "kept"});
    INFO(found.err);
    REQUIRE(found.code == 0);
    CHECK(found.out.find("kept across the change") != std::string::npos);
    REQUIRE(alice.run({"send", "bob", "still me"}).code == 0);
}
