// WorkerLatch: holds a SessionBridge's worker thread on a latch only the test opens, so that a
// test can check what the GUI thread does while the worker is busy (issue 7); gui_turns():
// whether the GUI thread's event loop still turns meanwhile.
#pragma once

#include "desktop_fixture.h"
#include "session_bridge.h"

#include <QTimer>

#include <atomic>
#include <future>
#include <memory>

namespace veil::desktop::test {

// Holds the worker thread until release() (or the end of the scope).
class WorkerLatch {
public:
    explicit WorkerLatch(SessionBridge& bridge) {
        std::shared_future<void> released = m_release.get_future().share();
        auto started = m_started;
        bridge.post([released, started](qt::ClientSession&) {
            *started = true;
            released.wait();
        });
        REQUIRE(wait_until([&] { return started->load(); }, 10000));
    }
    ~WorkerLatch() { release(); }
    WorkerLatch(const WorkerLatch&) = delete;
    WorkerLatch& operator=(const WorkerLatch&) = delete;

    void release() {
        if (!m_released) {
            m_released = true;
            m_release.set_value();
        }
    }

private:
    std::promise<void> m_release;
    std::shared_ptr<std::atomic<bool>> m_started = std::make_shared<std::atomic<bool>>(false);
    bool m_released = false;
};

// The GUI thread turns: a 5 ms timer fires five times (while the worker is held).
inline bool gui_turns() {
    int ticks = 0;
    QTimer timer;
    timer.setInterval(5);
    QObject::connect(&timer, &QTimer::timeout, [&] { ++ticks; });
    timer.start();
    return wait_until([&] { return ticks >= 5; }, 5000);
}

} // namespace veil::desktop::test
