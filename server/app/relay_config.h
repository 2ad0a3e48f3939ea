// The relay's settings, from defaults, then an optional properties file (--config), then the
// command line, each overriding the one before.
//
//   veil-relay --listen HOST:PORT --data DIR [--config FILE] [--store STORE] [--invite-only]
//              [--retention-days N] [--durability full|normal]
//              [--log-level debug|info|warn|error] [--tls-cert FILE --tls-key FILE]
//              [--link-timeout-seconds N] [--max-attachment-mib N]
//              [--tls off|auto] [--admin-listen HOST:PORT|none] [--redis redis://HOST:PORT]
//   veil-relay invite create --data DIR [--config FILE] [--store STORE]
//   veil-relay account delete NAME --data DIR [--config FILE] [--store STORE]
//   veil-relay tls fingerprint --data DIR [--config FILE]
//   veil-relay migrate --from sqlite:DIR --to postgresql://... [--replace-target]
//   veil-relay admin COMMAND [ARGS] --data DIR [--config FILE]   (admin_commands.h)
//
// The properties file (Poco::Util's format, "key = value" lines) takes the same keys: listen,
// data, store, invite_only, retention_days, durability, log_level, tls, tls_cert, tls_key,
// link_timeout_seconds, max_attachment_mib, admin_listen, redis, redis_poll_ms,
// redis_idle_poll_ms, redis_backoff_max_ms and the limits below.
//
// Rate limits and quotas (each 0 turns it off; --no-limits turns all off, for benchmarks). Over
// one, the request is answered RATE_LIMITED with a retry-after, and clients retry then, losing
// nothing:
//   rate_account_per_second (default 100) and rate_account_burst (1000): requests one account
//     may make, across its devices and connections; acks are never limited.
//   rate_auth_per_second (10) and rate_auth_burst (50): registrations and authentications one
//     IP address may attempt; a failed one counts 5. rate_connect_per_second (20) and
//     rate_connect_burst (100): connections one IP address may open; more are closed at once.
//     Loopback addresses are exempt (behind a TLS reverse proxy on the same host every client comes
//     from loopback) unless rate_limit_loopback = true.
//   quota_queued_per_device (100000): envelopes waiting for one device; quota_queued_per_sender
//     (10000): envelopes from one sender waiting for one device. A full queue answers with a
//     retry-after of 30 s.
// On the command line: --rate-account-per-second N, --rate-account-burst N,
// --rate-auth-per-second N, --rate-auth-burst N, --rate-connect-per-second N,
// --rate-connect-burst N, --rate-limit-loopback,
// --quota-queued-per-device N, --quota-queued-per-sender N, --no-limits.
//
// log_level: debug, info (default), warn or error. The log goes to stdout, one line per event in
// the format relay_log.h documents: "TIMESTAMP LEVEL COMPONENT event=NAME key=value ...".
//
// admin_listen: the operator's HTTP listener (/healthz, /metrics, and the account changes
// `veil-relay admin` makes on a running relay; admin_listener.h). Off by default (empty or
// "none"): a fixed default port would collide when several relays share a host. Give a
// loopback address such as 127.0.0.1:9464; it serves no TLS and must never face the internet.
//
// tls: off (the default) serves wss:// only with tls_cert and tls_key, plain ws:// without;
// auto serves wss:// always, with tls_cert and tls_key when given, else with a self-signed
// certificate made on the first start in DATA_DIR/tls/ and reused afterwards
// (transport/self_signed.h). Its fingerprint is logged at start and printed by `tls fingerprint`.
//
// store: where accounts, keys, groups and mailboxes live.
//   sqlite                          (the default) DATA_DIR/relay.db
//   postgresql://USER@HOST:PORT/DB  a PostgreSQL database, as a libpq connection URI (postgres://
//                                   works too); a libpq key=value string ("host=127.0.0.1
//                                   port=5432 user=veil dbname=veil") is taken as well
// Blobs (attachments) stay files in DATA_DIR/blobs with either store, and DATA_DIR holds the lock
// that keeps a second relay off the same folder. The PostgreSQL store is safe for several relays
// on one database (their writes take turns, delivery ids never collide).
//
// redis: several relays on one PostgreSQL database (each with its own --data and --listen) wake
// each other's clients through Redis pub/sub at redis://HOST:PORT (redis_wakeups.h); only with
// a PostgreSQL store. Without it a relay delivers only what is stored through itself live, and
// the rest at the device's next connection. While Redis is unreachable each relay polls the
// mailboxes of the devices connected to it every redis_poll_ms (default 1000, from 50), and
// every redis_idle_poll_ms (default 30000; 0: never) while it is up, as a safety net. It tries
// Redis again after 200 ms, doubling up to redis_backoff_max_ms (default 5000, from 50).
// Command line: --redis URL, --redis-poll-ms N, --redis-idle-poll-ms N, --redis-backoff-max-ms N.
//
// migrate copies a stopped relay's SQLite store (DIR is its data folder) into an empty
// PostgreSQL database, everything it holds, ids included, and checks the counts; it refuses while
// a relay runs on DIR, and refuses a target that holds data unless --replace-target empties it
// first. Moving a running installation: stop the relay, migrate, start it with --store set to
// the target (same --data, for the blobs). Clients offline meanwhile get their queued messages
// from the new store, once each.
//
// max_attachment_mib: the largest attachment (encrypted blob) the relay stores, in MiB (default
// 100, from 1 to 4096). Blobs live in DATA_DIR/blobs and are deleted after retention_days, like
// mailboxes.
//
// link_timeout_seconds: how long a link code a new device shows may be used by an existing
// device of the account (default 600, from 10 to 86400).
//
// tls_cert and tls_key (PEM files, given together) make the relay serve wss:// itself on the
// listen address instead of plain ws:// (for a relay behind a TLS reverse proxy, or tests on
// loopback, leave them out).
//
// durability: full (the default) fsyncs every commit before a sender's send is acknowledged;
// normal (SQLite WAL synchronous=NORMAL) skips that fsync, so a power cut (not a crash of the
// relay alone) may lose the last acknowledged sends. Either way, mailbox writes from all
// connections are gathered into group commits, one transaction for many sends and acks.
//
// Hidden options, for tests that cannot wait for the product's deadlines:
//   --upgrade-timeout-ms N   whole HTTP request, default 10000
//   --frame-timeout-ms N     a started frame or fragmented message, default 10000
//   --idle-timeout-ms N      silence before the close (a ping at a third), default 90000
//   --max-outgoing-bytes N   a connection's unwritten frames, default 4 MiB
//   --reactors N             reactor threads, default one per core
//   --metrics-cache-ms N     how long /metrics reuses the queue depth and blob totals, 2000
//   --group-commit 0|1       1 (default): sends and acks in group commits off the reactor
//                            threads; 0: each in its own transaction on the reactor thread
#pragma once

