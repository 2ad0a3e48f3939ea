// Engine: groups (engine.h, "Groups"). Membership changes are checked here against the identity
// keys this account holds and the shared rules (protocol/group_rules.h) before they are stored;
// group messages are sender-key encrypted once and their keys distributed over 1:1 sessions.
#include "engine/engine.h"

#include "engine/wire_util.h"

#include "crypto/keys.h"
#include "crypto/provider.h"
#include "crypto/sender_key.h"
#include "crypto/session.h"
#include "protocol/envelope_codec.h"
#include "protocol/group_rules.h"
#include "protocol/padding.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/unicode.h"

#include <algorithm>

namespace veil::engine {
using detail::bytes_of;
using detail::relay_error;
namespace {

// Names and descriptions travel in one group message to every member: bounded, so that one
// change can never make that message too large to send.
Status check_group_text(const std::string& name, const std::string& description) {
    if (name.size() > protocol::kMaxGroupNameBytes)
        return make_error(Errc::invalid_argument, "a group name is at most 200 bytes");
    if (description.size() > protocol::kMaxGroupDescriptionBytes)
        return make_error(Errc::invalid_argument, "a group description is at most 2000 bytes");
    return {};
}

// PNG or JPEG by their signatures: a group picture is shown by the apps, never executed, but
// anything else is refused before it is sent to every member.
bool is_picture(std::span<const std::uint8_t> image) {
    static constexpr std::uint8_t kPng[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    static constexpr std::uint8_t kJpeg[] = {0xFF, 0xD8, 0xFF};
    auto starts = [&](std::span<const std::uint8_t> magic) {
        return image.size() >= magic.size() &&
               std::equal(magic.begin(), magic.end(), image.begin());
    };
    return starts(kPng) || starts(kJpeg);
}

constexpr const char* kLog = "engine";

Result<Bytes> sha256(std::string_view data) {
    return crypto::sha256(
        std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
}

bool is_member(const wire::GroupState& state, const std::string& name) {
    return protocol::find_member(state, name) != nullptr;
}

bool is_admin(const wire::GroupState& state, const std::string& name) {
    const auto* m = protocol::find_member(state, name);
    return m && m->admin();
}

void sort_members(wire::GroupState& state) {
    auto* members = state.mutable_members();
    std::sort(members->begin(), members->end(),
              [](const wire::GroupMember& a, const wire::GroupMember& b) {
                  return a.username() < b.username();
              });
}

std::string join_names(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names)
        out += (out.empty() ? "" : ", ") + n;
    return out;
}

// The group a delivery belongs to: Deliver.group_id for a group message, the id inside the
// change's state for a membership change. Empty when neither can be read.
Bytes group_of(const wire::Deliver& d) {
    if (d.has_group_change()) {
        wire::GroupState state;
        if (!state.ParseFromString(d.group_change().state()))
            return {};
        return bytes_of(state.group_id());
    }
    return bytes_of(d.group_id());
}

} // namespace

// ---- reading the stored group ---------------------------------------------------------------

Result<std::optional<wire::GroupState>>
Engine::current_state(std::span<const std::uint8_t> group_id) {
    auto group = m_store.group(group_id);
    if (!group)
        return group.error();
    if (!group.value())
        return std::optional<wire::GroupState>();
    wire::GroupChange change;
    if (!change.ParseFromArray(group.value()->change.data(),
                               static_cast<int>(group.value()->change.size())))
        return make_error(Errc::corrupt, "the stored group change is damaged");
    auto state = protocol::parse_group_state(change.state());
    if (!state)
        return state.error();
    return std::optional<wire::GroupState>(std::move(state.value()));
}

Result<std::vector<store::GroupRow>> Engine::groups() {
    return m_store.groups();
}

Result<std::vector<store::GroupMemberRow>>
Engine::group_members(std::span<const std::uint8_t> group_id) {
    return m_store.group_members(group_id);
}

// ---- system lines and warnings --------------------------------------------------------------

Status Engine::add_system_line(const Bytes& group_id, const std::string& text, Effects& effects) {
    return add_line(store::group_conversation(group_id), text, effects);
}

Status Engine::warn_group(const Bytes& group_id, const std::string& sentence, Effects& effects) {
    effects.warnings.emplace_back(group_id, sentence);
    if (group_id.empty())
        return {};
    auto known = m_store.group(group_id);
    if (!known)
        return known.error();
    // A group we never joined gets no conversation: the relay could otherwise fill the list.
    if (!known.value())
        return {};
    return add_system_line(group_id, sentence, effects);
}

// ---- membership changes we receive ----------------------------------------------------------

Result<Engine::ChangeVerdict> Engine::check_change(const wire::GroupChange& change,
                                                   Effects& effects) {
    ChangeVerdict verdict;
    auto next = protocol::parse_group_state(change.state());
    if (!next) {
        verdict.why = "a malformed group change was refused: " + next.error().message;
        return verdict;
    }
    Bytes group_id = bytes_of(next->group_id());
    auto stored = m_store.group(group_id);
    if (!stored)
        return stored.error();
    std::uint64_t have = stored.value() ? stored.value()->revision : 0;
    if (next->revision() <= have) {
        verdict.outcome = ChangeOutcome::stale;
        return verdict;
    }
    if (next->revision() > have + 1) {
        verdict.outcome = ChangeOutcome::need_history;
        return verdict;
    }

    // The signature first, with the key we hold for the signer (ours, or the one libsignal
    // saved when our session with them began): never a key the relay hands us with the change.
    const std::string& signer = change.signer();
    std::optional<Bytes> key;
    if (signer == m_username) {
        auto identity = m_store.identity_key_pair();
        if (!identity)
            return identity.error();
        key = identity->public_key;
    } else if (protocol::valid_username(signer)) {
        auto held = m_store.peer_identity({signer, 1});
        if (!held)
            return held.error();
        key = held.value();
        if (!key) {
            verdict.outcome = ChangeOutcome::need_identity;
            verdict.whom = signer;
            return verdict;
        }
    }
    if (!key ||
        !crypto::verify_signature(m_context, *key, protocol::group_signed_bytes(change.state()),
                                  bytes_of(change.signature()))) {
        verdict.why = "a change to the group was refused: it does not carry a valid signature "
                      "by " +
                      (signer.empty() ? std::string("anyone") : signer) +
                      "; the relay may have made it up";
        return verdict;
    }

    std::optional<wire::GroupState> previous;
    Bytes previous_hash;
    if (stored.value()) {
        auto state = current_state(group_id);
        if (!state)
            return state.error();
        previous = std::move(state.value());
        previous_hash = stored.value()->state_hash;
    }
    auto allowed = protocol::check_group_transition(previous, previous_hash, next.value(), signer);
    if (!allowed) {
        verdict.why = "a change to the group signed by " + signer +
                      " was refused: " + allowed.error().message;
        return verdict;
    }
    VEIL_TRY(apply_change(change, next.value(), stored.value(), effects));
    verdict.outcome = ChangeOutcome::applied;
    verdict.revision = next->revision();
    return verdict;
}

Status Engine::apply_change(const wire::GroupChange& change, const wire::GroupState& next,
                            const std::optional<store::GroupRow>& stored, Effects& effects) {
    Bytes group_id = bytes_of(next.group_id());
    std::optional<wire::GroupState> previous;
    if (stored) {
        auto state = current_state(group_id);
        if (!state)
            return state.error();
        previous = std::move(state.value());
    }
    auto hash = sha256(change.state());
    if (!hash)
        return hash.error();

    store::GroupRow row;
    row.group_id = group_id;
    row.revision = next.revision();
    std::string serialized = change.SerializeAsString();
    row.change = bytes_of(serialized);
    row.state_hash = hash.value();
    std::vector<store::GroupMemberRow> members;
    for (const auto& m : next.members())
        members.push_back({m.username(), m.admin()});
    VEIL_TRY(m_store.save_group(row, members));

    // System lines, in the order people read them.
    const std::string& signer = change.signer();
    auto who = [this](const std::string& name) { return name == m_username ? "you" : name; };
    if (!previous) {
        std::vector<std::string> others;
        for (const auto& m : next.members())
            if (m.username() != signer)
                others.push_back(who(m.username()));
        VEIL_TRY(add_system_line(group_id,
                                 who(signer) + " created the group" +
                                     (others.empty() ? "" : " with " + join_names(others)),
                                 effects));
    }
    std::vector<std::string> departed;
    if (previous) {
        for (const auto& m : next.members())
            if (!is_member(*previous, m.username()))
                VEIL_TRY(add_system_line(group_id, who(signer) + " added " + who(m.username()),
                                         effects));
        for (const auto& m : previous->members()) {
            if (is_member(next, m.username()))
                continue;
            departed.push_back(m.username());
            std::string line = m.username() == signer
                                   ? who(signer) + " left"
                                   : who(signer) + " removed " + who(m.username());
            VEIL_TRY(add_system_line(group_id, line, effects));
        }
        for (const auto& m : next.members()) {
            const auto* before = protocol::find_member(*previous, m.username());
            if (!before || before->admin() == m.admin())
                continue;
            std::string line =
                m.admin() ? who(signer) + " made " + who(m.username()) + " an admin"
                : m.username() == signer
                    ? who(signer) + (signer == m_username ? " are" : " is") + " no longer an admin"
                    : who(signer) + " removed " + who(m.username()) + " as an admin";
            VEIL_TRY(add_system_line(group_id, line, effects));
        }
    }

    bool member_now = is_member(next, m_username);
    if (!departed.empty()) {
        // Rotation: our next message carries a brand new sender key to the remaining members
        // only, and nothing the departed send from now on decrypts here.
        VEIL_TRY(crypto::drop_sender_key(
            *m_store_context, {group_id, {m_username, static_cast<std::int32_t>(m_device_id)}}));
        VEIL_TRY(m_store.clear_sender_key_holders(group_id));
        for (const auto& name : departed) {
            auto devices = m_store.session_devices(name);
            if (!devices)
                return devices.error();
            std::set<std::int32_t> all(devices->begin(), devices->end());
            all.insert(1);
            for (auto device : all)
                VEIL_TRY(crypto::drop_sender_key(*m_store_context, {group_id, {name, device}}));
        }
        if (member_now)
            VEIL_TRY(add_system_line(group_id,
                                     "the group's keys were renewed: " + join_names(departed) +
                                         " can no longer read new messages",
                                     effects));
    }
    if (!member_now) {
        VEIL_TRY(m_store.set_group_left(group_id, true));
        VEIL_TRY(m_store.clear_sender_key_holders(group_id));
    } else if (stored && stored->has_left) {
        VEIL_TRY(m_store.set_group_left(group_id, false));
    }
    effects.groups_changed.push_back(group_id);
    log::info(kLog, "applied group revision " + std::to_string(next.revision()));
    return {};
}

void Engine::drain_inbox() {
    if (m_inbox.draining)
        return;
    m_inbox.draining = true;
    std::size_t handled = 0;
    while (!m_inbox.busy && !m_inbox.queue.empty() && handled < kInboxBatch) {
        ++handled;
        wire::Deliver d = m_inbox.queue.front();
        bool group = d.has_group_change() ||
                     (d.type() == wire::CIPHERTEXT_SENDER_KEY && !d.group_id().empty());
        if (!group) {
            m_inbox.queue.pop_front();
            begin_batch();
            handle_direct(d); // acks it itself (once the batch commits)
            continue;
        }
        finish_batch();
        Step step = process_group_item(d);
        if (step == Step::wait)
            break; // drained again from the relay's response
        m_inbox.queue.pop_front();
        if (step == Step::done && d.delivery_id() != 0)
            ack(d.delivery_id());
    }
    finish_batch();
    m_inbox.draining = false;
    if (!m_inbox.busy && !m_inbox.queue.empty()) {
        schedule_drain(); // the rest after the event loop has read what came meanwhile
    } else {
        if (!m_inbox.busy) {
            m_inbox.identities_tried.clear();
            check_prekeys();
        }
        if (m_drained_waiting)
            on_queue_drained();
    }
    pump_outgoing();
}

Engine::Step Engine::process_group_item(const wire::Deliver& d) {
    Bytes group_id = group_of(d);
    if (group_id.empty()) {
        Effects effects;
        effects.warnings.emplace_back(Bytes{}, "a malformed group change was refused");
        announce(effects);
        return Step::done;
    }
    if (!d.has_group_change())
        return receive_group_message(d) ? Step::done : Step::unacked;
    Effects effects;
    ChangeVerdict verdict;
    Status st;
    {
        store::AccountStore::Transaction tx(m_store);
        st = tx.begun();
        if (st) {
            auto checked = check_change(d.group_change(), effects);
            if (checked)
                verdict = checked.value();
            else
                st = checked.error();
        }
        if (st && verdict.outcome == ChangeOutcome::need_identity &&
            m_inbox.identities_tried.count(verdict.whom)) {
            verdict.outcome = ChangeOutcome::refused;
            verdict.why = "a change to the group was refused: the identity key of its signer " +
                          verdict.whom + " is unknown";
        }
        auto fetched = m_inbox.fetched_at.find(group_id);
        if (st && verdict.outcome == ChangeOutcome::need_history &&
            fetched != m_inbox.fetched_at.end()) {
            auto stored = m_store.group(group_id);
            std::uint64_t have = stored && stored.value() ? stored.value()->revision : 0;
            if (!stored)
                st = stored.error();
            else if (have == fetched->second) {
                // The relay sent a change past our revision and cannot produce the ones between.
                verdict.outcome = ChangeOutcome::refused;
                verdict.why = "a change to the group was refused: it skips revisions the relay "
                              "cannot produce";
            }
        }
        std::string fingerprint = d.group_change().state() + d.group_change().signature();
        if (st && verdict.outcome == ChangeOutcome::refused &&
            !m_inbox.refused.insert(fingerprint).second)
            verdict.outcome = ChangeOutcome::stale; // already refused and announced
        if (st && verdict.outcome == ChangeOutcome::refused)
            st = warn_group(group_id, verdict.why, effects);
        if (st && (verdict.outcome == ChangeOutcome::applied ||
                   verdict.outcome == ChangeOutcome::refused))
            st = tx.commit();
    }
    if (!st) {
        report(st.error());
        return Step::unacked;
    }
    if (verdict.outcome == ChangeOutcome::need_identity) {
        m_inbox.identities_tried.insert(verdict.whom);
        fetch_identity(verdict.whom);
        return Step::wait;
    }
    if (verdict.outcome == ChangeOutcome::need_history) {
        fetch_group_history(group_id);
        return Step::wait;
    }
    announce(effects);
    if (verdict.outcome == ChangeOutcome::applied) {
        m_inbox.fetched_at.erase(group_id);
        auto after = m_after_apply.find({group_id, verdict.revision});
        if (after != m_after_apply.end()) {
            const AfterApply then = std::move(after->second);
            m_after_apply.erase(after);
            if (!then.name.empty())
                name_created_group(group_id, then.name); // sends the name too
            else if (then.share_info)
                queue_group_info(group_id); // new members learn the name from us
        }
    }
    return Step::done;
}

void Engine::fetch_group_history(const Bytes& group_id) {
    if (m_inbox.busy || m_state != State::ready)
        return;
    auto stored = m_store.group(group_id);
    if (!stored) {
        report(stored.error());
        return;
    }
    std::uint64_t after = stored.value() ? stored.value()->revision : 0;
    m_inbox.busy = true;
    wire::Envelope e;
    e.mutable_group_fetch_request()->set_group_id(to_string(group_id));
    e.mutable_group_fetch_request()->set_after_revision(after);
    request(std::move(e), [this, group_id, after](const wire::Envelope& response) {
        m_inbox.busy = false;
        m_inbox.fetched_at[group_id] = after;
        if (response.has_group_changes()) {
            // Fetched changes go before whatever waits, oldest first, and are checked like any.
            const auto& changes = response.group_changes().changes();
            for (auto c = changes.rbegin(); c != changes.rend(); ++c) {
                wire::Deliver d;
                d.set_type(wire::CIPHERTEXT_NONE);
                d.set_from_username(c->signer());
                *d.mutable_group_change() = *c;
                m_inbox.queue.push_front(std::move(d));
            }
        } else if (response.has_error()) {
            log::warn(kLog, "the relay refused to list a group's changes");
        }
        drain_inbox();
    });
}

void Engine::fetch_identity(const std::string& peer) {
    m_inbox.busy = true;
    wire::Envelope e;
    e.mutable_prekey_fetch()->set_username(peer);
    request(std::move(e), [this, peer](const wire::Envelope& response) {
        m_inbox.busy = false;
        if (response.has_prekey_bundles()) {
            // Trust on first use, as for 1:1: the sessions begun here save the identity key,
            // and every later change by this signer is checked against it.
            store::AccountStore::Transaction tx(m_store);
            Status st = tx.begun();
            std::vector<std::int32_t> ids;
            for (const auto& b : response.prekey_bundles().bundles()) {
                crypto::ProtocolAddress address{peer, static_cast<std::int32_t>(b.device_id())};
                ids.push_back(address.device_id);
                auto has = crypto::has_session(*m_store_context, address);
                if (st && has && !has.value())
                    st = start_session(peer, b);
            }
            if (st)
                st = apply_device_list(peer, ids);
            if (st)
                st = tx.commit();
            if (!st)
                log::warn(kLog, "could not learn a group signer's identity key");
        }
        drain_inbox();
    });
}

// ---- group messages we receive --------------------------------------------------------------

bool Engine::receive_group_message(const wire::Deliver& d) {
    Bytes group_id = bytes_of(d.group_id());
    const std::string& sender = d.from_username();
    Bytes message_id = bytes_of(d.message_id());
    Effects effects;

    auto state = current_state(group_id);
    auto stored = m_store.group(group_id);
    if (!state || !stored) {
        report(!state ? state.error() : stored.error());
        return false;
    }
    bool known = state.value() && !stored.value()->has_left;
    // What we sent from another of our devices comes back to this one as sent.
    const bool from_us = sender == m_username;
    if (!known || !is_member(*state.value(), sender) ||
        (from_us && d.from_device_id() == m_device_id)) {
        std::string why = "a group message from " + sender +
                          (known ? ", who is not a member of the group, was refused"
                                 : " for a group you are not in was refused");
        store::AccountStore::Transaction tx(m_store);
        Status st = tx.begun();
        if (st)
            st = warn_group(group_id, why, effects);
        if (st)
            st = m_store.mark_processed(sender, message_id, m_clock.now_ms());
        if (st)
            st = tx.commit();
        if (!st) {
            report(st.error());
            return false;
        }
        announce(effects);
        return true;
    }
    auto seen = m_store.was_processed(sender, message_id);
    if (!seen) {
        report(seen.error());
        return false;
    }
    if (seen.value())
        return true;

    Status st;
    {
        store::AccountStore::Transaction tx(m_store);
        st = tx.begun();
        Result<SecretBytes> plain = make_error(Errc::internal, "not decrypted");
        if (st) {
            plain = crypto::group_decrypt(
                *m_store_context,
                {group_id, {sender, static_cast<std::int32_t>(d.from_device_id())}},
                bytes_of(d.ciphertext()));
            if (!plain)
                st = plain.error();
        }
        wire::Content content;
        if (st) {
            auto parsed = detail::content_of(plain->view());
            if (parsed)
                content = std::move(parsed.value());
            else
                st = parsed.error();
        }
        // The group id inside the encrypted content is the one that counts: a message replayed
        // into another group (by the relay or a member) names its real group there.
        if (st && (!content.has_group() || content.group().group_id() != d.group_id()))
            st = make_error(Errc::invalid_message, "it belongs to another group");
        // A blocked member's messages are dropped, as in 1:1.
        bool blocked = false;
        if (st && content.has_data() && !from_us) {
            auto is_blocked = m_store.is_blocked(sender);
            if (!is_blocked)
                st = is_blocked.error();
            else
                blocked = is_blocked.value();
        }
        if (st && content.has_data() && !blocked) {
            const auto& data = content.data();
            if (data.message_id() != d.message_id())
                st = make_error(Errc::invalid_message, "the message id does not match");
            std::size_t rows_before = effects.rows.size();
            if (st)
                st = apply_data(store::group_conversation(group_id), sender, from_us, data,
                                static_cast<std::int64_t>(d.server_timestamp_ms()), effects);
            // A member's message we stored is confirmed to its sender, 1:1 like read receipts.
            if (st && !from_us && effects.rows.size() > rows_before && !data.timer_update())
                st = confirm_delivery(sender, data.message_id());
        } else if (st && content.has_group_info()) {
            st = process_group_content(d, content, effects);
        }
        if (st)
            st = m_store.mark_processed(sender, message_id, m_clock.now_ms());
        if (st)
            st = tx.commit();
    }
    if (!st) {
        if (st.error().code == Errc::duplicate_message)
            return true;
        if (st.error().code == Errc::database) {
            report(st.error());
            return false;
        }
        record_failure(d, st.error());
        return true;
    }
    announce(effects);
    note_sender_device(sender, static_cast<std::int32_t>(d.from_device_id()));
    return true;
}

Status Engine::process_group_content(const wire::Deliver& d, const wire::Content& content,
                                     Effects& effects) {
    const std::string& sender = d.from_username();
    bool in_group = d.type() == wire::CIPHERTEXT_SENDER_KEY;
    if (!content.has_group())
        return make_error(Errc::invalid_message, "a message about a group does not name it");
    if (content.has_data() && !in_group)
        return make_error(Errc::invalid_message, "a 1:1 message claimed to belong to a group");
    Bytes group_id = bytes_of(content.group().group_id());
    auto state = current_state(group_id);
    if (!state)
        return state.error();
    auto stored = m_store.group(group_id);
    if (!stored)
        return stored.error();
    bool member = state.value() && !stored.value()->has_left && is_member(*state.value(), sender);

    if (content.has_sender_key()) {
        const auto& sk = content.sender_key();
        if (sk.group_id() != content.group().group_id() || !member)
            return warn_group(group_id,
                              "a sender key from " + sender +
                                  ", who is not a member of the group, was refused",
                              effects);
        crypto::SenderKeyName name{group_id,
                                   {sender, static_cast<std::int32_t>(d.from_device_id())}};
        // A new key id (the sender rotated) is stored beside the old ones; a copy of a key
        // already held changes nothing.
        return crypto::process_distribution_message(*m_store_context, name,
                                                    bytes_of(sk.distribution()));
    }
    if (content.has_group_info()) {
        if (!member || !is_admin(*state.value(), sender))
            return warn_group(group_id,
                              "a new name or description from " + sender +
                                  ", who is not an admin of the group, was refused",
                              effects);
        const auto& info = content.group_info();
        std::string name = unicode::sanitize(info.name());
        std::string description = unicode::sanitize(info.description());
        if (!check_group_text(name, description))
            return make_error(Errc::too_large, "the group's name or description is too long");
        if (info.avatar().size() > protocol::kMaxGroupAvatarBytes)
            return make_error(Errc::too_large, "the group's picture is too large");
        // A picture that is not a PNG or JPEG is dropped; the name and description still count.
        Bytes avatar = bytes_of(info.avatar());
        if (!avatar.empty() && !is_picture(avatar))
            avatar.clear();
        bool renamed = name != stored.value()->name;
        VEIL_TRY(m_store.set_group_info(group_id, name, description, avatar));
        if (renamed)
            VEIL_TRY(
                add_system_line(group_id, sender + " named the group \"" + name + "\"", effects));
        effects.groups_changed.push_back(group_id);
        return {};
    }
    return {}; // unknown group content from a newer client: ignored
}

// ---- membership changes we make -------------------------------------------------------------

Status Engine::propose_change(const Bytes& group_id, wire::GroupState next,
                              const std::string& name_on_accept, bool share_info) {
    if (m_state != State::ready)
        return make_error(Errc::disconnected, "group changes need a connection to the relay");
    auto pending = m_store.pending_group_changes();
    if (!pending)
        return pending.error();
    const bool waiting = std::any_of(pending->begin(), pending->end(),
                                     [&](const auto& p) { return p.group_id == group_id; });
    if (waiting || m_group_updates.count(group_id))
        return make_error(Errc::busy, "another change to this group is still on its way");
    sort_members(next);
    std::string state = next.SerializeAsString();
    if (auto parsed = protocol::parse_group_state(state); !parsed)
        return parsed.error();
    auto identity = m_store.identity_key_pair();
    if (!identity)
        return identity.error();
    auto signature =
        crypto::sign(m_context, identity->private_key, protocol::group_signed_bytes(state));
    if (!signature)
        return signature.error();
    wire::GroupChange change;
    change.set_state(state);
    change.set_signer(m_username);
    change.set_signature(to_string(signature.value()));

    // Kept until the relay answers, so that a lost connection or a restart loses nothing: it is
    // sent again after the next login (an identical change the relay has is answered OK).
    store::PendingGroupChange saved{group_id, next.revision(), to_bytes(change.SerializeAsString()),
                                    name_on_accept, share_info};
    VEIL_TRY(m_store.save_pending_group_change(saved));
    send_group_change(saved);
    return {};
}

void Engine::send_group_change(const store::PendingGroupChange& pending) {
    wire::GroupChange change;
    if (!change.ParseFromArray(pending.change.data(), static_cast<int>(pending.change.size()))) {
        (void)m_store.remove_pending_group_change(pending.group_id);
        return;
    }
    const Bytes group_id = pending.group_id;
    const std::uint64_t revision = pending.revision;
    m_group_updates.insert(group_id);
    if (!pending.name.empty() || pending.share_info)
        m_after_apply[{group_id, revision}] = AfterApply{pending.name, pending.share_info};
    wire::Envelope e;
    *e.mutable_group_update_request()->mutable_change() = change;
    request(std::move(e), [this, group_id, change, revision](const wire::Envelope& response) {
        m_group_updates.erase(group_id);
        if (auto st = m_store.remove_pending_group_change(group_id); !st)
            report(st.error());
        if (response.has_error()) {
            m_after_apply.erase({group_id, revision});
            if (response.error().code() == wire::Error::STALE_REVISION)
                fetch_group_history(group_id);
            Error refused = make_error(Errc::refused, "the group change was not made: " +
                                                          relay_error(response.error()).message);
            m_observer.on_group_change_failed(group_id, refused);
            report(refused);
            return;
        }
        // Applied through the same checks as anyone's change; the relay's copy that may come
        // back to us later is then stale and ignored.
        wire::Deliver d;
        d.set_type(wire::CIPHERTEXT_NONE);
        d.set_from_username(m_username);
        *d.mutable_group_change() = change;
        m_inbox.queue.push_front(d);
        drain_inbox();
    });
}

void Engine::fail_group_send(std::span<const std::uint8_t> message_id) {
    (void)m_store.remove_group_outbox(message_id);
    mark_failed(message_id);
}

void Engine::resend_group_changes() {
    auto pending = m_store.pending_group_changes();
    if (!pending) {
        report(pending.error());
        return;
    }
    for (const auto& p : pending.value())
        if (!m_group_updates.count(p.group_id))
            send_group_change(p);
}

void Engine::name_created_group(const Bytes& group_id, const std::string& name) {
    if (!m_store.set_group_info(group_id, name, "", {}))
        return;
    m_observer.on_group_changed(group_id);
    queue_group_info(group_id);
}

Status Engine::edit_members(std::span<const std::uint8_t> group_id,
                            const std::function<Status(wire::GroupState&)>& edit, bool share_info) {
    if (m_state != State::ready)
        return make_error(Errc::disconnected, "group changes need a connection to the relay");
    Bytes id(group_id.begin(), group_id.end());
    auto stored = m_store.group(id);
    if (!stored)
        return stored.error();
    auto state = current_state(id);
    if (!state)
        return state.error();
    if (!stored.value() || !state.value())
        return make_error(Errc::not_found, "no such group");
    if (stored.value()->has_left || !is_member(*state.value(), m_username))
        return make_error(Errc::refused, "you are no longer a member of this group");
    wire::GroupState next = *state.value();
    VEIL_TRY(edit(next));
    sort_members(next);
    if (next.SerializeAsString() == state.value()->SerializeAsString())
        return make_error(Errc::invalid_argument,
                          "nothing to change: they are already members (or admins) as asked");
    next.set_revision(state.value()->revision() + 1);
    next.set_previous_hash(to_string(stored.value()->state_hash));
    // The relay would refuse what the rules refuse; saying so here gives a better sentence.
    VEIL_TRY(protocol::check_group_transition(state.value(), stored.value()->state_hash, next,
                                              m_username));
    return propose_change(id, std::move(next), {}, share_info);
}

Result<Bytes> Engine::create_group(const std::string& name,
                                   const std::vector<std::string>& members) {
    if (unicode::sanitize(name) != name)
        return make_error(Errc::invalid_argument, "the group name is not valid UTF-8 text");
    VEIL_TRY(check_group_text(name, ""));
    if (m_username.empty())
        VEIL_TRY(load_account());
    wire::GroupState state;
    Bytes group_id = crypto::random_bytes(protocol::kGroupIdBytes);
    state.set_group_id(to_string(group_id));
    state.set_revision(1);
    auto* me = state.add_members();
    me->set_username(m_username);
    me->set_admin(true);
    for (const auto& m : members) {
        if (!protocol::valid_username(m))
            return make_error(Errc::invalid_argument, "'" + m + "' is not a valid username");
        if (m == m_username || is_member(state, m))
            continue;
        state.add_members()->set_username(m);
    }
    VEIL_TRY(propose_change(group_id, std::move(state), name, false));
    return group_id;
}

Status Engine::add_group_members(std::span<const std::uint8_t> group_id,
                                 const std::vector<std::string>& members) {
    Bytes id(group_id.begin(), group_id.end());
    return edit_members(
        group_id,
        [&](wire::GroupState& next) -> Status {
            for (const auto& m : members) {
                if (!protocol::valid_username(m))
                    return make_error(Errc::invalid_argument,
                                      "'" + m + "' is not a valid username");
                if (!is_member(next, m))
                    next.add_members()->set_username(m);
            }
            sort_members(next);
            return {};
        },
        // New members learn the name from us, as only members ever see it.
        true);
}

Status Engine::remove_group_members(std::span<const std::uint8_t> group_id,
                                    const std::vector<std::string>& members) {
    return edit_members(group_id, [&](wire::GroupState& next) -> Status {
        auto* list = next.mutable_members();
        for (const auto& m : members) {
            auto it = std::find_if(list->begin(), list->end(),
                                   [&](const wire::GroupMember& g) { return g.username() == m; });
            if (it == list->end())
                return make_error(Errc::not_found, m + " is not a member of this group");
            list->erase(it);
        }
        return {};
    });
}

Status Engine::leave_group(std::span<const std::uint8_t> group_id) {
    // The last admin of a group with other members would leave it without one; say what to do.
    auto members = m_store.group_members(group_id);
    if (!members)
        return members.error();
    if (m_username.empty())
        VEIL_TRY(load_account());
    const auto& list = members.value();
    auto admins = std::count_if(list.begin(), list.end(), [](const auto& m) { return m.admin; });
    auto me = std::find_if(list.begin(), list.end(),
                           [&](const auto& m) { return m.username == m_username; });
    if (me != list.end() && me->admin && admins == 1 && list.size() > 1)
        return make_error(Errc::refused, "you are the group's only admin: make another member an "
                                         "admin first, then leave");
    return remove_group_members(group_id, {m_username});
}

Status Engine::set_group_admin(std::span<const std::uint8_t> group_id, const std::string& member,
                               bool admin) {
    return edit_members(group_id, [&](wire::GroupState& next) -> Status {
        for (auto& m : *next.mutable_members())
            if (m.username() == member) {
                m.set_admin(admin);
                return {};
            }
        return make_error(Errc::not_found, member + " is not a member of this group");
    });
}

Status Engine::set_group_info(std::span<const std::uint8_t> group_id, const std::string& name,
                              const std::string& description) {
    return set_group_details(group_id, name, description, std::nullopt);
}

Status Engine::set_group_avatar(std::span<const std::uint8_t> group_id,
                                std::span<const std::uint8_t> image) {
    if (image.size() > protocol::kMaxGroupAvatarBytes)
        return make_error(Errc::too_large, "a group picture is at most 64 KiB");
    if (!image.empty() && !is_picture(image))
        return make_error(Errc::invalid_argument, "a group picture must be a PNG or JPEG image");
    Bytes id(group_id.begin(), group_id.end());
    if (m_username.empty())
        VEIL_TRY(load_account());
    auto stored = m_store.group(id);
    if (!stored)
        return stored.error();
    if (!stored.value())
        return make_error(Errc::not_found, "no such group");
    return set_group_details(group_id, stored.value()->name, stored.value()->description,
                             Bytes(image.begin(), image.end()));
}

Status Engine::set_group_details(std::span<const std::uint8_t> group_id, const std::string& name,
                                 const std::string& description,
                                 const std::optional<Bytes>& avatar) {
    if (unicode::sanitize(name) != name || unicode::sanitize(description) != description)
        return make_error(Errc::invalid_argument, "the name or description is not valid text");
    VEIL_TRY(check_group_text(name, description));
    if (m_username.empty())
        VEIL_TRY(load_account()); // before start(): who we are decides whether we are an admin
    Bytes id(group_id.begin(), group_id.end());
    auto state = current_state(id);
    if (!state)
        return state.error();
    auto stored = m_store.group(id);
    if (!stored)
        return stored.error();
    if (!state.value())
        return make_error(Errc::not_found, "no such group");
    if (stored.value()->has_left || !is_admin(*state.value(), m_username))
        return make_error(Errc::refused, "only an admin can change the group's name, description "
                                         "or picture");
    VEIL_TRY(
        m_store.set_group_info(id, name, description, avatar.value_or(stored.value()->avatar)));
    m_observer.on_group_changed(id);
    queue_group_info(id);
    pump_outgoing();
    return {};
}

// ---- group messages we send -----------------------------------------------------------------

Status Engine::queue_group_content(const Bytes& group_id, const Bytes& message_id,
                                   const wire::Content& content) {
    store::GroupOutboxItem item;
    item.message_id = message_id;
    item.group_id = group_id;
    item.content = bytes_of(content.SerializeAsString());
    return m_store.add_group_outbox(item);
}

void Engine::queue_group_info(const Bytes& group_id) {
    auto stored = m_store.group(group_id);
    if (!stored || !stored.value())
        return;
    wire::Content content;
    auto* info = content.mutable_group_info();
    info->set_name(stored.value()->name);
    info->set_description(stored.value()->description);
    info->set_avatar(to_string(stored.value()->avatar));
    if (auto st =
            queue_group_content(group_id, crypto::random_bytes(protocol::kMessageIdBytes), content);
        !st)
        report(st.error());
}

Result<Bytes> Engine::send_group_message(std::span<const std::uint8_t> group_id,
                                         const std::string& text) {
    Outgoing message;
    message.text = text;
    return send(store::group_conversation(group_id), message);
}

Result<bool> Engine::distribute_sender_key(const store::GroupRow& group,
                                           const std::set<std::string>& busy_peers) {
    std::set<std::string> unknown;
    auto recipients = group_recipients(group, &unknown);
    if (!recipients)
        return recipients.error();
    crypto::SenderKeyName own{group.group_id, {m_username, static_cast<std::int32_t>(m_device_id)}};
    bool waiting = false;
    store::AccountStore::Transaction tx(m_store);
    VEIL_TRY(tx.begun());
    std::optional<SecretBytes> distribution;
    // One 1:1 copy per account that has a device without our key: the 1:1 pipeline encrypts it
    // for each of that account's devices and records each as a holder. Members (and our own
    // other devices) whose lists we never learned get theirs after the relay's answer to the
    // group send names their devices.
    std::set<std::string> lacking;
    for (const auto& [username, device] : recipients.value()) {
        auto holds = m_store.holds_sender_key(group.group_id, username, device);
        if (!holds)
            return holds.error();
        if (!holds.value())
            lacking.insert(username);
    }
    for (const auto& username : lacking) {
        waiting = true;
        if (busy_peers.count(username))
            continue; // an earlier copy may still be on its way; looked at again after it
        if (!distribution) {
            auto made = crypto::create_distribution_message(*m_store_context, own);
            if (!made)
                return made.error();
            distribution = std::move(made.value());
        }
        wire::Content content;
        content.mutable_sender_key()->set_group_id(to_string(group.group_id));
        content.mutable_sender_key()->set_distribution(
            std::string(reinterpret_cast<const char*>(distribution->data()), distribution->size()));
        content.mutable_group()->set_group_id(to_string(group.group_id));
        content.mutable_group()->set_revision(group.revision);
        VEIL_TRY(queue_content(username, crypto::random_bytes(protocol::kMessageIdBytes), content));
    }
    for (const auto& [username, device] : recipients.value())
        if (busy_peers.count(username))
            waiting = true;
    // With nobody else in the group (or everyone holding it already) we still need a sender key
    // of our own to encrypt with.
    if (!distribution) {
        auto have = crypto::has_sender_key(*m_store_context, own);
        if (!have)
            return have.error();
        if (!have.value()) {
            auto made = crypto::create_distribution_message(*m_store_context, own);
            if (!made)
                return made.error();
        }
    }
    VEIL_TRY(tx.commit());
    return !waiting;
}

void Engine::pump_group_sends() {
    if (m_state != State::ready || !m_drained)
        return;
    auto items = m_store.group_outbox();
    if (!items) {
        report(items.error());
        return;
    }
    if (items->empty())
        return;
    // 1:1 traffic still on its way to a member may carry our sender key: the group message
    // must reach the relay after it, so it waits.
    std::set<std::string> busy_peers;
    if (auto pending = m_store.pending())
        for (const auto& p : pending.value())
            busy_peers.insert(p.peer);
    if (auto outbox = m_store.outbox())
        for (const auto& o : outbox.value())
            busy_peers.insert(o.peer);

    std::set<Bytes> held; // groups whose earlier message waits: later ones keep their order
    bool distributed = false;
    for (const auto& item : items.value()) {
        if (held.count(item.group_id))
            continue;
        bool group_busy = m_inbox.busy || !m_inbox.queue.empty();
        if (m_group_in_flight.count(to_hex(item.message_id)) || group_busy ||
            m_group_updates.count(item.group_id)) {
            held.insert(item.group_id);
            continue;
        }
        auto group = m_store.group(item.group_id);
        if (!group) {
            report(group.error());
            return;
        }
        if (!group.value() || group.value()->has_left) {
            fail_group_send(item.message_id);
            continue;
        }
        auto stale = m_stale_at.find(to_hex(item.message_id));
        if (stale != m_stale_at.end() && stale->second == group.value()->revision) {
            // The relay said the group moved on but has no change past ours to show.
            m_stale_at.erase(stale);
            report(make_error(Errc::refused, "a group message could not be sent: the relay "
                                             "keeps refusing the group's revision"));
            fail_group_send(item.message_id);
            continue;
        }
        if (item.revision == group.value()->revision && !item.ciphertext.empty()) {
            send_group_item(item);
            continue;
        }
        auto ready = distribute_sender_key(group.value().value(), busy_peers);
        if (!ready) {
            report(ready.error());
            return;
        }
        if (!ready.value()) {
            held.insert(item.group_id);
            distributed = true;
            continue;
        }
        wire::Content content;
        if (!content.ParseFromArray(item.content.data(), static_cast<int>(item.content.size()))) {
            (void)m_store.remove_group_outbox(item.message_id);
            continue;
        }
        content.mutable_group()->set_group_id(to_string(item.group_id));
        content.mutable_group()->set_revision(group.value()->revision);
        // Encrypting advances our chain, so the ciphertext is stored with it and resent as is
        // until the group's revision changes.
        store::GroupOutboxItem encrypted = item;
        store::AccountStore::Transaction tx(m_store);
        Status st = tx.begun();
        if (st) {
            auto ct = crypto::group_encrypt(
                *m_store_context,
                {item.group_id, {m_username, static_cast<std::int32_t>(m_device_id)}},
                protocol::pad(bytes_of(content.SerializeAsString())));
            if (!ct)
                st = ct.error();
            else {
                encrypted.ciphertext = std::move(ct.value());
                encrypted.revision = group.value()->revision;
                st = m_store.set_group_ciphertext(item.message_id, encrypted.revision,
                                                  encrypted.ciphertext);
            }
        }
        if (st)
            st = tx.commit();
        if (!st) {
            if (st.error().code == Errc::database) {
                report(st.error()); // storage trouble: the item waits for the next pump
                return;
            }
            // A message that cannot be encrypted now never will be: it fails alone instead of
            // holding every group message behind it.
            report(make_error(st.error().code,
                              "a group message could not be sent: " + st.error().message));
            fail_group_send(item.message_id);
            continue;
        }
        send_group_item(encrypted);
    }
    if (distributed)
        pump_direct(); // the distribution messages were queued 1:1; send them now
}

void Engine::send_group_item(const store::GroupOutboxItem& item) {
    std::string key = to_hex(item.message_id);
    if (m_group_in_flight.count(key))
        return;
    m_group_in_flight.insert(key);
    wire::Envelope e;
    auto* s = e.mutable_group_send_request();
    s->set_group_id(to_string(item.group_id));
    s->set_message_id(to_string(item.message_id));
    s->set_revision(item.revision);
    s->set_ciphertext(to_string(item.ciphertext));
    // The devices we gave our key: the relay refuses the message if its list differs.
    if (auto group = m_store.group(item.group_id); group && group.value()) {
        auto recipients = group_recipients(group.value().value(), nullptr);
        if (recipients)
            s->set_devices_digest(to_string(group_devices_digest(recipients.value())));
    }
    Bytes message_id = item.message_id;
    Bytes group_id = item.group_id;
    std::uint64_t revision = item.revision;
    request(std::move(e), [this, key, message_id, group_id,
                           revision](const wire::Envelope& response) {
        m_group_in_flight.erase(key);
        if (response.has_error()) {
            auto code = response.error().code();
            if (code == wire::Error::UNAVAILABLE || code == wire::Error::RATE_LIMITED) {
                schedule_retry(response.error()); // or after the next reconnect
                return;
            }
            if (code == wire::Error::MISMATCHED_DEVICES) {
                on_group_devices_mismatch(message_id, group_id, response.error());
                check_settled();
                return;
            }
            if (code == wire::Error::STALE_REVISION) {
                // Apply what we missed, then the message is encrypted again for the new members
                // (and with a new key if someone left).
                m_stale_at[key] = revision;
                fetch_group_history(group_id);
                return;
            }
            if (code != wire::Error::CONFLICT) {
                report(relay_error(response.error()));
                fail_group_send(message_id);
                check_settled();
                return;
            }
            // CONFLICT: the relay already holds a message with this id from us (an answer lost
            // with a connection); it is sent.
        }
        m_stale_at.erase(key);
        m_mismatches.erase(key);
        if (auto st = m_store.remove_group_outbox(message_id); !st)
            report(st.error());
        mark_sent(message_id);
        if (response.has_group_send_result() && response.group_send_result().unreachable_size()) {
            const auto& u = response.group_send_result().unreachable();
            m_observer.on_group_unreachable(message_id,
                                            std::vector<std::string>(u.begin(), u.end()));
        }
        pump_group_sends();
        check_settled();
    });
}

} // namespace veil::engine
