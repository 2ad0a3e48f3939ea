// A JSON-RPC 2.0 client for `veil daemon`'s Unix socket, shared by the integration tests that
// drive a daemon (scripting, crash safety). Every wait has a deadline; nothing sleeps.
#pragma once

#include <catch2/catch.hpp>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

namespace veil::test::e2e {

using namespace std::chrono_literals;

// A JSON-RPC client over the daemon's Unix socket, one line per request and per answer.
class RpcClient {
public:
    explicit RpcClient(const std::filesystem::path& socket) {
        m_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(m_fd >= 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        const std::string path = socket.string();
        REQUIRE(path.size() < sizeof addr.sun_path);
        std::copy(path.begin(), path.end(), addr.sun_path);
        REQUIRE(::connect(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    }
    ~RpcClient() { ::close(m_fd); }
    RpcClient(const RpcClient&) = delete;
    RpcClient& operator=(const RpcClient&) = delete;

    void write(const std::string& bytes) {
        std::size_t done = 0;
        while (done < bytes.size()) {
            ssize_t n = ::send(m_fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR)
                continue;
            REQUIRE(n > 0);
            done += static_cast<std::size_t>(n);
        }
    }
    // Sends a request with this id and returns the answer to it (events before it are kept).
    std::string call(int id, const std::string& method, const std::string& params = {}) {
        std::string line = R"({"jsonrpc":"2.0","id":)" + std::to_string(id) + R"(,"method":")" +
                           method + "\"" + (params.empty() ? "" : ",\"params\":" + params) + "}";
        write(line + "\n");
        return wait_for({"\"id\":" + std::to_string(id) + ","});
    }
    // The next line holding every needle, waiting up to timeout; lines passed over stay in
    // seen(). Empty on timeout or when the daemon closed the connection.
    std::string wait_for(const std::vector<std::string>& needles,
                         std::chrono::milliseconds timeout = 30s) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            std::size_t newline;
            while ((newline = m_buffer.find('\n')) != std::string::npos) {
                std::string line = m_buffer.substr(0, newline);
                m_buffer.erase(0, newline + 1);
                m_seen += line + "\n";
                bool all = true;
                for (const auto& n : needles)
                    all = all && line.find(n) != std::string::npos;
                if (all)
                    return line;
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0)
                return {};
            pollfd p{m_fd, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
                continue;
            char chunk[65536];
            ssize_t n = ::recv(m_fd, chunk, sizeof chunk, 0);
            if (n <= 0)
                return {};
            m_buffer.append(chunk, static_cast<std::size_t>(n));
        }
    }
    const std::string& seen() const { return m_seen; }
    // Whether the daemon closes the connection within timeout (what it still sends is dropped).
    bool closed(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            pollfd p{m_fd, POLLIN, 0};
            if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
                return false;
            char chunk[4096];
            if (::recv(m_fd, chunk, sizeof chunk, 0) <= 0)
                return true;
        }
    }

private:
    int m_fd = -1;
    std::string m_buffer;
    std::string m_seen;
};

} // namespace veil::test::e2e
