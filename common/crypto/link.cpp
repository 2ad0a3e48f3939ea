#include "crypto/link.h"

#include "crypto/provider.h"
#include "util/unicode.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <limits>
#include <memory>

namespace veil::crypto {
namespace {

// --- The text form of a code ---

// Crockford's base32 alphabet: the digits and the letters without I, L, O and U.
constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr std::size_t kCodeBytes = kLinkChannelBytes + kLinkSecretBytes;
constexpr std::size_t kDataSymbols = kLinkCodeSymbols - 1;
static_assert(kCodeBytes * 8 == kDataSymbols * 5, "the code's bytes fill its symbols exactly");
constexpr std::size_t kGroupSymbols = 4;
constexpr std::size_t kFormattedChars =
    kLinkCodeSymbols + (kLinkCodeSymbols - 1) / kGroupSymbols; // symbols and dashes

// The symbols of a code (values 0..31), wiped when they go out of scope: they spell the secret.
struct Symbols {
    std::array<std::uint8_t, kLinkCodeSymbols> values{};
    ~Symbols() { OPENSSL_cleanse(values.data(), values.size()); }
};

// Multiplies a GF(32) element by x, modulo the irreducible x^5 + x^2 + 1.
std::uint8_t gf32_times_x(std::uint8_t a) {
    a = static_cast<std::uint8_t>(a << 1);
    return (a & 0x20) ? static_cast<std::uint8_t>(a ^ 0x25) : a;
}

// The check symbol: one Reed-Solomon parity symbol over GF(32). Read as elements of GF(32),
// the 24 data symbols s_0..s_23 and the check c satisfy c = sum of s_i * x^(24 - i), so each
// position has its own nonzero weight (x^24 .. x^1, and 1 for the check itself), all distinct
// because x has order 31. Changing one symbol therefore always changes the sum, and swapping
// two different symbols changes it by (a - b)(x^i - x^j), which is never zero either.
// Crockford's own check symbol (modulo 37) was not used: it needs five symbols outside the
// alphabet, some of which QR's alphanumeric mode cannot carry.
std::uint8_t check_symbol(std::span<const std::uint8_t> data) {
    std::uint8_t check = 0;
    for (std::uint8_t symbol : data)
        check = gf32_times_x(static_cast<std::uint8_t>(check ^ symbol));
    return check;
}

bool code_sizes_ok(std::span<const std::uint8_t> channel, const SecretBytes& secret) {
    return channel.size() == kLinkChannelBytes && secret.size() == kLinkSecretBytes;
}

// channel || secret as base32 symbols, five bits each from the most significant end, and the
// check symbol.
void encode_symbols(std::span<const std::uint8_t> channel, const SecretBytes& secret,
                    Symbols& out) {
    SecretBytes bytes(kCodeBytes);
    std::copy(channel.begin(), channel.end(), bytes.data());
    std::copy(secret.view().begin(), secret.view().end(), bytes.data() + kLinkChannelBytes);

    std::uint32_t bits = 0;
    unsigned held = 0;
    std::size_t n = 0;
    for (std::uint8_t byte : bytes.view()) {
        bits = ((bits << 8) | byte) & 0x1fff; // at most 4 + 8 bits are still needed
        held += 8;
        while (held >= 5) {
            held -= 5;
            out.values[n++] = static_cast<std::uint8_t>((bits >> held) & 0x1f);
        }
    }
    out.values[kDataSymbols] = check_symbol(std::span(out.values).first(kDataSymbols));
}

// The inverse of encode_symbols, for symbols whose check has passed.
LinkCode decode_symbols(const Symbols& symbols) {
    SecretBytes bytes(kCodeBytes);
    std::uint32_t bits = 0;
    unsigned held = 0;
    std::size_t n = 0;
    for (std::size_t i = 0; i < kDataSymbols; ++i) {
        bits = ((bits << 5) | symbols.values[i]) & 0xfff; // at most 7 + 5 bits
        held += 5;
        if (held >= 8) {
            held -= 8;
            bytes.data()[n++] = static_cast<std::uint8_t>(bits >> held);
        }
    }
    const std::uint8_t* begin = bytes.data();
    return LinkCode{Bytes(begin, begin + kLinkChannelBytes),
                    SecretBytes(begin + kLinkChannelBytes, kLinkSecretBytes)};
}

char ascii_upper(char c) {
    return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

// The value of a typed character, reading the letters people confuse with digits as those
// digits; -1 for a character that is not in the alphabet.
int symbol_value(char typed) {
    char c = ascii_upper(typed);
    if (c == 'O')
        return 0;
    if (c == 'I' || c == 'L')
        return 1;
    std::size_t at = kAlphabet.find(c);
    return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

bool is_separator(char c) {
    return c == '-' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// The length of a separator that copying a code through chat apps and documents brings in, at
// text[i]: a no-break or narrow space (U+00A0, U+202F), a Unicode hyphen or dash (U+2010 to
// U+2015) or a minus sign (U+2212), as UTF-8; 0 for anything else.
std::size_t typographic_separator(std::string_view text, std::size_t i) {
    auto at = [&](std::size_t k) {
        return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0;
    };
    if (at(0) == 0xC2 && at(1) == 0xA0)
        return 2;
    if (at(0) == 0xE2 && at(1) == 0x80 && ((at(2) >= 0x90 && at(2) <= 0x95) || at(2) == 0xAF))
        return 3;
    if (at(0) == 0xE2 && at(1) == 0x88 && at(2) == 0x92)
        return 3;
    return 0;
}

// Drops leading separators and the QR payload's prefix, in any case.
std::string_view strip_prefix(std::string_view text) {
    while (!text.empty() && is_separator(text.front()))
        text.remove_prefix(1);
    if (text.size() < kLinkUriPrefix.size())
        return text;
    for (std::size_t i = 0; i < kLinkUriPrefix.size(); ++i) {
        if (ascii_upper(text[i]) != kLinkUriPrefix[i])
            return text;
    }
    return text.substr(kLinkUriPrefix.size());
}

Error code_error(std::string sentence) {
    return make_error(Errc::invalid_argument, std::move(sentence));
}

// Names the offending character so that people can find it; controls, bidi overrides and
// invalid bytes are shown as <U+XXXX> marks rather than acted upon by the display.
Error bad_character(std::string_view text, std::size_t at) {
    char32_t cp = 0;
    std::size_t length = unicode::next(text, at, cp);
    std::string shown =
        (cp < 0x20 || cp == unicode::kReplacement || unicode::needs_visible_mark(cp))
            ? unicode::visible_mark(cp)
            : "'" + std::string(text.substr(at, length)) + "'";
    return code_error("the link code has a character that cannot be in a code: " + shown);
}

// --- X25519, HKDF and AES-256-GCM over OpenSSL's EVP ---

constexpr std::size_t kNonceBytes = 12;

struct PkeyFree {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct PkeyCtxFree {
    void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
struct KdfFree {
    void operator()(EVP_KDF* kdf) const { EVP_KDF_free(kdf); }
};
struct KdfCtxFree {
    void operator()(EVP_KDF_CTX* ctx) const { EVP_KDF_CTX_free(ctx); }
};
struct CipherCtxFree {
    void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using KdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, KdfCtxFree>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

Error crypto_error(const char* what) {
    return make_error(Errc::crypto, what);
}

Error does_not_verify() {
    return crypto_error("the linked device's message does not verify");
}

Error device_name_does_not_open() {
    return crypto_error("the device name does not open with this account's key");
}

bool same(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
    return std::ranges::equal(a, b);
}

// OSSL_PARAM takes non-const pointers for every parameter, though a KDF only reads its inputs.
OSSL_PARAM octets(const char* name, std::span<const std::uint8_t> bytes) {
    return OSSL_PARAM_construct_octet_string(name, const_cast<std::uint8_t*>(bytes.data()),
                                             bytes.size());
}

// HKDF is fetched once per process; fetching is thread-safe and the result is immutable.
EVP_KDF* hkdf_algorithm() {
    static std::unique_ptr<EVP_KDF, KdfFree> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
    return kdf.get();
}

// HKDF-SHA256 (RFC 5869), extract then expand. An empty salt is left out, which RFC 5869
// defines as a salt of 32 zero bytes.
Result<SecretBytes> hkdf_sha256(std::span<const std::uint8_t> ikm,
                                std::span<const std::uint8_t> salt,
                                std::span<const std::uint8_t> info, std::size_t length) {
    EVP_KDF* kdf = hkdf_algorithm();
    if (!kdf)
        return crypto_error("HKDF is not available from OpenSSL");
    KdfCtxPtr ctx(EVP_KDF_CTX_new(kdf));
    if (!ctx)
        return crypto_error("cannot allocate an HKDF context");

    char digest[] = "SHA256";
    std::array<OSSL_PARAM, 5> params{};
    std::size_t n = 0;
    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
    params[n++] = octets(OSSL_KDF_PARAM_KEY, ikm);
    if (!salt.empty())
        params[n++] = octets(OSSL_KDF_PARAM_SALT, salt);
    params[n++] = octets(OSSL_KDF_PARAM_INFO, info);
    params[n] = OSSL_PARAM_construct_end();

    SecretBytes out(length);
    if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params.data()) != 1)
        return crypto_error("HKDF-SHA256 failed");
    return out;
}

Bytes to_bytes(std::string_view text) {
    return Bytes(text.begin(), text.end());
}

// OpenSSL's lengths are int.
bool fits_int(std::size_t n) {
    return n <= static_cast<std::size_t>(std::numeric_limits<int>::max() - 64);
}

// AES-256-GCM with a 12-byte nonce and no associated data: ciphertext || tag.
Result<Bytes> gcm_seal(std::span<const std::uint8_t> key, std::span<const std::uint8_t> nonce,
                       std::span<const std::uint8_t> plaintext) {
    if (!fits_int(plaintext.size()))
        return make_error(Errc::too_large, "the message is too large to seal");
    CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    if (!ctx ||
        EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce.data()) != 1)
        return crypto_error("AES-GCM initialisation failed");

    Bytes out(plaintext.size() + kLinkTagBytes);
    int written = 0;
    if (!plaintext.empty() && EVP_EncryptUpdate(ctx.get(), out.data(), &written, plaintext.data(),
                                                static_cast<int>(plaintext.size())) != 1)
        return crypto_error("AES-GCM encryption failed");
    int final_written = 0;
    if (EVP_EncryptFinal_ex(ctx.get(), out.data() + written, &final_written) != 1 ||
        static_cast<std::size_t>(written + final_written) != plaintext.size())
        return crypto_error("AES-GCM encryption failed");
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kLinkTagBytes),
                            out.data() + plaintext.size()) != 1)
        return crypto_error("AES-GCM encryption failed");
    return out;
}

// The inverse of gcm_seal. Every failure is the same error to the caller (a box that does not
// verify), so nothing tells an attacker which check failed; the partial output is wiped.
Result<SecretBytes> gcm_open(std::span<const std::uint8_t> key, std::span<const std::uint8_t> nonce,
                             std::span<const std::uint8_t> box) {
    if (box.size() < kLinkTagBytes || !fits_int(box.size()))
        return crypto_error("AES-GCM box is malformed");
    auto ciphertext = box.first(box.size() - kLinkTagBytes);
    std::array<std::uint8_t, kLinkTagBytes> tag{};
    std::ranges::copy(box.last(kLinkTagBytes), tag.begin());

    CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    if (!ctx ||
        EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce.data()) != 1)
        return crypto_error("AES-GCM initialisation failed");
    SecretBytes out(ciphertext.size() + kLinkTagBytes);
    int written = 0;
    if (!ciphertext.empty() && EVP_DecryptUpdate(ctx.get(), out.data(), &written, ciphertext.data(),
                                                 static_cast<int>(ciphertext.size())) != 1)
        return crypto_error("AES-GCM decryption failed");
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag.size()),
                            tag.data()) != 1)
        return crypto_error("AES-GCM decryption failed");
    int final_written = 0;
    if (EVP_DecryptFinal_ex(ctx.get(), out.data() + written, &final_written) != 1)
        return crypto_error("AES-GCM tag does not match");
    return SecretBytes(out.data(), static_cast<std::size_t>(written + final_written));
}

