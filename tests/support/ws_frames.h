// Hand-made WebSocket frames for tests that must send what the codec would never encode:
// any first byte (reserved bits, opcodes, FIN), any announced length, masked or not.
#pragma once

#include "util/secret_bytes.h"

#include <cstdint>

namespace veil::test {

// A frame header with any first byte and 7/16/64-bit length, masked with a zero key (so that
// the payload goes in clear) unless `masked` is false.
inline Bytes ws_header(std::uint8_t b0, std::uint64_t length, bool masked = true) {
    Bytes h = {b0};
    const std::uint8_t mask = masked ? 0x80 : 0;
    if (length < 126) {
        h.push_back(static_cast<std::uint8_t>(mask | length));
    } else if (length <= 0xFFFF) {
        h.push_back(mask | 126);
        h.push_back(static_cast<std::uint8_t>(length >> 8));
        h.push_back(static_cast<std::uint8_t>(length));
    } else {
        h.push_back(mask | 127);
        for (int shift = 56; shift >= 0; shift -= 8)
            h.push_back(static_cast<std::uint8_t>(length >> shift));
    }
    if (masked)
        h.insert(h.end(), {0, 0, 0, 0});
    return h;
}

inline Bytes ws_raw_frame(std::uint8_t b0, const Bytes& payload, bool masked = true) {
    Bytes f = ws_header(b0, payload.size(), masked);
    f.insert(f.end(), payload.begin(), payload.end());
    return f;
}

} // namespace veil::test
