// Sender keys: libsignal's group messaging. Each member device holds one sending chain per group
// and hands its SenderKeyDistributionMessage to every other member device over their pairwise
// sessions (session.h); a group message is then encrypted once, with the sender's chain, and
// every member decrypts the same bytes. Each message is signed by the sender's signing key, which
// only the sender holds, so members cannot forge messages in another member's name.
//
// Plaintext given here is already padded by the caller (protocol/padding.h), as for sessions.
// The store calls libsignal makes happen inside these functions, so a caller that wraps a call
// in a database transaction gets the sender key update atomically with whatever else it writes.
//
// Rotation: when a member leaves or is removed, each remaining member drops its own sender key
// (drop_sender_key with its own name), creates a new distribution message and sends it to the
// remaining members only; every member also drops the removed member's sender key. Members keep
// the five newest keys of each sender, so messages sent just before a rotation still decrypt.
//
// Names: a SenderKeyName is (group id, sending device). The group id is opaque, 1 to
// kMaxGroupIdBytes bytes; the caller decides who the sender is (from the authenticated pairwise
// session the distribution message came through, never from the message itself). Neither the
// group id nor the sender is inside a SenderKeyMessage. A message replayed into another group
// fails there (every group has its own sender key), but the caller should still authenticate
// the group id inside its padded content rather than rely on that.
#pragma once

#include "crypto/protocol_store.h"
#include "crypto/signal_context.h"
#include "util/result.h"
#include "util/secret_bytes.h"

#include <cstddef>
#include <span>

namespace veil::crypto {

inline constexpr std::size_t kMaxGroupIdBytes = 64;
// A distribution message is about 90 bytes: key id, iteration, a 32-byte chain key and a 33-byte
// public key. Anything far larger is refused before libsignal parses it.
inline constexpr std::size_t kMaxDistributionMessageBytes = 512;
// The largest SenderKeyMessage accepted, the wire limit on one ciphertext
// (protocol::kMaxCiphertextBytes, which this module cannot see; a test checks they agree).
inline constexpr std::size_t kMaxSenderKeyMessageBytes = 128 * 1024;
// The largest padded plaintext group_encrypt takes: its message then stays under the limit
// above (AES-CBC padding, the protobuf header, the version byte and a 64-byte signature).
inline constexpr std::size_t kMaxGroupPlaintextBytes = kMaxSenderKeyMessageBytes - 256;

// Returns our SenderKeyDistributionMessage for own.group_id, creating a new sender key first when
// we hold none for own. Calling it again returns the same key at its current chain position, so
// a member added later cannot read what was sent before. The bytes hold the chain key: they are
// a secret, to be sent only inside pairwise-encrypted content. Errors: invalid_argument (bad
// name, or a received sender key is stored under own), the store's own error, crypto.
Result<SecretBytes> create_distribution_message(StoreContext& store, const SenderKeyName& own);

// Stores the sender key in a distribution message received from sender. A message for a key id
// already held for sender changes nothing (a stale copy would rewind the chain and let old
// messages be replayed). Errors: invalid_argument (bad name, or sender names a sender key of our
// own), too_large, invalid_message (garbage, truncated, unknown version, malformed keys), the
// store's own error.
Status process_distribution_message(StoreContext& store, const SenderKeyName& sender,
                                    std::span<const std::uint8_t> message);

// Whether any sender key is stored for name (ours or a member's).
Result<bool> has_sender_key(StoreContext& store, const SenderKeyName& name);

// Encrypts once for the whole group with our sender key. Returns the serialized
// SenderKeyMessage. Errors: invalid_argument (bad name), too_large (over
// kMaxGroupPlaintextBytes), no_session (no sender key of ours for this group: create a
// distribution message first), crypto (the key stored under own is a received one, which has no
// signing key), the store's own error.
Result<Bytes> group_encrypt(StoreContext& store, const SenderKeyName& own,
                            std::span<const std::uint8_t> padded_plaintext);

// Decrypts a SenderKeyMessage from sender. Errors: invalid_argument (bad name), too_large,
// invalid_message (garbage, truncated, bad signature, tampered, more than 2000 messages ahead of
// the chain), no_session (no sender key from sender in this group, or none with the message's
// key id: the distribution message is missing, or the sender rotated without us),
// duplicate_message (already decrypted, or sent before the chain position we received the key
// at), the store's own error, crypto. A failed decrypt stores
// nothing; the caller still rolls its transaction back, as for sessions.
Result<SecretBytes> group_decrypt(StoreContext& store, const SenderKeyName& sender,
                                  std::span<const std::uint8_t> message);

// Forgets the sender key stored under name: our own (the next distribution message then holds a
// brand new key) or a member's (a removed member, whose later messages then fail with
// no_session). Succeeds when there is none. Errors: invalid_argument, the store's own error.
Status drop_sender_key(StoreContext& store, const SenderKeyName& name);

} // namespace veil::crypto
