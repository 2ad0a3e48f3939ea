#include "crypto/link.h"
#include "crypto/provider.h"
#include "protocol/limits.h"
#include "util/hex.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

using namespace veil;
using namespace veil::crypto;

static_assert(veil::crypto::kLinkChannelBytes == veil::protocol::kLinkChannelBytes);
static_assert(veil::crypto::kLinkSecretBytes == veil::protocol::kLinkSecretBytes);
static_assert(veil::crypto::kMaxSealedDeviceNameBytes == veil::protocol::kMaxDeviceNameBytes);
static_assert(veil::crypto::kMaxSealableDeviceNameBytes >= veil::protocol::kMaxDeviceNameChars);

namespace {

constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

Bytes hex(std::string_view text) {
    auto bytes = from_hex(text);
    REQUIRE(bytes.ok());
    return *bytes;
}

SecretBytes secret_hex(std::string_view text) {
    Bytes bytes = hex(text);
    return SecretBytes(bytes.data(), bytes.size());
}

Bytes view_bytes(const SecretBytes& secret) {
    return Bytes(secret.view().begin(), secret.view().end());
}

// A code's 25 symbols, without dashes.
std::string symbols_of(const std::string& formatted) {
    std::string out;
    std::copy_if(formatted.begin(), formatted.end(), std::back_inserter(out),
                 [](char c) { return c != '-'; });
    return out;
}

void check_refused(std::string_view text, std::string_view sentence) {
    auto parsed = parse_link_code(text);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().code == Errc::invalid_argument);
    CHECK(parsed.error().message == sentence);
}

const char* const kTypo = "the link code has a typo (its check character does not match)";

struct Code {
    Bytes channel = random_bytes(kLinkChannelBytes);
    SecretBytes secret = new_link_secret();
    std::string text = format_link_code(channel, secret);
};

LinkKeyPair key_pair() {
    auto pair = generate_link_key_pair();
    REQUIRE(pair.ok());
    return std::move(pair).value();
}

// The two ends of a link that saw each other's real public keys.
struct Link {
    Code code;
    LinkKeyPair existing = key_pair();
    LinkKeyPair fresh = key_pair();

    LinkKeys existing_side() const {
        auto keys = derive_link_keys(existing.private_key, fresh.public_key, code.secret,
                                     code.channel, existing.public_key, fresh.public_key);
        REQUIRE(keys.ok());
        return std::move(keys).value();
    }
    LinkKeys new_side() const {
        auto keys = derive_link_keys(fresh.private_key, existing.public_key, code.secret,
                                     code.channel, existing.public_key, fresh.public_key);
        REQUIRE(keys.ok());
        return std::move(keys).value();
    }
};

Bytes seal(const SecretBytes& key, std::uint64_t counter, std::string_view text) {
    auto box = link_seal(key, counter, to_bytes(text));
    REQUIRE(box.ok());
    return std::move(box).value();
}

bool opens(const SecretBytes& key, std::uint64_t counter, const Bytes& box) {
    auto plaintext = link_open(key, counter, box);
    if (!plaintext.ok()) {
        CHECK(plaintext.error().code == Errc::crypto);
        CHECK(plaintext.error().message == "the linked device's message does not verify");
    }
    return plaintext.ok();
}

// RFC 5869 HKDF-SHA256 written out with HMAC, to check derive_link_keys independently.
Bytes reference_hkdf(const Bytes& ikm, const Bytes& salt, const Bytes& info, std::size_t length) {
    auto prk = hmac_sha256(salt, ikm);
    REQUIRE(prk.ok());
    Bytes out;
    Bytes block;
    for (std::uint8_t i = 1; out.size() < length; ++i) {
        Bytes input = block;
        input.insert(input.end(), info.begin(), info.end());
        input.push_back(i);
        auto next = hmac_sha256(*prk, input);
        REQUIRE(next.ok());
        block = *next;
        out.insert(out.end(), block.begin(), block.end());
    }
    out.resize(length);
    return out;
}

} // namespace

