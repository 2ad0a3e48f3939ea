// veil-relay: a small accept thread hands every connection to epoll reactors, one per core
// (server/transport), which answer its HTTP request (/healthz and the WebSocket upgrade, parsed
// by Poco) and then carry its WebSocket frames; with tls_cert and tls_key they do the TLS
// handshake first (wss://). No thread is held per connection at any stage. See relay_config.h
// for the command line. Prints "veil-relay listening on HOST:PORT" to stdout once it accepts
// connections.
#include "admin_commands.h"
#include "admin_listener.h"
#include "redis_wakeups.h"
#include "relay_config.h"
#include "relay_log.h"

#include "core/blob_store.h"
#include "core/postgres_store.h"
#include "core/relay_service.h"
#include "core/sqlite_store.h"
#include "core/store_migration.h"
#include "crypto/provider.h"
#include "transport/acceptor.h"
#include "transport/reactor_pool.h"
#include "transport/self_signed.h"
#include "transport/tls_context.h"
#include "util/clock.h"
#include "util/core_dumps.h"
#include "util/hex.h"
#include "util/log.h"

#include <Poco/Exception.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <google/protobuf/stubs/logging.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <iostream>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

using namespace veil;
using namespace veil::relay;

constexpr std::string_view kLog = "relay";
constexpr std::int64_t kPurgeIntervalMs = 10 * 60 * 1000;
// How often the devices' last connection times are written (DeviceList shows them at once).
constexpr std::int64_t kSeenFlushIntervalMs = 60 * 1000;
// The kernel's queue of connections not yet accepted (capped by net.core.somaxconn): a reconnect
// storm of thousands of clients lands here while the acceptor hands them to the reactors.
constexpr int kListenBacklog = 4096;

// The store the configuration names (RelayConfig::store).
Result<std::unique_ptr<RelayStore>> open_store(const RelayConfig& config) {
    auto location = parse_store(config.store, config.data_dir);
    if (!location)
        return location.error();
    if (location->kind == StoreLocation::Kind::postgresql) {
        auto store = PostgresStore::open(location->where, config.durability);
        if (!store)
            return store.error();
        log::info(kLog, "storing in PostgreSQL");
        return std::unique_ptr<RelayStore>(std::move(store.value()));
    }
    auto store = SqliteStore::open(location->where, config.durability);
    if (!store)
        return store.error();
    return std::unique_ptr<RelayStore>(std::move(store.value()));
}

int create_invite(const RelayConfig& config) {
    auto store = open_store(config);
    if (!store) {
        std::cerr << "veil-relay: " << store.error().message << "\n";
        return 1;
    }
    std::string code = to_hex(crypto::random_bytes(16));
    if (auto st = (*store)->create_invite(code, SystemClock().now_ms()); !st) {
        std::cerr << "veil-relay: " << st.error().message << "\n";
        return 1;
    }
    std::cout << code << std::endl;
    return 0;
}

// libprotobuf reports parse failures of hostile input (invalid UTF-8 in a string field) on
// stderr by itself; route them to the relay's log at debug, where they cannot flood it.
void protobuf_log(google::protobuf::LogLevel, const char*, int, const std::string& message) {
    log::debug(kLog, "protobuf: " + message);
}

// The retention purge: what it deleted, as a sentence, or the first failure.
Result<std::string> purge_now(RelayService& service, BlobStore& blobs, std::int64_t retention_ms) {
    auto envelopes = service.purge_expired();
    if (!envelopes)
        return envelopes.error();
    auto files = blobs.purge_before(SystemClock().now_ms() - retention_ms);
    if (!files)
        return files.error();
    return "purged " + std::to_string(*envelopes) + " expired messages and " +
           std::to_string(*files) + " expired attachments";
}

void purge(RelayService& service, BlobStore& blobs, std::int64_t retention_ms) {
    if (auto purged = purge_now(service, blobs, retention_ms); !purged)
        log::warn(kLog, "purging expired envelopes and blobs failed: " + purged.error().message);
}

void flush_seen(RelayService& service) {
    if (auto flushed = service.flush_last_seen(); !flushed)
        log::warn(kLog, "writing when devices were last seen failed: " + flushed.error().message);
}

