// Engine: linking a new device to the account (veil.proto, "Devices and linking";
// crypto/link.h). Both ends run here: the new device (start_link), which shows a code and
// receives the account, and an existing device (accept_link), which enters the code, hands the
// account over, adds the new device at the relay and, if the person chose so, copies recent
// history. Everything after the two hellos travels sealed under keys that need the code's
// secret, which the relay never sees.
#include "engine/engine.h"

#include "engine/link_state.h"
#include "engine/wire_util.h"

#include "crypto/keys.h"
#include "crypto/link.h"
#include "crypto/provider.h"
#include "protocol/envelope_codec.h"
#include "protocol/group_rules.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/unicode.h"

namespace veil::engine {
using detail::bytes_of;
using detail::relay_error;
namespace {

constexpr const char* kLog = "engine";

// History copied on link: the newest messages of each conversation, in boxes well under the
// relay's payload limit.
constexpr int kHistoryPerConversation = 500;
constexpr std::size_t kHistoryBoxBytes = 192 * 1024;

} // namespace

// ---- the new device ---------------------------------------------------------------------------

Status Engine::create_link_profile(store::AccountStore& store, const std::string& relay_url,
                                   const std::string& device_name) {
    if (relay_url.empty())
        return make_error(Errc::invalid_argument, "linking needs the relay's address");
    if (device_name.size() > protocol::kMaxDeviceNameChars ||
        unicode::sanitize(device_name) != device_name)
        return make_error(Errc::invalid_argument,
                          "a device name is at most 64 bytes of plain text");
    store::AccountStore::Transaction tx(store);
    VEIL_TRY(tx.begun());
    VEIL_TRY(store.set_setting("link_relay_url", relay_url));
    VEIL_TRY(store.set_setting("device_name", device_name));
    return tx.commit();
}

Status Engine::start_link() {
    auto has = m_store.has_identity();
    if (!has)
        return has.error();
    if (has.value())
        return make_error(Errc::already_exists, "this profile already belongs to an account");
    auto relay = m_store.setting("link_relay_url");
    if (!relay)
        return relay.error();
    if (relay->empty())
        return make_error(Errc::invalid_argument, "this profile was not prepared for linking");
    auto ephemeral = crypto::generate_link_key_pair();
    if (!ephemeral)
        return ephemeral.error();
    m_relay_url = relay.value();
    m_registered = false;
    m_link = std::make_unique<LinkState>();
    m_link->role = LinkState::Role::new_device;
    m_link->ephemeral = std::move(ephemeral.value());
    m_started = true;
    set_state(State::connecting);
    m_transport.connect(m_relay_url);
    return {};
}

void Engine::link_on_connected() {
    if (m_link->stage != LinkState::Stage::opening) {
        link_fail("the connection to the relay was lost while linking; start again", false);
        return;
    }
    set_state(State::authenticating);
    wire::Envelope e;
    e.mutable_link_open_request();
    request(std::move(e), [this](const wire::Envelope& response) {
        if (!m_link)
            return;
        if (response.has_error() || !response.has_link_opened() ||
            response.link_opened().channel().size() != crypto::kLinkChannelBytes) {
            link_fail(response.has_error() ? relay_error(response.error()).message
                                           : "the relay did not open a link channel",
                      false);
            return;
        }
        m_link->channel = bytes_of(response.link_opened().channel());
        m_link->secret = crypto::new_link_secret();
        m_link->stage = LinkState::Stage::hello;
        std::uint32_t ttl = response.link_opened().expires_in_ms();
        if (ttl == 0 || ttl > protocol::kDefaultLinkTimeoutMs * 6)
            ttl = protocol::kDefaultLinkTimeoutMs;
        m_link->timer = m_transport.start_timer(ttl, [this] {
            if (m_link) {
                m_link->timer = 0;
                link_fail("the link code expired before another device used it; start again", true);
            }
        });
        log::info(kLog, "link channel open; waiting for another device");
        m_observer.on_link_code(crypto::format_link_code(m_link->channel, m_link->secret),
                                crypto::link_code_uri(m_link->channel, m_link->secret),
                                m_clock.now_ms() + ttl);
    });
}

// ---- both ends ---------------------------------------------------------------------------------

void Engine::link_on_message(const wire::LinkMessage& message) {
    if (!m_link || bytes_of(message.channel()) != m_link->channel)
        return;
    if (message.closed()) {
        link_fail(m_link->role == LinkState::Role::new_device
                      ? "the other device went away before the link finished"
                      : "the new device went away before the link finished",
                  false);
        return;
    }
    wire::LinkPayload payload;
    if (!payload.ParseFromString(message.payload())) {
        link_fail("the other device sent something that is not part of linking", true);
        return;
    }
    const bool is_new = m_link->role == LinkState::Role::new_device;
    if (payload.has_hello()) {
        if (m_link->stage != LinkState::Stage::hello || m_link->keys) {
            link_fail("the link was interrupted by an unexpected message", true);
            return;
        }
        const Bytes theirs = bytes_of(payload.hello());
        const Bytes& ours = m_link->ephemeral.public_key;
        auto keys = crypto::derive_link_keys(m_link->ephemeral.private_key, theirs, m_link->secret,
                                             m_link->channel, is_new ? theirs : ours,
                                             is_new ? ours : theirs);
        if (!keys) {
            link_fail("the other device's key is not usable", false);
            return;
        }
        m_link->keys = std::move(keys.value());
        if (is_new) {
            m_link->stage = LinkState::Stage::account;
            link_send_hello(false);
            return;
        }
        // The existing device hands over the account.
        auto identity = m_store.identity_key_pair();
        auto contacts = m_store.contacts();
        auto identities = m_store.peer_identities();
        auto groups = m_store.groups();
        if (!identity || !contacts || !identities || !groups) {
            link_fail("this device could not read its account to share it", true);
            return;
        }
        wire::LinkContent content;
        auto* account = content.mutable_account();
        account->set_username(m_username);
        account->set_identity_public(to_string(identity->public_key));
        account->set_identity_private(
            std::string(reinterpret_cast<const char*>(identity->private_key.data()),
                        identity->private_key.size()));
        std::map<std::string, Bytes> keys_by_name(identities->begin(), identities->end());
        for (const auto& name : contacts.value()) {
            auto* c = account->add_contacts();
            c->set_username(name);
            if (auto k = keys_by_name.find(name); k != keys_by_name.end())
                c->set_identity_key(to_string(k->second));
        }
        for (const auto& g : groups.value()) {
            auto* lg = account->add_groups();
            if (!lg->mutable_latest()->ParseFromArray(g.change.data(),
                                                      static_cast<int>(g.change.size())))
                continue;
            lg->set_name(g.name);
            lg->set_description(g.description);
            lg->set_avatar(to_string(g.avatar));
            lg->set_has_left(g.has_left);
        }
        account->set_history(m_link->share_history);
        m_link->stage = LinkState::Stage::keys;
        link_send(content);
        return;
    }
    if (!m_link->keys) {
        link_fail("the link was interrupted by an unexpected message", true);
        return;
    }
    auto opened = crypto::link_open(is_new ? m_link->keys->to_new : m_link->keys->to_existing,
                                    m_link->received++, bytes_of(payload.sealed()));
    wire::LinkContent content;
    if (!opened || !content.ParseFromArray(opened->data(), static_cast<int>(opened->size()))) {
        // Either the code was mistyped in a way the check letter missed, or someone between
        // the two devices tried to take part: nothing of theirs is believed.
        link_fail("the other device could not be verified: check the code and start again", false);
        return;
    }
    if (content.has_failure()) {
        link_fail("the other device gave up: " + unicode::sanitize(content.failure().message()),
                  false);
        return;
    }
    using Stage = LinkState::Stage;
    if (is_new && m_link->stage == Stage::account && content.has_account()) {
        if (auto st = link_import_account(content.account()); !st) {
            link_fail("could not set up the account here: " + st.error().message, true);
            return;
        }
        return;
    }
    if (is_new && m_link->stage == Stage::done && content.has_done()) {
        m_link->device_id = content.done().device_id();
        store::AccountInfo info;
        info.username = m_link->username;
        info.relay_url = m_relay_url;
        info.device_id = m_link->device_id;
        info.registered = true;
        if (auto st = m_store.set_account(info); !st) {
            link_fail("could not store the account: " + st.error().message, true);
            return;
        }
        m_username = info.username;
        m_device_id = info.device_id;
        m_registered = true;
        if (m_link->share_history)
            m_link->stage = Stage::history;
        else
            link_finish_new_device();
        return;
    }
    if (is_new && m_link->stage == Stage::history && content.has_history()) {
        // History is a courtesy: a box that cannot be stored is reported and skipped, and the
        // link goes on.
        if (auto st = link_import_history(content.history()); !st)
            report(make_error(st.error().code,
                              "some copied history could not be stored: " + st.error().message));
        wire::LinkContent ack;
        ack.mutable_history_ack();
        link_send(ack);
        return;
    }
    if (is_new && m_link->stage == Stage::history && content.has_history_end()) {
        link_finish_new_device();
        return;
    }
    if (!is_new && m_link->stage == Stage::keys && content.has_keys()) {
        link_add_device(content.keys());
        return;
    }
    if (!is_new && m_link->stage == Stage::history && content.has_history_ack()) {
        link_send_history();
        return;
    }
    if (!is_new && m_link->stage == Stage::finishing && content.has_finished()) {
        if (m_link->timer)
            m_transport.cancel_timer(m_link->timer);
        std::uint32_t device = m_link->device_id;
        m_link.reset();
        log::info(kLog, "linked a new device to this account");
        m_observer.on_linked(m_username, device);
        m_observer.on_devices_changed();
        pump_outgoing();
        return;
    }
    link_fail("the link was interrupted by an unexpected message", true);
}

void Engine::link_send_hello(bool first) {
    wire::LinkPayload payload;
    payload.set_hello(to_string(m_link->ephemeral.public_key));
    link_relay(payload, first);
}

void Engine::link_send(const wire::LinkContent& content) {
    const bool is_new = m_link->role == LinkState::Role::new_device;
    std::string plain = content.SerializeAsString();
    SecretBytes secret_plain = SecretBytes::from_string(plain);
    std::fill(plain.begin(), plain.end(), '\0');
    auto sealed = crypto::link_seal(is_new ? m_link->keys->to_existing : m_link->keys->to_new,
                                    m_link->sent++, secret_plain.view());
    if (!sealed) {
        link_fail("could not seal a message for the other device", false);
        return;
    }
    wire::LinkPayload payload;
    payload.set_sealed(to_string(sealed.value()));
    link_relay(payload, false);
}

void Engine::link_relay(const wire::LinkPayload& payload, bool first) {
    wire::Envelope e;
    auto* s = e.mutable_link_send_request();
    s->set_channel(to_string(m_link->channel));
    s->set_payload(payload.SerializeAsString());
    s->set_first(first);
    request(std::move(e), [this](const wire::Envelope& response) {
        if (m_link && response.has_error())
            link_fail(relay_error(response.error()).message, false);
    });
}

void Engine::link_fail(const std::string& sentence, bool tell_peer) {
    if (!m_link)
        return;
    if (tell_peer && m_link->keys && m_transport.connected()) {
        wire::LinkContent content;
        content.mutable_failure()->set_message(sentence);
        link_send(content);
    }
    if (!m_link)
        return; // link_send failed and already ended it
    if (m_link->timer)
        m_transport.cancel_timer(m_link->timer);
    const bool is_new = m_link->role == LinkState::Role::new_device;
    const bool added = !is_new && m_link->stage >= LinkState::Stage::history;
    const std::uint32_t device = m_link->device_id;
    const std::string username = m_link->username;
    m_link.reset();
    log::warn(kLog, "linking failed");
    report(make_error(Errc::refused, sentence));
    if (added) {
        // The relay has the device, but the new device never said it has the account: it is
        // removed again, so that no half-linked device stays on the account.
        remove_device(device, [this, device](Status st) {
            if (!st)
                report(make_error(st.error().code,
                                  "device " + std::to_string(device) +
                                      " was added but not finished; remove it with "
                                      "'veil devices remove " +
                                      std::to_string(device) + "': " + st.error().message));
        });
        return;
    }
    if (is_new && !m_registered) {
        m_started = false;
        set_state(State::failed);
        m_transport.close();
        return;
    }
    if (is_new && !m_store_context) {
        // The device was added and the account stored; only the history copy failed. The
        // account works without it: sign in (now, or after the reconnect).
        auto context = crypto::StoreContext::create(m_context, m_store);
        if (!context) {
            report(context.error());
            m_started = false;
            set_state(State::failed);
            m_transport.close();
            return;
        }
        m_store_context = std::move(context.value());
        m_observer.on_linked(username, device);
        if (m_transport.connected())
            on_connected();
    }
}

// ---- the new device: taking the account over ------------------------------------------------

Status Engine::link_import_account(const wire::LinkAccount& account) {
    if (!protocol::valid_username(account.username()))
        return make_error(Errc::invalid_message, "the account's name is not valid");
    if (account.identity_public().size() != protocol::kPublicKeyBytes ||
        account.identity_private().size() != 32)
        return make_error(Errc::invalid_message, "the account's identity key is malformed");
    // A registration id and a device key of our own; the identity is the account's.
    auto own = crypto::generate_identity(m_context);
    if (!own)
        return own.error();
    crypto::IdentityKeyPair identity{bytes_of(account.identity_public()),
                                     SecretBytes::from_string(account.identity_private())};
    auto signed_prekey = crypto::generate_signed_prekey(
        m_context, identity, 1, static_cast<std::uint64_t>(m_clock.now_ms()));
    if (!signed_prekey)
        return signed_prekey.error();

    wire::LinkContent reply;
    auto* keys = reply.mutable_keys();
    {
        store::AccountStore::Transaction tx(m_store);
        VEIL_TRY(tx.begun());
        VEIL_TRY(m_store.set_identity(identity, own->registration_id));
        VEIL_TRY(m_store.set_device_key_pair(own->key_pair));
        VEIL_TRY(m_store.store_signed_prekey(signed_prekey->id, signed_prekey->record.view()));
        VEIL_TRY(store_new_prekeys(*keys->mutable_one_time_prekeys()));
        const std::int64_t now = m_clock.now_ms();
        for (const auto& c : account.contacts()) {
            if (!protocol::valid_username(c.username()) || c.username() == account.username())
                continue;
            VEIL_TRY(m_store.add_contact(c.username(), now));
            // The keys the other device trusts are trusted here too (device 0: the account's).
            if (c.identity_key().size() == protocol::kPublicKeyBytes)
                VEIL_TRY(m_store.save_identity({c.username(), 0}, bytes_of(c.identity_key())));
        }
        for (const auto& g : account.groups()) {
            auto state = protocol::parse_group_state(g.latest().state());
            if (!state)
                continue;
            auto hash = crypto::sha256(bytes_of(g.latest().state()));
            if (!hash)
                return hash.error();
            store::GroupRow row;
            row.group_id = bytes_of(state->group_id());
            row.revision = state->revision();
            row.change = bytes_of(g.latest().SerializeAsString());
            row.state_hash = hash.value();
            std::vector<store::GroupMemberRow> members;
            for (const auto& m : state->members())
                members.push_back({m.username(), m.admin()});
            VEIL_TRY(m_store.save_group(row, members));
            VEIL_TRY(m_store.set_group_info(row.group_id, unicode::sanitize(g.name()),
                                            unicode::sanitize(g.description()),
                                            bytes_of(g.avatar())));
            VEIL_TRY(m_store.set_group_left(row.group_id, g.has_left()));
        }
        VEIL_TRY(tx.commit());
    }
    m_link->username = account.username();
    m_link->share_history = account.history();
    keys->set_device_key(to_string(own->key_pair.public_key));
    keys->set_registration_id(own->registration_id);
    keys->mutable_signed_prekey()->set_id(signed_prekey->id);
    keys->mutable_signed_prekey()->set_public_key(to_string(signed_prekey->public_key));
    keys->mutable_signed_prekey()->set_signature(to_string(signed_prekey->signature));
    if (auto name = m_store.setting("device_name"); name)
        keys->set_name(name.value());
    m_link->stage = LinkState::Stage::done;
    link_send(reply);
    return {};
}

Status Engine::link_import_history(const wire::LinkHistory& history) {
    store::AccountStore::Transaction tx(m_store);
    VEIL_TRY(tx.begun());
    std::set<std::string> conversations;
    const std::int64_t now = m_clock.now_ms();
    bool expiring = false;
    for (const auto& m : history.messages()) {
        const std::string& peer = m.conversation();
        bool group = store::is_group_conversation(peer);
        if ((!group && !protocol::valid_username(peer)) ||
            m.message_id().size() != protocol::kMessageIdBytes ||
            m.text().size() > protocol::kMaxPlaintextBytes ||
            static_cast<std::size_t>(m.attachments_size()) > protocol::kMaxAttachmentsPerMessage)
            continue;
        // Already gone on the other device (or about to be): never stored here.
        if (m.expires_at_ms() != 0 && static_cast<std::int64_t>(m.expires_at_ms()) <= now)
            continue;
        store::MessageRow row;
        row.peer = peer;
        row.message_id = bytes_of(m.message_id());
        row.direction = m.outgoing() ? store::Direction::outgoing : store::Direction::incoming;
        row.sender = m.outgoing() ? m_link->username : m.sender();
        row.text = unicode::sanitize(m.text());
        row.sent_at_ms = static_cast<std::int64_t>(m.sent_at_ms());
        row.received_at_ms = static_cast<std::int64_t>(m.received_at_ms());
        row.status = m.outgoing() ? store::MessageStatus::sent : store::MessageStatus::received;
        if (static_cast<store::MessageStatus>(m.status()) == store::MessageStatus::delivered ||
            static_cast<store::MessageStatus>(m.status()) == store::MessageStatus::failed ||
            static_cast<store::MessageStatus>(m.status()) == store::MessageStatus::read)
            row.status = static_cast<store::MessageStatus>(m.status());
        if (m.has_quote() && m.quote().message_id().size() == protocol::kMessageIdBytes &&
            protocol::valid_username(m.quote().author()))
            row.quote = store::Quote{bytes_of(m.quote().message_id()), m.quote().author(),
                                     unicode::sanitize(m.quote().text())};
        for (const auto& name : m.mentions())
            if (protocol::valid_username(name))
                row.mentions.push_back(name);
        row.edited_at_ms = static_cast<std::int64_t>(m.edited_at_ms());
        row.deleted = m.deleted();
        row.expire_timer_s = std::min(m.expire_timer_s(), protocol::kMaxExpireTimerSeconds);
        row.expires_at_ms = static_cast<std::int64_t>(m.expires_at_ms());
        if (row.deleted)
            row.text.clear();
        else
            for (const auto& a : m.attachments()) {
                auto file =
                    detail::attachment_from_wire(a, static_cast<int>(row.attachments.size()));
                if (file)
                    row.attachments.push_back(std::move(file.value()));
            }
        auto id = m_store.insert_message(row);
        if (!id) {
            if (id.error().code == Errc::duplicate_message)
                continue;
            return id.error();
        }
        if (!row.deleted)
            for (const auto& r : m.reactions())
                if (protocol::valid_username(r.reactor()) && valid_reaction(r.emoji()))
                    VEIL_TRY(m_store.set_reaction(id.value(), r.reactor(), r.emoji(),
                                                  static_cast<std::int64_t>(r.at_ms())));
        expiring |= row.expires_at_ms != 0;
        ++m_link->imported;
        if (m.read() || m.outgoing())
            conversations.insert(peer);
    }
    // Copied history was seen on the other device.
    for (const auto& peer : conversations)
        VEIL_TRY(m_store.mark_read(peer));
    VEIL_TRY(tx.commit());
    if (expiring)
        schedule_expiry();
    return {};
}

void Engine::link_finish_new_device() {
    auto context = crypto::StoreContext::create(m_context, m_store);
    if (!context) {
        link_fail("could not start the account's keys: " + context.error().message, false);
        return;
    }
    m_store_context = std::move(context.value());
    if (m_link->timer)
        m_transport.cancel_timer(m_link->timer);
    std::size_t imported = m_link->imported;
    std::string username = m_link->username;
    std::uint32_t device = m_link->device_id;
    // The other device removes us again unless we say the account is stored here.
    wire::LinkContent finished;
    finished.mutable_finished();
    link_send(finished);
    if (!m_link)
        return;
    m_link.reset();
    log::info(kLog, "linked to the account as a new device");
    m_observer.on_linked(username, device);
    if (imported)
        m_observer.on_history_imported(imported);
    // Same connection: log in as the new device.
    on_connected();
}

// ---- the existing device: handing the account over ------------------------------------------

Status Engine::accept_link(const std::string& code, bool share_history) {
    auto parsed = crypto::parse_link_code(code);
    if (!parsed)
        return parsed.error();
    if (m_state != State::ready)
        return make_error(Errc::disconnected, "linking needs a connection to the relay");
    if (m_link)
        return make_error(Errc::busy, "another device is being linked");
    auto ephemeral = crypto::generate_link_key_pair();
    if (!ephemeral)
        return ephemeral.error();
    m_link = std::make_unique<LinkState>();
    m_link->role = LinkState::Role::existing;
    m_link->stage = LinkState::Stage::hello;
    m_link->channel = std::move(parsed->channel);
    m_link->secret = std::move(parsed->secret);
    m_link->ephemeral = std::move(ephemeral.value());
    m_link->share_history = share_history;
    m_link->timer = m_transport.start_timer(protocol::kDefaultLinkTimeoutMs, [this] {
        if (m_link) {
            m_link->timer = 0;
            link_fail("the other device stopped answering", true);
        }
    });
    link_send_hello(true);
    return {};
}

void Engine::link_add_device(const wire::LinkDeviceKeys& keys) {
    if (keys.device_key().size() != protocol::kPublicKeyBytes ||
        keys.signed_prekey().public_key().size() != protocol::kPublicKeyBytes ||
        keys.one_time_prekeys_size() > static_cast<int>(protocol::kMaxPrekeysPerUpload)) {
        link_fail("the new device sent malformed keys", true);
        return;
    }
    std::string name = unicode::sanitize(keys.name());
    if (name.size() > protocol::kMaxDeviceNameChars) {
        // Cut before the character that would straddle the limit, never inside it.
        std::size_t cut = protocol::kMaxDeviceNameChars;
        while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80)
            --cut;
        name.resize(cut);
    }
    // One DeviceAdd per link, however many key boxes arrive.
    m_link->stage = LinkState::Stage::adding;
    wire::Envelope e;
    auto* add = e.mutable_device_add_request();
    add->set_device_key(keys.device_key());
    add->set_registration_id(keys.registration_id());
    *add->mutable_signed_prekey() = keys.signed_prekey();
    *add->mutable_one_time_prekeys() = keys.one_time_prekeys();
    if (auto identity = m_store.identity_key_pair(); identity && !name.empty())
        if (auto sealed = crypto::seal_device_name(identity->private_key, name))
            add->set_name(to_string(sealed.value()));
    request(std::move(e), [this](const wire::Envelope& response) {
        if (!m_link) {
            // The link ended while the relay added the device: it is removed again.
            if (response.has_device_added())
                remove_device(response.device_added().device_id(), [this](Status st) {
                    if (!st)
                        report(st.error());
                });
            return;
        }
        if (response.has_error() || !response.has_device_added()) {
            link_fail(response.has_error() ? relay_error(response.error()).message
                                           : "the relay did not add the device",
                      true);
            return;
        }
        std::uint32_t device = response.device_added().device_id();
        m_link->device_id = device;
        m_link->stage = LinkState::Stage::history;
        if (auto st = m_store.add_known_device(m_username, static_cast<std::int32_t>(device)); !st)
            report(st.error());
        wire::LinkContent done;
        done.mutable_done()->set_device_id(device);
        link_send(done);
        if (m_link && m_link->share_history)
            link_export_history();
        if (m_link)
            link_send_history();
    });
}

