#include "core/relay_service.h"

#include "crypto/keys.h"
#include "crypto/provider.h"
#include "crypto/signal_context.h"
#include "protocol/envelope_codec.h"
#include "protocol/group_rules.h"
#include "protocol/limits.h"
#include "util/log.h"

#include <algorithm>
#include <exception>
#include <limits>
#include <set>
#include <utility>

namespace veil::relay {
namespace {

constexpr std::string_view kLog = "relay";
constexpr std::string_view kAuthLog = "relay.auth";
constexpr std::string_view kRoutingLog = "relay.routing";
constexpr std::uint32_t kRetryAfterMs = 1000;

using Code = wire::Error::Code;

Bytes error_frame(std::uint64_t id, Code code, std::string message, std::uint32_t retry = 0) {
    return protocol::encode_envelope(
        protocol::make_error_envelope(id, code, std::move(message), retry));
}

Bytes unavailable(std::uint64_t id) {
    return error_frame(id, wire::Error::UNAVAILABLE,
                       "The relay's storage is unavailable; try again shortly.", kRetryAfterMs);
}

// One message for every authentication failure, so that a client cannot tell an unknown user
// from a wrong key or a stale challenge.
Bytes auth_failed(std::uint64_t id) {
    return error_frame(id, wire::Error::AUTH_FAILED, "Authentication failed.");
}

wire::Envelope response(std::uint64_t id) {
    wire::Envelope e;
    e.set_version(protocol::kProtocolVersion);
    e.set_request_id(id);
    return e;
}

bool is_request(const wire::Envelope& e) {
    switch (e.body_case()) {
    case wire::Envelope::kChallengeRequest:
    case wire::Envelope::kRegisterRequest:
    case wire::Envelope::kAuthRequest:
    case wire::Envelope::kPrekeyUpload:
    case wire::Envelope::kPrekeyFetch:
    case wire::Envelope::kSendRequest:
    case wire::Envelope::kAckRequest:
    case wire::Envelope::kPrekeyStatusRequest:
    case wire::Envelope::kGroupUpdateRequest:
    case wire::Envelope::kGroupSendRequest:
    case wire::Envelope::kGroupFetchRequest: return true;
    default: return false;
    }
}

bool needs_auth(const wire::Envelope& e) {
    switch (e.body_case()) {
    case wire::Envelope::kChallengeRequest:
    case wire::Envelope::kRegisterRequest:
    case wire::Envelope::kAuthRequest: return false;
    default: return true;
    }
}

std::span<const std::uint8_t> as_bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

Bytes to_bytes(const std::string& s) {
    return Bytes(s.begin(), s.end());
}

std::string_view to_str_view(const Bytes& b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Identifies a send in m_pending_sends: (sender, sender device, message id).
std::string pending_key(const std::string& from, std::uint32_t device, const Bytes& message_id) {
    std::string key = from;
    key.push_back('\0');
    key += std::to_string(device);
    key.push_back('\0');
    key.append(message_id.begin(), message_id.end());
    return key;
}

Bytes stale_revision(std::uint64_t id) {
    return error_frame(id, wire::Error::STALE_REVISION,
                       "The group has moved on: fetch its changes and try again.");
}

void append_be32(Bytes& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8)
        out.push_back(static_cast<std::uint8_t>(v >> shift));
}

// What "the same content" means for an idempotent retry: the recipient, the type and the
// ciphertext, hashed so that the send log stays small.
// Empty on failure, which the callers refuse as an internal error.
Bytes sha256(std::span<const std::uint8_t> input) {
    auto digest = crypto::sha256(input);
    return digest ? std::move(digest.value()) : Bytes{};
}

Bytes content_digest(const wire::SendRequest& send) {
    Bytes input = to_bytes(send.to_username());
    input.push_back(0);
    append_be32(input, send.to_device_id());
    append_be32(input, static_cast<std::uint32_t>(send.type()));
    input.insert(input.end(), send.ciphertext().begin(), send.ciphertext().end());
    return sha256(input);
}

SignedPrekeyRecord to_record(const wire::SignedPrekey& spk) {
    return {spk.id(), to_bytes(spk.public_key()), to_bytes(spk.signature())};
}

std::vector<OneTimePrekeyRecord>
to_records(const google::protobuf::RepeatedPtrField<wire::OneTimePrekey>& keys) {
    std::vector<OneTimePrekeyRecord> out;
    out.reserve(static_cast<std::size_t>(keys.size()));
    for (const auto& k : keys)
        out.push_back({k.id(), to_bytes(k.public_key())});
    return out;
}

wire::Envelope deliver_envelope(const StoredEnvelope& s) {
    wire::Envelope e = response(0);
    auto* d = e.mutable_deliver();
    d->set_delivery_id(s.delivery_id);
    d->set_message_id(s.message_id.data(), s.message_id.size());
    d->set_from_username(s.from_username);
    d->set_from_device_id(s.from_device_id);
    d->set_type(static_cast<wire::CiphertextType>(s.type));
    d->set_ciphertext(s.ciphertext.data(), s.ciphertext.size());
    d->set_server_timestamp_ms(static_cast<std::uint64_t>(s.server_timestamp_ms));
    if (!s.group_id.empty())
        d->set_group_id(s.group_id.data(), s.group_id.size());
    if (s.change) {
        auto* c = d->mutable_group_change();
        c->set_state(s.change->state.data(), s.change->state.size());
        c->set_signer(s.change->signer);
        c->set_signature(s.change->signature.data(), s.change->signature.size());
    }
    return e;
}

// "The same content" for a group send: the group, the revision and the ciphertext.
Bytes group_content_digest(const wire::GroupSendRequest& send) {
    Bytes input = to_bytes("group");
    input.push_back(0);
    input.insert(input.end(), send.group_id().begin(), send.group_id().end());
    for (int shift = 56; shift >= 0; shift -= 8)
        input.push_back(static_cast<std::uint8_t>(send.revision() >> shift));
    input.insert(input.end(), send.ciphertext().begin(), send.ciphertext().end());
    return sha256(input);
}

Bytes revision_id(std::uint64_t revision) {
    Bytes out;
    for (int shift = 56; shift >= 0; shift -= 8)
        out.push_back(static_cast<std::uint8_t>(revision >> shift));
    return out;
}

Bytes group_send_result(std::uint64_t id, std::int64_t server_ms,
                        const std::vector<std::string>& unreachable) {
    auto e = response(id);
    auto* r = e.mutable_group_send_result();
    r->set_server_timestamp_ms(static_cast<std::uint64_t>(server_ms));
    for (const auto& name : unreachable)
        r->add_unreachable(name);
    return protocol::encode_envelope(e);
}

Bytes group_update_result(std::uint64_t id, std::uint64_t revision) {
    auto e = response(id);
    e.mutable_group_update_result()->set_revision(revision);
    return protocol::encode_envelope(e);
}

std::vector<GroupRecipient> to_recipients(const std::vector<DeviceAddress>& devices) {
    std::vector<GroupRecipient> out;
    out.reserve(devices.size());
    for (const auto& d : devices)
        out.push_back(GroupRecipient{d.username, d.device_id, 0});
    return out;
}

// Assigns a delivery id to every recipient of a group write that has none.
void allocate_ids(RelayStore& store, MailboxWrite& write) {
    std::vector<GroupRecipient>* recipients = nullptr;
    if (auto* m = std::get_if<NewGroupMessage>(&write.what))
        recipients = &m->recipients;
    else if (auto* g = std::get_if<NewGroupChange>(&write.what))
        recipients = &g->recipients;
    if (!recipients)
        return;
    for (auto& r : *recipients)
        if (r.delivery_id == 0)
            r.delivery_id = store.allocate_delivery_id();
}

wire::Envelope bundle_envelope(std::uint64_t id, const PrekeyBundleRecord& b) {
    auto e = response(id);
    auto* bundle = e.mutable_prekey_bundle();
    bundle->set_username(b.device.username);
    bundle->set_device_id(b.device.device_id);
    bundle->set_registration_id(b.device.registration_id);
    bundle->set_identity_key(b.device.identity_key.data(), b.device.identity_key.size());
    auto* spk = bundle->mutable_signed_prekey();
    spk->set_id(b.signed_prekey.id);
    spk->set_public_key(b.signed_prekey.public_key.data(), b.signed_prekey.public_key.size());
    spk->set_signature(b.signed_prekey.signature.data(), b.signed_prekey.signature.size());
    if (b.one_time_prekey) {
        auto* otk = bundle->mutable_one_time_prekey();
        otk->set_id(b.one_time_prekey->id);
        otk->set_public_key(b.one_time_prekey->public_key.data(),
                            b.one_time_prekey->public_key.size());
    }
    return e;
}

// The response to a send the store refused.
Bytes send_refused(std::uint64_t id, Errc code) {
    switch (code) {
    case Errc::already_exists:
        return error_frame(id, wire::Error::CONFLICT,
                           "This message id was used for different content.");
    case Errc::not_found:
        return error_frame(id, wire::Error::NOT_FOUND, "No such recipient device.");
    default: return unavailable(id);
    }
}

Bytes prekey_status_frame(std::uint64_t id, std::uint32_t left) {
    auto e = response(id);
    e.mutable_prekey_status()->set_one_time_prekeys_left(left);
    return protocol::encode_envelope(e);
}

} // namespace

RelayService::RelayService(RelayStore& store, const Clock& clock, Options options)
    : m_store(store)
    , m_clock(clock)
    , m_options(options) {
    auto context = crypto::SignalContext::create();
    if (context)
        m_signal = std::move(context.value());
    else
        log::error(kLog, "cannot create the signature context: " + context.error().message);
    if (m_options.group_commit) {
        m_committer = std::make_unique<MailboxCommitter>(
            m_store, MailboxCommitter::Options{m_options.commit_batch});
        if (m_options.commit_thread)
            m_committer->start();
    }
}

RelayService::~RelayService() {
    stop_writes();
}

std::size_t RelayService::commit_pending() {
    return m_committer ? m_committer->commit_batch() : 0;
}

void RelayService::stop_writes() {
    if (m_committer)
        m_committer->stop();
}

Bytes RelayService::registration_message(std::span<const std::uint8_t> nonce,
                                         const std::string& username) {
    Bytes out = to_bytes("veil-register-v1");
    out.insert(out.end(), nonce.begin(), nonce.end());
    out.insert(out.end(), username.begin(), username.end());
    return out;
}

Bytes RelayService::auth_message(std::span<const std::uint8_t> nonce, const std::string& username,
                                 std::uint32_t device_id) {
    Bytes out = to_bytes("veil-auth-v1");
    out.insert(out.end(), nonce.begin(), nonce.end());
    out.insert(out.end(), username.begin(), username.end());
    out.push_back(0);
    append_be32(out, device_id);
    return out;
}

std::vector<Bytes> RelayService::handle(Session& session, std::span<const std::uint8_t> frame) {
    Responses out;
    [[maybe_unused]] bool answered = process(session, frame, nullptr, out);
    return out;
}

std::optional<std::vector<Bytes>>
RelayService::handle(Session& session, std::span<const std::uint8_t> frame, Reply reply) {
    Responses out;
    if (!process(session, frame, &reply, out))
        return std::nullopt;
    return out;
}

bool RelayService::process(Session& session, std::span<const std::uint8_t> frame,
                           const Reply* reply, Responses& out) {
    std::uint64_t id = 0;
    try {
        // Checked before parsing, so that an oversize frame costs nothing to refuse.
        if (frame.size() > protocol::kMaxFrameBytes) {
            out.push_back(error_frame(0, wire::Error::TOO_LARGE,
                                      "The frame exceeds the protocol's size limit."));
            return true;
        }
        wire::Envelope request;
        if (!request.ParseFromArray(frame.data(), static_cast<int>(frame.size()))) {
            out.push_back(
                error_frame(0, wire::Error::BAD_REQUEST, "The frame is not a valid envelope."));
            return true;
        }
        id = request.request_id();

        // Any register or auth attempt uses up the challenge, even one refused below, so that a
        // nonce can never be tried twice.
        std::optional<Bytes> nonce;
        if (request.has_register_request() || request.has_auth_request())
            nonce = std::exchange(session.challenge, std::nullopt);

        if (auto refused = check_envelope(request)) {
            out.push_back(std::move(*refused));
            return true;
        }
        return dispatch(session, request, std::move(nonce), reply, out);
    } catch (const std::exception& e) {
        log::error(kLog, std::string("request failed unexpectedly: ") + e.what());
        out.clear();
        out.push_back(error_frame(id, wire::Error::INTERNAL, "The relay failed unexpectedly."));
    }
    return true;
}

std::optional<Bytes> RelayService::check_envelope(const wire::Envelope& request) {
    const std::uint64_t id = request.request_id();
    if (request.version() != protocol::kProtocolVersion)
        return error_frame(id, wire::Error::UNSUPPORTED_VERSION,
                           "This relay speaks protocol version 1 only.");
    if (!is_request(request))
        return error_frame(id, wire::Error::BAD_REQUEST, "The envelope does not carry a request.");
    if (id == 0)
        return error_frame(0, wire::Error::BAD_REQUEST, "A request needs a non-zero request id.");
    if (auto valid = protocol::validate(request); !valid) {
        auto code = valid.error().code == Errc::too_large ? wire::Error::TOO_LARGE
                                                          : wire::Error::BAD_REQUEST;
        return error_frame(id, code, "Invalid request: " + valid.error().message + ".");
    }
    return std::nullopt;
}

bool RelayService::dispatch(Session& session, const wire::Envelope& request,
                            std::optional<Bytes> nonce, const Reply* reply, Responses& out) {
    const std::uint64_t id = request.request_id();
    if (needs_auth(request) && !session.authenticated) {
        out.push_back(error_frame(id, wire::Error::NOT_AUTHENTICATED,
                                  "This request needs an authenticated connection."));
        return true;
    }
    if (!needs_auth(request) && session.authenticated) {
        out.push_back(error_frame(id, wire::Error::ALREADY_AUTHENTICATED,
                                  "This connection is authenticated already."));
        return true;
    }

    switch (request.body_case()) {
    case wire::Envelope::kChallengeRequest: on_challenge(session, id, out); break;
    case wire::Envelope::kRegisterRequest: on_register(session, request, nonce, out); break;
    case wire::Envelope::kAuthRequest: on_auth(session, request, nonce, out); break;
    case wire::Envelope::kPrekeyUpload: on_prekey_upload(session, request, out); break;
    case wire::Envelope::kPrekeyStatusRequest: on_prekey_status(session, id, out); break;
    case wire::Envelope::kPrekeyFetch: on_prekey_fetch(request, out); break;
    case wire::Envelope::kSendRequest: return on_send(session, request, reply, out);
    case wire::Envelope::kAckRequest: return on_ack(session, request, reply, out);
    case wire::Envelope::kGroupUpdateRequest: return on_group_update(request, reply, out);
    case wire::Envelope::kGroupSendRequest: return on_group_send(session, request, reply, out);
    case wire::Envelope::kGroupFetchRequest: on_group_fetch(session, request, out); break;
    default: out.push_back(error_frame(id, wire::Error::BAD_REQUEST, "Unknown request."));
    }
    return true;
}

void RelayService::on_challenge(Session& session, std::uint64_t id, Responses& out) {
    Bytes nonce = crypto::random_bytes(protocol::kNonceBytes);
    auto e = response(id);
    e.mutable_challenge()->set_nonce(nonce.data(), nonce.size());
    session.challenge = std::move(nonce);
    out.push_back(protocol::encode_envelope(e));
}

std::optional<Bytes> RelayService::check_registration(const wire::Envelope& request,
                                                      const std::optional<Bytes>& nonce) {
    const std::uint64_t id = request.request_id();
    const auto& r = request.register_request();
    if (!nonce) {
        log::warn(kAuthLog, "registration without a fresh challenge refused");
        return auth_failed(id);
    }
    if (!protocol::valid_username(r.username()))
        return error_frame(id, wire::Error::INVALID_USERNAME,
                           "Usernames are 2 to 32 characters of a-z, 0-9, '_', '.' and '-', "
                           "starting with a letter or digit.");
    if (!verify(as_bytes(r.identity_key()), registration_message(*nonce, r.username()),
                as_bytes(r.signature()))) {
        log::warn(kAuthLog, "registration with a bad signature refused");
        return auth_failed(id);
    }
    if (!verify(as_bytes(r.identity_key()), as_bytes(r.signed_prekey().public_key()),
                as_bytes(r.signed_prekey().signature())))
        return error_frame(id, wire::Error::BAD_REQUEST,
                           "The signed prekey's signature does not verify.");
    if (m_options.invite_only && r.invite_code().empty())
        return error_frame(id, wire::Error::INVITE_REQUIRED,
                           "This relay needs an invite code to register.");
    return std::nullopt;
}

void RelayService::on_register(Session& session, const wire::Envelope& request,
                               const std::optional<Bytes>& nonce, Responses& out) {
    const std::uint64_t id = request.request_id();
    if (auto refused = check_registration(request, nonce)) {
        out.push_back(std::move(*refused));
        return;
    }
    const auto& r = request.register_request();
    NewAccount account{r.username(),
                       to_bytes(r.identity_key()),
                       r.registration_id(),
                       to_record(r.signed_prekey()),
                       to_records(r.one_time_prekeys()),
                       r.invite_code(),
                       m_options.invite_only};
    auto created = m_store.create_account(account, m_clock.now_ms());
    if (!created) {
        switch (created.error().code) {
        case Errc::already_exists:
            out.push_back(error_frame(id, wire::Error::USERNAME_TAKEN, "The username is taken."));
            return;
        case Errc::refused:
            out.push_back(error_frame(id, wire::Error::INVITE_REQUIRED,
                                      "The invite code is unknown or was used already."));
            return;
        default: out.push_back(unavailable(id)); return;
        }
    }
    log::info(kAuthLog, "account registered");
    authenticate(session, r.username(), 1, id, out);
}

void RelayService::on_auth(Session& session, const wire::Envelope& request,
                           const std::optional<Bytes>& nonce, Responses& out) {
    const std::uint64_t id = request.request_id();
    const auto& a = request.auth_request();
    if (!nonce) {
        log::warn(kAuthLog, "authentication without a fresh challenge refused");
        out.push_back(auth_failed(id));
        return;
    }
    std::optional<DeviceRecord> device;
    if (protocol::valid_username(a.username())) {
        auto found = m_store.find_device(a.username(), a.device_id());
        if (!found) {
            out.push_back(unavailable(id));
            return;
        }
        device = std::move(found.value());
    }
    if (!device || !verify(device->identity_key, auth_message(*nonce, a.username(), a.device_id()),
                           as_bytes(a.signature()))) {
        log::warn(kAuthLog, "authentication failed");
        out.push_back(auth_failed(id));
        return;
    }
    authenticate(session, a.username(), a.device_id(), id, out);
}

void RelayService::authenticate(Session& session, const std::string& username,
                                std::uint32_t device_id, std::uint64_t request_id, Responses& out) {
    auto left = m_store.count_one_time_prekeys(username, device_id);
    if (!left) {
        out.push_back(unavailable(request_id));
        return;
    }
    session.authenticated = true;
    session.username = username;
    session.device_id = device_id;
    log::debug(kAuthLog, "authenticated " + username + " device " + std::to_string(device_id));

    auto result = response(request_id);
    result.mutable_auth_result()->set_device_id(device_id);
    result.mutable_auth_result()->set_one_time_prekeys_left(*left);
    out.push_back(protocol::encode_envelope(result));

    // Attach before reading the mailbox: an envelope stored in between is then both pushed and
    // drained, and the transport drops the pushed copy by its delivery id (drained_up_to).
    if (Router* router = m_router.load())
        router->attach(session);
    // Sends queued before the attach were pushed to nobody here, and may still wait for their
    // commit: once they are committed the drain carries them. Later ones are pushed live.
    if (m_committer)
        m_committer->wait_for_submitted();
    session.drained_up_to = 0;
    drain(session, true, out);
}

void RelayService::drain(Session& session, bool synced, Responses& out) {
    std::size_t appended = 0;
    for (;;) {
        const std::size_t limit = m_options.drain_batch;
        auto batch =
            m_store.queued(session.username, session.device_id, session.drained_up_to, limit);
        if (!batch) {
            session.drain_pending = false;
            out.push_back(error_frame(0, wire::Error::UNAVAILABLE,
                                      "Queued messages could not be read; reconnect to get them.",
                                      kRetryAfterMs));
            return;
        }
        for (const auto& stored : *batch)
            out.push_back(protocol::encode_envelope(deliver_envelope(stored)));
        appended += batch->size();
        if (!batch->empty())
            session.drained_up_to = batch->back().delivery_id;
        if (batch->size() == limit) {
            if (session.paged_drain && appended >= limit) {
                session.drain_pending = true;
                return;
            }
            continue;
        }
        if (synced)
            break;
        // What looks like the last page: first let writes queued until now commit (their
        // pushes were dropped while the drain was pending), then read once more.
        if (m_committer)
            m_committer->wait_for_submitted();
        synced = true;
    }
    session.drain_pending = false;
    auto drained = response(0);
    drained.mutable_queue_drained();
    out.push_back(protocol::encode_envelope(drained));
}

std::vector<Bytes> RelayService::continue_drain(Session& session) {
    Responses out;
    if (session.authenticated && session.drain_pending)
        drain(session, false, out);
    return out;
}

void RelayService::on_prekey_upload(Session& session, const wire::Envelope& request,
                                    Responses& out) {
    const std::uint64_t id = request.request_id();
    const auto& u = request.prekey_upload();
    if (u.has_signed_prekey()) {
        auto device = m_store.find_device(session.username, session.device_id);
        if (!device || !device->has_value()) {
            out.push_back(unavailable(id));
            return;
        }
        if (!verify((*device)->identity_key, as_bytes(u.signed_prekey().public_key()),
                    as_bytes(u.signed_prekey().signature()))) {
            out.push_back(error_frame(id, wire::Error::BAD_REQUEST,
                                      "The signed prekey's signature does not verify."));
            return;
        }
        if (!m_store.replace_signed_prekey(session.username, session.device_id,
                                           to_record(u.signed_prekey()))) {
            out.push_back(unavailable(id));
            return;
        }
    }
    auto keys = to_records(u.one_time_prekeys());
    if (!m_store.add_one_time_prekeys(session.username, session.device_id, keys)) {
        out.push_back(unavailable(id));
        return;
    }
    on_prekey_status(session, id, out);
}

void RelayService::on_prekey_status(Session& session, std::uint64_t id, Responses& out) {
    auto left = m_store.count_one_time_prekeys(session.username, session.device_id);
    if (!left) {
        out.push_back(unavailable(id));
        return;
    }
    out.push_back(prekey_status_frame(id, *left));
}

void RelayService::on_prekey_fetch(const wire::Envelope& request, Responses& out) {
    const std::uint64_t id = request.request_id();
    const std::string& username = request.prekey_fetch().username();
    if (!protocol::valid_username(username)) {
        out.push_back(error_frame(id, wire::Error::NOT_FOUND, "No such user."));
        return;
    }
    auto taken = m_store.take_prekey_bundle(username);
    if (!taken) {
        out.push_back(unavailable(id));
        return;
    }
    if (!taken->has_value()) {
        out.push_back(error_frame(id, wire::Error::NOT_FOUND, "No such user."));
        return;
    }
    out.push_back(protocol::encode_envelope(bundle_envelope(id, **taken)));
}

bool RelayService::on_send(Session& session, const wire::Envelope& request, const Reply* reply,
                           Responses& out) {
    const std::uint64_t id = request.request_id();
    const auto& s = request.send_request();
    if (!protocol::valid_username(s.to_username())) {
        out.push_back(error_frame(id, wire::Error::NOT_FOUND, "No such recipient device."));
        return true;
    }
    Bytes digest = content_digest(s);
    if (digest.empty()) {
        out.push_back(error_frame(id, wire::Error::INTERNAL, "The relay failed unexpectedly."));
        return true;
    }
    NewEnvelope env{session.username,         session.device_id,
                    s.to_username(),          s.to_device_id(),
                    to_bytes(s.message_id()), static_cast<std::uint32_t>(s.type()),
                    to_bytes(s.ciphertext()), std::move(digest)};
    const std::int64_t now_ms = m_clock.now_ms();
    if (reply && m_committer)
        return !submit_send(id, std::move(env), now_ms, *reply, out);
    finish_send(id, env, m_store.enqueue(env, now_ms), true, out);
    return true;
}

void RelayService::finish_send(std::uint64_t id, const NewEnvelope& env,
                               const Result<EnqueueOutcome>& stored, bool push, Responses& out) {
    if (!stored) {
        out.push_back(send_refused(id, stored.error().code));
        return;
    }

    auto result = response(id);
    result.mutable_send_result()->set_server_timestamp_ms(
        static_cast<std::uint64_t>(stored->server_timestamp_ms));
    out.push_back(protocol::encode_envelope(result));
    if (push)
        push_new(env, *stored);
}

void RelayService::push_new(const NewEnvelope& env, const EnqueueOutcome& stored) {
    Router* router = m_router.load();
    if (stored.duplicate || !router)
        return;
    log::debug(kRoutingLog, "delivery " + std::to_string(stored.delivery_id) + " stored");
    StoredEnvelope queued{
        stored.delivery_id, env.message_id, env.from_username,          env.from_device_id,
        env.type,           env.ciphertext, stored.server_timestamp_ms, {},
        std::nullopt};
    router->push(env.to_username, env.to_device_id, deliver_envelope(queued));
}

bool RelayService::on_ack(Session& session, const wire::Envelope& request, const Reply* reply,
                          Responses& out) {
    const std::uint64_t id = request.request_id();
    const auto& ids = request.ack_request().delivery_ids();
    if (reply && m_committer) {
        MailboxAck ack{session.username, session.device_id, {ids.begin(), ids.end()}};
        if (submit(id, MailboxWrite{std::move(ack), m_clock.now_ms()}, *reply, false, {}, {}))
            return false;
        out.push_back(unavailable(id));
        return true;
    }
    auto deleted = m_store.ack(session.username, session.device_id,
                               std::span<const std::uint64_t>(ids.data(), ids.size()));
    if (!deleted) {
        out.push_back(unavailable(id));
        return true;
    }
    out.push_back(protocol::encode_envelope(protocol::make_ok_envelope(id)));
    return true;
}

// A send through the committer. An online recipient gets the envelope at once, under a
// delivery id allocated in commit order, while the sender's answer waits for the commit: then
// the recipient's ack usually lands in the same batch as the insert, and the envelope never
// stays in the mailbox table. A send the store has seen before (a retry) is not pushed again;
// if the store cannot tell, the push waits for the commit's outcome as the synchronous path's
// does.
bool RelayService::submit_send(std::uint64_t id, NewEnvelope env, std::int64_t now_ms,
                               const Reply& reply, Responses& out) {
    std::string key = pending_key(env.from_username, env.from_device_id, env.message_id);

    auto known = m_store.find_send(env.from_username, env.from_device_id, env.message_id);
    bool push_now = false;
    if (known && !known->has_value())
        push_now = claim_pending(key);
    const bool push_after_commit = !known;

    std::optional<wire::Envelope> deliver;
    if (push_now)
        deliver = deliver_envelope(StoredEnvelope{0,
                                                  env.message_id,
                                                  env.from_username,
                                                  env.from_device_id,
                                                  env.type,
                                                  env.ciphertext,
                                                  now_ms,
                                                  {},
                                                  std::nullopt});
    const std::string to_username = env.to_username;
    const std::uint32_t to_device_id = env.to_device_id;
    std::uint64_t assigned = 0;
    auto prepare = [&](MailboxWrite& w) {
        if (push_now)
            assigned = std::get<NewEnvelope>(w.what).delivery_id = m_store.allocate_delivery_id();
    };
    auto forget = [this, key, push_now] {
        if (push_now)
            release_pending(key);
    };
    const bool queued =
        submit(id, MailboxWrite{std::move(env), now_ms}, reply, push_after_commit, forget, prepare);
    if (!queued) {
        forget();
        out.push_back(unavailable(id));
        return false;
    }
    if (Router* router = m_router.load(); deliver && router) {
        deliver->mutable_deliver()->set_delivery_id(assigned);
        log::debug(kRoutingLog, "delivery " + std::to_string(assigned) + " pushed");
        router->push(to_username, to_device_id, *deliver);
    }
    return true;
}

bool RelayService::claim_pending(const std::string& key) {
    std::lock_guard lock(m_pending_mutex);
    return m_pending_sends.insert(key).second;
}

void RelayService::release_pending(const std::string& key) {
    std::lock_guard lock(m_pending_mutex);
    m_pending_sends.erase(key);
}

bool RelayService::submit(std::uint64_t id, MailboxWrite write, const Reply& reply,
                          bool push_after_commit, std::function<void()> completed,
                          const MailboxCommitter::Prepare& prepare) {
    auto done = [this, id, reply, push_after_commit, completed = std::move(completed)](
                    const MailboxWrite& w, const Result<MailboxWriteOutcome>& r) {
        if (completed)
            completed();
        Responses out;
        try {
            if (const auto* env = std::get_if<NewEnvelope>(&w.what)) {
                if (!r)
                    finish_send(id, *env, r.error(), push_after_commit, out);
                else
                    finish_send(id, *env, std::get<0>(*r), push_after_commit, out);
            } else if (!std::holds_alternative<MailboxAck>(w.what)) {
                if (!r)
                    finish_group(id, w, r.error(), push_after_commit, out);
                else
                    finish_group(id, w, std::get<2>(*r), push_after_commit, out);
            } else if (!r || !std::get<1>(*r)) {
                out.push_back(unavailable(id));
            } else {
                out.push_back(protocol::encode_envelope(protocol::make_ok_envelope(id)));
            }
        } catch (const std::exception& e) {
            // Every request gets its one answer, or the connection's later answers would wait
            // behind it for ever. A retryable error is safe: the message id makes a retry of
            // a send that did commit harmless.
            log::error(kLog, std::string("answering a mailbox write failed: ") + e.what());
            out.clear();
            out.push_back(unavailable(id));
        }
        reply(std::move(out));
    };
    return m_committer->submit(std::move(write), std::move(done), prepare);
}

void RelayService::close(Session& session) {
    if (Router* router = m_router.load(); session.authenticated && router)
        router->detach(session);
    session.authenticated = false;
    session.challenge.reset();
}

Result<std::size_t> RelayService::purge_expired() {
    const std::int64_t cutoff = m_clock.now_ms() - m_options.retention_ms;
    auto purged = m_store.purge_before(cutoff);
    if (purged && *purged > 0)
        log::info(kRoutingLog, "purged " + std::to_string(*purged) + " expired envelopes");
    return purged;
}

bool RelayService::verify(std::span<const std::uint8_t> public_key,
                          std::span<const std::uint8_t> data,
                          std::span<const std::uint8_t> signature) {
    if (!m_signal)
        return false;
    std::lock_guard lock(m_crypto_mutex);
    return crypto::verify_signature(*m_signal, public_key, data, signature);
}

} // namespace veil::relay

