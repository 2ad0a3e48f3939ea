#include "util/environment.h"

#include <openssl/crypto.h>

#include <cstdlib>
#include <cstring>

namespace veil {

std::optional<SecretBytes> take_secret_from_environment(const char* name) {
    char* value = std::getenv(name);
    if (!value)
        return std::nullopt;
    const std::size_t size = std::strlen(value);
    SecretBytes copy(size);
    if (size > 0)
        std::memcpy(copy.data(), value, size);
    // getenv points into the environment itself: for a variable the process started with, into
    // the block the kernel placed on the stack, which is what /proc/PID/environ reads. unsetenv
    // only drops the pointer to it, so the bytes are wiped first.
    OPENSSL_cleanse(value, size);
    ::unsetenv(name);
    return copy;
}

} // namespace veil
