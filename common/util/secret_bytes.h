// SecretBytes: key material and passphrases. Move-only, never printed, wiped on destruction
// with OPENSSL_cleanse so the compiler cannot elide the wipe.
//
// The bytes are also locked in memory (mlock) while the SecretBytes holds them, so that they are
// not written to swap. Locking is best effort: when RLIMIT_MEMLOCK (often 8 MiB, sometimes 0)
// is used up, the secret works the same, unlocked. Several secrets may share a page; the page
// stays locked until the last of them is gone (mlock does not count, so the pages are counted
// here). locked_bytes() says how many bytes of secrets are locked now, for tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace veil {

class SecretBytes {
public:
    SecretBytes() = default;
    explicit SecretBytes(std::size_t size);
    SecretBytes(const std::uint8_t* data, std::size_t size);
    static SecretBytes from_string(std::string_view text);
    ~SecretBytes();

    SecretBytes(SecretBytes&& other) noexcept;
    SecretBytes& operator=(SecretBytes&& other) noexcept;
    SecretBytes(const SecretBytes&) = delete;
    SecretBytes& operator=(const SecretBytes&) = delete;

    std::uint8_t* data() { return m_bytes.data(); }
    const std::uint8_t* data() const { return m_bytes.data(); }
    std::size_t size() const { return m_bytes.size(); }
    bool empty() const { return m_bytes.empty(); }
    std::span<const std::uint8_t> view() const { return m_bytes; }

    // An explicit copy, so that duplicating a secret is visible in the code.
    SecretBytes clone() const { return SecretBytes(data(), size()); }
    void wipe();

    // Bytes of pages this process holds locked for secrets now (0 when every mlock failed).
    static std::size_t locked_bytes();

private:
    std::vector<std::uint8_t> m_bytes;
};

using Bytes = std::vector<std::uint8_t>;

} // namespace veil
