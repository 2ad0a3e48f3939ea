#include "loadgen/pair_traffic.h"

#include "loadgen/stats.h"

#include <algorithm>
#include <numeric>

namespace veil::bench {

PairTraffic::PairTraffic(std::size_t pairs, std::size_t max_messages, Send send)
    : m_pairs(pairs)
    , m_max(max_messages)
    , m_send(std::move(send))
    , m_in_flight(pairs, 0) {
    m_sent_at.reserve(max_messages);
    m_pair_of.reserve(max_messages);
    m_state.reserve(max_messages);
}

void PairTraffic::send_next(std::size_t pair, TimePoint stamp) {
    if (m_next >= m_max)
        return;
    const std::uint64_t seq = m_next++;
    m_sent_at.push_back(stamp);
    m_pair_of.push_back(static_cast<std::uint32_t>(pair));
    m_state.push_back(0);
    ++m_in_flight[pair];
    m_send(pair, seq);
}

void PairTraffic::delivered(std::uint64_t seq, TimePoint now) {
    if (seq >= m_next)
        return;
    if (m_state[seq] != 0) {
        ++m_duplicates;
        return;
    }
    m_state[seq] = 1;
    ++m_delivered;
    const std::size_t pair = m_pair_of[seq];
    --m_in_flight[pair];
    if (m_mode == Mode::closed)
        send_next(pair, now);
    else if (m_mode == Mode::open && seq >= m_open_first)
        m_latencies_ms.push_back(
            std::chrono::duration<double, std::milli>(now - m_sent_at[seq]).count());
}

void PairTraffic::refused(std::uint64_t seq) {
    if (seq >= m_next || m_state[seq] != 0)
        return;
    m_state[seq] = 2;
    ++m_refused;
    const std::size_t pair = m_pair_of[seq];
    --m_in_flight[pair];
    if (m_mode == Mode::closed)
        send_next(pair, Clock::now());
}

std::uint64_t PairTraffic::undelivered() const {
    return static_cast<std::uint64_t>(std::count(m_state.begin(), m_state.end(), 0));
}

bool PairTraffic::wait_in_flight(EventLoop& loop, std::chrono::seconds limit) {
    const TimePoint deadline = Clock::now() + limit;
    auto in_flight = [&] {
        return std::accumulate(m_in_flight.begin(), m_in_flight.end(), std::uint64_t{0});
    };
    while (in_flight() > 0 && Clock::now() < deadline)
        loop.poll(until(deadline, std::chrono::milliseconds(10)));
    return in_flight() == 0;
}

PairTraffic::Closed PairTraffic::closed_loop(EventLoop& loop, std::size_t window,
                                             std::chrono::milliseconds warmup,
                                             std::chrono::milliseconds measure) {
    m_mode = Mode::closed;
    const TimePoint start = Clock::now();
    for (std::size_t w = 0; w < window; ++w) {
        for (std::size_t p = 0; p < m_pairs; ++p)
            send_next(p, start);
    }
    const TimePoint warm = start + warmup;
    while (Clock::now() < warm && m_next < m_max)
        loop.poll(until(warm, std::chrono::milliseconds(5)));
    const TimePoint from = Clock::now();
    const std::uint64_t before = m_delivered;
    const TimePoint end = from + measure;
    while (Clock::now() < end && m_next < m_max)
        loop.poll(until(end, std::chrono::milliseconds(5)));
    Closed out;
    out.measured = m_delivered - before;
    out.msgs_per_s = static_cast<double>(out.measured) / seconds_between(from, Clock::now());
    m_mode = Mode::idle;
    out.drained = wait_in_flight(loop, std::chrono::seconds(10));
    return out;
}

PairTraffic::Open PairTraffic::open_loop(EventLoop& loop, double rate,
                                         std::chrono::milliseconds duration) {
    m_mode = Mode::open;
    m_open_first = m_next;
    m_latencies_ms.clear();
    const auto interval = std::chrono::duration<double>(1.0 / rate);
    const TimePoint start = Clock::now();
    const TimePoint end = start + duration;
    std::uint64_t k = 0;
    Open out;
    for (;;) {
        const TimePoint due =
            start + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(k));
        if (due >= end || m_next >= m_max)
            break;
        if (due <= Clock::now()) {
            send_next(k % m_pairs, due);
            ++k;
            continue;
        }
        loop.poll(until(due));
    }
    out.sent = m_next - m_open_first;
    out.achieved_per_s = static_cast<double>(out.sent) / seconds_between(start, end);
    wait_in_flight(loop, std::chrono::seconds(10));
    m_mode = Mode::idle;
    for (std::uint64_t seq = m_open_first; seq < m_next; ++seq)
        out.lost += m_state[seq] == 0 ? 1 : 0;
    out.p50_ms = quantile(m_latencies_ms, 0.50);
    out.p99_ms = quantile(m_latencies_ms, 0.99);
    out.p999_ms = quantile(m_latencies_ms, 0.999);
    out.max_ms = m_latencies_ms.empty() ? 0 : m_latencies_ms.back();
    return out;
}

} // namespace veil::bench
