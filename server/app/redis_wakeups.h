// RedisWakeups: how relays that share one PostgreSQL database wake each other's clients
// (issue 9). The database is the truth; Redis only carries hints that something new is there.
//
// Design: every relay subscribes to one channel (Options::channel). Once an envelope is durable
// (RelayService's DeliveryListener), the relay publishes a wake-up for each recipient device
// that has no connection here: "DEVICE_ID DELIVERY_ID USERNAME", ids only, never content. All
// wake-ups gathered since the last write go out pipelined, in one write, with one read of their
// replies. A relay that reads a wake-up for a device connected to it reads that device's mailbox
// (RelayService::push_queued, the drain's query) and pushes what the connection was not handed
// yet. No presence is kept anywhere: the relay that holds the device is the one that acts, so
// there is nothing to expire when a relay dies.
//
// Redis down: while the subscription is broken the relay polls the mailboxes of all devices
// connected to it every Options::poll_down (and every poll_up while Redis is up, as a safety
// net; 0: never). It reconnects with backoff (200 ms doubling up to Options::backoff_max, 5 s
// by default), logs event=redis_down once per outage and event=redis_up when subscribed again,
// and then reads the mailboxes of all its devices once, for the wake-ups it may have missed.
// Wake-ups that could not be published are kept (up to kMaxUnsent) and published after the
// reconnect. Nothing else grows with the length of an outage: past the ceiling every attempt is
// alike, the log has one line per change of state (the publisher's failures: one debug line per
// outage), and relay_metrics() counts the failed attempts and shows the current backoff.
//
// Threads: three of its own (publisher, subscriber, waker); stored() only queues and never
// blocks, so reactor threads and the committer never wait on Redis.
#pragma once

#include "core/relay_service.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace veil::relay {

class RedisWakeups final : public DeliveryListener {
public:
    using Device = std::pair<std::string, std::uint32_t>;

    struct Options {
        std::string host = "127.0.0.1";
        int port = 6379;
        std::string channel = "veil:wake";
        std::chrono::milliseconds poll_down{1000};
        std::chrono::milliseconds poll_up{30'000};   // 0: no polling while Redis is up
        std::chrono::milliseconds backoff_max{5000}; // the reconnect backoff's ceiling
    };

    // The devices connected to this relay (the transport's view).
    struct Local {
        std::function<bool(const std::string& username, std::uint32_t device_id)> online;
        std::function<std::vector<Device>()> devices;
    };

    static constexpr std::size_t kMaxUnsent = 100'000;

    // service must outlive this object. Starts the threads; the first connection to Redis is
    // made by them (a relay starts whether Redis is up or not).
    RedisWakeups(RelayService& service, Local local, Options options);
    ~RedisWakeups() override; // stop()s
    RedisWakeups(const RedisWakeups&) = delete;
    RedisWakeups& operator=(const RedisWakeups&) = delete;

    // Joins the threads. Idempotent.
    void stop();

    void stored(std::vector<DeliveryNote> notes) override;

    // Whether the subscription is established now.
    bool up() const;

    // "redis://HOST:PORT" (a trailing '/' allowed) as host and port; nullopt if malformed.
    static std::optional<std::pair<std::string, int>> parse_url(const std::string& url);

private:
    void publish_loop();
    void subscribe_loop();
    void wake_loop();
    // Waits up to d unless stop() comes first; false once stopping.
    bool pause(std::chrono::milliseconds d);
    // The reconnect backoff: 200 ms (or the ceiling if lower), then doubling up to the ceiling.
    std::chrono::milliseconds first_backoff() const;
    std::chrono::milliseconds next_backoff(std::chrono::milliseconds backoff) const;
    void set_up(bool up, const std::string& reason);
    std::string address() const;

    RelayService& m_service;
    Local m_local;
    Options m_options;

    mutable std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_stopping = false;
    bool m_up = false;
    bool m_told_down = false; // event=redis_down logged for this outage
    bool m_wake_all = false;  // the waker reads every connected device's mailbox
    bool m_state_changed = false;
    std::vector<DeliveryNote> m_outbox; // for the publisher
    std::set<Device> m_wakes;           // for the waker

    std::thread m_publisher;
    std::thread m_subscriber;
    std::thread m_waker;
};

} // namespace veil::relay