std::array<std::uint8_t, kNonceBytes> counter_nonce(std::uint64_t counter) {
    std::array<std::uint8_t, kNonceBytes> nonce{};
    for (std::size_t i = 0; i < 8; ++i)
        nonce[kNonceBytes - 1 - i] = static_cast<std::uint8_t>(counter >> (8 * i));
    return nonce;
}

// X25519(own_private, their_public), and own_private's public key so that the caller can check
// the transcript. Refuses an all-zero result (RFC 7748, section 6.1): their_public was a point
// of small order, which would make the shared secret known to anyone.
struct SharedSecret {
    SecretBytes secret;
    Bytes own_public;
};

Result<SharedSecret> x25519(const SecretBytes& own_private,
                            std::span<const std::uint8_t> their_public) {
    PkeyPtr own(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, own_private.data(),
                                             own_private.size()));
    PkeyPtr theirs(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, their_public.data(),
                                               their_public.size()));
    if (!own || !theirs)
        return crypto_error("cannot load the X25519 keys");

    SharedSecret result{SecretBytes(kLinkPublicKeyBytes), Bytes(kLinkPublicKeyBytes)};
    std::size_t public_size = result.own_public.size();
    if (EVP_PKEY_get_raw_public_key(own.get(), result.own_public.data(), &public_size) != 1 ||
        public_size != kLinkPublicKeyBytes)
        return crypto_error("cannot read the X25519 public key");

    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own.get(), nullptr));
    std::size_t size = result.secret.size();
    bool derived = ctx && EVP_PKEY_derive_init(ctx.get()) == 1 &&
                   EVP_PKEY_derive_set_peer(ctx.get(), theirs.get()) == 1 &&
                   EVP_PKEY_derive(ctx.get(), result.secret.data(), &size) == 1 &&
                   size == kLinkPublicKeyBytes;
    // OpenSSL itself may refuse a small-order point; either way the answer is the same.
    std::array<std::uint8_t, kLinkPublicKeyBytes> zero{};
    if (!derived || CRYPTO_memcmp(result.secret.data(), zero.data(), zero.size()) == 0)
        return crypto_error("the other device's link key gives no shared secret");
    return result;
}

} // namespace

