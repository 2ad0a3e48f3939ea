// Small statistics for latency samples.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

namespace veil::bench {

// The q-quantile (0..1) of a sample by the nearest-rank method; NaN for an empty sample.
// Sorts the sample in place.
inline double quantile(std::vector<double>& sample, double q) {
    if (sample.empty())
        return NAN;
    std::sort(sample.begin(), sample.end());
    auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sample.size())));
    return sample[std::clamp<std::size_t>(rank, 1, sample.size()) - 1];
}

inline double seconds_between(std::chrono::steady_clock::time_point from,
                              std::chrono::steady_clock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

} // namespace veil::bench
