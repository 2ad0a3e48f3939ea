// RelayService: the relay's request logic, without sockets. A transport hands it each binary
// frame a client sent, together with that connection's Session, and writes back the frames it
// returns, in order. Deliveries to devices that are online go out through a Router the
// transport implements.
//
// With Options::group_commit, sends, acks, group sends and group changes handed over through
// the asynchronous handle() overload go to a MailboxCommitter, which writes many of them in one
// transaction off the caller's thread and answers each through a callback once its batch is
// durable. Everything else, and the synchronous handle(), is answered on the caller's thread as
// before (a group write then in a transaction of its own).
//
// Groups: a change (GroupUpdateRequest) is accepted when the signer's registered identity key
// verifies its signature and protocol::check_group_transition allows it from the stored state;
// it is stored and delivered to every active device of every member of the previous and the new
// state. A group send is stored once and referenced by one mailbox row per device of every other
// member and per other device of the sender. Both are pushed to online recipients once they are
// durable, under delivery ids allocated when they were queued.
//
// Devices (veil.proto, "Devices and linking"): an account has up to kMaxDevicesPerAccount active
// devices. A 1:1 send carries one copy per device of its recipient (and, with sync, of the
// sender's other devices) and is stored only when it names exactly those devices; otherwise
// the sender learns which ones were missing or stale (MISMATCHED_DEVICES). A removed device is
// refused from then on (DEVICE_REMOVED), its connections are closed (Router::disconnect), and
// nothing more is queued for it.
//
// Link channels, for a new device that has no account yet, live in memory only: LinkOpen from
// an unauthenticated connection opens one, bound to that connection, which an authenticated
// device may join once within Options::link_timeout_ms; after that the relay passes payloads
// between the two connections (Router::push_to_connection) until either closes.
//
// Wire behaviour follows common/protocol/veil.proto: every request gets exactly one response
// (or an Error naming a code and a sentence); after authentication the device's queued
// envelopes follow, oldest first, then QueueDrained. No input makes handle() throw or crash.
#pragma once

#include "core/admin_store.h"
#include "core/blob_store.h"
#include "core/mailbox_committer.h"
#include "core/rate_limiter.h"
#include "core/storage.h"
#include "util/clock.h"
#include "util/result.h"
#include "veil.pb.h"

#include "protocol/limits.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace veil::crypto {
class SignalContext;
}

namespace veil::relay {

// One connection's state. Owned by the transport and used by one thread at a time (the thread
// reading that connection); the service reads and writes it only inside handle().
struct Session {
    explicit Session(std::uint64_t id)
        : connection_id(id) {}

    std::uint64_t connection_id;    // chosen by the transport, unique per connection
    std::string peer_address;       // the client's IP address, as the transport saw it
    std::optional<Bytes> challenge; // the unused nonce, if any
    bool authenticated = false;
    std::string username;        // valid once authenticated
    std::uint32_t device_id = 0; // valid once authenticated
    // Highest delivery id returned by the drain after authentication. A live push with an id at
    // or below it duplicates a frame handle() already returned, and the transport drops it
    // (with track_deliveries below, it goes by the ids handed over instead: relays on one
    // database take ids from blocks of their own, so a lower id may be new).
    std::uint64_t drained_up_to = 0;
    // Set by a transport that pages the drain: authentication then returns the first page
    // only, and continue_drain() the next ones. Otherwise the drain comes back whole.
    bool paged_drain = false;
    // A paged drain has more pages (no QueueDrained yet). Pushes meanwhile are dropped: the
    // drain's later pages carry those envelopes.
    bool drain_pending = false;
    // The device was removed while this connection was authenticated as it; and the count of
    // removals it was last checked against (RelayService::device_removed).
    bool device_removed = false;
    std::uint64_t removals_checked = 0;
    // Relays that share one database (RelayService::Options::track_deliveries): the delivery ids
    // this connection was handed (drain, pushes) and its device has not acked yet, and the ones
    // it acked whose ack may not be committed yet. A mailbox read on another relay's wake-up
    // (Router::push_stored) skips both, so that nothing reaches the connection twice, whatever
    // order the relays' delivery ids commit in. Used on the connection's thread only.
    bool track_deliveries = false;
    std::unordered_set<std::uint64_t> delivered;
    std::unordered_set<std::uint64_t> acked;
    // Acks older than the last kAckedKept: long committed, forgotten at the next turn, so that
    // a connection that is never woken does not keep every ack of its life.
    std::unordered_set<std::uint64_t> acked_before;
    static constexpr std::size_t kAckedKept = 4096;

