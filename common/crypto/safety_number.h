// Safety numbers: what two people compare, read aloud or by scanning a QR code, to make sure no
// one sits between them. Built with libsignal-protocol-c's fingerprint generator as Signal does
// (5200 iterations of SHA-512, scannable format version 1), over each side's account name and
// identity public key.
//
// Both sides compute the same 60 digits; the scannable bytes differ per side (ours first), and
// compare() on one side accepts exactly the bytes the other side shows. A SafetyNumber is a
// plain value; it keeps no reference to the context.
#pragma once

#include "crypto/signal_context.h"
#include "util/result.h"
#include "util/secret_bytes.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace veil::crypto {

inline constexpr int kSafetyNumberIterations = 5200;
inline constexpr int kSafetyNumberScanVersion = 1;
inline constexpr std::size_t kSafetyNumberDigits = 60;

enum class ScanResult {
    match,             // the other side sees the same keys we do
    mismatch,          // a different key on either side: someone may be in between
    different_version, // a well-formed code of another format version (the other app is older
                       // or newer); compare the digits instead
    malformed,         // not a safety number code at all
};

class SafetyNumber {
public:
    // local_* is this account, remote_* the peer; identity keys are 33-byte serialized public
    // keys. Errors: invalid_argument (an empty name, a name with a NUL byte, a malformed key),
    // crypto (libsignal failed).
    static Result<SafetyNumber> compute(SignalContext& context, std::string_view local_username,
                                        std::span<const std::uint8_t> local_identity_key,
                                        std::string_view remote_username,
                                        std::span<const std::uint8_t> remote_identity_key);

    // The 60 digits, the same on both sides.
    const std::string& digits() const { return m_digits; }
    // The digits as 12 groups of 5.
    std::vector<std::string> groups() const;
    // The groups separated by single spaces: "12345 67890 ...".
    std::string formatted() const;

    // What our QR code shows (a serialized libsignal CombinedFingerprints, version 1).
    const Bytes& scannable() const { return m_scannable; }

    // Checks bytes scanned from the other side's code. Running out of memory while parsing
    // them also reads as malformed.
    ScanResult compare(SignalContext& context, std::span<const std::uint8_t> scanned) const;

private:
    SafetyNumber(std::string digits, Bytes scannable)
        : m_digits(std::move(digits))
        , m_scannable(std::move(scannable)) {}

    std::string m_digits;
    Bytes m_scannable;
};

const char* scan_result_name(ScanResult result);

} // namespace veil::crypto
