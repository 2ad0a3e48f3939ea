// Connector: opens many RelayClients to one relay, with at most `window` handshakes in flight,
// and retries a connection that fails before it is authenticated after an exponential backoff
// with full jitter (50 ms doubling to 1 s), as Veil's clients do. Used to register benchmark
// accounts and to authenticate them again.
#pragma once

#include "loadgen/relay_client.h"

#include <memory>
#include <random>
#include <string>
#include <vector>

namespace veil::bench {

struct ConnectOutcome {
    double seconds = 0;      // first connect to the last AuthResult (or the deadline)
    std::size_t ready = 0;   // authenticated
    std::size_t retries = 0; // attempts after a failure
    std::string first_error; // why the first failed attempt failed, if any
};

class Connector final : public RelayListener {
public:
    // Usernames are prefix + index ("b1u17"). signer must outlive the Connector.
    Connector(EventLoop& loop, std::uint16_t port, Signer& signer, std::string prefix);

    static std::string username(const std::string& prefix, std::size_t index);

    // Client i uses account i % accounts from now on (0, the default: account i). The relay
    // lets several connections authenticate as one device, and registering an account costs
    // it far more than authenticating one, so B1 and B5 hold many connections per account.
    void share_accounts(std::size_t accounts) { m_accounts = accounts; }

    // Brings clients [0, count) to ready with goal. window 0 starts every connection at once.
    // With keep_open false each client is closed as soon as it is ready (registration only).
    // clients is resized to count; ready clients stay in it with this Connector as listener
    // until the caller sets another. Stops at the deadline with whatever is ready.
    ConnectOutcome run(std::vector<std::unique_ptr<RelayClient>>& clients, std::size_t count,
                       RelayClient::Goal goal, std::size_t window, bool keep_open,
                       TimePoint deadline);

    void on_ready(RelayClient& client) override;
    void on_envelope(RelayClient&, const wire::Envelope&) override {}
    void on_closed(RelayClient& client, std::string_view why) override;

private:
    struct Pending {
        TimePoint due;
        std::size_t index;
        unsigned attempt;
    };

    void start(std::size_t index, unsigned attempt);

    EventLoop& m_loop;
    std::uint16_t m_port;
    Signer& m_signer;
    std::string m_prefix;
    std::mt19937_64 m_random{0x5eed};
    std::size_t m_accounts = 0;

    // State of the current run().
    std::vector<std::unique_ptr<RelayClient>>* m_clients = nullptr;
    std::vector<unsigned> m_attempts;
    std::vector<bool> m_is_ready;
    std::vector<Pending> m_retry;
    std::vector<std::unique_ptr<RelayClient>> m_dead; // destroyed between polls
    RelayClient::Goal m_goal = RelayClient::Goal::authenticate;
    bool m_keep_open = true;
    std::size_t m_in_flight = 0;
    std::size_t m_ready = 0;
    std::size_t m_retries = 0;
    std::string m_first_error;
    TimePoint m_last_ready;
};

} // namespace veil::bench
