#include "fake_relay.h"

#include "crypto/provider.h"
#include "protocol/group_rules.h"
#include "protocol/limits.h"

#include <algorithm>
#include <set>

namespace veil::test {

void FakeTransport::connect(const std::string&) {
    m_connected = true;
    m_relay.connected(this);
}

std::uint64_t FakeTransport::start_timer(std::uint32_t delay_ms, std::function<void()> fn) {
    m_timers[++m_next_timer] = std::move(fn);
    if (delay_ms == 0)
        m_relay.queue_soon(this, m_next_timer);
    else
        delays.push_back(delay_ms);
    return m_next_timer;
}

void FakeTransport::send(Bytes frame) {
    if (m_connected)
        m_relay.queue_to_relay(this, std::move(frame));
}

void FakeTransport::close() {
    if (!m_connected)
        return;
    m_connected = false;
    m_relay.disconnected(this);
    if (m_listener)
        m_listener->on_disconnected("closed");
}

void FakeTransport::drop_connection() {
    close();
}

void FakeRelay::connected(FakeTransport* t) {
    // The connect completes on the next pump, like a real socket.
    m_out.push_back({t, Bytes{}});
}

void FakeRelay::disconnected(FakeTransport* t) {
    if (!t->account.empty() && m_online[t->account] == t)
        m_online.erase(t->account);
    t->account.clear();
}

void FakeRelay::reply(FakeTransport* to, wire::Envelope e) {
    e.set_version(protocol::kProtocolVersion);
    m_out.push_back({to, protocol::encode_envelope(e)});
}

void FakeRelay::push_mailbox(const std::string& account) {
    auto it = m_online.find(account);
    if (it == m_online.end())
        return;
    for (auto& stored : mailboxes[account]) {
        wire::Envelope e;
        *e.mutable_deliver() = stored.deliver;
        e.mutable_deliver()->set_delivery_id(stored.delivery_id);
        reply(it->second, e);
    }
}

void FakeRelay::handle(FakeTransport* from, const wire::Envelope& e) {
    if (swallow && swallow(e))
        return;
    wire::Envelope r;
    r.set_request_id(e.request_id());
    switch (e.body_case()) {
    case wire::Envelope::kChallengeRequest:
        r.mutable_challenge()->set_nonce(std::string(32, 'n'));
        break;
    case wire::Envelope::kRegisterRequest: {
        const auto& reg = e.register_request();
        if (accounts.count(reg.username())) {
            r.mutable_error()->set_code(wire::Error::USERNAME_TAKEN);
            r.mutable_error()->set_message("that username is taken");
            break;
        }
        Account& a = accounts[reg.username()];
        a.registration = reg;
        a.prekeys.assign(reg.one_time_prekeys().begin(), reg.one_time_prekeys().end());
        from->account = reg.username();
        m_online[reg.username()] = from;
        r.mutable_auth_result()->set_device_id(1);
        r.mutable_auth_result()->set_one_time_prekeys_left(
            static_cast<std::uint32_t>(a.prekeys.size()));
        break;
    }
    case wire::Envelope::kAuthRequest: {
        const auto& name = e.auth_request().username();
        if (!accounts.count(name)) {
            r.mutable_error()->set_code(wire::Error::AUTH_FAILED);
            break;
        }
        from->account = name;
        m_online[name] = from;
        auto left = static_cast<std::uint32_t>(accounts[name].prekeys.size());
        r.mutable_auth_result()->set_device_id(1);
        r.mutable_auth_result()->set_one_time_prekeys_left(
            report_prekeys_left < 1000 ? report_prekeys_left : left);
        reply(from, r);
        push_mailbox(name);
        wire::Envelope drained;
        drained.mutable_queue_drained();
        reply(from, drained);
        return;
    }
    case wire::Envelope::kPrekeyUpload: {
        auto& a = accounts[from->account];
        const auto& up = e.prekey_upload();
        a.prekeys.insert(a.prekeys.end(), up.one_time_prekeys().begin(),
                         up.one_time_prekeys().end());
        uploads.push_back(static_cast<std::size_t>(up.one_time_prekeys_size()));
        r.mutable_prekey_status()->set_one_time_prekeys_left(
            static_cast<std::uint32_t>(a.prekeys.size()));
        break;
    }
    case wire::Envelope::kPrekeyStatusRequest:
        r.mutable_prekey_status()->set_one_time_prekeys_left(
            static_cast<std::uint32_t>(accounts[from->account].prekeys.size()));
        ++prekey_status_requests;
        break;
    case wire::Envelope::kPrekeyFetch: {
        auto it = accounts.find(e.prekey_fetch().username());
        if (it == accounts.end()) {
            r.mutable_error()->set_code(wire::Error::NOT_FOUND);
            r.mutable_error()->set_message("no such user");
            break;
        }
        // Every account here has device 1 only.
        auto* b = r.mutable_prekey_bundles()->add_bundles();
        const auto& reg = it->second.registration;
        b->set_username(reg.username());
        b->set_device_id(1);
        b->set_registration_id(reg.registration_id());
        b->set_identity_key(reg.identity_key());
        *b->mutable_signed_prekey() = reg.signed_prekey();
        if (!it->second.prekeys.empty()) {
            *b->mutable_one_time_prekey() = it->second.prekeys.front();
            it->second.prekeys.erase(it->second.prekeys.begin());
        }
        break;
    }
    case wire::Envelope::kDeviceListRequest: {
        const std::string& name = e.device_list_request().username().empty()
                                      ? from->account
                                      : e.device_list_request().username();
        if (!accounts.count(name)) {
            r.mutable_error()->set_code(wire::Error::NOT_FOUND);
            r.mutable_error()->set_message("no such user");
            break;
        }
        r.mutable_device_list()->set_username(name);
        r.mutable_device_list()->add_devices()->set_device_id(1);
        break;
    }
    case wire::Envelope::kSendRequest: {
        const auto& s = e.send_request();
        // One device per account: the one copy for it, and no other devices of ours.
        if (s.to_devices_size() != 1 || s.to_devices(0).device_id() != 1 ||
            s.own_devices_size() != 0 || s.to_username() == from->account) {
            r.mutable_error()->set_code(wire::Error::MISMATCHED_DEVICES);
            r.mutable_error()->set_message("devices do not match");
            break;
        }
        wire::Deliver d;
        d.set_message_id(s.message_id());
        d.set_from_username(from->account);
        d.set_from_device_id(1);
        d.set_type(s.to_devices(0).type());
        d.set_ciphertext(s.to_devices(0).ciphertext());
        d.set_server_timestamp_ms(1);
        if (s.transient()) {
            // As the relay: answered at once, pushed to an online device, never stored.
            ++transients;
            r.mutable_ok();
            reply(from, r);
            if (auto online = m_online.find(s.to_username()); online != m_online.end()) {
                wire::Envelope push;
                *push.mutable_deliver() = std::move(d);
                reply(online->second, push);
            }
            return;
        }
        if (refuse) {
            if (auto error = refuse(s)) {
                *r.mutable_error() = *error;
                break;
            }
        }
        sends.push_back(s);
        r.mutable_send_result()->set_server_timestamp_ms(1);
        reply(from, r);
        deliver(s.to_username(), std::move(d));
        return;
    }
    case wire::Envelope::kGroupUpdateRequest: handle_group_update(from, e, r); return;
    case wire::Envelope::kGroupSendRequest: handle_group_send(from, e, r); return;
    case wire::Envelope::kGroupFetchRequest: handle_group_fetch(from, e, r); break;
    case wire::Envelope::kAckRequest: {
        auto& box = mailboxes[from->account];
        for (auto id : e.ack_request().delivery_ids())
            std::erase_if(box, [id](const Stored& s) { return s.delivery_id == id; });
        r.mutable_ok();
        break;
    }
    default: r.mutable_error()->set_code(wire::Error::BAD_REQUEST); break;
    }
    reply(from, r);
}

void FakeRelay::deliver(const std::string& to, wire::Deliver d) {
    Stored stored;
    stored.delivery_id = m_next_delivery++;
    stored.deliver = std::move(d);
    if (tamper)
        tamper(stored.deliver);
    if (lose && lose(stored.deliver))
        return;
    mailboxes[to].push_back(stored);
    auto it = m_online.find(to);
    if (it != m_online.end()) {
        wire::Envelope push;
        *push.mutable_deliver() = stored.deliver;
        push.mutable_deliver()->set_delivery_id(stored.delivery_id);
        reply(it->second, push);
    }
}

void FakeRelay::force_group_change(const wire::GroupChange& change) {
    wire::GroupState next;
    next.ParseFromString(change.state());
    Group& g = groups[next.group_id()];
    std::set<std::string> recipients;
    for (const auto& m : g.state.members())
        recipients.insert(m.username());
    for (const auto& m : next.members())
        recipients.insert(m.username());
    g.state = next;
    g.changes.push_back(change);
    std::string revision(8, '\0');
    for (int i = 0; i < 8; ++i)
        revision[static_cast<std::size_t>(i)] = static_cast<char>(next.revision() >> (56 - 8 * i));
    for (const auto& name : recipients) {
        wire::Deliver d;
        d.set_message_id(revision);
        d.set_from_username(change.signer());
        d.set_from_device_id(1);
        d.set_type(wire::CIPHERTEXT_NONE);
        d.set_server_timestamp_ms(1);
        *d.mutable_group_change() = change;
        deliver(name, std::move(d));
    }
}

void FakeRelay::handle_group_update(FakeTransport* from, const wire::Envelope& e,
                                    wire::Envelope& r) {
    const auto& change = e.group_update_request().change();
    auto next = protocol::parse_group_state(change.state());
    auto set_error = [&r](wire::Error::Code code, const char* message) {
        r.mutable_error()->set_code(code);
        r.mutable_error()->set_message(message);
    };
    if (!next) {
        set_error(wire::Error::BAD_REQUEST, "malformed group state");
    } else {
        auto it = groups.find(next->group_id());
        std::uint64_t current = it == groups.end() ? 0 : it->second.state.revision();
        bool unknown_member = std::any_of(
            next->members().begin(), next->members().end(),
            [this](const wire::GroupMember& m) { return !accounts.count(m.username()); });
        if (next->revision() == 1 && current != 0)
            set_error(wire::Error::CONFLICT, "the group exists");
        else if (next->revision() != current + 1)
            set_error(wire::Error::STALE_REVISION, "the group has moved on");
        else if (unknown_member)
            set_error(wire::Error::NOT_FOUND, "no such user");
        else
            r.mutable_group_update_result()->set_revision(next->revision());
    }
    reply(from, r);
    if (r.has_group_update_result())
        force_group_change(change);
}

void FakeRelay::handle_group_send(FakeTransport* from, const wire::Envelope& e, wire::Envelope& r) {
    const auto& s = e.group_send_request();
    auto it = groups.find(s.group_id());
    bool member =
        it != groups.end() &&
        std::any_of(it->second.state.members().begin(), it->second.state.members().end(),
                    [&](const wire::GroupMember& m) { return m.username() == from->account; });
    if (!member) {
        r.mutable_error()->set_code(wire::Error::FORBIDDEN);
        r.mutable_error()->set_message("not a member");
        reply(from, r);
        return;
    }
    if (s.revision() != it->second.state.revision()) {
        ++stale_replies;
        r.mutable_error()->set_code(wire::Error::STALE_REVISION);
        r.mutable_error()->set_message("the group has moved on");
        reply(from, r);
        return;
    }
    // The devices the message reaches (device 1 of every other member with an account), as the
    // sender must name them in devices_digest.
    Bytes listed;
    wire::Envelope mismatch;
    auto* error = mismatch.mutable_error();
    for (const auto& m : it->second.state.members()) {
        if (m.username() == from->account || !accounts.count(m.username()))
            continue;
        listed.insert(listed.end(), m.username().begin(), m.username().end());
        listed.insert(listed.end(), {0, 0, 0, 0, 1});
        auto* devices = error->add_group_devices();
        devices->set_username(m.username());
        devices->add_device_ids(1);
    }
    auto digest = crypto::sha256(listed);
    if (!s.devices_digest().empty() && digest &&
        s.devices_digest() != std::string(digest->begin(), digest->end())) {
        ++device_mismatches;
        error->set_code(wire::Error::MISMATCHED_DEVICES);
        error->set_message("the group's devices differ");
        r = std::move(mismatch);
        r.set_request_id(e.request_id());
        reply(from, r);
        return;
    }
    r.mutable_group_send_result()->set_server_timestamp_ms(1);
    bool seen = std::any_of(group_sends.begin(), group_sends.end(), [&](const GroupSent& g) {
        return g.from == from->account && g.request.message_id() == s.message_id();
    });
    if (seen) {
        reply(from, r);
        return;
    }
    group_sends.push_back({from->account, s});
    std::vector<std::string> recipients;
    for (const auto& m : it->second.state.members()) {
        if (m.username() == from->account)
            continue;
        if (!accounts.count(m.username()))
            r.mutable_group_send_result()->add_unreachable(m.username());
        else
            recipients.push_back(m.username());
    }
    reply(from, r);
    for (const auto& name : recipients) {
        wire::Deliver d;
        d.set_message_id(s.message_id());
        d.set_from_username(from->account);
        d.set_from_device_id(1);
        d.set_type(wire::CIPHERTEXT_SENDER_KEY);
        d.set_ciphertext(s.ciphertext());
        d.set_group_id(s.group_id());
        d.set_server_timestamp_ms(1);
        deliver(name, std::move(d));
    }
}

void FakeRelay::handle_group_fetch(FakeTransport*, const wire::Envelope& e, wire::Envelope& r) {
    const auto& f = e.group_fetch_request();
    auto it = groups.find(f.group_id());
    if (it == groups.end()) {
        r.mutable_error()->set_code(wire::Error::NOT_FOUND);
        return;
    }
    auto* out = r.mutable_group_changes();
    for (const auto& c : it->second.changes) {
        wire::GroupState state;
        state.ParseFromString(c.state());
        if (state.revision() > f.after_revision() &&
            static_cast<std::size_t>(out->changes_size()) < protocol::kMaxGroupChangesPerFetch)
            *out->add_changes() = c;
    }
}

void FakeRelay::pump() {
    while (!m_in.empty() || !m_out.empty() || !m_soon.empty()) {
        if (m_in.empty() && m_out.empty()) {
            auto [t, timer] = m_soon.front();
            m_soon.pop_front();
            t->run_timer(timer);
            continue;
        }
        while (!m_in.empty()) {
            auto [from, frame] = std::move(m_in.front());
            m_in.pop_front();
            if (!from->m_connected)
                continue;
            auto decoded = protocol::decode_envelope(frame);
            if (decoded)
                handle(from, decoded.value());
        }
        while (!m_out.empty()) {
            auto [to, frame] = std::move(m_out.front());
            m_out.pop_front();
            if (!to->m_connected || !to->listener())
                continue;
            if (frame.empty())
                to->listener()->on_connected();
            else
                to->listener()->on_frame(frame);
        }
    }
}

} // namespace veil::test
