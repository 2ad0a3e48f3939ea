// The integration tests' harness: a real veil-relay process on a free loopback port and real
// headless `veil` clients, each with its own profile and passphrase.
//
// With VEIL_TEST_RELAY_STORE=postgresql in the environment, every relay stores in a PostgreSQL
// database of its own on the test server (one per data folder, so that a restarted relay finds
// its data again) instead of DATA_DIR/relay.db; ctest runs the end-to-end and group tests
// ([relay-store]) that way a second time.
#pragma once

#include "support/postgres_test_db.h"
#include "support/process.h"

#include <catch2/catch.hpp>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <sqlite3.h>
#include <string>
#include <vector>

namespace veil::test::e2e {

using namespace std::chrono_literals;

inline bool relay_on_postgres() {
    const char* store = std::getenv("VEIL_TEST_RELAY_STORE");
    return store && std::string(store) == "postgresql";
}

// The PostgreSQL database of the relay whose data folder is relay_dir (created on first use,
// dropped when the test binary ends).
inline const PostgresTestDb& relay_database(const std::filesystem::path& relay_dir) {
    static std::map<std::string, std::unique_ptr<PostgresTestDb>> databases;
    auto& db = databases[relay_dir.string()];
    if (!db)
        db = std::make_unique<PostgresTestDb>();
    return *db;
}

class Relay {
public:
    // env adds variables to the relay's environment (VEIL_CRASH_AT, see util/crash_point.h).
    explicit Relay(const std::filesystem::path& dir, std::vector<std::string> extra = {},
                   std::map<std::string, std::string> env = {})
        : m_process(relay_argv(dir, std::move(extra)), std::move(env), dir, "relay") {
        REQUIRE(m_process.wait_for_output("listening on", 20s));
        std::smatch m;
        std::string out = m_process.out();
        REQUIRE(std::regex_search(out, m, std::regex(R"(listening on ([0-9.]+:[0-9]+))")));
        m_url = "ws://" + m[1].str();
    }
    ~Relay() {
        m_process.signal(SIGTERM);
        m_process.wait(10s);
    }
    const std::string& url() const { return m_url; }
    std::string logs() const { return m_process.out() + m_process.err(); }
    Process& process() { return m_process; }

private:
    static std::vector<std::string> relay_argv(const std::filesystem::path& dir,
                                               std::vector<std::string> extra) {
        std::vector<std::string> argv = {VEIL_RELAY_BIN, "--listen", "127.0.0.1:0", "--data",
                                         (dir / "relay").string()};
        if (relay_on_postgres()) {
            argv.push_back("--store");
            argv.push_back(relay_database(dir / "relay").conninfo());
        }
        argv.insert(argv.end(), extra.begin(), extra.end());
        return argv;
    }
    Process m_process;
    std::string m_url;
};

// The veil binary under test: the one built beside these tests, or $VEIL_TEST_CLI_BIN (for
// running the same tests against a sanitizer build of veil).
inline std::string cli_bin() {
    const char* other = std::getenv("VEIL_TEST_CLI_BIN");
    return other && *other ? other : VEIL_CLI_BIN;
}

struct Client {
    std::filesystem::path dir;
    std::filesystem::path profile;
    std::string relay;
    std::string passphrase;

