// The OpenSSL 3 crypto provider behind libsignal-protocol-c, also callable directly (for the
// attachment cipher and the known-answer tests). EVP APIs only.
#pragma once

#include "util/result.h"
#include "util/secret_bytes.h"

#include <span>

struct signal_context;

namespace veil::crypto {

// Fills a buffer from OpenSSL's CSPRNG.
Status random_bytes(std::span<std::uint8_t> out);
Bytes random_bytes(std::size_t count); // aborts the process if the CSPRNG fails

Result<Bytes> hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data);
Result<Bytes> sha512(std::span<const std::uint8_t> data);
// SHA-256 of data (group states are chained by it: relay and clients must agree).
Result<Bytes> sha256(std::span<const std::uint8_t> data);

// AES-256 (key 32 bytes, iv 16 bytes). CBC uses PKCS#7 padding; decrypt fails on bad padding.
Result<Bytes> aes_cbc_encrypt(std::span<const std::uint8_t> key, std::span<const std::uint8_t> iv,
                              std::span<const std::uint8_t> plaintext);
Result<Bytes> aes_cbc_decrypt(std::span<const std::uint8_t> key, std::span<const std::uint8_t> iv,
                              std::span<const std::uint8_t> ciphertext);
// CTR: iv is the initial 16-byte counter block. Also accepts 16- or 24-byte keys for the NIST
// known-answer vectors.
Result<Bytes> aes_ctr(std::span<const std::uint8_t> key, std::span<const std::uint8_t> iv,
                      std::span<const std::uint8_t> input);

// Installs the provider's callbacks into a libsignal context.
Status install_provider(signal_context* context);

} // namespace veil::crypto
