// A long catch-up killed and resumed (QUALITY.md, "A month offline, then 100,000 messages from
// 50 peers and groups", at a test's scale; the full size and the client's memory are measured by
// bench B9, bench/loadgen/b9_client_catchup.cpp): a real relay holds 3,150 messages for one real
// `veil` profile, from 50 peers (accounts of the test's own with real libsignal sessions,
// wire_sender.h) and 3 groups (real `veil` admins). The profile's catch-up is killed with SIGKILL
// at three points and run again; afterwards every message is stored exactly once, in the order
// it was sent within its conversation, and nothing is left on the relay.
#include "cli_harness.h"
#include "rpc_client.h"
#include "wire_sender.h"

#include <catch2/catch.hpp>

#include <charconv>
#include <csignal>

using namespace veil::test::e2e;
using veil::test::TempDir;

namespace {

constexpr int kKilled = 128 + SIGKILL;
constexpr int kPeers = 50;
constexpr int kPerPeer = 60;
constexpr int kGroups = 3;
constexpr int kPerGroup = 50;

// The numbers n of the texts "<tag> m<n> <word>" in a search answer, in the answer's order.
std::vector<int> numbers_in(const std::string& answer, const std::string& tag) {
    std::vector<int> found;
    const std::string prefix = "\"text\":\"" + tag + " m";
    for (auto at = answer.find(prefix); at != std::string::npos; at = answer.find(prefix, at + 1)) {
        int n = -1;
        const char* digits = answer.data() + at + prefix.size();
        std::from_chars(digits, answer.data() + answer.size(), n);
        found.push_back(n);
    }
    return found;
}

// The conversation's messages, each once, newest first (search orders by the stored row).
void check_once_in_order(RpcClient& rpc, int& next_id, const std::string& tag, int expected) {
    const std::string answer = rpc.call(next_id++, "search", R"({"query":")" + tag + R"( mike"})");
    const auto numbers = numbers_in(answer, tag);
    std::vector<int> wanted;
    for (int n = expected - 1; n >= 0; --n)
        wanted.push_back(n);
    INFO(tag << ": " << numbers.size() << " stored of " << expected);
    CHECK(numbers == wanted);
}

// 50 peers register, fetch bob's bundle and write kPerPeer messages each, interleaved.
std::vector<std::unique_ptr<WireSender>> write_from_peers(RelayFixture& keys, std::uint16_t port) {
    std::vector<std::unique_ptr<WireSender>> peers;
    for (int i = 0; i < kPeers; ++i) {
        peers.push_back(std::make_unique<WireSender>(keys, "q" + std::to_string(i)));
        peers.back()->register_on(port);
        peers.back()->ask_for_bundles("bob");
        peers.back()->start_sessions("bob", peers.back()->read_bundles());
    }
    for (int m = 0; m < kPerPeer; ++m) {
        for (auto& p : peers)
            p->queue_text(p->username() + " m" + std::to_string(m) + " mike",
                          static_cast<std::uint64_t>(1000 + m));
        for (auto& p : peers)
            p->read_sent();
    }
    return peers;
}

// Each admin's daemon sends kPerGroup messages to its group; all are on the relay once their
// "sent" events came.
void write_in_groups(const std::vector<Client>& admins) {
    for (int g = 0; g < kGroups; ++g) {
        const Client& admin = admins[static_cast<std::size_t>(g)];
        auto daemon = admin.start({"daemon"});
        REQUIRE(daemon->wait_for_output("veil: daemon ready", 30s, true));
        RpcClient rpc(admin.profile / "veil.sock");
        REQUIRE(rpc.call(1, "subscribe").find("\"subscribed\":true") != std::string::npos);
        const std::string group = "crowd" + std::to_string(g);
        for (int m = 0; m < kPerGroup; ++m) {
            std::string answer = rpc.call(10 + m, "send",
                                          R"({"group":")" + group + R"(","text":")" + group + " m" +
                                              std::to_string(m) + R"( mike"})");
            REQUIRE(answer.find("\"result\"") != std::string::npos);
        }
        while (count(rpc.seen(), R"("status":"sent")") < kPerGroup)
            REQUIRE(!rpc.wait_for({R"("event":"status")", R"("status":"sent")"}).empty());
        daemon->signal(SIGTERM);
        REQUIRE(daemon->wait(20s) == std::optional<int>(0));
    }
}

} // namespace

TEST_CASE("a catch-up of 3150 messages from 50 peers and 3 groups killed three times resumes "
          "with every message stored once and in order per conversation") {
    TempDir dir("veil-catchup");
    Relay relay(dir.path());
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
    auto peers = write_from_peers(keys, port_of(relay.url()));
    write_in_groups(admins);
    const int total = kPeers * kPerPeer + kGroups * kPerGroup;
    // Besides the texts: each group's announcement and each admin's sender key.
    REQUIRE(relay_device_mailbox_rows(dir.path() / "relay", "bob", 1) >= total);

    // Killed three times in the middle of the catch-up: after committing a message but before
    // acking it, inside a decrypt, and after a commit again. Each run decrypts only what the runs
    // before did not store (a stored message is acked unopened), so each gets further; the
    // relay's count lags behind, since acks go one request at a time.
    for (const std::string point :
         {"client.committed:700", "client.decrypted:600", "client.committed:700"}) {
        auto killed = bob.run_with({{"VEIL_CRASH_AT", point}}, {"receive", "--json"});
        INFO(point << ": " << killed.err);
        REQUIRE(killed.code == kKilled);
        CHECK(relay_device_mailbox_rows(dir.path() / "relay", "bob", 1) > 0);
    }
    // The rest of the catch-up, given more than the harness's 20 s and 60 s (a loaded machine).
    auto finished = veil::test::run(bob.argv({"--timeout", "300", "receive", "--json"}), bob.env(),
                                    bob.dir, "veil", {}, 300s);
    INFO(finished.err);
    REQUIRE(finished.code == 0);
    CHECK(relay_device_mailbox_rows(dir.path() / "relay", "bob", 1) == 0);

    auto daemon = bob.start({"daemon"});
    REQUIRE(daemon->wait_for_output("veil: daemon ready", 30s, true));
    RpcClient rpc(bob.profile / "veil.sock");
    int id = 1;
    for (int i = 0; i < kPeers; ++i)
        check_once_in_order(rpc, id, "q" + std::to_string(i), kPerPeer);
    for (int g = 0; g < kGroups; ++g)
        check_once_in_order(rpc, id, "crowd" + std::to_string(g), kPerGroup);
    daemon->signal(SIGTERM);
    CHECK(daemon->wait(20s) == std::optional<int>(0));
}