namespace {

// The u-coordinates (little endian) of the points of order 1, 2, 4 and 8 on Curve25519, u = 0,
// 1, p - 1 and the two of order 8, and the non-canonical encodings p and p + 1 of 0 and 1.
// X25519 ignores the top bit (RFC 7748, section 5) and reduces mod p; no other 255-bit value
// is congruent to one of these (u + p passes 2^255 for the rest), so the list is complete.
// Clamping makes every X25519 scalar a multiple of 8, so exactly these give the zero secret
// for any private key.
constexpr std::array<std::array<std::uint8_t, 32>, 7> kSmallOrderPoints = {{
    {0},
    {1},
    {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
     0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
     0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
    {0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1,
     0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c,
     0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57},
    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
}};

} // namespace

bool is_low_order_point(std::span<const std::uint8_t> public_key) {
    if (public_key.size() == kLinkPublicKeyBytes + 1) {
        if (public_key[0] != 0x05)
            return true;
        public_key = public_key.subspan(1);
    }
    if (public_key.size() != kLinkPublicKeyBytes)
        return true;
    // A comparison rather than a trial X25519: every received message's keys come through here
    // (crypto/session.cpp), and one X25519 costs about as much as the rest of a decrypt.
    std::array<std::uint8_t, kLinkPublicKeyBytes> u{};
    std::copy(public_key.begin(), public_key.end(), u.begin());
    u.back() &= 0x7f;
    return std::find(kSmallOrderPoints.begin(), kSmallOrderPoints.end(), u) !=
           kSmallOrderPoints.end();
}

namespace {

Status check_link_sizes(const SecretBytes& own_private, std::span<const std::uint8_t> their_public,
                        const SecretBytes& secret, std::span<const std::uint8_t> channel,
                        std::span<const std::uint8_t> existing_public,
                        std::span<const std::uint8_t> new_public) {
    if (own_private.size() != kLinkPrivateKeyBytes)
        return make_error(Errc::invalid_argument, "a link private key must be 32 bytes");
    if (their_public.size() != kLinkPublicKeyBytes ||
        existing_public.size() != kLinkPublicKeyBytes || new_public.size() != kLinkPublicKeyBytes)
        return make_error(Errc::invalid_argument, "a link public key must be 32 bytes");
    if (!code_sizes_ok(channel, secret))
        return make_error(Errc::invalid_argument, "the link channel or secret has a wrong size");
    return {};
}

Bytes link_info(std::span<const std::uint8_t> channel,
                std::span<const std::uint8_t> existing_public,
                std::span<const std::uint8_t> new_public) {
    Bytes info = to_bytes("veil-link-v1");
    info.insert(info.end(), channel.begin(), channel.end());
    info.insert(info.end(), existing_public.begin(), existing_public.end());
    info.insert(info.end(), new_public.begin(), new_public.end());
    return info;
}

Result<SecretBytes> device_name_key(const SecretBytes& identity_private) {
    if (identity_private.size() != 32)
        return make_error(Errc::invalid_argument, "an identity private key must be 32 bytes");
    return hkdf_sha256(identity_private.view(), {}, to_bytes("veil-device-name-v1"), kLinkKeyBytes);
}

} // namespace

SecretBytes new_link_secret() {
    SecretBytes secret(kLinkSecretBytes);
    if (!random_bytes(std::span<std::uint8_t>(secret.data(), secret.size())).ok())
        std::abort(); // A code with a guessable secret would hand the account to the relay.
    return secret;
}

std::string format_link_code(std::span<const std::uint8_t> channel, const SecretBytes& secret) {
    if (!code_sizes_ok(channel, secret))
        return {};
    Symbols symbols;
    encode_symbols(channel, secret, symbols);

    // Reserved up front so that no reallocation leaves a copy of the secret behind.
    std::string text;
    text.reserve(kFormattedChars);
    for (std::size_t i = 0; i < kLinkCodeSymbols; ++i) {
        if (i > 0 && i % kGroupSymbols == 0)
            text += '-';
        text += kAlphabet[symbols.values[i]];
    }
    return text;
}

std::string link_code_uri(std::span<const std::uint8_t> channel, const SecretBytes& secret) {
    if (!code_sizes_ok(channel, secret))
        return {};
    Symbols symbols;
    encode_symbols(channel, secret, symbols);

    std::string uri;
    uri.reserve(kLinkUriPrefix.size() + kLinkCodeSymbols);
    uri += kLinkUriPrefix;
    for (std::uint8_t value : symbols.values)
        uri += kAlphabet[value];
    return uri;
}

Result<LinkCode> parse_link_code(std::string_view text) {
    text = strip_prefix(text);
    Symbols symbols;
    std::size_t count = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (is_separator(text[i]))
            continue;
        if (std::size_t skip = typographic_separator(text, i)) {
            i += skip - 1;
            continue;
        }
        int value = symbol_value(text[i]);
        if (value < 0)
            return bad_character(text, i);
        if (count == kLinkCodeSymbols)
            return code_error("the link code is too long");
        symbols.values[count++] = static_cast<std::uint8_t>(value);
    }
    if (count < kLinkCodeSymbols)
        return code_error("the link code is too short");

