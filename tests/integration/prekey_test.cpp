// One-time prekeys under pressure, through a real relay (QUALITY.md, "150 people start chats
// while the one-time prekeys are at 100"): the recipient is a real `veil` profile; the 150
// senders are accounts of the test's own (wire_sender.h: real keys, real libsignal sessions in
// memory, real sockets), since 150 profiles would cost 150 Argon2id derivations per verb. The
// relay's own records (its one_time_prekeys table, read from its SQLite file) show which ids it
// holds; the bundles the senders got show which it handed out.
#include "cli_harness.h"
#include "wire_sender.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <charconv>
#include <set>

using namespace veil::test::e2e;
using veil::test::TempDir;

namespace {

// The one-time prekey ids the relay holds for device 1 of username, from its database file.
std::set<std::uint32_t> relay_prekey_ids(const std::filesystem::path& relay_dir,
                                         const std::string& username) {
    sqlite3* db = nullptr;
    const std::string path = (relay_dir / "relay.db").string();
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(db,
                               "SELECT p.prekey_id FROM one_time_prekeys p JOIN devices d ON "
                               "d.id = p.device JOIN accounts a ON a.id = d.account_id WHERE "
                               "a.username = ?1 AND d.device_id = 1",
                               -1, &stmt, nullptr) == SQLITE_OK);
    sqlite3_bind_text(stmt, 1, username.c_str(), -1, SQLITE_TRANSIENT);
    std::set<std::uint32_t> ids;
    while (sqlite3_step(stmt) == SQLITE_ROW)
        ids.insert(static_cast<std::uint32_t>(sqlite3_column_int64(stmt, 0)));
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return ids;
}

// What the relay handed out: the one-time prekey id of each bundle that had one, in order.
struct Handed {
    std::vector<std::uint32_t> ids;
    std::size_t without = 0; // bundles with the signed prekey only
};

void note_bundles(const veil::wire::PrekeyBundles& bundles, Handed& handed) {
    REQUIRE(bundles.bundles_size() == 1); // the recipient has one device
    const auto& b = bundles.bundles(0);
    if (b.has_one_time_prekey())
        handed.ids.push_back(b.one_time_prekey().id());
    else
        ++handed.without;
}

// `count` fetches of username's bundle from one connection: what a crowd of new contacts that
// never write takes from the relay.
void take_bundles(WireSender& taker, const std::string& username, int count, Handed& handed) {
    for (int i = 0; i < count; ++i) {
        taker.ask_for_bundles(username);
        note_bundles(taker.read_bundles(), handed);
    }
}

int store_snapshots(const std::filesystem::path& profile) {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(profile / "snapshots"))
        n += e.path().filename().string().rfind("account-", 0) == 0 ? 1 : 0;
    return n;
}

bool disjoint(const std::set<std::uint32_t>& a, const std::vector<std::uint32_t>& b) {
    return std::none_of(b.begin(), b.end(), [&](std::uint32_t id) { return a.count(id) > 0; });
}

} // namespace

