// B4: messages queued for one offline device, then that device connects: the time from its
// connect to the relay's answer to its last ack.
#include "loadgen/connector.h"
#include "loadgen/messages.h"
#include "loadgen/relay_under_test.h"
#include "loadgen/stats.h"
#include "loadgen/workloads.h"
#include "support/workload.h"

#include <thread>
#include <unordered_map>

namespace veil::bench {

namespace {

// The sender: keeps `window` SendRequests in flight until `total` are stored.
class Filler final : public RelayListener {
public:
    Filler(RelayClient& client, std::string to, std::uint64_t total, std::size_t window)
        : m_client(client)
        , m_to(std::move(to))
        , m_total(total)
        , m_window(window) {
        client.set_listener(*this);
    }

    void start() {
        for (std::size_t i = 0; i < m_window; ++i)
            send_next();
        m_client.flush();
    }
    bool done() const { return m_stored + m_errors >= m_total || m_closed; }
    // Sends nothing more; done() once the requests already sent are answered.
    void stop() { m_total = m_next; }
    std::uint64_t stored() const { return m_stored; }
    std::uint64_t errors() const { return m_errors; }

    void on_ready(RelayClient&) override {}
    void on_envelope(RelayClient&, const wire::Envelope& e) override {
        if (e.has_send_result())
            ++m_stored;
        else if (e.has_error())
            ++m_errors;
        else
            return;
        send_next();
    }
    void on_closed(RelayClient&, std::string_view) override { m_closed = true; }

private:
    void send_next() {
        if (m_next >= m_total)
            return;
        m_client.queue(send_request(m_next + 1, m_to, m_next));
        ++m_next;
    }

    RelayClient& m_client;
    std::string m_to;
    std::uint64_t m_total;
    std::size_t m_window;
    std::uint64_t m_next = 0;
    std::uint64_t m_stored = 0;
    std::uint64_t m_errors = 0;
    bool m_closed = false;
};

// The device coming back: acks what each read brought and times the drain.
class Drainer final : public RelayListener {
public:
    explicit Drainer(std::uint64_t expected)
        : m_expected(expected)
        , m_seen(expected, 0) {}

    bool done() const { return m_acked >= m_expected || m_closed; }
    std::uint64_t acked() const { return m_acked; }
    std::uint64_t ack_requests() const { return m_ack_requests; }

    void on_ready(RelayClient&) override { authenticated = Clock::now(); }
    void on_envelope(RelayClient&, const wire::Envelope& e) override {
        if (e.has_deliver()) {
            auto seq = sequence_of(e.deliver());
            if (!seq || *seq >= m_expected)
                ++unknown;
            else if (m_seen[*seq]++ == 0)
                ++delivered;
            else
                ++duplicates;
            last_deliver = Clock::now();
            m_acks.push_back(e.deliver().delivery_id());
        } else if (e.has_queue_drained()) {
            queue_drained = Clock::now();
        } else if (e.has_ok()) {
            auto it = m_ack_sizes.find(e.request_id());
            if (it != m_ack_sizes.end()) {
                m_acked += it->second;
                m_ack_sizes.erase(it);
                if (m_acked >= m_expected)
                    last_ack = Clock::now();
            }
        } else if (e.has_error()) {
            ++errors;
        }
    }
    void on_batch_end(RelayClient& client) override {
        m_sent.clear();
        queue_acks(client, m_acks, &m_sent);
        for (auto [id, count] : m_sent)
            m_ack_sizes[id] = count;
        m_ack_requests += m_sent.size();
    }
    void on_closed(RelayClient&, std::string_view why) override {
        m_closed = true;
        closed_why = std::string(why);
    }

