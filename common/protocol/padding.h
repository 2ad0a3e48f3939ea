// Plaintext padding before encryption: the content, one 0x80 byte, then zeros up to a multiple
// of kPaddingBlock, so that ciphertext length reveals only a size bucket.
#pragma once

#include "util/result.h"
#include "util/secret_bytes.h"

#include <span>

namespace veil::protocol {

Bytes pad(std::span<const std::uint8_t> content);
Result<Bytes> unpad(std::span<const std::uint8_t> padded);

} // namespace veil::protocol
