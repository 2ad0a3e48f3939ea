#include "protocol/ws_codec.h"

#include "util/unicode.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

namespace veil::protocol::ws {
namespace {

constexpr std::uint8_t kFin = 0x80;
constexpr std::uint8_t kReservedBits = 0x70;
constexpr std::uint8_t kOpcodeBits = 0x0F;
constexpr std::uint8_t kMaskBit = 0x80;
constexpr std::size_t kMaxControlPayload = 125;
constexpr std::uint16_t kNoStatus = 1005;
constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool is_control(Opcode op) {
    return (static_cast<std::uint8_t>(op) & 0x08) != 0;
}

bool known_opcode(std::uint8_t op) {
    return op <= 0x2 || (op >= 0x8 && op <= 0xA);
}

bool valid_utf8(std::span<const std::uint8_t> bytes) {
    std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    for (std::size_t i = 0; i < text.size();) {
        char32_t cp = 0;
        std::size_t len = unicode::next(text, i, cp);
        // next() reports every invalid sequence as U+FFFD of length 1; a real U+FFFD has 3.
        if (cp == unicode::kReplacement && len == 1)
            return false;
        i += len;
    }
    return true;
}

// The length of the header once its first two bytes are known.
std::size_t header_length(const std::array<std::uint8_t, 14>& h) {
    std::size_t len = 2;
    std::uint8_t short_len = h[1] & 0x7F;
    if (short_len == 126)
        len += 2;
    else if (short_len == 127)
        len += 8;
    if (h[1] & kMaskBit)
        len += 4;
    return len;
}

} // namespace

Decoder::Decoder(Role role, std::size_t max_message_bytes)
    : m_role(role)
    , m_max_message_bytes(max_message_bytes) {}

const Violation* Decoder::violation() const {
    return m_violation ? &*m_violation : nullptr;
}

bool Decoder::mid_frame() const {
    return m_header_len > 0 || m_in_payload || m_in_message;
}

std::size_t Decoder::buffered_bytes() const {
    return m_header_len + m_message.size() + m_control.size();
}

Result<void> Decoder::fail(std::uint16_t code, std::string reason) {
    m_violation = Violation{code, std::move(reason)};
    m_message = Bytes();
    m_control = Bytes();
    Errc errc = code == close_too_big ? Errc::too_large : Errc::protocol;
    return make_error(errc, m_violation->reason);
}

Result<void> Decoder::feed(std::span<const std::uint8_t> bytes, std::vector<Event>& out) {
    if (m_violation)
        return make_error(m_violation->code == close_too_big ? Errc::too_large : Errc::protocol,
                          m_violation->reason);
    while (!bytes.empty() && !m_closed) {
        if (!m_in_payload) {
            bytes = bytes.subspan(take_header(bytes));
            if (m_header_len < 2 || m_header_len < header_length(m_header))
                continue;
            VEIL_TRY(start_frame());
        }
        if (m_in_payload && m_remaining > 0)
            bytes = bytes.subspan(take_payload(bytes));
        if (m_in_payload && m_remaining == 0)
            VEIL_TRY(finish_frame(out));
    }
    return {};
}

std::size_t Decoder::take_header(std::span<const std::uint8_t> bytes) {
    std::size_t used = 0;
    while (used < bytes.size()) {
        std::size_t need = m_header_len < 2 ? 2 : header_length(m_header);
        if (m_header_len >= need)
            break;
        m_header[m_header_len++] = bytes[used++];
    }
    return used;
}

Result<void> Decoder::start_frame() {
    const std::uint8_t b0 = m_header[0];
    const std::uint8_t b1 = m_header[1];
    m_header_len = 0;
    if (b0 & kReservedBits)
        return fail(close_protocol_error, "reserved bits set without an extension");
    const std::uint8_t op = b0 & kOpcodeBits;
    if (!known_opcode(op))
        return fail(close_protocol_error, "reserved opcode");
    m_opcode = static_cast<Opcode>(op);
    m_fin = (b0 & kFin) != 0;
    m_masked = (b1 & kMaskBit) != 0;
    if (m_role == Role::server && !m_masked)
        return fail(close_protocol_error, "client frame not masked");
    if (m_role == Role::client && m_masked)
        return fail(close_protocol_error, "server frame masked");

    std::uint64_t length = b1 & 0x7F;
    std::size_t pos = 2;
    if (length == 126) {
        length = (std::uint64_t{m_header[2]} << 8) | m_header[3];
        pos = 4;
    } else if (length == 127) {
        length = 0;
        for (std::size_t i = 0; i < 8; ++i)
            length = (length << 8) | m_header[2 + i];
        pos = 10;
        if (length >> 63)
            return fail(close_protocol_error, "64-bit length with the top bit set");
    }
    if (m_masked)
        std::copy_n(m_header.begin() + static_cast<std::ptrdiff_t>(pos), 4, m_mask.begin());

    if (is_control(m_opcode)) {
        if (!m_fin)
            return fail(close_protocol_error, "fragmented control frame");
        if (length > kMaxControlPayload)
            return fail(close_protocol_error, "control frame over 125 bytes");
        m_control.clear();
    } else if (m_opcode == Opcode::continuation) {
        if (!m_in_message)
            return fail(close_protocol_error, "continuation without a started message");
    } else {
        if (m_in_message)
            return fail(close_protocol_error, "new data frame inside a fragmented message");
        m_in_message = true;
        m_message_opcode = m_opcode;
        m_message.clear();
    }
    // Decided from the header alone, before any of the payload is buffered.
    if (!is_control(m_opcode) &&
        (length > m_max_message_bytes || m_message.size() + length > m_max_message_bytes))
        return fail(close_too_big, "message larger than the limit");

    m_remaining = length;
    m_mask_offset = 0;
    m_in_payload = true;
    return {};
}

std::size_t Decoder::take_payload(std::span<const std::uint8_t> bytes) {
    const std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(m_remaining, bytes.size()));
    Bytes& target = is_control(m_opcode) ? m_control : m_message;
    const std::size_t start = target.size();
    target.insert(target.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    if (m_masked) {
        for (std::size_t i = start; i < target.size(); ++i)
            target[i] ^= m_mask[(m_mask_offset++) & 3];
    }
    m_remaining -= n;
    return n;
}

Result<void> Decoder::finish_frame(std::vector<Event>& out) {
    m_in_payload = false;
    if (is_control(m_opcode))
        return finish_control(out);
    if (!m_fin)
        return {};
    m_in_message = false;
    if (m_message_opcode == Opcode::text && !valid_utf8(m_message))
        return fail(close_invalid_payload, "text message is not valid UTF-8");
    Event event;
    event.opcode = m_message_opcode;
    event.payload = std::move(m_message);
    m_message = Bytes();
    out.push_back(std::move(event));
    return {};
}

Result<void> Decoder::finish_control(std::vector<Event>& out) {
    Event event;
    event.opcode = m_opcode;
    if (m_opcode == Opcode::close) {
        if (m_control.size() == 1)
            return fail(close_protocol_error, "close frame with a one-byte payload");
        event.close_code = kNoStatus;
        if (m_control.size() >= 2) {
            event.close_code = static_cast<std::uint16_t>((m_control[0] << 8) | m_control[1]);
            if (!valid_close_code(event.close_code))
                return fail(close_protocol_error, "invalid close code");
            if (!valid_utf8(std::span(m_control).subspan(2)))
                return fail(close_invalid_payload, "close reason is not valid UTF-8");
        }
        m_closed = true;
    }
    event.payload = std::move(m_control);
    m_control = Bytes();
    out.push_back(std::move(event));
    return {};
}

bool valid_close_code(std::uint16_t code) {
    if (code >= 3000 && code <= 4999)
        return true;
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

Bytes encode_frame(Role role, Opcode opcode, std::span<const std::uint8_t> payload,
                   const std::uint8_t (&mask_key)[4]) {
    Bytes frame;
    frame.reserve(payload.size() + 14);
    frame.push_back(static_cast<std::uint8_t>(kFin | static_cast<std::uint8_t>(opcode)));
    const std::uint8_t mask_bit = role == Role::client ? kMaskBit : 0;
    const std::uint64_t n = payload.size();
    if (n < 126) {
        frame.push_back(static_cast<std::uint8_t>(mask_bit | n));
    } else if (n <= 0xFFFF) {
        frame.push_back(mask_bit | 126);
        frame.push_back(static_cast<std::uint8_t>(n >> 8));
        frame.push_back(static_cast<std::uint8_t>(n));
    } else {
        frame.push_back(mask_bit | 127);
        for (int shift = 56; shift >= 0; shift -= 8)
            frame.push_back(static_cast<std::uint8_t>(n >> shift));
    }
    if (role == Role::server) {
        frame.insert(frame.end(), payload.begin(), payload.end());
        return frame;
    }
    frame.insert(frame.end(), mask_key, mask_key + 4);
    for (std::size_t i = 0; i < payload.size(); ++i)
        frame.push_back(payload[i] ^ mask_key[i & 3]);
    return frame;
}

Bytes encode_frame(Role role, Opcode opcode, std::span<const std::uint8_t> payload) {
    std::uint8_t key[4] = {0, 0, 0, 0};
    // The key must be unpredictable to the page a browser runs (RFC 6455 section 10.3).
    if (role == Role::client && RAND_bytes(key, sizeof key) != 1)
        throw std::runtime_error("no randomness for a WebSocket masking key");
    return encode_frame(role, opcode, payload, key);
}

Bytes encode_close(Role role, std::uint16_t code, std::string_view reason) {
    Bytes payload = {static_cast<std::uint8_t>(code >> 8), static_cast<std::uint8_t>(code)};
    // Cut at a code point boundary, so that the peer's UTF-8 check passes.
    std::size_t keep = std::min(reason.size(), kMaxControlPayload - 2);
    while (keep > 0 && keep < reason.size() &&
           (static_cast<unsigned char>(reason[keep]) & 0xC0) == 0x80)
        --keep;
    payload.insert(payload.end(), reason.begin(),
                   reason.begin() + static_cast<std::ptrdiff_t>(keep));
    return encode_frame(role, Opcode::close, payload);
}

std::string accept_key(std::string_view client_key) {
    std::string input(client_key);
    input += kGuid;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    if (EVP_Digest(input.data(), input.size(), digest, &digest_len, EVP_sha1(), nullptr) != 1)
        throw std::runtime_error("SHA-1 unavailable");
    std::string encoded(4 * ((digest_len + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()), digest,
                            static_cast<int>(digest_len));
    encoded.resize(static_cast<std::size_t>(n));
    return encoded;
}

} // namespace veil::protocol::ws