TEST_CASE("150 people start chats while the recipient has 100 one-time prekeys: all 150 "
          "decrypt, the prekeys are replenished and no prekey id is handed out twice") {
    constexpr int kSenders = 150;
    constexpr int kAtOnce = 15; // senders that fetch and send together
    TempDir dir("veil-prekeys");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    const auto uploaded = relay_prekey_ids(dir.path() / "relay", "alice");
    REQUIRE(uploaded.size() == 100);

    // Alice is offline. 150 new contacts register, fetch her bundle and write to her, fifteen
    // at a time: each group asks for fifteen bundles before any answer is read, then sends.
    RelayFixture keys;
    std::vector<std::unique_ptr<WireSender>> senders;
    for (int i = 0; i < kSenders; ++i) {
        senders.push_back(std::make_unique<WireSender>(keys, "p" + std::to_string(i)));
        senders.back()->register_on(port_of(relay.url()));
    }
    Handed handed;
    for (int first = 0; first < kSenders; first += kAtOnce) {
        for (int i = first; i < first + kAtOnce; ++i)
            senders[static_cast<std::size_t>(i)]->ask_for_bundles("alice");
        for (int i = first; i < first + kAtOnce; ++i) {
            auto& s = *senders[static_cast<std::size_t>(i)];
            const auto bundles = s.read_bundles();
            note_bundles(bundles, handed);
            s.start_sessions("alice", bundles);
            s.queue_text("first message from " + s.username() + " tango");
        }
        for (int i = first; i < first + kAtOnce; ++i)
            senders[static_cast<std::size_t>(i)]->read_sent();
    }

    // Each of the 100 was handed out once, the last 50 bundles had none left.
    CHECK(handed.ids.size() == 100);
    CHECK(handed.without == 50);
    CHECK(std::set<std::uint32_t>(handed.ids.begin(), handed.ids.end()) == uploaded);
    CHECK(relay_prekey_ids(dir.path() / "relay", "alice").empty());

    // Alice comes online: every first message decrypts, the last 50 over bundles without a
    // one-time prekey, and she uploads a new batch with ids never handed out.
    auto got = alice.run({"receive", "--json"});
    INFO(got.err);
    REQUIRE(got.code == 0);
    CHECK(got.out.find("could not decrypt") == std::string::npos);
    CHECK(count(got.out, " tango\"") == kSenders);
    for (int i = 0; i < kSenders; ++i) {
        const std::string text = "first message from p" + std::to_string(i) + " tango\"";
        INFO(text);
        CHECK(count(got.out, text) == 1);
    }
    const auto refilled = relay_prekey_ids(dir.path() / "relay", "alice");
    CHECK(refilled.size() == 100);
    CHECK(disjoint(refilled, handed.ids));
    CHECK(*refilled.begin() > *std::max_element(handed.ids.begin(), handed.ids.end()));
}

TEST_CASE("after a restore from a snapshot the one-time prekeys uploaded through the relay "
          "have ids past any the lost database handed out, and a new contact's first message "
          "decrypts") {
    TempDir dir("veil-prekeys-restore");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    // The profile's first snapshot: it has uploaded the first 100 ids and nothing more.
    REQUIRE(alice.run({"contacts"}).code == 0);
    REQUIRE(store_snapshots(alice.profile) == 1);

    RelayFixture keys;
    WireSender taker(keys, "taker");
    taker.register_on(port_of(relay.url()));
    Handed handed;
    take_bundles(taker, "alice", 100, handed);
    // The database the snapshot does not know: it uploads the next 100 ids.
    REQUIRE(alice.run({"receive"}).code == 0);
    const auto lost_batch = relay_prekey_ids(dir.path() / "relay", "alice");
    REQUIRE(lost_batch.size() == 100);

    // That database is lost: the snapshot goes in place, and its id counter with it.
    auto restored = alice.run({"restore-snapshot"});
    INFO(restored.err);
    REQUIRE(restored.code == 0);
    take_bundles(taker, "alice", 100, handed);
    REQUIRE(std::set<std::uint32_t>(handed.ids.end() - 100, handed.ids.end()) == lost_batch);

    // The restored profile refills: none of its ids was handed out before, though its own
    // counter had never seen the lost batch.
    REQUIRE(alice.run({"receive"}).code == 0);
    const auto after_restore = relay_prekey_ids(dir.path() / "relay", "alice");
    CHECK(after_restore.size() == 100);
    CHECK(std::set<std::uint32_t>(handed.ids.begin(), handed.ids.end()).size() == 200);
    CHECK(disjoint(after_restore, handed.ids));
    CHECK(*after_restore.begin() > *lost_batch.rbegin());

    // A new contact's first message uses one of them and decrypts.
    WireSender newcomer(keys, "newcomer");
    newcomer.register_on(port_of(relay.url()));
    newcomer.ask_for_bundles("alice");
    const auto bundles = newcomer.read_bundles();
    REQUIRE(bundles.bundles(0).has_one_time_prekey());
    CHECK(after_restore.count(bundles.bundles(0).one_time_prekey().id()) == 1);
    newcomer.start_sessions("alice", bundles);
    newcomer.queue_text("first after the restore uniform");
    newcomer.read_sent();
    auto got = alice.run({"receive", "--json"});
    REQUIRE(got.code == 0);
    CHECK(count(got.out, "first after the restore uniform") == 1);
    CHECK(got.out.find("could not decrypt") == std::string::npos);
}
