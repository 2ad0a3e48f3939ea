// Engine: the client. It owns the account's protocol state machine over a Transport: register
// or authenticate, upload and refill prekeys, fetch bundles, encrypt and queue outgoing
// messages (retrying until the relay acks them), decrypt and store incoming ones, and emit
// events for a UI. Single-threaded: call it only on the transport's thread.
//
// Durability: an outgoing message is stored (pending, then as ciphertext in the outbox) before
// anything is sent, and retried with the same id after reconnects. An incoming message is
// decrypted, stored and its delivery receipt queued in one transaction before it is acked.
#pragma once

#include "crypto/signal_context.h"
#include "engine/transport.h"
#include "store/account_store.h"
#include "util/clock.h"
#include "util/result.h"
#include "veil.pb.h"

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

namespace veil::engine {

enum class State {
    offline, // not connected; will reconnect with backoff if started
    connecting,
    authenticating, // registering or signing the challenge
    ready,          // authenticated; sending and receiving
    failed,         // a permanent error (e.g. username taken, auth refused); see on_error
};
const char* state_name(State state);

class EngineObserver {
public:
    virtual ~EngineObserver() = default;
    virtual void on_state(State) {}
    // A new message row (incoming, a placeholder for an undecryptable one, or our own outgoing).
    virtual void on_message(const store::MessageRow&) {}
    // An outgoing message changed status (sent, delivered).
    virtual void on_status(std::span<const std::uint8_t> /*message_id*/, store::MessageStatus) {}
    // Every envelope queued before authentication has been processed.
    virtual void on_queue_drained() {}
    // Nothing is in flight any more: every request answered (acks included), nothing pending
    // or in the outbox. Emitted when the engine becomes settled, not on every frame.
    virtual void on_settled() {}
    // An error for the person: permanent (state failed) or about one action.
    virtual void on_error(const Error&) {}
};

struct EngineOptions {
    std::uint32_t prekey_batch = 100;        // one-time prekeys generated at a time
    std::uint32_t prekey_low_watermark = 20; // refill when the relay has fewer than this
    std::uint32_t request_timeout_ms = 15000;
    std::uint32_t backoff_initial_ms = 500;
    std::uint32_t backoff_max_ms = 30000;
    bool send_delivery_receipts = true;
};

class Engine final : public TransportListener {
public:
    // Generates the identity into a new store; prekeys are made when registering.
    static Status create_account(store::AccountStore& store, crypto::SignalContext& context,
                                 const std::string& username, const std::string& relay_url);

    Engine(store::AccountStore& store, crypto::SignalContext& context, Transport& transport,
           const Clock& clock, EngineObserver& observer, EngineOptions options = {});
    ~Engine() override;
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // Connects and registers (first time) or authenticates, then keeps reconnecting with
    // exponential backoff and jitter until stop().
    Status start();
    void stop();
    State state() const { return m_state; }
    const std::string& username() const { return m_username; }

    Status add_contact(const std::string& name);
    // Stores the message and queues it; returns its message id. Sent once the engine is ready
    // and a session exists (the bundle is fetched if needed).
    Result<Bytes> send_text(const std::string& peer, const std::string& text);
    // True when nothing is pending or waiting in the outbox.
    bool idle_outgoing();
    // Ready, with every request answered and nothing queued (see EngineObserver::on_settled).
    bool settled();

    // TransportListener
    void on_connected() override;
    void on_disconnected(const std::string& reason) override;
    void on_frame(std::span<const std::uint8_t> frame) override;

private:
    using ResponseHandler = std::function<void(const wire::Envelope&)>;

    Status load_account();
    void set_state(State state);
    void request(wire::Envelope envelope, ResponseHandler handler);
    void fail_requests(const std::string& reason);
    void schedule_reconnect();

    void begin_register(const std::string& nonce);
    void begin_auth(const std::string& nonce);
    void on_authenticated(std::uint32_t prekeys_left);
    void refill_prekeys(std::uint32_t left);
    // Generates, stores and lists a batch of one-time prekeys; call inside a transaction.
    Status store_new_prekeys(google::protobuf::RepeatedPtrField<wire::OneTimePrekey>& out);

    void pump_outgoing();
    void flush_outbox();
    void send_outbox_item(const store::OutboxItem& item);
    void encrypt_pending_for(const std::string& peer);
    void fetch_bundle(const std::string& peer);
    void drop_pending_for(const std::string& peer);
    Status queue_content(const std::string& peer, const Bytes& message_id,
                         const wire::Content& content);

    // What one delivery changed, announced to the observer after its transaction commits.
    struct Effects {
        std::vector<store::MessageRow> rows;
        std::vector<Bytes> delivered;
    };
    void handle_deliver(const wire::Deliver& deliver);
    Status process_content(const wire::Deliver& deliver, const wire::Content& content,
                           Effects& effects);
    void record_failure(const wire::Deliver& deliver, const Error& error);
    void ack(std::uint64_t delivery_id);
    void report(const Error& error);
    void check_settled();
    void flush_acks();

    store::AccountStore& m_store;
    crypto::SignalContext& m_context;
    Transport& m_transport;
    const Clock& m_clock;
    EngineObserver& m_observer;
    EngineOptions m_options;
    std::unique_ptr<crypto::StoreContext> m_store_context;

    std::string m_username;
    std::string m_relay_url;
    bool m_registered = false;
    bool m_started = false;
    State m_state = State::offline;
    std::uint64_t m_next_request_id = 1;
    struct PendingRequest {
        ResponseHandler handler;
        std::uint64_t timer = 0; // the request's timeout
    };
    std::map<std::uint64_t, PendingRequest> m_pending_requests;
    std::set<std::string> m_fetching;  // peers whose bundle is being fetched
    std::set<std::string> m_in_flight; // hex message ids sent and not yet acked
    std::uint32_t m_backoff_ms = 0;
    bool m_outage_reported = false;
    bool m_was_settled = false;
    std::vector<std::uint64_t> m_acks_waiting; // delivery ids processed, not yet acked
    bool m_ack_in_flight = false;
    std::uint64_t m_reconnect_timer = 0;
};

} // namespace veil::engine
