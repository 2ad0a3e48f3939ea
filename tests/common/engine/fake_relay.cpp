#include "fake_relay.h"

namespace veil::test {

void FakeTransport::connect(const std::string&) {
    m_connected = true;
    m_relay.connected(this);
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
    case wire::Envelope::kPrekeyFetch: {
        auto it = accounts.find(e.prekey_fetch().username());
        if (it == accounts.end()) {
            r.mutable_error()->set_code(wire::Error::NOT_FOUND);
            r.mutable_error()->set_message("no such user");
            break;
        }
        auto* b = r.mutable_prekey_bundle();
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
    case wire::Envelope::kSendRequest: {
        const auto& s = e.send_request();
        sends.push_back(s);
        Stored stored;
        stored.delivery_id = m_next_delivery++;
        auto& d = stored.deliver;
        d.set_message_id(s.message_id());
        d.set_from_username(from->account);
        d.set_from_device_id(1);
        d.set_type(s.type());
        d.set_ciphertext(s.ciphertext());
        d.set_server_timestamp_ms(1);
        if (tamper)
            tamper(d);
        mailboxes[s.to_username()].push_back(stored);
        r.mutable_send_result()->set_server_timestamp_ms(1);
        reply(from, r);
        auto it = m_online.find(s.to_username());
        if (it != m_online.end()) {
            wire::Envelope push;
            *push.mutable_deliver() = stored.deliver;
            push.mutable_deliver()->set_delivery_id(stored.delivery_id);
            reply(it->second, push);
        }
        return;
    }
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

void FakeRelay::pump() {
    while (!m_in.empty() || !m_out.empty()) {
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
