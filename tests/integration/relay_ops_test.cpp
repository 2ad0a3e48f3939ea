// The operator's side of a relay (issue 10) end to end: a real veil-relay process with its admin
// listener, real headless clients, /metrics scraped over a real socket and parsed, and the
// `veil-relay admin` commands run against the populated data folder.
#include "admin_http.h"
#include "cli_harness.h"
#include "rpc_client.h"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <cstring>
#include <fstream>
#include <map>
#include <netinet/in.h>
#include <poll.h>
#include <regex>
#include <set>
#include <sqlite3.h>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

using namespace veil::test::e2e;
using veil::test::TempDir;

namespace {

veil::test::Run admin(const std::filesystem::path& dir, std::vector<std::string> args) {
    std::vector<std::string> argv = {VEIL_RELAY_BIN, "admin"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--data");
    argv.push_back((dir / "relay").string());
    if (relay_on_postgres()) {
        argv.push_back("--store");
        argv.push_back(relay_database(dir / "relay").conninfo());
    }
    return veil::test::run(argv, {}, dir, "admin");
}

const std::vector<std::string> kAdminOptions = {"--admin-listen", "127.0.0.1:0",
                                                "--metrics-cache-ms", "0"};

} // namespace

TEST_CASE("a misspelled key in the config file stops the relay, naming the key") {
    TempDir dir("veil-ops-config");
    const auto config = dir.path() / "relay.conf";
    std::ofstream(config) << "# an operator's config\nlisten = 127.0.0.1:0\ninvite_onyl = true\n";
    auto started = veil::test::run(
        {VEIL_RELAY_BIN, "--config", config.string(), "--data", (dir.path() / "relay").string()},
        {}, dir.path(), "relay");
    CHECK(started.code == 2);
    CHECK(started.err.find("unknown setting \"invite_onyl\"") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.path() / "relay" / "relay.db")); // nothing made

    // The packaged config, every key of it, is accepted.
    auto help = veil::test::run({VEIL_RELAY_BIN, "tls", "fingerprint", "--config",
                                 std::string(VEIL_SOURCE_DIR) + "/packaging/relay.conf", "--data",
                                 (dir.path() / "relay").string()},
                                {}, dir.path(), "relay");
    CHECK(help.err.find("unknown setting") == std::string::npos);
    CHECK(help.code == 1); // no certificate yet, but no usage error
}

TEST_CASE("clients that connect to the admin listener and send nothing, or dribble, hold up no "
          "health check",
          "[relay-store]") {
    TempDir dir("veil-ops-slow");
    Relay relay(dir.path(), kAdminOptions);
    const std::string address = admin_address(dir.path() / "relay");
    const std::size_t colon = address.rfind(':');
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
    REQUIRE(::inet_pton(AF_INET, address.substr(0, colon).c_str(), &to.sin_addr) == 1);
    // Twelve silent connections and one with half a request line: served in turn with a 2 s
    // deadline each, they would keep the health check below waiting 26 s, past its 10 s.
    std::vector<int> idle;
    for (int i = 0; i < 13; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd >= 0);
        REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0);
        idle.push_back(fd);
    }
    REQUIRE(::send(idle.back(), "GET /hea", 8, MSG_NOSIGNAL) == 8);
    auto health = http(address, "GET", "/healthz");
    CHECK(health.status == 200);
    CHECK(health.body == "ok\n");
    for (int fd : idle)
        ::close(fd);
}

