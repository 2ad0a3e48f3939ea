#include "admin_commands.h"

#include "admin_listener.h"

#include "core/blob_store.h"
#include "core/postgres_admin.h"
#include "core/postgres_store.h"
#include "core/sqlite_admin.h"
#include "core/sqlite_store.h"
#include "core/store_audit.h"
#include "crypto/provider.h"
#include "protocol/envelope_codec.h"
#include "util/clock.h"
#include "util/hex.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/StreamCopier.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace veil::relay {
namespace {

namespace fs = std::filesystem;

constexpr int kOk = 0;
constexpr int kFailed = 1;
constexpr int kUsage = 2;
constexpr std::size_t kDefaultTop = 10;

struct CommandHelp {
    const char* name;
    const char* synopsis;
    const char* text;
};

constexpr CommandHelp kCommands[] = {
    {"invite", "invite create | invite list | invite revoke CODE",
     "create prints a new single-use invite code (for invite_only relays); list shows every\n"
     "code with when it was created and used; revoke deletes an unused code."},
    {"accounts", "accounts list",
     "Lists every account: name, active devices, created, last seen (the latest of its\n"
     "devices, written by the relay about once a minute) and whether it is disabled."},
    {"account", "account disable NAME | account enable NAME",
     "disable: NAME's devices can no longer authenticate, its open connections are closed at\n"
     "once and messages to it are refused with a clear error; nothing stored is deleted.\n"
     "enable undoes it. On a running relay this goes through its admin listener\n"
     "(admin_listen must be set); on a stopped one it changes the store directly."},
    {"devices", "devices NAME",
     "Lists NAME's devices, removed ones included: created, last seen, queued messages and\n"
     "one-time prekeys left."},
    {"stats", "stats [TOP_N]",
     "Counts accounts, devices, groups, group payloads, queued messages, blobs and the\n"
     "database's size, and lists the TOP_N fullest mailboxes (default 10)."},
    {"purge", "purge",
     "Runs the retention purge now: messages and attachments older than retention_days go,\n"
     "and their senders are told. Through the admin listener when the relay runs."},
    {"backup", "backup DEST",
     "Writes a consistent copy of the store to the new folder DEST while the relay runs:\n"
     "the database first (one snapshot, VACUUM INTO), then the attachments, so that every\n"
     "attachment a backed-up message refers to is in the copy. On PostgreSQL it copies\n"
     "nothing and prints the pg_dump and cp commands that make such a copy (exit 1)."},
    {"restore", "restore SRC",
     "Copies a backup folder SRC into --data DIR, which must hold no relay database; refused\n"
     "while a relay runs on DIR. Start the relay on DIR afterwards. On PostgreSQL it prints\n"
     "the pg_restore command instead (exit 1)."},
    {"audit", "audit",
     "Lists every stored record and blob per mailbox as an opaque envelope (size, age,\n"
     "expiry) and checks that each has the shape of ciphertext: a Signal, prekey or sender-key\n"
     "message's framing, no long run of printable text; blobs of the attachment cipher's\n"
     "size, with no file magic and high entropy. Exits 1 naming every record that fails,\n"
     "never showing its content."},
};

int usage_error(const std::string& message) {
    std::cerr << "veil-relay admin: " << message
              << "\n(veil-relay admin help lists the commands)\n";
    return kUsage;
}

int failed(const std::string& message) {
    std::cerr << "veil-relay admin: " << message << "\n";
    return kFailed;
}

int help(const std::vector<std::string>& args) {
    if (args.size() >= 2) {
        for (const auto& c : kCommands)
            if (args[1] == c.name) {
                std::cout << "veil-relay admin " << c.synopsis << " --data DIR\n\n"
                          << c.text << "\n";
                return kOk;
            }
        return usage_error("no command named '" + args[1] + "'");
    }
    std::cout << "usage: veil-relay admin COMMAND [ARGS] --data DIR [--config FILE]\n\n";
    for (const auto& c : kCommands)
        std::cout << "  " << c.synopsis << "\n";
    std::cout << "\nveil-relay admin help COMMAND explains one. Exit codes: 0 done, 1 failed,\n"
                 "2 usage error.\n";
    return kOk;
}

std::int64_t now_ms() {
    return SystemClock().now_ms();
}

std::string utc(std::int64_t ms) {
    if (ms <= 0)
        return "never";
    std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string duration(std::int64_t ms) {
    if (ms < 0)
        ms = 0;
    const std::int64_t s = ms / 1000;
    if (s < 60)
        return std::to_string(s) + "s";
    if (s < 3600)
        return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
    if (s < 86400)
        return std::to_string(s / 3600) + "h" + std::to_string(s % 3600 / 60) + "m";
    return std::to_string(s / 86400) + "d" + std::to_string(s % 86400 / 3600) + "h";
}

std::int64_t retention_ms(const RelayConfig& config) {
    return config.retention_ms > 0 ? config.retention_ms
                                   : std::int64_t{config.retention_days} * 86'400'000;
}

// The data folder's lock (the one veil-relay serve holds), if no relay holds it: kept until
// this goes, so that no relay starts meanwhile.
class DataLock {
public:
    explicit DataLock(const std::string& data_dir) {
        const std::string path = (fs::path(data_dir) / "relay.lock").string();
        m_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (m_fd >= 0 && ::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
            ::close(m_fd);
            m_fd = -1;
            m_busy = true;
        }
    }
    ~DataLock() {
        if (m_fd >= 0)
            ::close(m_fd);
    }
    DataLock(const DataLock&) = delete;
    DataLock& operator=(const DataLock&) = delete;
    // A relay runs on the folder.
    bool relay_running() const { return m_busy; }

private:
    int m_fd = -1;
    bool m_busy = false;
};

std::string read_line(const fs::path& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

// POSTs to the running relay's admin listener; its answer's sentence, or why not.
Result<std::string> call_relay(const std::string& data_dir, const std::string& path) {
    const std::string address = read_line(fs::path(data_dir) / kAdminAddressFile);
    const std::string token = read_line(fs::path(data_dir) / kAdminTokenFile);
    if (address.empty() || token.empty())
        return make_error(Errc::refused,
                          "a relay runs on " + data_dir +
                              " without its admin listener: set admin_listen (for example "
                              "127.0.0.1:9464) and restart it, or stop it and run this again");
    try {
        Poco::Net::SocketAddress at(address);
        Poco::Net::HTTPClientSession session(at);
        session.setTimeout(Poco::Timespan(30, 0));
        Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, path,
                                       Poco::Net::HTTPMessage::HTTP_1_1);
        request.set("Authorization", "Bearer " + token);
        request.setContentLength(0);
        session.sendRequest(request);
        Poco::Net::HTTPResponse response;
        std::istream& body = session.receiveResponse(response);
        std::string text;
        Poco::StreamCopier::copyToString(body, text);
        while (!text.empty() && text.back() == '\n')
            text.pop_back();
        if (response.getStatus() != Poco::Net::HTTPResponse::HTTP_OK)
            return make_error(response.getStatus() == Poco::Net::HTTPResponse::HTTP_NOT_FOUND
                                  ? Errc::not_found
                                  : Errc::refused,
                              "the relay answered: " + text);
        return text;
    } catch (const Poco::Exception& e) {
        return make_error(Errc::io, "cannot reach the relay's admin listener at " + address + ": " +
                                        e.displayText());
    }
}

Result<std::unique_ptr<RelayAdmin>> open_admin_store(const RelayConfig& config) {
    return open_relay_admin(config);
}

template <typename Store>
Result<std::unique_ptr<RelayStore>> to_relay_store(Result<std::unique_ptr<Store>> opened) {
    if (!opened)
        return opened.error();
    return std::unique_ptr<RelayStore>(std::move(opened.value()));
}

// The relay's own store, for the few commands that write as the relay does (invite create and
// purge with the relay stopped).
Result<std::unique_ptr<RelayStore>> open_relay_store(const RelayConfig& config) {
    auto location = parse_store(config.store, config.data_dir);
    if (!location)
        return location.error();
    if (location->kind == StoreLocation::Kind::postgresql)
        return to_relay_store(PostgresStore::open(location->where, config.durability));
    return to_relay_store(SqliteStore::open(location->where, config.durability));
}

// The PostgreSQL database config names, or nullopt when the relay stores in SQLite.
std::optional<std::string> postgres_database(const RelayConfig& config) {
    auto location = parse_store(config.store, config.data_dir);
    if (!location || location->kind != StoreLocation::Kind::postgresql)
        return std::nullopt;
    return location->where;
}

int cmd_invite(const RelayConfig& config, const std::vector<std::string>& args) {
    const std::string verb = args.size() >= 2 ? args[1] : "";
    if (verb == "create" && args.size() == 2) {
        auto store = open_relay_store(config);
        if (!store)
            return failed(store.error().message);
        std::string code = to_hex(crypto::random_bytes(16));
        if (auto st = (*store)->create_invite(code, now_ms()); !st)
            return failed(st.error().message);
        std::cout << code << std::endl;
        return kOk;
    }
    if (verb == "list" && args.size() == 2) {
        auto admin = open_admin_store(config);
        if (!admin)
            return failed(admin.error().message);
        auto invites = (*admin)->invites();
        if (!invites)
            return failed(invites.error().message);
        std::cout << std::left << std::setw(34) << "CODE" << std::setw(22) << "CREATED"
                  << "USED\n";
        for (const auto& i : *invites)
            std::cout << std::setw(34) << i.code << std::setw(22) << utc(i.created_ms)
                      << (i.used_ms ? utc(*i.used_ms) : "unused") << "\n";
        return kOk;
    }
    if (verb == "revoke" && args.size() == 3) {
        auto admin = open_admin_store(config);
        if (!admin)
            return failed(admin.error().message);
        if (auto st = (*admin)->revoke_invite(args[2]); !st)
            return failed(st.error().message);
        std::cout << "revoked invite " << args[2] << "\n";
        return kOk;
    }
    return usage_error("use: invite create | invite list | invite revoke CODE");
}

int cmd_accounts(const RelayConfig& config, const std::vector<std::string>& args) {
    if (args.size() > 2 || (args.size() == 2 && args[1] != "list"))
        return usage_error("use: accounts list");
    auto admin = open_admin_store(config);
    if (!admin)
        return failed(admin.error().message);
    auto accounts = (*admin)->accounts();
    if (!accounts)
        return failed(accounts.error().message);
    std::cout << std::left << std::setw(34) << "NAME" << std::setw(9) << "DEVICES" << std::setw(22)
              << "CREATED" << std::setw(22) << "LAST SEEN"
              << "DISABLED\n";
    for (const auto& a : *accounts)
        std::cout << std::setw(34) << a.username << std::setw(9) << a.devices << std::setw(22)
                  << utc(a.created_ms) << std::setw(22) << utc(a.last_seen_ms)
                  << (a.disabled ? "yes" : "no") << "\n";
    return kOk;
}

int cmd_account(const RelayConfig& config, const std::vector<std::string>& args) {
    if (args.size() != 3 || (args[1] != "disable" && args[1] != "enable"))
        return usage_error("use: account disable NAME | account enable NAME");
    const bool disable = args[1] == "disable";
    const std::string& name = args[2];
    if (!protocol::valid_username(name))
        return usage_error("'" + name + "' is not a username");
    DataLock lock(config.data_dir);
    if (lock.relay_running()) {
        auto done = call_relay(config.data_dir, "/v1/accounts/" + name + "/" + args[1]);
        if (!done)
            return failed(done.error().message);
        std::cout << *done << (disable ? " (its connections were closed)" : "") << "\n";
        return kOk;
    }
    auto admin = open_admin_store(config);
    if (!admin)
        return failed(admin.error().message);
    if (auto st = (*admin)->set_disabled(name, disable, now_ms()); !st)
        return failed(st.error().message);
    std::cout << (disable ? "disabled " : "enabled ") << name << " (the relay is not running)\n";
    return kOk;
}

int cmd_devices(const RelayConfig& config, const std::vector<std::string>& args) {
    if (args.size() != 2)
        return usage_error("use: devices NAME");
    auto admin = open_admin_store(config);
    if (!admin)
        return failed(admin.error().message);
    auto devices = (*admin)->devices(args[1]);
    if (!devices)
        return failed(devices.error().message);
    if (!*devices)
        return failed("no account named " + args[1]);
    std::cout << std::left << std::setw(8) << "DEVICE" << std::setw(22) << "CREATED"
              << std::setw(22) << "LAST SEEN" << std::setw(8) << "QUEUED" << std::setw(9)
              << "PREKEYS"
              << "STATE\n";
    for (const auto& d : **devices)
        std::cout << std::setw(8) << d.device_id << std::setw(22) << utc(d.created_ms)
                  << std::setw(22) << utc(d.last_seen_ms) << std::setw(8) << d.queued
                  << std::setw(9) << d.one_time_prekeys
                  << (d.removed_ms ? "removed " + utc(*d.removed_ms) : std::string("active"))
                  << "\n";
    return kOk;
}

struct BlobTotals {
    std::size_t count = 0;
    std::uint64_t bytes = 0;
};

// The stored blobs (not the uploads under way in blobs/tmp).
std::vector<fs::path> blob_files(const std::string& data_dir) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (fs::directory_iterator it(fs::path(data_dir) / "blobs", ec), end; !ec && it != end;
         it.increment(ec))
        if (it->is_regular_file(ec))
            out.push_back(it->path());
    std::sort(out.begin(), out.end());
    return out;
}

BlobTotals blob_totals(const std::string& data_dir) {
    BlobTotals t;
    std::error_code ec;
    for (const auto& f : blob_files(data_dir)) {
        ++t.count;
        t.bytes += fs::file_size(f, ec);
    }
    return t;
}

int cmd_stats(const RelayConfig& config, const std::vector<std::string>& args) {
    std::size_t top = kDefaultTop;
    if (args.size() > 2)
        return usage_error("use: stats [TOP_N]");
    if (args.size() == 2) {
        char* end = nullptr;
        const unsigned long n = std::strtoul(args[1].c_str(), &end, 10);
        if (args[1].empty() || *end != '\0' || n == 0 || n > 1000)
            return usage_error("TOP_N is a whole number from 1 to 1000");
        top = n;
    }
    auto admin = open_admin_store(config);
    if (!admin)
        return failed(admin.error().message);
    auto s = (*admin)->stats(top);
    if (!s)
        return failed(s.error().message);
    const BlobTotals blobs = blob_totals(config.data_dir);
    std::error_code ec;
    const auto wal = fs::file_size(fs::path(config.data_dir) / "relay.db-wal", ec);
    std::cout << std::left << std::setw(18) << "accounts" << s->accounts << " ("
              << s->disabled_accounts << " disabled)\n"
              << std::setw(18) << "devices" << s->devices << "\n"
              << std::setw(18) << "groups" << s->groups << "\n"
              << std::setw(18) << "group payloads" << s->group_payloads << "\n"
              << std::setw(18) << "queued messages" << s->queued << "\n"
              << std::setw(18) << "blobs" << blobs.count << " (" << blobs.bytes << " bytes)\n"
              << std::setw(18) << "database" << s->database_bytes << " bytes"
              << (postgres_database(config) ? std::string(" (PostgreSQL)")
                                            : " (WAL " + std::to_string(ec ? 0 : wal) + " bytes)")
              << "\n"
              << "fullest mailboxes:\n";
    for (const auto& m : s->top)
        std::cout << "  " << std::setw(40) << (m.username + "/" + std::to_string(m.device_id))
                  << m.queued << "\n";
    return kOk;
}

int cmd_purge(const RelayConfig& config, const std::vector<std::string>& args) {
    if (args.size() != 1)
        return usage_error("use: purge");
    DataLock lock(config.data_dir);
    if (lock.relay_running()) {
        auto done = call_relay(config.data_dir, "/v1/purge");
        if (!done)
            return failed(done.error().message);
        std::cout << *done << "\n";
        return kOk;
    }
    auto store = open_relay_store(config);
    if (!store)
        return failed(store.error().message);
    const std::int64_t now = now_ms();
    auto purged = (*store)->purge_before(now - retention_ms(config), now);
    if (!purged)
        return failed(purged.error().message);
    SystemClock clock;
    auto blobs = BlobStore::open(config.data_dir, clock, BlobStore::Options{});
    if (!blobs)
        return failed(blobs.error().message);
    auto files = (*blobs)->purge_before(now - retention_ms(config));
    if (!files)
        return failed(files.error().message);
    std::cout << "purged " << purged->deleted << " expired messages and " << *files
              << " expired attachments (the relay is not running)\n";
    return kOk;
}

// Copies the stored blobs of from_dir into to_dir/blobs; a blob the purge deleted meanwhile
// is skipped. Returns the totals copied.
Result<BlobTotals> copy_blobs(const std::string& from_dir, const fs::path& to_dir) {
    BlobTotals t;
    std::error_code ec;
    fs::create_directories(to_dir / "blobs", ec);
    if (ec)
        return make_error(Errc::io, "cannot create " + (to_dir / "blobs").string());
    for (const auto& f : blob_files(from_dir)) {
        fs::copy_file(f, to_dir / "blobs" / f.filename(), fs::copy_options::none, ec);
        if (ec) {
            if (!fs::exists(f))
                continue;
            return make_error(Errc::io, "cannot copy " + f.string() + ": " + ec.message());
        }
        // The blob's mtime is its creation time for the retention purge: keep it.
        fs::last_write_time(to_dir / "blobs" / f.filename(), fs::last_write_time(f, ec), ec);
        ++t.count;
        t.bytes += fs::file_size(f, ec);
    }
    return t;
}

// Copies the relay's self-signed certificate and key (DATA/tls, which clients pinned) from
// from_dir into to_dir/tls, private to the relay's user; nothing when there is none.
Status copy_tls(const fs::path& from_dir, const fs::path& to_dir) {
    std::error_code ec;
    if (!fs::is_directory(from_dir / "tls", ec))
        return {};
    fs::create_directories(to_dir / "tls", ec);
    if (ec)
        return make_error(Errc::io, "cannot create " + (to_dir / "tls").string());
    ::chmod((to_dir / "tls").c_str(), 0700);
    for (const char* name : {"relay.crt", "relay.key"}) {
        if (!fs::exists(from_dir / "tls" / name, ec))
            continue;
        fs::copy_file(from_dir / "tls" / name, to_dir / "tls" / name,
                      fs::copy_options::overwrite_existing, ec);
        if (ec)
            return make_error(Errc::io,
                              std::string("cannot copy the TLS ") + name + ": " + ec.message());
        ::chmod((to_dir / "tls" / name).c_str(), 0600);
    }
    return {};
}

// backup on PostgreSQL: a consistent copy of a PostgreSQL database is pg_dump's job, which this
// command does not pretend to do. It prints the commands that make the same backup folder (the
// database as one snapshot first, then the attachments and certificate) and exits 1, so that no
// script takes the folder for made.
int postgres_backup_commands(const RelayConfig& config, const std::string& database,
                             const fs::path& dest) {
    const fs::path data(config.data_dir);
    std::cout << "mkdir -m 700 " << shell_quoted(dest.string()) << "\n"
              << PostgresAdmin::pg_dump_command(database, (dest / "relay.pgdump").string()) << "\n";
    for (const char* folder : {"blobs", "tls"})
        if (std::error_code ec; fs::is_directory(data / folder, ec))
            std::cout << "cp -a " << shell_quoted((data / folder).string()) << " "
                      << shell_quoted(dest.string()) << "/\n";
    return failed("the relay stores in PostgreSQL: back it up with pg_dump, as the commands above "
                  "do (nothing was copied)");
}

int cmd_backup(const RelayConfig& config, const std::vector<std::string>& args) {
    if (args.size() != 2)
        return usage_error("use: backup DEST (a folder that does not exist yet)");
    const fs::path dest(args[1]);
    std::error_code ec;
    if (fs::exists(dest, ec))
        return failed(dest.string() + " exists already; back up into a new folder");
    if (auto database = postgres_database(config))
        return postgres_backup_commands(config, *database, dest);
    auto admin = open_admin_store(config);
    if (!admin)
        return failed(admin.error().message);
    fs::create_directories(dest, ec);
    if (ec)
        return failed("cannot create " + dest.string() + ": " + ec.message());
    ::chmod(dest.c_str(), 0700);
    if (auto st = (*admin)->backup_to((dest / "relay.db").string()); !st)
        return failed(st.error().message);
    auto blobs = copy_blobs(config.data_dir, dest);
    if (!blobs)
        return failed(blobs.error().message);
    if (auto st = copy_tls(config.data_dir, dest); !st)
        return failed(st.error().message);
    std::cout << "backed up the database (" << fs::file_size(dest / "relay.db", ec)
              << " bytes) and " << blobs->count << " attachments (" << blobs->bytes << " bytes) to "
              << dest.string() << "\n";
    return kOk;
}

int cmd_restore(const RelayConfig& config, const std::vector<std::string>& args) {
    if (args.size() != 2)
        return usage_error("use: restore SRC (a folder veil-relay admin backup wrote)");
    const fs::path src(args[1]);
    if (auto database = postgres_database(config)) {
        std::cout << "pg_restore --exit-on-error --no-owner --dbname=" << shell_quoted(*database)
                  << " " << shell_quoted((src / "relay.pgdump").string()) << "\n";
        return failed("the relay stores in PostgreSQL: restore the pg_dump file into an empty "
                      "database with pg_restore, as the command above does, and copy the blobs "
                      "and tls folders into --data (nothing was restored)");
    }
    std::error_code ec;
    if (!fs::is_regular_file(src / "relay.db", ec))
        return failed(src.string() + " is not a backup (it holds no relay.db)");
    fs::create_directories(config.data_dir, ec);
    DataLock lock(config.data_dir);
    if (lock.relay_running())
        return failed("a relay is running on " + config.data_dir + "; stop it before restoring");
    const fs::path data(config.data_dir);
    if (fs::exists(data / "relay.db", ec))
        return failed(config.data_dir +
                      " holds a relay database already; restore into an empty folder (move the "
                      "old one aside first)");
    {
        auto check = SqliteAdmin::open(src.string());
        if (!check)
            return failed(check.error().message);
        if (auto st = (*check)->ping(); !st)
            return failed(src.string() + "/relay.db cannot be read: " + st.error().message);
    }
    fs::copy_file(src / "relay.db", data / "relay.db", ec);
    if (ec)
        return failed("cannot copy the database: " + ec.message());
    auto blobs = copy_blobs(src.string(), data);
    if (!blobs)
        return failed(blobs.error().message);
    if (auto st = copy_tls(src, data); !st)
        return failed(st.error().message);
    std::cout << "restored the database and " << blobs->count << " attachments into "
              << config.data_dir << "; start the relay on it\n";
    return kOk;
}

const char* type_name(std::uint32_t type) {
    switch (type) {
    case 1: return "signal";
    case 2: return "prekey";
    case 3: return "sender-key";
    case 4: return "none";
    default: return "unknown";
    }
}

std::int64_t mtime_ms(const fs::path& file) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0)
        return 0;
    return std::int64_t{st.st_mtim.tv_sec} * 1000 + st.st_mtim.tv_nsec / 1'000'000;
}

