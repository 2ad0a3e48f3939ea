// Engine: several devices per account (engine.h, "Devices"; veil.proto, "Devices and linking").
//
// A 1:1 message stays pending until the relay accepts it. Before it goes, it is encrypted once
// per device of its recipient and, for what the person wrote, once per other device of ours
// (a SyncSent copy); each ciphertext is stored in the outbox in the transaction that advanced its
// session. The relay refuses a send whose devices differ from the account's, naming the missing
// and the stale ones: the engine learns the list, encrypts for the new devices, forgets the
// removed ones (their sessions, copies and sender key holders, renewing our sender key wherever
// they held it) and sends again under the same message id.
#include "engine/engine.h"

#include "engine/bundle_from_wire.h"
#include "engine/wire_util.h"

#include "crypto/link.h"
#include "crypto/provider.h"
#include "crypto/sender_key.h"
#include "crypto/session.h"
#include "protocol/envelope_codec.h"
#include "protocol/padding.h"
#include "util/hex.h"
#include "util/log.h"

#include <algorithm>
#include <optional>

namespace veil::engine {
using detail::bytes_of;
using detail::relay_error;
namespace {

constexpr const char* kLog = "engine";

// Device list changes in a row before one send gives up: each answer carries the relay's whole
// truth, so more than a few means the list keeps changing under us.
constexpr int kMaxMismatches = 5;

using DeviceKey = std::pair<std::string, std::int32_t>;

} // namespace

// ---- the 1:1 pipeline ------------------------------------------------------------------------

void Engine::pump_outgoing() {
    // Inside a batch nothing of it is durable yet: drain_inbox pumps once it is committed.
    if (m_state != State::ready || m_batch)
        return;
    pump_direct();
    pump_group_sends();
    check_settled();
}

void Engine::pump_direct() {
    auto pending = m_store.pending();
    if (!pending) {
        report(pending.error());
        return;
    }
    if (pending->empty())
        m_throttled = false;
    // Messages to one peer go in order: one that waits for a device list or a session holds the
    // ones behind it.
    std::set<std::string> held;
    std::vector<const store::PendingItem*> ready;
    {
        // Every copy encrypted here (each in a savepoint of this) is made durable by one commit,
        // and only then sent: a burst of delivery receipts after a catch-up costs one fsync.
        // Nothing pending (most pumps) opens no transaction.
        std::optional<store::AccountStore::Transaction> tx;
        if (!pending->empty())
            tx.emplace(m_store);
        for (const auto& item : pending.value()) {
            if (m_throttled && (!m_in_flight.empty() || !ready.empty()))
                break; // one at a time until the backlog is gone
            if (held.count(item.peer))
                continue;
            if (m_in_flight.count(to_hex(item.message_id)))
                continue;
            switch (prepare_pending(item)) {
            case Readiness::ready: ready.push_back(&item); break;
            case Readiness::waiting: held.insert(item.peer); break;
            case Readiness::dropped: break;
            }
        }
        if (tx && tx->begun()) {
            if (auto st = tx->commit(); !st) {
                report(st.error());
                return;
            }
        }
    }
    for (const auto* item : ready)
        send_pending(*item);
    flush_legacy_outbox(pending.value());
}

Result<std::optional<std::vector<std::int32_t>>> Engine::own_other_devices() {
    auto list = m_store.known_devices(m_username);
    if (!list)
        return list.error();
    if (!list.value())
        return std::optional<std::vector<std::int32_t>>();
    std::vector<std::int32_t> others;
    for (auto d : *list.value())
        if (d != static_cast<std::int32_t>(m_device_id))
            others.push_back(d);
    return std::optional<std::vector<std::int32_t>>(std::move(others));
}

Engine::Readiness Engine::prepare_pending(const store::PendingItem& item) {
    const bool to_self = item.peer == m_username;
    std::vector<DeviceKey> targets;
    if (!to_self) {
        // A verified contact whose key changed gets nothing until the person accepts the key.
        auto trust = m_store.trust(item.peer);
        if (!trust) {
            report(trust.error());
            return Readiness::waiting;
        }
        if (trust->needs_accept)
            return Readiness::waiting;
        auto list = m_store.known_devices(item.peer);
        if (!list) {
            report(list.error());
            return Readiness::waiting;
        }
        if (!list.value() || list.value()->empty()) {
            fetch_device_list(item.peer);
            return Readiness::waiting;
        }
        for (auto d : *list.value())
            targets.emplace_back(item.peer, d);
    }
    if (to_self || item.sync) {
        auto own = own_other_devices();
        if (!own) {
            report(own.error());
            return Readiness::waiting;
        }
        if (!own.value()) {
            fetch_device_list(m_username);
            return Readiness::waiting;
        }
        for (auto d : *own.value())
            targets.emplace_back(m_username, d);
    }
    if (targets.empty()) {
        // Something for our other devices, and we have none: nobody needs it.
        if (auto st = finish_pending(item.message_id, item.seq); !st)
            report(st.error());
        return Readiness::dropped;
    }

    auto copies = m_store.outbox_of(item.message_id);
    if (!copies) {
        report(copies.error());
        return Readiness::waiting;
    }
    std::set<DeviceKey> have;
    for (const auto& c : copies.value())
        have.emplace(c.peer, c.device_id);
    std::map<std::string, std::vector<std::int32_t>> need_session;
    std::vector<DeviceKey> to_encrypt;
    for (const auto& t : targets) {
        if (have.count(t))
            continue;
        auto has = crypto::has_session(*m_store_context, {t.first, t.second});
        if (!has) {
            report(has.error());
            return Readiness::waiting;
        }
        if (has.value())
            to_encrypt.push_back(t);
        else
            need_session[t.first].push_back(t.second);
    }
    if (!need_session.empty()) {
        for (const auto& [username, devices] : need_session)
            fetch_bundles(username, devices);
        return Readiness::waiting;
    }
    if (to_encrypt.empty())
        return Readiness::ready;

    wire::Content content;
    if (!content.ParseFromArray(item.content.data(), static_cast<int>(item.content.size()))) {
        // Only this engine writes pending content; a row it cannot read is failed, not retried.
        if (auto st = finish_pending(item.message_id, item.seq); !st)
            report(st.error());
        mark_failed(item.message_id);
        return Readiness::dropped;
    }
    // Our other devices get what we sent, and to whom, unless the message is for them anyway.
    Bytes sync_copy;
    if (!to_self && item.sync) {
        wire::Content sync;
        sync.mutable_sync()->mutable_sent()->set_destination(item.peer);
        sync.mutable_sync()->mutable_sent()->set_content(to_string(item.content));
        sync_copy = bytes_of(sync.SerializeAsString());
    }
    // Encrypting advances each ratchet, so the ciphertexts are stored in the same transaction
    // and later resent as they are: a retry never encrypts twice.
    store::AccountStore::Transaction tx(m_store);
    Status st = tx.begun();
    for (const auto& [username, device] : to_encrypt) {
        if (!st)
            break;
        const Bytes& plain = username == m_username && !to_self ? sync_copy : item.content;
        auto ct = crypto::encrypt(*m_store_context, {username, device}, protocol::pad(plain));
        if (!ct) {
            st = ct.error();
            break;
        }
        store::OutboxItem out;
        out.message_id = item.message_id;
        out.peer = username;
        out.device_id = device;
        out.type = static_cast<int>(ct->type);
        out.ciphertext = std::move(ct->bytes);
        st = m_store.add_outbox(out);
        // A sender key copy makes its device a holder of our key for the group.
        if (st && content.has_sender_key())
            st = m_store.add_sender_key_holder(bytes_of(content.sender_key().group_id()), username,
                                               device);
    }
    if (st)
        st = tx.commit();
    if (!st) {
        report(st.error());
        return Readiness::waiting;
    }
    return Readiness::ready;
}

void Engine::send_pending(const store::PendingItem& item) {
    send_copies(item.message_id, item.peer, item.sync && item.peer != m_username, item.seq);
}

void Engine::flush_legacy_outbox(const std::vector<store::PendingItem>& pending) {
    // Before schema 5 a pending row left when its one ciphertext was made; such a copy still
    // goes, as it is, and fails if the recipient has more devices by now.
    auto outbox = m_store.outbox();
    if (!outbox) {
        report(outbox.error());
        return;
    }
    std::set<Bytes> pending_ids;
    for (const auto& p : pending)
        pending_ids.insert(p.message_id);
    std::set<Bytes> sent;
    for (const auto& o : outbox.value()) {
        if (pending_ids.count(o.message_id) || !sent.insert(o.message_id).second)
            continue;
        send_copies(o.message_id, o.peer, false, std::nullopt);
    }
}

void Engine::send_copies(const Bytes& message_id, const std::string& peer, bool sync,
                         std::optional<std::int64_t> pending_seq) {
    std::string key = to_hex(message_id);
    if (m_in_flight.count(key))
        return;
    auto copies = m_store.outbox_of(message_id);
    if (!copies) {
        report(copies.error());
        return;
    }
    m_in_flight.insert(key);
    wire::Envelope e;
    auto* s = e.mutable_send_request();
    s->set_message_id(to_string(message_id));
    s->set_to_username(peer);
    s->set_sync(sync);
    for (const auto& c : copies.value()) {
        auto* copy = c.peer == peer ? s->add_to_devices() : s->add_own_devices();
        copy->set_device_id(static_cast<std::uint32_t>(c.device_id));
        copy->set_type(c.type == static_cast<int>(crypto::CiphertextType::prekey)
                           ? wire::CIPHERTEXT_PREKEY
                           : wire::CIPHERTEXT_WHISPER);
        copy->set_ciphertext(to_string(c.ciphertext));
    }
    request(std::move(e),
            [this, key, message_id, peer, pending_seq](const wire::Envelope& response) {
                m_in_flight.erase(key);
                if (response.has_error()) {
                    on_send_refused(message_id, peer, pending_seq, response.error());
                    check_settled();
                    return;
                }
                m_mismatches.erase(key);
                if (auto st = finish_pending(message_id, pending_seq); !st)
                    report(st.error());
                mark_sent(message_id);
                // The next of a throttled backlog, at the pace the relay asked for.
                if (m_throttled && m_in_flight.empty() && !m_retry_timer)
                    m_retry_timer = m_transport.start_timer(m_throttle_ms, [this] {
                        m_retry_timer = 0;
                        pump_outgoing();
                    });
                // A group send may be waiting for its sender key distribution to be accepted.
                if (m_in_flight.empty())
                    pump_group_sends();
                check_settled();
            });
}

Status Engine::finish_pending(std::span<const std::uint8_t> message_id,
                              std::optional<std::int64_t> pending_seq) {
    store::AccountStore::Transaction tx(m_store);
    VEIL_TRY(tx.begun());
    VEIL_TRY(m_store.remove_outbox(message_id));
    if (pending_seq)
        VEIL_TRY(m_store.remove_pending(*pending_seq));
    return tx.commit();
}

void Engine::mark_sent(std::span<const std::uint8_t> message_id) {
    // Receipts and sync messages have no row; a delivered one stays delivered.
    auto row = m_store.find_outgoing(message_id);
    if (!row) {
        report(row.error());
        return;
    }
    if (!row.value() || row.value()->status != store::MessageStatus::queued)
        return;
    if (auto st = m_store.set_status(message_id, store::MessageStatus::sent); !st) {
        report(st.error());
        return;
    }
    m_observer.on_status(message_id, store::MessageStatus::sent);
}

void Engine::on_send_refused(const Bytes& message_id, const std::string& peer,
                             std::optional<std::int64_t> pending_seq, const wire::Error& error) {
    std::string key = to_hex(message_id);
    auto code = error.code();
    if (code == wire::Error::UNAVAILABLE || code == wire::Error::RATE_LIMITED) {
        if (code == wire::Error::RATE_LIMITED) {
            m_throttled = true;
            m_throttle_ms = std::max<std::uint32_t>(error.retry_after_ms(), 1);
        }
        schedule_retry(error); // or after the next reconnect
        return;
    }
    if (code == wire::Error::MISMATCHED_DEVICES && pending_seq &&
        ++m_mismatches[key] <= kMaxMismatches) {
        store::AccountStore::Transaction tx(m_store);
        Status st = tx.begun();
        bool unknown_list = false;
        for (const auto& m : error.mismatches()) {
            if (!st)
                break;
            for (auto d : m.stale())
                if (st)
                    st = forget_device(m.username(), static_cast<std::int32_t>(d));
            for (auto d : m.missing()) {
                if (!st)
                    break;
                auto list = m_store.known_devices(m.username());
                if (!list) {
                    st = list.error();
                    break;
                }
                unknown_list = unknown_list || !list.value();
                st = m_store.add_known_device(m.username(), static_cast<std::int32_t>(d));
            }
        }
        if (st)
            st = tx.commit();
        if (!st) {
            report(st.error());
            return;
        }
        log::info(kLog, "a recipient's devices changed; sending again");
        if (unknown_list)
            fetch_device_list(peer);
        pump_outgoing();
        return;
    }
    m_mismatches.erase(key);
    // A permanent refusal: the message cannot be delivered as it is.
    report(relay_error(error));
    if (code == wire::Error::CONFLICT && pending_seq) {
        // The relay holds other content under this id: a delivery receipt that took more ids
        // after a copy of it was stored, then had to be encrypted again (its devices changed).
        // Its ids go again under a new id; a message confirmed twice stays as it is.
        if (auto st = resend_receipt(peer, *pending_seq); !st)
            report(st.error());
    }
    if (auto st = finish_pending(message_id, pending_seq); !st)
        report(st.error());
    mark_failed(message_id);
    if (code == wire::Error::CONFLICT)
        pump_outgoing();
}

Status Engine::resend_receipt(const std::string& peer, std::int64_t pending_seq) {
    auto pending = m_store.pending();
    if (!pending)
        return pending.error();
    for (const auto& item : pending.value()) {
        if (item.seq != pending_seq)
            continue;
        wire::Content content;
        if (!content.ParseFromArray(item.content.data(), static_cast<int>(item.content.size())) ||
            content.body_case() != wire::Content::kReceipt)
            return {};
        return queue_content(peer, crypto::random_bytes(protocol::kMessageIdBytes), content);
    }
    return {};
}

void Engine::fail_everything_queued() {
    auto pending = m_store.pending();
    if (pending)
        for (const auto& item : pending.value()) {
            (void)finish_pending(item.message_id, item.seq);
            mark_failed(item.message_id);
        }
    auto outbox = m_store.outbox();
    if (outbox)
        for (const auto& copy : outbox.value()) {
            (void)m_store.remove_outbox(copy.message_id);
            mark_failed(copy.message_id);
        }
    auto group_outbox = m_store.group_outbox();
    if (group_outbox)
        for (const auto& item : group_outbox.value())
            fail_group_send(item.message_id);
}

void Engine::drop_pending_for(const std::string& peer) {
    // The peer does not exist on this relay: its queued messages can never be sent, so they are
    // marked failed (visible to the person) instead of being retried forever.
    auto pending = m_store.pending();
    if (!pending)
        return;
    for (const auto& item : pending.value()) {
        if (item.peer != peer)
            continue;
        (void)finish_pending(item.message_id, item.seq);
        mark_failed(item.message_id);
    }
    check_settled();
}

// ---- device lists and sessions ---------------------------------------------------------------

void Engine::fetch_device_list(const std::string& username) {
    if (m_state != State::ready || m_listing.count(username))
        return;
    m_listing.insert(username);
    wire::Envelope e;
    e.mutable_device_list_request()->set_username(username == m_username ? "" : username);
    request(std::move(e), [this, username](const wire::Envelope& response) {
        m_listing.erase(username);
        if (response.has_error()) {
            if (response.error().code() == wire::Error::NOT_FOUND && username != m_username) {
                report(make_error(Errc::refused,
                                  "cannot reach " + username + ": " + response.error().message()));
                drop_pending_for(username);
            }
            return;
        }
        std::vector<std::int32_t> ids;
        for (const auto& d : response.device_list().devices())
            ids.push_back(static_cast<std::int32_t>(d.device_id()));
        if (ids.empty() && username != m_username) {
            report(make_error(Errc::refused, "cannot reach " + username + ": no device"));
            drop_pending_for(username);
            return;
        }
        store::AccountStore::Transaction tx(m_store);
        Status st = tx.begun();
        if (st)
            st = apply_device_list(username, ids);
        if (st)
            st = tx.commit();
        if (!st) {
            report(st.error());
            return;
        }
        pump_outgoing();
    });
}

Status Engine::apply_device_list(const std::string& username,
                                 const std::vector<std::int32_t>& ids) {
    auto previous = m_store.known_devices(username);
    if (!previous)
        return previous.error();
    if (previous.value())
        for (auto d : *previous.value())
            if (std::find(ids.begin(), ids.end(), d) == ids.end())
                VEIL_TRY(forget_device(username, d));
    return m_store.set_known_devices(username, ids, m_clock.now_ms());
}

Status Engine::forget_device(const std::string& username, std::int32_t device_id) {
    if (username == m_username && device_id == static_cast<std::int32_t>(m_device_id))
        return {}; // never our own: the relay closes a removed device
    VEIL_TRY(m_store.remove_known_device(username, device_id));
    VEIL_TRY(m_store.remove_outbox_device(username, device_id));
    VEIL_TRY(m_store.delete_session({username, device_id}));
    // It held our sender key for these groups: the key is renewed, so whoever kept that device
    // reads nothing we send from now on.
    auto groups = m_store.groups_keyed_to(username, device_id);
    if (!groups)
        return groups.error();
    for (const auto& group_id : groups.value()) {
        VEIL_TRY(crypto::drop_sender_key(
            *m_store_context, {group_id, {m_username, static_cast<std::int32_t>(m_device_id)}}));
        VEIL_TRY(m_store.clear_sender_key_holders(group_id));
    }
    VEIL_TRY(m_store.forget_key_holder(username, device_id));
    log::info(kLog, "forgot a device that was removed");
    return {};
}

void Engine::fetch_bundles(const std::string& username, const std::vector<std::int32_t>& devices) {
    if (m_fetching.count(username))
        return;
    m_fetching.insert(username);
    wire::Envelope e;
    auto* fetch = e.mutable_prekey_fetch();
    fetch->set_username(username);
    for (auto d : devices)
        fetch->add_device_ids(static_cast<std::uint32_t>(d));
    request(std::move(e), [this, username, devices](const wire::Envelope& response) {
        m_fetching.erase(username);
        std::set<std::int32_t> gone(devices.begin(), devices.end());
        store::AccountStore::Transaction tx(m_store);
        Status st = tx.begun();
        if (response.has_error() && response.error().code() != wire::Error::NOT_FOUND) {
            report(make_error(Errc::refused,
                              "cannot reach " + username + ": " + response.error().message()));
            return;
        }
        for (const auto& b : response.prekey_bundles().bundles()) {
            auto device = static_cast<std::int32_t>(b.device_id());
            if (!gone.erase(device) || !st)
                continue;
            st = start_session(username, b);
        }
        // Devices the relay no longer has: forgotten, and the list asked for again.
        for (auto d : gone)
            if (st)
                st = forget_device(username, d);
        // A heal after a restore tells the peer why, first thing on the new sessions.
        if (st && gone.size() < devices.size())
            st = queue_restart_notice(username);
        Effects effects;
        if (st)
            st = note_identity_changes(effects);
        if (st)
            st = tx.commit();
        if (!st) {
            report(st.error());
            return;
        }
        announce(effects);
        if (!gone.empty())
            fetch_device_list(username);
        pump_outgoing();
    });
}

Status Engine::start_session(const std::string& username, const wire::PrekeyBundle& b) {
    auto bundle = detail::bundle_from_wire(b);
    // A point of small order would give a session whose secret anyone can compute.
    if (crypto::is_low_order_point(bundle.identity_key) ||
        crypto::is_low_order_point(bundle.signed_prekey) ||
        (!bundle.prekey.empty() && crypto::is_low_order_point(bundle.prekey)))
        return make_error(Errc::crypto,
                          "no session with " + username + ": the relay sent unusable keys");
    auto st = crypto::process_bundle(*m_store_context,
                                     {username, static_cast<std::int32_t>(b.device_id())}, bundle);
    if (!st)
        return make_error(st.error().code,
                          "no session with " + username + ": " + st.error().message);
    return {};
}

void Engine::note_sender_device(const std::string& username, std::int32_t device_id) {
    if (username == m_username && device_id == static_cast<std::int32_t>(m_device_id))
        return;
    auto list = m_store.known_devices(username);
    if (!list || !list.value())
        return; // unknown lists are fetched when first needed
    if (std::find(list.value()->begin(), list.value()->end(), device_id) != list.value()->end())
        return;
    // A device we did not know wrote to us: it exists, and the relay's list says what else
    // changed, so that our next message reaches it too.
    log::info(kLog, "a message came from a device we did not know; asking for its account's "
                    "devices");
    if (auto st = m_store.add_known_device(username, device_id); !st)
        report(st.error());
    fetch_device_list(username);
}

// ---- sync between our devices ----------------------------------------------------------------

Status Engine::process_sync(const wire::Deliver& d, const wire::SyncMessage& sync,
                            Effects& effects) {
    if (d.from_username() != m_username)
        return make_error(Errc::invalid_message, "a sync message from another account");
    if (sync.has_sent()) {
        const auto& sent = sync.sent();
        if (!protocol::valid_username(sent.destination()) || sent.destination() == m_username)
            return make_error(Errc::invalid_message, "a sync message names no recipient");
        wire::Content inner;
        if (!inner.ParseFromString(sent.content()))
            return make_error(Errc::invalid_message, "a sync message is malformed");
        if (!inner.has_data())
            return {};
        const auto& data = inner.data();
        if (data.message_id() != d.message_id())
            return make_error(Errc::invalid_message, "the message id does not match");
        auto is_contact = m_store.is_contact(sent.destination());
        if (is_contact && !is_contact.value())
            VEIL_TRY(m_store.add_contact(sent.destination(), m_clock.now_ms()));
        return apply_data(sent.destination(), m_username, /*ours=*/true, data,
                          static_cast<std::int64_t>(d.server_timestamp_ms()), effects);
    }
    if (sync.has_read()) {
        // Up to the message the other device showed last: one that reached only this device
        // in the meantime stays unread.
        VEIL_TRY(m_store.mark_read_up_to(sync.read().conversation(), sync.read().sender(),
                                         bytes_of(sync.read().message_id())));
        effects.read_elsewhere.push_back(sync.read().conversation());
        return {};
    }
    if (sync.has_device_removed()) {
        VEIL_TRY(forget_device(m_username,
                               static_cast<std::int32_t>(sync.device_removed().device_id())));
        effects.devices_changed = true;
        return {};
    }
    if (sync.has_contact()) {
        if (protocol::valid_username(sync.contact().username()) &&
            sync.contact().username() != m_username)
            VEIL_TRY(m_store.add_contact(sync.contact().username(), m_clock.now_ms()));
        return {};
    }
    return {}; // a sync message from a newer client: ignored
}

Status Engine::queue_sync(const wire::SyncMessage& sync) {
    auto others = own_other_devices();
    if (!others)
        return others.error();
    // None: nobody to tell. Unknown list: the copy waits for it.
    if (others.value() && others.value()->empty())
        return {};
    wire::Content content;
    *content.mutable_sync() = sync;
    return queue_content(m_username, crypto::random_bytes(protocol::kMessageIdBytes), content);
}

Status Engine::mark_read(const std::string& conversation) {
    auto unread = m_store.unread(conversation);
    if (!unread)
        return unread.error();
    if (unread.value() == 0)
        return {};
    if (m_username.empty())
        VEIL_TRY(load_account());
    store::AccountStore::Transaction tx(m_store);
    VEIL_TRY(tx.begun());
    // Read receipts (unless turned off) tell each sender which of their messages we read.
    if (read_receipts()) {
        auto unread_rows = m_store.unread_incoming(conversation);
        if (!unread_rows)
            return unread_rows.error();
        std::map<std::string, std::vector<Bytes>> by_sender;
        for (const auto& [sender, id] : unread_rows.value())
            if (sender != store::kSystemSender && sender != m_username)
                by_sender[sender].push_back(id);
        for (const auto& [sender, ids] : by_sender) {
            auto blocked = m_store.is_blocked(sender);
            if (!blocked)
                return blocked.error();
            if (blocked.value())
                continue;
            for (std::size_t i = 0; i < ids.size(); i += 100) {
                wire::Content receipt;
                receipt.mutable_receipt()->set_type(wire::Receipt::READ);
                for (std::size_t j = i; j < std::min(ids.size(), i + 100); ++j)
                    receipt.mutable_receipt()->add_message_ids(to_string(ids[j]));
                VEIL_TRY(queue_content(sender, crypto::random_bytes(protocol::kMessageIdBytes),
                                       receipt));
            }
        }
    }
    VEIL_TRY(m_store.mark_read(conversation));
    auto newest = m_store.newest_incoming(conversation);
    if (!newest)
        return newest.error();
    wire::SyncMessage sync;
    auto* read = sync.mutable_read();
    read->set_conversation(conversation);
    if (newest.value()) {
        read->set_sender(newest.value()->first);
        read->set_message_id(to_string(newest.value()->second));
    }
    VEIL_TRY(queue_sync(sync));
    VEIL_TRY(tx.commit());
    pump_outgoing();
    return {};
}

// ---- listing and removing our devices --------------------------------------------------------

Bytes Engine::sealed_device_name() {
    auto name = m_store.setting("device_name");
    auto identity = m_store.identity_key_pair();
    if (!name || name->empty() || !identity)
        return {};
    auto sealed = crypto::seal_device_name(identity->private_key, name.value());
    return sealed ? sealed.value() : Bytes{};
}

void Engine::list_devices(DevicesHandler handler) {
    if (m_state != State::ready) {
        handler(make_error(Errc::disconnected, "listing devices needs a connection to the relay"));
        return;
    }
    wire::Envelope e;
    e.mutable_device_list_request();
    request(std::move(e), [this, handler](const wire::Envelope& response) {
        if (response.has_error()) {
            handler(relay_error(response.error()));
            return;
        }
        auto identity = m_store.identity_key_pair();
        if (!identity) {
            handler(identity.error());
            return;
        }
        std::vector<DeviceInfo> devices;
        std::vector<std::int32_t> ids;
        for (const auto& d : response.device_list().devices()) {
            DeviceInfo info;
            info.device_id = d.device_id();
            if (!d.name().empty()) {
                auto name = crypto::open_device_name(identity->private_key, bytes_of(d.name()));
                if (name)
                    info.name = name.value();
            }
            info.created_ms = static_cast<std::int64_t>(d.created_ms());
            info.last_seen_ms = static_cast<std::int64_t>(d.last_seen_ms());
            info.current = d.device_id() == m_device_id;
            ids.push_back(static_cast<std::int32_t>(d.device_id()));
            devices.push_back(std::move(info));
        }
        store::AccountStore::Transaction tx(m_store);
        Status st = tx.begun();
        if (st)
            st = apply_device_list(m_username, ids);
        if (st)
            st = tx.commit();
        if (!st)
            report(st.error());
        handler(std::move(devices));
    });
}

void Engine::remove_device(std::uint32_t device_id, DoneHandler handler) {
    if (m_state != State::ready) {
        handler(
            make_error(Errc::disconnected, "removing a device needs a connection to the relay"));
        return;
    }
    if (device_id == m_device_id) {
        handler(make_error(Errc::invalid_argument,
                           "this is the device you are using: remove it from another one"));
        return;
    }
    wire::Envelope e;
    e.mutable_device_remove_request()->set_device_id(device_id);
    request(std::move(e), [this, device_id, handler](const wire::Envelope& response) {
        if (response.has_error()) {
            handler(relay_error(response.error()));
            return;
        }
        // Forgotten here, and our other devices are told so that they forget it too; everyone
        // else learns it from the relay when they next write to us.
        store::AccountStore::Transaction tx(m_store);
        Status st = tx.begun();
        if (st)
            st = forget_device(m_username, static_cast<std::int32_t>(device_id));
        if (st) {
            wire::SyncMessage sync;
            sync.mutable_device_removed()->set_device_id(device_id);
            st = queue_sync(sync);
        }
        if (st)
            st = tx.commit();
        if (!st)
            report(st.error());
        log::info(kLog, "removed a device of this account");
        m_observer.on_devices_changed();
        handler(st);
        pump_outgoing();
    });
}

// ---- groups: which devices a message must reach ----------------------------------------------

Result<std::vector<std::pair<std::string, std::int32_t>>>
Engine::group_recipients(const store::GroupRow& group, std::set<std::string>* unknown) {
    auto members = m_store.group_members(group.group_id);
    if (!members)
        return members.error();
    std::vector<DeviceKey> out;
    for (const auto& m : members.value()) {
        if (m.username == m_username)
            continue;
        auto list = m_store.known_devices(m.username);
        if (!list)
            return list.error();
        if (!list.value()) {
            if (unknown)
                unknown->insert(m.username);
            continue;
        }
        for (auto d : *list.value())
            out.emplace_back(m.username, d);
    }
    auto own = own_other_devices();
    if (!own)
        return own.error();
    if (own.value()) {
        for (auto d : *own.value())
            out.emplace_back(m_username, d);
    } else if (unknown) {
        unknown->insert(m_username);
    }
    std::sort(out.begin(), out.end());
    return out;
}

Bytes Engine::group_devices_digest(
    const std::vector<std::pair<std::string, std::int32_t>>& devices) {
    Bytes input;
    for (const auto& [username, device] : devices) {
        input.insert(input.end(), username.begin(), username.end());
        input.push_back(0);
        auto d = static_cast<std::uint32_t>(device);
        for (int shift = 24; shift >= 0; shift -= 8)
            input.push_back(static_cast<std::uint8_t>(d >> shift));
    }
    auto digest = crypto::sha256(input);
    return digest ? digest.value() : Bytes{};
}

void Engine::on_group_devices_mismatch(const Bytes& message_id, const Bytes& group_id,
                                       const wire::Error& error) {
    std::string key = to_hex(message_id);
    if (++m_mismatches[key] > kMaxMismatches) {
        m_mismatches.erase(key);
        report(make_error(Errc::refused, "a group message could not be sent: the members' "
                                         "devices keep changing"));
        fail_group_send(message_id);
        return;
    }
    std::map<std::string, std::vector<std::int32_t>> lists;
    for (const auto& u : error.group_devices())
        for (auto d : u.device_ids())
            lists[u.username()].push_back(static_cast<std::int32_t>(d));
    auto members = m_store.group_members(group_id);
    if (!members) {
        report(members.error());
        return;
    }
    store::AccountStore::Transaction tx(m_store);
    Status st = tx.begun();
    for (const auto& m : members.value()) {
        if (!st)
            break;
        auto ids = lists[m.username];
        if (m.username == m_username)
            ids.push_back(static_cast<std::int32_t>(m_device_id));
        st = apply_device_list(m.username, ids);
    }
    // Encrypted again once the new devices hold our (maybe renewed) sender key.
    if (st)
        st = m_store.set_group_ciphertext(message_id, 0, {});
    if (st)
        st = tx.commit();
    if (!st) {
        report(st.error());
        return;
    }
    log::info(kLog, "a group's devices changed; sending again");
    pump_outgoing();
}

} // namespace veil::engine
