#include "protocol/envelope_codec.h"

namespace veil::protocol {
namespace {

constexpr std::size_t kDevicesDigestBytes = 32; // SHA-256

Status fail(std::string message) {
    return make_error(Errc::protocol, std::move(message));
}

bool valid_signed_prekey(const wire::SignedPrekey& spk) {
    return spk.public_key().size() == kPublicKeyBytes && spk.signature().size() == kSignatureBytes;
}

Status validate_prekeys(const google::protobuf::RepeatedPtrField<wire::OneTimePrekey>& keys) {
    if (keys.size() > static_cast<int>(kMaxPrekeysPerUpload))
        return fail("too many one-time prekeys in one upload");
    for (const auto& k : keys)
        if (k.public_key().size() != kPublicKeyBytes)
            return fail("a one-time prekey has the wrong size");
    return {};
}

// One device's copy of a 1:1 message. Adds its size to total.
Status validate_copy(const wire::DeviceCiphertext& c, std::size_t& total) {
    if (c.device_id() == 0)
        return fail("a device id must not be 0");
    if (c.type() != wire::CIPHERTEXT_WHISPER && c.type() != wire::CIPHERTEXT_PREKEY)
        return fail("unknown ciphertext type");
    if (c.ciphertext().empty())
        return fail("a ciphertext is empty");
    if (c.ciphertext().size() > kMaxCiphertextBytes)
        return make_error(Errc::too_large, "a ciphertext is too large");
    total += c.ciphertext().size();
    return {};
}

// The copies of one list: valid, and each device named once.
Status validate_copies(const google::protobuf::RepeatedPtrField<wire::DeviceCiphertext>& copies,
                       std::size_t& total) {
    for (int i = 0; i < copies.size(); ++i) {
        VEIL_TRY(validate_copy(copies[i], total));
        for (int j = 0; j < i; ++j)
            if (copies[j].device_id() == copies[i].device_id())
                return fail("a device is named twice");
    }
    return {};
}

Status validate_send(const wire::SendRequest& s) {
    if (s.message_id().size() != kMessageIdBytes)
        return fail("message id must be 16 bytes");
    if (s.to_username().size() > kMaxUsernameBytes)
        return fail("username is too long");
    if (s.to_devices().empty())
        return fail("a send needs at least one recipient device");
    if (static_cast<std::size_t>(s.to_devices_size() + s.own_devices_size()) >
        2 * kMaxDevicesPerAccount)
        return fail("a send names too many devices");
    if (!s.sync() && !s.own_devices().empty())
        return fail("copies for our own devices need sync");
    std::size_t total = 0;
    VEIL_TRY(validate_copies(s.to_devices(), total));
    VEIL_TRY(validate_copies(s.own_devices(), total));
    if (total > kMaxSendBytes)
        return make_error(Errc::too_large, "the copies together are too large");
    return {};
}

Status validate_device_add(const wire::DeviceAddRequest& d) {
    if (d.device_key().size() != kPublicKeyBytes)
        return fail("device key has the wrong size");
    if (!valid_signed_prekey(d.signed_prekey()))
        return fail("signed prekey is missing or malformed");
    if (d.name().size() > kMaxDeviceNameBytes)
        return fail("device name is too long");
    return validate_prekeys(d.one_time_prekeys());
}

Status validate_request(const wire::Envelope& e) {
    switch (e.body_case()) {
    case wire::Envelope::kRegisterRequest: {
        const auto& r = e.register_request();
        if (r.identity_key().size() != kPublicKeyBytes)
            return fail("identity key has the wrong size");
        if (!valid_signed_prekey(r.signed_prekey()))
            return fail("signed prekey is missing or malformed");
        if (r.signature().size() != kSignatureBytes)
            return fail("registration signature has the wrong size");
        if (r.invite_code().size() > 128)
            return fail("invite code is too long");
        if (!r.device_key().empty() && r.device_key().size() != kPublicKeyBytes)
            return fail("device key has the wrong size");
        if (r.device_name().size() > kMaxDeviceNameBytes)
            return fail("device name is too long");
        return validate_prekeys(r.one_time_prekeys());
    }
    case wire::Envelope::kAuthRequest:
        if (e.auth_request().signature().size() != kSignatureBytes)
            return fail("auth signature has the wrong size");
        if (e.auth_request().username().size() > kMaxUsernameBytes)
            return fail("username is too long");
        return {};
    case wire::Envelope::kPrekeyUpload: {
        const auto& u = e.prekey_upload();
        if (u.has_signed_prekey() && !valid_signed_prekey(u.signed_prekey()))
            return fail("signed prekey is malformed");
        return validate_prekeys(u.one_time_prekeys());
    }
    case wire::Envelope::kPrekeyFetch:
        if (e.prekey_fetch().username().size() > kMaxUsernameBytes)
            return fail("username is too long");
        if (static_cast<std::size_t>(e.prekey_fetch().device_ids_size()) > kMaxDevicesPerAccount)
            return fail("too many device ids");
        return {};
    case wire::Envelope::kSendRequest: return validate_send(e.send_request());
    case wire::Envelope::kDeviceAddRequest: return validate_device_add(e.device_add_request());
    case wire::Envelope::kDeviceListRequest:
        if (e.device_list_request().username().size() > kMaxUsernameBytes)
            return fail("username is too long");
        return {};
    case wire::Envelope::kLinkSendRequest: {
        const auto& l = e.link_send_request();
        if (l.channel().size() != kLinkChannelBytes)
            return fail("a link channel is 5 bytes");
        if (l.payload().empty())
            return fail("a link payload is empty");
        if (l.payload().size() > kMaxLinkPayloadBytes)
            return make_error(Errc::too_large, "a link payload is too large");
        return {};
    }
    case wire::Envelope::kAckRequest:
        if (e.ack_request().delivery_ids_size() > static_cast<int>(kMaxAcksPerRequest))
            return fail("too many acks in one request");
        return {};
    case wire::Envelope::kGroupUpdateRequest:
        return validate_group_change(e.group_update_request().change());
    case wire::Envelope::kGroupSendRequest: {
        const auto& s = e.group_send_request();
        if (s.group_id().size() != kGroupIdBytes)
            return fail("group id must be 16 bytes");
        if (s.message_id().size() != kMessageIdBytes)
            return fail("message id must be 16 bytes");
        if (s.revision() == 0)
            return fail("group revision must be at least 1");
        if (s.ciphertext().empty())
            return fail("a ciphertext is empty");
        if (s.ciphertext().size() > kMaxCiphertextBytes)
            return make_error(Errc::too_large, "a ciphertext is too large");
        if (!s.devices_digest().empty() && s.devices_digest().size() != kDevicesDigestBytes)
            return fail("devices digest must be 32 bytes");
        return {};
    }
    case wire::Envelope::kGroupFetchRequest:
        if (e.group_fetch_request().group_id().size() != kGroupIdBytes)
            return fail("group id must be 16 bytes");
        return {};
    default: return {};
    }
}

} // namespace

Status validate_group_change(const wire::GroupChange& change) {
    if (change.state().empty())
        return fail("a group state is empty");
    if (change.state().size() > kMaxGroupStateBytes)
        return make_error(Errc::too_large, "a group state is too large");
    if (change.signer().size() > kMaxUsernameBytes)
        return fail("username is too long");
    if (change.signature().size() != kSignatureBytes)
        return fail("group change signature has the wrong size");
    return {};
}

Result<wire::Envelope> decode_envelope(std::span<const std::uint8_t> frame) {
    if (frame.size() > kMaxFrameBytes)
        return make_error(Errc::too_large, "frame exceeds the protocol limit");
    wire::Envelope e;
    if (!e.ParseFromArray(frame.data(), static_cast<int>(frame.size())))
        return make_error(Errc::protocol, "frame is not a valid envelope");
    if (e.version() != kProtocolVersion)
        return make_error(Errc::protocol, "unsupported protocol version");
    if (e.body_case() == wire::Envelope::BODY_NOT_SET)
        return make_error(Errc::protocol, "envelope has no body");
    if (auto st = validate(e); !st)
        return st.error();
    return e;
}

Bytes encode_envelope(const wire::Envelope& envelope) {
    Bytes out(envelope.ByteSizeLong());
    envelope.SerializeToArray(out.data(), static_cast<int>(out.size()));
    return out;
}

Status validate(const wire::Envelope& envelope) {
    return validate_request(envelope);
}

bool valid_username(std::string_view name) {
    if (name.size() < kMinUsernameBytes || name.size() > kMaxUsernameBytes)
        return false;
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (!alnum(name.front()))
        return false;
    for (char c : name)
        if (!alnum(c) && c != '_' && c != '.' && c != '-')
            return false;
    return true;
}

wire::Envelope make_error_envelope(std::uint64_t request_id, wire::Error::Code code,
                                   std::string message, std::uint32_t retry_after_ms) {
    wire::Envelope e;
    e.set_version(kProtocolVersion);
    e.set_request_id(request_id);
    auto* err = e.mutable_error();
    err->set_code(code);
    err->set_message(std::move(message));
    err->set_retry_after_ms(retry_after_ms);
    return e;
}

wire::Envelope make_ok_envelope(std::uint64_t request_id) {
    wire::Envelope e;
    e.set_version(kProtocolVersion);
    e.set_request_id(request_id);
    e.mutable_ok();
    return e;
}

const char* body_name(const wire::Envelope& e) {
    switch (e.body_case()) {
    case wire::Envelope::kChallengeRequest: return "challenge_request";
    case wire::Envelope::kRegisterRequest: return "register_request";
    case wire::Envelope::kAuthRequest: return "auth_request";
    case wire::Envelope::kPrekeyUpload: return "prekey_upload";
    case wire::Envelope::kPrekeyFetch: return "prekey_fetch";
    case wire::Envelope::kSendRequest: return "send_request";
    case wire::Envelope::kAckRequest: return "ack_request";
    case wire::Envelope::kPrekeyStatusRequest: return "prekey_status_request";
    case wire::Envelope::kGroupUpdateRequest: return "group_update_request";
    case wire::Envelope::kGroupSendRequest: return "group_send_request";
    case wire::Envelope::kGroupFetchRequest: return "group_fetch_request";
    case wire::Envelope::kDeviceAddRequest: return "device_add_request";
    case wire::Envelope::kDeviceListRequest: return "device_list_request";
    case wire::Envelope::kDeviceRemoveRequest: return "device_remove_request";
    case wire::Envelope::kLinkOpenRequest: return "link_open_request";
    case wire::Envelope::kLinkSendRequest: return "link_send_request";
    case wire::Envelope::kBlobUploadRequest: return "blob_upload_request";
    case wire::Envelope::kBlobUploadTicket: return "blob_upload_ticket";
    case wire::Envelope::kPrekeyBundles: return "prekey_bundles";
    case wire::Envelope::kDeviceAdded: return "device_added";
    case wire::Envelope::kDeviceList: return "device_list";
    case wire::Envelope::kLinkOpened: return "link_opened";
    case wire::Envelope::kLinkMessage: return "link_message";
    case wire::Envelope::kGroupUpdateResult: return "group_update_result";
    case wire::Envelope::kGroupSendResult: return "group_send_result";
    case wire::Envelope::kGroupChanges: return "group_changes";
    case wire::Envelope::kOk: return "ok";
    case wire::Envelope::kError: return "error";
    case wire::Envelope::kChallenge: return "challenge";
    case wire::Envelope::kAuthResult: return "auth_result";
    case wire::Envelope::kPrekeyBundle: return "prekey_bundle";
    case wire::Envelope::kSendResult: return "send_result";
    case wire::Envelope::kPrekeyStatus: return "prekey_status";
    case wire::Envelope::kDeliver: return "deliver";
    case wire::Envelope::kQueueDrained: return "queue_drained";
    case wire::Envelope::BODY_NOT_SET: return "none";
    }
    return "unknown";
}

} // namespace veil::protocol
