#include "core/relay_metrics.h"

#include "veil.pb.h"

#include <cctype>
#include <cstdio>

namespace veil::relay {
namespace {

void add_metric(std::string& out, const std::string& name, const char* type, const char* help) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void add_sample(std::string& out, const std::string& name, const std::string& labels,
                const std::string& value) {
    out += name;
    if (!labels.empty())
        out += "{" + labels + "}";
    out += " " + value + "\n";
}

std::string number(double value) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9g", value);
    return buf;
}

} // namespace

void LatencyHistogram::observe(std::chrono::nanoseconds elapsed) {
    const double seconds = std::chrono::duration<double>(elapsed).count();
    for (std::size_t i = 0; i < kBounds.size(); ++i) {
        if (seconds <= kBounds[i]) {
            m_buckets[i].fetch_add(1, std::memory_order_relaxed);
            break;
        }
    }
    m_sum_ns.fetch_add(static_cast<std::uint64_t>(elapsed.count()), std::memory_order_relaxed);
    m_count.fetch_add(1, std::memory_order_relaxed);
}

void LatencyHistogram::render(std::string& out, const std::string& name) const {
    // The count is read first: observations landing meanwhile can only make the buckets larger,
    // and the +Inf bucket is the count, so the cumulative buckets never exceed it.
    const std::uint64_t count = m_count.load(std::memory_order_relaxed);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kBounds.size(); ++i) {
        cumulative += m_buckets[i].load(std::memory_order_relaxed);
        add_sample(out, name + "_bucket", "le=\"" + number(kBounds[i]) + "\"",
                   std::to_string(std::min(cumulative, count)));
    }
    add_sample(out, name + "_bucket", "le=\"+Inf\"", std::to_string(count));
    add_sample(out, name + "_sum", "",
               number(static_cast<double>(m_sum_ns.load(std::memory_order_relaxed)) / 1e9));
    add_sample(out, name + "_count", "", std::to_string(count));
}

void RelayMetrics::count_error(int code) {
    if (code >= 0 && static_cast<std::size_t>(code) < kErrorCodes)
        errors[static_cast<std::size_t>(code)].fetch_add(1, std::memory_order_relaxed);
}

RelayMetrics& relay_metrics() {
    static RelayMetrics metrics;
    return metrics;
}

std::string error_code_label(int code) {
    if (!wire::Error::Code_IsValid(code))
        return "code_" + std::to_string(code);
    std::string name = wire::Error::Code_Name(static_cast<wire::Error::Code>(code));
    for (char& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return name;
}

std::string render_prometheus(const RelayMetrics& m, const MetricsGauges& g) {
    std::string out;
    auto load = [](const auto& a) { return std::to_string(a.load(std::memory_order_relaxed)); };

    add_metric(out, "veil_relay_uptime_seconds", "gauge", "Seconds since the relay started.");
    add_sample(
        out, "veil_relay_uptime_seconds", "",
        number(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - m.started).count()));
    add_metric(out, "veil_relay_open_connections", "gauge",
               "Client connections open (upgrading, or carrying WebSocket frames).");
    add_sample(out, "veil_relay_open_connections", "", std::to_string(g.open_connections));
    add_metric(out, "veil_relay_authenticated_devices", "gauge",
               "Client connections authenticated as a device.");
    add_sample(out, "veil_relay_authenticated_devices", "", load(m.devices_authenticated));
    add_metric(out, "veil_relay_messages_in_total", "counter",
               "Messages the relay stored as new, by kind (retries of a stored send excluded).");
    add_sample(out, "veil_relay_messages_in_total", "kind=\"direct\"", load(m.messages_in_direct));
    add_sample(out, "veil_relay_messages_in_total", "kind=\"group\"", load(m.messages_in_group));
    add_metric(out, "veil_relay_deliveries_acked_total", "counter",
               "Mailbox deliveries the recipient devices acknowledged (messages out).");
    add_sample(out, "veil_relay_deliveries_acked_total", "", load(m.deliveries_acked));
    add_metric(out, "veil_relay_auth_failures_total", "counter",
               "Registration and authentication attempts refused.");
    add_sample(out, "veil_relay_auth_failures_total", "", load(m.auth_failures));
    add_metric(out, "veil_relay_connections_refused_total", "counter",
               "Connections closed at once because their address opened too many.");
    add_sample(out, "veil_relay_connections_refused_total", "", load(m.connections_refused));
    add_metric(out, "veil_relay_quota_refusals_total", "counter",
               "Sends refused because a recipient's queue or a sender's share of it was full.");
    add_sample(out, "veil_relay_quota_refusals_total", "", load(m.quota_refusals));
    add_metric(out, "veil_relay_errors_total", "counter",
               "Error responses sent to clients, by wire error code.");
    for (std::size_t code = 0; code < RelayMetrics::kErrorCodes; ++code) {
        const std::uint64_t n = m.errors[code].load(std::memory_order_relaxed);
        if (n > 0 || wire::Error::Code_IsValid(static_cast<int>(code)))
            add_sample(out, "veil_relay_errors_total",
                       "code=\"" + error_code_label(static_cast<int>(code)) + "\"",
                       std::to_string(n));
    }
    add_metric(out, "veil_relay_store_commit_seconds", "histogram",
               "Time of each mailbox commit (a group commit, or one send's transaction).");
    m.store_commit.render(out, "veil_relay_store_commit_seconds");
    add_metric(out, "veil_relay_queued_messages", "gauge",
               "Mailbox rows waiting for a device (-1: the store did not answer).");
    add_sample(out, "veil_relay_queued_messages", "", std::to_string(g.queued_messages));
    add_metric(out, "veil_relay_blobs", "gauge", "Attachment blobs stored.");
    add_sample(out, "veil_relay_blobs", "", std::to_string(g.blob_count));
    add_metric(out, "veil_relay_blob_bytes", "gauge", "Bytes of attachment blobs stored.");
    add_sample(out, "veil_relay_blob_bytes", "", std::to_string(g.blob_bytes));
    if (m.redis_configured.load(std::memory_order_relaxed)) {
        add_metric(out, "veil_relay_redis_up", "gauge",
                   "1 while the wake-up subscription to Redis is established, else 0.");
        add_sample(out, "veil_relay_redis_up", "",
                   m.redis_up.load(std::memory_order_relaxed) ? "1" : "0");
        add_metric(out, "veil_relay_redis_connect_failures_total", "counter",
                   "Connections to Redis (subscriber and publisher) that failed or broke.");
        add_sample(out, "veil_relay_redis_connect_failures_total", "",
                   load(m.redis_connect_failures));
        add_metric(out, "veil_relay_redis_backoff_milliseconds", "gauge",
                   "The subscriber's wait before its next attempt to reach Redis (0: up).");
        add_sample(out, "veil_relay_redis_backoff_milliseconds", "", load(m.redis_backoff_ms));
    }
    return out;
}

} // namespace veil::relay
