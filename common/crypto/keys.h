// Key generation and signatures: identity key pair, registration id, signed prekey, one-time
// prekeys; XEdDSA signatures with the identity key (used for relay auth and prekey signatures).
#pragma once

#include "crypto/protocol_store.h"
#include "crypto/signal_context.h"
#include "util/result.h"
#include "util/secret_bytes.h"

#include <cstdint>
#include <span>
#include <vector>

namespace veil::crypto {

struct GeneratedIdentity {
    IdentityKeyPair key_pair;
    std::uint32_t registration_id = 0;
};

struct GeneratedPrekey {
    std::uint32_t id = 0;
    Bytes public_key;   // 33 bytes, for the relay
    SecretBytes record; // serialized session_pre_key, for ProtocolStore::store_prekey
};

struct GeneratedSignedPrekey {
    std::uint32_t id = 0;
    Bytes public_key;   // 33 bytes
    Bytes signature;    // 64 bytes, by the identity key over public_key
    SecretBytes record; // serialized session_signed_pre_key
};

Result<GeneratedIdentity> generate_identity(SignalContext& context);

// Generates count one-time prekeys with ids start_id, start_id+1, ... (ids wrap below 2^24,
// skipping 0, as libsignal's medium ids do). The caller keeps the id counter monotonic.
Result<std::vector<GeneratedPrekey>> generate_prekeys(SignalContext& context,
                                                      std::uint32_t start_id, unsigned count);

Result<GeneratedSignedPrekey> generate_signed_prekey(SignalContext& context,
                                                     const IdentityKeyPair& identity,
                                                     std::uint32_t id, std::uint64_t timestamp_ms);

// XEdDSA signature (64 bytes) over data with a 32-byte serialized private key.
Result<Bytes> sign(SignalContext& context, const SecretBytes& private_key,
                   std::span<const std::uint8_t> data);

// Verifies a 64-byte signature by a 33-byte serialized public key. Malformed keys (wrong type
// byte, wrong length) and bad signatures both return false.
bool verify_signature(SignalContext& context, std::span<const std::uint8_t> public_key,
                      std::span<const std::uint8_t> data, std::span<const std::uint8_t> signature);

} // namespace veil::crypto