    void note_acked(std::uint64_t delivery_id) {
        delivered.erase(delivery_id);
        if (acked.size() >= kAckedKept) {
            acked_before = std::move(acked);
            acked.clear();
        }
        acked.insert(delivery_id);
    }
    bool was_acked(std::uint64_t delivery_id) const {
        return acked.count(delivery_id) > 0 || acked_before.count(delivery_id) > 0;
    }
};

// One envelope now durable in a device's mailbox (DeliveryListener).
struct DeliveryNote {
    std::string username;
    std::uint32_t device_id = 0;
    std::uint64_t delivery_id = 0;
};

// Told of envelopes once they are durable, so that other relays on the same database can wake
// the devices connected to them (app/redis_wakeups.h). Called on the thread that committed
// (the committer's, a reactor's, the purge's); must not block and must not call the service.
class DeliveryListener {
public:
    virtual ~DeliveryListener() = default;
    virtual void stored(std::vector<DeliveryNote> notes) = 0;
};

// Implemented by the transport. Every method may be called from any thread, concurrently.
class Router {
public:
    virtual ~Router() = default;
    // The connection of session has authenticated as (session.username, session.device_id).
    // Called before the drain, so no envelope stored afterwards can be missed.
    virtual void attach(const Session& session) = 0;
    // The connection is gone. Only called for sessions that were attached.
    virtual void detach(const Session& session) = 0;
    // An envelope is on its way into a device's mailbox: send this Deliver to each of its
    // connections that is online. With group commit this comes as soon as the send is queued,
    // before it is durable (its sender is answered only after the commit; if the commit fails
    // the sender retries and the recipient drops the copy it has by message id). Must not block
    // on the network for long and must not call the service. Group sends are pushed as 1:1
    // sends are; group changes only after their commit.
    virtual void push(const std::string& username, std::uint32_t device_id,
                      const wire::Envelope& deliver) = 0;
    // Sends envelope (a push with request_id 0, such as a LinkMessage) to one connection,
    // authenticated or not, behind the frames already queued for it; nothing if it is gone.
    // Pushes to one connection arrive in the order of the calls. Must not block on the network
    // and must not call the service.
    virtual void push_to_connection(std::uint64_t connection_id,
                                    const wire::Envelope& envelope) = 0;
    // A transient Deliver (delivery id 0, never stored): sends envelope to each connection
    // authenticated as the device now, past the mailbox's drain rules; nothing if the device is
    // offline. Must not block on the network and must not call the service.
    virtual void push_transient(const std::string& username, std::uint32_t device_id,
                                const wire::Envelope& envelope) = 0;
    // The device was removed: closes every connection authenticated as it, each once the
    // answers to its requests so far have been written (a device that removed itself gets its
    // Ok first). Must not block and must not call the service.
    virtual void disconnect(const std::string& username, std::uint32_t device_id) = 0;
    // Deliveries read from the device's mailbox after another relay stored them (a wake-up or a
    // poll, RelayService::push_queued), oldest first: each connection authenticated as the
    // device gets those it was not handed and did not ack before (Session::delivered, acked).
    // complete: delivers is the whole mailbox as it was read, so that acked ids it lacks are
    // committed and may be forgotten. Must not block and must not call the service. By
    // default each goes through push().
    virtual void push_stored(const std::string& username, std::uint32_t device_id,
                             const std::vector<wire::Envelope>& delivers, bool complete) {
        (void)complete;
        for (const auto& d : delivers)
            push(username, device_id, d);
    }
};

class RelayService {
public:
    struct Options {
        bool invite_only = false;
        std::int64_t retention_ms = 30LL * 24 * 60 * 60 * 1000;
        std::size_t drain_batch = 500; // envelopes read from the mailbox per query
        // Sends and acks through the asynchronous handle() are written in group commits.
        bool group_commit = false;
        std::size_t commit_batch = 1000; // mailbox writes per transaction at most
        // Runs the committer on its own thread; without it, commit_pending() does the work
        // (tests that want to choose what lands in one batch).
        bool commit_thread = true;
        // How long a link channel waits for an existing device to join it.
        std::int64_t link_timeout_ms = protocol::kDefaultLinkTimeoutMs;
        // Link channels open at once, across all connections; more are RATE_LIMITED.
        std::size_t max_link_channels = 10'000;
        // Link channels one network address may hold open at once (Session::peer_address), so
        // that one client cannot use up max_link_channels for everybody.
        std::size_t max_link_channels_per_address = 16;

