#include "core/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace veil::relay {
namespace {

constexpr std::int64_t kSweepIntervalMs = 10'000;

} // namespace

RateLimiter::RateLimiter(double rate_per_second, double burst)
    : m_rate(rate_per_second)
    , m_burst(std::max(burst, 1.0)) {}

RateLimiter::Bucket& RateLimiter::refill(const std::string& key, std::int64_t now_ms) {
    auto [it, fresh] = m_buckets.try_emplace(key, Bucket{m_burst, now_ms});
    Bucket& b = it->second;
    if (!fresh && now_ms > b.updated_ms) {
        b.tokens = std::min(
            m_burst, b.tokens + m_rate * static_cast<double>(now_ms - b.updated_ms) / 1000.0);
        b.updated_ms = now_ms;
    }
    return b;
}

std::optional<std::uint32_t> RateLimiter::take(const std::string& key, std::int64_t now_ms,
                                               double cost) {
    if (unlimited())
        return std::nullopt;
    std::lock_guard lock(m_mutex);
    sweep(now_ms);
    Bucket& b = refill(key, now_ms);
    if (b.tokens >= cost) {
        b.tokens -= cost;
        return std::nullopt;
    }
    const double wait_ms = std::ceil((cost - b.tokens) / m_rate * 1000.0);
    return static_cast<std::uint32_t>(std::clamp(wait_ms, 1.0, 3'600'000.0));
}

void RateLimiter::charge(const std::string& key, std::int64_t now_ms, double cost) {
    if (unlimited())
        return;
    std::lock_guard lock(m_mutex);
    Bucket& b = refill(key, now_ms);
    // Debt is bounded, so that a long attack cannot lock a shared address out for hours.
    b.tokens = std::max(b.tokens - cost, -m_burst);
}

void RateLimiter::sweep(std::int64_t now_ms) {
    if (now_ms < m_next_sweep_ms)
        return;
    m_next_sweep_ms = now_ms + kSweepIntervalMs;
    for (auto it = m_buckets.begin(); it != m_buckets.end();) {
        const double full_at = static_cast<double>(it->second.updated_ms) +
                               (m_burst - it->second.tokens) / m_rate * 1000.0;
        if (full_at <= static_cast<double>(now_ms))
            it = m_buckets.erase(it);
        else
            ++it;
    }
}

} // namespace veil::relay