TEST_CASE("a link code formats as groups of four and parses back to its channel and secret") {
    for (int i = 0; i < 200; ++i) {
        Code code;
        REQUIRE(code.text.size() == 31);
        for (std::size_t at = 4; at < code.text.size(); at += 5)
            CHECK(code.text[at] == '-');
        for (char c : symbols_of(code.text))
            CHECK(kAlphabet.find(c) != std::string_view::npos);

        auto parsed = parse_link_code(code.text);
        REQUIRE(parsed.ok());
        CHECK(parsed->channel == code.channel);
        CHECK(view_bytes(parsed->secret) == view_bytes(code.secret));
    }
}

TEST_CASE("a link code of all zero and all one bytes spells the alphabet's ends") {
    CHECK(format_link_code(Bytes(5, 0), SecretBytes(10)) == "0000-0000-0000-0000-0000-0000-0");
    auto ones = secret_hex("ffffffffffffffffffff");
    auto text = format_link_code(hex("ffffffffff"), ones);
    CHECK(text.substr(0, 29) == "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ");
    auto parsed = parse_link_code(text);
    REQUIRE(parsed.ok());
    CHECK(view_bytes(parsed->secret) == view_bytes(ones));
}

TEST_CASE("format_link_code returns nothing for a channel or secret of the wrong size") {
    CHECK(format_link_code(Bytes(4), new_link_secret()).empty());
    CHECK(format_link_code(Bytes(5), SecretBytes(9)).empty());
    CHECK(link_code_uri(Bytes(6), new_link_secret()).empty());
}

TEST_CASE("every single mistyped character of a link code is caught by its check character") {
    for (int round = 0; round < 20; ++round) {
        std::string symbols = symbols_of(Code().text);
        for (std::size_t at = 0; at < symbols.size(); ++at) {
            for (char other : kAlphabet) {
                if (other == symbols[at])
                    continue;
                std::string typo = symbols;
                typo[at] = other;
                check_refused(typo, kTypo);
            }
        }
    }
}

TEST_CASE("every swap of two different characters of a link code is caught") {
    for (int round = 0; round < 20; ++round) {
        std::string symbols = symbols_of(Code().text);
        for (std::size_t i = 0; i < symbols.size(); ++i) {
            for (std::size_t j = i + 1; j < symbols.size(); ++j) {
                if (symbols[i] == symbols[j])
                    continue;
                std::string swapped = symbols;
                std::swap(swapped[i], swapped[j]);
                check_refused(swapped, kTypo);
            }
        }
    }
}

TEST_CASE("parsing forgives lower case, spaces, line breaks and the letters O, I and L") {
    Code code;
    std::string typed;
    for (char c : code.text) {
        char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        typed += c == '-' ? std::string(" ") : std::string(1, lower);
    }
    auto parsed = parse_link_code("  " + typed + "\r\n");
    REQUIRE(parsed.ok());
    CHECK(view_bytes(parsed->secret) == view_bytes(code.secret));

    std::string symbols = symbols_of(code.text);
    std::string confusable = symbols;
    for (std::size_t i = 0; i < confusable.size(); ++i) {
        if (confusable[i] == '0')
            confusable[i] = 'O';
        else if (confusable[i] == '1')
            confusable[i] = i % 2 ? 'l' : 'I';
    }
    auto read = parse_link_code(confusable);
    REQUIRE(read.ok());
    CHECK(read->channel == code.channel);
    CHECK(view_bytes(read->secret) == view_bytes(code.secret));

    auto grouped = parse_link_code(symbols.substr(0, 5) + "--" + symbols.substr(5));
    CHECK(grouped.ok());
}

TEST_CASE("the letter O, I or L typed for a code reads as the digit it looks like") {
    std::string zeros = symbols_of(format_link_code(Bytes(5, 0), SecretBytes(10)));
    std::string ohs(zeros.size(), 'o');
    auto parsed = parse_link_code(ohs);
    REQUIRE(parsed.ok());
    CHECK(parsed->channel == Bytes(5, 0));
}

TEST_CASE("a link code that is too short or too long is refused with a sentence") {
    std::string symbols = symbols_of(Code().text);
    check_refused("", "the link code is too short");
    check_refused(" - ", "the link code is too short");
    check_refused(symbols.substr(0, 24), "the link code is too short");
    check_refused(symbols + "0", "the link code is too long");
    check_refused(symbols + symbols, "the link code is too long");
    check_refused("veil-link:", "the link code is too short");
}

