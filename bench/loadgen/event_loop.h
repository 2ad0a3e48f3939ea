// EventLoop: the load generator's one epoll set. Sockets register a Pollable; poll() waits for
// readiness and calls each ready Pollable back on the calling thread. Single-threaded: the load
// generator runs one loop on one thread, so nothing here locks.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>

namespace veil::bench {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

// Something with a file descriptor in the loop.
class Pollable {
public:
    virtual ~Pollable() = default;
    // events is the epoll mask (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP).
    virtual void on_events(std::uint32_t events) = 0;
};

class EventLoop {
public:
    EventLoop();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    // The Pollable must stay alive until remove(fd) (or until the fd is closed).
    void add(int fd, std::uint32_t events, Pollable& owner);
    void modify(int fd, std::uint32_t events, Pollable& owner);
    void remove(int fd);

    // Waits up to timeout (to the nanosecond, through epoll_pwait2, so that open-loop sends
    // leave on time) for events and dispatches them; returns how many were dispatched.
    int poll(std::chrono::nanoseconds timeout);

    // A 64 KiB buffer every socket of this loop reads into (one reader at a time).
    std::span<std::uint8_t> scratch();

private:
    int m_epoll = -1;
};

// The time left until deadline, at least 0 and at most cap.
std::chrono::nanoseconds until(TimePoint deadline,
                               std::chrono::nanoseconds cap = std::chrono::milliseconds(100));

// Raises this process's soft open-file limit to its hard limit; returns the limit in force.
long raise_fd_limit();

// A non-blocking TCP socket (TCP_NODELAY) connecting to 127.0.0.1:port, or -1 if the socket
// cannot be made or the connect fails at once.
int connect_loopback(std::uint16_t port);

} // namespace veil::bench
