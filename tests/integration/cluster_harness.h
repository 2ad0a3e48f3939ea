// Several relay nodes for the integration tests (issue 9): real veil-relay processes on one
// PostgreSQL database (the `postgres` fixture's server) and one Redis (the `redis` fixture's, or
// a test's own RedisServer that it stops and starts again), and a loopback TCP forwarder that
// stands in for the DNS name or load balancer in front of the nodes.
#pragma once

#include "cli_harness.h"
#include "support/postgres_test_db.h"
#include "support/process.h"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <functional>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace veil::test::e2e {

// The folder of the `redis` fixture (scripts/test-redis.sh): $VEIL_TEST_REDIS_DIR, else the
// build's redis-test folder.
inline std::string redis_fixture_dir() {
    const char* dir = std::getenv("VEIL_TEST_REDIS_DIR");
    return dir && *dir ? dir : VEIL_TEST_REDIS_DIR;
}

inline std::string read_line(const std::filesystem::path& path) {
    std::string text = veil::test::read_file(path);
    return text.substr(0, text.find('\n'));
}

// The fixture's Redis URL. Without a server the test fails saying how to start one.
inline std::string fixture_redis_url() {
    const std::string url = std::filesystem::exists(redis_fixture_dir() + "/url")
                                ? read_line(redis_fixture_dir() + "/url")
                                : std::string();
    if (url.empty())
        FAIL("no test Redis server: run the test through ctest (fixture `redis`), or start one "
             "with scripts/test-redis.sh start "
             << redis_fixture_dir() << " and set VEIL_TEST_REDIS_DIR");
    return url;
}

// A Redis server of the test's own (scripts/test-redis.sh in a folder under the fixture's, so
// that the fixture's stop ends it too if the test dies), which the test may stop and start
// again on the same port.
class RedisServer {
public:
    RedisServer() {
        static int counter = 0;
        m_dir = redis_fixture_dir() + "/own-" + std::to_string(::getpid()) + "-" +
                std::to_string(++counter);
        start("0");
        m_port = read_line(m_dir + "/port");
    }
    ~RedisServer() { script("stop"); }
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    std::string url() const { return "redis://127.0.0.1:" + m_port; }
    void stop() { REQUIRE(script("stop") == 0); }
    // Again on the same port (nothing was kept: pub/sub has no state).
    void start() { start(m_port); }

private:
    void start(const std::string& port) { REQUIRE(script("start", port) == 0); }
    int script(const std::string& command, const std::string& port = {}) const {
        std::vector<std::string> argv = {std::string(VEIL_SOURCE_DIR) + "/scripts/test-redis.sh",
                                         command, m_dir};
        if (!port.empty())
            argv.push_back(port);
        return veil::test::run(argv, {}, redis_fixture_dir(), "test-redis").code;
    }
    std::string m_dir;
    std::string m_port;
};

// The options of a node on the shared database and Redis. Redis is the only way news travels
// between nodes while it is up (no idle poll), so that a test passing proves the wake-ups work;
// while it is down the nodes poll every 200 ms.
inline std::vector<std::string> node_args(const PostgresTestDb& db, const std::string& redis_url) {
    return {"--store", db.conninfo(),          "--redis", redis_url, "--redis-poll-ms",
            "200",     "--redis-idle-poll-ms", "0"};
}

// A node's folder (its data and its logs) under the test's, created.
inline std::filesystem::path node_dir(const std::filesystem::path& dir, const std::string& name) {
    std::filesystem::create_directories(dir / name);
    return dir / name;
}