        // Rate limits and quotas (0: none); over one, a request gets RATE_LIMITED with
        // Error.retry_after_ms, and clients retry then. Requests one authenticated account
        // may make a second across its connections, beyond a burst (acks are never limited:
        // they only shrink the relay's work).
        double account_requests_per_second = 100;
        double account_burst = 1000;
        // Registration and authentication attempts one network address may make a second,
        // beyond a burst; a failed one costs 5 attempts. Loopback addresses (a reverse proxy in
        // front of the relay, tests) are exempt unless limit_loopback is set.
        double auth_attempts_per_second = 10;
        double auth_burst = 50;
        bool limit_loopback = false;
        // Envelopes queued for one device at most, and from one sender for one recipient
        // device (so that one sender cannot fill somebody's queue and others still get in).
        // New 1:1 sends only (group messages are stored once and fanned out by reference).
        std::size_t max_queued_per_device = 100'000;
        std::size_t max_queued_per_sender = 10'000;
        // Several relays share the database: sessions track what they were handed
        // (Session::track_deliveries) for push_queued().
        bool track_deliveries = false;
    };

    // The frames answering one request, handed back later by the asynchronous handle().
    using Reply = std::function<void(std::vector<Bytes> frames)>;

    // store and clock must outlive the service. Call set_router before the first handle().
    RelayService(RelayStore& store, const Clock& clock, Options options);
    ~RelayService();
    RelayService(const RelayService&) = delete;
    RelayService& operator=(const RelayService&) = delete;

    // router must outlive the service, or stop_writes() must come before it goes; nullptr
    // disables live pushes (tests). May be called while requests are being handled.
    void set_router(Router* router) { m_router.store(router); }

    // The relay's attachments (veil.proto, "Attachments"): BlobUploadRequest issues tickets from
    // it, and the transport serves /v1/blobs/ from it. blobs must outlive the service; without
    // it, ticket requests get UNAVAILABLE. Call before the first handle().
    void set_blobs(BlobStore* blobs) { m_blobs = blobs; }
    BlobStore* blobs() const { return m_blobs; }

    // Handles one frame from the connection of session; returns the frames to send back, in
    // order. Thread-safe across different sessions. Always answers on the calling thread, each
    // send and ack in its own transaction.
    std::vector<Bytes> handle(Session& session, std::span<const std::uint8_t> frame);

    // As handle(), except that with group commit a send or an ack is queued for the committer:
    // then it returns nullopt and reply is called exactly once, from the committer's thread,
    // with the request's response once it is durable (or failed). Otherwise it returns the
    // frames and never calls reply. The caller keeps responses in request order: frames of a
    // later request must wait until earlier replies came. Only the session's identity is read
    // after the call returns nothing; the session may be gone by the time reply runs.
    std::optional<std::vector<Bytes>> handle(Session& session, std::span<const std::uint8_t> frame,
                                             Reply reply);

    // Told of every envelope once it is durable (1:1 copies, group messages and changes, expiry
    // notices); nullptr: nobody. listener must outlive the service or be unset before it goes.
    void set_delivery_listener(DeliveryListener* listener) { m_listener.store(listener); }

    // Reads the device's mailbox (the drain's query, up to kMaxWakeRead envelopes) and hands what
    // it holds to the router's push_stored(), which passes on what each connection of the device
    // has not had yet: another relay stored something for it (a wake-up over Redis), or a poll
    // while Redis is down. Blocks on the store; call it off the reactor threads. Errors are
    // logged and the next wake-up or poll tries again.
    void push_queued(const std::string& username, std::uint32_t device_id);
    static constexpr std::size_t kMaxWakeRead = 5000;

    // Without a committer thread: commits up to commit_batch queued writes on the calling thread
    // and calls their replies. Returns how many it completed; 0 without group commit.
    std::size_t commit_pending();