// Waits for SIGINT or SIGTERM (blocked in every thread, see main), purging expired envelopes
// and blobs every kPurgeIntervalMs and writing last-seen times every kSeenFlushIntervalMs
// meanwhile.
void wait_for_termination(RelayService& service, BlobStore& blobs, std::int64_t retention_ms,
                          std::int64_t purge_interval_ms, const sigset_t& signals) {
    SystemClock clock;
    std::int64_t next_purge = clock.now_ms() + purge_interval_ms;
    std::int64_t next_flush = clock.now_ms() + kSeenFlushIntervalMs;
    for (;;) {
        // Waits at most the purge interval (tests set it below a second).
        timespec timeout{purge_interval_ms >= 1000 ? 1 : 0,
                         purge_interval_ms >= 1000 ? 0 : purge_interval_ms * 1'000'000};
        int sig = sigtimedwait(&signals, nullptr, &timeout);
        if (sig == SIGINT || sig == SIGTERM) {
            log::info(kLog,
                      sig == SIGINT ? "event=signal name=SIGINT" : "event=signal name=SIGTERM");
            return;
        }
        if (clock.now_ms() >= next_purge) {
            purge(service, blobs, retention_ms);
            next_purge = clock.now_ms() + purge_interval_ms;
        }
        if (clock.now_ms() >= next_flush) {
            flush_seen(service);
            next_flush = clock.now_ms() + kSeenFlushIntervalMs;
        }
    }
}

// Each connection is a file descriptor: allow as many as the hard limit does.
void raise_fd_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return;
    if (limit.rlim_cur < limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0)
            limit = raised;
    }
    log::info(kLog, "event=fd_limit limit=" + std::to_string(limit.rlim_cur));
}

transport::TransportOptions transport_options(const RelayConfig& config) {
    transport::TransportOptions options;
    options.reactors = static_cast<std::size_t>(config.reactors);
    options.frame_timeout = std::chrono::milliseconds(config.frame_timeout_ms);
    options.min_transfer_bytes_per_second = static_cast<std::size_t>(config.min_transfer_rate);
    options.idle_timeout = std::chrono::milliseconds(config.idle_timeout_ms);
    options.max_outgoing_bytes = static_cast<std::size_t>(config.max_outgoing_bytes);
    options.upgrade_timeout = std::chrono::milliseconds(config.upgrade_timeout_ms);
    return options;
}

// One relay per data folder: two would hand out the same one-time prekeys and race on the
// mailboxes. The lock (flock) goes away with the process, even after kill -9.
bool lock_data_dir(const std::string& data_dir) {
    std::error_code ec;
    std::filesystem::create_directories(data_dir, ec);
    std::string path = (std::filesystem::path(data_dir) / "relay.lock").string();
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        std::cerr << "veil-relay: " << data_dir
                  << (fd < 0 ? " cannot be used: " + std::string(std::strerror(errno))
                             : " is in use by another veil-relay")
                  << "\n";
        return false;
    }
    return true; // the descriptor stays open, holding the lock, until the process ends
}

// The relay must be stopped: a running one holds the account's connections and caches.
int delete_account(const RelayConfig& config) {
    auto location = parse_store(config.store, config.data_dir);
    if (!location) {
        std::cerr << "veil-relay: " << location.error().message << "\n";
        return 2;
    }
    const bool postgres = location->kind == StoreLocation::Kind::postgresql;
    if (!postgres &&
        !std::filesystem::exists(std::filesystem::path(location->where) / "relay.db")) {
        std::cerr << "veil-relay: " << config.data_dir << " holds no relay data\n";
        return 1;
    }
    if (!lock_data_dir(config.data_dir)) {
        std::cerr << "veil-relay: stop the relay first, then delete the account\n";
        return 1;
    }
    Result<SqliteStore::DeletedAccount> deleted = make_error(Errc::internal, "");
    if (postgres) {
        auto store = PostgresStore::open(location->where, config.durability);
        if (!store) {
            std::cerr << "veil-relay: " << store.error().message << "\n";
            return 1;
        }
        deleted = (*store)->delete_account(config.account);
    } else {
        auto store = SqliteStore::open(location->where, config.durability);
        if (!store) {
            std::cerr << "veil-relay: " << store.error().message << "\n";
            return 1;
        }
        deleted = (*store)->delete_account(config.account);
    }
    if (!deleted) {
        std::cerr << "veil-relay: " << deleted.error().message << "\n";
        return 1;
    }
    std::cout << "deleted account " << config.account << " (" << deleted->devices
              << (deleted->devices == 1 ? " device, " : " devices, ") << deleted->queued
              << (deleted->queued == 1 ? " waiting message" : " waiting messages")
              << " dropped); the name can be registered again" << std::endl;
    return 0;
}

// The certificate in use: tls_cert, or the data folder's self-signed one (tls = auto).
std::string certificate_path(const RelayConfig& config) {
    return config.tls_cert.empty() ? transport::self_signed_files(config.data_dir).cert
                                   : config.tls_cert;
}

