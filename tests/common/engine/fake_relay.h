// A scripted in-memory relay for engine unit tests: the layer below the engine (the transport
// and the relay behind it) faked, so the engine runs with real crypto and real SQLCipher
// stores, deterministically. Frames are queued and moved by pump(), never re-entrantly.
//
// It speaks just enough of wire protocol v1: challenge, register, auth (signatures are not
// checked here; the real relay's tests do that), prekey upload/fetch, send, ack, deliver, and
// groups: it stores every GroupChange whose revision follows the last (signatures and admin rules
// are not checked, so that tests can see the clients refuse what an evil relay lets through),
// delivers each to the members of the previous and the new state, fans group sends out to the
// other members of the current state (once per message id), and answers GroupFetchRequest.
#pragma once

#include "engine/transport.h"
#include "protocol/envelope_codec.h"

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace veil::test {

class FakeRelay;

class FakeTransport final : public engine::Transport {
public:
    FakeTransport(FakeRelay& relay)
        : m_relay(relay) {}
    void set_listener(engine::TransportListener* l) override { m_listener = l; }
    void connect(const std::string&) override;
    void send(Bytes frame) override;
    void close() override;
    bool connected() const override { return m_connected; }
    // A zero delay runs once the relay has nothing more to move (pump), as a real event loop
    // runs it after the socket read at hand; other timers wait for fire_timers().
    std::uint64_t start_timer(std::uint32_t delay_ms, std::function<void()> fn) override;
    void cancel_timer(std::uint64_t id) override { m_timers.erase(id); }
    // Runs timer id if it is still pending (pump's zero-delay timers).
    void run_timer(std::uint64_t id) {
        auto it = m_timers.find(id);
        if (it == m_timers.end())
            return;
        auto fn = std::move(it->second);
        m_timers.erase(it);
        fn();
    }
    // Fires every pending timer once (reconnect backoff and the like).
    void fire_timers() {
        auto timers = std::move(m_timers);
        m_timers.clear();
        for (auto& [id, fn] : timers)
            fn();
    }
    void drop_connection();

    engine::TransportListener* listener() const { return m_listener; }
    std::string account;               // set once authenticated
    std::vector<std::uint32_t> delays; // of every timer started, in order
    bool m_connected = false;

private:
    FakeRelay& m_relay;
    engine::TransportListener* m_listener = nullptr;
    std::map<std::uint64_t, std::function<void()>> m_timers;
    std::uint64_t m_next_timer = 0;
};

class FakeRelay {
public:
    struct Account {
        wire::RegisterRequest registration;
        std::vector<wire::OneTimePrekey> prekeys;
    };
    struct Stored {
        std::uint64_t delivery_id;
        wire::Deliver deliver;
    };

    // Moves queued frames both ways until nothing is left.
    void pump();

    // Hooks for tests: edit or drop a Deliver before it reaches its recipient.
    std::function<void(wire::Deliver&)> tamper;
    // Returns true to lose a Deliver on the way: the sender's send succeeded, nobody gets it.
    std::function<bool(const wire::Deliver&)> lose;
    // Returns true to swallow a request without an answer, as a hung relay would.
    std::function<bool(const wire::Envelope&)> swallow;
    // Returns an error to refuse a (non-transient) SendRequest with, as the relay does when rate
    // limited or when an id already holds other content; nothing to let it through.
    std::function<std::optional<wire::Error>(const wire::SendRequest&)> refuse;
    std::uint32_t report_prekeys_left = 1000; // overrides the count when set below 1000

    struct Group {
        wire::GroupState state;                 // of the last change
        std::vector<wire::GroupChange> changes; // every accepted change, oldest first
    };
    struct GroupSent {
        std::string from;
        wire::GroupSendRequest request;
    };

    // Queues d in to's mailbox (tamper applies) and pushes it when to is online, as the relay
    // does with what it routes. Tests use it to make the relay misbehave.
    void deliver(const std::string& to, wire::Deliver d);
    // Stores change as the group's next one without any check and delivers it to the members of
    // the previous and the new state (an evil relay, or one that lets anything through).
    void force_group_change(const wire::GroupChange& change);

    std::map<std::string, Account> accounts;
    std::map<std::string, Group> groups; // by group id bytes
    std::vector<GroupSent> group_sends;  // every GroupSendRequest accepted
    int stale_replies = 0;               // GroupSendRequests refused with STALE_REVISION
    int device_mismatches = 0;           // GroupSendRequests refused with MISMATCHED_DEVICES
    std::map<std::string, std::vector<Stored>> mailboxes;
    std::vector<wire::SendRequest> sends;
    int transients = 0;               // transient sends (typing), which are never stored
    std::vector<std::size_t> uploads; // sizes of PrekeyUpload batches
    std::size_t prekey_status_requests = 0;

    // Internal, used by FakeTransport.
    void queue_to_relay(FakeTransport* from, Bytes frame) {
        m_in.push_back({from, std::move(frame)});
    }
    void queue_soon(FakeTransport* t, std::uint64_t timer) { m_soon.push_back({t, timer}); }
    void connected(FakeTransport* t);
    void disconnected(FakeTransport* t);
    void push_mailbox(const std::string& account);

private:
    void handle(FakeTransport* from, const wire::Envelope& e);
    void reply(FakeTransport* to, wire::Envelope e);
    void handle_group_update(FakeTransport* from, const wire::Envelope& e, wire::Envelope& r);
    void handle_group_send(FakeTransport* from, const wire::Envelope& e, wire::Envelope& r);
    void handle_group_fetch(FakeTransport* from, const wire::Envelope& e, wire::Envelope& r);
    std::deque<std::pair<FakeTransport*, Bytes>> m_in;
    std::deque<std::pair<FakeTransport*, Bytes>> m_out;
    std::deque<std::pair<FakeTransport*, std::uint64_t>> m_soon; // zero-delay timers
    std::map<std::string, FakeTransport*> m_online;
    std::uint64_t m_next_delivery = 1;
};

} // namespace veil::test
