#include "support/workload.h"

#include "util/log.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>

namespace veil::bench {

void fail(std::string_view what) {
    std::cerr << "bench: " << what << "\n";
    std::exit(1);
}

void fail(std::string_view what, const Error& error) {
    std::cerr << "bench: " << what << ": " << errc_name(error.code) << ": " << error.message
              << "\n";
    std::exit(1);
}

void note(std::string_view line) {
    std::cerr << line << "\n";
}

void quiet_logs() {
    log::set_level(log::Level::warn);
}

double median(std::vector<double> sample) {
    if (sample.empty())
        fail("median of an empty sample");
    std::sort(sample.begin(), sample.end());
    std::size_t mid = sample.size() / 2;
    if (sample.size() % 2 == 1)
        return sample[mid];
    return (sample[mid - 1] + sample[mid]) / 2.0;
}

long env_count(const char* name, long fallback) {
    const char* text = std::getenv(name);
    if (text == nullptr || *text == '\0')
        return fallback;
    char* end = nullptr;
    long value = std::strtol(text, &end, 10);
    if (*end != '\0' || value <= 0)
        fail(std::string(name) + " must be a positive whole number");
    return value;
}

} // namespace veil::bench
