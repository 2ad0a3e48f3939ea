// B2: 1:1 relay of 256-byte ciphertexts between pairs of online clients, against veil-relay and
// against the raw floor, in the same run with the same generator.
#include "loadgen/connector.h"
#include "loadgen/frame_client.h"
#include "loadgen/messages.h"
#include "loadgen/pair_traffic.h"
#include "loadgen/relay_under_test.h"
#include "loadgen/workloads.h"
#include "support/workload.h"

#include <cstdlib>
#include <fstream>
#include <memory>

namespace veil::bench {

namespace {

struct B2Settings {
    std::size_t pairs = static_cast<std::size_t>(env_count("VEIL_BENCH_B2_PAIRS", 16));
    std::size_t window = static_cast<std::size_t>(env_count("VEIL_BENCH_B2_WINDOW", 8));
    std::chrono::milliseconds warmup{env_count("VEIL_BENCH_B2_WARMUP_MS", 1000)};
    std::chrono::milliseconds closed{env_count("VEIL_BENCH_B2_CLOSED_MS", 5000)};
    std::chrono::milliseconds open{env_count("VEIL_BENCH_B2_OPEN_MS", 5000)};
    std::size_t max_messages =
        static_cast<std::size_t>(env_count("VEIL_BENCH_B2_MAX_MESSAGES", 4'000'000));
};

// Pairs over veil-relay: client 2p sends to client 2p+1, which acks what each read brought.
class VeilPairs final : public RelayListener {
public:
    VeilPairs(std::vector<std::unique_ptr<RelayClient>>& clients, const B2Settings& settings)
        : m_clients(clients)
        , m_acks(clients.size())
        , m_traffic(settings.pairs, settings.max_messages,
                    [this](std::size_t pair, std::uint64_t seq) { send(pair, seq); }) {
        for (auto& client : clients)
            client->set_listener(*this);
    }

    PairTraffic& traffic() { return m_traffic; }
    std::uint64_t ack_errors() const { return m_ack_errors; }
    std::size_t closed() const { return m_closed; }
    const std::string& first_close() const { return m_first_close; }

    void on_ready(RelayClient&) override {}

    void on_envelope(RelayClient& client, const wire::Envelope& e) override {
        if (e.has_deliver()) {
            if (auto seq = sequence_of(e.deliver()))
                m_traffic.delivered(*seq, Clock::now());
            m_acks[client.tag()].push_back(e.deliver().delivery_id());
        } else if (e.has_error()) {
            if (client.tag() % 2 == 0)
                m_traffic.refused(e.request_id() - 1);
            else
                ++m_ack_errors;
        }
    }

    void on_batch_end(RelayClient& client) override {
        if (!m_acks[client.tag()].empty())
            queue_acks(client, m_acks[client.tag()]);
    }

    void on_closed(RelayClient&, std::string_view why) override {
        if (m_closed++ == 0)
            m_first_close = std::string(why);
    }

private:
    void send(std::size_t pair, std::uint64_t seq) {
        auto& sender = *m_clients[2 * pair];
        if (sender.state() != RelayClient::State::ready)
            return m_traffic.refused(seq);
        sender.send(send_request(seq + 1, m_clients[2 * pair + 1]->username(), seq));
    }

    std::vector<std::unique_ptr<RelayClient>>& m_clients;
    std::vector<std::vector<std::uint64_t>> m_acks;
    PairTraffic m_traffic;
    std::uint64_t m_ack_errors = 0;
    std::size_t m_closed = 0;
    std::string m_first_close;
};

// The same pairs over the raw floor: frame bodies are the sequence number and filler, 256 bytes.
class FloorPairs final : public FrameListener {
public:
    FloorPairs(EventLoop& loop, std::uint16_t port, const B2Settings& settings)
        : m_traffic(settings.pairs, settings.max_messages,
                    [this](std::size_t pair, std::uint64_t seq) { send(pair, seq); })
        , m_body(opaque_payload()) {
        for (std::size_t i = 0; i < 2 * settings.pairs; ++i) {
            m_clients.push_back(std::make_unique<FrameClient>(
                loop, port, static_cast<std::uint32_t>(i + 1), *this, i));
            if (!m_clients.back()->start())
                fail("cannot connect to the raw floor");
        }
    }

    PairTraffic& traffic() { return m_traffic; }
    std::size_t ready() const { return m_ready; }
    std::size_t closed() const { return m_closed; }

    void on_ready(FrameClient&) override { ++m_ready; }
    void on_frame(FrameClient&, std::span<const std::uint8_t> body) override {
        if (body.size() < 8)
            return;
        std::uint64_t seq = 0;
        for (std::size_t i = 0; i < 8; ++i)
            seq |= std::uint64_t{body[i]} << (8 * i);
        m_traffic.delivered(seq, Clock::now());
    }
    void on_closed(FrameClient&, std::string_view) override { ++m_closed; }

private:
    void send(std::size_t pair, std::uint64_t seq) {
        for (std::size_t i = 0; i < 8; ++i)
            m_body[i] = static_cast<std::uint8_t>(seq >> (8 * i));
        m_clients[2 * pair]->send_to(static_cast<std::uint32_t>(2 * pair + 2), m_body);
    }

