#include "util/secret_bytes.h"

#include <openssl/crypto.h>

#include <cstring>

namespace veil {

SecretBytes::SecretBytes(std::size_t size)
    : m_bytes(size, 0) {}

SecretBytes::SecretBytes(const std::uint8_t* data, std::size_t size)
    : m_bytes(data, data + size) {}

SecretBytes SecretBytes::from_string(std::string_view text) {
    return SecretBytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

SecretBytes::~SecretBytes() {
    wipe();
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : m_bytes(std::move(other.m_bytes)) {
    other.m_bytes.clear();
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
    if (this != &other) {
        wipe();
        m_bytes = std::move(other.m_bytes);
        other.m_bytes.clear();
    }
    return *this;
}

void SecretBytes::wipe() {
    if (!m_bytes.empty())
        OPENSSL_cleanse(m_bytes.data(), m_bytes.size());
    m_bytes.clear();
}

} // namespace veil