int cmd_audit(const RelayConfig& config, const std::vector<std::string>& args) {
    if (args.size() != 1)
        return usage_error("use: audit");
    auto admin = open_admin_store(config);
    if (!admin)
        return failed(admin.error().message);
    const std::int64_t now = now_ms();
    const std::int64_t keep = retention_ms(config);
    auto opaque = [&](std::size_t size, std::int64_t stored_ms) {
        return std::to_string(size) + " bytes, age " + duration(now - stored_ms) + ", expires in " +
               duration(stored_ms + keep - now);
    };

    std::map<std::string, std::vector<std::string>> mailboxes;
    std::vector<std::string> problems;
    std::size_t records = 0;
    auto scanned = (*admin)->for_each_record([&](const AuditRecord& r) {
        ++records;
        const bool payload = r.kind == AuditRecord::Kind::group_payload;
        const std::string what =
            (payload ? "group payload " : "mailbox row ") + std::to_string(r.id);
        if (r.references_payload && r.ciphertext.empty()) {
            mailboxes[r.mailbox].push_back(what + ": a group payload's copy, " +
                                           opaque(0, r.stored_ms));
            return true;
        }
        mailboxes[r.mailbox].push_back(what + ": " + type_name(r.type) + ", " +
                                       opaque(r.ciphertext.size(), r.stored_ms));
        if (auto problem = ciphertext_problem(r.type, r.ciphertext))
            problems.push_back(what + " (" + r.mailbox + "): " + *problem);
        return true;
    });
    if (!scanned)
        return failed(scanned.error().message);

    const auto blobs = blob_files(config.data_dir);
    for (const auto& f : blobs) {
        std::error_code ec;
        const std::string what = "blob " + f.filename().string();
        mailboxes["attachments"].push_back(what + ": " + opaque(fs::file_size(f, ec), mtime_ms(f)));
        if (auto problem = blob_problem(f))
            problems.push_back(what + ": " + *problem);
    }

    for (const auto& [mailbox, lines] : mailboxes) {
        std::cout << mailbox << " (" << lines.size() << ")\n";
        for (const auto& line : lines)
            std::cout << "  " << line << "\n";
    }
    for (const auto& p : problems)
        std::cout << "NOT OPAQUE: " << p << "\n";
    std::cout << "audit: " << records << " records and " << blobs.size() << " blobs checked; "
              << (problems.empty() ? "every one is opaque ciphertext"
                                   : std::to_string(problems.size()) + " look like plaintext")
              << "\n";
    return problems.empty() ? kOk : kFailed;
}

} // namespace

int run_admin(const RelayConfig& config) {
    const auto& args = config.admin_args;
    if (args.empty() || args[0] == "help")
        return args.empty() ? usage_error("name a command") : help(args);
    if (config.data_dir.empty())
        return usage_error("--data DIR is required (the relay's data folder)");
    const std::string& command = args[0];
    if (command == "invite")
        return cmd_invite(config, args);
    if (command == "accounts")
        return cmd_accounts(config, args);
    if (command == "account")
        return cmd_account(config, args);
    if (command == "devices")
        return cmd_devices(config, args);
    if (command == "stats")
        return cmd_stats(config, args);
    if (command == "purge")
        return cmd_purge(config, args);
    if (command == "backup")
        return cmd_backup(config, args);
    if (command == "restore")
        return cmd_restore(config, args);
    if (command == "audit")
        return cmd_audit(config, args);
    return usage_error("no command named '" + command + "'");
}

} // namespace veil::relay
