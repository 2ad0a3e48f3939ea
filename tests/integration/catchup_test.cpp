// A long catch-up killed and resumed (QUALITY.md, "A month offline, then 100,000 messages from
// 50 peers and groups"; the client's time and memory are measured by bench B9,
// bench/loadgen/b9_client_catchup.cpp): a real relay holds messages for one real `veil` profile,
// from 50 peers (accounts of the test's own with real libsignal sessions, wire_sender.h) and 3
// groups (real `veil` admins), 3,150 of them, and 100,000 in the [heavy] case. The profile's
// catch-up is killed with SIGKILL at three points and run again; afterwards every message is
// stored exactly once, in the order it was sent within its conversation, and nothing is left on
// the relay.
#include "cli_harness.h"
#include "rpc_client.h"
#include "wire_sender.h"

#include <catch2/catch.hpp>

#include <charconv>
#include <csignal>
#include <map>
#include <set>
#include <sstream>

using namespace veil::test::e2e;
using veil::test::TempDir;

namespace {

constexpr int kKilled = 128 + SIGKILL;
constexpr int kPeers = 50;
constexpr int kGroups = 3;

// One catch-up's size, the crash points ("name:count") its three killed runs stop at, and the
// relay's extra arguments.
struct Backlog {
    int per_peer;
    int per_group;
    std::vector<std::string> kills;
    std::vector<std::string> relay_args;
};

// Every stored text "<tag> m<n> mike" of the profile, read by the profile probe in its own
// process (tools/profile_probe.cpp): for each tag, the numbers n in stored order and the
// conversations they were stored in.
struct Stored {
    std::vector<int> numbers;
    std::set<std::string> conversations;
};
std::map<std::string, Stored> stored_texts(const Client& client) {
    TempDir logs("veil-catchup-probe");
    auto probe = veil::test::run({VEIL_PROFILE_PROBE_BIN, "texts", client.profile.string()}, {},
                                 logs.path(), "probe", client.passphrase);
    INFO(probe.err);
    REQUIRE(probe.code == 0);
    std::map<std::string, Stored> found;
    std::istringstream lines(probe.out);
    for (std::string line; std::getline(lines, line);) {
        const auto tab = line.find('\t');
        const auto space = line.find(" m", tab);
        if (tab == std::string::npos || space == std::string::npos || line.size() < 5 ||
            line.compare(line.size() - 5, 5, " mike") != 0)
            continue; // a group's announcement or a system line
        int n = -1;
        std::from_chars(line.data() + space + 2, line.data() + line.size(), n);
        auto& tag = found[line.substr(tab + 1, space - tab - 1)];
        tag.numbers.push_back(n);
        tag.conversations.insert(line.substr(0, tab));
    }
    return found;
}

// The tag's messages, each once, in sending order, all in one conversation (the peer's own, for
// a peer); returns that conversation.
std::string check_once_in_order(const std::map<std::string, Stored>& stored, const std::string& tag,
                                int expected) {
    std::vector<int> wanted;
    for (int n = 0; n < expected; ++n)
        wanted.push_back(n);
    auto it = stored.find(tag);
    REQUIRE(it != stored.end());
    INFO(tag << ": " << it->second.numbers.size() << " stored of " << expected);
    CHECK(it->second.numbers == wanted);
    REQUIRE(it->second.conversations.size() == 1);
    return *it->second.conversations.begin();
}

// 50 peers register, fetch bob's bundle and write per_peer messages each, interleaved.
std::vector<std::unique_ptr<WireSender>> write_from_peers(RelayFixture& keys, std::uint16_t port,
                                                          int per_peer) {
    std::vector<std::unique_ptr<WireSender>> peers;
    for (int i = 0; i < kPeers; ++i) {
        peers.push_back(std::make_unique<WireSender>(keys, "q" + std::to_string(i)));
        peers.back()->register_on(port);
        peers.back()->ask_for_bundles("bob");
        peers.back()->start_sessions("bob", peers.back()->read_bundles());
    }
    for (int m = 0; m < per_peer; ++m) {
        for (auto& p : peers)
            p->queue_text(p->username() + " m" + std::to_string(m) + " mike",
                          static_cast<std::uint64_t>(1000 + m));
        for (auto& p : peers)
            p->read_sent();
    }
    return peers;
}

// Each admin's daemon sends per_group messages to its group; all are on the relay once their
// "sent" events came.
void write_in_groups(const std::vector<Client>& admins, int per_group) {
    for (int g = 0; g < kGroups; ++g) {
        const Client& admin = admins[static_cast<std::size_t>(g)];
        auto daemon = admin.start({"daemon"});
        REQUIRE(daemon->wait_for_output("veil: daemon ready", 30s, true));
        RpcClient rpc(admin.profile / "veil.sock");
        REQUIRE(rpc.call(1, "subscribe").find("\"subscribed\":true") != std::string::npos);
        const std::string group = "crowd" + std::to_string(g);
        for (int m = 0; m < per_group; ++m) {
            std::string answer = rpc.call(10 + m, "send",
                                          R"({"group":")" + group + R"(","text":")" + group + " m" +
                                              std::to_string(m) + R"( mike"})");
            REQUIRE(answer.find("\"result\"") != std::string::npos);
        }
        while (count(rpc.seen(), R"("status":"sent")") < per_group)
            REQUIRE(!rpc.wait_for({R"("event":"status")", R"("status":"sent")"}).empty());
        daemon->signal(SIGTERM);
        REQUIRE(daemon->wait(20s) == std::optional<int>(0));
    }
}

