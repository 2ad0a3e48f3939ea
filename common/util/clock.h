// Clock: injected so that expiry and retry logic can be tested with a fake time.
#pragma once

#include <chrono>
#include <cstdint>

namespace veil {

class Clock {
public:
    virtual ~Clock() = default;
    // Milliseconds since the Unix epoch.
    virtual std::int64_t now_ms() const = 0;
};

class SystemClock final : public Clock {
public:
    std::int64_t now_ms() const override {
        using namespace std::chrono;
        return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
    }
};

// A clock tests set by hand.
class ManualClock final : public Clock {
public:
    explicit ManualClock(std::int64_t start_ms = 1'700'000'000'000)
        : m_now(start_ms) {}
    std::int64_t now_ms() const override { return m_now; }
    void set(std::int64_t ms) { m_now = ms; }
    void advance(std::int64_t ms) { m_now += ms; }

private:
    std::int64_t m_now;
};

} // namespace veil
