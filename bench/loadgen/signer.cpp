#include "loadgen/signer.h"

#include "support/workload.h"

namespace veil::bench {

namespace {

Bytes text_bytes(std::string_view text) {
    return Bytes(text.begin(), text.end());
}

} // namespace

Signer::Signer() {
    m_context = need(crypto::SignalContext::create(), "creating a libsignal context");
    m_identity = need(crypto::generate_identity(*m_context), "generating an identity");
    m_signed_prekey = need(crypto::generate_signed_prekey(*m_context, m_identity.key_pair, 1, 0),
                           "generating a signed prekey");
}

Bytes Signer::sign_registration(std::span<const std::uint8_t> nonce, const std::string& username) {
    Bytes message = text_bytes("veil-register-v1");
    message.insert(message.end(), nonce.begin(), nonce.end());
    message.insert(message.end(), username.begin(), username.end());
    return need(crypto::sign(*m_context, m_identity.key_pair.private_key, message),
                "signing a registration");
}

Bytes Signer::sign_auth(std::span<const std::uint8_t> nonce, const std::string& username,
                        std::uint32_t device_id) {
    Bytes message = text_bytes("veil-auth-v1");
    message.insert(message.end(), nonce.begin(), nonce.end());
    message.insert(message.end(), username.begin(), username.end());
    message.push_back(0);
    for (int shift = 24; shift >= 0; shift -= 8)
        message.push_back(static_cast<std::uint8_t>(device_id >> shift));
    return need(crypto::sign(*m_context, m_identity.key_pair.private_key, message),
                "signing an authentication");
}

Bytes Signer::sign(std::span<const std::uint8_t> data) {
    return need(crypto::sign(*m_context, m_identity.key_pair.private_key, data),
                "signing a group change");
}

} // namespace veil::bench
