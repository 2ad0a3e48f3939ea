// PairTraffic: B2's bookkeeping, shared by the veil-relay run and the raw-floor run so that both
// are driven the same way. Pair p has one sender and one receiver; every message carries a
// sequence number (in its message id, or its frame body) that maps back to its send time and
// pair here, on the client side, on the monotonic clock.
//
// closed_loop keeps `window` messages in flight per pair (a pair sends its next message when
// one of its messages arrives) and reports the delivery rate; open_loop sends at a fixed total
// rate, round-robin over the pairs, and reports send-to-receive latency measured from each
// message's scheduled time, so a stalled relay cannot hide its delay (no coordinated omission).
#pragma once

#include "loadgen/event_loop.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

namespace veil::bench {

class PairTraffic {
public:
    // send(pair, seq) must send message seq from pair's sender to pair's receiver.
    using Send = std::function<void(std::size_t pair, std::uint64_t seq)>;

    PairTraffic(std::size_t pairs, std::size_t max_messages, Send send);

    // The receiver got message seq.
    void delivered(std::uint64_t seq, TimePoint now);
    // The relay refused message seq (an Error to the sender): it will never arrive.
    void refused(std::uint64_t seq);

    struct Closed {
        double msgs_per_s = 0;
        std::uint64_t measured = 0; // deliveries inside the measured interval
        bool drained = true;        // every message in flight arrived afterwards
    };
    Closed closed_loop(EventLoop& loop, std::size_t window, std::chrono::milliseconds warmup,
                       std::chrono::milliseconds measure);

    struct Open {
        double p50_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
        std::uint64_t sent = 0;
        std::uint64_t lost = 0; // sent, not refused, and not delivered within 10 s
        double achieved_per_s = 0;
    };
    Open open_loop(EventLoop& loop, double rate, std::chrono::milliseconds duration);

    std::uint64_t duplicates() const { return m_duplicates; }
    std::uint64_t refusals() const { return m_refused; }
    // Messages sent, not refused, and never delivered (so far).
    std::uint64_t undelivered() const;

private:
    enum class Mode { idle, closed, open };
    void send_next(std::size_t pair, TimePoint stamp);
    bool wait_in_flight(EventLoop& loop, std::chrono::seconds limit);

    std::size_t m_pairs;
    std::size_t m_max;
    Send m_send;
    Mode m_mode = Mode::idle;
    std::uint64_t m_next = 0;
    std::vector<TimePoint> m_sent_at;
    std::vector<std::uint32_t> m_pair_of;
    std::vector<std::uint8_t> m_state; // 0 in flight, 1 delivered, 2 refused
    std::vector<std::uint32_t> m_in_flight;
    std::uint64_t m_delivered = 0;
    std::uint64_t m_refused = 0;
    std::uint64_t m_duplicates = 0;
    std::uint64_t m_open_first = 0;
    std::vector<double> m_latencies_ms;
};

} // namespace veil::bench
