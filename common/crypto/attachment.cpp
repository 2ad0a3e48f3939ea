#include "crypto/attachment.h"

#include "crypto/detail/openssl_handles.h"
#include "crypto/provider.h"
#include "util/hex.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace veil::crypto {
namespace {

constexpr std::size_t kChunkBytes = 64 * 1024;
constexpr std::size_t kBlockBytes = 16;
constexpr std::size_t kAesKeyBytes = 32;

// Fills the buffer unless the source ends first; returns the bytes read (0 at the end).
using Reader = std::function<Result<std::size_t>(std::span<std::uint8_t>)>;
using Writer = std::function<Status(std::span<const std::uint8_t>)>;

Error crypto_error(const char* what) {
    return make_error(Errc::crypto, what);
}

Error corrupt(const char* what) {
    return make_error(Errc::corrupt, what);
}

Error io_error(const std::string& what) {
    // The path is left out on purpose: file names of attachments are the user's business.
    return make_error(Errc::io, what + ": " + std::strerror(errno));
}

std::span<const std::uint8_t> aes_key(const SecretBytes& key) {
    return key.view().first(kAesKeyBytes);
}

std::span<const std::uint8_t> mac_key(const SecretBytes& key) {
    return key.view().subspan(kAesKeyBytes);
}

// --- files ---

class Fd {
public:
    explicit Fd(int fd = -1)
        : m_fd(fd) {}
    ~Fd() { reset(); }
    Fd(Fd&& other) noexcept
        : m_fd(std::exchange(other.m_fd, -1)) {}
    Fd& operator=(Fd&&) = delete;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;

    int get() const { return m_fd; }
    explicit operator bool() const { return m_fd >= 0; }
    void reset() {
        if (m_fd >= 0)
            ::close(m_fd);
        m_fd = -1;
    }
    // Closes and reports the result, which matters after writing (NFS reports errors here).
    bool close() { return ::close(std::exchange(m_fd, -1)) == 0; }

private:
    int m_fd;
};

Result<Fd> open_for_reading(const std::filesystem::path& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
        return io_error("cannot open a file");
    return fd;
}

Result<std::uint64_t> file_size(int fd) {
    struct stat info {};
    if (::fstat(fd, &info) != 0)
        return io_error("cannot read a file's size");
    if (!S_ISREG(info.st_mode))
        return make_error(Errc::io, "not a regular file");
    return static_cast<std::uint64_t>(info.st_size);
}

Result<std::size_t> read_full(int fd, std::span<std::uint8_t> buffer) {
    std::size_t done = 0;
    while (done < buffer.size()) {
        ssize_t n = ::read(fd, buffer.data() + done, buffer.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return io_error("cannot read a file");
        if (n == 0)
            break;
        done += static_cast<std::size_t>(n);
    }
    return done;
}

Status write_all(int fd, std::span<const std::uint8_t> data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return io_error("cannot write a file");
        data = data.subspan(static_cast<std::size_t>(n));
    }
    return {};
}

Reader fd_reader(int fd) {
    return [fd](std::span<std::uint8_t> buffer) { return read_full(fd, buffer); };
}

Writer fd_writer(int fd) {
    return [fd](std::span<const std::uint8_t> data) { return write_all(fd, data); };
}

// A new file next to the target, readable by the owner only, that takes the target's place on
// commit() and is removed if it never does.
class TempFile {
public:
    static Result<TempFile> create(const std::filesystem::path& target) {
        auto parent = target.has_parent_path() ? target.parent_path() : ".";
        auto name = "." + target.filename().string() + ".part-" + to_hex(random_bytes(8));
        auto temp = parent / name;
        Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
        if (!fd)
            return io_error("cannot create a temporary file");
        return TempFile(std::move(fd), std::move(temp), target);
    }

    ~TempFile() {
        if (m_temp.empty())
            return; // committed, or moved from
        m_fd.reset();
        std::error_code ignored;
        std::filesystem::remove(m_temp, ignored);
    }
    TempFile(TempFile&& other) noexcept
        : m_fd(std::move(other.m_fd))
        , m_temp(std::exchange(other.m_temp, {}))
        , m_target(std::move(other.m_target)) {}
    TempFile& operator=(TempFile&&) = delete;
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;

    int fd() const { return m_fd.get(); }

