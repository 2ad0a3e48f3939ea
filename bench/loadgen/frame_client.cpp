#include "loadgen/frame_client.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace veil::bench {

namespace {

void append_be32(Bytes& out, std::uint32_t value) {
    for (int shift = 24; shift >= 0; shift -= 8)
        out.push_back(static_cast<std::uint8_t>(value >> shift));
}

std::uint32_t read_be32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           std::uint32_t{p[3]};
}

} // namespace

FrameClient::FrameClient(EventLoop& loop, std::uint16_t port, std::uint32_t id,
                         FrameListener& listener, std::size_t tag)
    : m_loop(loop)
    , m_port(port)
    , m_id(id)
    , m_listener(listener)
    , m_tag(tag) {}

FrameClient::~FrameClient() {
    close();
}

bool FrameClient::start() {
    m_fd = connect_loopback(m_port);
    if (m_fd < 0)
        return false;
    queue_frame(m_id, {}); // the hello: this client's id
    m_loop.add(m_fd, EPOLLIN | EPOLLOUT, *this);
    return true;
}

void FrameClient::close() {
    if (m_fd >= 0) {
        m_loop.remove(m_fd);
        ::close(m_fd);
        m_fd = -1;
    }
}

void FrameClient::fail(std::string_view why) {
    if (m_fd < 0)
        return;
    close();
    m_listener.on_closed(*this, why);
}

void FrameClient::on_events(std::uint32_t events) {
    if (m_fd < 0)
        return;
    if (!m_connected && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int error = 0;
        socklen_t len = sizeof error;
        ::getsockopt(m_fd, SOL_SOCKET, SO_ERROR, &error, &len);
        if (error != 0)
            return fail(std::string("connect: ") + std::strerror(error));
        m_connected = true;
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        on_readable();
    if (m_fd >= 0 && (events & EPOLLOUT))
        flush();
}

void FrameClient::send_to(std::uint32_t to, std::span<const std::uint8_t> body) {
    queue_frame(to, body);
    flush();
}

void FrameClient::queue_frame(std::uint32_t head, std::span<const std::uint8_t> body) {
    if (m_out_offset == m_out.size()) {
        m_out.clear();
        m_out_offset = 0;
    }
    append_be32(m_out, static_cast<std::uint32_t>(4 + body.size()));
    append_be32(m_out, head);
    m_out.insert(m_out.end(), body.begin(), body.end());
}

void FrameClient::flush() {
    if (m_fd < 0 || !m_connected)
        return;
    while (m_out_offset < m_out.size()) {
        ssize_t n =
            ::send(m_fd, m_out.data() + m_out_offset, m_out.size() - m_out_offset, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n < 0)
            return fail(std::string("send: ") + std::strerror(errno));
        m_out_offset += static_cast<std::size_t>(n);
    }
    bool want = m_out_offset < m_out.size();
    if (want != m_want_write) {
        m_want_write = want;
        m_loop.modify(m_fd, EPOLLIN | (want ? EPOLLOUT : 0u), *this);
    }
}

void FrameClient::on_readable() {
    auto scratch = m_loop.scratch();
    for (int i = 0; i < 8; ++i) {
        ssize_t n = ::recv(m_fd, scratch.data(), scratch.size(), 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        if (n <= 0)
            return fail(n == 0 ? "the floor closed the connection"
                               : std::string("recv: ") + std::strerror(errno));
        m_in.insert(m_in.end(), scratch.data(), scratch.data() + n);
        if (static_cast<std::size_t>(n) < scratch.size())
            break;
    }
    std::size_t at = 0;
    while (m_in.size() - at >= 4) {
        std::uint32_t len = read_be32(m_in.data() + at);
        if (m_in.size() - at < 4 + std::size_t{len})
            break;
        if (len == 0 && !m_ready) {
            m_ready = true;
            m_listener.on_ready(*this);
        } else if (len >= 4) {
            m_listener.on_frame(*this, std::span(m_in.data() + at + 8, len - 4));
        }
        if (m_fd < 0)
            return;
        at += 4 + len;
    }
    m_in.erase(m_in.begin(), m_in.begin() + static_cast<std::ptrdiff_t>(at));
}

} // namespace veil::bench