TEST_CASE("metrics count exactly the messages real clients sent, in valid exposition text",
          "[relay-store]") {
    TempDir dir("veil-ops-metrics");
    Relay relay(dir.path(), kAdminOptions);
    const auto relay_dir = dir.path() / "relay";

    auto health = http(admin_address(relay_dir), "GET", "/healthz");
    CHECK(health.status == 200);
    CHECK(health.body == "ok\n");
    CHECK(http(admin_address(relay_dir), "GET", "/nothing").status == 404);

    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");
    Client carol = make_client(dir.path(), relay.url(), "carol");
    REQUIRE(alice.run({"receive"}).code == 0);
    auto before = scrape(relay_dir);
    CHECK(before["veil_relay_queued_messages"] == relay_mailbox_rows(relay_dir));

    // Three 1:1 messages to an offline recipient: three in, three more rows queued.
    for (const char* text : {"one", "two", "three"})
        REQUIRE(bob.run({"send", "alice", text}).code == 0);
    auto sent = scrape(relay_dir);
    CHECK(sent["veil_relay_messages_in_total{kind=\"direct\"}"] -
              before["veil_relay_messages_in_total{kind=\"direct\"}"] ==
          3);
    CHECK(sent["veil_relay_messages_in_total{kind=\"group\"}"] ==
          before["veil_relay_messages_in_total{kind=\"group\"}"]);
    CHECK(sent["veil_relay_queued_messages"] - before["veil_relay_queued_messages"] == 3);
    CHECK(sent["veil_relay_queued_messages"] == relay_mailbox_rows(relay_dir));
    CHECK(sent["veil_relay_store_commit_seconds_count"] >
          before["veil_relay_store_commit_seconds_count"]);
    CHECK(sent["veil_relay_store_commit_seconds_bucket{le=\"+Inf\"}"] ==
          sent["veil_relay_store_commit_seconds_count"]);
    CHECK(sent["veil_relay_store_commit_seconds_bucket{le=\"0.001\"}"] <=
          sent["veil_relay_store_commit_seconds_bucket{le=\"0.01\"}"]);

    // Alice takes them: three deliveries acknowledged, her mailbox empty again.
    auto got = alice.run({"receive"});
    REQUIRE(got.code == 0);
    auto received = scrape(relay_dir);
    CHECK(received["veil_relay_deliveries_acked_total"] -
              sent["veil_relay_deliveries_acked_total"] ==
          3);
    CHECK(received["veil_relay_queued_messages"] == relay_mailbox_rows(relay_dir));

    // A group message is stored once: one group message in, whatever the member count.
    REQUIRE(alice.run({"group", "create", "hikers", "--members", "bob,carol"}).code == 0);
    auto created = scrape(relay_dir);
    REQUIRE(alice.run({"send", "--group", "hikers", "to the hills"}).code == 0);
    auto grouped = scrape(relay_dir);
    CHECK(grouped["veil_relay_messages_in_total{kind=\"group\"}"] -
              created["veil_relay_messages_in_total{kind=\"group\"}"] ==
          1);

    // A refused request is counted by its code.
    CHECK(bob.run({"send", "nobody-here", "hello?"}).code != 0);
    auto refused = scrape(relay_dir);
    CHECK(refused["veil_relay_errors_total{code=\"not_found\"}"] >
          grouped["veil_relay_errors_total{code=\"not_found\"}"]);
    CHECK(refused["veil_relay_uptime_seconds"] > 0);
    CHECK(refused["veil_relay_open_connections"] >= 0);

    // Every line the relay logged has the documented format (relay_log.h), and none holds a
    // message's text.
    const std::regex format(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARN|ERROR) )"
                            R"([a-z.]+ event=[a-z_]+( [a-z_]+=("([^"\\]|\\.)*"|\S*))*$)");
    std::istringstream lines(relay.logs());
    int logged = 0;
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("veil-relay listening on ", 0) == 0)
            continue;
        INFO(line);
        CHECK(std::regex_match(line, format));
        ++logged;
    }
    CHECK(logged >= 3);
    for (const char* text : {"to the hills", "hello?", "nobody-here"})
        CHECK(relay.logs().find(text) == std::string::npos);
}