// Waits until check() holds, polling every 50 ms, up to timeout; returns whether it did.
inline bool eventually(const std::function<bool()>& check,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (check())
            return true;
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

// How many lines a running `veil listen --json` printed with this message text.
inline int printed(veil::test::Process& listener, const std::string& text) {
    return count(listener.out(), "\"text\":\"" + text + "\"");
}

// Waits until the listener printed text; false on timeout.
inline bool arrives(veil::test::Process& listener, const std::string& text,
                    std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    return eventually([&] { return printed(listener, text) > 0; }, timeout);
}

// The port of a ws://127.0.0.1:PORT URL.
inline int port_of(const std::string& url) {
    return std::stoi(url.substr(url.rfind(':') + 1));
}

// A loopback TCP forwarder: each new connection goes to the first backend port that accepts it
// (as a load balancer in front of the relay nodes would send it to a live one); bytes are copied
// both ways until either side closes, and then the other is closed too. It stands in for DNS or
// a load balancer: clients keep one relay URL, this one.
class TcpForwarder {
public:
    explicit TcpForwarder(std::vector<int> backends)
        : m_backends(std::move(backends)) {
        m_listen = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(m_listen >= 0);
        sockaddr_in addr = loopback(0);
        REQUIRE(::bind(m_listen, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(m_listen, 64) == 0);
        socklen_t len = sizeof addr;
        REQUIRE(::getsockname(m_listen, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
        m_port = ntohs(addr.sin_port);
        m_thread = std::thread([this] { run(); });
    }
    ~TcpForwarder() {
        m_stop = true;
        m_thread.join();
        for (auto& p : m_pairs) {
            ::close(p.client);
            ::close(p.backend);
        }
        ::close(m_listen);
    }
    TcpForwarder(const TcpForwarder&) = delete;
    TcpForwarder& operator=(const TcpForwarder&) = delete;

    std::string url() const { return "ws://127.0.0.1:" + std::to_string(m_port); }
    // Connections forwarded to each backend so far, in the order of the constructor's list.
    std::vector<int> forwarded() const {
        std::vector<int> n;
        for (const auto& c : m_forwarded)
            n.push_back(c.load());
        return n;
    }

private:
    struct Pair {
        int client = -1;
        int backend = -1;
    };

    static sockaddr_in loopback(int port) {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<std::uint16_t>(port));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return addr;
    }

    // A connection to the first backend that accepts one; -1 if none does.
    int connect_backend() {
        for (std::size_t i = 0; i < m_backends.size(); ++i) {
            int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            sockaddr_in addr = loopback(m_backends[i]);
            if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
                int one = 1;
                ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                ++m_forwarded[i];
                return fd;
            }
            if (fd >= 0)
                ::close(fd);
        }
        return -1;
    }

    // Copies what from has to to; false when either side is done.
    static bool pump(int from, int to) {
        char buf[65536];
        ssize_t n = ::recv(from, buf, sizeof buf, 0);
        if (n <= 0)
            return false;
        ssize_t done = 0;
        while (done < n) {
            ssize_t w = ::send(to, buf + done, static_cast<std::size_t>(n - done), MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return false;
            done += w;
        }
        return true;
    }

    void run() {
        while (!m_stop) {
            std::vector<pollfd> fds{{m_listen, POLLIN, 0}};
            for (const auto& p : m_pairs) {
                fds.push_back({p.client, POLLIN, 0});
                fds.push_back({p.backend, POLLIN, 0});
            }
            if (::poll(fds.data(), fds.size(), 100) <= 0)
                continue;
            std::vector<Pair> alive;
            for (std::size_t i = 0; i < m_pairs.size(); ++i) {
                const auto& p = m_pairs[i];
                const short c = fds[1 + 2 * i].revents;
                const short b = fds[2 + 2 * i].revents;
                bool ok = true;
                if (c & (POLLIN | POLLHUP | POLLERR))
                    ok = pump(p.client, p.backend);
                if (ok && (b & (POLLIN | POLLHUP | POLLERR)))
                    ok = pump(p.backend, p.client);
                if (ok) {
                    alive.push_back(p);
                } else {
                    ::close(p.client);
                    ::close(p.backend);
                }
            }
            m_pairs = std::move(alive);
            if (fds[0].revents & POLLIN) {
                int client = ::accept4(m_listen, nullptr, nullptr, SOCK_CLOEXEC);
                if (client < 0)
                    continue;
                int backend = connect_backend();
                if (backend < 0) {
                    ::close(client);
                    continue;
                }
                int one = 1;
                ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                m_pairs.push_back({client, backend});
            }
        }
    }

    std::vector<int> m_backends;
    std::array<std::atomic<int>, 8> m_forwarded{};
    int m_listen = -1;
    int m_port = 0;
    std::vector<Pair> m_pairs; // the forwarding thread's
    std::atomic<bool> m_stop{false};
    std::thread m_thread;
};

} // namespace veil::test::e2e