    // Commits and answers every queued write, and refuses new ones (they are answered with
    // UNAVAILABLE at once). Call before the router or the replies' targets go away. Idempotent.
    void stop_writes();

    // The next page of a paged drain (Session::paged_drain), ending with QueueDrained on the last
    // one; nothing if no drain is pending. For the transport to call as the client reads.
    std::vector<Bytes> continue_drain(Session& session);

    // The connection of session closed: detaches it, records when its device was last seen
    // and ends the link channels it was an end of.
    void close(Session& session);

    // Writes the times devices were last connected, which the service keeps in memory until
    // then (DeviceList shows them at once), in one transaction. For the relay to call now and
    // then and once its connections are closed. On failure they are kept for the next call.
    Status flush_last_seen();

    // Accounts the operator disabled (veil-relay admin account disable): their devices cannot
    // authenticate, requests on connections already authenticated as them are refused, and
    // 1:1 sends to them are refused, each with FORBIDDEN and a sentence. The set lives in memory;
    // the operator's tools keep it in the store (RelayAdmin). set_disabled_accounts replaces it
    // (at start); disable_account adds one and closes its devices' connections through the
    // router (the store's error if it could not list them; the account is disabled anyway).
    void set_disabled_accounts(const std::vector<std::string>& usernames);
    Status disable_account(const std::string& username);
    void enable_account(const std::string& username);
    bool account_disabled(const std::string& username);

    // What the mailbox quotas (Options::max_queued_*) count queued envelopes with; without
    // one, no quota applies. The service serialises its calls. Call before the first handle().
    void set_queue_counter(std::unique_ptr<RelayAdmin> counter);

    // Deletes envelopes older than the retention period, by the server's clock. Returns how
    // many were deleted.
    Result<std::size_t> purge_expired();

    // The exact bytes a device signs to register or authenticate (see veil.proto).
    static Bytes registration_message(std::span<const std::uint8_t> nonce,
                                      const std::string& username,
                                      std::span<const std::uint8_t> device_key = {});
    static Bytes auth_message(std::span<const std::uint8_t> nonce, const std::string& username,
                              std::uint32_t device_id);

private:
    using Responses = std::vector<Bytes>;

