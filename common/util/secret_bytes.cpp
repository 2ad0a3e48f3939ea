#include "util/secret_bytes.h"

#include <openssl/crypto.h>

#include <cstring>
#include <mutex>
#include <sys/mman.h>
#include <unistd.h>
#include <unordered_map>

namespace veil {
namespace {

// Pages holding secrets, each with the number of live secrets on it and whether mlock took.
struct PageLocks {
    std::mutex mutex;
    struct Page {
        std::size_t secrets = 0;
        bool locked = false;
    };
    std::unordered_map<std::uintptr_t, Page> pages;
    std::size_t locked = 0;
};

PageLocks& page_locks() {
    // Never destroyed: secrets in other static objects may be wiped after this would be.
    static auto* locks = new PageLocks;
    return *locks;
}

std::uintptr_t page_size() {
    static const auto size = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    return size;
}

template <typename F>
void for_each_page(const std::uint8_t* data, std::size_t size, F f) {
    const std::uintptr_t mask = ~(page_size() - 1);
    const auto first = reinterpret_cast<std::uintptr_t>(data) & mask;
    const auto last = (reinterpret_cast<std::uintptr_t>(data) + size - 1) & mask;
    for (std::uintptr_t page = first; page <= last; page += page_size())
        f(page);
}

void lock_memory(const std::uint8_t* data, std::size_t size) {
    if (size == 0)
        return;
    auto& locks = page_locks();
    std::lock_guard guard(locks.mutex);
    for_each_page(data, size, [&](std::uintptr_t page) {
        auto& p = locks.pages[page];
        if (p.secrets++ == 0) {
            // A failure (RLIMIT_MEMLOCK reached) leaves the page unlocked and the secret usable.
            p.locked = ::mlock(reinterpret_cast<void*>(page), page_size()) == 0;
            if (p.locked)
                locks.locked += page_size();
        }
    });
}

void unlock_memory(const std::uint8_t* data, std::size_t size) {
    if (size == 0)
        return;
    auto& locks = page_locks();
    std::lock_guard guard(locks.mutex);
    for_each_page(data, size, [&](std::uintptr_t page) {
        auto it = locks.pages.find(page);
        if (it == locks.pages.end() || --it->second.secrets > 0)
            return;
        if (it->second.locked) {
            ::munlock(reinterpret_cast<void*>(page), page_size());
            locks.locked -= page_size();
        }
        locks.pages.erase(it);
    });
}

} // namespace

SecretBytes::SecretBytes(std::size_t size)
    : m_bytes(size, 0) {
    lock_memory(m_bytes.data(), m_bytes.size());
}

SecretBytes::SecretBytes(const std::uint8_t* data, std::size_t size)
    : m_bytes(size, 0) {
    // Locked before the secret is copied in, so that it is never on an unlocked page.
    lock_memory(m_bytes.data(), m_bytes.size());
    if (size > 0)
        std::memcpy(m_bytes.data(), data, size);
}

SecretBytes SecretBytes::from_string(std::string_view text) {
    return SecretBytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

SecretBytes::~SecretBytes() {
    wipe();
}

// A moved vector keeps its buffer, so the lock moves with it.
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
    if (!m_bytes.empty()) {
        OPENSSL_cleanse(m_bytes.data(), m_bytes.size());
        unlock_memory(m_bytes.data(), m_bytes.size());
    }
    m_bytes.clear();
}

std::size_t SecretBytes::locked_bytes() {
    auto& locks = page_locks();
    std::lock_guard guard(locks.mutex);
    return locks.locked;
}

} // namespace veil