    // Makes the data durable, then puts the file in the target's place in one step.
    Status commit() {
        if (::fsync(m_fd.get()) != 0)
            return io_error("cannot flush a file");
        if (!m_fd.close())
            return io_error("cannot close a file");
        std::error_code error;
        std::filesystem::rename(m_temp, m_target, error);
        if (error)
            return make_error(Errc::io, "cannot move a file into place: " + error.message());
        m_temp.clear();
        return {};
    }

private:
    TempFile(Fd fd, std::filesystem::path temp, std::filesystem::path target)
        : m_fd(std::move(fd))
        , m_temp(std::move(temp))
        , m_target(std::move(target)) {}

    Fd m_fd;
    std::filesystem::path m_temp;
    std::filesystem::path m_target;
};

// --- the cipher ---

// Encrypts a stream into a blob: writes the IV, the ciphertext and the MAC through a Writer
// while hashing everything it writes.
class Sealer {
public:
    static Result<Sealer> start(const SecretBytes& key, Writer write) {
        Sealer sealer(std::move(write));
        auto mac = detail::hmac_sha256_start(mac_key(key));
        if (!mac)
            return mac.error();
        sealer.m_mac = std::move(mac).value();
        auto sha = detail::sha256_start();
        if (!sha)
            return sha.error();
        sealer.m_sha = std::move(sha).value();

        Bytes iv(kAttachmentIvBytes);
        VEIL_TRY(random_bytes(std::span<std::uint8_t>(iv)));
        sealer.m_cipher.reset(EVP_CIPHER_CTX_new());
        if (!sealer.m_cipher || EVP_EncryptInit_ex(sealer.m_cipher.get(), EVP_aes_256_cbc(),
                                                   nullptr, aes_key(key).data(), iv.data()) != 1)
            return crypto_error("AES-256-CBC initialisation failed");
        VEIL_TRY(sealer.emit(iv, true));
        return sealer;
    }

    Status feed(std::span<const std::uint8_t> plain) {
        int written = 0;
        if (EVP_EncryptUpdate(m_cipher.get(), m_out.data(), &written, plain.data(),
                              static_cast<int>(plain.size())) != 1)
            return crypto_error("AES-256-CBC encryption failed");
        return emit({m_out.data(), static_cast<std::size_t>(written)}, true);
    }

    Result<EncryptedAttachment> finish(std::uint64_t plain_size) {
        int written = 0;
        if (EVP_EncryptFinal_ex(m_cipher.get(), m_out.data(), &written) != 1)
            return crypto_error("AES-256-CBC finalisation failed");
        VEIL_TRY(emit({m_out.data(), static_cast<std::size_t>(written)}, true));

        Bytes tag(kAttachmentMacBytes);
        std::size_t tag_size = 0;
        if (EVP_MAC_final(m_mac.get(), tag.data(), &tag_size, tag.size()) != 1 ||
            tag_size != tag.size())
            return crypto_error("HMAC-SHA256 finalisation failed");
        VEIL_TRY(emit(tag, false));

        EncryptedAttachment out;
        out.digest.resize(kAttachmentDigestBytes);
        unsigned int digest_size = 0;
        if (EVP_DigestFinal_ex(m_sha.get(), out.digest.data(), &digest_size) != 1 ||
            digest_size != out.digest.size())
            return crypto_error("SHA-256 finalisation failed");
        out.blob_size = m_blob_size;
        out.plain_size = plain_size;
        return out;
    }

private:
    explicit Sealer(Writer write)
        : m_write(std::move(write))
        , m_out(kChunkBytes + kBlockBytes) {}

    Status emit(std::span<const std::uint8_t> bytes, bool authenticated) {
        if (bytes.empty())
            return {};
        if (authenticated && EVP_MAC_update(m_mac.get(), bytes.data(), bytes.size()) != 1)
            return crypto_error("HMAC-SHA256 update failed");
        if (EVP_DigestUpdate(m_sha.get(), bytes.data(), bytes.size()) != 1)
            return crypto_error("SHA-256 update failed");
        VEIL_TRY(m_write(bytes));
        m_blob_size += bytes.size();
        return {};
    }

