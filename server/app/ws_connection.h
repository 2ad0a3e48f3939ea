// WsConnection: one client's WebSocket after the HTTP upgrade, in Poco's thread-per-connection
// model. run() reads frames on the HTTP server's worker thread and hands each binary message to
// the RelayService; push() and close_going_away() may be called from any other thread. All
// writes to the socket hold one send mutex, so frames never interleave.
//
// FIXME(#3): one thread per connection does not scale; this file is the part that an epoll
// reactor with Veil's own frame codec replaces. RelayService stays as it is.
#pragma once

#include "core/relay_service.h"

#include <Poco/Net/WebSocket.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

namespace veil::relay {

class ConnectionRegistry;

class WsConnection : public std::enable_shared_from_this<WsConnection> {
public:
    WsConnection(Poco::Net::WebSocket socket, std::uint64_t id, RelayService& service,
                 ConnectionRegistry& registry);
    WsConnection(const WsConnection&) = delete;
    WsConnection& operator=(const WsConnection&) = delete;

    std::uint64_t id() const { return m_session.connection_id; }

    // Reads until the peer closes, the socket fails or close_going_away() is called. Registers
    // with the registry for its duration. Never throws.
    void run();

    // Sends a Deliver pushed by the service. Thread-safe; drops it if the connection is closed or
    // if the drain after authentication already carried that delivery.
    void push(const wire::Envelope& deliver);

    // Server shutdown: sends close 1001 and wakes the reader. Thread-safe.
    void close_going_away();

private:
    enum class Step { more, done };

    void read_loop();
    Step on_frame(int flags, std::span<const std::uint8_t> payload);
    void on_message();
    // Sends a frame and returns false if the socket failed; the caller holds m_send_mutex.
    bool send_locked(std::span<const std::uint8_t> payload, int flags);
    void close_locked(std::uint16_t status, const std::string& reason);
    void close(std::uint16_t status, const std::string& reason);

    Poco::Net::WebSocket m_ws;
    Session m_session; // reader thread only
    RelayService& m_service;
    ConnectionRegistry& m_registry;
    std::vector<std::uint8_t> m_message; // the binary message being assembled
    bool m_in_message = false;

    std::mutex m_send_mutex;
    // Guarded by m_send_mutex. While the reader is inside RelayService::handle(), pushes wait in
    // m_pending, so that they go out after the response (and after the drain that follows an
    // authentication), never before it.
    bool m_in_handle = false;
    bool m_closed = false;
    std::uint64_t m_drained_up_to = 0;
    std::vector<std::pair<std::uint64_t, Bytes>> m_pending;
};

} // namespace veil::relay
