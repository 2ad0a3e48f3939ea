#include "core/relay_service.h"

#include "core/relay_metrics.h"
#include "crypto/keys.h"
#include "crypto/link.h"
#include "crypto/provider.h"
#include "crypto/signal_context.h"
#include "protocol/envelope_codec.h"
#include "protocol/group_rules.h"
#include "protocol/limits.h"
#include "util/crash_point.h"
#include "util/log.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <limits>
#include <map>
#include <set>
#include <tuple>
#include <utility>

namespace veil::relay {
namespace {

// True when any of the keys a device offers is a point of small order (crypto/link.h): such a
// prekey or identity would hand whoever starts a session with it a secret everyone knows.
bool offers_low_order_key(std::initializer_list<const std::string*> keys,
                          const google::protobuf::RepeatedPtrField<wire::OneTimePrekey>& prekeys) {
    auto bad = [](const std::string& k) {
        return crypto::is_low_order_point(
            std::span(reinterpret_cast<const std::uint8_t*>(k.data()), k.size()));
    };
    for (const std::string* k : keys)
        if (!k->empty() && bad(*k))
            return true;
    for (const auto& p : prekeys)
        if (bad(p.public_key()))
            return true;
    return false;
}

constexpr const char* kLowOrderKey = "A public key is not a usable Curve25519 key.";

constexpr std::string_view kLog = "relay";
constexpr std::string_view kAuthLog = "relay.auth";
constexpr std::string_view kRoutingLog = "relay.routing";
constexpr std::uint32_t kRetryAfterMs = 1000;
// A failed registration or authentication costs this many attempts of its address's budget.
constexpr double kFailedAuthCost = 5;
// A full queue drains only when its device comes online: senders retry after this long.
constexpr std::uint32_t kQuotaRetryAfterMs = 30'000;
// How long a recipient's queue tally is trusted before it is read again, and how many are kept.
constexpr std::int64_t kQueueTallyLifetimeMs = 10'000;
constexpr std::size_t kMaxQueueTallies = 100'000;

bool is_loopback(const std::string& address) {
    return address.rfind("127.", 0) == 0 || address == "::1" ||
           address.rfind("::ffff:127.", 0) == 0;
}

using Code = wire::Error::Code;

Bytes error_frame(std::uint64_t id, Code code, std::string message, std::uint32_t retry = 0) {
    relay_metrics().count_error(code);
    return protocol::encode_envelope(
        protocol::make_error_envelope(id, code, std::move(message), retry));
}

Bytes account_disabled_frame(std::uint64_t id) {
    return error_frame(id, wire::Error::FORBIDDEN,
                       "This account is disabled on this relay; ask its operator.");
}

Bytes unavailable(std::uint64_t id) {
    return error_frame(id, wire::Error::UNAVAILABLE,
                       "The relay's storage is unavailable; try again shortly.", kRetryAfterMs);
}

// One message for every authentication failure, so that a client cannot tell an unknown user
// from a wrong key or a stale challenge.
Bytes auth_failed(std::uint64_t id) {
    relay_metrics().auth_failures.fetch_add(1, std::memory_order_relaxed);
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
    case wire::Envelope::kGroupFetchRequest:
    case wire::Envelope::kDeviceAddRequest:
    case wire::Envelope::kDeviceListRequest:
    case wire::Envelope::kDeviceRemoveRequest:
    case wire::Envelope::kLinkOpenRequest:
    case wire::Envelope::kLinkSendRequest:
    case wire::Envelope::kBlobUploadRequest: return true;
    default: return false;
    }
}

// Which connections may make a request: before authentication only, after it only, or both
// (a link channel's payloads, from the new device and from the existing one).
enum class Access { anonymous, authenticated, either };

Access access_of(const wire::Envelope& e) {
    switch (e.body_case()) {
    case wire::Envelope::kChallengeRequest:
    case wire::Envelope::kRegisterRequest:
    case wire::Envelope::kAuthRequest:
    case wire::Envelope::kLinkOpenRequest: return Access::anonymous;
    case wire::Envelope::kLinkSendRequest: return Access::either;
    default: return Access::authenticated;
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

// Empty on failure, which the callers refuse as an internal error.
Bytes sha256(std::span<const std::uint8_t> input) {
    auto digest = crypto::sha256(input);
    return digest ? std::move(digest.value()) : Bytes{};
}

// Appends one list of copies to a digest's input, by device id, so that their order in the
// request does not matter; each ciphertext is preceded by its length.
void append_copies(Bytes& input,
                   const google::protobuf::RepeatedPtrField<wire::DeviceCiphertext>& copies) {
    std::vector<const wire::DeviceCiphertext*> sorted;
    for (const auto& c : copies)
        sorted.push_back(&c);
    std::sort(sorted.begin(), sorted.end(),
              [](const auto* a, const auto* b) { return a->device_id() < b->device_id(); });
    append_be32(input, static_cast<std::uint32_t>(sorted.size()));
    for (const auto* c : sorted) {
        append_be32(input, c->device_id());
        append_be32(input, static_cast<std::uint32_t>(c->type()));
        append_be32(input, static_cast<std::uint32_t>(c->ciphertext().size()));
        input.insert(input.end(), c->ciphertext().begin(), c->ciphertext().end());
    }
}

// What "the same content" means for an idempotent retry: the recipient, sync and every copy
// (device, type, ciphertext), hashed so that the send log stays small.
Bytes content_digest(const wire::SendRequest& send) {
    Bytes input = to_bytes(send.to_username());
    input.push_back(0);
    input.push_back(send.sync() ? 1 : 0);
    append_copies(input, send.to_devices());
    append_copies(input, send.own_devices());
    return sha256(input);
}

// The copies of a send, to_username's first, then (sync) the sender's own.
std::vector<EnvelopeCopy> to_copies(const wire::SendRequest& send, const std::string& sender) {
    std::vector<EnvelopeCopy> out;
    out.reserve(static_cast<std::size_t>(send.to_devices_size() + send.own_devices_size()));
    for (const auto& c : send.to_devices())
        out.push_back(EnvelopeCopy{send.to_username(), c.device_id(),
                                   static_cast<std::uint32_t>(c.type()), to_bytes(c.ciphertext()),
                                   0});
    for (const auto& c : send.own_devices())
        out.push_back(EnvelopeCopy{sender, c.device_id(), static_cast<std::uint32_t>(c.type()),
                                   to_bytes(c.ciphertext()), 0});
    return out;
}

// The SHA-256 a GroupSendRequest's devices_digest is compared with (veil.proto): devices
// sorted by (username, device id), each as username || 0x00 || device id (4 bytes, big endian).
Bytes devices_digest(std::vector<DeviceAddress> devices) {
    std::sort(devices.begin(), devices.end(), [](const auto& a, const auto& b) {
        return std::tie(a.username, a.device_id) < std::tie(b.username, b.device_id);
    });
    Bytes input;
    for (const auto& d : devices) {
        input.insert(input.end(), d.username.begin(), d.username.end());
        input.push_back(0);
        append_be32(input, d.device_id);
    }
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
    if (s.expired) {
        auto* x = d->mutable_expired();
        x->set_message_id(s.expired->message_id.data(), s.expired->message_id.size());
        x->set_to_username(s.expired->to_username);
        x->set_group_id(s.expired->group_id.data(), s.expired->group_id.size());
        x->set_sent_at_ms(static_cast<std::uint64_t>(s.expired->sent_at_ms));
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

void fill_bundle(wire::PrekeyBundle* bundle, const PrekeyBundleRecord& b) {
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
}

Bytes bundles_frame(std::uint64_t id, const std::vector<PrekeyBundleRecord>& bundles) {
    auto e = response(id);
    auto* answer = e.mutable_prekey_bundles();
    for (const auto& b : bundles)
        fill_bundle(answer->add_bundles(), b);
    return protocol::encode_envelope(e);
}

Bytes device_removed_frame(std::uint64_t id) {
    return error_frame(id, wire::Error::DEVICE_REMOVED,
                       "This device was unlinked from its account.");
}

Bytes mismatched_frame(std::uint64_t id, std::vector<wire::DeviceMismatch> mismatches) {
    auto e = protocol::make_error_envelope(
        id, wire::Error::MISMATCHED_DEVICES,
        "The message does not name exactly the devices it must reach; update them and send "
        "again.");
    for (auto& m : mismatches)
        *e.mutable_error()->add_mismatches() = std::move(m);
    return protocol::encode_envelope(e);
}

// missing: in expected but not named; stale: named but not expected. Both inputs sorted.
std::optional<wire::DeviceMismatch> compare_devices(const std::string& username,
                                                    const std::vector<std::uint32_t>& expected,
                                                    const std::vector<std::uint32_t>& named) {
    wire::DeviceMismatch m;
    m.set_username(username);
    for (std::uint32_t id : expected)
        if (!std::binary_search(named.begin(), named.end(), id))
            m.add_missing(id);
    for (std::uint32_t id : named)
        if (!std::binary_search(expected.begin(), expected.end(), id))
            m.add_stale(id);
    if (m.missing().empty() && m.stale().empty())
        return std::nullopt;
    return m;
}

// The response to a send the store refused.
Bytes send_refused(std::uint64_t id, Errc code) {
    switch (code) {
    case Errc::already_exists:
        return error_frame(id, wire::Error::CONFLICT,
                           "This message id was used for different content.");
    case Errc::not_found: return error_frame(id, wire::Error::NOT_FOUND, "No such recipient.");
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
    , m_options(options)
    , m_account_limiter(options.account_requests_per_second, options.account_burst)
    , m_auth_limiter(options.auth_attempts_per_second, options.auth_burst) {
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
                                         const std::string& username,
                                         std::span<const std::uint8_t> device_key) {
    Bytes out = to_bytes("veil-register-v1");
    out.insert(out.end(), nonce.begin(), nonce.end());
    out.insert(out.end(), username.begin(), username.end());
    out.insert(out.end(), device_key.begin(), device_key.end());
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
                           "This relay speaks protocol version " +
                               std::to_string(protocol::kProtocolVersion) + " only: update Veil.");
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
    const Access access = access_of(request);
    if (access == Access::authenticated && !session.authenticated) {
        out.push_back(error_frame(id, wire::Error::NOT_AUTHENTICATED,
                                  "This request needs an authenticated connection."));
        return true;
    }
    if (access == Access::anonymous && session.authenticated) {
        out.push_back(error_frame(id, wire::Error::ALREADY_AUTHENTICATED,
                                  "This connection is authenticated already."));
        return true;
    }
    // A device removed while connected, until the transport has closed its connection.
    if (session.authenticated && device_removed(session)) {
        out.push_back(device_removed_frame(id));
        return true;
    }
    if (session.authenticated && account_disabled(session.username)) {
        out.push_back(account_disabled_frame(id));
        return true;
    }
    if (auto limited = check_rate(session, request)) {
        out.push_back(std::move(*limited));
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
    case wire::Envelope::kDeviceAddRequest: on_device_add(session, request, out); break;
    case wire::Envelope::kDeviceListRequest: on_device_list(session, request, out); break;
    case wire::Envelope::kDeviceRemoveRequest: on_device_remove(session, request, out); break;
    case wire::Envelope::kLinkOpenRequest: on_link_open(session, id, out); break;
    case wire::Envelope::kLinkSendRequest: on_link_send(session, request, out); break;
    case wire::Envelope::kBlobUploadRequest: on_blob_upload(session, request, out); break;
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
        log::warn(kAuthLog, "event=register_refused reason=no_challenge");
        return auth_failed(id);
    }
    if (!protocol::valid_username(r.username()))
        return error_frame(id, wire::Error::INVALID_USERNAME,
                           "Usernames are 2 to 32 characters of a-z, 0-9, '_', '.' and '-', "
                           "starting with a letter or digit.");
    if (!verify(as_bytes(r.identity_key()),
                registration_message(*nonce, r.username(), as_bytes(r.device_key())),
                as_bytes(r.signature()))) {
        log::warn(kAuthLog, "event=register_refused reason=bad_signature");
        return auth_failed(id);
    }
    if (offers_low_order_key({&r.identity_key(), &r.device_key(), &r.signed_prekey().public_key()},
                             r.one_time_prekeys()))
        return error_frame(id, wire::Error::BAD_REQUEST, kLowOrderKey);
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
        charge_failed_auth(session);
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
                       m_options.invite_only,
                       to_bytes(r.device_key()),
                       to_bytes(r.device_name())};
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
    log::info(kAuthLog, "event=account_registered");
    authenticate(session, r.username(), 1, id, out);
}

void RelayService::on_auth(Session& session, const wire::Envelope& request,
                           const std::optional<Bytes>& nonce, Responses& out) {
    const std::uint64_t id = request.request_id();
    const auto& a = request.auth_request();
    if (!nonce) {
        log::warn(kAuthLog, "event=auth_refused reason=no_challenge");
        charge_failed_auth(session);
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
    if (!device || !verify(device->auth_key, auth_message(*nonce, a.username(), a.device_id()),
                           as_bytes(a.signature()))) {
        log::warn(kAuthLog, "event=auth_refused reason=unknown_device_or_bad_signature");
        charge_failed_auth(session);
        out.push_back(auth_failed(id));
        return;
    }
    // Told only to a device that proved it holds its key: nobody else learns it was removed.
    if (device->removed) {
        log::info(kAuthLog, "event=auth_refused reason=device_removed");
        out.push_back(device_removed_frame(id));
        return;
    }
    if (account_disabled(a.username())) {
        log::info(kAuthLog, "event=auth_refused reason=account_disabled");
        out.push_back(account_disabled_frame(id));
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
    session.device_removed = false;
    session.removals_checked = 0;
    session.track_deliveries = m_options.track_deliveries;
    session.delivered.clear();
    session.acked.clear();
    session.acked_before.clear();

    // Attach before reading the mailbox: an envelope stored in between is then both pushed and
    // drained, and the transport drops the pushed copy by its delivery id (drained_up_to).
    Router* router = m_router.load();
    if (router)
        router->attach(session);
    // A removal that committed after the device's key was checked, and whose disconnect() came
    // before the attach, shows here: the removal marks the device before it disconnects.
    if (device_removed(session)) {
        if (router)
            router->detach(session);
        session.authenticated = false;
        out.push_back(device_removed_frame(request_id));
        return;
    }
    log::debug(kAuthLog, "authenticated " + username + " device " + std::to_string(device_id));
    relay_metrics().devices_authenticated.fetch_add(1, std::memory_order_relaxed);

    auto result = response(request_id);
    result.mutable_auth_result()->set_device_id(device_id);
    result.mutable_auth_result()->set_one_time_prekeys_left(*left);
    out.push_back(protocol::encode_envelope(result));
    // Sends queued before the attach were pushed to nobody here, and may still wait for their
    // commit: once they are committed the drain carries them. Later ones are pushed live.
    if (m_committer)
        m_committer->wait_for_submitted();
    session.drained_up_to = 0;
    drain(session, true, out);
    // After the wait above, which must not wait for this write's commit too.
    note_seen(username, device_id);
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
        for (const auto& stored : *batch) {
            out.push_back(protocol::encode_envelope(deliver_envelope(stored)));
            if (session.track_deliveries)
                session.delivered.insert(stored.delivery_id);
        }
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
    if (offers_low_order_key({&u.signed_prekey().public_key()}, u.one_time_prekeys())) {
        out.push_back(error_frame(id, wire::Error::BAD_REQUEST, kLowOrderKey));
        return;
    }
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
    const auto& f = request.prekey_fetch();
    if (!protocol::valid_username(f.username())) {
        out.push_back(error_frame(id, wire::Error::NOT_FOUND, "No such user."));
        return;
    }
    const std::vector<std::uint32_t> ids(f.device_ids().begin(), f.device_ids().end());
    auto taken = m_store.take_prekey_bundles(f.username(), ids);
    if (!taken) {
        out.push_back(unavailable(id));
        return;
    }
    if (!taken->has_value()) {
        out.push_back(error_frame(id, wire::Error::NOT_FOUND, "No such user."));
        return;
    }
    if ((*taken)->empty()) {
        out.push_back(
            error_frame(id, wire::Error::NOT_FOUND, "The user has none of these devices."));
        return;
    }
    out.push_back(bundles_frame(id, **taken));
}

bool RelayService::on_send(Session& session, const wire::Envelope& request, const Reply* reply,
                           Responses& out) {
    const std::uint64_t id = request.request_id();
    const auto& s = request.send_request();
    if (s.transient()) {
        on_transient_send(session, request, out);
        return true;
    }
    if (!protocol::valid_username(s.to_username())) {
        out.push_back(error_frame(id, wire::Error::NOT_FOUND, "No such recipient."));
        return true;
    }
    if (s.to_username() == session.username && s.sync()) {
        out.push_back(error_frame(id, wire::Error::BAD_REQUEST,
                                  "A message to your own devices carries no sync copies."));
        return true;
    }
    if (account_disabled(s.to_username())) {
        out.push_back(error_frame(id, wire::Error::FORBIDDEN,
                                  "The recipient's account is disabled on this relay."));
        return true;
    }
    Bytes digest = content_digest(s);
    if (digest.empty()) {
        out.push_back(error_frame(id, wire::Error::INTERNAL, "The relay failed unexpectedly."));
        return true;
    }
    NewEnvelope env{session.username,
                    session.device_id,
                    s.to_username(),
                    s.sync(),
                    to_bytes(s.message_id()),
                    std::move(digest),
                    to_copies(s, session.username)};

    // A retry of a send that committed is answered from the send log, even if the devices
    // changed since; a new one must name exactly the devices there are now.
    auto known = m_store.find_send(env.from_username, env.from_device_id, env.message_id);
    if (!known || !known->has_value()) {
        if (auto refused = check_send_devices(id, env)) {
            out.push_back(std::move(*refused));
            return true;
        }
        // Quotas apply to new sends only: a retry of a stored one is answered as before.
        if (env.to_username != env.from_username) {
            if (auto refused = check_quota(id, env.from_username, env.to_username)) {
                out.push_back(std::move(*refused));
                return true;
            }
        }
    }
    const std::int64_t now_ms = m_clock.now_ms();
    if (reply && m_committer)
        return !submit_send(id, std::move(env), now_ms, known, *reply, out);
    const auto started = std::chrono::steady_clock::now();
    auto stored = m_store.enqueue(env, now_ms);
    relay_metrics().store_commit.observe(std::chrono::steady_clock::now() - started);
    finish_send(id, env, stored, true, out);
    return true;
}

void RelayService::on_blob_upload(Session& session, const wire::Envelope& request, Responses& out) {
    const std::uint64_t id = request.request_id();
    if (!m_blobs) {
        out.push_back(error_frame(id, wire::Error::UNAVAILABLE, "This relay keeps no files."));
        return;
    }
    auto ticket = m_blobs->issue_ticket(session.username, request.blob_upload_request().size());
    if (!ticket) {
        switch (ticket.error().code) {
        case Errc::too_large:
            out.push_back(error_frame(id, wire::Error::TOO_LARGE,
                                      "The file is larger than this relay accepts (" +
                                          std::to_string(m_blobs->max_bytes()) + " bytes)."));
            return;
        case Errc::refused:
            out.push_back(error_frame(id, wire::Error::RATE_LIMITED,
                                      "Too many uploads under way: finish some first."));
            return;
        default:
            out.push_back(error_frame(id, wire::Error::BAD_REQUEST, "An upload needs a size."));
            return;
        }
    }
    log::debug(kRoutingLog, "upload ticket issued for " +
                                std::to_string(request.blob_upload_request().size()) + " bytes");
    auto e = response(id);
    auto* t = e.mutable_blob_upload_ticket();
    t->set_blob_id(ticket->blob_id);
    t->set_token(ticket->token);
    t->set_max_bytes(ticket->max_bytes);
    t->set_expires_at_ms(static_cast<std::uint64_t>(ticket->expires_at_ms));
    out.push_back(protocol::encode_envelope(e));
}

// Typing indicators: nobody waits for them, so they skip the device checks, the send log and
// the mailbox. Copies for devices that are unknown, removed or offline simply reach nobody.
void RelayService::on_transient_send(Session& session, const wire::Envelope& request,
                                     Responses& out) {
    const auto& s = request.send_request();
    out.push_back(protocol::encode_envelope(protocol::make_ok_envelope(request.request_id())));
    Router* router = m_router.load();
    if (!router || !protocol::valid_username(s.to_username()))
        return;
    const std::int64_t now_ms = m_clock.now_ms();
    const Bytes message_id = to_bytes(s.message_id());
    auto push = [&](const std::string& username, const wire::DeviceCiphertext& c) {
        if (username == session.username && c.device_id() == session.device_id)
            return; // never back to the sending device
        StoredEnvelope e{0,
                         message_id,
                         session.username,
                         session.device_id,
                         static_cast<std::uint32_t>(c.type()),
                         to_bytes(c.ciphertext()),
                         now_ms,
                         {},
                         std::nullopt,
                         std::nullopt};
        router->push_transient(username, c.device_id(), deliver_envelope(e));
    };
    for (const auto& c : s.to_devices())
        push(s.to_username(), c);
    if (s.sync() && s.to_username() != session.username)
        for (const auto& c : s.own_devices())
            push(session.username, c);
}

std::optional<Bytes> RelayService::check_send_devices(std::uint64_t id, const NewEnvelope& env) {
    const bool to_self = env.to_username == env.from_username;
    std::vector<std::string> names{env.to_username};
    if (!to_self)
        names.push_back(env.from_username);
    auto devices = m_store.devices_of(names);
    if (!devices)
        return unavailable(id);

    // What the copies must name, per username, and what they name.
    std::vector<std::uint32_t> expected_to, expected_own, named_to, named_own;
    for (const auto& d : *devices) {
        if (d.device_id == env.from_device_id && d.username == env.from_username)
            continue; // never a copy for the sending device
        if (d.username == env.to_username)
            expected_to.push_back(d.device_id);
        else if (env.sync)
            expected_own.push_back(d.device_id);
    }
    const bool account = to_self || std::any_of(devices->begin(), devices->end(), [&](auto& d) {
                             return d.username == env.to_username;
                         });
    if (!account) // every account keeps at least one active device
        return error_frame(id, wire::Error::NOT_FOUND, "No such recipient.");
    for (const auto& c : env.copies)
        (c.username == env.to_username ? named_to : named_own).push_back(c.device_id);
    for (auto* list : {&expected_to, &expected_own, &named_to, &named_own})
        std::sort(list->begin(), list->end());

    std::vector<wire::DeviceMismatch> mismatches;
    if (auto m = compare_devices(env.to_username, expected_to, named_to))
        mismatches.push_back(std::move(*m));
    if (!to_self)
        if (auto m = compare_devices(env.from_username, expected_own, named_own))
            mismatches.push_back(std::move(*m));
    if (mismatches.empty())
        return std::nullopt;
    log::debug(kRoutingLog, "a send named the wrong devices");
    return mismatched_frame(id, std::move(mismatches));
}

void RelayService::finish_send(std::uint64_t id, const NewEnvelope& env,
                               const Result<EnqueueOutcome>& stored, bool push, Responses& out) {
    if (!stored) {
        if (stored.error().code != Errc::refused) {
            out.push_back(send_refused(id, stored.error().code));
            return;
        }
        // The devices changed between the check and the commit: say how, by the devices the
        // store has now.
        auto refused = check_send_devices(id, env);
        out.push_back(refused ? std::move(*refused) : unavailable(id));
        return;
    }
    crash::point("relay.after_commit");

    if (!stored->duplicate)
        relay_metrics().messages_in_direct.fetch_add(1, std::memory_order_relaxed);
    auto result = response(id);
    result.mutable_send_result()->set_server_timestamp_ms(
        static_cast<std::uint64_t>(stored->server_timestamp_ms));
    out.push_back(protocol::encode_envelope(result));
    if (push)
        push_new(env, *stored);
    if (!stored->duplicate && stored->delivery_ids.size() == env.copies.size()) {
        std::vector<DeliveryNote> notes;
        notes.reserve(env.copies.size());
        for (std::size_t i = 0; i < env.copies.size(); ++i)
            notes.push_back(
                {env.copies[i].username, env.copies[i].device_id, stored->delivery_ids[i]});
        notify_stored(std::move(notes));
    }
}

void RelayService::notify_stored(std::vector<DeliveryNote> notes) {
    DeliveryListener* listener = m_listener.load();
    if (listener && !notes.empty())
        listener->stored(std::move(notes));
}

namespace {

std::vector<DeliveryNote> notes_for(const std::vector<GroupRecipient>& recipients) {
    std::vector<DeliveryNote> notes;
    notes.reserve(recipients.size());
    for (const auto& r : recipients)
        notes.push_back({r.username, r.device_id, r.delivery_id});
    return notes;
}

} // namespace

void RelayService::push_queued(const std::string& username, std::uint32_t device_id) {
    Router* router = m_router.load();
    if (!router)
        return;
    // Every page from the oldest: another relay's ids may commit below ones read before, so
    // there is no point to resume from; the connections skip what they had.
    std::vector<wire::Envelope> delivers;
    std::uint64_t after = 0;
    bool complete = false;
    while (delivers.size() < kMaxWakeRead) {
        const std::size_t limit = std::min(m_options.drain_batch, kMaxWakeRead - delivers.size());
        auto batch = m_store.queued(username, device_id, after, limit);
        if (!batch) {
            log::warn(kRoutingLog, "event=wake_read_failed reason=store");
            return;
        }
        for (const auto& stored : *batch)
            delivers.push_back(deliver_envelope(stored));
        if (batch->size() < limit) {
            complete = true;
            break;
        }
        after = batch->back().delivery_id;
    }
    router->push_stored(username, device_id, delivers, complete);
}

void RelayService::push_new(const NewEnvelope& env, const EnqueueOutcome& stored) {
    Router* router = m_router.load();
    if (stored.duplicate || !router || stored.delivery_ids.size() != env.copies.size())
        return;
    for (std::size_t i = 0; i < env.copies.size(); ++i) {
        const auto& copy = env.copies[i];
        log::debug(kRoutingLog, "delivery " + std::to_string(stored.delivery_ids[i]) + " stored");
        StoredEnvelope queued{stored.delivery_ids[i],
                              env.message_id,
                              env.from_username,
                              env.from_device_id,
                              copy.type,
                              copy.ciphertext,
                              stored.server_timestamp_ms,
                              {},
                              std::nullopt,
                              std::nullopt};
        router->push(copy.username, copy.device_id, deliver_envelope(queued));
    }
}

bool RelayService::on_ack(Session& session, const wire::Envelope& request, const Reply* reply,
                          Responses& out) {
    const std::uint64_t id = request.request_id();
    const auto& ids = request.ack_request().delivery_ids();
    crash::point("relay.ack_received");
    if (session.track_deliveries)
        for (std::uint64_t acked : ids)
            session.note_acked(acked);
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
    relay_metrics().deliveries_acked.fetch_add(*deleted, std::memory_order_relaxed);
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
                               const Result<std::optional<SendRecord>>& known, const Reply& reply,
                               Responses& out) {
    std::string key = pending_key(env.from_username, env.from_device_id, env.message_id);

    bool push_now = false;
    if (known && !known->has_value())
        push_now = claim_pending(key);
    const bool push_after_commit = !known;

    // The copies as they will be pushed, each under the delivery id prepare assigns it.
    std::optional<NewEnvelope> to_push;
    auto prepare = [&](MailboxWrite& w) {
        if (!push_now)
            return;
        auto& queued = std::get<NewEnvelope>(w.what);
        for (auto& copy : queued.copies)
            copy.delivery_id = m_store.allocate_delivery_id();
        to_push = queued;
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
    if (Router* router = m_router.load(); to_push && router) {
        for (const auto& copy : to_push->copies) {
            auto deliver = deliver_envelope(StoredEnvelope{copy.delivery_id,
                                                           to_push->message_id,
                                                           to_push->from_username,
                                                           to_push->from_device_id,
                                                           copy.type,
                                                           copy.ciphertext,
                                                           now_ms,
                                                           {},
                                                           std::nullopt,
                                                           std::nullopt});
            log::debug(kRoutingLog, "delivery " + std::to_string(copy.delivery_id) + " pushed");
            router->push(copy.username, copy.device_id, deliver);
        }
    }
    return true;
}

// Kept in memory until flush_last_seen(): a reconnect storm then costs no commit per connection,
// and the mailbox's group commits keep their batches to themselves.
void RelayService::note_seen(const std::string& username, std::uint32_t device_id) {
    const std::int64_t now = m_clock.now_ms();
    std::lock_guard lock(m_seen_mutex);
    auto& seen = m_seen[{username, device_id}];
    seen = std::max(seen, now);
}

Status RelayService::flush_last_seen() {
    std::map<std::pair<std::string, std::uint32_t>, std::int64_t> pending;
    {
        std::lock_guard lock(m_seen_mutex);
        pending.swap(m_seen);
    }
    if (pending.empty())
        return {};
    std::vector<DeviceSeen> times;
    times.reserve(pending.size());
    for (const auto& [device, ms] : pending)
        times.push_back(DeviceSeen{device.first, device.second, ms});
    auto written = m_store.touch_last_seen(times);
    if (written)
        return {};
    // Kept for the next flush, unless a later time came meanwhile.
    std::lock_guard lock(m_seen_mutex);
    for (const auto& [device, ms] : pending) {
        auto& seen = m_seen[device];
        seen = std::max(seen, ms);
    }
    return written.error();
}

std::int64_t RelayService::pending_seen(const std::string& username, std::uint32_t device_id) {
    std::lock_guard lock(m_seen_mutex);
    auto it = m_seen.find({username, device_id});
    return it == m_seen.end() ? 0 : it->second;
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
                relay_metrics().deliveries_acked.fetch_add(*std::get<1>(*r),
                                                           std::memory_order_relaxed);
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

std::optional<Bytes> RelayService::check_rate(Session& session, const wire::Envelope& request) {
    const std::uint64_t id = request.request_id();
    const std::int64_t now_ms = m_clock.now_ms();
    std::optional<std::uint32_t> wait;
    if (session.authenticated) {
        // Acks only ever shrink the relay's work: never held back.
        if (request.has_ack_request())
            return std::nullopt;
        wait = m_account_limiter.take(session.username, now_ms);
    } else if (request.has_register_request() || request.has_auth_request()) {
        if (exempt(session.peer_address))
            return std::nullopt;
        wait = m_auth_limiter.take(session.peer_address, now_ms);
    }
    if (!wait)
        return std::nullopt;
    log::debug(kLog, "event=rate_limited authenticated=" +
                         std::string(session.authenticated ? "yes" : "no") +
                         " retry_after_ms=" + std::to_string(*wait));
    return error_frame(id, wire::Error::RATE_LIMITED, "Too many requests; try again in a moment.",
                       *wait);
}

bool RelayService::exempt(const std::string& address) const {
    // No address: a caller without a network (tests of the service alone).
    return address.empty() || (!m_options.limit_loopback && is_loopback(address));
}

void RelayService::charge_failed_auth(const Session& session) {
    if (exempt(session.peer_address))
        return;
    m_auth_limiter.charge(session.peer_address, m_clock.now_ms(), kFailedAuthCost);
}

void RelayService::set_queue_counter(std::unique_ptr<RelayAdmin> counter) {
    std::lock_guard lock(m_quota_mutex);
    m_queue_counter = std::move(counter);
}

std::optional<Bytes> RelayService::check_quota(std::uint64_t id, const std::string& from,
                                               const std::string& to) {
    const std::size_t per_device = m_options.max_queued_per_device;
    const std::size_t per_sender = m_options.max_queued_per_sender;
    if (per_device == 0 && per_sender == 0)
        return std::nullopt;
    const std::int64_t now_ms = m_clock.now_ms();
    std::lock_guard lock(m_quota_mutex);
    if (!m_queue_counter)
        return std::nullopt;
    if (m_queues.size() > kMaxQueueTallies)
        m_queues.clear();
    QueueTally& tally = m_queues[to];
    auto over = [&] {
        return (per_device > 0 && tally.device_max >= per_device) ||
               (per_sender > 0 && tally.from[from] >= per_sender);
    };
    // The tally counts sends since it was read, never acks: re-read when it says the quota is
    // reached (acks may have made room) and now and then.
    if (tally.read_ms == 0 || now_ms - tally.read_ms >= kQueueTallyLifetimeMs || over()) {
        auto rows = m_queue_counter->queue_of(to);
        if (!rows) {
            // The quota is a guard, not the truth: the send goes on, the store decides.
            log::warn(kLog, "event=quota_unknown error=\"" + rows.error().message + "\"");
            m_queues.erase(to);
            return std::nullopt;
        }
        tally = QueueTally{};
        tally.read_ms = now_ms;
        std::map<std::uint32_t, std::size_t> per_device_rows;
        for (const auto& r : *rows) {
            per_device_rows[r.device_id] += r.queued;
            tally.from[r.from_username] = std::max(tally.from[r.from_username], r.queued);
        }
        for (const auto& [device, n] : per_device_rows)
            tally.device_max = std::max(tally.device_max, n);
    }
    if (over()) {
        const bool sender = per_sender > 0 && tally.from[from] >= per_sender;
        relay_metrics().quota_refusals.fetch_add(1, std::memory_order_relaxed);
        log::info(kRoutingLog, std::string("event=quota_reached quota=") +
                                   (sender ? "per_sender" : "per_device"));
        return error_frame(id, wire::Error::RATE_LIMITED,
                           sender ? "You have sent this person too many messages they have not "
                                    "collected yet; the rest wait until they do."
                                  : "This person's queue of messages is full until they collect "
                                    "them.",
                           kQuotaRetryAfterMs);
    }
    ++tally.device_max;
    ++tally.from[from];
    return std::nullopt;
}

void RelayService::set_disabled_accounts(const std::vector<std::string>& usernames) {
    std::lock_guard lock(m_disabled_mutex);
    m_disabled = std::set<std::string>(usernames.begin(), usernames.end());
    m_disabled_count.store(m_disabled.size());
}

Status RelayService::disable_account(const std::string& username) {
    {
        std::lock_guard lock(m_disabled_mutex);
        m_disabled.insert(username);
        m_disabled_count.store(m_disabled.size());
    }
    // Marked first, so that a device authenticating meanwhile is refused; then its connections
    // go, each after the answers already queued for it.
    auto devices = m_store.list_devices(username);
    if (!devices)
        return devices.error();
    Router* router = m_router.load();
    if (router && *devices)
        for (const auto& device : **devices)
            router->disconnect(username, device.device_id);
    log::info(kAuthLog, "event=account_disabled disconnected=yes");
    return {};
}

void RelayService::enable_account(const std::string& username) {
    std::lock_guard lock(m_disabled_mutex);
    m_disabled.erase(username);
    m_disabled_count.store(m_disabled.size());
}

bool RelayService::account_disabled(const std::string& username) {
    if (m_disabled_count.load() == 0)
        return false;
    std::lock_guard lock(m_disabled_mutex);
    return m_disabled.count(username) > 0;
}

void RelayService::close(Session& session) {
    close_links(session.connection_id);
    if (session.authenticated) {
        if (Router* router = m_router.load())
            router->detach(session);
        note_seen(session.username, session.device_id);
        relay_metrics().devices_authenticated.fetch_sub(1, std::memory_order_relaxed);
    }
    session.authenticated = false;
    session.challenge.reset();
}

Result<std::size_t> RelayService::purge_expired() {
    const std::int64_t now_ms = m_clock.now_ms();
    auto purged = m_store.purge_before(now_ms - m_options.retention_ms, now_ms);
    if (!purged)
        return purged.error();
    if (purged->deleted > 0)
        log::info(kRoutingLog, "purged " + std::to_string(purged->deleted) +
                                   " expired envelopes; " + std::to_string(purged->notices.size()) +
                                   " notices queued");
    // Committed: the senders' connected devices get their notices now, the others at their
    // next drain.
    if (Router* router = m_router.load())
        for (const auto& n : purged->notices)
            router->push(n.username, n.device_id, deliver_envelope(n.envelope));
    std::vector<DeliveryNote> notes;
    for (const auto& n : purged->notices)
        notes.push_back({n.username, n.device_id, n.envelope.delivery_id});
    notify_stored(std::move(notes));
    return purged->deleted;
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
// The key is the account's, whichever of its devices remain (device 1 may have been removed).
bool RelayService::check_group_signature(const wire::GroupChange& change, std::uint64_t id,
                                         Responses& out) {
    std::optional<Bytes> signer_key;
    if (protocol::valid_username(change.signer())) {
        auto found = m_store.find_identity_key(change.signer());
        if (!found) {
            out.push_back(unavailable(id));
            return false;
        }
        signer_key = std::move(found.value());
    }
    if (!signer_key || !verify(*signer_key, protocol::group_signed_bytes(change.state()),
                               as_bytes(change.signature()))) {
        log::warn(kRoutingLog, "a group change with a bad signature refused");
        out.push_back(error_frame(id, wire::Error::FORBIDDEN,
                                  "The group change's signature does not verify."));
        return false;
    }
    return true;
}

// Every active device of every member of the previous and the new state, the signer's own
// devices among them (the one that sent the change too); NOT_FOUND if a member of the new state
// has no account.
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

    // Every active device of the other members, and the sender's own other devices.
    std::vector<std::string> names;
    for (const auto& m : state->members())
        names.push_back(m.username());
    auto found = m_store.devices_of(names);
    if (!found) {
        out.push_back(unavailable(id));
        return true;
    }
    std::vector<DeviceAddress> devices;
    for (auto& d : *found)
        if (d.username != session.username || d.device_id != session.device_id)
            devices.push_back(std::move(d));
    if (!s.devices_digest().empty() && !check_group_devices(id, s.devices_digest(), devices, out))
        return true;

    NewGroupMessage m{
        session.username,         session.device_id,
        to_bytes(s.group_id()),   s.revision(),
        to_bytes(s.message_id()), static_cast<std::uint32_t>(wire::CIPHERTEXT_SENDER_KEY),
        to_bytes(s.ciphertext()), std::move(digest),
        to_recipients(devices),   {}};
    std::set<std::string> reached;
    for (const auto& d : devices)
        reached.insert(d.username);
    for (const auto& name : names)
        if (name != session.username && !reached.count(name))
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
    const auto started = std::chrono::steady_clock::now();
    auto outcomes = m_store.write_mailbox(std::span<const MailboxWrite>(&write, 1));
    relay_metrics().store_commit.observe(std::chrono::steady_clock::now() - started);
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
        if (!stored->duplicate)
            relay_metrics().messages_in_group.fetch_add(1, std::memory_order_relaxed);
        out.push_back(group_send_result(id, stored->server_timestamp_ms, stored->unreachable));
        if (push && !stored->duplicate)
            push_group_message(*message, stored->server_timestamp_ms);
        if (!stored->duplicate)
            notify_stored(notes_for(message->recipients));
        return;
    }
    const auto& change = std::get<NewGroupChange>(write.what);
    out.push_back(group_update_result(id, change.change.revision));
    if (push && !stored->duplicate)
        push_group_change(change, stored->server_timestamp_ms);
    if (!stored->duplicate)
        notify_stored(notes_for(change.recipients));
}

void RelayService::push_group_message(const NewGroupMessage& m, std::int64_t server_ms) {
    Router* router = m_router.load();
    if (!router)
        return;
    StoredEnvelope e{
        0,         m.message_id, m.from_username, m.from_device_id, m.type, m.ciphertext,
        server_ms, m.group_id,   std::nullopt,    std::nullopt};
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
                     std::move(record),
                     std::nullopt};
    auto deliver = deliver_envelope(e);
    for (const auto& r : g.recipients) {
        deliver.mutable_deliver()->set_delivery_id(r.delivery_id);
        router->push(r.username, r.device_id, deliver);
    }
}

// The sender's devices_digest must be the digest of devices, the group send's recipients;
// otherwise MISMATCHED_DEVICES with the recipients grouped per username.
bool RelayService::check_group_devices(std::uint64_t id, const std::string& digest,
                                       const std::vector<DeviceAddress>& devices, Responses& out) {
    const Bytes expected = devices_digest(devices);
    if (expected.empty()) {
        out.push_back(error_frame(id, wire::Error::INTERNAL, "The relay failed unexpectedly."));
        return false;
    }
    if (to_str_view(expected) == digest)
        return true;
    auto e = protocol::make_error_envelope(
        id, wire::Error::MISMATCHED_DEVICES,
        "The group's devices have changed; share your sender key with the new ones and send "
        "again.");
    std::map<std::string, std::vector<std::uint32_t>> grouped;
    for (const auto& d : devices)
        grouped[d.username].push_back(d.device_id);
    for (auto& [username, ids] : grouped) {
        auto* entry = e.mutable_error()->add_group_devices();
        entry->set_username(username);
        std::sort(ids.begin(), ids.end());
        for (std::uint32_t device : ids)
            entry->add_device_ids(device);
    }
    log::debug(kRoutingLog, "a group send's device digest did not match");
    out.push_back(protocol::encode_envelope(e));
    return false;
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

namespace veil::relay {

// ---- Devices -----------------------------------------------------------------------------

void RelayService::on_device_add(Session& session, const wire::Envelope& request, Responses& out) {
    const std::uint64_t id = request.request_id();
    const auto& d = request.device_add_request();
    // The new device shares the account's identity key, so its signed prekey must verify under
    // it, as at registration.
    auto identity = m_store.find_identity_key(session.username);
    if (!identity || !identity->has_value()) {
        out.push_back(unavailable(id));
        return;
    }
    if (offers_low_order_key({&d.device_key(), &d.signed_prekey().public_key()},
                             d.one_time_prekeys())) {
        out.push_back(error_frame(id, wire::Error::BAD_REQUEST, kLowOrderKey));
        return;
    }
    if (!verify(**identity, as_bytes(d.signed_prekey().public_key()),
                as_bytes(d.signed_prekey().signature()))) {
        out.push_back(error_frame(id, wire::Error::BAD_REQUEST,
                                  "The signed prekey's signature does not verify."));
        return;
    }
    NewDevice device{to_bytes(d.device_key()), d.registration_id(), to_record(d.signed_prekey()),
                     to_records(d.one_time_prekeys()), to_bytes(d.name())};
    auto added = m_store.add_device(session.username, device, m_clock.now_ms());
    if (!added) {
        if (added.error().code == Errc::refused)
            out.push_back(
                error_frame(id, wire::Error::FORBIDDEN,
                            "This account has as many devices as it may have; remove one first."));
        else
            out.push_back(unavailable(id));
        return;
    }
    log::info(kAuthLog, "device " + std::to_string(*added) + " added to an account");
    auto e = response(id);
    e.mutable_device_added()->set_device_id(*added);
    out.push_back(protocol::encode_envelope(e));
}

// Names and times are the account's own business: other users see ids and registration ids,
// which they need to set up sessions.
void RelayService::on_device_list(Session& session, const wire::Envelope& request, Responses& out) {
    const std::uint64_t id = request.request_id();
    const std::string& asked = request.device_list_request().username();
    const bool own = asked.empty() || asked == session.username;
    const std::string& username = own ? session.username : asked;
    if (!protocol::valid_username(username)) {
        out.push_back(error_frame(id, wire::Error::NOT_FOUND, "No such user."));
        return;
    }
    auto devices = m_store.list_devices(username);
    if (!devices) {
        out.push_back(unavailable(id));
        return;
    }
    if (!devices->has_value()) {
        out.push_back(error_frame(id, wire::Error::NOT_FOUND, "No such user."));
        return;
    }
    auto e = response(id);
    auto* list = e.mutable_device_list();
    list->set_username(username);
    for (const auto& d : **devices) {
        auto* info = list->add_devices();
        info->set_device_id(d.device_id);
        info->set_registration_id(d.registration_id);
        if (!own)
            continue;
        info->set_name(d.name.data(), d.name.size());
        info->set_created_ms(static_cast<std::uint64_t>(d.created_ms));
        const std::int64_t seen = std::max(d.last_seen_ms, pending_seen(username, d.device_id));
        info->set_last_seen_ms(static_cast<std::uint64_t>(seen));
    }
    out.push_back(protocol::encode_envelope(e));
}

void RelayService::on_device_remove(Session& session, const wire::Envelope& request,
                                    Responses& out) {
    const std::uint64_t id = request.request_id();
    const std::uint32_t device_id = request.device_remove_request().device_id();
    auto removed = m_store.remove_device(session.username, device_id, m_clock.now_ms());
    if (!removed) {
        switch (removed.error().code) {
        case Errc::not_found:
            out.push_back(
                error_frame(id, wire::Error::NOT_FOUND, "This account has no such device."));
            return;
        case Errc::refused:
            out.push_back(error_frame(id, wire::Error::FORBIDDEN,
                                      "The last device of an account cannot be removed."));
            return;
        default: out.push_back(unavailable(id)); return;
        }
    }
    {
        std::lock_guard lock(m_removed_mutex);
        m_removed.emplace(session.username, device_id);
        m_removals.fetch_add(1);
    }
    log::info(kAuthLog, "device " + std::to_string(device_id) + " removed from an account");
    out.push_back(protocol::encode_envelope(protocol::make_ok_envelope(id)));
    // After the answer is in out: the transport writes it before it closes this connection,
    // if the device removed itself.
    if (Router* router = m_router.load())
        router->disconnect(session.username, device_id);
}

bool RelayService::device_removed(Session& session) {
    if (session.device_removed)
        return true;
    if (m_removals.load() == session.removals_checked)
        return false;
    std::lock_guard lock(m_removed_mutex);
    session.removals_checked = m_removals.load();
    session.device_removed = m_removed.count({session.username, session.device_id}) > 0;
    return session.device_removed;
}

// ---- Link channels -----------------------------------------------------------------------
//
// A channel is bound to connections, never to accounts: the new device has none yet, and the
// relay cannot read what passes (the two ends authenticate each other with a secret the relay
// never sees). So the relay's part is small: a code works once, within the timeout, and only
// between the connection that opened it and the one that joined it.

void RelayService::on_link_open(Session& session, std::uint64_t id, Responses& out) {
    const std::int64_t now = m_clock.now_ms();
    Bytes channel;
    {
        std::lock_guard lock(m_link_mutex);
        // At most one channel per connection: a new code replaces the one shown before.
        if (auto ends = m_link_ends.find(session.connection_id); ends != m_link_ends.end()) {
            for (const auto& c : std::vector<std::string>(ends->second))
                if (auto it = m_links.find(c);
                    it != m_links.end() && it->second.opener == session.connection_id)
                    erase_link(c);
        }
        if (m_links.size() >= m_options.max_link_channels ||
            m_links_per_address[session.peer_address] >= m_options.max_link_channels_per_address)
            sweep_links(now);
        if (m_links_per_address[session.peer_address] >= m_options.max_link_channels_per_address) {
            log::warn(kAuthLog, "too many link channels from one address; one refused");
            out.push_back(error_frame(id, wire::Error::RATE_LIMITED,
                                      "Too many devices are being linked from this address; "
                                      "finish or cancel one first.",
                                      kRetryAfterMs));
            return;
        }
        if (m_links.size() >= m_options.max_link_channels) {
            log::warn(kAuthLog, "too many link channels open; one refused");
            out.push_back(error_frame(id, wire::Error::RATE_LIMITED,
                                      "Too many devices are being linked right now; try again "
                                      "shortly.",
                                      kRetryAfterMs));
            return;
        }
        std::string key;
        do {
            channel = crypto::random_bytes(protocol::kLinkChannelBytes);
            key.assign(channel.begin(), channel.end());
        } while (m_links.count(key) > 0);
        m_links.emplace(key,
                        LinkChannel{session.connection_id, std::nullopt,
                                    now + m_options.link_timeout_ms, false, session.peer_address});
        ++m_links_per_address[session.peer_address];
        m_link_ends[session.connection_id].push_back(key);
    }
    log::debug(kAuthLog, "link channel opened");
    auto e = response(id);
    e.mutable_link_opened()->set_channel(channel.data(), channel.size());
    e.mutable_link_opened()->set_expires_in_ms(static_cast<std::uint32_t>(std::clamp<std::int64_t>(
        m_options.link_timeout_ms, 0, std::numeric_limits<std::uint32_t>::max())));
    out.push_back(protocol::encode_envelope(e));
}

void RelayService::on_link_send(Session& session, const wire::Envelope& request, Responses& out) {
    const std::uint64_t id = request.request_id();
    const auto& l = request.link_send_request();
    const std::uint64_t me = session.connection_id;
    auto expired = [&] {
        out.push_back(error_frame(id, wire::Error::LINK_EXPIRED,
                                  "This link code has expired or was already used."));
    };
    if (l.first() && !session.authenticated) {
        out.push_back(error_frame(id, wire::Error::NOT_AUTHENTICATED,
                                  "Only a device of an account can join a link."));
        return;
    }
    std::uint64_t target = 0;
    {
        std::lock_guard lock(m_link_mutex);
        auto it = m_links.find(l.channel());
        if (it == m_links.end())
            return expired();
        LinkChannel& c = it->second;
        if (l.first()) {
            // A code works once, within its time, and never for the connection showing it.
            if (c.joiner || c.dead || c.opener == me || m_clock.now_ms() >= c.expires_ms)
                return expired();
            c.joiner = me;
            m_link_ends[me].push_back(it->first);
            target = c.opener;
            log::debug(kAuthLog, "link channel joined");
        } else if (c.opener == me || (c.joiner && *c.joiner == me)) {
            if (c.dead || !c.joiner) {
                out.push_back(error_frame(id, wire::Error::NOT_FOUND,
                                          "The other end of the link is not connected."));
                return;
            }
            target = c.opener == me ? *c.joiner : c.opener;
        } else {
            return expired(); // a third connection
        }
    }
    if (Router* router = m_router.load()) {
        auto push = response(0);
        push.mutable_link_message()->set_channel(l.channel());
        push.mutable_link_message()->set_payload(l.payload());
        router->push_to_connection(target, push);
    }
    out.push_back(protocol::encode_envelope(protocol::make_ok_envelope(id)));
}

void RelayService::close_links(std::uint64_t connection_id) {
    // The ends still connected when their partner went: each is told, so that it stops waiting.
    std::vector<std::pair<std::uint64_t, std::string>> orphans;
    {
        std::lock_guard lock(m_link_mutex);
        auto ends = m_link_ends.find(connection_id);
        if (ends == m_link_ends.end())
            return;
        const std::vector<std::string> channels = std::move(ends->second);
        m_link_ends.erase(ends);
        for (const auto& channel : channels) {
            auto it = m_links.find(channel);
            if (it == m_links.end())
                continue;
            LinkChannel& c = it->second;
            // The other end, if it is still there, keeps a dead channel until it closes too.
            const bool other_open =
                c.opener == connection_id ? c.joiner.has_value() && !c.dead : !c.dead;
            if (!other_open) {
                erase_link(channel);
                continue;
            }
            c.dead = true;
            orphans.emplace_back(c.opener == connection_id ? *c.joiner : c.opener, channel);
        }
    }
    Router* router = m_router.load();
    if (!router)
        return;
    for (const auto& [connection, channel] : orphans) {
        auto push = response(0);
        push.mutable_link_message()->set_channel(channel);
        push.mutable_link_message()->set_closed(true);
        router->push_to_connection(connection, push);
    }
}

void RelayService::erase_link(const std::string& channel) {
    auto it = m_links.find(channel);
    if (it == m_links.end())
        return;
    auto forget = [&](std::uint64_t connection) {
        auto ends = m_link_ends.find(connection);
        if (ends == m_link_ends.end())
            return;
        std::erase(ends->second, channel);
        if (ends->second.empty())
            m_link_ends.erase(ends);
    };
    forget(it->second.opener);
    if (it->second.joiner)
        forget(*it->second.joiner);
    if (auto count = m_links_per_address.find(it->second.address);
        count != m_links_per_address.end() && --count->second == 0)
        m_links_per_address.erase(count);
    m_links.erase(it);
}

void RelayService::sweep_links(std::int64_t now_ms) {
    // A full relay refuses many opens in a row: walk the channels at most once a second.
    if (now_ms < m_next_link_sweep_ms)
        return;
    m_next_link_sweep_ms = now_ms + 1000;
    std::vector<std::string> stale;
    for (const auto& [channel, c] : m_links)
        if (!c.joiner && now_ms >= c.expires_ms)
            stale.push_back(channel);
    for (const auto& channel : stale)
        erase_link(channel);
}

} // namespace veil::relay
