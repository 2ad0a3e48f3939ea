// Moving a running installation from SQLite to PostgreSQL, as relay_config.h describes it: stop
// the relay, `veil-relay migrate`, start it on the new store with the same data folder and
// address. Real relay processes and real clients; the client that was offline meanwhile gets its
// queued messages from PostgreSQL, each once. Runs with the `postgres` fixture ([migrate]).
#include "cli_harness.h"
#include "support/postgres_test_db.h"
#include "support/process.h"

#include <catch2/catch.hpp>

#include <optional>
#include <sqlite3.h>

using namespace std::chrono_literals;
using namespace veil::test::e2e;
using veil::test::PostgresTestDb;
using veil::test::TempDir;

namespace {

// A count from the SQLite store in data (read-only).
long long sqlite_count(const std::filesystem::path& data, const char* sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2((data / "relay.db").string().c_str(), &db, SQLITE_OPEN_READONLY,
                            nullptr) == SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
    const long long n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return n;
}

veil::test::Run migrate(const std::filesystem::path& dir, const std::string& from,
                        const std::string& to, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {VEIL_RELAY_BIN,   "migrate", "--from",
                                     "sqlite:" + from, "--to",    to};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return veil::test::run(argv, {}, dir, "migrate", {}, 60s);
}

} // namespace

TEST_CASE("a relay moved from SQLite to PostgreSQL keeps every account, group and queued "
          "message, and delivers each queued message once",
          "[migrate]") {
    TempDir dir("veil-migrate");
    PostgresTestDb target;
    const auto data = dir.path() / "relay";
    std::optional<Relay> relay;
    relay.emplace(dir.path(), std::vector<std::string>{"--store", "sqlite"});
    const std::string address = relay->url().substr(std::string("ws://").size());
    Client alice = make_client(dir.path(), relay->url(), "alice");
    Client bob = make_client(dir.path(), relay->url(), "bob");
    Client carol = make_client(dir.path(), relay->url(), "carol");

    auto created = alice.run({"group", "create", "hikers", "--members", "bob,carol"});
    INFO(created.err);
    REQUIRE(created.code == 0);
    // bob stays offline from here on; carol reads the group's creation now.
    REQUIRE(carol.run({"receive", "--json"}).code == 0);
    const std::string first = "queued before the move 1 c0de";
    const std::string second = "queued before the move 2 c0de";
    const std::string group_text = "group text before the move 5eed";
    REQUIRE(alice.run({"send", "bob", first}).code == 0);
    REQUIRE(alice.run({"send", "bob", second}).code == 0);
    auto in_group = alice.run({"send", "--group", "hikers", group_text});
    INFO(in_group.err);
    REQUIRE(in_group.code == 0);

    // Never while the relay runs: it would go on writing to the source.
    auto refused = migrate(dir.path(), data.string(), target.conninfo());
    CHECK(refused.code == 1);
    CHECK(refused.err.find("stop the relay first") != std::string::npos);

    relay.reset();
    // An account the operator disabled stays disabled on the new store.
    auto disabled = veil::test::run(
        {VEIL_RELAY_BIN, "admin", "account", "disable", "carol", "--data", data.string()}, {},
        dir.path(), "admin");
    INFO(disabled.err);
    REQUIRE(disabled.code == 0);
    const auto queued = sqlite_count(data, "SELECT count(*) FROM mailbox");
    CHECK(queued >= 4); // bob: two messages, the group's creation and its message; carol: one
    auto moved = migrate(dir.path(), data.string(), target.conninfo());
    INFO(moved.err);
    REQUIRE(moved.code == 0);
    CHECK(moved.out.find("accounts: 3 rows") != std::string::npos);
    for (const char* table : {"accounts", "devices", "one_time_prekeys", "groups", "group_members",
                              "group_changes", "payloads", "mailbox", "sends"}) {
        const std::string sql = std::string("SELECT count(*) FROM ") + table;
        INFO(table);
        CHECK(target.query_int64(sql) == sqlite_count(data, sql.c_str()));
    }
    CHECK(target.query_int64("SELECT count(*) FROM mailbox") == queued);
    CHECK(target.query_int64("SELECT count(*) FROM account_flags WHERE username = 'carol'") == 1);
    auto enabled = veil::test::run({VEIL_RELAY_BIN, "admin", "account", "enable", "carol", "--data",
                                    data.string(), "--store", target.conninfo()},
                                   {}, dir.path(), "admin");
    INFO(enabled.err);
    REQUIRE(enabled.code == 0);
    CHECK(target.query_int64("SELECT count(*) FROM account_flags") == 0);

    // A second copy into the now populated database is refused.
    auto twice = migrate(dir.path(), data.string(), target.conninfo());
    CHECK(twice.code == 1);
    CHECK(twice.err.find("holds relay data already") != std::string::npos);

    // The relay starts again at the same address and folder, on PostgreSQL.
    relay.emplace(dir.path(),
                  std::vector<std::string>{"--listen", address, "--store", target.conninfo()});
    auto got = bob.run({"receive", "--json"});
    INFO(got.err);
    REQUIRE(got.code == 0);
    CHECK(count(got.out, first) == 1);
    CHECK(count(got.out, second) == 1);
    CHECK(count(got.out, group_text) == 1);
    auto again = bob.run({"receive", "--json"});
    REQUIRE(again.code == 0);
    CHECK(count(again.out, first) == 0);
    CHECK(count(again.out, group_text) == 0);
    auto at_carol = carol.run({"receive", "--json"});
    REQUIRE(at_carol.code == 0);
    CHECK(count(at_carol.out, group_text) == 1);

    // New traffic goes through the new store, both ways.
    const std::string after = "after the move 9a9a";
    REQUIRE(bob.run({"send", "alice", after}).code == 0);
    auto at_alice = alice.run({"receive", "--json"});
    REQUIRE(at_alice.code == 0);
    CHECK(count(at_alice.out, after) == 1);
    CHECK(target.query_int64("SELECT count(*) FROM accounts") == 3);
    CHECK(relay->logs().find("storing in PostgreSQL") != std::string::npos);
}