#include "core/sqlite_store.h"
#include "protocol/limits.h"
#include "util/log.h"
#include "util/result.h"

#include <cstdint>
#include <string>
#include <vector>

namespace veil::relay {

struct RelayConfig {
    enum class Command {
        serve,
        invite_create,
        account_delete,
        tls_fingerprint,
        admin,
        migrate,
        help
    };

    Command command = Command::serve;
    std::string account;                 // account_delete: the username
    std::vector<std::string> admin_args; // admin: the command and its arguments
    std::string admin_listen;            // empty: no admin listener
    bool admin_enabled() const { return !admin_listen.empty() && admin_listen != "none"; }
    // Rate limits and quotas (0: off).
    std::int64_t rate_account_per_second = 100;
    std::int64_t rate_account_burst = 1000;
    std::int64_t rate_auth_per_second = 10;
    std::int64_t rate_auth_burst = 50;
    std::int64_t rate_connect_per_second = 20;
    std::int64_t rate_connect_burst = 100;
    bool rate_limit_loopback = false;
    std::int64_t quota_queued_per_device = 100'000;
    std::int64_t quota_queued_per_sender = 10'000;
    std::string store = "sqlite"; // see the header comment
    std::string redis;            // empty: no Redis (one relay per database)
    std::int64_t redis_poll_ms = 1000;
    std::int64_t redis_idle_poll_ms = 30'000;
    std::int64_t redis_backoff_max_ms = 5000;
    // migrate: the source (sqlite:DIR) and the target (a PostgreSQL connection string).
    std::string migrate_from;
    std::string migrate_to;
    bool replace_target = false;
    std::string listen = "127.0.0.1:8443";
    std::string data_dir;
    bool invite_only = false;
    int retention_days = 30;
    std::int64_t link_timeout_seconds = protocol::kDefaultLinkTimeoutMs / 1000;
    std::int64_t max_attachment_mib =
        static_cast<std::int64_t>(protocol::kDefaultMaxAttachmentBytes / (1024 * 1024));
    log::Level log_level = log::Level::info;
    Durability durability = Durability::full;
    // PEM certificate chain and private key; both empty for plain WebSocket.
    std::string tls_cert;
    std::string tls_key;

    bool tls_auto = false; // tls = auto: a self-signed certificate when no tls_cert is given

    bool tls() const { return !tls_cert.empty() || tls_auto; }

    // Transport limits (hidden options).
    std::int64_t upgrade_timeout_ms = 10'000;
    std::int64_t frame_timeout_ms = 10'000;
    std::int64_t min_transfer_rate = 16 * 1024; // bytes a second, for blob transfers
    std::int64_t idle_timeout_ms = 90'000;
    std::int64_t max_outgoing_bytes = 4 * 1024 * 1024;
    std::int64_t reactors = 0;
    std::int64_t group_commit = 1;
    // Tests: a link timeout below the 10 s the public option allows (0: use the public one).
    std::int64_t link_timeout_ms = 0;
    // Tests: a retention below the one day the public option allows, and how often the purge
    // runs (0: retention_days and every 10 minutes).
    std::int64_t retention_ms = 0;
    std::int64_t purge_interval_ms = 0;
    // How long /metrics reuses the queue depth and blob totals it read (tests: 0, read each time).
    std::int64_t metrics_cache_ms = 2000;
};

// Where a store lives: a SQLite data folder, or a libpq connection string.
struct StoreLocation {
    enum class Kind { sqlite, postgresql };
    Kind kind = Kind::sqlite;
    std::string where; // sqlite: the data folder; postgresql: the connection string
};

// Reads a store setting ("sqlite", "sqlite:DIR", a postgresql:// or postgres:// URI, or a libpq
// key=value string); plain "sqlite" means data_dir.
Result<StoreLocation> parse_store(const std::string& text, const std::string& data_dir);

// Parses argv (without argv[0]). Errors carry a sentence for the person at the terminal.
Result<RelayConfig> parse_config(const std::vector<std::string>& args);

const char* usage();

} // namespace veil::relay