namespace veil::relay {

// ---- Groups ------------------------------------------------------------------------------
//
// The checks below read the group beside the writer (the last committed state); the store
// checks the revision again inside the write's transaction, so a change committed in between
// turns the write into STALE_REVISION rather than a lost update. A revision names one member
// list and accounts and devices are never deleted, so the recipients read here are the ones
// at the revision the store confirms.

bool RelayService::on_group_update(const wire::Envelope& request, const Reply* reply,
                                   Responses& out) {
    const std::uint64_t id = request.request_id();
    const auto& change = request.group_update_request().change();
    auto next = protocol::parse_group_state(change.state());
    if (!next) {
        const auto code = next.error().code == Errc::too_large ? wire::Error::TOO_LARGE
                                                               : wire::Error::BAD_REQUEST;
        out.push_back(error_frame(id, code, "Invalid group state: " + next.error().message + "."));
        return true;
    }
    if (!check_group_signature(change, id, out))
        return true;

    const auto group_id = as_bytes(next->group_id());
    auto group = m_store.find_group(group_id);
    if (!group) {
        out.push_back(unavailable(id));
        return true;
    }
    if (next->revision() == 1 || (*group && next->revision() <= (*group)->revision)) {
        if (*group) {
            // A retry of a change that was accepted is answered as before; anything else at a
            // revision that is taken is a conflict (creation) or stale.
            auto stored =
                m_store.group_changes(group_id, next->revision() - 1, next->revision(), 1);
            if (!stored) {
                out.push_back(unavailable(id));
                return true;
            }
            if (!stored->empty() && to_str_view(stored->front().state) == change.state() &&
                stored->front().signer == change.signer() &&
                to_str_view(stored->front().signature) == change.signature()) {
                out.push_back(group_update_result(id, next->revision()));
                return true;
            }
            if (next->revision() == 1) {
                out.push_back(
                    error_frame(id, wire::Error::CONFLICT, "A group with this id exists already."));
                return true;
            }
            out.push_back(stale_revision(id));
            return true;
        }
    } else if (!*group) {
        out.push_back(error_frame(id, wire::Error::NOT_FOUND, "No such group."));
        return true;
    } else if (next->revision() != (*group)->revision + 1) {
        out.push_back(stale_revision(id));
        return true;
    }

    std::optional<wire::GroupState> previous;
    Bytes previous_hash;
    if (*group) {
        auto parsed = protocol::parse_group_state(to_str_view((*group)->state));
        if (!parsed) {
            out.push_back(error_frame(id, wire::Error::INTERNAL, "The relay failed unexpectedly."));
            return true;
        }
        previous = std::move(parsed.value());
        previous_hash = (*group)->state_hash;
    }
    if (auto allowed =
            protocol::check_group_transition(previous, previous_hash, *next, change.signer());
        !allowed) {
        switch (allowed.error().code) {
        case Errc::refused:
            out.push_back(error_frame(
                id, wire::Error::FORBIDDEN,
                "The signer may not make this change: " + allowed.error().message + "."));
            break;
        case Errc::already_exists: out.push_back(stale_revision(id)); break;
        default:
            out.push_back(error_frame(id, wire::Error::BAD_REQUEST,
                                      "Invalid group change: " + allowed.error().message + "."));
        }
        return true;
    }

    NewGroupChange g;
    if (!group_change_recipients(previous, *next, g, id, out))
        return true;
    g.change = GroupChangeRecord{to_bytes(next->group_id()),   next->revision(),
                                 to_bytes(change.state()),     change.signer(),
                                 to_bytes(change.signature()), 0};
    g.previous_revision = previous ? previous->revision() : 0;
    g.state_hash = sha256(as_bytes(change.state()));
    for (const auto& m : next->members())
        g.members.emplace_back(m.username(), m.admin());
    log::debug(kRoutingLog, "group change to revision " + std::to_string(next->revision()) +
                                " for " + std::to_string(g.recipients.size()) + " devices");
    return write_group(id, MailboxWrite{std::move(g), m_clock.now_ms()}, reply, out, false);
}

// The signer's registered identity key must verify the change's signature; FORBIDDEN otherwise.
bool RelayService::check_group_signature(const wire::GroupChange& change, std::uint64_t id,
                                         Responses& out) {
    std::optional<DeviceRecord> signer;
    if (protocol::valid_username(change.signer())) {
        auto found = m_store.find_device(change.signer(), 1);
        if (!found) {
            out.push_back(unavailable(id));
            return false;
        }
        signer = std::move(found.value());
    }
    if (!signer || !verify(signer->identity_key, protocol::group_signed_bytes(change.state()),
                           as_bytes(change.signature()))) {
        log::warn(kRoutingLog, "a group change with a bad signature refused");
        out.push_back(error_frame(id, wire::Error::FORBIDDEN,
                                  "The group change's signature does not verify."));
        return false;
    }
    return true;
}

// Every device of every member of the previous and the new state; NOT_FOUND if a member of
// the new state has no account.
bool RelayService::group_change_recipients(const std::optional<wire::GroupState>& previous,
                                           const wire::GroupState& next, NewGroupChange& g,
                                           std::uint64_t id, Responses& out) {
    std::set<std::string> names;
    for (const auto& m : next.members())
        names.insert(m.username());
    if (previous)
        for (const auto& m : previous->members())
            names.insert(m.username());
    std::vector<std::string> list(names.begin(), names.end());
    auto devices = m_store.devices_of(list);
    if (!devices) {
        out.push_back(unavailable(id));
        return false;
    }
    std::set<std::string> with_device;
    for (const auto& d : *devices)
        with_device.insert(d.username);
    for (const auto& m : next.members()) {
        if (!with_device.count(m.username())) {
            out.push_back(
                error_frame(id, wire::Error::NOT_FOUND, "A member of the group has no account."));
            return false;
        }
    }
    g.recipients = to_recipients(*devices);
    return true;
}

bool RelayService::on_group_send(Session& session, const wire::Envelope& request,
                                 const Reply* reply, Responses& out) {
    const std::uint64_t id = request.request_id();
    const auto& s = request.group_send_request();
    Bytes digest = group_content_digest(s);
    if (digest.empty()) {
        out.push_back(error_frame(id, wire::Error::INTERNAL, "The relay failed unexpectedly."));
        return true;
    }
    // A retry of a send that committed is answered from the send log, even if the group has
    // moved on since.
    auto known = m_store.find_send(session.username, session.device_id, as_bytes(s.message_id()));
    if (known && known->has_value()) {
        if ((*known)->content_digest != digest)
            out.push_back(send_refused(id, Errc::already_exists));
        else
            out.push_back(
                group_send_result(id, (*known)->server_timestamp_ms, (*known)->unreachable));
        return true;
    }

    auto group = m_store.find_group(as_bytes(s.group_id()));
    if (!group) {
        out.push_back(unavailable(id));
        return true;
    }
    std::optional<wire::GroupState> state;
    if (*group) {
        auto parsed = protocol::parse_group_state(to_str_view((*group)->state));
        if (parsed)
            state = std::move(parsed.value());
    }
    if (!state || !protocol::find_member(*state, session.username)) {
        out.push_back(
            error_frame(id, wire::Error::FORBIDDEN, "You are not a member of this group."));
        return true;
    }
    if (s.revision() != (*group)->revision) {
        out.push_back(stale_revision(id));
        return true;
    }

    std::vector<std::string> others;
    for (const auto& m : state->members())
        if (m.username() != session.username)
            others.push_back(m.username());
    auto devices = m_store.devices_of(others);
    if (!devices) {
        out.push_back(unavailable(id));
        return true;
    }
    NewGroupMessage m{
        session.username,         session.device_id,
        to_bytes(s.group_id()),   s.revision(),
        to_bytes(s.message_id()), static_cast<std::uint32_t>(wire::CIPHERTEXT_SENDER_KEY),
        to_bytes(s.ciphertext()), std::move(digest),
        to_recipients(*devices),  {}};
    std::set<std::string> reached;
    for (const auto& d : *devices)
        reached.insert(d.username);
    for (const auto& name : others)
        if (!reached.count(name))
            m.unreachable.push_back(name);
    return write_group(id, MailboxWrite{std::move(m), m_clock.now_ms()}, reply, out,
                       static_cast<bool>(known));
}

// A group message or change: through the committer when the caller can wait for a reply, with
// delivery ids allocated in queue order; else written at once.
//
// A group message through the committer is pushed to online recipients as soon as it is queued,
// as a 1:1 send is (submit_send), so that their acks can land in the same batch as the insert;
// its sender is answered only once it is durable. That needs new_send: the send log, read just
// before, holds no committed send of this id. The push happens only after the pre-checks passed
// against the committed state, so it goes to the members of the revision the sender encrypted
// for; if the commit then refuses the send (a change committed in between), the sender sends
// again and recipients drop the copy they hold by message id. Group changes, and every write
// outside the committer, are pushed once durable: a change the store refuses must never reach
// a client.
bool RelayService::write_group(std::uint64_t id, MailboxWrite write, const Reply* reply,
                               Responses& out, bool new_send) {
    if (reply && m_committer) {
        const auto* message = std::get_if<NewGroupMessage>(&write.what);
        std::string key;
        bool push_now = false;
        if (message && new_send) {
            key = pending_key(message->from_username, message->from_device_id, message->message_id);
            push_now = claim_pending(key);
        }
        std::optional<NewGroupMessage> to_push;
        std::int64_t queued_ms = 0;
        auto prepare = [&](MailboxWrite& w) {
            allocate_ids(m_store, w);
            if (push_now) {
                to_push = std::get<NewGroupMessage>(w.what);
                queued_ms = w.now_ms;
            }
        };
        auto forget = [this, key, push_now] {
            if (push_now)
                release_pending(key);
        };
        if (!submit(id, std::move(write), *reply, !push_now, forget, prepare)) {
            forget();
            out.push_back(unavailable(id));
            return true;
        }
        if (to_push)
            push_group_message(*to_push, queued_ms);
        return false;
    }
    allocate_ids(m_store, write);
    auto outcomes = m_store.write_mailbox(std::span<const MailboxWrite>(&write, 1));
    if (!outcomes) {
        finish_group(id, write, outcomes.error(), true, out);
        return true;
    }
    finish_group(id, write, std::get<2>(outcomes->front()), true, out);
    return true;
}

void RelayService::finish_group(std::uint64_t id, const MailboxWrite& write,
                                const Result<GroupWriteOutcome>& stored, bool push,
                                Responses& out) {
    const auto* message = std::get_if<NewGroupMessage>(&write.what);
    if (!stored) {
        switch (stored.error().code) {
        case Errc::already_exists:
            out.push_back(message ? send_refused(id, Errc::already_exists)
                                  : error_frame(id, wire::Error::CONFLICT,
                                                "A group with this id exists already."));
            return;
        case Errc::invalid_argument: out.push_back(stale_revision(id)); return;
        case Errc::refused:
        case Errc::not_found:
            out.push_back(
                error_frame(id, wire::Error::FORBIDDEN, "You are not a member of this group."));
            return;
        default: out.push_back(unavailable(id)); return;
        }
    }
    if (message) {
        out.push_back(group_send_result(id, stored->server_timestamp_ms, stored->unreachable));
        if (push && !stored->duplicate)
            push_group_message(*message, stored->server_timestamp_ms);
        return;
    }
    const auto& change = std::get<NewGroupChange>(write.what);
    out.push_back(group_update_result(id, change.change.revision));
    if (push && !stored->duplicate)
        push_group_change(change, stored->server_timestamp_ms);
}

void RelayService::push_group_message(const NewGroupMessage& m, std::int64_t server_ms) {
    Router* router = m_router.load();
    if (!router)
        return;
    StoredEnvelope e{0,           m.message_id, m.from_username, m.from_device_id,
                     m.type,      m.ciphertext, server_ms,       m.group_id,
                     std::nullopt};
    auto deliver = deliver_envelope(e);
    for (const auto& r : m.recipients) {
        deliver.mutable_deliver()->set_delivery_id(r.delivery_id);
        router->push(r.username, r.device_id, deliver);
    }
}

void RelayService::push_group_change(const NewGroupChange& g, std::int64_t server_ms) {
    Router* router = m_router.load();
    if (!router)
        return;
    GroupChangeRecord record = g.change;
    record.server_timestamp_ms = server_ms;
    StoredEnvelope e{0,
                     revision_id(g.change.revision),
                     g.change.signer,
                     0,
                     static_cast<std::uint32_t>(wire::CIPHERTEXT_NONE),
                     {},
                     server_ms,
                     g.change.group_id,
                     std::move(record)};
    auto deliver = deliver_envelope(e);
    for (const auto& r : g.recipients) {
        deliver.mutable_deliver()->set_delivery_id(r.delivery_id);
        router->push(r.username, r.device_id, deliver);
    }
}

void RelayService::on_group_fetch(Session& session, const wire::Envelope& request, Responses& out) {
    const std::uint64_t id = request.request_id();
    const auto& f = request.group_fetch_request();
    const auto group_id = as_bytes(f.group_id());
    auto member = m_store.find_group_member(group_id, session.username);
    if (!member) {
        out.push_back(unavailable(id));
        return;
    }
    if (!member->has_value()) {
        out.push_back(error_frame(id, wire::Error::FORBIDDEN,
                                  "Only members and former members may read a group's changes."));
        return;
    }
    // A former member reads up to the change that removed them, not what came after.
    const std::uint64_t up_to =
        (*member)->current ? std::numeric_limits<std::uint64_t>::max() : (*member)->left_revision;
    auto changes = m_store.group_changes(group_id, f.after_revision(), up_to,
                                         protocol::kMaxGroupChangesPerFetch);
    if (!changes) {
        out.push_back(unavailable(id));
        return;
    }
    auto e = response(id);
    auto* answer = e.mutable_group_changes();
    for (const auto& c : *changes) {
        auto* added = answer->add_changes();
        added->set_state(c.state.data(), c.state.size());
        added->set_signer(c.signer);
        added->set_signature(c.signature.data(), c.signature.size());
    }
    out.push_back(protocol::encode_envelope(e));
}

} // namespace veil::relay
