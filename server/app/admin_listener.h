// AdminListener: the relay's operator endpoint, apart from the client listener and bound to
// loopback unless admin_listen says otherwise (relay_config.h). One small thread answers one
// HTTP/1.1 request per connection; it reads the heads of up to 32 connections at once, each cut
// after kRequestTimeout for the whole request, so a slow client holds up no one; it reads only
// atomics the service and reactors update and its own store connection, so it never holds up a
// client reactor however it is used.
//
//   GET  /healthz                       200 "ok" when the store answers, else 503 with why
//   GET  /metrics                       Prometheus text exposition (relay_metrics.h)
//   POST /v1/accounts/NAME/disable      with "Authorization: Bearer TOKEN": disables the account
//   POST /v1/accounts/NAME/enable       in the store and in the running service at once
//   POST /v1/purge                      with the token: runs the retention purge now
//
// TOKEN is the random secret the relay writes to DATA_DIR/admin.token (mode 0600, the relay's
// user only) on start, beside DATA_DIR/admin.address (the bound HOST:PORT); `veil-relay admin`
// reads both. Without the token the listener serves /healthz and /metrics only (they reveal
// counts, never names).
//
// Thread-safety: construct, start and stop from one thread.
#pragma once

#include "core/admin_store.h"
#include "core/relay_metrics.h"
#include "core/relay_service.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace Poco::Net {
class ServerSocket;
}

namespace veil::relay {

class AdminListener {
public:
    struct Sources {
        std::function<std::uint64_t()> open_connections;
        std::unique_ptr<RelayAdmin> admin; // used on the listener's thread only
        std::filesystem::path blobs_dir;
        RelayService* service = nullptr; // must outlive the listener
        // Runs the retention purge now; a sentence saying what it deleted.
        std::function<Result<std::string>()> purge;
        std::string token;
        std::chrono::milliseconds gauge_lifetime{2000};
    };

    // Binds address (HOST:PORT). Throws Poco::Exception when it cannot.
    AdminListener(const std::string& address, Sources sources);
    ~AdminListener(); // stop()s
    AdminListener(const AdminListener&) = delete;
    AdminListener& operator=(const AdminListener&) = delete;

    std::string address() const;
    void start();
    void stop();

private:
    struct Response {
        int status = 200;
        std::string content_type = "text/plain; charset=utf-8";
        std::string body;
    };

    void run();
    // Answers one request whose head is given (empty: malformed or too large).
    void serve(int fd, const std::string& head);
    Response answer(const std::string& method, const std::string& path,
                    const std::string& authorization);
    Response metrics();
    Response change_account(const std::string& name, const std::string& action);

    std::unique_ptr<Poco::Net::ServerSocket> m_socket;
    int m_wake[2] = {-1, -1};
    std::string m_address;
    Sources m_sources;
    std::thread m_thread;

    // Gauges read from the store and the blob folder, kept for a short while so that frequent
    // scrapes cost no more than one query and one folder walk a few times a minute.
    std::chrono::steady_clock::time_point m_gauges_read{};
    MetricsGauges m_gauges;
};

struct RelayConfig;

// The files in the data folder through which `veil-relay admin` finds a running relay.
inline constexpr const char* kAdminTokenFile = "admin.token";
inline constexpr const char* kAdminAddressFile = "admin.address";

// For veil-relay serve: loads the disabled accounts into service and gives it a store connection
// for its quotas, then, when config enables
// the admin listener, binds it, writes admin.token and admin.address and starts it (nullptr
// when disabled). Stale token and address files of an earlier run are removed either way.
// Copies the rate limits and quotas of config into options.
void apply_limits(const RelayConfig& config, RelayService::Options& options);

// The operator's view of the store config names: SqliteAdmin on DATA_DIR/relay.db, or
// PostgresAdmin on the PostgreSQL database. not_found: no relay created the store yet.
Result<std::unique_ptr<RelayAdmin>> open_relay_admin(const RelayConfig& config);

Result<std::unique_ptr<AdminListener>> open_admin(const RelayConfig& config, RelayService& service,
                                                  std::function<Result<std::string>()> purge,
                                                  std::function<std::uint64_t()> connections);

} // namespace veil::relay
