#include "server/transport/wire_client.h"

#include "protocol/envelope_codec.h"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <netinet/in.h>
#include <poll.h>
#include <sstream>
#include <sys/socket.h>
#include <unistd.h>

namespace veil::relay::test {
namespace {

// The RFC 6455 section 1.3 example key; the relay must answer with its accept value.
constexpr const char* kKey = "dGhlIHNhbXBsZSBub25jZQ==";

long proc_status_field(pid_t pid, const std::string& field) {
    std::istringstream in(veil::test::read_file("/proc/" + std::to_string(pid) + "/status"));
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(field + ":", 0) == 0)
            return std::stol(line.substr(field.size() + 1));
    }
    return -1;
}

int remaining_ms(Deadline deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<std::int64_t>(0, left.count()));
}

} // namespace

RelayProcess::RelayProcess(const std::filesystem::path& dir, std::vector<std::string> extra,
                           std::map<std::string, std::string> env)
    : m_process(
          [&] {
              std::vector<std::string> argv = {VEIL_RELAY_BIN, "--listen", "127.0.0.1:0", "--data",
                                               (dir / "relay").string()};
              argv.insert(argv.end(), extra.begin(), extra.end());
              return argv;
          }(),
          std::move(env), dir, "relay") {
    const std::string marker = "listening on 127.0.0.1:";
    REQUIRE(m_process.wait_for_output(marker, 20s));
    const std::string out = m_process.out();
    const char* digits = out.data() + out.find(marker) + marker.size();
    auto [end, ec] = std::from_chars(digits, out.data() + out.size(), m_port);
    REQUIRE(ec == std::errc());
    REQUIRE(m_port != 0);
}

RelayProcess::~RelayProcess() {
    m_process.signal(SIGTERM);
    m_process.wait(10s);
}

long RelayProcess::rss_kib() const {
    return proc_status_field(pid(), "VmRSS");
}

long RelayProcess::peak_rss_kib() const {
    return proc_status_field(pid(), "VmHWM");
}

long RelayProcess::threads() const {
    return proc_status_field(pid(), "Threads");
}

int connect_loopback(std::uint16_t port, int receive_buffer, bool nonblocking) {
    const int fd =
        ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
    REQUIRE(fd >= 0);
    if (receive_buffer > 0)
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int r = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    REQUIRE((r == 0 || (nonblocking && errno == EINPROGRESS)));
    return fd;
}

RawSocket::RawSocket(std::uint16_t port, int receive_buffer)
    : m_fd(connect_loopback(port, receive_buffer, false)) {}

RawSocket::~RawSocket() {
    if (m_fd >= 0)
        ::close(m_fd);
}

RawSocket::RawSocket(RawSocket&& other) noexcept
    : m_fd(other.m_fd) {
    other.m_fd = -1;
}

bool RawSocket::send_all(const std::string& bytes) {
    return send_all(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

bool RawSocket::send_all(std::span<const std::uint8_t> bytes) {
    while (!bytes.empty()) {
        ssize_t n = ::send(m_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
    return true;
}

RawSocket::Read RawSocket::read_some(Bytes& out, Deadline deadline) {
    pollfd p{m_fd, POLLIN, 0};
    for (;;) {
        int r = ::poll(&p, 1, remaining_ms(deadline));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return Read::timeout;
        std::uint8_t buffer[65536];
        ssize_t n = ::recv(m_fd, buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return Read::eof; // EOF or reset
        out.insert(out.end(), buffer, buffer + n);
        return Read::data;
    }
}

bool RawSocket::read_to_eof(Bytes& out, Deadline deadline) {
    for (;;) {
        switch (read_some(out, deadline)) {
        case Read::data: continue;
        case Read::eof: return true;
        case Read::timeout: return false;
        }
    }
}

std::string http_exchange(std::uint16_t port, const std::string& request,
                          std::chrono::milliseconds timeout) {
    RawSocket socket(port);
    socket.send_all(request);
    Bytes out;
    socket.read_to_eof(out, after(timeout));
    return std::string(out.begin(), out.end());
}

bool healthz_ok(std::uint16_t port) {
    std::string answer = http_exchange(
        port, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    return answer.rfind("HTTP/1.1 200", 0) == 0 && answer.size() >= 2 &&
           answer.compare(answer.size() - 2, 2, "ok") == 0;
}

std::string upgrade_request(const std::string& extra_headers) {
    return std::string("GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Key: ") +
           kKey + "\r\nSec-WebSocket-Version: 13\r\n" + extra_headers + "\r\n";
}

WsClient::WsClient(std::uint16_t port, int receive_buffer)
    : m_socket(port, receive_buffer)
    , m_decoder(protocol::ws::Role::client, 64 * 1024 * 1024) {
    REQUIRE(m_socket.send_all(upgrade_request()));
    Bytes in;
    auto deadline = after(5s);
    std::size_t end = std::string::npos;
    while (end == std::string::npos) {
        REQUIRE(m_socket.read_some(in, deadline) == RawSocket::Read::data);
        end = std::string(in.begin(), in.end()).find("\r\n\r\n");
    }
    std::string head(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(end));
    INFO(head);
    REQUIRE(head.rfind("HTTP/1.1 101", 0) == 0);
    REQUIRE(head.find("Sec-WebSocket-Accept: " + protocol::ws::accept_key(kKey)) !=
            std::string::npos);
    Bytes rest(in.begin() + static_cast<std::ptrdiff_t>(end + 4), in.end());
    REQUIRE(m_decoder.feed(rest, m_events));
}

bool WsClient::send_frame(protocol::ws::Opcode opcode, std::span<const std::uint8_t> payload) {
    return m_socket.send_all(
        protocol::ws::encode_frame(protocol::ws::Role::client, opcode, payload));
}

bool WsClient::send_envelope(const wire::Envelope& envelope) {
    return send_frame(protocol::ws::Opcode::binary, protocol::encode_envelope(envelope));
}

std::optional<protocol::ws::Event> WsClient::next_event(Deadline deadline) {
    while (m_events.empty()) {
        if (m_ended || m_decoder.violation())
            return std::nullopt;
        Bytes in;
        switch (m_socket.read_some(in, deadline)) {
        case RawSocket::Read::data: (void)m_decoder.feed(in, m_events); break;
        case RawSocket::Read::eof: m_ended = true; return std::nullopt;
        case RawSocket::Read::timeout: return std::nullopt;
        }
    }
    auto event = std::move(m_events.front());
    m_events.erase(m_events.begin());
    return event;
}

std::optional<wire::Envelope> WsClient::next_envelope(Deadline deadline) {
    for (;;) {
        auto event = next_event(deadline);
        if (!event || event->opcode == protocol::ws::Opcode::close)
            return std::nullopt;
        if (event->opcode != protocol::ws::Opcode::binary)
            continue;
        wire::Envelope envelope;
        REQUIRE(envelope.ParseFromArray(event->payload.data(),
                                        static_cast<int>(event->payload.size())));
        return envelope;
    }
}

CloseSeen WsClient::wait_close(Deadline deadline) {
    CloseSeen seen;
    for (;;) {
        auto event = next_event(deadline);
        if (!event) {
            seen.ended = m_ended;
            return seen;
        }
        if (event->opcode == protocol::ws::Opcode::close) {
            seen.code = event->close_code;
            // The relay closes the TCP connection after its close frame.
            Bytes rest;
            seen.ended = m_socket.read_to_eof(rest, deadline);
            return seen;
        }
    }
}

} // namespace veil::relay::test
