// B3: one sender to 1024 online devices. Veil has no group protocol yet (issue #4), so the
// sender sends one SendRequest per recipient device, as a client fanning out a group message
// would today; each round sends one message to every recipient.
#include "loadgen/connector.h"
#include "loadgen/messages.h"
#include "loadgen/relay_under_test.h"
#include "loadgen/stats.h"
#include "loadgen/workloads.h"
#include "support/workload.h"

namespace veil::bench {

namespace {

class FanOut final : public RelayListener {
public:
    FanOut(std::vector<std::unique_ptr<RelayClient>>& clients, std::size_t recipients)
        : m_clients(clients)
        , m_recipients(recipients)
        , m_acks(clients.size()) {
        for (auto& client : clients)
            client->set_listener(*this);
    }

    // Sends round r to every recipient and waits for every delivery (or the deadline).
    bool round(std::size_t r, EventLoop& loop, TimePoint deadline) {
        m_round = r;
        m_delivered = 0;
        m_first = m_last = TimePoint{};
        RelayClient& sender = *m_clients[m_recipients];
        sent = Clock::now();
        for (std::size_t i = 0; i < m_recipients; ++i) {
            const std::uint64_t seq = r * m_recipients + i;
            sender.queue(send_request(seq + 1, m_clients[i]->username(), seq));
        }
        sender.flush();
        while (m_delivered < m_recipients && Clock::now() < deadline)
            loop.poll(until(deadline));
        return m_delivered == m_recipients;
    }

    TimePoint sent{};
    TimePoint first() const { return m_first; }
    TimePoint last() const { return m_last; }
    std::size_t delivered() const { return m_delivered; }
    std::uint64_t errors = 0, strays = 0, closed = 0;

    void on_ready(RelayClient&) override {}
    void on_envelope(RelayClient& client, const wire::Envelope& e) override {
        if (e.has_error()) {
            ++errors;
        } else if (e.has_deliver()) {
            auto seq = sequence_of(e.deliver());
            m_acks[client.tag()].push_back(e.deliver().delivery_id());
            if (!seq || *seq / m_recipients != m_round || *seq % m_recipients != client.tag()) {
                ++strays;
                return;
            }
            const TimePoint now = Clock::now();
            if (m_delivered++ == 0)
                m_first = now;
            m_last = now;
        }
    }
    void on_batch_end(RelayClient& client) override {
        if (!m_acks[client.tag()].empty())
            queue_acks(client, m_acks[client.tag()]);
    }
    void on_closed(RelayClient&, std::string_view) override { ++closed; }

private:
    std::vector<std::unique_ptr<RelayClient>>& m_clients;
    std::size_t m_recipients;
    std::vector<std::vector<std::uint64_t>> m_acks;
    std::size_t m_round = 0;
    std::size_t m_delivered = 0;
    TimePoint m_first{}, m_last{};
};

} // namespace

JsonLine run_b3_fan_out() {
    const auto recipients = static_cast<std::size_t>(env_count("VEIL_BENCH_B3_RECIPIENTS", 1024));
    const auto rounds = static_cast<std::size_t>(env_count("VEIL_BENCH_B3_ROUNDS", 10));
    JsonLine line("B3");
    line.integer("recipients", static_cast<std::int64_t>(recipients))
        .integer("rounds", static_cast<std::int64_t>(rounds))
        .text("fan_out", "one SendRequest per recipient device (no group protocol yet)");

    RelayUnderTest relay("b3");
    EventLoop loop;
    Signer signer;
    Connector connector(loop, relay.port(), signer, "b3u");
    std::vector<std::unique_ptr<RelayClient>> clients; // recipients, then the sender
    auto setup = connector.run(clients, recipients + 1, RelayClient::Goal::register_account, 256,
                               true, Clock::now() + std::chrono::seconds(60));
    if (setup.ready < recipients + 1)
        fail("B3 could not register its accounts: " + setup.first_error);

    FanOut fan(clients, recipients);
    std::vector<double> spreads_ms, round_ms;
    double busy_seconds = 0;
    std::size_t delivered = 0, complete = 0;
    for (std::size_t r = 0; r < rounds; ++r) {
        const bool ok = fan.round(r, loop, Clock::now() + std::chrono::seconds(30));
        delivered += fan.delivered();
        if (fan.delivered() == 0)
            break;
        complete += ok ? 1 : 0;
        busy_seconds += seconds_between(fan.sent, fan.last());
        spreads_ms.push_back(seconds_between(fan.first(), fan.last()) * 1000.0);
        round_ms.push_back(seconds_between(fan.sent, fan.last()) * 1000.0);
        if (!ok)
            break;
    }
    note("B3: " + std::to_string(delivered) + " deliveries in " + std::to_string(busy_seconds) +
         " s over " + std::to_string(complete) + " complete rounds");
    line.number("deliveries_per_s", static_cast<double>(delivered) / busy_seconds)
        .integer("deliveries", static_cast<std::int64_t>(delivered))
        .integer("complete_rounds", static_cast<std::int64_t>(complete))
        .number("spread_p50_ms", quantile(spreads_ms, 0.5))
        .number("spread_p99_ms", quantile(spreads_ms, 0.99))
        .number("send_to_last_p50_ms", quantile(round_ms, 0.5))
        .integer("errors", static_cast<std::int64_t>(fan.errors))
        .integer("strays", static_cast<std::int64_t>(fan.strays))
        .integer("connections_dropped", static_cast<std::int64_t>(fan.closed));
    clients.clear();
    std::string ended = relay.stop_and_check();
    line.text("relay_exit", ended.empty() ? "clean" : ended);
    return line;
}

} // namespace veil::bench
