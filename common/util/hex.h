// Hex and small byte helpers shared by every module.
#pragma once

#include "util/result.h"
#include "util/secret_bytes.h"

#include <span>
#include <string>
#include <string_view>

namespace veil {

std::string to_hex(std::span<const std::uint8_t> bytes);
Result<Bytes> from_hex(std::string_view hex);
inline Bytes to_bytes(std::string_view s) {
    return Bytes(s.begin(), s.end());
}
inline std::string to_string(std::span<const std::uint8_t> b) {
    return std::string(b.begin(), b.end());
}

} // namespace veil
