// FrameClient: one load-generator connection to the raw floor (bench/raw_floor), over a
// non-blocking socket to 127.0.0.1. Frames are a 4-byte big-endian length and a payload; the
// first names this client's id, and the floor's empty answer makes the client ready.
//
// Thread and lifetime as RelayClient: callbacks run inside EventLoop::poll(); destroy clients
// between polls only.
#pragma once

#include "loadgen/event_loop.h"

#include "util/secret_bytes.h"

#include <cstdint>
#include <span>
#include <string_view>

namespace veil::bench {

class FrameClient;

class FrameListener {
public:
    virtual ~FrameListener() = default;
    virtual void on_ready(FrameClient& client) = 0;
    // body is what follows the 4-byte destination id of a forwarded frame.
    virtual void on_frame(FrameClient& client, std::span<const std::uint8_t> body) = 0;
    virtual void on_closed(FrameClient& client, std::string_view why) = 0;
};

class FrameClient final : public Pollable {
public:
    FrameClient(EventLoop& loop, std::uint16_t port, std::uint32_t id, FrameListener& listener,
                std::size_t tag);
    ~FrameClient() override;
    FrameClient(const FrameClient&) = delete;
    FrameClient& operator=(const FrameClient&) = delete;

    bool start();
    // Sends body to the client with id to (written now, or as soon as the socket allows).
    void send_to(std::uint32_t to, std::span<const std::uint8_t> body);
    void close();

    bool ready() const { return m_ready; }
    std::size_t tag() const { return m_tag; }

    void on_events(std::uint32_t events) override;

private:
    void queue_frame(std::uint32_t head, std::span<const std::uint8_t> body);
    void flush();
    void on_readable();
    void fail(std::string_view why);

    EventLoop& m_loop;
    std::uint16_t m_port;
    std::uint32_t m_id;
    FrameListener& m_listener;
    std::size_t m_tag;
    int m_fd = -1;
    bool m_connected = false;
    bool m_ready = false;
    bool m_want_write = true;
    Bytes m_in;
    Bytes m_out;
    std::size_t m_out_offset = 0;
};

} // namespace veil::bench
