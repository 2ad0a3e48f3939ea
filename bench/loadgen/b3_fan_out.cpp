// B3: one sender into a group of 1024 members (the sender and 1023 recipient devices, all
// online). Setup creates the group with one signed GroupUpdateRequest; each round is then one
// GroupSendRequest, which the relay stores once and fans out to every other member's device.
#include "loadgen/connector.h"
#include "loadgen/messages.h"
#include "loadgen/relay_under_test.h"
#include "loadgen/signer.h"
#include "loadgen/stats.h"
#include "loadgen/workloads.h"
#include "support/workload.h"

#include "protocol/group_rules.h"
#include "protocol/limits.h"

#include <algorithm>
#include <cstring>

namespace veil::bench {

namespace {

const std::string kGroupId(protocol::kGroupIdBytes, 'B');

class FanOut final : public RelayListener {
public:
    FanOut(std::vector<std::unique_ptr<RelayClient>>& clients, std::size_t recipients)
        : m_clients(clients)
        , m_recipients(recipients)
        , m_acks(clients.size()) {
        for (auto& client : clients)
            client->set_listener(*this);
    }

    // The sender creates the group of every client; waits until every member has the change.
    bool create_group(Signer& signer, EventLoop& loop, TimePoint deadline) {
        wire::GroupState state;
        state.set_group_id(kGroupId);
        state.set_revision(1);
        std::vector<std::string> names;
        for (const auto& client : m_clients)
            names.push_back(client->username());
        std::sort(names.begin(), names.end());
        RelayClient& sender = *m_clients[m_recipients];
        for (const auto& name : names) {
            auto* member = state.add_members();
            member->set_username(name);
            member->set_admin(name == sender.username());
        }
        wire::Envelope e;
        e.set_version(protocol::kProtocolVersion);
        e.set_request_id(sender.next_request_id());
        auto* change = e.mutable_group_update_request()->mutable_change();
        change->set_state(state.SerializeAsString());
        change->set_signer(sender.username());
        Bytes signature = signer.sign(protocol::group_signed_bytes(change->state()));
        change->set_signature(signature.data(), signature.size());
        sender.queue(e);
        sender.flush();
        while (m_changes < m_clients.size() && errors == 0 && Clock::now() < deadline)
            loop.poll(until(deadline));
        return m_changes == m_clients.size() && errors == 0;
    }

    // Sends round r to the group and waits for every delivery (or the deadline).
    bool round(std::size_t r, EventLoop& loop, TimePoint deadline) {
        m_round = r;
        m_delivered = 0;
        m_first = m_last = TimePoint{};
        RelayClient& sender = *m_clients[m_recipients];
        sent = Clock::now();
        auto e = send_request(sender.next_request_id(), "", r);
        const auto s = e.send_request();
        auto* g = e.mutable_group_send_request();
        g->set_group_id(kGroupId);
        g->set_message_id(s.message_id());
        g->set_revision(1);
        g->set_ciphertext(s.to_devices(0).ciphertext());
        sender.queue(e);
        sender.flush();
        while (m_delivered < m_recipients && Clock::now() < deadline)
            loop.poll(until(deadline));
        return m_delivered == m_recipients;
    }

    TimePoint sent{};
    TimePoint first() const { return m_first; }
    TimePoint last() const { return m_last; }
    std::size_t delivered() const { return m_delivered; }
    std::uint64_t errors = 0, strays = 0, closed = 0, unreachable = 0;

    void on_ready(RelayClient&) override {}
    void on_envelope(RelayClient& client, const wire::Envelope& e) override {
        if (e.has_error()) {
            ++errors;
        } else if (e.has_group_send_result()) {
            unreachable += static_cast<std::uint64_t>(e.group_send_result().unreachable_size());
        } else if (e.has_deliver()) {
            m_acks[client.tag()].push_back(e.deliver().delivery_id());
            if (e.deliver().has_group_change()) {
                ++m_changes;
                return;
            }
            auto seq = sequence_of(e.deliver());
            if (!seq || *seq != m_round || e.deliver().group_id() != kGroupId ||
                client.tag() >= m_recipients) {
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
    std::size_t m_changes = 0;
    TimePoint m_first{}, m_last{};
};

} // namespace

JsonLine run_b3_fan_out() {
    // The group holds the sender and the recipients: 1024 members at most.
    const auto recipients =
        std::min<std::size_t>(static_cast<std::size_t>(env_count("VEIL_BENCH_B3_RECIPIENTS", 1023)),
                              protocol::kMaxGroupMembers - 1);
    const auto rounds = static_cast<std::size_t>(env_count("VEIL_BENCH_B3_ROUNDS", 10));
    JsonLine line("B3");
    line.integer("recipients", static_cast<std::int64_t>(recipients))
        .integer("rounds", static_cast<std::int64_t>(rounds))
        .text("fan_out", "one GroupSendRequest per round to a group of " +
                             std::to_string(recipients + 1) + " members, stored once");

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
    if (!fan.create_group(signer, loop, Clock::now() + std::chrono::seconds(30)))
        fail("B3 could not create its group");
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
        .integer("errors", static_cast<std::int64_t>(fan.errors + fan.unreachable))
        .integer("strays", static_cast<std::int64_t>(fan.strays))
        .integer("connections_dropped", static_cast<std::int64_t>(fan.closed));
    clients.clear();
    std::string ended = relay.stop_and_check();
    line.text("relay_exit", ended.empty() ? "clean" : ended);
    return line;
}

} // namespace veil::bench
