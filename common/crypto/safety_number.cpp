#include "crypto/safety_number.h"

#include "crypto/detail/signal_handles.h"

#include <signal/curve.h>
#include <signal/fingerprint.h>

#include <string>

namespace veil::crypto {
namespace {

constexpr std::size_t kPublicKeyBytes = 33;
constexpr std::size_t kGroupDigits = 5;
// Version 1 scannable codes carry the first 32 bytes of each side's fingerprint hash.
constexpr std::size_t kScanFingerprintBytes = 32;

Error failed(const char* what, int code) {
    return make_error(Errc::crypto,
                      std::string(what) + " (libsignal " + std::to_string(code) + ")");
}

Status check_username(std::string_view name) {
    if (name.empty())
        return make_error(Errc::invalid_argument, "a safety number needs both account names");
    if (name.find('\0') != std::string_view::npos)
        return make_error(Errc::invalid_argument, "an account name cannot contain a NUL byte");
    return {};
}

Result<detail::SignalPtr<ec_public_key>> decode_key(SignalContext& context,
                                                    std::span<const std::uint8_t> key) {
    if (key.size() != kPublicKeyBytes)
        return make_error(Errc::invalid_argument, "an identity key must be 33 bytes");
    ec_public_key* raw = nullptr;
    int rc = curve_decode_point(&raw, key.data(), key.size(), context.get());
    detail::SignalPtr<ec_public_key> decoded(raw);
    if (rc != 0 || !decoded)
        return make_error(Errc::invalid_argument, "the identity key is malformed");
    return decoded;
}

Result<detail::SignalPtr<fingerprint>> generate(SignalContext& context, const std::string& local,
                                                const ec_public_key* local_key,
                                                const std::string& remote,
                                                const ec_public_key* remote_key) {
    fingerprint_generator* raw_generator = nullptr;
    int rc = fingerprint_generator_create(&raw_generator, kSafetyNumberIterations,
                                          kSafetyNumberScanVersion, context.get());
    detail::FingerprintGeneratorPtr generator(raw_generator);
    if (rc != 0)
        return failed("cannot create a fingerprint generator", rc);

    fingerprint* raw = nullptr;
    rc = fingerprint_generator_create_for(generator.get(), local.c_str(), local_key, remote.c_str(),
                                          remote_key, &raw);
    detail::SignalPtr<fingerprint> created(raw);
    if (rc != 0 || !created)
        return failed("cannot compute a safety number", rc);
    return created;
}

// The scanned code, parsed, or nothing when it is not a code at all.
detail::SignalPtr<scannable_fingerprint> parse_scan(SignalContext& context,
                                                    std::span<const std::uint8_t> bytes) {
    scannable_fingerprint* raw = nullptr;
    int rc = scannable_fingerprint_deserialize(&raw, detail::data_or_empty(bytes), bytes.size(),
                                               context.get());
    detail::SignalPtr<scannable_fingerprint> parsed(raw);
    if (rc != 0)
        return nullptr;
    return parsed;
}

// libsignal compares the two sides' hashes without checking that they are there or how long
// they are; a version 1 code with anything but two 32-byte hashes is not one of ours.
bool well_formed_v1(const scannable_fingerprint* scan) {
    const signal_buffer* local = scannable_fingerprint_get_local_fingerprint(scan);
    const signal_buffer* remote = scannable_fingerprint_get_remote_fingerprint(scan);
    return local && remote && signal_buffer_len(local) == kScanFingerprintBytes &&
           signal_buffer_len(remote) == kScanFingerprintBytes;
}

} // namespace

Result<SafetyNumber> SafetyNumber::compute(SignalContext& context, std::string_view local_username,
                                           std::span<const std::uint8_t> local_identity_key,
                                           std::string_view remote_username,
                                           std::span<const std::uint8_t> remote_identity_key) {
    VEIL_TRY(check_username(local_username));
    VEIL_TRY(check_username(remote_username));
    auto local_key = decode_key(context, local_identity_key);
    if (!local_key)
        return local_key.error();
    auto remote_key = decode_key(context, remote_identity_key);
    if (!remote_key)
        return remote_key.error();

    auto created = generate(context, std::string(local_username), local_key->get(),
                            std::string(remote_username), remote_key->get());
    if (!created)
        return created.error();

    // Both parts are borrowed from the fingerprint, which stays alive until the end.
    const char* text = displayable_fingerprint_text(fingerprint_get_displayable(created->get()));
    std::string digits = text ? text : "";
    if (digits.size() != kSafetyNumberDigits)
        return make_error(Errc::crypto, "libsignal returned a safety number of the wrong length");

    signal_buffer* raw = nullptr;
    int rc = scannable_fingerprint_serialize(&raw, fingerprint_get_scannable(created->get()));
    detail::BufferPtr scannable(raw);
    if (rc != 0)
        return failed("cannot serialize a scannable safety number", rc);
    return SafetyNumber(std::move(digits), detail::to_bytes(scannable.get()));
}

std::vector<std::string> SafetyNumber::groups() const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < m_digits.size(); i += kGroupDigits)
        out.push_back(m_digits.substr(i, kGroupDigits));
    return out;
}

std::string SafetyNumber::formatted() const {
    std::string out;
    for (const auto& group : groups()) {
        if (!out.empty())
            out += ' ';
        out += group;
    }
    return out;
}

ScanResult SafetyNumber::compare(SignalContext& context,
                                 std::span<const std::uint8_t> scanned) const {
    auto theirs = parse_scan(context, scanned);
    if (!theirs)
        return ScanResult::malformed;
    if (scannable_fingerprint_get_version(theirs.get()) != kSafetyNumberScanVersion)
        return ScanResult::different_version;
    if (!well_formed_v1(theirs.get()))
        return ScanResult::malformed;
    auto ours = parse_scan(context, m_scannable);
    if (!ours)
        return ScanResult::malformed; // only when memory ran out

    switch (scannable_fingerprint_compare(ours.get(), theirs.get())) {
    case 1: return ScanResult::match;
    case 0:
    case SG_ERR_FP_IDENT_MISMATCH: return ScanResult::mismatch;
    case SG_ERR_FP_VERSION_MISMATCH: return ScanResult::different_version;
    default: return ScanResult::malformed;
    }
}

const char* scan_result_name(ScanResult result) {
    switch (result) {
    case ScanResult::match: return "match";
    case ScanResult::mismatch: return "mismatch";
    case ScanResult::different_version: return "different version";
    case ScanResult::malformed: return "malformed";
    }
    return "unknown";
}

} // namespace veil::crypto