namespace {

// A relay with three accounts, a group, queued 1:1 and group messages and a stored blob, all
// made by real clients.
struct Populated {
    Client alice, bob, carol;
};

Populated populate(const std::filesystem::path& dir, const std::string& url) {
    Populated p{make_client(dir, url, "alice"), make_client(dir, url, "bob"),
                make_client(dir, url, "carol")};
    REQUIRE(p.alice.run({"group", "create", "hikers", "--members", "bob,carol"}).code == 0);
    REQUIRE(p.alice.run({"send", "--group", "hikers", "the route for Sunday"}).code == 0);
    REQUIRE(p.bob.run({"send", "carol", "are you coming along?"}).code == 0);
    auto file = dir / "map-of-the-trail.txt";
    std::ofstream(file) << std::string(5000, 'm') << "the trail goes up the hill\n";
    REQUIRE(p.alice.run({"send", "carol", "the map", "--file", file.string()}).code == 0);
    return p;
}

// Inserts a mailbox row whose "ciphertext" is plain text, as a broken or malicious client (or
// relay) would store it, straight into the database file.
std::int64_t plant_plaintext_row(const std::filesystem::path& relay_dir, const std::string& text) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((relay_dir / "relay.db").string().c_str(), &db) == SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(db,
                               "INSERT INTO mailbox (device, from_username, from_device, "
                               "message_id, type, ciphertext, server_ts) SELECT d.id, 'bob', 1, "
                               "x'00112233', 1, ?1, 1 FROM devices d JOIN accounts a ON "
                               "a.id = d.account_id WHERE a.username = 'carol'",
                               -1, &stmt, nullptr) == SQLITE_OK);
    std::string bytes = "\x33" + text;
    sqlite3_bind_blob(stmt, 1, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
    REQUIRE(sqlite3_step(stmt) == SQLITE_DONE);
    sqlite3_finalize(stmt);
    const std::int64_t id = sqlite3_last_insert_rowid(db);
    sqlite3_close(db);
    return id;
}

// Polls /metrics until the relay counts `want` authenticated connections (a connection's close
// reaches the relay a moment after the client's process ends); false after 20 s.
bool authenticated_devices_become(const std::filesystem::path& relay_dir, double want) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
        if (scrape(relay_dir)["veil_relay_authenticated_devices"] == want)
            return true;
        std::this_thread::sleep_for(50ms);
    }
    return false;
}

} // namespace

TEST_CASE("admin commands report a populated relay and the audit passes its real store",
          "[relay-store]") {
    TempDir dir("veil-ops-admin");
    Relay relay(dir.path(), kAdminOptions);
    populate(dir.path(), relay.url());

    auto accounts = admin(dir.path(), {"accounts", "list"});
    INFO(accounts.err);
    REQUIRE(accounts.code == 0);
    for (const char* name : {"alice", "bob", "carol"})
        CHECK(std::regex_search(accounts.out,
                                std::regex(std::string("\n") + name + " +1 +20[0-9-]+T.* no\n")));

    auto devices = admin(dir.path(), {"devices", "carol"});
    REQUIRE(devices.code == 0);
    CHECK(
        std::regex_search(devices.out, std::regex(R"(\n1 +20\S+ +\S+ +[1-9][0-9]* +\d+ +active)")));
    CHECK(admin(dir.path(), {"devices", "nobody"}).code == 1);

    auto stats = admin(dir.path(), {"stats"});
    REQUIRE(stats.code == 0);
    CHECK(stats.out.find("accounts          3 (0 disabled)") != std::string::npos);
    CHECK(stats.out.find("groups            1") != std::string::npos);
    CHECK(std::regex_search(stats.out, std::regex("\ngroup payloads +[1-9]")));
    CHECK(stats.out.find("blobs             1 (") != std::string::npos);
    CHECK(stats.out.find("queued messages   " + std::to_string(relay_mailbox_rows(
                                                    dir.path() / "relay"))) != std::string::npos);
    CHECK(stats.out.find("  carol/1") != std::string::npos);

    auto invite = admin(dir.path(), {"invite", "create"});
    REQUIRE(invite.code == 0);
    const std::string code = first_line(invite.out);
    CHECK(admin(dir.path(), {"invite", "list"}).out.find(code + " ") != std::string::npos);
    CHECK(admin(dir.path(), {"invite", "revoke", code}).code == 0);
    CHECK(admin(dir.path(), {"invite", "list"}).out.find(code) == std::string::npos);
    CHECK(admin(dir.path(), {"invite", "revoke", code}).code == 1);

    CHECK(admin(dir.path(), {"purge"}).out.find("purged 0 expired messages") != std::string::npos);
    CHECK(admin(dir.path(), {"frobnicate"}).code == 2);
    CHECK(admin(dir.path(), {"account", "disable"}).code == 2);

    auto audit = admin(dir.path(), {"audit"});
    INFO(audit.out);
    CHECK(audit.code == 0);
    CHECK(audit.out.find("carol/1 (") != std::string::npos);
    CHECK(audit.out.find("group payload ") != std::string::npos);
    CHECK(audit.out.find("attachments (1)") != std::string::npos);
    CHECK(audit.out.find("every one is opaque ciphertext") != std::string::npos);

    if (relay_on_postgres()) {
        // No fake backup: the commands that make one, and nothing copied.
        const auto dest = dir.path() / "backup";
        auto backup = admin(dir.path(), {"backup", dest.string()});
        CHECK(backup.code == 1);
        CHECK(backup.out.find("pg_dump --format=custom --file='" +
                              (dest / "relay.pgdump").string() + "' --dbname='" +
                              relay_database(dir.path() / "relay").conninfo() + "'") !=
              std::string::npos);
        CHECK(backup.out.find("cp -a '" + (dir.path() / "relay" / "blobs").string()) !=
              std::string::npos);
        CHECK(backup.err.find("nothing was copied") != std::string::npos);
        CHECK_FALSE(std::filesystem::exists(dest));
    }
}

