// RelayMetrics: the relay's counters for the admin listener's /metrics, one set per process
// (relay_metrics()), updated with relaxed atomics on the paths they count so that scraping them
// never takes a lock any reactor or the committer waits for. What is counted, and where:
//   connections and authenticated devices: RelayService::authenticate/close (devices); the
//     transport's own counts (connections, read by the admin listener from the ReactorPool);
//   messages_in: sends the store accepted as new (1:1 and group, by kind), duplicates excluded;
//   deliveries_acked: mailbox rows the recipients' acks deleted (messages out);
//   store commits: the time of each write_mailbox/enqueue commit, as a histogram;
//   errors: every Error frame the service answers with, by its wire code.
// render_prometheus() writes them in the Prometheus text exposition format (version 0.0.4).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace veil::relay {

// A histogram of durations with fixed bucket bounds (seconds). observe() is lock-free.
class LatencyHistogram {
public:
    static constexpr std::array<double, 12> kBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                       0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
    void observe(std::chrono::nanoseconds elapsed);
    // Exposition lines (the _bucket, _sum and _count samples) for the metric name.
    void render(std::string& out, const std::string& name) const;

private:
    std::array<std::atomic<std::uint64_t>, kBounds.size()> m_buckets{}; // not cumulative
    std::atomic<std::uint64_t> m_count{0};
    std::atomic<std::uint64_t> m_sum_ns{0};
};

struct RelayMetrics {
    static constexpr std::size_t kErrorCodes = 32; // wire::Error::Code values below this

    std::atomic<std::int64_t> devices_authenticated{0};
    std::atomic<std::uint64_t> messages_in_direct{0};
    std::atomic<std::uint64_t> messages_in_group{0};
    std::atomic<std::uint64_t> deliveries_acked{0};
    std::atomic<std::uint64_t> auth_failures{0};
    std::atomic<std::uint64_t> quota_refusals{0};
    std::atomic<std::uint64_t> connections_refused{0};
    // Scale-out (redis_wakeups.h), rendered only once a relay configured Redis: whether its
    // subscription is up, the connection attempts that failed, and the wait before the next.
    std::atomic<bool> redis_configured{false};
    std::atomic<bool> redis_up{false};
    std::atomic<std::uint64_t> redis_connect_failures{0};
    std::atomic<std::int64_t> redis_backoff_ms{0};
    std::array<std::atomic<std::uint64_t>, kErrorCodes> errors{};
    LatencyHistogram store_commit;
    const std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

    void count_error(int code);
};

// The process's metrics.
RelayMetrics& relay_metrics();

// Values the admin listener gathers at scrape time (not counters of the service).
struct MetricsGauges {
    std::uint64_t open_connections = 0;
    std::int64_t queued_messages = -1; // mailbox rows; -1: the store did not answer
    std::uint64_t blob_count = 0;
    std::uint64_t blob_bytes = 0;
};

// The whole exposition text: every line a # HELP, a # TYPE or a sample, ending with a newline.
std::string render_prometheus(const RelayMetrics& metrics, const MetricsGauges& gauges);

// A wire error code's name for the code label ("rate_limited"), or "code_N" for unknown ones.
std::string error_code_label(int code);

} // namespace veil::relay
