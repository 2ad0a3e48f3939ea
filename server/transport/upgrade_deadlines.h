// UpgradeDeadlines: a whole-request deadline for the HTTP phase of a connection. Poco's own
// timeout bounds each read, so a client dribbling one header byte at a time would hold one of
// its few threads for as long as it likes; this watchdog shuts such a socket down once the
// deadline passes, which ends the blocked read at once.
//
// Thread-safe. A socket is armed when its HTTP connection starts and disarmed before the
// socket is closed (or before an upgraded socket is handed to a reactor), so an armed fd
// number always names the socket it was armed for.
//
// FIXME(#3): more slow clients than Poco has HTTP threads still delay other upgrades for up to
// the deadline; reading the upgrade request in the reactors would take Poco out of that path.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace veil::relay::transport {

class UpgradeDeadlines {
public:
    explicit UpgradeDeadlines(std::chrono::milliseconds limit);
    ~UpgradeDeadlines();
    UpgradeDeadlines(const UpgradeDeadlines&) = delete;
    UpgradeDeadlines& operator=(const UpgradeDeadlines&) = delete;

    void arm(int fd);
    // True if the deadline had not passed: the socket is intact and no longer watched. False
    // if it was shut down (or never armed).
    bool disarm(int fd);
    // Shuts down every socket still armed (server shutdown).
    void abort_all();

private:
    using Clock = std::chrono::steady_clock;

    void run();

    const std::chrono::milliseconds m_limit;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::map<int, Clock::time_point> m_armed; // guarded by m_mutex
    bool m_stop = false;                      // guarded by m_mutex
    std::thread m_thread;
};

} // namespace veil::relay::transport