    // Parses, checks and dispatches one frame. reply is null for the synchronous path; returns
    // false when the request went to the committer and reply will answer it.
    bool process(Session& session, std::span<const std::uint8_t> frame, const Reply* reply,
                 Responses& out);
    // nonce is the session's challenge, already taken out of it for a register or auth request.
    bool dispatch(Session& session, const wire::Envelope& request, std::optional<Bytes> nonce,
                  const Reply* reply, Responses& out);
    // An Error frame if the envelope is not a well-formed version 1 request, else nullopt.
    std::optional<Bytes> check_envelope(const wire::Envelope& request);
    std::optional<Bytes> check_registration(const wire::Envelope& request,
                                            const std::optional<Bytes>& nonce);
    void on_challenge(Session& session, std::uint64_t id, Responses& out);
    void on_register(Session& session, const wire::Envelope& request,
                     const std::optional<Bytes>& nonce, Responses& out);
    void on_auth(Session& session, const wire::Envelope& request, const std::optional<Bytes>& nonce,
                 Responses& out);
    void on_prekey_upload(Session& session, const wire::Envelope& request, Responses& out);
    void on_prekey_status(Session& session, std::uint64_t id, Responses& out);
    void on_prekey_fetch(const wire::Envelope& request, Responses& out);
    bool on_send(Session& session, const wire::Envelope& request, const Reply* reply,
                 Responses& out);
    // A transient send (SendRequest.transient): answered Ok at once, pushed to the named devices
    // that are connected now, never stored.
    void on_transient_send(Session& session, const wire::Envelope& request, Responses& out);
    // The Error frame for a send whose copies do not name exactly the devices they must, by
    // the last committed device lists (NOT_FOUND if the recipient has no account); nullopt if
    // they do.
    std::optional<Bytes> check_send_devices(std::uint64_t id, const NewEnvelope& env);
    bool on_ack(Session& session, const wire::Envelope& request, const Reply* reply,
                Responses& out);
    // The response to a send the store answered, and (with push) the live push of a new
    // envelope; group commits push before their commit instead.
    void finish_send(std::uint64_t id, const NewEnvelope& env, const Result<EnqueueOutcome>& stored,
                     bool push, Responses& out);
    // Groups (veil.proto, "Groups"): membership changes, group sends stored once, fetches.
    bool on_group_update(const wire::Envelope& request, const Reply* reply, Responses& out);
    bool check_group_signature(const wire::GroupChange& change, std::uint64_t id, Responses& out);
    bool group_change_recipients(const std::optional<wire::GroupState>& previous,
                                 const wire::GroupState& next, NewGroupChange& g, std::uint64_t id,
                                 Responses& out);
    bool on_group_send(Session& session, const wire::Envelope& request, const Reply* reply,
                       Responses& out);
    void on_group_fetch(Session& session, const wire::Envelope& request, Responses& out);
    bool check_group_devices(std::uint64_t id, const std::string& digest,
                             const std::vector<DeviceAddress>& devices, Responses& out);
    // Writes a group message or change (through the committer when reply is given); false when
    // reply will answer it.
    // new_send: a group message whose id the send log does not hold (it may be pushed before
    // its commit).
    bool write_group(std::uint64_t id, MailboxWrite write, const Reply* reply, Responses& out,
                     bool new_send);
    // The answer to a group write the store answered, and (with push) the pushes of a new one.
    void finish_group(std::uint64_t id, const MailboxWrite& write,
                      const Result<GroupWriteOutcome>& stored, bool push, Responses& out);
    void push_group_message(const NewGroupMessage& m, std::int64_t server_ms);
    void push_group_change(const NewGroupChange& g, std::int64_t server_ms);
    // Hands a newly stored envelope to the router for its recipient's online connections.
    void push_new(const NewEnvelope& env, const EnqueueOutcome& stored);
    // Queues write for the committer, answering through reply; false if it refused the write.
    // completed runs first when the write is done; push_after_commit pushes a new envelope
    // once stored.
    bool submit(std::uint64_t id, MailboxWrite write, const Reply& reply, bool push_after_commit,
                std::function<void()> completed, const MailboxCommitter::Prepare& prepare);
    // A send through the committer, pushed to its online recipients before its commit; false
    // (with out holding the answer) if the committer refused it. known: the send log's answer
    // for its message id, read before.
    bool submit_send(std::uint64_t id, NewEnvelope env, std::int64_t now_ms,
                     const Result<std::optional<SendRecord>>& known, const Reply& reply,
                     Responses& out);

    // A ticket for one attachment upload (BlobUploadRequest).
    void on_blob_upload(Session& session, const wire::Envelope& request, Responses& out);

    // Devices (veil.proto, "Devices and linking").
    void on_device_add(Session& session, const wire::Envelope& request, Responses& out);
    void on_device_list(Session& session, const wire::Envelope& request, Responses& out);
    void on_device_remove(Session& session, const wire::Envelope& request, Responses& out);
    // Records that the device is (or was until now) connected: DeviceInfo.last_seen_ms.
    void note_seen(const std::string& username, std::uint32_t device_id);
    // The time note_seen() holds for the device and flush_last_seen() has not written; 0: none.
    std::int64_t pending_seen(const std::string& username, std::uint32_t device_id);
    // Whether the session's device was removed while it was connected. Takes the lock only
    // when a removal happened since the session last asked.
    bool device_removed(Session& session);
    // Link channels.
    void on_link_open(Session& session, std::uint64_t id, Responses& out);
    void on_link_send(Session& session, const wire::Envelope& request, Responses& out);
    // Ends the channels connection_id is an end of (its own channel, and the ones it joined).
    void close_links(std::uint64_t connection_id);
    // Forgets the channel, under m_link_mutex.
    void erase_link(const std::string& channel);
    // Drops channels nobody joined in time, under m_link_mutex.
    void sweep_links(std::int64_t now_ms);