TEST_CASE("the audit fails naming a planted plaintext record or file, never quoting it") {
    TempDir dir("veil-ops-audit");
    Relay relay(dir.path(), kAdminOptions);
    populate(dir.path(), relay.url());
    const auto relay_dir = dir.path() / "relay";
    REQUIRE(admin(dir.path(), {"audit"}).code == 0);

    SECTION("a mailbox row holding text") {
        const std::int64_t row =
            plant_plaintext_row(relay_dir, "meet me at the old mill at nine, bring the keys");
        auto audit = admin(dir.path(), {"audit"});
        CHECK(audit.code == 1);
        CHECK(audit.out.find("NOT OPAQUE: mailbox row " + std::to_string(row) + " (carol/1)") !=
              std::string::npos);
        CHECK(audit.out.find("old mill") == std::string::npos);
        CHECK(audit.out.find("1 look like plaintext") != std::string::npos);
    }
    SECTION("a mailbox row that is not a Signal message's framing") {
        const std::int64_t row = plant_plaintext_row(relay_dir, std::string(40, '\x07'));
        auto audit = admin(dir.path(), {"audit"});
        CHECK(audit.code == 1);
        CHECK(audit.out.find("NOT OPAQUE: mailbox row " + std::to_string(row)) !=
              std::string::npos);
    }
    SECTION("a PNG image stored as a blob") {
        std::string png = "\x89PNG\r\n\x1a\n";
        png.resize(16 * 40 + 48, '\x01');
        const std::string name(64, 'a');
        std::ofstream(relay_dir / "blobs" / name, std::ios::binary) << png;
        auto audit = admin(dir.path(), {"audit"});
        CHECK(audit.code == 1);
        CHECK(audit.out.find("NOT OPAQUE: blob " + name + ": starts like a PNG image") !=
              std::string::npos);
    }
}

