// Signer: the load generator's identity. Every benchmark account registers with the same
// identity key pair and signed prekey (the relay does not require them to differ), so setup
// costs one key generation; each registration and each authentication still carries a real
// XEdDSA signature over the relay's fresh nonce, which the relay verifies (veil.proto).
#pragma once

#include "crypto/keys.h"
#include "crypto/signal_context.h"
#include "util/secret_bytes.h"

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace veil::bench {

class Signer {
public:
    Signer(); // fails the workload if libsignal cannot generate keys

    const Bytes& identity_key() const { return m_identity.key_pair.public_key; }
    std::uint32_t registration_id() const { return m_identity.registration_id; }
    const crypto::GeneratedSignedPrekey& signed_prekey() const { return m_signed_prekey; }
    // The identity key pair, copied (for a workload that keeps libsignal sessions of its
    // accounts, B9), and the libsignal context it was made in.
    crypto::IdentityKeyPair identity_pair() const {
        return {m_identity.key_pair.public_key, m_identity.key_pair.private_key.clone()};
    }
    crypto::SignalContext& context() { return *m_context; }

    // "veil-register-v1" || nonce || username, signed.
    Bytes sign_registration(std::span<const std::uint8_t> nonce, const std::string& username);
    // "veil-auth-v1" || nonce || username || 0x00 || device_id (big endian), signed.
    Bytes sign_auth(std::span<const std::uint8_t> nonce, const std::string& username,
                    std::uint32_t device_id);
    // Any bytes, signed with the identity key (a group change's "veil-group-v1" || state).
    Bytes sign(std::span<const std::uint8_t> data);

private:
    std::unique_ptr<crypto::SignalContext> m_context;
    crypto::GeneratedIdentity m_identity;
    crypto::GeneratedSignedPrekey m_signed_prekey;
};

} // namespace veil::bench
