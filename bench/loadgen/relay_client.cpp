#include "loadgen/relay_client.h"

#include "protocol/envelope_codec.h"
#include "protocol/limits.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace veil::bench {

namespace ws = protocol::ws;

namespace {

// The RFC 6455 section 1.3 example key: the generator checks the relay's accept value for it.
constexpr const char* kWsKey = "dGhlIHNhbXBsZSBub25jZQ==";
// Reads per readiness event before the loop moves on to other sockets.
constexpr int kReadsPerEvent = 8;

const std::string& upgrade_request() {
    static const std::string request =
        std::string("GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Key: ") +
        kWsKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    return request;
}

const std::string& expected_accept() {
    static const std::string line = "Sec-WebSocket-Accept: " + ws::accept_key(kWsKey);
    return line;
}

wire::Envelope request(std::uint64_t id) {
    wire::Envelope e;
    e.set_version(protocol::kProtocolVersion);
    e.set_request_id(id);
    return e;
}

} // namespace

RelayClient::RelayClient(EventLoop& loop, std::uint16_t port, Signer& signer, std::string username,
                         Goal goal, RelayListener& listener, std::size_t tag)
    : m_loop(loop)
    , m_port(port)
    , m_signer(signer)
    , m_username(std::move(username))
    , m_goal(goal)
    , m_listener(&listener)
    , m_tag(tag)
    , m_decoder(ws::Role::client, protocol::kMaxFrameBytes)
    , m_mask_state(static_cast<std::uint32_t>(tag * 2654435761u) | 1u) {}

RelayClient::~RelayClient() {
    close();
}

bool RelayClient::start() {
    m_fd = connect_loopback(m_port);
    if (m_fd < 0) {
        m_state = State::closed;
        return false;
    }
    m_interest = EPOLLIN | EPOLLOUT;
    m_loop.add(m_fd, m_interest, *this);
    return true;
}

void RelayClient::close() {
    if (m_fd >= 0) {
        m_loop.remove(m_fd);
        ::close(m_fd);
        m_fd = -1;
    }
    m_state = State::closed;
}

void RelayClient::fail(std::string_view why) {
    if (m_state == State::closed)
        return;
    close();
    m_listener->on_closed(*this, why);
}

