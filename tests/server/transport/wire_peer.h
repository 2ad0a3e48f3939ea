// Lean non-blocking WebSocket clients for the transport tests that drive hundreds or thousands
// of connections from one thread: Peer speaks the client side of one connection, PeerLoop is the
// epoll set over them. Every wait has a deadline; nothing sleeps to synchronise.
#pragma once

#include "server/transport/wire_client.h"

#include "protocol/envelope_codec.h"
#include "protocol/ws_codec.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <map>
#include <string>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace veil::relay::test {

namespace ws = veil::protocol::ws;

// One client connection over a non-blocking socket: the upgrade, then masked frames out and
// decoded envelopes and control frames in. The test drives it from its own loop.
class Peer {
public:
    Peer() = default;
    ~Peer() {
        if (m_fd >= 0)
            ::close(m_fd);
    }
    Peer(const Peer&) = delete;
    Peer& operator=(const Peer&) = delete;

    // Starts a non-blocking connect to 127.0.0.1:port and queues the upgrade request.
    void start(std::uint16_t port, int receive_buffer = 0) {
        m_fd = connect_loopback(port, receive_buffer, true);
        const std::string upgrade = upgrade_request();
        m_out.insert(m_out.end(), upgrade.begin(), upgrade.end());
    }

    int fd() const { return m_fd; }
    bool upgraded() const { return m_upgraded; }
    bool ended() const { return m_ended; }
    const std::string& end_reason() const { return m_end_reason; }
    bool wants_write() const { return m_out_offset < m_out.size(); }

    void queue(const wire::Envelope& envelope) {
        queue_frame(ws::Opcode::binary, protocol::encode_envelope(envelope));
    }
    void queue_frame(ws::Opcode opcode, std::span<const std::uint8_t> payload) {
        Bytes frame = ws::encode_frame(ws::Role::client, opcode, payload);
        m_out.insert(m_out.end(), frame.begin(), frame.end());
    }

    // Writes what the socket takes now.
    void flush() {
        while (!m_ended && wants_write()) {
            ssize_t n = ::send(m_fd, m_out.data() + m_out_offset, m_out.size() - m_out_offset,
                               MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOTCONN))
                return; // ENOTCONN: the connect is still in progress
            if (n <= 0)
                return end("send failed: " + std::to_string(errno));
            m_out_offset += static_cast<std::size_t>(n);
        }
        if (m_out_offset == m_out.size()) {
            m_out.clear();
            m_out_offset = 0;
        }
    }

    // Reads at most `limit` bytes once; decodes them into envelopes (answering pings on the
    // way). Returns false if nothing could be read now.
    bool read_once(std::size_t limit = 65536) {
        if (m_ended)
            return false;
        std::uint8_t buffer[65536];
        ssize_t n = ::recv(m_fd, buffer, std::min(limit, sizeof buffer), 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return false;
        if (n <= 0) {
            end(n == 0 ? "the relay closed the connection" : "recv failed");
            return false;
        }
        std::span<const std::uint8_t> bytes(buffer, static_cast<std::size_t>(n));
        if (!m_upgraded) {
            m_head.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
            const auto end_of_head = m_head.find("\r\n\r\n");
            if (end_of_head == std::string::npos)
                return true;
            if (m_head.rfind("HTTP/1.1 101", 0) != 0) {
                end("upgrade refused: " + m_head.substr(0, m_head.find("\r\n")));
                return true;
            }
            m_upgraded = true;
            Bytes rest(m_head.begin() + static_cast<std::ptrdiff_t>(end_of_head + 4), m_head.end());
            decode(rest);
            return true;
        }
        decode(bytes);
        return true;
    }

    // Envelopes and pong payloads decoded so far; the caller takes them.
    std::vector<wire::Envelope> envelopes;
    std::vector<std::string> pongs;

private:
    void decode(std::span<const std::uint8_t> bytes) {
        std::vector<ws::Event> events;
        if (!m_decoder.feed(bytes, events))
            end("the relay sent an invalid frame");
        for (auto& event : events) {
            switch (event.opcode) {
            case ws::Opcode::binary: {
                wire::Envelope envelope;
                if (!envelope.ParseFromArray(event.payload.data(),
                                             static_cast<int>(event.payload.size())))
                    return end("the relay sent an unparsable envelope");
                envelopes.push_back(std::move(envelope));
                break;
            }
            case ws::Opcode::ping: queue_frame(ws::Opcode::pong, event.payload); break;
            case ws::Opcode::pong:
                pongs.emplace_back(event.payload.begin(), event.payload.end());
                break;
            case ws::Opcode::close:
                return end("the relay sent close " + std::to_string(event.close_code));
            default: return end("the relay sent an unexpected frame");
            }
        }
    }
    void end(std::string why) {
        if (!m_ended)
            m_end_reason = std::move(why);
        m_ended = true;
    }

    int m_fd = -1;
    bool m_upgraded = false;
    bool m_ended = false;
    std::string m_end_reason;
    std::string m_head;
    Bytes m_out;
    std::size_t m_out_offset = 0;
    ws::Decoder m_decoder{ws::Role::client, 64 * 1024 * 1024};
};

// A level-triggered epoll set over Peers, keyed by their index in the caller's table.
class PeerLoop {
public:
    PeerLoop()
        : m_epoll(::epoll_create1(EPOLL_CLOEXEC)) {
        REQUIRE(m_epoll >= 0);
    }
    ~PeerLoop() { ::close(m_epoll); }
    PeerLoop(const PeerLoop&) = delete;
    PeerLoop& operator=(const PeerLoop&) = delete;

    void add(Peer& peer, std::size_t index) {
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT;
        ev.data.u64 = index;
        REQUIRE(::epoll_ctl(m_epoll, EPOLL_CTL_ADD, peer.fd(), &ev) == 0);
        m_masks[index] = ev.events;
    }
    void remove(Peer& peer, std::size_t index) {
        ::epoll_ctl(m_epoll, EPOLL_CTL_DEL, peer.fd(), nullptr);
        m_masks.erase(index);
    }
    // Watches for writability only while the peer has bytes to send.
    void settle(Peer& peer, std::size_t index) {
        auto it = m_masks.find(index);
        if (it == m_masks.end() || peer.ended())
            return;
        const std::uint32_t wanted = EPOLLIN | (peer.wants_write() ? EPOLLOUT : 0u);
        if (wanted == it->second)
            return;
        epoll_event ev{};
        ev.events = wanted;
        ev.data.u64 = index;
        REQUIRE(::epoll_ctl(m_epoll, EPOLL_CTL_MOD, peer.fd(), &ev) == 0);
        it->second = wanted;
    }
    // Waits up to 100 ms; returns the indexes of the ready peers.
    std::vector<std::size_t> wait() {
        epoll_event events[512];
        int n = ::epoll_wait(m_epoll, events, 512, 100);
        std::vector<std::size_t> ready;
        for (int i = 0; i < n; ++i) {
            // epoll_event is packed: copy the id out rather than bind a reference to it.
            const std::uint64_t index = events[i].data.u64;
            ready.push_back(index);
        }
        return ready;
    }

private:
    int m_epoll;
    std::map<std::size_t, std::uint32_t> m_masks;
};

} // namespace veil::relay::test
