#include "transport/acceptor.h"

#include "util/log.h"

#include <cerrno>
#include <fcntl.h>
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
            const int fd = ::accept4(m_listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
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