    Writer m_write;
    Bytes m_out; // ciphertext only, never plaintext
    detail::EvpCipherCtxPtr m_cipher;
    detail::EvpMacCtxPtr m_mac;
    detail::EvpMdCtxPtr m_sha;
    std::uint64_t m_blob_size = 0;
};

Result<EncryptedAttachment> encrypt_stream(const Reader& read, Writer write,
                                           const SecretBytes& key) {
    auto sealer = Sealer::start(key, std::move(write));
    if (!sealer)
        return sealer.error();

    SecretBytes chunk(kChunkBytes);
    std::uint64_t plain_size = 0;
    for (;;) {
        auto n = read({chunk.data(), chunk.size()});
        if (!n)
            return n.error();
        if (*n == 0)
            break;
        plain_size += *n;
        if (plain_size > kAttachmentMaxPlainBytes)
            return make_error(Errc::too_large, "the file is too large to attach");
        VEIL_TRY(sealer->feed({chunk.data(), *n}));
    }

    // Zeros up to the bucket, so the blob's size gives away only the bucket.
    const Bytes zeros(kChunkBytes, 0);
    for (std::uint64_t left = attachment_padded_size(plain_size) - plain_size; left > 0;) {
        auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, zeros.size()));
        VEIL_TRY(sealer->feed({zeros.data(), n}));
        left -= n;
    }
    return sealer->finish(plain_size);
}

Result<detail::EvpMacCtxPtr> mac_over(const Reader& read, std::uint64_t count,
                                      const SecretBytes& key, EVP_MD_CTX* sha) {
    auto mac = detail::hmac_sha256_start(mac_key(key));
    if (!mac)
        return mac.error();
    Bytes chunk(kChunkBytes);
    while (count > 0) {
        auto want = static_cast<std::size_t>(std::min<std::uint64_t>(count, chunk.size()));
        auto n = read({chunk.data(), want});
        if (!n)
            return n.error();
        if (*n != want)
            return corrupt("the attachment changed while it was being read");
        if (EVP_MAC_update(mac->get(), chunk.data(), want) != 1 ||
            (sha && EVP_DigestUpdate(sha, chunk.data(), want) != 1))
            return crypto_error("hashing the attachment failed");
        count -= want;
    }
    return mac;
}

using Tag = std::array<std::uint8_t, kAttachmentMacBytes>;

// Reads the MAC stored at the end of the blob, hashing it into sha if given, and makes sure
// nothing follows it.
Result<Tag> read_tag(const Reader& read, EVP_MD_CTX* sha) {
    std::uint8_t stored[kAttachmentMacBytes + 1];
    auto n = read({stored, sizeof stored});
    if (!n)
        return n.error();
    if (*n != kAttachmentMacBytes)
        return corrupt("the attachment changed while it was being read");
    if (sha && EVP_DigestUpdate(sha, stored, kAttachmentMacBytes) != 1)
        return crypto_error("hashing the attachment failed");
    Tag tag;
    std::copy_n(stored, tag.size(), tag.begin());
    return tag;
}

Status check_tag(EVP_MAC_CTX* mac, const Tag& stored) {
    Tag computed;
    std::size_t computed_size = 0;
    if (EVP_MAC_final(mac, computed.data(), &computed_size, computed.size()) != 1 ||
        computed_size != computed.size())
        return crypto_error("HMAC-SHA256 finalisation failed");
    if (CRYPTO_memcmp(stored.data(), computed.data(), computed.size()) != 0)
        return corrupt("the attachment's MAC does not match: it is damaged or the key is wrong");
    return {};
}

// The first pass: the blob's digest and MAC, before a single byte is decrypted.
Status verify_stream(const Reader& read, std::uint64_t blob_size, const SecretBytes& key,
                     std::span<const std::uint8_t> digest) {
    auto sha = detail::sha256_start();
    if (!sha)
        return sha.error();
    auto mac = mac_over(read, blob_size - kAttachmentMacBytes, key, sha->get());
    if (!mac)
        return mac.error();
    auto stored = read_tag(read, sha->get());
    if (!stored)
        return stored.error();

    std::uint8_t computed[kAttachmentDigestBytes];
    unsigned int computed_size = 0;
    if (EVP_DigestFinal_ex(sha->get(), computed, &computed_size) != 1 ||
        computed_size != sizeof computed)
        return crypto_error("SHA-256 finalisation failed");
    if (CRYPTO_memcmp(computed, digest.data(), sizeof computed) != 0)
        return corrupt("the attachment's digest does not match: it is damaged or was replaced");
    return check_tag(mac->get(), *stored);
}

// Takes decrypted bytes: the first plain_size go to the writer, the padding after them must be
// zeros.
class Unpadder {
public:
    Unpadder(Writer write, std::uint64_t plain_size)
        : m_write(std::move(write))
        , m_left(plain_size) {}

