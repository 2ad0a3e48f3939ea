// Test helpers that talk to a running veil-relay the hard way: a child relay process on a free
// loopback port, raw POSIX sockets, and the frame codec's client role. Every wait has a
// deadline; nothing sleeps to synchronise.
#pragma once

#include "support/process.h"

#include "protocol/ws_codec.h"
#include "util/secret_bytes.h"
#include "veil.pb.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace veil::relay::test {

using namespace std::chrono_literals;
using Deadline = std::chrono::steady_clock::time_point;

inline Deadline after(std::chrono::milliseconds d) {
    return std::chrono::steady_clock::now() + d;
}

// veil-relay on 127.0.0.1:0 with extra options (and extra environment variables, such as
// VEIL_CRASH_AT); stopped with SIGTERM at the end.
class RelayProcess {
public:
    RelayProcess(const std::filesystem::path& dir, std::vector<std::string> extra = {},
                 std::map<std::string, std::string> env = {});
    ~RelayProcess();
    RelayProcess(const RelayProcess&) = delete;
    RelayProcess& operator=(const RelayProcess&) = delete;

    std::uint16_t port() const { return m_port; }
    pid_t pid() const { return m_process.pid(); }
    veil::test::Process& process() { return m_process; }
    // VmRSS of the relay in KiB, from /proc.
    long rss_kib() const;
    // The relay's peak VmRSS so far (VmHWM) in KiB, from /proc.
    long peak_rss_kib() const;
    // Threads of the relay, from /proc.
    long threads() const;

private:
    veil::test::Process m_process;
    std::uint16_t m_port = 0;
};

// A connected blocking TCP socket; closed on destruction.
// A TCP socket connected (or, when nonblocking, connecting) to 127.0.0.1:port, with an optional
// receive buffer size. Fails the test if the socket cannot be made.
int connect_loopback(std::uint16_t port, int receive_buffer, bool nonblocking);

class RawSocket {
public:
    explicit RawSocket(std::uint16_t port, int receive_buffer = 0);
    ~RawSocket();
    RawSocket(RawSocket&& other) noexcept;
    RawSocket(const RawSocket&) = delete;
    RawSocket& operator=(const RawSocket&) = delete;

    int fd() const { return m_fd; }
    // False once the peer reset or closed the connection.
    bool send_all(const std::string& bytes);
    bool send_all(std::span<const std::uint8_t> bytes);

    enum class Read { data, eof, timeout };
    // Waits until bytes arrive (appended to out), the peer closes (or resets), or the deadline.
    Read read_some(Bytes& out, Deadline deadline);
    // Reads until the peer closes; false if the deadline comes first.
    bool read_to_eof(Bytes& out, Deadline deadline);

private:
    int m_fd = -1;
};

// The answer to a raw HTTP request: everything the relay sent before closing.
std::string http_exchange(std::uint16_t port, const std::string& request,
                          std::chrono::milliseconds timeout = 5s);
bool healthz_ok(std::uint16_t port);

std::string upgrade_request(const std::string& extra_headers = {});

// What a WebSocket client sees of the relay's close.
struct CloseSeen {
    bool ended = false;                // the connection ended before the deadline
    std::optional<std::uint16_t> code; // the close frame's code, if one came
};

class WsClient {
public:
    // Connects and upgrades; REQUIREs a 101 with the right accept value.
    explicit WsClient(std::uint16_t port, int receive_buffer = 0);

    RawSocket& socket() { return m_socket; }
    bool send_raw(std::span<const std::uint8_t> bytes) { return m_socket.send_all(bytes); }
    bool send_frame(protocol::ws::Opcode opcode, std::span<const std::uint8_t> payload);
    bool send_envelope(const wire::Envelope& envelope);

    // The next event (message or control frame), nullopt on timeout or end.
    std::optional<protocol::ws::Event> next_event(Deadline deadline);
    // The next envelope, skipping control frames; nullopt on timeout, end or close.
    std::optional<wire::Envelope> next_envelope(Deadline deadline);
    // Reads until the relay closes; discards messages on the way.
    CloseSeen wait_close(Deadline deadline);

private:
    RawSocket m_socket;
    protocol::ws::Decoder m_decoder;
    std::vector<protocol::ws::Event> m_events;
    bool m_ended = false;
};

} // namespace veil::relay::test
