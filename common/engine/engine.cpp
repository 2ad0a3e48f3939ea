#include "engine/engine.h"

#include "engine/link_state.h"
#include "engine/wire_util.h"

#include "crypto/keys.h"
#include "crypto/provider.h"
#include "crypto/session.h"
#include "protocol/envelope_codec.h"
#include "protocol/padding.h"
#include "util/crash_point.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/unicode.h"

#include <algorithm>
#include <random>
#include <set>

namespace veil::engine {
using detail::bytes_of;
using detail::relay_error;
namespace {

constexpr const char* kLog = "engine";
// Setting key prefix (then the peer's name): the restore whose heal the peer has not been told
// of yet, or empty.
constexpr const char* kRestartNoticeKey = "session_restart_notice:";

Bytes signed_challenge_payload(std::string_view label, const std::string& nonce,
                               const std::string& username) {
    Bytes out(label.begin(), label.end());
    out.insert(out.end(), nonce.begin(), nonce.end());
    out.insert(out.end(), username.begin(), username.end());
    return out;
}

} // namespace

const char* state_name(State state) {
    switch (state) {
    case State::offline: return "offline";
    case State::connecting: return "connecting";
    case State::authenticating: return "authenticating";
    case State::ready: return "ready";
    case State::failed: return "failed";
    case State::damaged: return "damaged";
    }
    return "?";
}

Status Engine::create_account(store::AccountStore& store, crypto::SignalContext& context,
                              const std::string& username, const std::string& relay_url) {
    if (!protocol::valid_username(username))
        return make_error(Errc::invalid_argument,
                          "usernames are 2 to 32 characters of a-z, 0-9, '_', '.' and '-'");
    auto identity = crypto::generate_identity(context);
    if (!identity)
        return identity.error();
    store::AccountStore::Transaction tx(store);
    VEIL_TRY(tx.begun());
    VEIL_TRY(store.set_identity(identity->key_pair, identity->registration_id));
    // This device's own key for logging in, apart from the identity every device shares.
    auto device_key = crypto::generate_identity(context);
    if (!device_key)
        return device_key.error();
    VEIL_TRY(store.set_device_key_pair(device_key->key_pair));
    store::AccountInfo info;
    info.username = username;
    info.relay_url = relay_url;
    info.device_id = 1;
    info.registered = false;
    VEIL_TRY(store.set_account(info));
    return tx.commit();
}

Engine::Engine(store::AccountStore& store, crypto::SignalContext& context, Transport& transport,
               const Clock& clock, EngineObserver& observer, EngineOptions options)
    : m_store(store)
    , m_context(context)
    , m_transport(transport)
    , m_clock(clock)
    , m_observer(observer)
    , m_options(options) {
    m_transport.set_listener(this);
}

Engine::~Engine() {
    m_transport.set_listener(nullptr);
    if (m_reconnect_timer)
        m_transport.cancel_timer(m_reconnect_timer);
    if (m_expiry_timer)
        m_transport.cancel_timer(m_expiry_timer);
    if (m_retry_timer)
        m_transport.cancel_timer(m_retry_timer);
    if (m_drain_timer)
        m_transport.cancel_timer(m_drain_timer);
}

Status Engine::load_account() {
    auto account = m_store.account();
    if (!account)
        return account.error();
    m_username = account->username;
    m_relay_url = account->relay_url;
    m_registered = account->registered;
    m_device_id = account->device_id;
    return {};
}

Status Engine::start() {
    if (m_store.damaged())
        return make_error(Errc::corrupt, kStoreDamaged);
    VEIL_TRY(load_account());
    if (m_relay_url.empty())
        return make_error(Errc::invalid_argument, "no relay address is set for this profile");
    auto store_context = crypto::StoreContext::create(m_context, m_store);
    if (!store_context)
        return store_context.error();
    m_store_context = std::move(store_context.value());
    m_started = true;
    m_backoff_ms = 0;
    sweep_expired(); // what disappeared while the app was closed goes first
    set_state(State::connecting);
    m_transport.connect(m_relay_url);
    return {};
}

void Engine::stop() {
    m_started = false;
    if (m_reconnect_timer) {
        m_transport.cancel_timer(m_reconnect_timer);
        m_reconnect_timer = 0;
    }
    m_transport.close();
    fail_requests("the engine stopped");
    set_state(State::offline);
}

void Engine::set_state(State state) {
    if (state == m_state)
        return;
    m_state = state;
    log::info(kLog, std::string("state ") + state_name(state));
    m_observer.on_state(state);
}

void Engine::report(const Error& error) {
    log::warn(kLog, std::string(errc_name(error.code)) + ": " + error.message);
    // A damaged store is told once, in one sentence, instead of each write that fails on it.
    if (stop_if_store_damaged())
        return;
    m_observer.on_error(error);
}

bool Engine::stop_if_store_damaged() {
    if (!m_store.damaged())
        return false;
    if (m_state == State::damaged)
        return true;
    log::warn(kLog, "the account database is damaged: stopping, nothing more is acked");
    m_started = false;
    for (auto* timer : {&m_reconnect_timer, &m_retry_timer}) {
        if (*timer) {
            m_transport.cancel_timer(*timer);
            *timer = 0;
        }
    }
    m_acks_waiting.clear();
    m_batch.reset(); // rolled back: nothing of it is acked
    m_transport.close();
    fail_requests("the message store is damaged");
    set_state(State::damaged);
    m_observer.on_error(make_error(Errc::corrupt, kStoreDamaged));
    return true;
}

// ---- connection lifecycle ------------------------------------------------------------------

void Engine::on_connected() {
    if (m_link && !m_registered) {
        link_on_connected();
        return;
    }
    set_state(State::authenticating);
    wire::Envelope e;
    e.mutable_challenge_request();
    request(std::move(e), [this](const wire::Envelope& response) {
        if (!response.has_challenge() ||
            response.challenge().nonce().size() != protocol::kNonceBytes) {
            report(make_error(Errc::protocol, "the relay did not send a valid challenge"));
            m_transport.close();
            return;
        }
        if (m_registered)
            begin_auth(response.challenge().nonce());
        else
            begin_register(response.challenge().nonce());
    });
}

void Engine::on_disconnected(const std::string& reason) {
    fail_requests(reason);
    // A link channel lives as long as the new device's connection.
    if (m_link)
        link_fail("the connection to the relay was lost while linking: " + reason, false);
    m_in_flight.clear();
    m_fetching.clear();
    // Unacked deliveries come again after the reconnect; the processed table shows them once.
    m_acks_waiting.clear();
    m_ack_in_flight = false;
    m_was_settled = false;
    // Group deliveries not yet processed come again too; fetched changes are fetched again.
    m_drained = false;
    // The next AuthResult counts the one-time prekeys afresh.
    m_prekey_message_seen = false;
    m_prekey_check_in_flight = false;
    m_inbox.queue.clear();
    m_drained_waiting = false;
    m_inbox.busy = false;
    m_inbox.fetched_at.clear();
    m_inbox.identities_tried.clear();
    m_inbox.refused.clear();
    m_listing.clear();
    m_group_in_flight.clear();
    m_group_updates.clear();
    if (m_state == State::failed || m_state == State::damaged)
        return;
    if (!m_started) {
        set_state(State::offline);
        return;
    }
    log::info(kLog, "disconnected: " + reason);
    // Told once per outage, so that retries with backoff do not repeat it.
    if (!m_outage_reported) {
        m_outage_reported = true;
        bool was_connecting = m_state == State::connecting;
        m_observer.on_error(make_error(
            Errc::disconnected,
            (was_connecting ? "cannot reach the relay: " : "lost the connection to the relay: ") +
                reason + "; retrying"));
    }
    set_state(State::offline);
    schedule_reconnect();
}

void Engine::schedule_retry(const wire::Error& error) {
    if (error.retry_after_ms() == 0 || m_retry_timer)
        return;
    // Up to a quarter more than asked, so that clients throttled together do not all come back
    // in the same millisecond.
    static thread_local std::mt19937 rng{std::random_device{}()};
    const std::uint32_t wait = error.retry_after_ms();
    std::uniform_int_distribution<std::uint32_t> dist(wait, wait + wait / 4);
    m_retry_timer = m_transport.start_timer(dist(rng), [this] {
        m_retry_timer = 0;
        pump_outgoing();
    });
}

void Engine::schedule_reconnect() {
    if (!m_started || m_reconnect_timer)
        return;
    m_backoff_ms = m_backoff_ms == 0 ? m_options.backoff_initial_ms
                                     : std::min(m_backoff_ms * 2, m_options.backoff_max_ms);
    // Jitter over the upper half of the window spreads the reconnects of many clients while
    // keeping each one's wait growing.
    static thread_local std::mt19937 rng{std::random_device{}()};
    std::uniform_int_distribution<std::uint32_t> dist(m_backoff_ms / 2, m_backoff_ms);
    std::uint32_t delay = dist(rng);
    m_reconnect_timer = m_transport.start_timer(delay, [this] {
        m_reconnect_timer = 0;
        if (!m_started)
            return;
        set_state(State::connecting);
        m_transport.connect(m_relay_url);
    });
}

void Engine::request(wire::Envelope envelope, ResponseHandler handler) {
    std::uint64_t id = m_next_request_id++;
    // New work: the next time nothing is open, on_settled is due again.
    m_was_settled = false;
    envelope.set_version(protocol::kProtocolVersion);
    envelope.set_request_id(id);
    std::uint64_t timer = start_request_timer(id);
    m_pending_requests.emplace(id, PendingRequest{std::move(handler), timer});
    m_transport.send(protocol::encode_envelope(envelope));
}

std::uint64_t Engine::start_request_timer(std::uint64_t id) {
    const std::uint64_t frames_then = m_frames_handled;
    return m_transport.start_timer(m_options.request_timeout_ms, [this, id, frames_then] {
        auto it = m_pending_requests.find(id);
        if (it == m_pending_requests.end())
            return;
        it->second.timer = 0;
        // The relay answers in order, behind every frame it sent before: while we were busy
        // with those (a catch-up decrypting thousands of deliveries), the answer may still sit
        // unread in the socket when the timer fires. A relay that sent us anything during the
        // wait is alive, and our own backlog is not its silence: wait again.
        if (m_frames_handled != frames_then) {
            it->second.timer = start_request_timer(id);
            return;
        }
        // A relay that stops answering is treated as gone: the connection is dropped, and
        // durable state is resent after the reconnect.
        log::warn(kLog, "the relay did not answer a request in time; reconnecting");
        m_transport.close();
    });
}

void Engine::fail_requests(const std::string& reason) {
    // Handlers are dropped, not called: every request is re-issued from durable state after the
    // next authentication (outbox, pending, prekey refill).
    if (!m_pending_requests.empty())
        log::debug(kLog, "dropping " + std::to_string(m_pending_requests.size()) +
                             " requests: " + reason);
    for (auto& [id, pending] : m_pending_requests)
        if (pending.timer)
            m_transport.cancel_timer(pending.timer);
    m_pending_requests.clear();
}

void Engine::on_frame(std::span<const std::uint8_t> frame) {
    ++m_frames_handled; // the relay is alive (see start_request_timer)
    auto decoded = protocol::decode_envelope(frame);
    if (!decoded) {
        report(make_error(Errc::protocol, "the relay sent a malformed frame"));
        return;
    }
    const wire::Envelope& e = decoded.value();
    if (e.request_id() == 0) {
        if (e.has_deliver())
            handle_deliver(e.deliver());
        else if (e.has_link_message())
            link_on_message(e.link_message());
        else if (e.has_queue_drained()) {
            // Told once the deliveries queued before it are handled.
            if (m_inbox.queue.empty() || m_inbox.busy)
                on_queue_drained();
            else
                m_drained_waiting = true;
        } else if (e.has_error())
            report(relay_error(e.error()));
        return;
    }
    auto it = m_pending_requests.find(e.request_id());
    if (it == m_pending_requests.end()) {
        log::debug(kLog, "response to an unknown request");
        return;
    }
    ResponseHandler handler = std::move(it->second.handler);
    if (it->second.timer)
        m_transport.cancel_timer(it->second.timer);
    m_pending_requests.erase(it);
    handler(e);
    check_settled();
}

// ---- registration and authentication --------------------------------------------------------

void Engine::begin_register(const std::string& nonce) {
    auto identity = m_store.identity_key_pair();
    auto registration_id = m_store.local_registration_id();
    if (!identity || !registration_id) {
        report(make_error(Errc::database, "the account's identity could not be read"));
        set_state(State::failed);
        return;
    }
    // The device key is signed with the rest, so that nobody between us and the relay can
    // register a key of their own as device 1.
    auto device_key = m_store.device_key_pair();
    Bytes to_sign = signed_challenge_payload("veil-register-v1", nonce, m_username);
    if (device_key && device_key.value())
        to_sign.insert(to_sign.end(), device_key.value()->public_key.begin(),
                       device_key.value()->public_key.end());
    auto signature = crypto::sign(m_context, identity->private_key, to_sign);
    auto signed_prekey = crypto::generate_signed_prekey(
        m_context, identity.value(), 1, static_cast<std::uint64_t>(m_clock.now_ms()));
    if (!signature || !signed_prekey) {
        report(make_error(Errc::crypto, "could not prepare the registration"));
        set_state(State::failed);
        return;
    }

    wire::Envelope e;
    auto* r = e.mutable_register_request();
    r->set_username(m_username);
    r->set_identity_key(to_string(identity->public_key));
    r->set_registration_id(registration_id.value());
    r->set_signature(to_string(signature.value()));
    if (device_key && device_key.value())
        r->set_device_key(to_string(device_key.value()->public_key));
    if (auto name = sealed_device_name(); !name.empty())
        r->set_device_name(to_string(name));
    auto* spk = r->mutable_signed_prekey();
    spk->set_id(signed_prekey->id);
    spk->set_public_key(to_string(signed_prekey->public_key));
    spk->set_signature(to_string(signed_prekey->signature));
    {
        // Keys are stored before they are offered, so a message to any of them can be decrypted.
        store::AccountStore::Transaction tx(m_store);
        Status st = tx.begun();
        if (st)
            st = m_store.store_signed_prekey(signed_prekey->id, signed_prekey->record.view());
        if (st)
            st = store_new_prekeys(*r->mutable_one_time_prekeys());
        if (st)
            st = tx.commit();
        if (!st) {
            report(st.error());
            set_state(State::failed);
            return;
        }
    }
    request(std::move(e), [this](const wire::Envelope& response) {
        if (response.has_error()) {
            report(relay_error(response.error()));
            set_state(State::failed);
            m_started = false;
            m_transport.close();
            return;
        }
        auto info = m_store.account();
        if (info) {
            info->registered = true;
            info->device_id = response.auth_result().device_id();
            if (auto st = m_store.set_account(info.value()); !st)
                report(st.error());
        }
        m_registered = true;
        // A new account has no mailbox to catch up on, whether or not the relay says so.
        m_drained = true;
        log::info(kLog, "registered on the relay");
        on_authenticated(response.auth_result().one_time_prekeys_left());
    });
}

void Engine::begin_auth(const std::string& nonce) {
    auto identity = m_store.identity_key_pair();
    auto account = m_store.account();
    if (!identity || !account) {
        report(make_error(Errc::database, "the account's identity could not be read"));
        set_state(State::failed);
        return;
    }
    Bytes payload = signed_challenge_payload("veil-auth-v1", nonce, m_username);
    std::uint32_t device = account->device_id;
    payload.push_back(0);
    for (int shift = 24; shift >= 0; shift -= 8)
        payload.push_back(static_cast<std::uint8_t>(device >> shift));
    // Profiles from before devices had keys of their own log in with the identity key.
    auto device_key = m_store.device_key_pair();
    if (!device_key) {
        report(device_key.error());
        set_state(State::failed);
        return;
    }
    const SecretBytes& signing_key =
        device_key.value() ? device_key.value()->private_key : identity->private_key;
    auto signature = crypto::sign(m_context, signing_key, payload);
    if (!signature) {
        report(signature.error());
        set_state(State::failed);
        return;
    }
    wire::Envelope e;
    auto* a = e.mutable_auth_request();
    a->set_username(m_username);
    a->set_device_id(device);
    a->set_signature(to_string(signature.value()));
    request(std::move(e), [this](const wire::Envelope& response) {
        if (response.has_error()) {
            report(relay_error(response.error()));
            if (response.error().code() == wire::Error::UNAVAILABLE) {
                m_transport.close();
                return;
            }
            if (response.error().code() == wire::Error::DEVICE_REMOVED) {
                fail_everything_queued();
                m_observer.on_unlinked();
            }
            set_state(State::failed);
            m_started = false;
            m_transport.close();
            return;
        }
        on_authenticated(response.auth_result().one_time_prekeys_left());
    });
}

void Engine::on_authenticated(std::uint32_t prekeys_left) {
    m_outage_reported = false;
    // Backoff restarts only once the relay has let us in: a relay that accepts connections and
    // then drops them keeps the waits growing.
    m_backoff_ms = 0;
    set_state(State::ready);
    refill_prekeys(prekeys_left);
    // Our other devices may have changed while we were away; the list also tells pump_outgoing
    // where sync copies go.
    fetch_device_list(m_username);
    pump_uploads();
    pump_outgoing();
}

void Engine::check_prekeys() {
    // The count in AuthResult covers everything taken before we connected, the mailbox's
    // prekey messages included; so only prekey messages after the drain need a fresh count, and
    // one question at a time covers any number of them.
    if (!m_prekey_message_seen || m_prekey_check_in_flight || !m_drained || m_state != State::ready)
        return;
    m_prekey_message_seen = false;
    m_prekey_check_in_flight = true;
    wire::Envelope e;
    e.mutable_prekey_status_request();
    request(std::move(e), [this](const wire::Envelope& response) {
        m_prekey_check_in_flight = false;
        if (response.has_prekey_status())
            refill_prekeys(response.prekey_status().one_time_prekeys_left());
        check_prekeys(); // prekey messages that came meanwhile
    });
}

void Engine::refill_prekeys(std::uint32_t left) {
    if (left >= m_options.prekey_low_watermark)
        return;
    wire::Envelope e;
    auto* upload = e.mutable_prekey_upload();
    store::AccountStore::Transaction tx(m_store);
    Status st = tx.begun();
    if (st)
        st = store_new_prekeys(*upload->mutable_one_time_prekeys());
    if (st)
        st = tx.commit();
    if (!st) {
        report(st.error());
        return;
    }
    log::info(kLog,
              "uploading " + std::to_string(upload->one_time_prekeys_size()) + " one-time prekeys");
    request(std::move(e), [this](const wire::Envelope& response) {
        if (response.has_error())
            report(relay_error(response.error()));
    });
}

Status Engine::store_new_prekeys(google::protobuf::RepeatedPtrField<wire::OneTimePrekey>& out) {
    // Ids come from a persisted counter, so no id is ever offered twice, even after a failed
    // registration or a crash between generating and uploading.
    auto first_id = m_store.reserve_prekey_ids(m_options.prekey_batch);
    if (!first_id)
        return first_id.error();
    auto prekeys = crypto::generate_prekeys(m_context, first_id.value(), m_options.prekey_batch);
    if (!prekeys)
        return prekeys.error();
    for (const auto& k : prekeys.value()) {
        VEIL_TRY(m_store.store_prekey(k.id, k.record.view()));
        auto* otk = out.Add();
        otk->set_id(k.id);
        otk->set_public_key(to_string(k.public_key));
    }
    return {};
}

// ---- outgoing --------------------------------------------------------------------------------

Status Engine::add_contact(const std::string& name) {
    if (!protocol::valid_username(name))
        return make_error(Errc::invalid_argument, "'" + name + "' is not a valid username");
    if (m_username.empty())
        VEIL_TRY(load_account());
    if (name == m_username)
        return make_error(Errc::invalid_argument, "you cannot add yourself as a contact");
    auto known = m_store.is_contact(name);
    if (!known)
        return known.error();
    if (known.value())
        return {};
    // Our other devices learn of the contact too.
    store::AccountStore::Transaction tx(m_store);
    VEIL_TRY(tx.begun());
    VEIL_TRY(m_store.add_contact(name, m_clock.now_ms()));
    wire::SyncMessage sync;
    sync.mutable_contact()->set_username(name);
    VEIL_TRY(queue_sync(sync));
    VEIL_TRY(tx.commit());
    pump_outgoing();
    return {};
}

Status Engine::set_blocked(const std::string& name, bool blocked) {
    if (!protocol::valid_username(name))
        return make_error(Errc::invalid_argument, "'" + name + "' is not a valid username");
    if (m_username.empty())
        VEIL_TRY(load_account());
    if (name == m_username)
        return make_error(Errc::invalid_argument, "you cannot block yourself");
    return m_store.set_blocked(name, blocked, m_clock.now_ms());
}

Result<Bytes> Engine::send_text(const std::string& peer, const std::string& text) {
    if (!protocol::valid_username(peer))
        return make_error(Errc::invalid_argument, "'" + peer + "' is not a valid username");
    Outgoing message;
    message.text = text;
    return send(peer, message);
}

Status Engine::queue_content(const std::string& peer, const Bytes& message_id,
                             const wire::Content& content, bool sync) {
    store::PendingItem item;
    item.message_id = message_id;
    item.peer = peer;
    item.sync = sync;
    std::string serialized = content.SerializeAsString();
    item.content = Bytes(serialized.begin(), serialized.end());
    auto seq = m_store.add_pending(item);
    if (!seq)
        return seq.error();
    return {};
}

bool Engine::idle_outgoing() {
    auto outbox = m_store.outbox();
    auto group_outbox = m_store.group_outbox();
    if (!outbox || !group_outbox || !outbox->empty() || !group_outbox->empty())
        return false;
    auto pending = m_store.pending();
    if (!pending)
        return false;
    std::set<std::string> held; // peers already found waiting for the person's acceptance
    for (const auto& item : pending.value()) {
        if (item.peer == m_username)
            return false;
        if (held.count(item.peer))
            continue;
        auto trust = m_store.trust(item.peer);
        if (!trust || !trust->needs_accept)
            return false;
        held.insert(item.peer);
    }
    return true;
}

void Engine::mark_failed(std::span<const std::uint8_t> message_id) {
    if (!m_store.set_status(message_id, store::MessageStatus::failed))
        return;
    Effects effects;
    effects.statuses.emplace_back(Bytes(message_id.begin(), message_id.end()),
                                  store::MessageStatus::failed);
    announce(effects);
}

// ---- incoming --------------------------------------------------------------------------------

void Engine::handle_deliver(const wire::Deliver& d) {
    if (d.has_expired()) {
        handle_expired(d);
        return;
    }
    m_inbox.queue.push_back(d);
    // A full batch is handled at once: what waits in memory stays bounded however fast the
    // relay writes and the event loop reads.
    if (m_inbox.queue.size() >= kInboxBatch && !m_inbox.busy)
        drain_inbox();
    else
        schedule_drain();
}

void Engine::schedule_drain() {
    // After the rest of this socket read: the deliveries in it are handled as one batch.
    if (m_drain_timer)
        return;
    m_drain_timer = m_transport.start_timer(0, [this] {
        m_drain_timer = 0;
        drain_inbox();
    });
}

void Engine::on_queue_drained() {
    m_drained_waiting = false;
    m_drained = true;
    resend_group_changes();
    m_observer.on_queue_drained();
    pump_outgoing();
}

void Engine::begin_batch() {
    if (m_batch)
        return;
    auto batch = std::make_unique<Batch>(m_store);
    if (!batch->tx.begun() || batch->tx.nested())
        return; // each delivery then commits on its own, as before
    m_batch = std::move(batch);
}

void Engine::finish_batch() {
    if (!m_batch)
        return;
    auto batch = std::move(m_batch);
    if (auto st = batch->tx.commit(); !st) {
        // Nothing of it is acked or announced: the relay sends it all again after a reconnect.
        report(st.error());
        return;
    }
    // Once per message, as if each had committed alone: durable now, not acked yet.
    for (std::size_t i = 0; i < batch->committed; ++i)
        crash::point("client.committed");
    for (auto id : batch->acks)
        ack(id);
    for (auto& effects : batch->effects)
        announce(effects);
}

void Engine::announce_committed(Effects effects) {
    if (m_batch)
        m_batch->effects.push_back(std::move(effects));
    else
        announce(effects);
}

void Engine::handle_direct(const wire::Deliver& d) {
    const std::string& sender = d.from_username();
    Bytes message_id = bytes_of(d.message_id());
    auto seen = m_store.was_processed(sender, message_id);
    if (!seen) {
        report(seen.error());
        return; // not acked: redelivered after the store recovers
    }
    if (seen.value()) {
        ack(d.delivery_id());
        return;
    }

    if (d.type() != wire::CIPHERTEXT_PREKEY && d.type() != wire::CIPHERTEXT_WHISPER) {
        // A sender key message outside a group (or no ciphertext at all) is not a 1:1 message.
        record_failure(d, make_error(Errc::invalid_message, "it is not a 1:1 message"));
        ack(d.delivery_id());
        return;
    }
    crypto::Ciphertext ct;
    ct.type = d.type() == wire::CIPHERTEXT_PREKEY ? crypto::CiphertextType::prekey
                                                  : crypto::CiphertextType::whisper;
    ct.bytes = bytes_of(d.ciphertext());
    crypto::ProtocolAddress address{sender, static_cast<std::int32_t>(d.from_device_id())};

    Effects effects;
    Status st;
    {
        // libsignal saves identities and sessions through the store while it decrypts; all of it
        // commits together with the plaintext, or none of it does.
        store::AccountStore::Transaction tx(m_store);
        st = tx.begun();
        Result<SecretBytes> plain = make_error(Errc::internal, "not decrypted");
        if (st) {
            plain = crypto::decrypt(*m_store_context, address, ct);
            if (!plain)
                st = plain.error();
            else
                crash::point("client.decrypted");
        }
        wire::Content content;
        if (st) {
            auto parsed = detail::content_of(plain->view());
            if (parsed)
                content = std::move(parsed.value());
            else
                st = parsed.error();
        }
        if (st)
            st = process_content(d, content, effects);
        if (st)
            st = note_identity_changes(effects);
        // A transient delivery (typing) is never redelivered, so it needs no processed row.
        if (st && d.delivery_id() != 0)
            st = m_store.mark_processed(sender, message_id, m_clock.now_ms());
        if (st)
            st = tx.commit();
    }
    if (st) {
        if (m_batch)
            ++m_batch->committed; // its crash point once the batch commits
        else
            crash::point("client.committed");
    }
    if (!st) {
        if (st.error().code == Errc::duplicate_message) {
            ack(d.delivery_id());
            return;
        }
        if (st.error().code == Errc::database) {
            report(st.error());
            return; // not acked, so the relay keeps it
        }
        record_failure(d, st.error());
        ack(d.delivery_id());
        if (m_batch &&
            (st.error().code == Errc::invalid_message || st.error().code == Errc::no_session)) {
            // A repair after a restore sends requests and writes lines of its own.
            finish_batch();
        }
        heal_after_restore(sender, st.error());
        return;
    }
    ack(d.delivery_id());
    announce_committed(std::move(effects));
    note_sender_device(sender, static_cast<std::int32_t>(d.from_device_id()));
    if (ct.type == crypto::CiphertextType::prekey)
        m_prekey_message_seen = true;
    if (!m_batch)
        pump_outgoing(); // a batch pumps once it is committed (drain_inbox)
}

void Engine::announce(const Effects& effects) {
    // Observers hear of what was committed only, never of a rolled-back change.
    for (const auto& row : effects.rows)
        m_observer.on_message(row);
    // Changes are also logged in the store, for a client that reports them later (veil
    // receive --json after another verb processed them).
    auto log_status = [this](const Bytes& id, store::MessageStatus status) {
        store::AccountStore::EventRow e;
        e.kind = store::AccountStore::EventKind::status;
        e.message_id = id;
        e.status = status;
        if (auto st = m_store.log_event(e); !st)
            report(st.error());
    };
    for (const auto& [id, status] : effects.statuses) {
        log_status(id, status);
        m_observer.on_status(id, status);
    }
    for (auto row_id : effects.changed) {
        store::AccountStore::EventRow e;
        e.kind = store::AccountStore::EventKind::changed;
        e.message = row_id;
        if (auto st = m_store.log_event(e); !st)
            report(st.error());
        auto row = m_store.message_by_id(row_id);
        if (row && row.value())
            m_observer.on_message_changed(*row.value());
    }
    for (const auto& [conversation, who, typing] : effects.typing)
        m_observer.on_typing(conversation, who, typing);
    for (const auto& peer : effects.identities_changed)
        m_observer.on_identity_changed(peer);
    if (std::any_of(effects.rows.begin(), effects.rows.end(),
                    [](const store::MessageRow& r) { return r.expires_at_ms != 0; }))
        schedule_expiry();
    for (const auto& [group_id, sentence] : effects.warnings) {
        log::warn(kLog, "refused a group change or message");
        m_observer.on_group_warning(group_id, sentence);
    }
    for (const auto& group_id : effects.groups_changed)
        m_observer.on_group_changed(group_id);
    for (const auto& conversation : effects.read_elsewhere)
        m_observer.on_read_elsewhere(conversation);
    if (effects.devices_changed)
        m_observer.on_devices_changed();
}

Status Engine::process_content(const wire::Deliver& d, const wire::Content& content,
                               Effects& effects) {
    const std::string& sender = d.from_username();
    if (content.has_sync())
        return process_sync(d, content.sync(), effects);
    if (content.has_group() || content.has_sender_key() || content.has_group_info())
        return process_group_content(d, content, effects);
    if (content.has_data()) {
        const auto& data = content.data();
        // The wire id is outside the ciphertext; the copy inside authenticates it.
        if (data.message_id() != d.message_id())
            return make_error(Errc::invalid_message, "the message id does not match");
        if (sender == m_username)
            return make_error(Errc::invalid_message, "a message from our own account is not "
                                                     "a sync message");
        // A blocked sender's message is dropped: not stored, not shown, no receipt.
        auto is_blocked = m_store.is_blocked(sender);
        if (!is_blocked)
            return is_blocked.error();
        if (is_blocked.value())
            return {};
        auto is_contact = m_store.is_contact(sender);
        if (is_contact && !is_contact.value())
            VEIL_TRY(m_store.add_contact(sender, m_clock.now_ms()));
        std::size_t rows_before = effects.rows.size();
        VEIL_TRY(apply_data(sender, sender, /*ours=*/false, data,
                            static_cast<std::int64_t>(d.server_timestamp_ms()), effects));
        if (effects.rows.size() > rows_before && !data.timer_update())
            VEIL_TRY(confirm_delivery(sender, data.message_id()));
        return {};
    }
    if (content.has_receipt())
        return apply_receipt(sender, content.receipt(), effects);
    if (content.has_session_restarted())
        return note_session_restarted(sender, content, effects);
    if (content.has_typing()) {
        auto is_blocked = m_store.is_blocked(sender);
        if (!is_blocked)
            return is_blocked.error();
        if (is_blocked.value() || sender == m_username)
            return {};
        std::string conversation = sender;
        if (!content.typing().group_id().empty()) {
            // Typing in a group: only from a member of a group we are in.
            Bytes group_id = bytes_of(content.typing().group_id());
            auto group = m_store.group(group_id);
            if (!group)
                return group.error();
            if (!group.value() || group.value()->has_left)
                return {};
            auto members = m_store.group_members(group_id);
            if (!members)
                return members.error();
            if (std::none_of(members->begin(), members->end(),
                             [&](const store::GroupMemberRow& m) { return m.username == sender; }))
                return {};
            conversation = store::group_conversation(group_id);
        }
        effects.typing.emplace_back(conversation, sender,
                                    content.typing().action() == wire::Typing::STARTED);
        return {};
    }
    return {}; // unknown content from a newer client: ignored, like unknown fields
}

void Engine::heal_after_restore(const std::string& peer, const Error& error) {
    // A profile put back from a snapshot holds the sessions of that day; whoever wrote to us
    // since has moved on, and their messages fail to decrypt on the old state (a chain or
    // ratchet key the restored session never saw). The repair is the encryption view's "start a
    // new session", done once per peer and restore, so that a peer who keeps failing cannot
    // make it loop; the person can still ask for it by hand.
    if (error.code != Errc::invalid_message && error.code != Errc::no_session)
        return;
    if (peer == m_username || m_state != State::ready)
        return;
    auto restored = m_store.restored_at_ms();
    if (!restored || restored.value() == 0)
        return;
    const std::string key = "session_healed_after_restore:" + peer;
    const std::string restore = std::to_string(restored.value());
    auto healed = m_store.setting(key);
    if (!healed || healed.value() == restore)
        return;
    if (auto st = m_store.set_setting(key, restore); !st) {
        report(st.error());
        return;
    }
    // The peer hears why over the new session, once its bundles are in (fetch_bundles): a
    // setting, so that the notice survives the process ending before they come.
    if (auto st = m_store.set_setting(kRestartNoticeKey + peer, restore); !st) {
        report(st.error());
        return;
    }
    if (auto st = restart_sessions(peer); !st) {
        report(st.error());
        return;
    }
    log::info(kLog, "started new sessions after a restore from a snapshot");
    Effects effects;
    Status st = add_line(peer,
                         "Messages from " + peer +
                             " could not be decrypted: this profile was restored from a snapshot "
                             "older than your conversation. A new session was started, so " +
                             peer +
                             " can read what you send from now on; ask them to send "
                             "again what could not be read.",
                         effects);
    if (!st) {
        report(st.error());
        return;
    }
    announce(effects);
}

Status Engine::queue_restart_notice(const std::string& peer) {
    auto due = m_store.setting(kRestartNoticeKey + peer);
    if (!due)
        return due.error();
    if (due->empty())
        return {};
    wire::Content content;
    content.mutable_session_restarted()->set_reason(wire::SessionRestarted::RESTORED_FROM_SNAPSHOT);
    VEIL_TRY(queue_content(peer, crypto::random_bytes(protocol::kMessageIdBytes), content));
    return m_store.set_setting(kRestartNoticeKey + peer, "");
}

Status Engine::note_session_restarted(const std::string& sender, const wire::Content& content,
                                      Effects& effects) {
    // Only a peer restarts a 1:1 session with us; our own devices and groups have no say.
    if (sender == m_username || content.has_group())
        return {};
    auto is_blocked = m_store.is_blocked(sender);
    if (!is_blocked)
        return is_blocked.error();
    if (is_blocked.value())
        return {};
    // Each notice has its own message id, marked processed with it: one line per heal, however
    // often the relay delivers it. Nothing is sent back, so two healing sides cannot loop.
    if (content.session_restarted().reason() == wire::SessionRestarted::RESTORED_FROM_SNAPSHOT)
        return add_line(sender,
                        sender +
                            "'s device restored an older copy of its data, so the secure session "
                            "was restarted. Messages you sent " +
                            sender +
                            " since that copy was made could not be read there: send again what "
                            "matters.",
                        effects);
    return add_line(sender, sender + " started a new secure session with you.", effects);
}

void Engine::record_failure(const wire::Deliver& d, const Error& error) {
    // Nothing is hidden: an undecryptable message leaves a visible placeholder with the reason.
    log::warn(kLog, std::string("undecryptable message: ") + errc_name(error.code));
    store::MessageRow row;
    row.peer = d.type() == wire::CIPHERTEXT_SENDER_KEY && !d.group_id().empty()
                   ? store::group_conversation(bytes_of(d.group_id()))
                   : d.from_username();
    row.message_id = bytes_of(d.message_id());
    row.direction = store::Direction::incoming;
    row.sender = d.from_username();
    row.text = "[could not decrypt this message: " + error.message + "]";
    row.sent_at_ms = static_cast<std::int64_t>(d.server_timestamp_ms());
    row.received_at_ms = m_clock.now_ms();
    row.status = store::MessageStatus::failed;
    store::AccountStore::Transaction tx(m_store);
    Status st = tx.begun();
    Result<std::int64_t> id = make_error(Errc::internal, "not inserted");
    if (st) {
        id = m_store.insert_message(row);
        if (!id)
            st = id.error();
    }
    if (st)
        st = m_store.mark_processed(row.sender, row.message_id, row.received_at_ms);
    if (st)
        st = tx.commit();
    if (!st) {
        report(st.error());
        return;
    }
    row.id = id.value();
    Effects effects;
    effects.rows.push_back(std::move(row));
    announce_committed(std::move(effects));
}

void Engine::ack(std::uint64_t delivery_id) {
    // What the relay holds for us stays there while the store cannot keep it.
    if (stop_if_store_damaged())
        return;
    if (delivery_id == 0)
        return; // a transient delivery: nothing to delete
    if (m_batch) {
        m_batch->acks.push_back(delivery_id); // acked once the batch is durable
        return;
    }
    m_acks_waiting.push_back(delivery_id);
    if (!m_ack_in_flight)
        flush_acks();
}

void Engine::flush_acks() {
    // One ack request at a time; deliveries processed meanwhile are acked together in the next,
    // so a burst costs the relay a few deletes instead of one per message.
    if (m_acks_waiting.empty())
        return;
    wire::Envelope e;
    auto* ack = e.mutable_ack_request();
    std::size_t n = std::min(m_acks_waiting.size(), protocol::kMaxAcksPerRequest);
    for (std::size_t i = 0; i < n; ++i)
        ack->add_delivery_ids(m_acks_waiting[i]);
    m_acks_waiting.erase(m_acks_waiting.begin(), m_acks_waiting.begin() + static_cast<long>(n));
    m_ack_in_flight = true;
    request(std::move(e), [this](const wire::Envelope& response) {
        m_ack_in_flight = false;
        if (response.has_error())
            report(relay_error(response.error()));
        flush_acks();
    });
}

bool Engine::settled() {
    bool groups_idle = m_group_in_flight.empty() && m_group_updates.empty() && !m_inbox.busy &&
                       m_inbox.queue.empty();
    return m_state == State::ready && !m_link && m_pending_requests.empty() &&
           m_uploading.empty() && m_downloading.empty() && m_acks_waiting.empty() &&
           m_in_flight.empty() && m_fetching.empty() && groups_idle && idle_outgoing();
}

void Engine::check_settled() {
    // Only when no request is open does the store need a look, which keeps bursts cheap.
    bool now = m_pending_requests.empty() && settled();
    if (now && !m_was_settled)
        m_observer.on_settled();
    m_was_settled = now;
}

} // namespace veil::engine