int print_fingerprint(const RelayConfig& config) {
    auto fingerprint = transport::certificate_fingerprint(certificate_path(config));
    if (!fingerprint) {
        std::cerr << "veil-relay: " << fingerprint.error().message
                  << (config.tls_cert.empty() ? " (the relay makes it on its first start with "
                                                "tls = auto)\n"
                                              : "\n");
        return 1;
    }
    std::cout << *fingerprint << std::endl;
    return 0;
}

// The configured certificate and key, or (tls = auto without them) the data folder's
// self-signed pair, made on the first start. Throws with a sentence when they cannot be used.
std::shared_ptr<transport::TlsContext> load_tls(const RelayConfig& config) {
    std::string cert = config.tls_cert;
    std::string key = config.tls_key;
    if (cert.empty()) {
        auto files = transport::ensure_self_signed(config.data_dir);
        if (!files)
            throw std::runtime_error(files.error().message);
        if (files->created)
            log::info(kLog, "made a self-signed TLS certificate " + files->cert);
        cert = files->cert;
        key = files->key;
    }
    auto context = transport::TlsContext::load(cert, key);
    auto fingerprint = transport::certificate_fingerprint(cert);
    if (!fingerprint)
        throw std::runtime_error(fingerprint.error().message);
    std::cout << "veil-relay TLS certificate " << *fingerprint << std::endl;
    return context;
}

// The relay must be stopped (the source folder's lock says so): a running one would go on
// writing to the source after the copy.
int migrate(const RelayConfig& config) {
    const auto from = parse_store(config.migrate_from, {});
    const auto to = parse_store(config.migrate_to, {});
    if (!from || !to)
        return 2; // parse_config checked both
    if (!std::filesystem::exists(std::filesystem::path(from->where) / "relay.db")) {
        std::cerr << "veil-relay: " << from->where << " holds no relay data\n";
        return 1;
    }
    if (!lock_data_dir(from->where)) {
        std::cerr << "veil-relay: stop the relay first, then migrate\n";
        return 1;
    }
    MigrationOptions options;
    options.replace_target = config.replace_target;
    auto report = migrate_sqlite_to_postgres(from->where, to->where, options);
    if (!report) {
        std::cerr << "veil-relay: " << report.error().message << "\n";
        if (report.error().code == Errc::already_exists)
            std::cerr << "veil-relay: migrate into an empty database, or pass --replace-target "
                         "to empty this one first\n";
        return 1;
    }
    for (const auto& [table, rows] : report->rows)
        std::cout << table << ": " << rows << (rows == 1 ? " row\n" : " rows\n");
    std::cout << "migrated " << from->where
              << " to PostgreSQL; start the relay with the same --data and --store set to the "
                 "target"
              << std::endl;
    return 0;
}

// With redis set: wake-ups to and from the other relays on the same database.
std::unique_ptr<RedisWakeups> start_wakeups(const RelayConfig& config, RelayService& service,
                                            transport::ReactorPool& reactors) {
    if (config.redis.empty())
        return nullptr;
    auto where = RedisWakeups::parse_url(config.redis); // parse_config checked it
    RedisWakeups::Options options;
    options.host = where->first;
    options.port = where->second;
    options.poll_down = std::chrono::milliseconds(config.redis_poll_ms);
    options.poll_up = std::chrono::milliseconds(config.redis_idle_poll_ms);
    options.backoff_max = std::chrono::milliseconds(config.redis_backoff_max_ms);
    RedisWakeups::Local local{[&reactors](const std::string& username, std::uint32_t device_id) {
                                  return reactors.online(username, device_id);
                              },
                              [&reactors] { return reactors.online_devices(); }};
    auto wakeups = std::make_unique<RedisWakeups>(service, std::move(local), options);
    service.set_delivery_listener(wakeups.get());
    log::info(kLog, "event=redis_configured address=" + options.host + ":" +
                        std::to_string(options.port));
    return wakeups;
}