    Status take(std::span<const std::uint8_t> bytes) {
        auto n = static_cast<std::size_t>(std::min<std::uint64_t>(m_left, bytes.size()));
        if (n > 0)
            VEIL_TRY(m_write(bytes.first(n)));
        m_left -= n;
        for (std::uint8_t byte : bytes.subspan(n))
            m_nonzero |= byte;
        m_total += bytes.size();
        return {};
    }

    bool complete(std::uint64_t padded_size) const {
        return m_left == 0 && m_nonzero == 0 && m_total == padded_size;
    }

private:
    Writer m_write;
    std::uint64_t m_left;
    std::uint64_t m_total = 0;
    std::uint8_t m_nonzero = 0;
};

// The second pass: decrypts into the writer and checks the MAC again over the bytes it read, so
// a blob changed after the first pass is still refused (the caller then discards the output).
Status open_stream(const Reader& read, std::uint64_t blob_size, const SecretBytes& key,
                   Writer write, std::uint64_t plain_size) {
    auto mac = detail::hmac_sha256_start(mac_key(key));
    if (!mac)
        return mac.error();
    Bytes iv(kAttachmentIvBytes);
    auto n = read(iv);
    if (!n)
        return n.error();
    if (*n != iv.size() || EVP_MAC_update(mac->get(), iv.data(), iv.size()) != 1)
        return corrupt("the attachment changed while it was being read");
    detail::EvpCipherCtxPtr cipher(EVP_CIPHER_CTX_new());
    if (!cipher || EVP_DecryptInit_ex(cipher.get(), EVP_aes_256_cbc(), nullptr, aes_key(key).data(),
                                      iv.data()) != 1)
        return crypto_error("AES-256-CBC initialisation failed");

    Unpadder out(std::move(write), plain_size);
    Bytes chunk(kChunkBytes);
    SecretBytes plain(kChunkBytes + kBlockBytes);
    std::uint64_t left = blob_size - kAttachmentIvBytes - kAttachmentMacBytes;
    while (left > 0) {
        auto want = static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk.size()));
        auto got = read({chunk.data(), want});
        if (!got)
            return got.error();
        if (*got != want || EVP_MAC_update(mac->get(), chunk.data(), want) != 1)
            return corrupt("the attachment changed while it was being read");
        int written = 0;
        if (EVP_DecryptUpdate(cipher.get(), plain.data(), &written, chunk.data(),
                              static_cast<int>(want)) != 1)
            return crypto_error("AES-256-CBC decryption failed");
        VEIL_TRY(out.take({plain.data(), static_cast<std::size_t>(written)}));
        left -= want;
    }
    int written = 0;
    if (EVP_DecryptFinal_ex(cipher.get(), plain.data(), &written) != 1)
        return corrupt("the attachment's padding is invalid");
    VEIL_TRY(out.take({plain.data(), static_cast<std::size_t>(written)}));

    auto stored = read_tag(read, nullptr);
    if (!stored)
        return stored.error();
    VEIL_TRY(check_tag(mac->get(), *stored));
    if (!out.complete(attachment_padded_size(plain_size)))
        return corrupt("the attachment's padding is malformed");
    return {};
}

Status check_inputs(const SecretBytes& key, std::span<const std::uint8_t> digest) {
    if (key.size() != kAttachmentKeyBytes)
        return make_error(Errc::invalid_argument, "an attachment key must be 64 bytes");
    if (digest.size() != kAttachmentDigestBytes)
        return make_error(Errc::invalid_argument, "an attachment digest must be 32 bytes");
    return {};
}

Status check_blob_size(std::uint64_t blob_size, std::uint64_t plain_size) {
    if (plain_size > kAttachmentMaxPlainBytes)
        return corrupt("the attachment's size is not plausible");
    if (blob_size != attachment_blob_size(plain_size))
        return corrupt("the attachment's blob has the wrong size");
    return {};
}

// Reads from a span in memory.
Reader span_reader(std::span<const std::uint8_t> bytes) {
    return [bytes, offset = std::size_t{0}](std::span<std::uint8_t> buffer) mutable {
        std::size_t n = std::min(buffer.size(), bytes.size() - offset);
        std::copy_n(bytes.data() + offset, n, buffer.data());
        offset += n;
        return Result<std::size_t>(n);
    };
}

} // namespace

