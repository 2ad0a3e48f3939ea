#include "core/store_audit.h"

#include <array>
#include <cmath>
#include <fstream>
#include <vector>

namespace veil::relay {
namespace {

constexpr std::uint8_t kSignalVersionByte = 0x33;
constexpr std::size_t kMacBytes = 8;
constexpr std::size_t kSignatureBytes = 64;
constexpr std::uint32_t kWhisper = 1;
constexpr std::uint32_t kPrekey = 2;
constexpr std::uint32_t kSenderKey = 3;
constexpr std::uint32_t kNone = 4;

bool read_varint(std::span<const std::uint8_t> b, std::size_t& at, std::uint64_t& value) {
    value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (at >= b.size())
            return false;
        const std::uint8_t byte = b[at++];
        value |= std::uint64_t{byte & 0x7fu} << shift;
        if ((byte & 0x80) == 0)
            return true;
    }
    return false;
}

// Whether body is a protobuf message whose fields all have a number up to max_field and the
// wire type the libsignal message gives that number (bytes fields 'L', varints 'V').
bool protobuf_shape(std::span<const std::uint8_t> body, const char* types) {
    const std::size_t max_field = std::char_traits<char>::length(types);
    std::size_t at = 0;
    bool any = false;
    while (at < body.size()) {
        std::uint64_t key = 0;
        if (!read_varint(body, at, key))
            return false;
        const std::uint64_t field = key >> 3;
        const std::uint64_t wire = key & 7;
        if (field == 0 || field > max_field)
            return false;
        const char expected = types[field - 1];
        std::uint64_t value = 0;
        if (expected == 'V' && wire == 0) {
            if (!read_varint(body, at, value))
                return false;
        } else if (expected == 'L' && wire == 2) {
            if (!read_varint(body, at, value) || value > body.size() - at)
                return false;
            at += static_cast<std::size_t>(value);
        } else {
            return false;
        }
        any = true;
    }
    return any;
}

// SignalMessage: 1 ratchet key, 2 counter, 3 previous counter, 4 ciphertext.
constexpr const char* kSignalFields = "LVVL";
// PreKeySignalMessage: 1 prekey id, 2 base key, 3 identity key, 4 message, 5 registration id,
// 6 signed prekey id.
constexpr const char* kPrekeyFields = "VLLLVV";
// SenderKeyMessage: 1 id, 2 iteration, 3 ciphertext.
constexpr const char* kSenderKeyFields = "VVL";

std::optional<std::string> shape_problem(std::uint32_t type, std::span<const std::uint8_t> b) {
    std::size_t trailer = 0;
    const char* fields = nullptr;
    const char* name = nullptr;
    switch (type) {
    case kWhisper:
        trailer = kMacBytes;
        fields = kSignalFields;
        name = "Signal message";
        break;
    case kPrekey:
        fields = kPrekeyFields;
        name = "prekey message";
        break;
    case kSenderKey:
        trailer = kSignatureBytes;
        fields = kSenderKeyFields;
        name = "sender-key message";
        break;
    default: return "unknown ciphertext type " + std::to_string(type);
    }
    if (b.size() < 1 + trailer + 2)
        return std::string("too short for a ") + name;
    if (b[0] != kSignalVersionByte)
        return std::string("not a version 3 ") + name + " (first byte)";
    if (!protobuf_shape(b.subspan(1, b.size() - 1 - trailer), fields))
        return std::string("not the protobuf framing of a ") + name;
    return std::nullopt;
}

bool printable_ascii(std::uint8_t c) {
    return c >= 0x20 && c < 0x7f;
}

// The length of a valid UTF-8 sequence of 2 to 4 bytes starting at b[at], or 0.
std::size_t utf8_sequence(std::span<const std::uint8_t> b, std::size_t at) {
    const std::uint8_t c = b[at];
    std::size_t n = c >= 0xc2 && c <= 0xdf   ? 2
                    : c >= 0xe0 && c <= 0xef ? 3
                    : c >= 0xf0 && c <= 0xf4 ? 4
                                             : 0;
    if (n == 0 || at + n > b.size())
        return 0;
    for (std::size_t i = 1; i < n; ++i)
        if ((b[at + i] & 0xc0) != 0x80)
            return 0;
    return n;
}

constexpr std::array<std::uint8_t, 4> kPng = {0x89, 'P', 'N', 'G'};
constexpr std::array<std::uint8_t, 3> kJpeg = {0xff, 0xd8, 0xff};
constexpr std::array<std::uint8_t, 4> kPdf = {'%', 'P', 'D', 'F'};
constexpr std::array<std::uint8_t, 4> kZip = {'P', 'K', 0x03, 0x04};
constexpr std::array<std::uint8_t, 4> kGif = {'G', 'I', 'F', '8'};
constexpr std::array<std::uint8_t, 3> kGzip = {0x1f, 0x8b, 0x08};

template <std::size_t N>
bool starts_with(std::span<const std::uint8_t> b, const std::array<std::uint8_t, N>& magic) {
    return b.size() >= N && std::equal(magic.begin(), magic.end(), b.begin());
}

std::optional<std::string> magic_problem(std::span<const std::uint8_t> head) {
    if (starts_with(head, kPng))
        return "starts like a PNG image";
    if (starts_with(head, kJpeg))
        return "starts like a JPEG image";
    if (starts_with(head, kPdf))
        return "starts like a PDF document";
    if (starts_with(head, kZip))
        return "starts like a ZIP archive (or an office document)";
    if (starts_with(head, kGif))
        return "starts like a GIF image";
    if (starts_with(head, kGzip))
        return "starts like a gzip file";
    return std::nullopt;
}

double entropy_bits(const std::array<std::uint64_t, 256>& histogram, std::uint64_t total) {
    double bits = 0;
    for (std::uint64_t n : histogram) {
        if (n == 0)
            continue;
        const double p = static_cast<double>(n) / static_cast<double>(total);
        bits -= p * std::log2(p);
    }
    return bits;
}

} // namespace

