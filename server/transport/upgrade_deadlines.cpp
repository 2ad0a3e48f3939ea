#include "transport/upgrade_deadlines.h"

#include "util/log.h"

#include <sys/socket.h>

namespace veil::relay::transport {

UpgradeDeadlines::UpgradeDeadlines(std::chrono::milliseconds limit)
    : m_limit(limit)
    , m_thread([this] { run(); }) {}

UpgradeDeadlines::~UpgradeDeadlines() {
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_wake.notify_all();
    m_thread.join();
}

void UpgradeDeadlines::arm(int fd) {
    {
        std::lock_guard lock(m_mutex);
        m_armed[fd] = Clock::now() + m_limit;
    }
    m_wake.notify_all();
}

bool UpgradeDeadlines::disarm(int fd) {
    std::lock_guard lock(m_mutex);
    return m_armed.erase(fd) > 0;
}

void UpgradeDeadlines::abort_all() {
    std::lock_guard lock(m_mutex);
    for (const auto& [fd, deadline] : m_armed)
        ::shutdown(fd, SHUT_RDWR);
    m_armed.clear();
}

void UpgradeDeadlines::run() {
    std::unique_lock lock(m_mutex);
    while (!m_stop) {
        const auto now = Clock::now();
        auto next = now + std::chrono::hours(1);
        for (auto it = m_armed.begin(); it != m_armed.end();) {
            if (it->second <= now) {
                // Under the lock, so the owner cannot close the fd (it disarms first).
                ::shutdown(it->first, SHUT_RDWR);
                log::debug("net", "an HTTP request missed its deadline; connection cut");
                it = m_armed.erase(it);
            } else {
                next = std::min(next, it->second);
                ++it;
            }
        }
        m_wake.wait_until(lock, next);
    }
}

} // namespace veil::relay::transport