TEST_CASE("a character that cannot be in a code is named in the error") {
    std::string symbols = symbols_of(Code().text);
    check_refused(symbols.substr(0, 10) + "U" + symbols.substr(10),
                  "the link code has a character that cannot be in a code: 'U'");
    check_refused("7K2M-9QX4_", "the link code has a character that cannot be in a code: '_'");
    check_refused("7K2M\xC3\xA9", "the link code has a character that cannot be in a code: "
                                  "'\xC3\xA9'");
    // A control or a bidi override is shown as a mark, never passed to the display as is.
    check_refused("7K2M\x1b[2J", "the link code has a character that cannot be in a code: "
                                 "<U+001B>");
    check_refused("7K2M\xE2\x80\xAE", "the link code has a character that cannot be in a code: "
                                      "<U+202E>");
    check_refused(std::string("7K2M\0", 5),
                  "the link code has a character that cannot be in a code: <U+0000>");
}

TEST_CASE("the QR payload is alphanumeric and parses back, whatever the prefix's case") {
    Code code;
    std::string uri = link_code_uri(code.channel, code.secret);
    REQUIRE(uri.size() == kLinkUriPrefix.size() + kLinkCodeSymbols);
    CHECK(uri.substr(0, kLinkUriPrefix.size()) == kLinkUriPrefix);
    CHECK(uri.substr(kLinkUriPrefix.size()) == symbols_of(code.text));
    // QR's alphanumeric mode: digits, upper-case letters, space and $ % * + - . / :
    constexpr std::string_view qr_alphanumeric = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
    for (char c : uri)
        CHECK(qr_alphanumeric.find(c) != std::string_view::npos);

    for (std::string text : {uri, "veil-link:" + uri.substr(10), "Veil-Link:" + uri.substr(10)}) {
        auto parsed = parse_link_code(text);
        REQUIRE(parsed.ok());
        CHECK(parsed->channel == code.channel);
        CHECK(view_bytes(parsed->secret) == view_bytes(code.secret));
    }
}

TEST_CASE("a link key pair has a 32-byte public key and a 32-byte private key, fresh each time") {
    LinkKeyPair a = key_pair();
    LinkKeyPair b = key_pair();
    CHECK(a.public_key.size() == 32);
    CHECK(a.private_key.size() == 32);
    CHECK(a.public_key != b.public_key);
    CHECK(view_bytes(a.private_key) != view_bytes(b.private_key));
}

TEST_CASE("both devices of a link derive the same keys, one per direction") {
    Link link;
    LinkKeys existing = link.existing_side();
    LinkKeys fresh = link.new_side();
    CHECK(existing.to_new.size() == 32);
    CHECK(existing.to_existing.size() == 32);
    CHECK(view_bytes(existing.to_new) == view_bytes(fresh.to_new));
    CHECK(view_bytes(existing.to_existing) == view_bytes(fresh.to_existing));
    CHECK(view_bytes(existing.to_new) != view_bytes(existing.to_existing));

    CHECK(opens(fresh.to_new, 0, seal(existing.to_new, 0, "account")));
    CHECK(opens(existing.to_existing, 0, seal(fresh.to_existing, 0, "device keys")));
}

// RFC 7748, section 6.1: Alice's and Bob's X25519 keys and their shared secret K. The link keys
// must be HKDF-SHA256 (RFC 5869) of K with the code's secret as salt and the transcript as info.
TEST_CASE("link keys are HKDF-SHA256 of the RFC 7748 shared secret, the code's secret and the "
          "transcript") {
    SecretBytes alice_private =
        secret_hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    Bytes alice_public = hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    SecretBytes bob_private =
        secret_hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
    Bytes bob_public = hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    Bytes shared = hex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    Bytes channel = hex("0102030405");
    SecretBytes secret = secret_hex("a0a1a2a3a4a5a6a7a8a9");

    // Alice is the existing device, Bob the new one.
    Bytes info = to_bytes("veil-link-v1");
    for (const Bytes* part : {&channel, &alice_public, &bob_public})
        info.insert(info.end(), part->begin(), part->end());
    Bytes expected = reference_hkdf(shared, view_bytes(secret), info, 64);

    auto keys =
        derive_link_keys(alice_private, bob_public, secret, channel, alice_public, bob_public);
    REQUIRE(keys.ok());
    CHECK(view_bytes(keys->to_new) == Bytes(expected.begin(), expected.begin() + 32));
    CHECK(view_bytes(keys->to_existing) == Bytes(expected.begin() + 32, expected.end()));

    auto bobs =
        derive_link_keys(bob_private, alice_public, secret, channel, alice_public, bob_public);
    REQUIRE(bobs.ok());
    CHECK(view_bytes(bobs->to_new) == view_bytes(keys->to_new));
}