    std::vector<std::unique_ptr<FrameClient>> m_clients;
    PairTraffic m_traffic;
    Bytes m_body;
    std::size_t m_ready = 0;
    std::size_t m_closed = 0;
};

double run_floor(const B2Settings& settings) {
    RelayUnderTest floor("b2-floor", true);
    EventLoop loop;
    FloorPairs pairs(loop, floor.port(), settings);
    const TimePoint deadline = Clock::now() + std::chrono::seconds(10);
    while (pairs.ready() < 2 * settings.pairs && Clock::now() < deadline)
        loop.poll(until(deadline));
    if (pairs.ready() < 2 * settings.pairs)
        fail("the raw floor did not accept every client");
    auto closed =
        pairs.traffic().closed_loop(loop, settings.window, settings.warmup, settings.closed);
    if (pairs.closed() > 0 || !closed.drained)
        fail("the raw floor lost messages or connections; its figure would mean nothing");
    note("B2 floor: " + std::to_string(static_cast<long>(closed.msgs_per_s)) + " msgs/s");
    return closed.msgs_per_s;
}

// A throwaway PostgreSQL and Redis on loopback for two relay nodes, stopped at the end.
class ClusterServers {
public:
    ClusterServers()
        : m_dir("b2x-servers") {
        script("test-postgres.sh", "start");
        script("test-redis.sh", "start");
        m_conninfo = first_line("pg/conninfo");
        m_redis = first_line("redis/url");
    }
    ~ClusterServers() {
        script("test-redis.sh", "stop");
        script("test-postgres.sh", "stop");
    }
    ClusterServers(const ClusterServers&) = delete;
    ClusterServers& operator=(const ClusterServers&) = delete;

    std::vector<std::string> node_options() const {
        return {"--store", m_conninfo, "--redis", m_redis};
    }

private:
    void script(const std::string& name, const std::string& command) {
        const std::string folder = name == "test-redis.sh" ? "redis" : "pg";
        const std::string line = "'" + std::string(VEIL_BENCH_SCRIPTS) + "/" + name + "' " +
                                 command + " '" + (m_dir.path() / folder).string() + "' >/dev/null";
        if (std::system(line.c_str()) != 0 && command == "start")
            fail("B2x: " + name + " could not start its server");
    }
    std::string first_line(const std::string& file) const {
        std::ifstream in(m_dir.path() / file);
        std::string line;
        std::getline(in, line);
        return line;
    }

