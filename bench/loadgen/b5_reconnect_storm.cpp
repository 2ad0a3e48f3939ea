// B5: every client of a relay reconnects at the same moment (a relay restart or a network
// blip): the time until all are authenticated again. Clients that fail retry with jittered
// backoff (Connector).
#include "loadgen/connector.h"
#include "loadgen/relay_under_test.h"
#include "loadgen/workloads.h"
#include "support/workload.h"

#include <algorithm>

#include <thread>

namespace veil::bench {

JsonLine run_b5_reconnect_storm() {
    const auto count = static_cast<std::size_t>(env_count("VEIL_BENCH_B5_CLIENTS", 10'000));
    const auto accounts =
        std::min(count, static_cast<std::size_t>(env_count("VEIL_BENCH_B5_ACCOUNTS", 1000)));
    const auto limit = std::chrono::seconds(env_count("VEIL_BENCH_B5_SECONDS", 60));
    JsonLine line("B5");
    line.integer("clients", static_cast<std::int64_t>(count))
        .integer("accounts", static_cast<std::int64_t>(accounts));

    RelayUnderTest relay("b5");
    EventLoop loop;
    Signer signer;
    Connector connector(loop, relay.port(), signer, "b5u");
    std::vector<std::unique_ptr<RelayClient>> clients;
    auto registered = connector.run(clients, accounts, RelayClient::Goal::register_account, 256,
                                    false, Clock::now() + std::chrono::seconds(120));
    clients.clear();
    if (registered.ready < accounts)
        fail("B5 could not register its accounts: " + registered.first_error);
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const long threads_before = relay.process().threads();

    connector.share_accounts(accounts);
    // Window 0: every connect starts at once, before the first poll.
    auto storm = connector.run(clients, count, RelayClient::Goal::authenticate, 0, true,
                               Clock::now() + limit);
    const long threads_after = relay.process().threads();
    const long rss_after = relay.process().rss_kib();
    note("B5: " + std::to_string(storm.ready) + " of " + std::to_string(count) +
         " authenticated in " + std::to_string(storm.seconds) + " s with " +
         std::to_string(storm.retries) + " retries" +
         (storm.first_error.empty() ? "" : "; first failure: " + storm.first_error));

    line.integer("authenticated", static_cast<std::int64_t>(storm.ready))
        .maybe("all_authenticated_ms",
               storm.ready == count ? std::optional<double>(storm.seconds * 1000.0) : std::nullopt)
        .integer("retries", static_cast<std::int64_t>(storm.retries))
        .text("first_failure", storm.first_error.empty() ? "none" : storm.first_error)
        .integer("relay_threads_before", threads_before)
        .integer("relay_threads_after", threads_after)
        .number("relay_rss_after_mib", static_cast<double>(rss_after) / 1024.0);
    clients.clear();
    std::string ended = relay.stop_and_check();
    line.text("relay_exit", ended.empty() ? "clean" : ended);
    return line;
}

} // namespace veil::bench
