// Acceptor: accepts connections on the relay's listener with one small thread and hands each
// socket (with a fresh TLS session when the listener is TLS) to the ReactorPool, which does the
// TLS handshake and the HTTP upgrade inside a reactor. No thread is held per connection, not
// even during the upgrade, and a client that dribbles its request delays nobody
// (TransportOptions::upgrade_timeout cuts it).
//
// Thread-safety: start() and stop() from the owning thread.
#pragma once

#include "transport/reactor_pool.h"
#include "transport/tls_context.h"

#include "core/rate_limiter.h"

#include <memory>
#include <sys/socket.h>
#include <thread>

namespace veil::relay::transport {

class Acceptor {
public:
    // listen_fd is a listening socket the caller keeps open until stop() returns; pool must
    // outlive the acceptor. context is null for plain WebSocket. Throws std::system_error if no
    // eventfd is left.
    Acceptor(int listen_fd, std::shared_ptr<TlsContext> context, ReactorPool& pool);
    ~Acceptor(); // stop()s
    Acceptor(const Acceptor&) = delete;
    Acceptor& operator=(const Acceptor&) = delete;

    // New connections one IP address may open a second, beyond a burst; more are closed as soon
    // as they are accepted, before any TLS or HTTP work. Loopback addresses are exempt unless
    // include_loopback. rate <= 0: no limit (the default). Call before start().
    void limit_connections(double rate_per_second, double burst, bool include_loopback);

    void start();
    // No new connections after it returns.
    void stop();

private:
    void run();
    // Whether the connection from peer is within its address's rate.
    bool admit(const sockaddr_storage& peer);

    int m_listen_fd;
    int m_wake = -1;
    std::shared_ptr<TlsContext> m_context;
    std::unique_ptr<RateLimiter> m_limiter;
    bool m_limit_loopback = false;
    ReactorPool& m_pool;
    std::thread m_thread;
};

} // namespace veil::relay::transport