int serve(const RelayConfig& config, const sigset_t& signals) {
    // Before anything else, so that a bad certificate or key stops the relay at once.
    std::shared_ptr<transport::TlsContext> tls;
    if (config.tls()) {
        try {
            tls = load_tls(config);
        } catch (const std::exception& e) {
            std::cerr << "veil-relay: " << e.what() << "\n";
            return 1;
        }
    }
    if (!lock_data_dir(config.data_dir))
        return 1;
    auto store = open_store(config);
    if (!store) {
        std::cerr << "veil-relay: " << store.error().message << "\n";
        return 1;
    }
    raise_fd_limit();
    SystemClock clock;
    RelayService::Options options;
    options.invite_only = config.invite_only;
    options.retention_ms = config.retention_ms > 0
                               ? config.retention_ms
                               : std::int64_t{config.retention_days} * 24 * 60 * 60 * 1000;
    options.group_commit = config.group_commit != 0;
    options.link_timeout_ms =
        config.link_timeout_ms > 0 ? config.link_timeout_ms : config.link_timeout_seconds * 1000;
    apply_limits(config, options);
    options.track_deliveries = !config.redis.empty();
    BlobStore::Options blob_options;
    blob_options.max_bytes = static_cast<std::uint64_t>(config.max_attachment_mib) * 1024 * 1024;
    auto blobs = BlobStore::open(config.data_dir, clock, blob_options);
    if (!blobs) {
        std::cerr << "veil-relay: " << blobs.error().message << "\n";
        return 1;
    }
    RelayService service(**store, clock, options);
    service.set_blobs(blobs->get());
    transport::ReactorPool reactors(service, transport_options(config));
    service.set_router(&reactors);
    auto wakeups = start_wakeups(config, service, reactors);
    purge(service, **blobs, options.retention_ms);

    // Before the first client: disabled accounts are loaded here.
    auto admin = open_admin(
        config, service, [&] { return purge_now(service, **blobs, options.retention_ms); },
        [&] { return std::uint64_t{reactors.size()}; });
    if (!admin) {
        std::cerr << "veil-relay: " << admin.error().message << "\n";
        return 1;
    }

    Poco::Net::ServerSocket socket;
    // SO_REUSEADDR for restarts over TIME_WAIT, but never SO_REUSEPORT: a second relay on the
    // same port must fail, not split the clients between two stores.
    socket.bind(Poco::Net::SocketAddress(config.listen), true, false);
    socket.listen(kListenBacklog);
    transport::Acceptor acceptor(socket.impl()->sockfd(), tls, reactors);
    acceptor.limit_connections(static_cast<double>(config.rate_connect_per_second),
                               static_cast<double>(config.rate_connect_burst),
                               config.rate_limit_loopback);
    acceptor.start();

    const std::string bound = socket.address().toString();
    log::info(kLog, "event=listening address=" + bound + " tls=" + (tls ? "yes" : "no") +
                        " invite_only=" + (config.invite_only ? "yes" : "no") +
                        " reactors=" + std::to_string(reactors.reactor_count()));
    std::cout << "veil-relay listening on " << bound << std::endl;

    wait_for_termination(service, **blobs, options.retention_ms,
                         config.purge_interval_ms > 0 ? config.purge_interval_ms : kPurgeIntervalMs,
                         signals);

    log::info(kLog, "event=shutting_down");
    if (*admin)
        (*admin)->stop();
    acceptor.stop(); // no new connections
    // Writes still queued are committed first, while the reactors still run, so their answers
    // and pushes reach the clients; writes arriving meanwhile are refused as retryable.
    service.stop_writes();
    if (wakeups) {
        service.set_delivery_listener(nullptr);
        wakeups->stop(); // publishes what the last commits stored, then leaves the reactors
    }
    reactors.stop(); // close 1001 to every client, behind the answers already queued
    service.set_router(nullptr);
    flush_seen(service); // the closed connections' times among them
    log::info(kLog, "event=stopped");
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    // The relay holds no message keys, but it holds its TLS private key and who talks to whom.
    veil::disable_core_dumps();
    // The store holds who talks to whom: the data folder and its files are the relay's alone.
    ::umask(077);
    // Block the termination signals before any thread starts, so that every thread inherits the
    // mask and only wait_for_termination receives them, synchronously.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    // A file size limit (RLIMIT_FSIZE) makes a blob write fail with EFBIG, answered as a full
    // disk, instead of killing the relay.
    std::signal(SIGXFSZ, SIG_IGN);

    auto config = parse_config(std::vector<std::string>(argv + 1, argv + argc));
    if (!config) {
        std::cerr << "veil-relay: " << config.error().message << "\n" << usage();
        return 2;
    }
    if (config->command == RelayConfig::Command::help) {
        std::cout << usage();
        return 0;
    }
    log::set_level(config->log_level);
    if (config->command == RelayConfig::Command::serve)
        log::set_sink(relay_log_sink());
    google::protobuf::SetLogHandler(protobuf_log);
    try {
        if (config->command == RelayConfig::Command::invite_create)
            return create_invite(*config);
        if (config->command == RelayConfig::Command::account_delete)
            return delete_account(*config);
        if (config->command == RelayConfig::Command::tls_fingerprint)
            return print_fingerprint(*config);
        if (config->command == RelayConfig::Command::admin)
            return run_admin(*config);
        if (config->command == RelayConfig::Command::migrate)
            return migrate(*config);
        return serve(*config, signals);
    } catch (const Poco::Exception& e) {
        std::cerr << "veil-relay: " << e.displayText() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "veil-relay: " << e.what() << "\n";
        return 1;
    }
}
