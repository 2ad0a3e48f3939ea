// TlsAcceptor: accepts connections on a TLS listener with one small thread and hands each
// socket, with a fresh TLS session, to the ReactorPool, which does the handshake and the HTTP
// upgrade inside a reactor. No thread is held per connection, and a client that dribbles its
// handshake delays nobody (TransportOptions::upgrade_timeout cuts it).
//
// Thread-safety: start() and stop() from the owning thread.
#pragma once

#include "transport/reactor_pool.h"
#include "transport/tls_context.h"

#include <memory>
#include <thread>

namespace veil::relay::transport {

class TlsAcceptor {
public:
    // listen_fd is a listening socket the caller keeps open until stop() returns; context and
    // pool must outlive the acceptor. Throws std::system_error if no eventfd is left.
    TlsAcceptor(int listen_fd, std::shared_ptr<TlsContext> context, ReactorPool& pool);
    ~TlsAcceptor(); // stop()s
    TlsAcceptor(const TlsAcceptor&) = delete;
    TlsAcceptor& operator=(const TlsAcceptor&) = delete;

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
