// veil-bench-raw-floor: the raw-relay floor for B2. A minimal single-threaded epoll relay of
// length-prefixed frames (a 4-byte big-endian length, then that many bytes), with no storage,
// no crypto, no WebSocket and no protobuf: what relaying costs on this machine when a relay does
// nothing else. The load generator drives it exactly as it drives veil-relay.
//
// Protocol: a client's first frame is its 4-byte id; the relay answers with an empty frame once
// the id is registered. Every later frame begins with the 4-byte id of the client it is for and
// is forwarded to that client unchanged (frames for unknown ids are dropped).
//
//   veil-bench-raw-floor [--listen-port N] [--max-seconds S]
//
// Listens on 127.0.0.1 only, prints "raw-floor listening on 127.0.0.1:PORT" on stdout, and
// stops on SIGTERM or SIGINT, or by itself after --max-seconds (default 600).
#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace {

constexpr std::uint32_t kMaxFrame = 64 * 1024;
// A connection whose unwritten bytes pass this is dropped: the floor stays bounded.
constexpr std::size_t kMaxOutgoing = 16 * 1024 * 1024;

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int) {
    g_stop = 1;
}

std::uint32_t read_be32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           std::uint32_t{p[3]};
}

struct Conn {
    int fd = -1;
    bool named = false;
    std::uint32_t id = 0;
    std::vector<std::uint8_t> in;
    std::vector<std::uint8_t> out;
    std::size_t out_offset = 0;
    bool want_write = false;
    bool dead = false;
};

class Relay {
public:
    explicit Relay(int listen_fd)
        : m_listen(listen_fd)
        , m_epoll(::epoll_create1(EPOLL_CLOEXEC)) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.ptr = nullptr;
        ::epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_listen, &ev);
    }

    void run(std::chrono::seconds limit) {
        const auto end = std::chrono::steady_clock::now() + limit;
        std::array<epoll_event, 256> events;
        while (!g_stop && std::chrono::steady_clock::now() < end) {
            int n = ::epoll_wait(m_epoll, events.data(), static_cast<int>(events.size()), 200);
            for (int i = 0; i < n; ++i) {
                const auto& ev = events[static_cast<std::size_t>(i)];
                if (ev.data.ptr == nullptr)
                    accept_all();
                else
                    on_events(*static_cast<Conn*>(ev.data.ptr), ev.events);
            }
            reap();
        }
    }

private:
    void accept_all() {
        for (;;) {
            int fd = ::accept4(m_listen, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0)
                return;
            int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            auto conn = std::make_unique<Conn>();
            conn->fd = fd;
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.ptr = conn.get();
            ::epoll_ctl(m_epoll, EPOLL_CTL_ADD, fd, &ev);
            m_conns.emplace(fd, std::move(conn));
        }
    }

    void on_events(Conn& c, std::uint32_t events) {
        if (c.dead)
            return;
        if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
            read_all(c);
        if (!c.dead && (events & EPOLLOUT))
            write_some(c);
    }

    void read_all(Conn& c) {
        std::array<std::uint8_t, 64 * 1024> buffer;
        for (;;) {
            ssize_t n = ::recv(c.fd, buffer.data(), buffer.size(), 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && errno == EAGAIN)
                break;
            if (n <= 0) {
                c.dead = true;
                return;
            }
            c.in.insert(c.in.end(), buffer.data(), buffer.data() + n);
            if (static_cast<std::size_t>(n) < buffer.size())
                break;
        }
        frames(c);
    }

    // Forwards every complete frame in c's input.
    void frames(Conn& c) {
        std::size_t at = 0;
        while (c.in.size() - at >= 4) {
            std::uint32_t len = read_be32(c.in.data() + at);
            if (len > kMaxFrame || (len < 4 && len != 0)) {
                c.dead = true;
                return;
            }
            if (c.in.size() - at < 4 + len)
                break;
            const std::uint8_t* frame = c.in.data() + at;
            if (!c.named) {
                c.named = true;
                c.id = read_be32(frame + 4);
                m_by_id[c.id] = &c;
                const std::uint8_t ready[4] = {0, 0, 0, 0};
                deliver(c, ready, sizeof ready);
            } else if (len >= 4) {
                auto to = m_by_id.find(read_be32(frame + 4));
                if (to != m_by_id.end() && !to->second->dead)
                    deliver(*to->second, frame, 4 + len);
            }
            at += 4 + len;
        }
        c.in.erase(c.in.begin(), c.in.begin() + static_cast<std::ptrdiff_t>(at));
    }

    void deliver(Conn& to, const std::uint8_t* bytes, std::size_t size) {
        if (to.out.size() - to.out_offset + size > kMaxOutgoing) {
            to.dead = true;
            return;
        }
        to.out.insert(to.out.end(), bytes, bytes + size);
        if (!to.want_write)
            write_some(to);
    }

    void write_some(Conn& c) {
        while (c.out_offset < c.out.size()) {
            ssize_t n = ::send(c.fd, c.out.data() + c.out_offset, c.out.size() - c.out_offset,
                               MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && errno == EAGAIN)
                break;
            if (n < 0) {
                c.dead = true;
                return;
            }
            c.out_offset += static_cast<std::size_t>(n);
        }
        if (c.out_offset == c.out.size()) {
            c.out.clear();
            c.out_offset = 0;
        }
        bool want = c.out_offset < c.out.size();
        if (want != c.want_write) {
            c.want_write = want;
            epoll_event ev{};
            ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
            ev.data.ptr = &c;
            ::epoll_ctl(m_epoll, EPOLL_CTL_MOD, c.fd, &ev);
        }
    }

    void reap() {
        for (auto it = m_conns.begin(); it != m_conns.end();) {
            Conn& c = *it->second;
            if (!c.dead) {
                ++it;
                continue;
            }
            if (c.named) {
                auto named = m_by_id.find(c.id);
                if (named != m_by_id.end() && named->second == &c)
                    m_by_id.erase(named);
            }
            ::close(c.fd);
            it = m_conns.erase(it);
        }
    }

    int m_listen;
    int m_epoll;
    std::unordered_map<int, std::unique_ptr<Conn>> m_conns;
    std::unordered_map<std::uint32_t, Conn*> m_by_id;
};

long option(int argc, char** argv, const std::string& name, long fallback) {
    for (int i = 1; i + 1 < argc; ++i) {
        if (argv[i] == name)
            return std::strtol(argv[i + 1], nullptr, 10);
    }
    return fallback;
}

} // namespace

int main(int argc, char** argv) {
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(option(argc, argv, "--listen-port", 0)));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd, 4096) != 0) {
        std::fprintf(stderr, "raw-floor: cannot listen: %s\n", std::strerror(errno));
        return 1;
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    std::printf("raw-floor listening on 127.0.0.1:%u\n", unsigned{ntohs(addr.sin_port)});
    std::fflush(stdout);
    Relay relay(fd);
    relay.run(std::chrono::seconds(option(argc, argv, "--max-seconds", 600)));
    return 0;
}
