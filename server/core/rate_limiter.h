// RateLimiter: token buckets by key (an account, a network address). A bucket holds up to
// burst tokens and gains rate tokens a second; take(cost) spends them, or says how long to wait
// until it could. Buckets that have refilled completely are forgotten now and then, so memory
// follows the keys active in the last few seconds, not every key ever seen.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace veil::relay {

class RateLimiter {
public:
    // rate <= 0: unlimited (take always succeeds).
    RateLimiter(double rate_per_second, double burst);

    // Spends cost tokens of key's bucket at now_ms: nullopt if it had them, else the
    // milliseconds until it will (at least 1), and nothing is spent.
    std::optional<std::uint32_t> take(const std::string& key, std::int64_t now_ms,
                                      double cost = 1.0);

    // Spends cost tokens even if that leaves the bucket in debt (a failed authentication's
    // penalty): later takes wait until it has refilled.
    void charge(const std::string& key, std::int64_t now_ms, double cost);

    bool unlimited() const { return m_rate <= 0; }

private:
    struct Bucket {
        double tokens = 0;
        std::int64_t updated_ms = 0;
    };
    Bucket& refill(const std::string& key, std::int64_t now_ms);
    void sweep(std::int64_t now_ms);

    double m_rate;
    double m_burst;
    std::mutex m_mutex;
    std::unordered_map<std::string, Bucket> m_buckets;
    std::int64_t m_next_sweep_ms = 0;
};

} // namespace veil::relay
