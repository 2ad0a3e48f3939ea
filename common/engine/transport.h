// Transport: one connection to the relay carrying binary frames, and timers on the same
// thread. The engine is single-threaded: every callback arrives on the thread that runs the
// transport's event loop. common/qt implements it on QtWebSockets; tests may fake it.
#pragma once

#include "util/secret_bytes.h"

#include <cstdint>
#include <functional>
#include <span>
#include <string>

namespace veil::engine {

class TransportListener {
public:
    virtual ~TransportListener() = default;
    virtual void on_connected() = 0;
    // After a failed connect or a lost connection; reason is a sentence for people.
    virtual void on_disconnected(const std::string& reason) = 0;
    virtual void on_frame(std::span<const std::uint8_t> frame) = 0;
};

class Transport {
public:
    virtual ~Transport() = default;
    virtual void set_listener(TransportListener* listener) = 0;
    // Opens a connection to a ws:// or wss:// URL. Completion arrives as on_connected or
    // on_disconnected.
    virtual void connect(const std::string& url) = 0;
    virtual void send(Bytes frame) = 0;
    virtual void close() = 0;
    virtual bool connected() const = 0;
    // Runs fn once after delay_ms on the transport's thread. Returns an id for cancel_timer.
    virtual std::uint64_t start_timer(std::uint32_t delay_ms, std::function<void()> fn) = 0;
    virtual void cancel_timer(std::uint64_t id) = 0;
};

} // namespace veil::engine
