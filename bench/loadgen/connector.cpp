#include "loadgen/connector.h"

#include <algorithm>

namespace veil::bench {

namespace {

constexpr unsigned kMaxAttempts = 20;

} // namespace

Connector::Connector(EventLoop& loop, std::uint16_t port, Signer& signer, std::string prefix)
    : m_loop(loop)
    , m_port(port)
    , m_signer(signer)
    , m_prefix(std::move(prefix)) {}

std::string Connector::username(const std::string& prefix, std::size_t index) {
    return prefix + std::to_string(index);
}

ConnectOutcome Connector::run(std::vector<std::unique_ptr<RelayClient>>& clients, std::size_t count,
                              RelayClient::Goal goal, std::size_t window, bool keep_open,
                              TimePoint deadline) {
    m_clients = &clients;
    clients.clear();
    clients.resize(count);
    m_attempts.assign(count, 0);
    m_is_ready.assign(count, false);
    m_retry.clear();
    m_goal = goal;
    m_keep_open = keep_open;
    m_in_flight = m_ready = m_retries = 0;
    m_first_error.clear();
    if (window == 0)
        window = count;

    const TimePoint started = Clock::now();
    m_last_ready = started;
    std::size_t next = 0;
    while (m_ready < count && Clock::now() < deadline) {
        while (next < count && m_in_flight < window)
            start(next++, 0);
        const TimePoint now = Clock::now();
        for (std::size_t i = 0; i < m_retry.size();) {
            if (m_retry[i].due <= now && m_in_flight < window) {
                Pending p = m_retry[i];
                m_retry[i] = m_retry.back();
                m_retry.pop_back();
                start(p.index, p.attempt);
            } else {
                ++i;
            }
        }
        if (next >= count && m_in_flight == 0 && m_retry.empty())
            break; // every attempt ended and none is left to retry
        m_loop.poll(std::chrono::milliseconds(5));
        m_dead.clear();
    }
    ConnectOutcome outcome;
    outcome.seconds = std::chrono::duration<double>(m_last_ready - started).count();
    outcome.ready = m_ready;
    outcome.retries = m_retries;
    outcome.first_error = m_first_error;
    for (auto& client : clients) {
        if (client && client->state() != RelayClient::State::ready)
            client.reset();
    }
    m_clients = nullptr;
    return outcome;
}

void Connector::start(std::size_t index, unsigned attempt) {
    auto& slot = (*m_clients)[index];
    if (slot)
        m_dead.push_back(std::move(slot));
    const std::size_t account = m_accounts > 0 ? index % m_accounts : index;
    slot = std::make_unique<RelayClient>(m_loop, m_port, m_signer, username(m_prefix, account),
                                         m_goal, *this, index);
    m_attempts[index] = attempt;
    ++m_in_flight;
    if (!slot->start())
        on_closed(*slot, "the connect failed at once");
}

void Connector::on_ready(RelayClient& client) {
    --m_in_flight;
    ++m_ready;
    m_is_ready[client.tag()] = true;
    m_last_ready = Clock::now();
    if (!m_keep_open)
        client.close();
}

void Connector::on_closed(RelayClient& client, std::string_view why) {
    if (m_clients == nullptr || m_is_ready[client.tag()])
        return; // a ready client that the caller did not take over ended later
    --m_in_flight;
    if (m_first_error.empty())
        m_first_error = std::string(why);
    const unsigned attempt = m_attempts[client.tag()] + 1;
    if (attempt >= kMaxAttempts)
        return;
    ++m_retries;
    // Full jitter: uniform in [0, min(1 s, 50 ms * 2^attempt)).
    const auto cap = std::min<std::int64_t>(1000, std::int64_t{50} << std::min(attempt, 5u));
    std::uniform_int_distribution<std::int64_t> jitter(0, cap * 1000 - 1);
    m_retry.push_back(
        Pending{Clock::now() + std::chrono::microseconds(jitter(m_random)), client.tag(), attempt});
}

} // namespace veil::bench