void Engine::link_send_history() {
    // One box at a time: the next goes when the new device has stored this one, so neither
    // connection's queue at the relay grows past one box.
    if (m_link->history.empty()) {
        if (m_link->share_history) {
            wire::LinkContent end;
            end.mutable_history_end()->set_count(m_link->history_count);
            link_send(end);
        }
        if (m_link)
            m_link->stage = LinkState::Stage::finishing;
        return;
    }
    wire::LinkContent box = std::move(m_link->history.front());
    m_link->history.pop_front();
    link_send(box);
}

void Engine::link_export_history() {
    auto conversations = m_store.conversations();
    if (!conversations) {
        link_fail("could not read the history to copy", true);
        return;
    }
    const std::int64_t now = m_clock.now_ms();
    wire::LinkContent box;
    std::size_t box_bytes = 0;
    auto close_box = [&] {
        if (box.history().messages_size() == 0)
            return;
        m_link->history.push_back(std::move(box));
        box.Clear();
        box_bytes = 0;
    };
    for (const auto& c : conversations.value()) {
        auto messages = m_store.messages(c.peer, kHistoryPerConversation);
        if (!messages)
            continue;
        for (const auto& m : messages.value()) {
            if (m.kind == store::MessageKind::system || m.status == store::MessageStatus::queued ||
                (m.expires_at_ms != 0 && m.expires_at_ms <= now))
                continue;
            auto* out = box.mutable_history()->add_messages();
            out->set_conversation(m.peer);
            out->set_message_id(to_string(m.message_id));
            out->set_outgoing(m.direction == store::Direction::outgoing);
            out->set_sender(m.sender);
            out->set_text(m.text);
            out->set_sent_at_ms(static_cast<std::uint64_t>(m.sent_at_ms));
            out->set_received_at_ms(static_cast<std::uint64_t>(m.received_at_ms));
            out->set_status(static_cast<std::uint32_t>(m.status));
            out->set_read(c.unread == 0);
            if (m.quote) {
                out->mutable_quote()->set_message_id(to_string(m.quote->message_id));
                out->mutable_quote()->set_author(m.quote->author);
                out->mutable_quote()->set_text(m.quote->text);
            }
            for (const auto& name : m.mentions)
                out->add_mentions(name);
            out->set_edited_at_ms(static_cast<std::uint64_t>(m.edited_at_ms));
            out->set_deleted(m.deleted);
            out->set_expire_timer_s(m.expire_timer_s);
            out->set_expires_at_ms(static_cast<std::uint64_t>(m.expires_at_ms));
            for (const auto& r : m.reactions) {
                auto* reaction = out->add_reactions();
                reaction->set_reactor(r.reactor);
                reaction->set_emoji(r.emoji);
                reaction->set_at_ms(static_cast<std::uint64_t>(r.at_ms));
            }
            for (const auto& listed : m.attachments) {
                // Only files on the relay: a file still uploading is sent by its message later.
                auto file = m_store.attachment(m.id, listed.index);
                if (file && file.value() && !file.value()->blob_id.empty() &&
                    file.value()->state != store::AttachmentState::uploading)
                    detail::attachment_to_wire(*file.value(), out->add_attachments());
            }
            ++m_link->history_count;
            box_bytes += static_cast<std::size_t>(out->ByteSizeLong());
            if (box_bytes >= kHistoryBoxBytes)
                close_box();
        }
    }
    close_box();
}

} // namespace veil::engine