    std::map<std::string, std::string> env() const { return {{"VEIL_PASSPHRASE", passphrase}}; }
    std::vector<std::string> argv(std::vector<std::string> verb) const {
        std::vector<std::string> a = {cli_bin(),   "--profile", profile.string(), "--relay", relay,
                                      "--timeout", "20"};
        a.insert(a.end(), verb.begin(), verb.end());
        return a;
    }
    veil::test::Run run(std::vector<std::string> verb, const std::string& in = {}) const {
        return veil::test::run(argv(std::move(verb)), env(), dir, "veil", in);
    }
    // The verb with more environment variables (VEIL_CRASH_AT, VEIL_LOG_LEVEL).
    veil::test::Run run_with(std::map<std::string, std::string> more,
                             std::vector<std::string> verb) const {
        auto e = env();
        e.insert(more.begin(), more.end());
        return veil::test::run(argv(std::move(verb)), e, dir, "veil");
    }
    // The verb as a process running beside the test (for `link`, which waits).
    std::unique_ptr<veil::test::Process> start(std::vector<std::string> verb) const {
        return std::make_unique<veil::test::Process>(argv(std::move(verb)), env(), dir, "veil");
    }
};

// A client whose profile does not exist yet (for `link`).
inline Client new_client(const std::filesystem::path& dir, const std::string& relay,
                         const std::string& profile_name, const std::string& passphrase) {
    return Client{dir, dir / profile_name, relay, passphrase};
}

// The code a running `veil link` printed, once it has.
inline std::string link_code(veil::test::Process& link) {
    REQUIRE(link.wait_for_output("veil link accept ", 30s));
    std::smatch m;
    std::string out = link.out();
    REQUIRE(std::regex_search(out, m, std::regex(R"(veil link accept ([0-9A-Z-]+))")));
    return m[1].str();
}

inline Client make_client(const std::filesystem::path& dir, const std::string& relay,
                          const std::string& name) {
    Client c{dir, dir / name, relay, "correct horse " + name};
    auto r = c.run({"register", name});
    INFO(r.err);
    REQUIRE(r.code == 0);
    return c;
}

// Rows in the relay's mailbox table, read from its database file (plain SQLite, WAL).
inline int relay_mailbox_rows(const std::filesystem::path& relay_dir) {
    if (relay_on_postgres())
        return static_cast<int>(
            relay_database(relay_dir).query_int64("SELECT count(*) FROM mailbox"));
    sqlite3* db = nullptr;
    std::string path = (relay_dir / "relay.db").string();
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "SELECT count(*) FROM mailbox", -1, &stmt, nullptr) ==
            SQLITE_OK);
    REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
    int rows = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return rows;
}

// Rows in the relay's mailbox for one device of an account.
inline int relay_device_mailbox_rows(const std::filesystem::path& relay_dir,
                                     const std::string& username, int device_id) {
    if (relay_on_postgres()) {
        // Usernames in these tests are plain letters: safe to splice.
        REQUIRE(username.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") ==
                std::string::npos);
        return static_cast<int>(relay_database(relay_dir).query_int64(
            "SELECT count(*) FROM mailbox m JOIN devices d ON d.id = m.device JOIN accounts a ON "
            "a.id = d.account_id WHERE a.username = '" +
            username + "' AND d.device_id = " + std::to_string(device_id)));
    }
    sqlite3* db = nullptr;
    std::string path = (relay_dir / "relay.db").string();
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(db,
                               "SELECT count(*) FROM mailbox m JOIN devices d ON d.id = m.device "
                               "JOIN accounts a ON a.id = d.account_id WHERE a.username = ?1 "
                               "AND d.device_id = ?2",
                               -1, &stmt, nullptr) == SQLITE_OK);
    sqlite3_bind_text(stmt, 1, username.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(stmt, 2, device_id);
    REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
    int rows = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return rows;
}

// The first line of a verb's output (the id `send` or `group create` printed).
inline std::string first_line(const std::string& text) {
    return text.substr(0, text.find('\n'));
}

// The line of output that holds needle (empty when none).
inline std::string line_with(const std::string& out, const std::string& needle) {
    std::size_t at = out.find(needle);
    if (at == std::string::npos)
        return {};
    std::size_t start = out.rfind('\n', at);
    start = start == std::string::npos ? 0 : start + 1;
    return out.substr(start, out.find('\n', at) - start);
}

inline int count(const std::string& haystack, const std::string& needle) {
    int n = 0;
    for (auto pos = haystack.find(needle); pos != std::string::npos;
         pos = haystack.find(needle, pos + 1))
        ++n;
    return n;
}

} // namespace veil::test::e2e
