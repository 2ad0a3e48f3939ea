// Veil's own RFC 6455 frame codec, used by the relay's reactors and the load generator. It is
// strict where Poco is lenient: a server refuses unmasked frames, reserved bits and opcodes,
// control frames over 125 bytes or fragmented, and messages over a cap, each with the close
// code the RFC names (1002 protocol error, 1009 too big). It never allocates more than the cap
// and never trusts a length before checking it.
//
// The decoder is incremental: feed it whatever bytes the socket gave, in any split, and it
// returns complete messages and control frames as they finish. Not thread-safe; one per
// connection. After a close frame it ignores whatever follows (RFC 6455 section 5.5.1).
#pragma once

#include "util/result.h"
#include "util/secret_bytes.h"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace veil::protocol::ws {

enum class Opcode : std::uint8_t {
    continuation = 0x0,
    text = 0x1,
    binary = 0x2,
    close = 0x8,
    ping = 0x9,
    pong = 0xA,
};

enum CloseCode : std::uint16_t {
    close_normal = 1000,
    close_going_away = 1001,
    close_protocol_error = 1002,
    close_unsupported_data = 1003,
    close_invalid_payload = 1007,
    close_policy_violation = 1008,
    close_too_big = 1009,
    close_internal_error = 1011,
};

enum class Role {
    server, // decodes masked client frames, encodes unmasked frames
    client, // decodes unmasked server frames, encodes masked frames
};

// A complete data message (text or binary, fragments joined) or one control frame.
struct Event {
    Opcode opcode = Opcode::binary;
    Bytes payload;
    std::uint16_t close_code = 0; // for Opcode::close: the peer's code, 1005 if none given
};

// A broken rule: the connection must be closed with `code` (after sending a close frame).
struct Violation {
    std::uint16_t code = close_protocol_error;
    std::string reason; // a short sentence for logs
};

class Decoder {
public:
    Decoder(Role role, std::size_t max_message_bytes);

    // Consumes bytes and appends finished events to `out`. On the first violation it returns
    // it and the decoder stays failed (further feeds return the same violation). Events
    // appended before the violation are complete and valid. The error's code is
    // Errc::too_large for 1009, Errc::protocol otherwise; violation() has the close code.
    Result<void> feed(std::span<const std::uint8_t> bytes, std::vector<Event>& out);
    // The violation that failed the decoder, if any.
    const Violation* violation() const;
    // True while a frame or a fragmented message is partly received (for frame deadlines).
    // Empty fragments never grow a message, so only such a deadline ends an endless stream of
    // them; the cap ends every other unfinished message.
    bool mid_frame() const;
    std::size_t buffered_bytes() const;

private:
    // Reads header bytes; returns how many of `bytes` it used.
    std::size_t take_header(std::span<const std::uint8_t> bytes);
    // The header is complete: checks it and prepares for the payload.
    Result<void> start_frame();
    // Reads payload bytes (unmasking them); returns how many of `bytes` it used.
    std::size_t take_payload(std::span<const std::uint8_t> bytes);
    // The payload is complete: emits an event if the frame finishes one.
    Result<void> finish_frame(std::vector<Event>& out);
    Result<void> finish_control(std::vector<Event>& out);
    Result<void> fail(std::uint16_t code, std::string reason);

    Role m_role;
    std::size_t m_max_message_bytes;
    std::optional<Violation> m_violation;
    bool m_closed = false; // a close frame was received

    // The frame being read.
    std::array<std::uint8_t, 14> m_header{};
    std::size_t m_header_len = 0;
    bool m_in_payload = false;
    bool m_fin = false;
    Opcode m_opcode = Opcode::continuation;
    std::array<std::uint8_t, 4> m_mask{};
    bool m_masked = false;
    std::uint64_t m_remaining = 0; // payload bytes still to read
    std::size_t m_mask_offset = 0;

    // The data message being assembled (fragments joined) and the control frame's payload.
    bool m_in_message = false;
    Opcode m_message_opcode = Opcode::binary;
    Bytes m_message;
    Bytes m_control;
};

// Encodes one unfragmented frame. Role::client masks with 4 random bytes from OpenSSL's
// generator (which throws std::runtime_error only if the system has no randomness at all);
// mask_key lets tests and the load generator fix it.
Bytes encode_frame(Role role, Opcode opcode, std::span<const std::uint8_t> payload);
Bytes encode_frame(Role role, Opcode opcode, std::span<const std::uint8_t> payload,
                   const std::uint8_t (&mask_key)[4]);
// A close frame with code and reason; the reason is cut to fit a 125-byte payload.
Bytes encode_close(Role role, std::uint16_t code, std::string_view reason);

// True for the close codes a peer may send (RFC 6455 section 7.4: 1000-1003, 1007-1014 and
// 3000-4999); 1005, 1006 and 1015 are never sent on the wire.
bool valid_close_code(std::uint16_t code);

// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key (RFC 6455 section 4.2.2): base64 of
// the SHA-1 of the key followed by the protocol's GUID.
std::string accept_key(std::string_view client_key);

} // namespace veil::protocol::ws
