// The attachment cipher: a file encrypted on the sending device with a fresh key, uploaded as an
// opaque blob (veil.proto, message Attachment) and checked before a byte of it is decrypted.
//
//   blob = IV (16 random bytes)
//        || AES-256-CBC/PKCS#7(plaintext || zeros up to attachment_padded_size(plain size))
//        || HMAC-SHA256(mac key, IV || ciphertext)          (32 bytes)
//   key  = 32 bytes AES-256 key || 32 bytes HMAC-SHA256 key (kAttachmentKeyBytes)
//   digest = SHA-256 of the whole blob; it travels with the key inside the encrypted message.
//
// The zero padding rounds the plaintext up to a size bucket, so the relay learns only the bucket.
// The file functions stream in chunks and never hold a whole file in memory. Every function is
// safe to call from any thread; none keeps state between calls.
#pragma once

#include "util/result.h"
#include "util/secret_bytes.h"

#include <cstdint>
#include <filesystem>
#include <span>

namespace veil::crypto {

inline constexpr std::size_t kAttachmentKeyBytes = 64;
inline constexpr std::size_t kAttachmentDigestBytes = 32;
inline constexpr std::size_t kAttachmentIvBytes = 16;
inline constexpr std::size_t kAttachmentMacBytes = 32;
// The smallest bucket: every attachment up to this size looks the same to the relay.
inline constexpr std::uint64_t kAttachmentMinPaddedBytes = 541;
// Far above any operator's limit; keeps every size computation clear of overflow.
inline constexpr std::uint64_t kAttachmentMaxPlainBytes = 1ull << 40;

struct EncryptedAttachment {
    Bytes digest;                // SHA-256 of the blob, kAttachmentDigestBytes
    std::uint64_t blob_size = 0; // bytes of the blob, as uploaded
    std::uint64_t plain_size = 0;
};

struct EncryptedAttachmentBytes {
    Bytes blob;
    EncryptedAttachment info;
};

// 64 bytes from OpenSSL's CSPRNG: the AES key, then the HMAC key.
Result<SecretBytes> generate_attachment_key();

// The bucket a plaintext of plain_size bytes is padded to before encryption: at least
// kAttachmentMinPaddedBytes, then buckets that grow by 5 % each (the integer series
// b' = b + ceil(b / 20), the same on every platform), so the padding costs at most 5 %. Sizes
// above kAttachmentMaxPlainBytes are returned unchanged (they are never encrypted).
std::uint64_t attachment_padded_size(std::uint64_t plain_size);
// The size of the blob for a plaintext of plain_size bytes.
std::uint64_t attachment_blob_size(std::uint64_t plain_size);

// Encrypts the file at plain_path into a blob at out_path (written through a temporary file in
// the same folder, readable by the owner only, and renamed, so out_path is either the whole
// blob or untouched). Errors:
// invalid_argument (a key that is not 64 bytes), too_large (above kAttachmentMaxPlainBytes),
// io (a file cannot be read or written), crypto (OpenSSL failed).
Result<EncryptedAttachment> encrypt_attachment(const std::filesystem::path& plain_path,
                                               const std::filesystem::path& out_path,
                                               const SecretBytes& key);

// Checks the blob at blob_path and decrypts it into out_path. The blob's size must be the one
// plain_size implies, its SHA-256 must equal digest and its MAC must verify, all before any
// plaintext is written; the plaintext then goes to a temporary file next to out_path (readable
// by the owner only), which is renamed to out_path once the MAC has been checked a second time
// over the bytes actually decrypted. On any failure nothing is left at out_path that was not
// there before. Errors: invalid_argument (key or digest of the wrong size), corrupt (size,
// digest, MAC or padding wrong: a damaged or forged blob, or the wrong key), io (file errors),
// crypto (OpenSSL failed).
Status decrypt_attachment(const std::filesystem::path& blob_path,
                          const std::filesystem::path& out_path, const SecretBytes& key,
                          std::span<const std::uint8_t> digest, std::uint64_t plain_size);

// The same cipher in memory, for small things (group avatars, tests). The plaintext comes back
// in SecretBytes so that it is wiped when dropped.
Result<EncryptedAttachmentBytes> encrypt_attachment(std::span<const std::uint8_t> plaintext,
                                                    const SecretBytes& key);
Result<SecretBytes> decrypt_attachment(std::span<const std::uint8_t> blob, const SecretBytes& key,
                                       std::span<const std::uint8_t> digest,
                                       std::uint64_t plain_size);

} // namespace veil::crypto