TEST_CASE("a relay that swaps in its own link keys but lacks the secret ends with keys that open "
          "nothing") {
    Link link;
    // The relay gives each end a public key of its own instead of the other end's.
    LinkKeyPair toward_existing = key_pair();
    LinkKeyPair toward_new = key_pair();
    auto existing =
        derive_link_keys(link.existing.private_key, toward_existing.public_key, link.code.secret,
                         link.code.channel, link.existing.public_key, toward_existing.public_key);
    auto fresh = derive_link_keys(link.fresh.private_key, toward_new.public_key, link.code.secret,
                                  link.code.channel, toward_new.public_key, link.fresh.public_key);
    REQUIRE(existing.ok());
    REQUIRE(fresh.ok());

    // Forwarding the boxes unchanged fails at both ends.
    CHECK_FALSE(opens(fresh->to_new, 0, seal(existing->to_new, 0, "account")));
    CHECK_FALSE(opens(existing->to_existing, 0, seal(fresh->to_existing, 0, "device keys")));

    // Without the secret, the relay's own keys neither read nor forge.
    SecretBytes guess = new_link_secret();
    auto relay =
        derive_link_keys(toward_existing.private_key, link.existing.public_key, guess,
                         link.code.channel, link.existing.public_key, toward_existing.public_key);
    REQUIRE(relay.ok());
    CHECK_FALSE(opens(relay->to_new, 0, seal(existing->to_new, 0, "account")));
    CHECK_FALSE(opens(existing->to_existing, 0, seal(relay->to_existing, 0, "forged keys")));

    // The same relay holding the secret would read everything: the secret is what stops it.
    auto informed =
        derive_link_keys(toward_existing.private_key, link.existing.public_key, link.code.secret,
                         link.code.channel, link.existing.public_key, toward_existing.public_key);
    REQUIRE(informed.ok());
    CHECK(opens(informed->to_new, 0, seal(existing->to_new, 0, "account")));
}

TEST_CASE("a different secret or channel gives different link keys") {
    Link link;
    LinkKeys keys = link.existing_side();
    auto other_secret =
        derive_link_keys(link.existing.private_key, link.fresh.public_key, new_link_secret(),
                         link.code.channel, link.existing.public_key, link.fresh.public_key);
    Bytes channel = link.code.channel;
    channel[0] ^= 1;
    auto other_channel =
        derive_link_keys(link.existing.private_key, link.fresh.public_key, link.code.secret,
                         channel, link.existing.public_key, link.fresh.public_key);
    REQUIRE(other_secret.ok());
    REQUIRE(other_channel.ok());
    CHECK(view_bytes(other_secret->to_new) != view_bytes(keys.to_new));
    CHECK(view_bytes(other_channel->to_new) != view_bytes(keys.to_new));
}

TEST_CASE("a sealed link message opens with its key and counter only") {
    Link link;
    LinkKeys keys = link.existing_side();
    Bytes box = seal(keys.to_new, 7, "hello");
    CHECK(box.size() == 5 + kLinkTagBytes);

    auto plaintext = link_open(keys.to_new, 7, box);
    REQUIRE(plaintext.ok());
    CHECK(to_string(plaintext->view()) == "hello");

    CHECK_FALSE(opens(keys.to_new, 6, box));
    CHECK_FALSE(opens(keys.to_new, 8, box));
    CHECK_FALSE(opens(keys.to_new, 7 + (std::uint64_t{1} << 32), box));
    CHECK_FALSE(opens(keys.to_existing, 7, box)); // the other direction's key
    CHECK_FALSE(opens(keys.to_new, 7, Bytes(box.begin(), box.end() - 1)));
    CHECK_FALSE(opens(keys.to_new, 7, Bytes(box.begin(), box.begin() + 15)));
    CHECK_FALSE(opens(keys.to_new, 7, Bytes()));

    Bytes empty = seal(keys.to_new, 0, "");
    CHECK(empty.size() == kLinkTagBytes);
    auto opened = link_open(keys.to_new, 0, empty);
    REQUIRE(opened.ok());
    CHECK(opened->empty());
}

