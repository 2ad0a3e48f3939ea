#include "transport/acceptor.h"

#include "core/relay_metrics.h"

#include "util/log.h"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <system_error>
#include <unistd.h>

namespace veil::relay::transport {
namespace {

constexpr std::string_view kLog = "net";
// After a failed accept (no descriptor left), the pause before the next try.
constexpr int kBackoffMs = 100;
// Connections accepted per wake-up at most.
constexpr int kAcceptBurst = 256;

} // namespace

Acceptor::Acceptor(int listen_fd, std::shared_ptr<TlsContext> context, ReactorPool& pool)
    : m_listen_fd(listen_fd)
    , m_context(std::move(context))
    , m_pool(pool) {
    // Non-blocking, so that a connection reset between poll and accept cannot block the thread.
    const int flags = ::fcntl(listen_fd, F_GETFL);
    if (flags >= 0)
        ::fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK);
    m_wake = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (m_wake < 0)
        throw std::system_error(errno, std::generic_category(), "eventfd");
}

Acceptor::~Acceptor() {
    stop();
    ::close(m_wake);
}

void Acceptor::start() {
    m_thread = std::thread([this] { run(); });
}

void Acceptor::stop() {
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(m_wake, &one, sizeof one);
    if (m_thread.joinable())
        m_thread.join();
}

void Acceptor::limit_connections(double rate_per_second, double burst, bool include_loopback) {
    if (rate_per_second > 0)
        m_limiter = std::make_unique<RateLimiter>(rate_per_second, burst);
    m_limit_loopback = include_loopback;
}

bool Acceptor::admit(const sockaddr_storage& peer) {
    if (!m_limiter)
        return true;
    char text[INET6_ADDRSTRLEN] = {};
    if (peer.ss_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(&peer);
        ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
        if (!m_limit_loopback && (ntohl(in->sin_addr.s_addr) >> 24) == 127)
            return true;
    } else if (peer.ss_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&peer);
        ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
        if (!m_limit_loopback && IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return true;
    } else {
        return true;
    }
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    return !m_limiter->take(text, now_ms);
}

void Acceptor::run() {
    for (;;) {
        pollfd fds[2] = {{m_wake, POLLIN, 0}, {m_listen_fd, POLLIN, 0}};
        const int ready = ::poll(fds, 2, -1);
        if (ready < 0 && errno != EINTR) {
            log::error(kLog, "poll on the listener failed: " +
                                 std::error_code(errno, std::generic_category()).message());
            return;
        }
        if (fds[0].revents != 0)
            return;
        if (fds[1].revents & (POLLERR | POLLHUP | POLLNVAL)) {
            // A broken listener would report this at once, again and again: stop instead of
            // spinning, and say so.
            log::error(kLog, "the listener failed; no more connections are accepted");
            return;
        }
        if (!(fds[1].revents & POLLIN))
            continue;
        // A burst of connects (a reconnect storm) is taken in one go, up to a bound, so that
        // the wake-up eventfd is still looked at between bursts.
        for (int i = 0; i < kAcceptBurst; ++i) {
            sockaddr_storage peer{};
            socklen_t peer_size = sizeof peer;
            const int fd = ::accept4(m_listen_fd, reinterpret_cast<sockaddr*>(&peer), &peer_size,
                                     SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
                    errno == ECONNABORTED)
                    break;
                log::warn(kLog, "accept on the listener failed: " +
                                    std::error_code(errno, std::generic_category()).message());
                pollfd wake{m_wake, POLLIN, 0};
                if (::poll(&wake, 1, kBackoffMs) > 0)
                    return;
                break;
            }
            if (!admit(peer)) {
                relay_metrics().connections_refused.fetch_add(1, std::memory_order_relaxed);
                log::debug(kLog, "event=connection_refused reason=rate_limited");
                ::close(fd);
                continue;
            }
            SSL* tls = nullptr;
            if (m_context) {
                tls = m_context->new_session(fd);
                if (!tls) {
                    log::warn(kLog, "no TLS session for a new connection");
                    ::close(fd);
                    continue;
                }
            }
            m_pool.adopt(fd, tls);
        }
    }
}

} // namespace veil::relay::transport