    // Marks the session authenticated, answers with AuthResult, attaches it to the router and
    // appends the drain of its mailbox followed by QueueDrained.
    void authenticate(Session& session, const std::string& username, std::uint32_t device_id,
                      std::uint64_t request_id, Responses& out);
    // Appends the device's queued envelopes after session.drained_up_to, oldest first: one page
    // for a paged drain, else all of them; then QueueDrained once there are no more. synced:
    // every write queued before has been committed already.
    void drain(Session& session, bool synced, Responses& out);
    bool verify(std::span<const std::uint8_t> public_key, std::span<const std::uint8_t> data,
                std::span<const std::uint8_t> signature);
    // A RATE_LIMITED answer if the request is over its account's or address's rate.
    std::optional<Bytes> check_rate(Session& session, const wire::Envelope& request);
    // Addresses the per-address limits skip (Options::limit_loopback).
    bool exempt(const std::string& address) const;
    // A failed registration or authentication costs its address more of its budget.
    void charge_failed_auth(const Session& session);
    // A RATE_LIMITED answer if a new send from `from` to `to` would pass a mailbox quota;
    // otherwise counts it.
    std::optional<Bytes> check_quota(std::uint64_t id, const std::string& from,
                                     const std::string& to);

    RelayStore& m_store;
    const Clock& m_clock;
    Options m_options;
    std::atomic<Router*> m_router{nullptr};
    std::atomic<DeliveryListener*> m_listener{nullptr};
    // Tells the listener (if any) that these envelopes are durable.
    void notify_stored(std::vector<DeliveryNote> notes);
    BlobStore* m_blobs = nullptr;
    // libsignal's context is used by one thread at a time; signature checks take this lock.
    std::mutex m_crypto_mutex;
    std::unique_ptr<crypto::SignalContext> m_signal;
    // Marks the send named by key (pending_key) as pushed before its commit; false if it is
    // already, so that a retry arriving meanwhile is not pushed a second time.
    bool claim_pending(const std::string& key);
    // The send completed (or was refused): a later retry is judged by the send log again.
    void release_pending(const std::string& key);
    // Sends pushed before their commit and not yet completed, by (sender, device, message id):
    // a retry arriving meanwhile is not pushed a second time.
    std::mutex m_pending_mutex;
    std::unordered_set<std::string> m_pending_sends;
    // Last connection times not written yet, by (username, device id).
    std::mutex m_seen_mutex;
    std::map<std::pair<std::string, std::uint32_t>, std::int64_t> m_seen;

    // Devices removed while this relay ran, so that their connections still open (until the
    // transport closes them) are refused at once. m_removals counts them (written under the
    // lock), so that a session checks the set only after a new removal.
    std::mutex m_removed_mutex;
    std::set<std::pair<std::string, std::uint32_t>> m_removed;
    std::atomic<std::uint64_t> m_removals{0};

    RateLimiter m_account_limiter;
    RateLimiter m_auth_limiter;
    // Queue tallies by recipient for the quotas: the largest device queue and, per sender, its
    // largest share of one; counted up by sends and read again from m_queue_counter now and
    // then. Guarded by m_quota_mutex.
    struct QueueTally {
        std::int64_t read_ms = 0;
        std::size_t device_max = 0;
        std::unordered_map<std::string, std::size_t> from;
    };
    std::mutex m_quota_mutex;
    std::unique_ptr<RelayAdmin> m_queue_counter;
    std::unordered_map<std::string, QueueTally> m_queues;

    // Disabled accounts; m_disabled_count lets requests skip the lock while there are none.
    std::mutex m_disabled_mutex;
    std::set<std::string> m_disabled;
    std::atomic<std::size_t> m_disabled_count{0};

    // Link channels by their 5 bytes; an end is a connection id. A channel whose other end
    // closed stays (dead) until the remaining end closes, so that its sends get NOT_FOUND.
    struct LinkChannel {
        std::uint64_t opener = 0;
        std::optional<std::uint64_t> joiner;
        std::int64_t expires_ms = 0; // the deadline to join
        bool dead = false;
        std::string address; // the opener's Session::peer_address
    };
    std::mutex m_link_mutex;
    std::unordered_map<std::string, LinkChannel> m_links;
    // The channels each connection is an end of.
    std::unordered_map<std::uint64_t, std::vector<std::string>> m_link_ends;
    std::int64_t m_next_link_sweep_ms = 0;                            // guarded by m_link_mutex
    std::unordered_map<std::string, std::size_t> m_links_per_address; // guarded by m_link_mutex

    // Declared last: destroyed (stopped) first, while everything its completions use remains.
    std::unique_ptr<MailboxCommitter> m_committer;
};

} // namespace veil::relay
