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

#include <memory>
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

    void start();
    // No new connections after it returns.
    void stop();

private:
    void run();

    int m_listen_fd;
    int m_wake = -1;
    std::shared_ptr<TlsContext> m_context;
    ReactorPool& m_pool;
    std::thread m_thread;
};

} // namespace veil::relay::transport
