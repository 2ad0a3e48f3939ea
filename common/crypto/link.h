// Linking a new device to an account through the relay, which is not trusted with it
// (protocol/veil.proto, "Devices and linking"), and the sealed device names the relay stores.
//
// The new device shows a link code: the relay channel and a secret the relay never sees. The
// two devices swap fresh X25519 public keys in clear over the channel, and both derive the keys
// of the link from the X25519 result *and* the secret: the relay, which can substitute public
// keys of its own but lacks the secret, ends up with keys that open nothing, so the first box
// from the other end fails and the link is abandoned. Every box after the exchange is sealed
// with link_seal under the key of its direction and a counter each end keeps.
//
// An active relay that substitutes its keys could afterwards search for the secret offline
// against a box it kept: 2^80 tries, which is why the secret has 10 bytes and not fewer.
//
// Device names are sealed with a key derived from the account's identity private key, in the
// 32-byte serialized form libsignal uses (IdentityKeyPair::private_key in protocol_store.h),
// so every device of the account can open them and the relay cannot.
//
// Every function is thread-safe. Errors are values: invalid_argument for wrong sizes or a code
// that does not parse (with a sentence fit to show people), crypto for boxes that do not verify
// and keys that give no shared secret.
#pragma once

#include "util/result.h"
#include "util/secret_bytes.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace veil::crypto {

// These mirror protocol::kLinkChannelBytes and kLinkSecretBytes, which this module cannot see;
// a test checks that they agree.
inline constexpr std::size_t kLinkChannelBytes = 5;
inline constexpr std::size_t kLinkSecretBytes = 10;
inline constexpr std::size_t kLinkPublicKeyBytes = 32;  // X25519
inline constexpr std::size_t kLinkPrivateKeyBytes = 32; // X25519
inline constexpr std::size_t kLinkKeyBytes = 32;        // AES-256-GCM, one per direction
inline constexpr std::size_t kLinkTagBytes = 16;        // what link_seal adds to a plaintext
// The text form has 24 symbols of data (120 bits) and one check symbol.
inline constexpr std::size_t kLinkCodeSymbols = 25;
// The QR payload's prefix. Upper case on purpose: QR's alphanumeric mode has no lower-case
// letters, and with it the whole payload fits a version 2 symbol (25 x 25 modules) where a
// lower-case prefix needs version 3. parse_link_code takes it in any case.
inline constexpr std::string_view kLinkUriPrefix = "VEIL-LINK:";

// The largest device name seal_device_name takes, so that its output stays within the 256 bytes
// the relay stores (protocol::kMaxDeviceNameBytes). People's names are capped lower, at 64
// bytes, by the caller.
inline constexpr std::size_t kMaxSealedDeviceNameBytes = 256;
inline constexpr std::size_t kDeviceNameNonceBytes = 12;
inline constexpr std::size_t kMaxSealableDeviceNameBytes =
    kMaxSealedDeviceNameBytes - kDeviceNameNonceBytes - kLinkTagBytes;

// A link code: the relay channel (kLinkChannelBytes) and a secret (kLinkSecretBytes) that the
// relay never sees.
struct LinkCode {
    Bytes channel;
    SecretBytes secret;
};

// A fresh random secret of kLinkSecretBytes. Aborts the process if the CSPRNG fails.
SecretBytes new_link_secret();

// The text people read and type: Crockford base32 (0-9 A-Z without I L O U) of
// channel || secret, then one check symbol, upper case, in groups of four separated by '-':
// "XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-C". The check symbol catches every single mistyped symbol and
// every swap of two symbols. Returns "" when channel or secret has the wrong size (a
// programming error). The result holds the secret: show it, never log it.
std::string format_link_code(std::span<const std::uint8_t> channel, const SecretBytes& secret);

