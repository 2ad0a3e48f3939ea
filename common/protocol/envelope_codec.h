// Encoding and validating wire envelopes. Decoding arbitrary bytes never crashes: it returns
// an error for anything oversize, unparsable, of another version, or breaking the limits.
#pragma once

#include "protocol/limits.h"
#include "util/result.h"
#include "util/secret_bytes.h"
#include "veil.pb.h"

#include <span>
#include <string>
#include <string_view>

namespace veil::protocol {

Result<wire::Envelope> decode_envelope(std::span<const std::uint8_t> frame);
Bytes encode_envelope(const wire::Envelope& envelope);

// Checks the limits of every field of a decoded envelope (sizes, counts, required fields).
Status validate(const wire::Envelope& envelope);

// The sizes of a GroupChange (state bytes, signer, signature); group_rules.h checks its meaning.
Status validate_group_change(const wire::GroupChange& change);

// Usernames: 2..32 bytes of [a-z0-9_.-], starting with a letter or digit.
bool valid_username(std::string_view name);

// Builders for the common shapes.
wire::Envelope make_error_envelope(std::uint64_t request_id, wire::Error::Code code,
                                   std::string message, std::uint32_t retry_after_ms = 0);
wire::Envelope make_ok_envelope(std::uint64_t request_id);

// Names a body case for logs ("send_request"), never the contents.
const char* body_name(const wire::Envelope& envelope);

} // namespace veil::protocol