Result<SecretBytes> generate_attachment_key() {
    SecretBytes key(kAttachmentKeyBytes);
    VEIL_TRY(random_bytes(std::span<std::uint8_t>(key.data(), key.size())));
    return key;
}

std::uint64_t attachment_padded_size(std::uint64_t plain_size) {
    if (plain_size > kAttachmentMaxPlainBytes)
        return plain_size; // never encrypted; refused by every caller
    std::uint64_t bucket = kAttachmentMinPaddedBytes;
    while (bucket < plain_size)
        bucket += (bucket + 19) / 20;
    return bucket;
}

std::uint64_t attachment_blob_size(std::uint64_t plain_size) {
    // PKCS#7 always adds between 1 and 16 bytes.
    std::uint64_t ciphertext = (attachment_padded_size(plain_size) / kBlockBytes + 1) * kBlockBytes;
    return kAttachmentIvBytes + ciphertext + kAttachmentMacBytes;
}

Result<EncryptedAttachment> encrypt_attachment(const std::filesystem::path& plain_path,
                                               const std::filesystem::path& out_path,
                                               const SecretBytes& key) {
    if (key.size() != kAttachmentKeyBytes)
        return make_error(Errc::invalid_argument, "an attachment key must be 64 bytes");
    auto in = open_for_reading(plain_path);
    if (!in)
        return in.error();
    auto out = TempFile::create(out_path);
    if (!out)
        return out.error();
    auto sealed = encrypt_stream(fd_reader(in->get()), fd_writer(out->fd()), key);
    if (!sealed)
        return sealed.error();
    VEIL_TRY(out->commit());
    return sealed;
}

Status decrypt_attachment(const std::filesystem::path& blob_path,
                          const std::filesystem::path& out_path, const SecretBytes& key,
                          std::span<const std::uint8_t> digest, std::uint64_t plain_size) {
    VEIL_TRY(check_inputs(key, digest));
    auto in = open_for_reading(blob_path);
    if (!in)
        return in.error();
    auto blob_size = file_size(in->get());
    if (!blob_size)
        return blob_size.error();
    VEIL_TRY(check_blob_size(*blob_size, plain_size));
    VEIL_TRY(verify_stream(fd_reader(in->get()), *blob_size, key, digest));

    if (::lseek(in->get(), 0, SEEK_SET) != 0)
        return io_error("cannot rewind a file");
    auto out = TempFile::create(out_path);
    if (!out)
        return out.error();
    VEIL_TRY(open_stream(fd_reader(in->get()), *blob_size, key, fd_writer(out->fd()), plain_size));
    return out->commit();
}

Result<EncryptedAttachmentBytes> encrypt_attachment(std::span<const std::uint8_t> plaintext,
                                                    const SecretBytes& key) {
    if (key.size() != kAttachmentKeyBytes)
        return make_error(Errc::invalid_argument, "an attachment key must be 64 bytes");
    if (plaintext.size() > kAttachmentMaxPlainBytes)
        return make_error(Errc::too_large, "the data is too large to attach");
    EncryptedAttachmentBytes out;
    out.blob.reserve(attachment_blob_size(plaintext.size()));
    auto append = [&out](std::span<const std::uint8_t> bytes) {
        out.blob.insert(out.blob.end(), bytes.begin(), bytes.end());
        return Status{};
    };
    auto sealed = encrypt_stream(span_reader(plaintext), append, key);
    if (!sealed)
        return sealed.error();
    out.info = std::move(sealed).value();
    return out;
}

Result<SecretBytes> decrypt_attachment(std::span<const std::uint8_t> blob, const SecretBytes& key,
                                       std::span<const std::uint8_t> digest,
                                       std::uint64_t plain_size) {
    VEIL_TRY(check_inputs(key, digest));
    VEIL_TRY(check_blob_size(blob.size(), plain_size));
    VEIL_TRY(verify_stream(span_reader(blob), blob.size(), key, digest));

    // The size was checked against the blob in memory, so this allocation is bounded by it.
    SecretBytes plain(static_cast<std::size_t>(plain_size));
    auto copy = [&plain, offset = std::size_t{0}](std::span<const std::uint8_t> bytes) mutable {
        std::copy(bytes.begin(), bytes.end(), plain.data() + offset);
        offset += bytes.size();
        return Status{};
    };
    VEIL_TRY(open_stream(span_reader(blob), blob.size(), key, copy, plain_size));
    return plain;
}

} // namespace veil::crypto
