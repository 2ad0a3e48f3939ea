#include "admin_listener.h"

#include "relay_config.h"

#include "core/postgres_admin.h"
#include "core/sqlite_admin.h"
#include "crypto/provider.h"
#include "protocol/envelope_codec.h"
#include "util/hex.h"
#include "util/log.h"

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace veil::relay {
namespace {

constexpr std::string_view kLog = "relay.admin";
constexpr auto kRequestTimeout = std::chrono::seconds(2);
constexpr std::size_t kMaxRequestBytes = 8 * 1024;

const char* reason(int status) {
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

void write_all(int fd, const std::string& bytes) {
    std::size_t at = 0;
    while (at < bytes.size()) {
        const ssize_t n = ::send(fd, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
        if (n <= 0)
            return; // the peer went or the send timed out: nothing more to do for it
        at += static_cast<std::size_t>(n);
    }
}

// Connections whose request head is still coming in; more are refused at once.
constexpr std::size_t kMaxPending = 32;

// A connection whose request head (up to the blank line) is still coming in, until its deadline.
struct Pending {
    int fd = -1;
    std::string head;
    std::chrono::steady_clock::time_point deadline;
    bool complete() const { return head.find("\r\n\r\n") != std::string::npos; }
};

std::string header_value(const std::string& head, const std::string& name) {
    std::string lower = head;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const std::size_t at = lower.find("\r\n" + name + ":");
    if (at == std::string::npos)
        return {};
    std::size_t start = at + 2 + name.size() + 1;
    const std::size_t end = head.find("\r\n", start);
    while (start < end && head[start] == ' ')
        ++start;
    return head.substr(start, end - start);
}

// Compares without an early exit, so that the time taken tells nothing about the token.
bool same_secret(const std::string& a, const std::string& b) {
    if (a.size() != b.size() || a.empty())
        return false;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

void walk_blobs(const std::filesystem::path& folder, MetricsGauges& gauges) {
    gauges.blob_count = 0;
    gauges.blob_bytes = 0;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(folder, ec), end; !ec && it != end;
         it.increment(ec)) {
        if (!it->is_regular_file(ec))
            continue;
        ++gauges.blob_count;
        gauges.blob_bytes += it->file_size(ec);
    }
}

} // namespace

AdminListener::AdminListener(const std::string& address, Sources sources)
    : m_socket(std::make_unique<Poco::Net::ServerSocket>())
    , m_sources(std::move(sources)) {
    m_socket->bind(Poco::Net::SocketAddress(address), true, false);
    m_socket->listen(16);
    m_address = m_socket->address().toString();
    if (::pipe2(m_wake, O_CLOEXEC) != 0)
        throw std::system_error(errno, std::generic_category(), "pipe");
}

AdminListener::~AdminListener() {
    stop();
    ::close(m_wake[0]);
    ::close(m_wake[1]);
}

std::string AdminListener::address() const {
    return m_address;
}

void AdminListener::start() {
    m_thread = std::thread([this] { run(); });
}

void AdminListener::stop() {
    if (!m_thread.joinable())
        return;
    const char byte = 0;
    [[maybe_unused]] auto n = ::write(m_wake[1], &byte, 1);
    m_thread.join();
}

// Heads are read from every open connection at once, each with a deadline for the whole
// request, so that a client dribbling bytes holds up no one; complete requests are answered in
// turn (each answer is quick: counters, a cached count, one store query).
void AdminListener::run() {
    const int listen_fd = m_socket->impl()->sockfd();
    std::vector<Pending> pending;
    auto drop = [&](std::size_t i) {
        ::close(pending[i].fd);
        pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(i));
    };
    for (;;) {
        std::vector<pollfd> fds = {{listen_fd, POLLIN, 0}, {m_wake[0], POLLIN, 0}};
        int wait_ms = -1;
        const auto now = std::chrono::steady_clock::now();
        for (const auto& p : pending) {
            fds.push_back({p.fd, POLLIN, 0});
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(p.deadline - now).count();
            const int ms = static_cast<int>(std::max<long long>(left, 0)) + 1;
            wait_ms = wait_ms < 0 ? ms : std::min(wait_ms, ms);
        }
        if (::poll(fds.data(), fds.size(), wait_ms) < 0) {
            if (errno == EINTR)
                continue;
            log::error(kLog, "event=poll_failed");
            break;
        }
        if (fds[1].revents != 0)
            break;
        // Read what came, newest last; answer complete requests; drop the late and the gone.
        for (std::size_t i = pending.size(); i-- > 0;) {
            if (fds[i + 2].revents != 0) {
                char buf[1024];
                const ssize_t n = ::recv(pending[i].fd, buf, sizeof buf, 0);
                if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) {
                    drop(i);
                    continue;
                }
                if (n > 0)
                    pending[i].head.append(buf, static_cast<std::size_t>(n));
            }
            const bool too_big = pending[i].head.size() > kMaxRequestBytes;
            if (pending[i].complete() || too_big) {
                const int fd = pending[i].fd;
                // The answer is written blocking, with a send deadline.
                ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
                timeval timeout{static_cast<time_t>(kRequestTimeout.count()), 0};
                ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
                try {
                    serve(fd, too_big ? std::string() : pending[i].head);
                } catch (const std::exception& e) {
                    log::error(kLog,
                               std::string("event=request_failed error=\"") + e.what() + "\"");
                }
                drop(i);
            } else if (std::chrono::steady_clock::now() >= pending[i].deadline) {
                drop(i);
            }
        }
        if (fds[0].revents != 0) {
            const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (fd >= 0) {
                if (pending.size() >= kMaxPending)
                    ::close(fd);
                else
                    pending.push_back({fd, {}, std::chrono::steady_clock::now() + kRequestTimeout});
            }
        }
    }
    for (const auto& p : pending)
        ::close(p.fd);
}

void AdminListener::serve(int fd, const std::string& head) {
    Response response;
    const std::size_t line_end = head.find("\r\n");
    const std::size_t sp1 = head.find(' ');
    const std::size_t sp2 = sp1 == std::string::npos ? sp1 : head.find(' ', sp1 + 1);
    if (head.empty() || sp2 == std::string::npos || sp2 > line_end) {
        response = Response{400, "text/plain; charset=utf-8", "bad request\n"};
    } else {
        response = answer(head.substr(0, sp1), head.substr(sp1 + 1, sp2 - sp1 - 1),
                          header_value(head, "authorization"));
    }
    write_all(fd, "HTTP/1.1 " + std::to_string(response.status) + " " + reason(response.status) +
                      "\r\nContent-Type: " + response.content_type +
                      "\r\nContent-Length: " + std::to_string(response.body.size()) +
                      "\r\nConnection: close\r\n\r\n" + response.body);
}

AdminListener::Response AdminListener::answer(const std::string& method, const std::string& path,
                                              const std::string& authorization) {
    if (path == "/healthz" || path == "/metrics") {
        if (method != "GET")
            return {405, "text/plain; charset=utf-8", "use GET\n"};
        if (path == "/metrics")
            return metrics();
        if (auto alive = m_sources.admin->ping(); !alive)
            return {503, "text/plain; charset=utf-8",
                    "store unavailable: " + alive.error().message + "\n"};
        return {200, "text/plain; charset=utf-8", "ok\n"};
    }
    const std::string prefix = "/v1/accounts/";
    if (path.rfind(prefix, 0) == 0 || path == "/v1/purge") {
        if (method != "POST")
            return {405, "text/plain; charset=utf-8", "use POST\n"};
        if (!same_secret(authorization, "Bearer " + m_sources.token))
            return {401, "text/plain; charset=utf-8",
                    "this needs the token in the relay's admin.token file\n"};
        if (path == "/v1/purge") {
            auto done = m_sources.purge();
            if (!done)
                return {503, "text/plain; charset=utf-8", done.error().message + "\n"};
            return {200, "text/plain; charset=utf-8", *done + "\n"};
        }
        const std::string rest = path.substr(prefix.size());
        const std::size_t slash = rest.find('/');
        if (slash == std::string::npos)
            return {404, "text/plain; charset=utf-8", "not found\n"};
        return change_account(rest.substr(0, slash), rest.substr(slash + 1));
    }
    return {404, "text/plain; charset=utf-8", "not found\n"};
}

AdminListener::Response AdminListener::metrics() {
    const auto now = std::chrono::steady_clock::now();
    if (m_gauges_read == std::chrono::steady_clock::time_point{} ||
        now - m_gauges_read >= m_sources.gauge_lifetime) {
        auto queued = m_sources.admin->queued_count();
        m_gauges.queued_messages = queued ? *queued : -1;
        walk_blobs(m_sources.blobs_dir, m_gauges);
        m_gauges_read = now;
    }
    m_gauges.open_connections = m_sources.open_connections ? m_sources.open_connections() : 0;
    return {200, "text/plain; version=0.0.4; charset=utf-8",
            render_prometheus(relay_metrics(), m_gauges)};
}

AdminListener::Response AdminListener::change_account(const std::string& name,
                                                      const std::string& action) {
    if (!protocol::valid_username(name) || (action != "disable" && action != "enable"))
        return {404, "text/plain; charset=utf-8", "not found\n"};
    const bool disable = action == "disable";
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    if (auto st = m_sources.admin->set_disabled(name, disable, now_ms); !st) {
        const int status = st.error().code == Errc::not_found ? 404 : 503;
        return {status, "text/plain; charset=utf-8", st.error().message + "\n"};
    }
    if (disable) {
        if (auto st = m_sources.service->disable_account(name); !st)
            log::warn(kLog, "event=disconnect_failed error=\"" + st.error().message + "\"");
    } else {
        m_sources.service->enable_account(name);
    }
    log::info(kLog, std::string("event=account_") + (disable ? "disabled" : "enabled"));
    return {200, "text/plain; charset=utf-8", (disable ? "disabled " : "enabled ") + name + "\n"};
}

namespace {

// Written whole under a temporary name, then renamed: a reader never sees half a token.
Status write_private_file(const std::filesystem::path& path, const std::string& text) {
    const auto temp = path.string() + ".tmp";
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return make_error(Errc::io, "cannot write " + temp + ": " + std::strerror(errno));
    const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    std::error_code ec;
    if (!written || (std::filesystem::rename(temp, path, ec), ec))
        return make_error(Errc::io, "cannot write " + path.string());
    return {};
}

} // namespace

void apply_limits(const RelayConfig& config, RelayService::Options& options) {
    options.account_requests_per_second = static_cast<double>(config.rate_account_per_second);
    options.account_burst = static_cast<double>(config.rate_account_burst);
    options.auth_attempts_per_second = static_cast<double>(config.rate_auth_per_second);
    options.auth_burst = static_cast<double>(config.rate_auth_burst);
    options.limit_loopback = config.rate_limit_loopback;
    options.max_queued_per_device = static_cast<std::size_t>(config.quota_queued_per_device);
    options.max_queued_per_sender = static_cast<std::size_t>(config.quota_queued_per_sender);
}

Result<std::unique_ptr<RelayAdmin>> open_relay_admin(const RelayConfig& config) {
    auto location = parse_store(config.store, config.data_dir);
    if (!location)
        return location.error();
    if (location->kind == StoreLocation::Kind::postgresql) {
        auto admin = PostgresAdmin::open(location->where);
        if (!admin)
            return admin.error();
        return std::unique_ptr<RelayAdmin>(std::move(admin.value()));
    }
    auto admin = SqliteAdmin::open(location->where);
    if (!admin)
        return admin.error();
    return std::unique_ptr<RelayAdmin>(std::move(admin.value()));
}

Result<std::unique_ptr<AdminListener>> open_admin(const RelayConfig& config, RelayService& service,
                                                  std::function<Result<std::string>()> purge,
                                                  std::function<std::uint64_t()> connections) {
    relay_metrics(); // its uptime counts from here
    auto admin = open_relay_admin(config);
    if (!admin)
        return admin.error();
    auto disabled = (*admin)->disabled_accounts();
    if (!disabled)
        return disabled.error();
    service.set_disabled_accounts(*disabled);
    // The quotas count with a connection of their own.
    auto counter = open_relay_admin(config);
    if (!counter)
        return counter.error();
    service.set_queue_counter(std::move(*counter));

    const std::filesystem::path dir(config.data_dir);
    std::error_code ec;
    std::filesystem::remove(dir / kAdminAddressFile, ec);
    std::filesystem::remove(dir / kAdminTokenFile, ec);
    if (!config.admin_enabled())
        return std::unique_ptr<AdminListener>();

    AdminListener::Sources sources;
    sources.open_connections = std::move(connections);
    sources.admin = std::move(*admin);
    sources.blobs_dir = dir / "blobs";
    sources.service = &service;
    sources.purge = std::move(purge);
    sources.gauge_lifetime = std::chrono::milliseconds(config.metrics_cache_ms);
    sources.token = to_hex(crypto::random_bytes(32));
    const std::string token = sources.token;
    auto listener = std::make_unique<AdminListener>(config.admin_listen, std::move(sources));
    VEIL_TRY(write_private_file(dir / kAdminTokenFile, token + "\n"));
    VEIL_TRY(write_private_file(dir / kAdminAddressFile, listener->address() + "\n"));
    listener->start();
    log::info(kLog, "event=admin_listening address=" + listener->address());
    return listener;
}

} // namespace veil::relay