    auto data = std::span(symbols.values).first(kDataSymbols);
    if (check_symbol(data) != symbols.values[kDataSymbols])
        return code_error("the link code has a typo (its check character does not match)");
    return decode_symbols(symbols);
}

Result<LinkKeyPair> generate_link_key_pair() {
    PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
    if (!key)
        return crypto_error("X25519 key generation failed");

    LinkKeyPair pair{Bytes(kLinkPublicKeyBytes), SecretBytes(kLinkPrivateKeyBytes)};
    std::size_t public_size = pair.public_key.size();
    std::size_t private_size = pair.private_key.size();
    if (EVP_PKEY_get_raw_public_key(key.get(), pair.public_key.data(), &public_size) != 1 ||
        EVP_PKEY_get_raw_private_key(key.get(), pair.private_key.data(), &private_size) != 1 ||
        public_size != kLinkPublicKeyBytes || private_size != kLinkPrivateKeyBytes)
        return crypto_error("cannot read the X25519 key pair");
    return pair;
}

Result<LinkKeys> derive_link_keys(const SecretBytes& own_private,
                                  std::span<const std::uint8_t> their_public,
                                  const SecretBytes& secret, std::span<const std::uint8_t> channel,
                                  std::span<const std::uint8_t> existing_public,
                                  std::span<const std::uint8_t> new_public) {
    VEIL_TRY(
        check_link_sizes(own_private, their_public, secret, channel, existing_public, new_public));
    auto shared = x25519(own_private, their_public);
    if (!shared)
        return shared.error();

    // The keys are bound to the exact pair of public keys both ends saw; a relay reflecting a
    // device's own key back to it gets refused here rather than deriving anything.
    const Bytes& own_public = shared->own_public;
    if (same(own_public, their_public))
        return crypto_error("the other device sent back our own link key");
    bool named = (same(own_public, existing_public) && same(their_public, new_public)) ||
                 (same(own_public, new_public) && same(their_public, existing_public));
    if (!named)
        return make_error(Errc::invalid_argument,
                          "the link keys given are not the two public keys of this link");

    auto okm = hkdf_sha256(shared->secret.view(), secret.view(),
                           link_info(channel, existing_public, new_public), 2 * kLinkKeyBytes);
    if (!okm)
        return okm.error();
    return LinkKeys{SecretBytes(okm->data(), kLinkKeyBytes),
                    SecretBytes(okm->data() + kLinkKeyBytes, kLinkKeyBytes)};
}