// Reads what people type or paste: a code from format_link_code or a payload from
// link_code_uri. Case does not matter; spaces, tabs, line breaks and dashes are ignored;
// O reads as 0, and I and L as 1. Errors (invalid_argument), each a sentence for people:
// "the link code is too short", "the link code is too long", "the link code has a character
// that cannot be in a code: 'U'", "the link code has a typo (its check character does not
// match)".
Result<LinkCode> parse_link_code(std::string_view text);

// The QR payload: kLinkUriPrefix and the code's 25 symbols without dashes, all within QR's
// alphanumeric character set. Returns "" on wrong sizes, as format_link_code does.
std::string link_code_uri(std::span<const std::uint8_t> channel, const SecretBytes& secret);

// An ephemeral X25519 key pair: 32-byte public key, 32-byte private key. Use it for one link.
struct LinkKeyPair {
    Bytes public_key;
    SecretBytes private_key;
};

Result<LinkKeyPair> generate_link_key_pair();

// The keys of one link, one per direction (kLinkKeyBytes each).
struct LinkKeys {
    SecretBytes to_new;      // seals what the existing device sends to the new one
    SecretBytes to_existing; // seals what the new device sends to the existing one
};

// Both directions' keys, the same on both devices: HKDF-SHA256 with
//   ikm  = X25519(own_private, their_public),
//   salt = secret,
//   info = "veil-link-v1" || channel || existing_public || new_public,
// 64 bytes out: the first 32 are to_new, the last 32 to_existing.
// Errors: invalid_argument when a size is wrong, or when their_public and own_private's public
// key are not the two public keys named (in either order: each device passes its own private
// key); crypto when their_public is a low-order point (the shared secret is all zero).
Result<LinkKeys> derive_link_keys(const SecretBytes& own_private,
                                  std::span<const std::uint8_t> their_public,
                                  const SecretBytes& secret, std::span<const std::uint8_t> channel,
                                  std::span<const std::uint8_t> existing_public,
                                  std::span<const std::uint8_t> new_public);

// AES-256-GCM under one direction's key. The nonce is counter as 12 bytes big endian: each
// direction has its own key and counts its boxes from 0, so no nonce repeats under a key, no
// randomness is needed, and a box replayed, reordered or dropped fails to open. The caller
// must never seal twice with one counter. Output: ciphertext || 16-byte tag.
Result<Bytes> link_seal(const SecretBytes& key, std::uint64_t counter,
                        std::span<const std::uint8_t> plaintext);
// Errors: crypto, "the linked device's message does not verify", on any tampering, a wrong key
// or a wrong counter; invalid_argument for a key of the wrong size.
Result<SecretBytes> link_open(const SecretBytes& key, std::uint64_t counter,
                              std::span<const std::uint8_t> box);

// True when a Curve25519 public key (33 bytes in libsignal's form, 0x05 and the u-coordinate, or
// the 32-byte u-coordinate) is a point of small order, or no valid key at all: X25519 with it
// gives the all-zero secret whatever the private key, so a prekey or identity like that must
// never be used or accepted (QUALITY.md). Used by the relay on uploads and by clients on
// bundles.
bool is_low_order_point(std::span<const std::uint8_t> public_key);

// A device name the relay stores but cannot read. identity_private is the account's 32-byte
// serialized identity private key. The key is HKDF-SHA256(ikm = identity_private, no salt,
// info = "veil-device-name-v1"); AES-256-GCM with a random 12-byte nonce. Output:
// nonce || ciphertext || tag, 28 bytes more than the name. The caller checks that the name is
// UTF-8 of at most 64 bytes; names over kMaxSealableDeviceNameBytes are refused (too_large).
Result<Bytes> seal_device_name(const SecretBytes& identity_private, std::string_view name);
// Errors: crypto when sealed was not made with this identity key or was changed;
// invalid_argument for a key of the wrong size.
Result<std::string> open_device_name(const SecretBytes& identity_private,
                                     std::span<const std::uint8_t> sealed);

} // namespace veil::crypto