    ScratchDir m_dir;
    std::string m_conninfo;
    std::string m_redis;
};

// The figures B2 and B2x share after the closed loop's rate: the open loop's rate and
// latencies, and everything that went wrong over both loops.
void add_open_loop_figures(JsonLine& line, const PairTraffic::Open& open, VeilPairs& pairs) {
    line.number("open_rate_per_s", open.achieved_per_s)
        .integer("open_messages", static_cast<std::int64_t>(open.sent))
        .number("p50_ms", open.p50_ms)
        .number("p99_ms", open.p99_ms)
        .number("p999_ms", open.p999_ms)
        .number("max_ms", open.max_ms)
        .integer("lost", static_cast<std::int64_t>(pairs.traffic().undelivered()))
        .integer("duplicates", static_cast<std::int64_t>(pairs.traffic().duplicates()))
        .integer("refused", static_cast<std::int64_t>(pairs.traffic().refusals()))
        .integer("ack_errors", static_cast<std::int64_t>(pairs.ack_errors()))
        .integer("connections_dropped", static_cast<std::int64_t>(pairs.closed()));
}

} // namespace

// B2x's traffic and figures once the clients are where they belong.
JsonLine finish_b2x(JsonLine& line, const B2Settings& settings, EventLoop& loop,
                    std::vector<std::unique_ptr<RelayClient>>& clients, RelayUnderTest& a,
                    RelayUnderTest& b);

JsonLine run_b2_two_nodes() {
    B2Settings settings;
    JsonLine line("B2x");
    line.integer("pairs", static_cast<std::int64_t>(settings.pairs))
        .integer("window_per_pair", static_cast<std::int64_t>(settings.window))
        .integer("payload_bytes", static_cast<std::int64_t>(opaque_payload().size()));
    ClusterServers servers;
    RelayUnderTest a("b2x-a", false, servers.node_options());
    RelayUnderTest b("b2x-b", false, servers.node_options());
    EventLoop loop;
    Signer signer;
    // Everybody registers and connects on a; then the receivers (odd clients) connect on b
    // and leave a, so that every message crosses from a to b.
    Connector on_a(loop, a.port(), signer, "b2u");
    std::vector<std::unique_ptr<RelayClient>> clients;
    auto setup = on_a.run(clients, 2 * settings.pairs, RelayClient::Goal::register_account, 64,
                          true, Clock::now() + std::chrono::seconds(30));
    if (setup.ready < 2 * settings.pairs)
        fail("B2x could not register its clients: " + setup.first_error);
    // VEIL_BENCH_B2X_ONE_NODE=1: the receivers stay on a, for the one-node baseline on the same
    // store and servers.
    const bool one_node = env_count("VEIL_BENCH_B2X_ONE_NODE", 0) != 0;
    line.text("receivers_on", one_node ? "a" : "b");
    if (one_node)
        return finish_b2x(line, settings, loop, clients, a, b);
    Connector on_b(loop, b.port(), signer, "b2u");
    std::vector<std::unique_ptr<RelayClient>> at_b;
    auto moved = on_b.run(at_b, 2 * settings.pairs, RelayClient::Goal::authenticate, 64, true,
                          Clock::now() + std::chrono::seconds(30));
    if (moved.ready < 2 * settings.pairs)
        fail("B2x could not authenticate its clients on node b: " + moved.first_error);
    for (std::size_t i = 1; i < clients.size(); i += 2)
        clients[i] = std::move(at_b[i]);
    at_b.clear();
    return finish_b2x(line, settings, loop, clients, a, b);
}

JsonLine finish_b2x(JsonLine& line, const B2Settings& settings, EventLoop& loop,
                    std::vector<std::unique_ptr<RelayClient>>& clients, RelayUnderTest& a,
                    RelayUnderTest& b) {
    VeilPairs pairs(clients, settings);
    auto closed =
        pairs.traffic().closed_loop(loop, settings.window, settings.warmup, settings.closed);
    note("B2x closed loop, a to b: " + std::to_string(static_cast<long>(closed.msgs_per_s)) +
         " msgs/s");
    auto open = pairs.traffic().open_loop(loop, closed.msgs_per_s / 2, settings.open);
    note("B2x open loop at " + std::to_string(static_cast<long>(open.achieved_per_s)) + "/s: p50 " +
         std::to_string(open.p50_ms) + " ms, p99 " + std::to_string(open.p99_ms) + " ms");
    line.number("relay_msgs_per_s", closed.msgs_per_s);
    add_open_loop_figures(line, open, pairs);
    clients.clear();
    std::string ended_a = a.stop_and_check();
    std::string ended_b = b.stop_and_check();
    line.text("relay_exit", ended_a.empty() && ended_b.empty() ? "clean" : ended_a + ended_b);
    return line;
}

JsonLine run_b2_one_to_one() {
    B2Settings settings;
    JsonLine line("B2");
    line.integer("pairs", static_cast<std::int64_t>(settings.pairs))
        .integer("window_per_pair", static_cast<std::int64_t>(settings.window))
        .integer("payload_bytes", static_cast<std::int64_t>(opaque_payload().size()));
    const double floor_rate = run_floor(settings);

    RelayUnderTest relay("b2");
    EventLoop loop;
    Signer signer;
    Connector connector(loop, relay.port(), signer, "b2u");
    std::vector<std::unique_ptr<RelayClient>> clients;
    auto setup = connector.run(clients, 2 * settings.pairs, RelayClient::Goal::register_account, 64,
                               true, Clock::now() + std::chrono::seconds(30));
    if (setup.ready < 2 * settings.pairs)
        fail("B2 could not register its clients: " + setup.first_error);
    VeilPairs pairs(clients, settings);
    auto closed =
        pairs.traffic().closed_loop(loop, settings.window, settings.warmup, settings.closed);
    note("B2 relay closed loop: " + std::to_string(static_cast<long>(closed.msgs_per_s)) +
         " msgs/s");
    auto open = pairs.traffic().open_loop(loop, closed.msgs_per_s / 2, settings.open);
    note("B2 relay open loop at " + std::to_string(static_cast<long>(open.achieved_per_s)) +
         "/s: p50 " + std::to_string(open.p50_ms) + " ms, p99 " + std::to_string(open.p99_ms) +
         " ms");

    line.number("relay_msgs_per_s", closed.msgs_per_s)
        .number("floor_msgs_per_s", floor_rate)
        .number("ratio_to_floor", closed.msgs_per_s / floor_rate);
    add_open_loop_figures(line, open, pairs);
    if (pairs.closed() > 0)
        note("B2: the relay dropped a connection: " + pairs.first_close());
    clients.clear();
    std::string ended = relay.stop_and_check();
    line.text("relay_exit", ended.empty() ? "clean" : ended);
    return line;
}

} // namespace veil::bench