    TimePoint authenticated{}, last_deliver{}, queue_drained{}, last_ack{};
    std::uint64_t delivered = 0, duplicates = 0, unknown = 0, errors = 0;
    std::string closed_why;

private:
    std::uint64_t m_expected;
    std::vector<std::uint8_t> m_seen;
    std::vector<std::uint64_t> m_acks;
    std::vector<std::pair<std::uint64_t, std::size_t>> m_sent;
    std::unordered_map<std::uint64_t, std::size_t> m_ack_sizes;
    std::uint64_t m_acked = 0;
    std::uint64_t m_ack_requests = 0;
    bool m_closed = false;
};

double ms_since(TimePoint from, TimePoint to) {
    return to == TimePoint{} ? NAN : seconds_between(from, to) * 1000.0;
}

} // namespace

JsonLine run_b4_offline_drain() {
    const auto total = static_cast<std::uint64_t>(env_count("VEIL_BENCH_B4_MESSAGES", 40'000));
    const auto fill_limit = std::chrono::seconds(env_count("VEIL_BENCH_B4_FILL_SECONDS", 30));
    const auto drain_limit = std::chrono::seconds(env_count("VEIL_BENCH_B4_DRAIN_SECONDS", 10));
    JsonLine line("B4");

    RelayUnderTest relay("b4");
    EventLoop loop;
    Signer signer;
    Connector connector(loop, relay.port(), signer, "b4u");
    std::vector<std::unique_ptr<RelayClient>> clients; // 0: the offline device, 1: the sender
    auto setup = connector.run(clients, 2, RelayClient::Goal::register_account, 0, true,
                               Clock::now() + std::chrono::seconds(20));
    if (setup.ready < 2)
        fail("B4 could not register its accounts: " + setup.first_error);
    const std::string device = clients[0]->username();
    clients[0]->close(); // offline from here on
    std::this_thread::sleep_for(std::chrono::milliseconds(200));

    Filler filler(*clients[1], device, total, 256);
    const TimePoint fill_start = Clock::now();
    const TimePoint fill_deadline = fill_start + fill_limit;
    filler.start();
    while (!filler.done() && Clock::now() < fill_deadline)
        loop.poll(until(fill_deadline));
    // At the time limit, the sends in flight are answered before the count is taken, so that
    // nothing is stored behind the device's back once it connects.
    filler.stop();
    const TimePoint answered_deadline = Clock::now() + std::chrono::seconds(10);
    while (!filler.done() && Clock::now() < answered_deadline)
        loop.poll(until(answered_deadline));
    const double fill_seconds = seconds_between(fill_start, Clock::now());
    const std::uint64_t queued = filler.stored();
    clients[1]->close();
    note("B4: queued " + std::to_string(queued) + " messages in " + std::to_string(fill_seconds) +
         " s");

    const long rss_before = relay.process().rss_kib();
    Drainer drainer(queued);
    RelayClient device_client(loop, relay.port(), signer, device, RelayClient::Goal::authenticate,
                              drainer, 0);
    const TimePoint connect = Clock::now();
    const TimePoint drain_deadline = connect + drain_limit;
    if (!device_client.start())
        fail("B4 could not connect the device");
    while (!drainer.done() && Clock::now() < drain_deadline)
        loop.poll(until(drain_deadline));
    const long peak_rss = relay.process().peak_rss_kib();
    if (drainer.acked() < queued)
        note("B4: only " + std::to_string(drainer.acked()) + " of " + std::to_string(queued) +
             " acks were answered within " + std::to_string(drain_limit.count()) + " s");
    note("B4: " + std::to_string(drainer.delivered) + " delivered; last ack after " +
         std::to_string(ms_since(connect, drainer.last_ack)) + " ms" +
         (drainer.closed_why.empty() ? "" : "; connection ended: " + drainer.closed_why));

    line.integer("messages", static_cast<std::int64_t>(total))
        .integer("queued", static_cast<std::int64_t>(queued))
        .number("fill_msgs_per_s", static_cast<double>(queued) / fill_seconds)
        .number("connect_to_last_ack_ms", ms_since(connect, drainer.last_ack))
        // The drain is linear in the mailbox (500-row pages, one Deliver and one ack id per
        // message), so this scales the measured drain to the target's 100,000: an estimate.
        .number("connect_to_last_ack_ms_100k",
                ms_since(connect, drainer.last_ack) * 100'000.0 / static_cast<double>(queued))
        .number("connect_to_auth_ms", ms_since(connect, drainer.authenticated))
        .number("connect_to_last_deliver_ms", ms_since(connect, drainer.last_deliver))
        .number("connect_to_queue_drained_ms", ms_since(connect, drainer.queue_drained))
        .integer("delivered", static_cast<std::int64_t>(drainer.delivered))
        .integer("acked", static_cast<std::int64_t>(drainer.acked()))
        .integer("ack_requests", static_cast<std::int64_t>(drainer.ack_requests()))
        .integer("duplicates", static_cast<std::int64_t>(drainer.duplicates))
        .integer("unexpected", static_cast<std::int64_t>(drainer.unknown))
        .integer("errors", static_cast<std::int64_t>(drainer.errors + filler.errors()))
        .number("relay_rss_before_mib", static_cast<double>(rss_before) / 1024.0)
        .number("relay_peak_rss_mib", static_cast<double>(peak_rss) / 1024.0)
        .text("connection_end", drainer.closed_why.empty() ? "none" : drainer.closed_why);
    device_client.close();
    clients.clear();
    std::string ended = relay.stop_and_check();
    line.text("relay_exit", ended.empty() ? "clean" : ended);
    return line;
}

} // namespace veil::bench