TEST_CASE("a disabled account cannot authenticate, its socket closes and sends to it are refused",
          "[relay-store]") {
    TempDir dir("veil-ops-disable");
    Relay relay(dir.path(), kAdminOptions);
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");
    REQUIRE(bob.run({"send", "alice", "hello before"}).code == 0);

    // Alice stays connected while the operator disables her.
    REQUIRE(alice.run({"receive"}).code == 0);
    auto listening = alice.start({"listen", "--json"});
    REQUIRE(listening->wait_for_output("veil: listening", 30s, true));
    REQUIRE(authenticated_devices_become(dir.path() / "relay", 1));
    auto disabled = admin(dir.path(), {"account", "disable", "alice"});
    INFO(disabled.err);
    REQUIRE(disabled.code == 0);
    CHECK(disabled.out.find("disabled alice") != std::string::npos);
    // Her open connection is closed by the relay at once (the listener's reconnects are refused,
    // as the receive below is).
    CHECK(authenticated_devices_become(dir.path() / "relay", 0));
    listening->signal(SIGTERM);
    listening->wait(10s);

    auto refused = bob.run({"send", "alice", "hello during"});
    CHECK(refused.code != 0);
    CHECK(refused.err.find("disabled") != std::string::npos);
    CHECK(alice.run({"receive"}).code != 0);
    CHECK(admin(dir.path(), {"accounts", "list"}).out.find(" yes\n") != std::string::npos);

    REQUIRE(admin(dir.path(), {"account", "enable", "alice"}).code == 0);
    REQUIRE(bob.run({"send", "alice", "hello after"}).code == 0);
    auto got = alice.run({"receive"});
    CHECK(got.code == 0);
    CHECK(got.out.find("hello after") != std::string::npos);
}

TEST_CASE("a backup taken while clients send restores into a fresh folder that delivers the "
          "queued messages") {
    TempDir dir("veil-ops-backup");
    const auto backup = dir.path() / "backup";
    std::string bob_url;
    {
        Relay relay(dir.path(), kAdminOptions);
        Client alice = make_client(dir.path(), relay.url(), "alice");
        Client bob = make_client(dir.path(), relay.url(), "bob");
        REQUIRE(bob.run({"send", "alice", "queued before the backup"}).code == 0);
        auto file = dir.path() / "notes.txt";
        std::ofstream(file) << std::string(3000, 'n');
        REQUIRE(bob.run({"send", "alice", "with a file", "--file", file.string()}).code == 0);

        // The relay's own certificate, which clients pinned, goes into the backup too.
        std::filesystem::create_directories(dir.path() / "relay" / "tls");
        std::ofstream(dir.path() / "relay" / "tls" / "relay.crt") << "the pinned certificate";
        std::ofstream(dir.path() / "relay" / "tls" / "relay.key") << "its key";

        // Bob keeps sending while the backup runs.
        auto sending = bob.start({"send", "alice", "sent during the backup"});
        auto taken = admin(dir.path(), {"backup", backup.string()});
        INFO(taken.err);
        REQUIRE(taken.code == 0);
        CHECK(taken.out.find("and 1 attachments") != std::string::npos);
        REQUIRE(sending->wait(60s) == std::optional<int>(0));
        CHECK(admin(dir.path(), {"backup", backup.string()}).code == 1); // never overwrites

        // Restoring onto the running relay's folder is refused.
        auto onto_running = admin(dir.path(), {"restore", backup.string()});
        CHECK(onto_running.code == 1);
        CHECK(onto_running.err.find("running") != std::string::npos);
    }

    const auto fresh = dir.path() / "fresh";
    std::filesystem::create_directories(fresh);
    auto restored = veil::test::run(
        {VEIL_RELAY_BIN, "admin", "restore", backup.string(), "--data", (fresh / "relay").string()},
        {}, dir.path(), "admin");
    INFO(restored.err);
    REQUIRE(restored.code == 0);
    auto again = veil::test::run(
        {VEIL_RELAY_BIN, "admin", "restore", backup.string(), "--data", (fresh / "relay").string()},
        {}, dir.path(), "admin");
    CHECK(again.code == 1); // the folder holds a database now
    {
        std::ifstream cert(fresh / "relay" / "tls" / "relay.crt");
        std::string text((std::istreambuf_iterator<char>(cert)), std::istreambuf_iterator<char>());
        CHECK(text == "the pinned certificate");
        auto key_perms =
            std::filesystem::status(fresh / "relay" / "tls" / "relay.key").permissions();
        CHECK((key_perms & (std::filesystem::perms::group_all |
                            std::filesystem::perms::others_all)) == std::filesystem::perms::none);
        // Planted text, not a certificate: the relay below serves plain ws:// and ignores it.
        std::filesystem::remove_all(fresh / "relay" / "tls");
    }

    Relay relay(fresh);
    Client alice{dir.path(), dir.path() / "alice", relay.url(), "correct horse alice"};
    auto got = alice.run({"receive", "--json"});
    INFO(got.err);
    REQUIRE(got.code == 0);
    CHECK(got.out.find("queued before the backup") != std::string::npos);
    CHECK(got.out.find("with a file") != std::string::npos);
    const std::string file_line = line_with(got.out, "with a file");
    auto saved_dir = dir.path() / "saved";
    std::filesystem::create_directories(saved_dir);
    std::smatch m;
    REQUIRE(std::regex_search(file_line, m, std::regex(R"re("id":"([0-9a-f]{32})")re")));
    auto saved = alice.run({"save", m[1].str(), saved_dir.string()});
    INFO(saved.err);
    CHECK(saved.code == 0);
}