TEST_CASE("a change to any byte of a sealed link message makes it fail") {
    Link link;
    LinkKeys keys = link.new_side();
    Bytes box = seal(keys.to_existing, 0, "keys!");
    for (std::size_t at = 0; at < box.size(); ++at) {
        for (std::uint8_t flip : {0x01, 0x80, 0xff}) {
            Bytes tampered = box;
            tampered[at] ^= flip;
            CHECK_FALSE(opens(keys.to_existing, 0, tampered));
        }
    }
}

TEST_CASE("the same plaintext under successive counters gives unrelated boxes") {
    Link link;
    LinkKeys keys = link.existing_side();
    CHECK(seal(keys.to_new, 0, "same") != seal(keys.to_new, 1, "same"));
    CHECK(seal(keys.to_new, 0, "same") == seal(keys.to_new, 0, "same"));
}

TEST_CASE("link_seal and link_open refuse a key of the wrong size") {
    auto sealed = link_seal(SecretBytes(16), 0, to_bytes("x"));
    REQUIRE_FALSE(sealed.ok());
    CHECK(sealed.error().code == Errc::invalid_argument);
    auto opened = link_open(SecretBytes(31), 0, Bytes(17));
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().code == Errc::invalid_argument);
}

// RFC 7748, section 6.1 says to check for an all-zero shared secret. These are the points of small
// order on Curve25519 (and their non-canonical encodings, p and p + 1): X25519 with any private key
// gives zero, so anyone would know the key.
TEST_CASE("a low-order public key is refused because it gives no shared secret") {
    const char* const small_order[] = {
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    };
    Link link;
    for (const char* point : small_order) {
        Bytes bad = hex(point);
        auto keys = derive_link_keys(link.existing.private_key, bad, link.code.secret,
                                     link.code.channel, link.existing.public_key, bad);
        REQUIRE_FALSE(keys.ok());
        CHECK(keys.error().code == Errc::crypto);
        CHECK(keys.error().message == "the other device's link key gives no shared secret");
    }
}

TEST_CASE("public keys and secrets of the wrong size are refused") {
    Link link;
    for (std::size_t size : {0, 31, 33}) {
        Bytes bad = random_bytes(size);
        auto keys = derive_link_keys(link.existing.private_key, bad, link.code.secret,
                                     link.code.channel, link.existing.public_key, bad);
        REQUIRE_FALSE(keys.ok());
        CHECK(keys.error().code == Errc::invalid_argument);
    }
    auto short_secret =
        derive_link_keys(link.existing.private_key, link.fresh.public_key, SecretBytes(9),
                         link.code.channel, link.existing.public_key, link.fresh.public_key);
    CHECK_FALSE(short_secret.ok());
    auto long_channel =
        derive_link_keys(link.existing.private_key, link.fresh.public_key, link.code.secret,
                         Bytes(6), link.existing.public_key, link.fresh.public_key);
    CHECK_FALSE(long_channel.ok());
}

TEST_CASE("link keys are refused when the keys named are not the two that met") {
    Link link;
    LinkKeyPair stranger = key_pair();
    // their_public is not one of the two named keys.
    auto unnamed =
        derive_link_keys(link.existing.private_key, stranger.public_key, link.code.secret,
                         link.code.channel, link.existing.public_key, link.fresh.public_key);
    REQUIRE_FALSE(unnamed.ok());
    CHECK(unnamed.error().code == Errc::invalid_argument);

    // A relay reflecting a device's own key back to it.
    auto reflected =
        derive_link_keys(link.existing.private_key, link.existing.public_key, link.code.secret,
                         link.code.channel, link.existing.public_key, link.existing.public_key);
    REQUIRE_FALSE(reflected.ok());
    CHECK(reflected.error().code == Errc::crypto);
}

TEST_CASE("a sealed device name opens with the account's identity key") {
    SecretBytes identity = SecretBytes(random_bytes(32).data(), 32);
    for (std::string name : {std::string(), std::string("Ada's laptop"),
                             std::string("\xE5\xB7\xA5\xE4\xBD\x9C"), std::string(64, 'n')}) {
        auto sealed = seal_device_name(identity, name);
        REQUIRE(sealed.ok());
        CHECK(sealed->size() == name.size() + 28);
        auto opened = open_device_name(identity, *sealed);
        REQUIRE(opened.ok());
        CHECK(*opened == name);
    }
}

