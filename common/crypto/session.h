// Sessions: X3DH from a fetched bundle, Double Ratchet encrypt/decrypt. Plaintext given here is
// already padded by the caller (protocol/padding.h). The store calls made by libsignal happen
// inside these functions, so a caller that wraps a call in a database transaction gets the
// session, identity and prekey updates atomically with whatever else it writes.
#pragma once

#include "crypto/protocol_store.h"
#include "crypto/signal_context.h"
#include "util/result.h"
#include "util/secret_bytes.h"

#include <cstdint>
#include <optional>
#include <span>

namespace veil::crypto {

struct PrekeyBundle {
    std::uint32_t registration_id = 0;
    std::int32_t device_id = 1;
    Bytes identity_key; // 33 bytes
    std::uint32_t signed_prekey_id = 0;
    Bytes signed_prekey;           // 33 bytes
    Bytes signed_prekey_signature; // 64 bytes
    std::optional<std::uint32_t> prekey_id;
    Bytes prekey; // 33 bytes when prekey_id is set
};

enum class CiphertextType { whisper = 1, prekey = 2 };

struct Ciphertext {
    CiphertextType type = CiphertextType::whisper;
    Bytes bytes;
};

// Builds a session to address from a bundle (X3DH). Fails with Errc::crypto on a bad
// signed-prekey signature, Errc::untrusted_identity if the identity is not trusted, and
// Errc::invalid_argument on malformed keys.
Status process_bundle(StoreContext& store, const ProtocolAddress& address,
                      const PrekeyBundle& bundle);

Result<bool> has_session(StoreContext& store, const ProtocolAddress& address);

// How many messages have been encrypted on the current sending chain to address, that is since
// the last message from them that started a new chain. A receiver refuses a message more than
// 2,000 steps past the last one it saw, so a sender of messages that may be dropped (typing
// indicators to offline devices) checks this first. Errc::no_session when there is no session.
Result<std::uint32_t> sending_chain_index(StoreContext& store, const ProtocolAddress& address);

// How many messages from address we know were sent but have not received: libsignal keeps the
// key of every message it counted past on a receiving chain (a later message of the same chain
// arrived first) until that message comes or the key is dropped, so each kept key is one gap.
// Counted over the current session and the previous ones libsignal keeps. What it cannot count:
// messages sent at the end of a chain after the last one we received, since no later message
// of that chain says they exist; chains beyond libsignal's five receiving chains per session;
// keys past 2,000 per chain (the oldest are dropped). 0 without a session.
Result<std::uint32_t> missing_messages(StoreContext& store, const ProtocolAddress& address);

Result<Ciphertext> encrypt(StoreContext& store, const ProtocolAddress& address,
                           std::span<const std::uint8_t> padded_plaintext);

// Decrypts a message from address. Errors: duplicate_message (already decrypted),
// invalid_message (tampered, malformed, unknown version, or a base, identity or ratchet key that
// is a curve point of small order: refused before libsignal sees the message, so nothing is
// stored), untrusted_identity, no_session,
// crypto (anything else). When a ProtocolStore method is what failed, its own Error is returned
// instead (for example Errc::database). On error the caller must roll back its transaction:
// libsignal saves the sender's identity before it authenticates a prekey message.
Result<SecretBytes> decrypt(StoreContext& store, const ProtocolAddress& address,
                            const Ciphertext& ciphertext);

} // namespace veil::crypto
