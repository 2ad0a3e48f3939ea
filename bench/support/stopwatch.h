// Stopwatch: elapsed wall time on the monotonic clock, for timing one phase of a workload.
#pragma once

#include <chrono>

namespace veil::bench {

class Stopwatch {
public:
    Stopwatch()
        : m_start(Clock::now()) {}

    void restart() { m_start = Clock::now(); }
    double seconds() const { return std::chrono::duration<double>(Clock::now() - m_start).count(); }
    double milliseconds() const { return seconds() * 1000.0; }

private:
    using Clock = std::chrono::steady_clock;
    Clock::time_point m_start;
};

} // namespace veil::bench
