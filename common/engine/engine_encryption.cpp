// Engine: what a conversation's encryption rests on, and the two repairs a person can ask for
// (a new 1:1 session, a new group sender key). See engine.h.
#include "engine/engine.h"

#include "crypto/sender_key.h"
#include "crypto/session.h"
#include "protocol/envelope_codec.h"
#include "util/log.h"

#include <algorithm>

namespace veil::engine {
namespace {

constexpr const char* kLog = "engine";

} // namespace

Result<ConversationSecurity> Engine::conversation_security(const std::string& conversation) {
    ConversationSecurity out;
    std::vector<std::string> people;
    Bytes group_id;
    if (auto id = store::group_id_of(conversation)) {
        out.group = true;
        group_id = *id;
        auto members = m_store.group_members(group_id);
        if (!members)
            return members.error();
        for (const auto& m : members.value())
            if (m.username != m_username)
                people.push_back(m.username);
    } else {
        if (!protocol::valid_username(conversation))
            return make_error(Errc::invalid_argument, "not a conversation: " + conversation);
        people.push_back(conversation);
    }
    std::sort(people.begin(), people.end());
    if (!m_store_context) {
        // Offline, before start(): the sessions are read through libsignal all the same.
        auto context = crypto::StoreContext::create(m_context, m_store);
        if (!context)
            return context.error();
        m_store_context = std::move(context.value());
    }
    auto identities = m_store.peer_identities();
    if (!identities)
        return identities.error();

    for (const auto& name : people) {
        MemberSecurity member;
        member.username = name;
        auto trust = m_store.trust(name);
        if (!trust)
            return trust.error();
        member.trust = trust.value();
        member.identity_known = std::any_of(identities->begin(), identities->end(),
                                            [&](const auto& entry) { return entry.first == name; });
        auto sessions = m_store.session_devices(name);
        if (!sessions)
            return sessions.error();
        auto known = m_store.known_devices(name);
        if (!known)
            return known.error();
        std::vector<std::int32_t> ids = sessions.value();
        if (known.value())
            ids.insert(ids.end(), known.value()->begin(), known.value()->end());
        std::sort(ids.begin(), ids.end());
        ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
        for (auto id : ids) {
            DeviceSecurity device;
            device.device_id = id;
            device.session = std::find(sessions->begin(), sessions->end(), id) != sessions->end();
            if (device.session) {
                auto missing = crypto::missing_messages(*m_store_context, {name, id});
                if (!missing)
                    return missing.error();
                device.missing_messages = missing.value();
            }
            if (out.group) {
                auto holds = m_store.holds_sender_key(group_id, name, id);
                if (!holds)
                    return holds.error();
                device.holds_sender_key = holds.value();
            }
            member.devices.push_back(device);
        }
        out.members.push_back(std::move(member));
    }
    return out;
}

Status Engine::restart_sessions(const std::string& peer) {
    if (!protocol::valid_username(peer) || peer == m_username)
        return make_error(Errc::invalid_argument, "a new session needs another person's name");
    if (m_state != State::ready)
        return make_error(Errc::disconnected, "a new session needs a connection to the relay");
    auto sessions = m_store.session_devices(peer);
    if (!sessions)
        return sessions.error();
    auto known = m_store.known_devices(peer);
    if (!known)
        return known.error();
    std::vector<std::int32_t> devices = sessions.value();
    if (known.value())
        devices.insert(devices.end(), known.value()->begin(), known.value()->end());
    std::sort(devices.begin(), devices.end());
    devices.erase(std::unique(devices.begin(), devices.end()), devices.end());
    if (devices.empty()) {
        // Nothing was ever set up: learn the device list, which fetches the bundles.
        fetch_device_list(peer);
    } else {
        fetch_bundles(peer, devices);
    }
    log::info(kLog, "asked for new sessions with " + std::to_string(devices.size()) + " devices");
    return {};
}

Status Engine::renew_group_key(std::span<const std::uint8_t> group_id) {
    if (m_username.empty())
        VEIL_TRY(load_account()); // offline, before start(): our name and device number
    if (!m_store_context) {
        auto context = crypto::StoreContext::create(m_context, m_store);
        if (!context)
            return context.error();
        m_store_context = std::move(context.value());
    }
    auto group = m_store.group(group_id);
    if (!group)
        return group.error();
    if (!group.value())
        return make_error(Errc::not_found, "there is no such group");
    if (group.value()->has_left)
        return make_error(Errc::refused, "you are no longer a member of this group");
    store::AccountStore::Transaction tx(m_store);
    VEIL_TRY(tx.begun());
    Bytes id(group_id.begin(), group_id.end());
    VEIL_TRY(crypto::drop_sender_key(*m_store_context,
                                     {id, {m_username, static_cast<std::int32_t>(m_device_id)}}));
    VEIL_TRY(m_store.clear_sender_key_holders(group_id));
    VEIL_TRY(tx.commit());
    log::info(kLog, "renewed our sender key for a group");
    return {};
}

} // namespace veil::engine