TEST_CASE("sealing a device name twice gives different bytes") {
    SecretBytes identity = SecretBytes(random_bytes(32).data(), 32);
    auto a = seal_device_name(identity, "phone");
    auto b = seal_device_name(identity, "phone");
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(*a != *b);
}

TEST_CASE("a sealed device name does not open with another identity key or after a change") {
    SecretBytes identity = SecretBytes(random_bytes(32).data(), 32);
    SecretBytes other = SecretBytes(random_bytes(32).data(), 32);
    auto sealed = seal_device_name(identity, "desk");
    REQUIRE(sealed.ok());

    auto wrong = open_device_name(other, *sealed);
    REQUIRE_FALSE(wrong.ok());
    CHECK(wrong.error().code == Errc::crypto);

    for (std::size_t at = 0; at < sealed->size(); ++at) {
        Bytes tampered = *sealed;
        tampered[at] ^= 0x01;
        auto opened = open_device_name(identity, tampered);
        REQUIRE_FALSE(opened.ok());
        CHECK(opened.error().code == Errc::crypto);
    }
    CHECK_FALSE(open_device_name(identity, Bytes(sealed->begin(), sealed->end() - 1)).ok());
    CHECK_FALSE(open_device_name(identity, Bytes(27)).ok());
}

TEST_CASE("a sealed device name stays within what the relay stores") {
    SecretBytes identity = SecretBytes(random_bytes(32).data(), 32);
    auto longest = seal_device_name(identity, std::string(kMaxSealableDeviceNameBytes, 'x'));
    REQUIRE(longest.ok());
    CHECK(longest->size() == kMaxSealedDeviceNameBytes);

    auto too_long = seal_device_name(identity, std::string(kMaxSealableDeviceNameBytes + 1, 'x'));
    REQUIRE_FALSE(too_long.ok());
    CHECK(too_long.error().code == Errc::too_large);

    auto bad_key = seal_device_name(SecretBytes(33), "x");
    REQUIRE_FALSE(bad_key.ok());
    CHECK(bad_key.error().code == Errc::invalid_argument);
}

TEST_CASE("a link code pasted with typographic dashes and no-break spaces parses") {
    const Bytes channel{1, 2, 3, 4, 5};
    SecretBytes secret = new_link_secret();
    std::string code = format_link_code(channel, secret);
    // En dashes for the dashes, and a no-break space and a narrow one around the code.
    std::string pasted = "\xC2\xA0";
    for (char c : code)
        pasted += c == '-' ? std::string("\xE2\x80\x93") : std::string(1, c);
    pasted += "\xE2\x80\xAF";
    auto parsed = parse_link_code(pasted);
    REQUIRE(parsed.ok());
    CHECK(parsed->channel == channel);
    CHECK(std::equal(parsed->secret.view().begin(), parsed->secret.view().end(),
                     secret.view().begin(), secret.view().end()));
    // Other characters outside the alphabet are still refused.
    CHECK_FALSE(parse_link_code(code + "\xE2\x80\x9C").ok());
}

TEST_CASE("points of small order are told from usable Curve25519 keys") {
    // u = 0 and u = 1 (orders 4 and 1), and u = p - 1 (order 2), in libsignal's 33-byte form.
    Bytes zero(33, 0), one(33, 0), p_minus_1(33, 0xff);
    zero[0] = one[0] = p_minus_1[0] = 0x05;
    one[1] = 1;
    p_minus_1[1] = 0xec;
    p_minus_1[32] = 0x7f;
    CHECK(is_low_order_point(zero));
    CHECK(is_low_order_point(one));
    CHECK(is_low_order_point(p_minus_1));
    CHECK(is_low_order_point(Bytes(10, 5))); // not a key at all

    auto pair = generate_link_key_pair();
    REQUIRE(pair.ok());
    Bytes prefixed{0x05};
    prefixed.insert(prefixed.end(), pair->public_key.begin(), pair->public_key.end());
    CHECK_FALSE(is_low_order_point(pair->public_key));
    CHECK_FALSE(is_low_order_point(prefixed));
    prefixed[0] = 0x04; // a wrong type byte
    CHECK(is_low_order_point(prefixed));
}
