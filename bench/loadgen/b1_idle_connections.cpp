// B1: idle authenticated connections, as many as one relay process holds under the fd limit:
// the relay's memory per connection (VmRSS, user space), its threads, and the rate of
// connects+auth.
#include "loadgen/connector.h"
#include "loadgen/relay_under_test.h"
#include "loadgen/workloads.h"
#include "support/workload.h"

#include <algorithm>

namespace veil::bench {

namespace {

// Keeps the loop turning (pongs, QueueDrained) for a while without sending anything.
void idle(EventLoop& loop, std::chrono::milliseconds how_long) {
    const TimePoint end = Clock::now() + how_long;
    while (Clock::now() < end)
        loop.poll(until(end));
}

} // namespace

JsonLine run_b1_idle_connections() {
    const auto count = static_cast<std::size_t>(env_count("VEIL_BENCH_B1_CONNECTIONS", 19'000));
    const auto window = static_cast<std::size_t>(env_count("VEIL_BENCH_B1_WINDOW", 256));
    const auto accounts =
        std::min(count, static_cast<std::size_t>(env_count("VEIL_BENCH_B1_ACCOUNTS", 1000)));
    const auto limit = std::chrono::seconds(env_count("VEIL_BENCH_B1_SECONDS", 120));
    JsonLine line("B1");
    line.integer("connections_wanted", static_cast<std::int64_t>(count))
        .integer("accounts", static_cast<std::int64_t>(accounts))
        .integer("handshakes_in_flight", static_cast<std::int64_t>(window));

    RelayUnderTest relay("b1");
    EventLoop loop;
    Signer signer;
    Connector connector(loop, relay.port(), signer, "b1u");
    std::vector<std::unique_ptr<RelayClient>> clients;
    const long threads_start = relay.process().threads();

    // Setup: the accounts, each registered on its own connection, then closed.
    auto registered = connector.run(clients, accounts, RelayClient::Goal::register_account, window,
                                    false, Clock::now() + limit);
    clients.clear();
    note("B1: registered " + std::to_string(registered.ready) + " accounts in " +
         std::to_string(registered.seconds) + " s");
    if (registered.ready < accounts)
        fail("B1 could not register its accounts: " +
             (registered.first_error.empty()
                  ? std::to_string(registered.ready) + " of " + std::to_string(accounts) +
                        " within the time limit (VEIL_BENCH_B1_SECONDS)"
                  : registered.first_error));
    idle(loop, std::chrono::milliseconds(1000));
    const long rss_before = relay.process().rss_kib();
    const long threads_before = relay.process().threads();

    connector.share_accounts(accounts);
    auto held = connector.run(clients, count, RelayClient::Goal::authenticate, window, true,
                              Clock::now() + limit);
    idle(loop, std::chrono::milliseconds(2000));
    std::size_t still_open = 0;
    for (const auto& client : clients)
        still_open += client && client->state() == RelayClient::State::ready ? 1 : 0;
    const long rss_after = relay.process().rss_kib();
    const long threads_after = relay.process().threads();
    note("B1: " + std::to_string(held.ready) + " authenticated in " + std::to_string(held.seconds) +
         " s, " + std::to_string(still_open) + " held" +
         (held.first_error.empty() ? "" : "; first failure: " + held.first_error));

    const double per_connection = still_open > 0 ? static_cast<double>(rss_after - rss_before) *
                                                       1024.0 / static_cast<double>(still_open)
                                                 : NAN;
    line.integer("connections_held", static_cast<std::int64_t>(still_open))
        .number("relay_bytes_per_connection", per_connection)
        .number("relay_kib_per_connection", per_connection / 1024.0)
        .number("relay_rss_before_mib", static_cast<double>(rss_before) / 1024.0)
        .number("relay_rss_after_mib", static_cast<double>(rss_after) / 1024.0)
        .integer("relay_threads_start", threads_start)
        .integer("relay_threads_before", threads_before)
        .integer("relay_threads_after", threads_after)
        .number("connects_auth_per_s", static_cast<double>(held.ready) / held.seconds)
        .integer("retries", static_cast<std::int64_t>(held.retries))
        .number("registrations_per_s", static_cast<double>(registered.ready) / registered.seconds);
    clients.clear();
    std::string ended = relay.stop_and_check();
    line.text("relay_exit", ended.empty() ? "clean" : ended);
    return line;
}

} // namespace veil::bench
