#include "loadgen/event_loop.h"

#include "support/workload.h"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace veil::bench {

namespace {

constexpr int kMaxEvents = 512;

std::array<std::uint8_t, 64 * 1024>& scratch_buffer() {
    static std::array<std::uint8_t, 64 * 1024> buffer;
    return buffer;
}

} // namespace

EventLoop::EventLoop()
    : m_epoll(::epoll_create1(EPOLL_CLOEXEC)) {
    if (m_epoll < 0)
        fail(std::string("epoll_create1: ") + std::strerror(errno));
}

EventLoop::~EventLoop() {
    ::close(m_epoll);
}

void EventLoop::add(int fd, std::uint32_t events, Pollable& owner) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = &owner;
    if (::epoll_ctl(m_epoll, EPOLL_CTL_ADD, fd, &ev) != 0)
        fail(std::string("epoll_ctl add: ") + std::strerror(errno));
}

void EventLoop::modify(int fd, std::uint32_t events, Pollable& owner) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = &owner;
    if (::epoll_ctl(m_epoll, EPOLL_CTL_MOD, fd, &ev) != 0)
        fail(std::string("epoll_ctl mod: ") + std::strerror(errno));
}

void EventLoop::remove(int fd) {
    ::epoll_ctl(m_epoll, EPOLL_CTL_DEL, fd, nullptr);
}

int EventLoop::poll(std::chrono::nanoseconds timeout) {
    std::array<epoll_event, kMaxEvents> events;
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(timeout.count() / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(timeout.count() % 1'000'000'000);
    int n = ::epoll_pwait2(m_epoll, events.data(), kMaxEvents, &ts, nullptr);
    if (n < 0) {
        if (errno == EINTR)
            return 0;
        fail(std::string("epoll_wait: ") + std::strerror(errno));
    }
    for (int i = 0; i < n; ++i)
        static_cast<Pollable*>(events[static_cast<std::size_t>(i)].data.ptr)
            ->on_events(events[static_cast<std::size_t>(i)].events);
    return n;
}

std::span<std::uint8_t> EventLoop::scratch() {
    return scratch_buffer();
}

std::chrono::nanoseconds until(TimePoint deadline, std::chrono::nanoseconds cap) {
    auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - Clock::now());
    return std::clamp(left, std::chrono::nanoseconds(0), cap);
}

long raise_fd_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return -1;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
        ::getrlimit(RLIMIT_NOFILE, &limit);
    }
    return static_cast<long>(limit.rlim_cur);
}

int connect_loopback(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 &&
        errno != EINPROGRESS) {
        ::close(fd);
        return -1;
    }
    return fd;
}

} // namespace veil::bench