void RelayClient::on_events(std::uint32_t events) {
    if (m_state == State::closed)
        return;
    if (m_state == State::connecting && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int error = 0;
        socklen_t len = sizeof error;
        ::getsockopt(m_fd, SOL_SOCKET, SO_ERROR, &error, &len);
        if (error != 0)
            return fail(std::string("connect: ") + std::strerror(error));
        on_connected();
    }
    if (m_state != State::closed && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
        on_readable();
    if (m_state != State::closed && (events & EPOLLOUT))
        flush();
}

void RelayClient::on_connected() {
    m_state = State::upgrading;
    const std::string& req = upgrade_request();
    queue_raw(std::span(reinterpret_cast<const std::uint8_t*>(req.data()), req.size()));
}

void RelayClient::on_readable() {
    auto scratch = m_loop.scratch();
    for (int i = 0; i < kReadsPerEvent && m_state != State::closed; ++i) {
        ssize_t n = ::recv(m_fd, scratch.data(), scratch.size(), 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        if (n <= 0)
            return fail(n == 0 ? "the relay closed the connection"
                               : std::string("recv: ") + std::strerror(errno));
        auto bytes = scratch.first(static_cast<std::size_t>(n));
        if (m_state == State::upgrading)
            on_upgrade_bytes(bytes);
        else
            on_frames(bytes);
        if (static_cast<std::size_t>(n) < scratch.size())
            break;
    }
    if (m_state == State::ready)
        m_listener->on_batch_end(*this);
    if (m_state != State::closed)
        flush();
}

void RelayClient::on_upgrade_bytes(std::span<const std::uint8_t> bytes) {
    m_head.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    auto end = m_head.find("\r\n\r\n");
    if (end == std::string::npos) {
        if (m_head.size() > 8192)
            fail("the upgrade response is too long");
        return;
    }
    if (m_head.rfind("HTTP/1.1 101", 0) != 0 || m_head.find(expected_accept()) > end)
        return fail("the relay refused the upgrade: " + m_head.substr(0, m_head.find('\r')));
    std::string rest = m_head.substr(end + 4);
    m_head.clear();
    m_head.shrink_to_fit();
    m_state = State::handshaking;
    auto e = request(next_request_id());
    e.mutable_challenge_request();
    queue(e);
    if (!rest.empty())
        on_frames(std::span(reinterpret_cast<const std::uint8_t*>(rest.data()), rest.size()));
}

void RelayClient::on_frames(std::span<const std::uint8_t> bytes) {
    m_events.clear();
    if (!m_decoder.feed(bytes, m_events)) {
        const auto* v = m_decoder.violation();
        return fail("the relay broke the frame rules: " + (v ? v->reason : std::string()));
    }
    for (auto& event : m_events) {
        if (m_state == State::closed)
            return;
        switch (event.opcode) {
        case ws::Opcode::binary: {
            wire::Envelope envelope;
            if (!envelope.ParseFromArray(event.payload.data(),
                                         static_cast<int>(event.payload.size())))
                return fail("the relay sent a frame that is not an envelope");
            on_envelope(envelope);
            break;
        }
        case ws::Opcode::ping:
            queue_raw(ws::encode_frame(ws::Role::client, ws::Opcode::pong, event.payload));
            break;
        case ws::Opcode::close:
            return fail("the relay sent close code " + std::to_string(event.close_code));
        default: break;
        }
    }
}

void RelayClient::on_envelope(const wire::Envelope& envelope) {
    if (m_state == State::ready)
        return m_listener->on_envelope(*this, envelope);
    switch (envelope.body_case()) {
    case wire::Envelope::kChallenge: return on_challenge(envelope);
    case wire::Envelope::kAuthResult: m_state = State::ready; return m_listener->on_ready(*this);
    case wire::Envelope::kError:
        return fail("the relay refused the handshake: " + envelope.error().message());
    default: return fail("unexpected envelope during the handshake");
    }
}

void RelayClient::on_challenge(const wire::Envelope& envelope) {
    const std::string& nonce_text = envelope.challenge().nonce();
    std::span nonce(reinterpret_cast<const std::uint8_t*>(nonce_text.data()), nonce_text.size());
    auto e = request(next_request_id());
    if (m_goal == Goal::register_account) {
        auto* r = e.mutable_register_request();
        r->set_username(m_username);
        const Bytes& key = m_signer.identity_key();
        r->set_identity_key(key.data(), key.size());
        r->set_registration_id(m_signer.registration_id());
        const auto& spk = m_signer.signed_prekey();
        r->mutable_signed_prekey()->set_id(spk.id);
        r->mutable_signed_prekey()->set_public_key(spk.public_key.data(), spk.public_key.size());
        r->mutable_signed_prekey()->set_signature(spk.signature.data(), spk.signature.size());
        Bytes signature = m_signer.sign_registration(nonce, m_username);
        r->set_signature(signature.data(), signature.size());
    } else {
        auto* a = e.mutable_auth_request();
        a->set_username(m_username);
        a->set_device_id(1);
        Bytes signature = m_signer.sign_auth(nonce, m_username, 1);
        a->set_signature(signature.data(), signature.size());
    }
    queue(e);
}

void RelayClient::queue(const wire::Envelope& envelope) {
    // A cheap per-client mask sequence: masking only has to follow RFC 6455's form here, and
    // OpenSSL's generator per frame would cost the generator more than the frame itself.
    m_mask_state ^= m_mask_state << 13;
    m_mask_state ^= m_mask_state >> 17;
    m_mask_state ^= m_mask_state << 5;
    const std::uint8_t mask[4] = {static_cast<std::uint8_t>(m_mask_state),
                                  static_cast<std::uint8_t>(m_mask_state >> 8),
                                  static_cast<std::uint8_t>(m_mask_state >> 16),
                                  static_cast<std::uint8_t>(m_mask_state >> 24)};
    std::string payload = envelope.SerializeAsString();
    std::span bytes(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size());
    queue_raw(ws::encode_frame(ws::Role::client, ws::Opcode::binary, bytes, mask));
}

void RelayClient::send(const wire::Envelope& envelope) {
    queue(envelope);
    flush();
}

void RelayClient::queue_raw(std::span<const std::uint8_t> bytes) {
    if (m_out_offset == m_out.size()) {
        m_out.clear();
        m_out_offset = 0;
    }
    m_out.insert(m_out.end(), bytes.begin(), bytes.end());
}

void RelayClient::flush() {
    if (m_fd < 0 || m_state == State::connecting)
        return;
    while (m_out_offset < m_out.size()) {
        ssize_t n =
            ::send(m_fd, m_out.data() + m_out_offset, m_out.size() - m_out_offset, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n < 0)
            return fail(std::string("send: ") + std::strerror(errno));
        m_out_offset += static_cast<std::size_t>(n);
    }
    if (m_out_offset == m_out.size()) {
        m_out.clear();
        m_out_offset = 0;
    }
    update_interest();
}

void RelayClient::update_interest() {
    std::uint32_t wanted = EPOLLIN | (unwritten_bytes() > 0 ? EPOLLOUT : 0u);
    if (wanted != m_interest && m_fd >= 0) {
        m_interest = wanted;
        m_loop.modify(m_fd, m_interest, *this);
    }
}

} // namespace veil::bench