std::size_t longest_printable_run(std::span<const std::uint8_t> b) {
    std::size_t best = 0;
    std::size_t run = 0;
    for (std::size_t at = 0; at < b.size();) {
        if (printable_ascii(b[at]) || b[at] == '\n' || b[at] == '\t') {
            ++run;
            ++at;
        } else if (std::size_t n = utf8_sequence(b, at); n > 0) {
            ++run;
            at += n;
        } else {
            run = 0;
            ++at;
        }
        best = std::max(best, run);
    }
    return best;
}

std::optional<std::string> ciphertext_problem(std::uint32_t type,
                                              std::span<const std::uint8_t> bytes) {
    if (type == kNone) {
        if (!bytes.empty())
            return std::string("a record without ciphertext type holds bytes");
        return std::nullopt;
    }
    if (longest_printable_run(bytes) >= kMaxPrintableRun)
        return "holds a run of " + std::to_string(longest_printable_run(bytes)) +
               " printable characters";
    return shape_problem(type, bytes);
}

std::optional<std::string> blob_problem(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
        return std::string("cannot be read");
    std::array<std::uint64_t, 256> histogram{};
    std::uint64_t total = 0;
    std::vector<std::uint8_t> chunk(64 * 1024);
    std::vector<std::uint8_t> head;
    std::size_t longest = 0;
    while (in) {
        in.read(reinterpret_cast<char*>(chunk.data()), static_cast<std::streamsize>(chunk.size()));
        const auto got = static_cast<std::size_t>(in.gcount());
        if (got == 0)
            break;
        std::span<const std::uint8_t> part(chunk.data(), got);
        if (head.empty())
            head.assign(part.begin(),
                        part.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(got, 16)));
        // Runs across chunk borders are missed; a text file has many runs, so that costs nothing.
        longest = std::max(longest, longest_printable_run(part));
        for (std::uint8_t c : part)
            ++histogram[c];
        total += got;
    }
    // IV (16) + at least one AES block + MAC (32).
    if (total < 64 || (total - 48) % 16 != 0)
        return "size " + std::to_string(total) +
               " is not an attachment cipher's (48 bytes plus whole 16-byte blocks)";
    if (auto magic = magic_problem(head))
        return *magic;
    if (longest >= kMaxPrintableRun)
        return "holds a run of " + std::to_string(longest) + " printable characters";
    // Random bytes come close to 8 bits per byte; the estimate from a small sample falls short
    // of it by about 255 / (2 n ln 2), under 0.35 for the smallest blob.
    const double bits = entropy_bits(histogram, total);
    if (bits < 7.2)
        return "entropy " + std::to_string(bits).substr(0, 4) +
               " bits per byte, too low for ciphertext";
    return std::nullopt;
}

} // namespace veil::relay