// Queues the backlog for bob, kills his catch-up at each of its points, finishes it and checks
// every conversation.
void catch_up_killed_three_times(const Backlog& backlog) {
    TempDir dir("veil-catchup");
    Relay relay(dir.path(), backlog.relay_args);
    Client bob = make_client(dir.path(), relay.url(), "bob");
    std::vector<Client> admins;
    for (int g = 0; g < kGroups; ++g) {
        admins.push_back(make_client(dir.path(), relay.url(), "admin" + std::to_string(g)));
        auto created =
            admins.back().run({"group", "create", "crowd" + std::to_string(g), "--members", "bob"});
        INFO(created.err);
        REQUIRE(created.code == 0);
    }

    RelayFixture keys;
    auto peers = write_from_peers(keys, port_of(relay.url()), backlog.per_peer);
    write_in_groups(admins, backlog.per_group);
    const int total = kPeers * backlog.per_peer + kGroups * backlog.per_group;
    // Besides the texts: each group's announcement and each admin's sender key.
    REQUIRE(relay_device_mailbox_rows(dir.path() / "relay", "bob", 1) >= total);

    // Killed three times in the middle of the catch-up (after committing a message but before
    // acking it, inside a decrypt, after a commit again). Each run decrypts only what the runs
    // before did not store (a stored message is acked unopened), so each gets further; the
    // relay's count lags behind, since acks go one request at a time.
    // Each run is given more than the harness's 20 s and 60 s (a long backlog, a loaded machine).
    auto receive = [&bob](const std::string& crash_at) {
        auto env = bob.env();
        if (!crash_at.empty())
            env["VEIL_CRASH_AT"] = crash_at;
        return veil::test::run(bob.argv({"--timeout", "300", "receive", "--json"}), env, bob.dir,
                               "veil", {}, 300s);
    };
    for (const std::string& point : backlog.kills) {
        auto killed = receive(point);
        INFO(point << ": " << killed.err);
        REQUIRE(killed.code == kKilled);
        CHECK(relay_device_mailbox_rows(dir.path() / "relay", "bob", 1) > 0);
    }
    auto finished = receive({}); // the rest of the catch-up
    INFO(finished.err);
    REQUIRE(finished.code == 0);
    CHECK(relay_device_mailbox_rows(dir.path() / "relay", "bob", 1) == 0);

    const auto stored = stored_texts(bob);
    for (int i = 0; i < kPeers; ++i) {
        const std::string peer = "q" + std::to_string(i);
        CHECK(check_once_in_order(stored, peer, backlog.per_peer) == peer);
    }
    std::set<std::string> group_conversations;
    for (int g = 0; g < kGroups; ++g)
        group_conversations.insert(
            check_once_in_order(stored, "crowd" + std::to_string(g), backlog.per_group));
    CHECK(group_conversations.size() == static_cast<std::size_t>(kGroups));
    for (const auto& conversation : group_conversations)
        CHECK(conversation.rfind('#', 0) == 0); // a group's ("#" and its id), not a peer's
    CHECK(stored.size() == static_cast<std::size_t>(kPeers + kGroups));
}

} // namespace

TEST_CASE("a catch-up of 3150 messages from 50 peers and 3 groups killed three times resumes "
          "with every message stored once and in order per conversation") {
    catch_up_killed_three_times(
        {60, 50, {"client.committed:700", "client.decrypted:600", "client.committed:700"}, {}});
}

TEST_CASE("a catch-up of 100000 messages from 50 peers and 3 groups killed three times resumes "
          "with every message stored once and in order per conversation",
          "[heavy]") {
    // 98,500 from the peers and 1,500 in the groups, as in bench B9; each run gets about a
    // quarter further. The relay runs without its limits, as B9's does: these test senders send
    // as fast as it answers and do not wait out RATE_LIMITED as clients do (1,970 each against
    // a burst of 1,000 requests), and bob's 100,000 messages with the groups' announcements
    // and sender keys go past the default quota of 100,000 waiting for one device.
    catch_up_killed_three_times(
        {1970,
         500,
         {"client.committed:25000", "client.decrypted:25000", "client.committed:25000"},
         {"--no-limits"}});
}
