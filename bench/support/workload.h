// Helpers every workload shares: failing loudly, unwrapping results, medians and stderr notes.
// A benchmark has no caller to hand an error to, so an unexpected error ends the process with
// exit status 1 and a sentence on stderr; stdout carries only the JSON line.
#pragma once

#include "util/result.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace veil::bench {

[[noreturn]] void fail(std::string_view what);
[[noreturn]] void fail(std::string_view what, const Error& error);

// Human chatter: one line on stderr.
void note(std::string_view line);

// Silences the library logs (they go to stderr at info) so that the workload's notes stand out.
void quiet_logs();

inline void need(const Status& status, std::string_view what) {
    if (!status)
        fail(what, status.error());
}

template <typename T>
T need(Result<T> result, std::string_view what) {
    if (!result)
        fail(what, result.error());
    return std::move(result).value();
}

// The median of a non-empty sample (the mean of the middle two for an even count).
double median(std::vector<double> sample);

// Reads a positive whole number from the environment variable name, or returns fallback. Lets a
// run change a workload's counts and time limits without recompiling (bench/README.md).
long env_count(const char* name, long fallback);

} // namespace veil::bench
