#include "crypto/keys.h"

#include "crypto/detail/signal_handles.h"

#include <signal/curve.h>
#include <signal/key_helper.h>
#include <signal/ratchet.h>
#include <signal/session_pre_key.h>

#include <string>

namespace veil::crypto {
namespace {

constexpr std::size_t kPublicKeySize = 33;
constexpr std::size_t kPrivateKeySize = 32;
constexpr std::size_t kSignatureSize = 64;

Error failed(const char* what, int code) {
    return make_error(Errc::crypto,
                      std::string(what) + " (libsignal " + std::to_string(code) + ")");
}

Result<Bytes> serialize_public(const ec_public_key* key) {
    signal_buffer* raw = nullptr;
    int rc = ec_public_key_serialize(&raw, key);
    detail::BufferPtr buffer(raw);
    if (rc != 0)
        return failed("cannot serialize a public key", rc);
    return detail::to_bytes(buffer.get());
}

Result<SecretBytes> serialize_private(const ec_private_key* key) {
    signal_buffer* raw = nullptr;
    int rc = ec_private_key_serialize(&raw, key);
    detail::SecretBufferPtr buffer(raw);
    if (rc != 0)
        return failed("cannot serialize a private key", rc);
    return detail::to_secret(buffer.get());
}

Result<detail::SignalPtr<ec_private_key>> decode_private(SignalContext& context,
                                                         const SecretBytes& key) {
    if (key.size() != kPrivateKeySize)
        return make_error(Errc::invalid_argument, "a private key must be 32 bytes");
    ec_private_key* raw = nullptr;
    int rc = curve_decode_private_point(&raw, key.data(), key.size(), context.get());
    detail::SignalPtr<ec_private_key> decoded(raw);
    if (rc != 0)
        return make_error(Errc::invalid_argument, "the private key is malformed");
    return decoded;
}

Result<detail::SignalPtr<ec_public_key>> decode_public(SignalContext& context,
                                                       std::span<const std::uint8_t> key) {
    if (key.size() != kPublicKeySize)
        return make_error(Errc::invalid_argument, "a public key must be 33 bytes");
    ec_public_key* raw = nullptr;
    int rc = curve_decode_point(&raw, key.data(), key.size(), context.get());
    detail::SignalPtr<ec_public_key> decoded(raw);
    if (rc != 0 || !decoded)
        return make_error(Errc::invalid_argument, "the public key is malformed");
    return decoded;
}

Result<detail::SignalPtr<ratchet_identity_key_pair>> to_ratchet_pair(SignalContext& context,
                                                                     const IdentityKeyPair& pair) {
    auto public_key = decode_public(context, pair.public_key);
    if (!public_key)
        return public_key.error();
    auto private_key = decode_private(context, pair.private_key);
    if (!private_key)
        return private_key.error();
    ratchet_identity_key_pair* raw = nullptr;
    // The pair takes its own references to both keys; ours are dropped on return.
    int rc = ratchet_identity_key_pair_create(&raw, public_key->get(), private_key->get());
    detail::SignalPtr<ratchet_identity_key_pair> created(raw);
    if (rc != 0)
        return failed("cannot build an identity key pair", rc);
    return created;
}

Result<GeneratedPrekey> export_prekey(const session_pre_key* prekey) {
    GeneratedPrekey out;
    out.id = session_pre_key_get_id(prekey);
    auto public_key =
        serialize_public(ec_key_pair_get_public(session_pre_key_get_key_pair(prekey)));
    if (!public_key)
        return public_key.error();
    out.public_key = std::move(public_key).value();

    signal_buffer* raw = nullptr;
    int rc = session_pre_key_serialize(&raw, prekey);
    detail::SecretBufferPtr record(raw);
    if (rc != 0)
        return failed("cannot serialize a prekey", rc);
    out.record = detail::to_secret(record.get());
    return out;
}

} // namespace

Result<GeneratedIdentity> generate_identity(SignalContext& context) {
    ratchet_identity_key_pair* raw = nullptr;
    int rc = signal_protocol_key_helper_generate_identity_key_pair(&raw, context.get());
    detail::SignalPtr<ratchet_identity_key_pair> pair(raw);
    if (rc != 0)
        return failed("identity key generation failed", rc);

    GeneratedIdentity out;
    auto public_key = serialize_public(ratchet_identity_key_pair_get_public(pair.get()));
    if (!public_key)
        return public_key.error();
    auto private_key = serialize_private(ratchet_identity_key_pair_get_private(pair.get()));
    if (!private_key)
        return private_key.error();
    out.key_pair.public_key = std::move(public_key).value();
    out.key_pair.private_key = std::move(private_key).value();

    rc =
        signal_protocol_key_helper_generate_registration_id(&out.registration_id, 0, context.get());
    if (rc != 0)
        return failed("registration id generation failed", rc);
    return out;
}

Result<std::vector<GeneratedPrekey>> generate_prekeys(SignalContext& context,
                                                      std::uint32_t start_id, unsigned count) {
    std::vector<GeneratedPrekey> out;
    if (count == 0)
        return out;
    signal_protocol_key_helper_pre_key_list_node* raw = nullptr;
    int rc = signal_protocol_key_helper_generate_pre_keys(&raw, start_id, count, context.get());
    detail::PrekeyListPtr head(raw);
    if (rc != 0)
        return failed("prekey generation failed", rc);

    out.reserve(count);
    for (auto* node = head.get(); node; node = signal_protocol_key_helper_key_list_next(node)) {
        auto prekey = export_prekey(signal_protocol_key_helper_key_list_element(node));
        if (!prekey)
            return prekey.error();
        out.push_back(std::move(prekey).value());
    }
    return out;
}

Result<GeneratedSignedPrekey> generate_signed_prekey(SignalContext& context,
                                                     const IdentityKeyPair& identity,
                                                     std::uint32_t id, std::uint64_t timestamp_ms) {
    auto pair = to_ratchet_pair(context, identity);
    if (!pair)
        return pair.error();
    session_signed_pre_key* raw = nullptr;
    int rc = signal_protocol_key_helper_generate_signed_pre_key(&raw, pair->get(), id, timestamp_ms,
                                                                context.get());
    detail::SignalPtr<session_signed_pre_key> signed_prekey(raw);
    if (rc != 0)
        return failed("signed prekey generation failed", rc);

    GeneratedSignedPrekey out;
    out.id = session_signed_pre_key_get_id(signed_prekey.get());
    auto public_key = serialize_public(
        ec_key_pair_get_public(session_signed_pre_key_get_key_pair(signed_prekey.get())));
    if (!public_key)
        return public_key.error();
    out.public_key = std::move(public_key).value();
    const std::uint8_t* signature = session_signed_pre_key_get_signature(signed_prekey.get());
    out.signature.assign(signature,
                         signature + session_signed_pre_key_get_signature_len(signed_prekey.get()));

    signal_buffer* record_raw = nullptr;
    rc = session_signed_pre_key_serialize(&record_raw, signed_prekey.get());
    detail::SecretBufferPtr record(record_raw);
    if (rc != 0)
        return failed("cannot serialize a signed prekey", rc);
    out.record = detail::to_secret(record.get());
    return out;
}

Result<Bytes> sign(SignalContext& context, const SecretBytes& private_key,
                   std::span<const std::uint8_t> data) {
    auto key = decode_private(context, private_key);
    if (!key)
        return key.error();
    signal_buffer* raw = nullptr;
    int rc = curve_calculate_signature(context.get(), &raw, key->get(), detail::data_or_empty(data),
                                       data.size());
    detail::BufferPtr signature(raw);
    if (rc != 0)
        return failed("signing failed", rc);
    return detail::to_bytes(signature.get());
}

bool verify_signature(SignalContext& context, std::span<const std::uint8_t> public_key,
                      std::span<const std::uint8_t> data, std::span<const std::uint8_t> signature) {
    if (signature.size() != kSignatureSize)
        return false;
    auto key = decode_public(context, public_key);
    if (!key)
        return false;
    // curve_verify_signature returns 1 for a valid signature, 0 for an invalid one and a
    // negative code on error; only 1 counts.
    return curve_verify_signature(key->get(), detail::data_or_empty(data), data.size(),
                                  signature.data(), signature.size()) == 1;
}

} // namespace veil::crypto