TEST_CASE("a client sending ten times its rate is throttled, backs off and loses nothing, while "
          "another user's messages go straight through") {
    TempDir dir("veil-ops-throttle");
    std::vector<std::string> options = kAdminOptions;
    for (const char* o : {"--rate-account-per-second", "3", "--rate-account-burst", "3"})
        options.push_back(o);
    Relay relay(dir.path(), options);
    const auto relay_dir = dir.path() / "relay";
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");
    Client carol = make_client(dir.path(), relay.url(), "carol");
    REQUIRE(bob.run({"send", "alice", "hello before the flood"}).code == 0);
    REQUIRE(alice.run({"receive"}).code == 0);
    const double limited_before =
        scrape(relay_dir)["veil_relay_errors_total{code=\"rate_limited\"}"];

    // Thirty messages handed to bob's daemon at once: ten times what his account may send in a
    // second, in one burst of SendRequests.
    auto daemon = bob.start({"daemon"});
    REQUIRE(daemon->wait_for_output("veil: daemon ready", 30s, true));
    veil::test::e2e::RpcClient bot(bob.profile / "veil.sock");
    constexpr int kFlood = 30;
    for (int i = 0; i < kFlood; ++i) {
        auto answer =
            bot.call(i + 1, "send",
                     R"({"to":"alice","text":"flood message )" + std::to_string(i) + R"( of 30"})");
        REQUIRE(answer.find("\"result\"") != std::string::npos);
    }

    // Meanwhile carol, another account, is not held up.
    auto carol_sent = carol.run({"send", "alice", "carol gets through"});
    CHECK(carol_sent.code == 0);

    // Every flood message arrives exactly once, as the daemon retries after each retry-after.
    std::string received;
    std::set<int> seen;
    const auto deadline = std::chrono::steady_clock::now() + 90s;
    while (static_cast<int>(seen.size()) < kFlood && std::chrono::steady_clock::now() < deadline) {
        auto got = alice.run({"receive"});
        REQUIRE(got.code == 0);
        received += got.out;
        for (int i = 0; i < kFlood; ++i)
            if (got.out.find("flood message " + std::to_string(i) + " of 30") != std::string::npos)
                seen.insert(i);
    }
    CHECK(static_cast<int>(seen.size()) == kFlood);
    for (int i = 0; i < kFlood; ++i)
        CHECK(count(received, "flood message " + std::to_string(i) + " of 30") == 1);
    CHECK(count(received, "carol gets through") == 1);
    // The relay did throttle bob on the way.
    CHECK(scrape(relay_dir)["veil_relay_errors_total{code=\"rate_limited\"}"] > limited_before);
    daemon->signal(SIGTERM);
    daemon->wait(10s);
}
