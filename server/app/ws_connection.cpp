#include "ws_connection.h"

#include "connection_registry.h"
#include "protocol/envelope_codec.h"
#include "protocol/limits.h"
#include "util/log.h"

#include <Poco/Buffer.h>
#include <Poco/Exception.h>
#include <Poco/Net/NetException.h>

namespace veil::relay {
namespace {

using Poco::Net::WebSocket;

constexpr std::string_view kLog = "relay";
// A connection silent for this long is pinged; silent for twice as long, it is closed.
constexpr int kIdleSeconds = 60;
// A peer that stops reading cannot hold a sender's thread (the one pushing) for longer.
constexpr int kSendTimeoutSeconds = 10;
constexpr int kPing = static_cast<int>(WebSocket::FRAME_FLAG_FIN) | WebSocket::FRAME_OP_PING;
constexpr int kPong = static_cast<int>(WebSocket::FRAME_FLAG_FIN) | WebSocket::FRAME_OP_PONG;

} // namespace

WsConnection::WsConnection(Poco::Net::WebSocket socket, std::uint64_t id, RelayService& service,
                           ConnectionRegistry& registry)
    : m_ws(std::move(socket))
    , m_session(id)
    , m_service(service)
    , m_registry(registry) {
    m_ws.setMaxPayloadSize(static_cast<int>(protocol::kMaxFrameBytes));
    m_ws.setReceiveTimeout(Poco::Timespan(kIdleSeconds, 0));
    m_ws.setSendTimeout(Poco::Timespan(kSendTimeoutSeconds, 0));
    m_ws.setNoDelay(true);
}

void WsConnection::run() {
    m_registry.add(shared_from_this());
    log::debug(kLog, "connection " + std::to_string(id()) + " opened");
    try {
        read_loop();
    } catch (const std::exception& e) {
        log::warn(kLog, std::string("connection failed: ") + e.what());
    }
    m_service.close(m_session);
    m_registry.remove(id());
    {
        std::lock_guard lock(m_send_mutex);
        m_closed = true;
        m_pending.clear();
    }
    log::debug(kLog, "connection " + std::to_string(id()) + " closed");
}

void WsConnection::read_loop() {
    Poco::Buffer<char> buffer(0);
    int idle = 0;
    for (;;) {
        int flags = 0;
        int n = 0;
        buffer.resize(0);
        try {
            n = m_ws.receiveFrame(buffer, flags);
        } catch (const Poco::TimeoutException&) {
            if (++idle >= 2)
                return close(WebSocket::WS_ENDPOINT_GOING_AWAY, "idle");
            std::lock_guard lock(m_send_mutex);
            if (!send_locked({}, kPing))
                return;
            continue;
        } catch (const Poco::Net::WebSocketException& e) {
            if (e.code() == WebSocket::WS_ERR_PAYLOAD_TOO_BIG)
                return close(WebSocket::WS_PAYLOAD_TOO_BIG, "frame too large");
            return close(WebSocket::WS_PROTOCOL_ERROR, "malformed frame");
        } catch (const Poco::Exception&) {
            return; // reset, shut down for shutdown, or otherwise gone
        }
        idle = 0;
        if (n == 0 && flags == 0)
            return; // the peer closed the TCP connection
        auto payload = std::span<const std::uint8_t>(
            reinterpret_cast<const std::uint8_t*>(buffer.begin()), static_cast<std::size_t>(n));
        if (on_frame(flags, payload) == Step::done)
            return;
    }
}

WsConnection::Step WsConnection::on_frame(int flags, std::span<const std::uint8_t> payload) {
    const bool fin = (flags & WebSocket::FRAME_FLAG_FIN) != 0;
    switch (flags & WebSocket::FRAME_OP_BITMASK) {
    case WebSocket::FRAME_OP_PING: {
        std::lock_guard lock(m_send_mutex);
        send_locked(payload, kPong);
        return Step::more;
    }
    case WebSocket::FRAME_OP_PONG: return Step::more;
    case WebSocket::FRAME_OP_CLOSE: close(WebSocket::WS_NORMAL_CLOSE, ""); return Step::done;
    case WebSocket::FRAME_OP_TEXT:
        close(WebSocket::WS_PAYLOAD_NOT_ACCEPTABLE, "binary frames only");
        return Step::done;
    case WebSocket::FRAME_OP_BINARY:
        if (m_in_message) {
            close(WebSocket::WS_PROTOCOL_ERROR, "new message inside a fragmented one");
            return Step::done;
        }
        m_message.assign(payload.begin(), payload.end());
        break;
    case WebSocket::FRAME_OP_CONT:
        if (!m_in_message) {
            close(WebSocket::WS_PROTOCOL_ERROR, "continuation without a message");
            return Step::done;
        }
        if (m_message.size() + payload.size() > protocol::kMaxFrameBytes) {
            close(WebSocket::WS_PAYLOAD_TOO_BIG, "message too large");
            return Step::done;
        }
        m_message.insert(m_message.end(), payload.begin(), payload.end());
        break;
    default: close(WebSocket::WS_PROTOCOL_ERROR, "reserved opcode"); return Step::done;
    }
    m_in_message = !fin;
    if (fin)
        on_message();
    return Step::more;
}

void WsConnection::on_message() {
    {
        std::lock_guard lock(m_send_mutex);
        m_in_handle = true;
    }
    std::vector<Bytes> responses = m_service.handle(m_session, m_message);
    m_message.clear();

    std::lock_guard lock(m_send_mutex);
    m_in_handle = false;
    m_drained_up_to = m_session.drained_up_to;
    for (const auto& frame : responses)
        if (!send_locked(frame, WebSocket::FRAME_BINARY))
            return;
    auto pending = std::move(m_pending);
    m_pending.clear();
    for (const auto& [delivery_id, frame] : pending)
        if (delivery_id > m_drained_up_to && !send_locked(frame, WebSocket::FRAME_BINARY))
            return;
}

void WsConnection::push(const wire::Envelope& deliver) {
    const std::uint64_t delivery_id = deliver.deliver().delivery_id();
    Bytes frame = protocol::encode_envelope(deliver);
    std::lock_guard lock(m_send_mutex);
    if (m_closed)
        return;
    if (m_in_handle) {
        m_pending.emplace_back(delivery_id, std::move(frame));
        return;
    }
    if (delivery_id > m_drained_up_to)
        send_locked(frame, WebSocket::FRAME_BINARY);
}

void WsConnection::close_going_away() {
    close(WebSocket::WS_ENDPOINT_GOING_AWAY, "shutting down");
}

bool WsConnection::send_locked(std::span<const std::uint8_t> payload, int flags) {
    if (m_closed)
        return false;
    try {
        int sent = m_ws.sendFrame(payload.data(), static_cast<int>(payload.size()), flags);
        if (sent >= 0)
            return true;
    } catch (const Poco::Exception& e) {
        log::debug(kLog, "send failed: " + e.displayText());
    }
    // The peer is gone or too slow: stop the reader too, so that the connection ends.
    m_closed = true;
    try {
        m_ws.shutdownReceive();
    } catch (const Poco::Exception&) {
    }
    return false;
}

void WsConnection::close_locked(std::uint16_t status, const std::string& reason) {
    if (m_closed)
        return;
    try {
        m_ws.shutdown(status, reason);
    } catch (const Poco::Exception&) {
    }
    m_closed = true;
    try {
        m_ws.shutdownReceive();
    } catch (const Poco::Exception&) {
    }
}

void WsConnection::close(std::uint16_t status, const std::string& reason) {
    std::lock_guard lock(m_send_mutex);
    close_locked(status, reason);
}

} // namespace veil::relay