Result<Bytes> link_seal(const SecretBytes& key, std::uint64_t counter,
                        std::span<const std::uint8_t> plaintext) {
    if (key.size() != kLinkKeyBytes)
        return make_error(Errc::invalid_argument, "a link key must be 32 bytes");
    return gcm_seal(key.view(), counter_nonce(counter), plaintext);
}

Result<SecretBytes> link_open(const SecretBytes& key, std::uint64_t counter,
                              std::span<const std::uint8_t> box) {
    if (key.size() != kLinkKeyBytes)
        return make_error(Errc::invalid_argument, "a link key must be 32 bytes");
    auto plaintext = gcm_open(key.view(), counter_nonce(counter), box);
    if (!plaintext)
        return does_not_verify();
    return plaintext;
}

Result<Bytes> seal_device_name(const SecretBytes& identity_private, std::string_view name) {
    if (name.size() > kMaxSealableDeviceNameBytes)
        return make_error(Errc::too_large, "the device name is too long");
    auto key = device_name_key(identity_private);
    if (!key)
        return key.error();

    Bytes sealed(kDeviceNameNonceBytes);
    VEIL_TRY(random_bytes(std::span<std::uint8_t>(sealed)));
    auto box = gcm_seal(key->view(), sealed, to_bytes(name));
    if (!box)
        return box.error();
    sealed.insert(sealed.end(), box->begin(), box->end());
    return sealed;
}

Result<std::string> open_device_name(const SecretBytes& identity_private,
                                     std::span<const std::uint8_t> sealed) {
    auto key = device_name_key(identity_private);
    if (!key)
        return key.error();
    if (sealed.size() < kDeviceNameNonceBytes + kLinkTagBytes ||
        sealed.size() > kMaxSealedDeviceNameBytes)
        return device_name_does_not_open();

    auto name = gcm_open(key->view(), sealed.first(kDeviceNameNonceBytes),
                         sealed.subspan(kDeviceNameNonceBytes));
    if (!name)
        return device_name_does_not_open();
    return std::string(name->view().begin(), name->view().end());
}

} // namespace veil::crypto
