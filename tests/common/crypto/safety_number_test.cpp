#include "crypto/keys.h"
#include "crypto/safety_number.h"
#include "util/hex.h"

#include <catch2/catch.hpp>

#include <cctype>

using namespace veil;
using namespace veil::crypto;

namespace {

std::unique_ptr<SignalContext> make_context() {
    auto context = SignalContext::create();
    REQUIRE(context.ok());
    return std::move(context).value();
}

Bytes new_identity_key(SignalContext& context) {
    auto identity = generate_identity(context);
    REQUIRE(identity.ok());
    return identity->key_pair.public_key;
}

SafetyNumber compute(SignalContext& context, const std::string& local, const Bytes& local_key,
                     const std::string& remote, const Bytes& remote_key) {
    auto number = SafetyNumber::compute(context, local, local_key, remote, remote_key);
    REQUIRE(number.ok());
    return std::move(number).value();
}

struct Pair {
    std::unique_ptr<SignalContext> context = make_context();
    Bytes alice_key = new_identity_key(*context);
    Bytes bob_key = new_identity_key(*context);
    SafetyNumber alice = compute(*context, "alice", alice_key, "bob", bob_key);
    SafetyNumber bob = compute(*context, "bob", bob_key, "alice", alice_key);
};

// Known-answer vector from libsignal-protocol-c's tests/test_fingerprint.c (test_vectors_v1):
// two fixed identity keys, stable identifiers "+14152222222" and "+14153333333", 5200
// iterations, scannable version 1.
const Bytes kAliceIdentity = {0x05, 0x06, 0x86, 0x3b, 0xc6, 0x6d, 0x02, 0xb4, 0x0d, 0x27, 0xb8,
                              0xd4, 0x9c, 0xa7, 0xc0, 0x9e, 0x92, 0x39, 0x23, 0x6f, 0x9d, 0x7d,
                              0x25, 0xd6, 0xfc, 0xca, 0x5c, 0xe1, 0x3c, 0x70, 0x64, 0xd8, 0x68};
const Bytes kBobIdentity = {0x05, 0xf7, 0x81, 0xb6, 0xfb, 0x32, 0xfe, 0xd9, 0xba, 0x1c, 0xf2,
                            0xde, 0x97, 0x8d, 0x4d, 0x5d, 0xa2, 0x8d, 0xc3, 0x40, 0x46, 0xae,
                            0x81, 0x44, 0x02, 0xb5, 0xc0, 0xdb, 0xd9, 0x6f, 0xda, 0x90, 0x7b};
const std::string kDisplayable = "300354477692869396892869876765458257569162576843440918079131";
const Bytes kAliceScannableV1 = {
    0x08, 0x01, 0x12, 0x22, 0x0a, 0x20, 0x1e, 0x30, 0x1a, 0x03, 0x53, 0xdc, 0xe3, 0xdb, 0xe7,
    0x68, 0x4c, 0xb8, 0x33, 0x6e, 0x85, 0x13, 0x6c, 0xdc, 0x0e, 0xe9, 0x62, 0x19, 0x49, 0x4a,
    0xda, 0x30, 0x5d, 0x62, 0xa7, 0xbd, 0x61, 0xdf, 0x1a, 0x22, 0x0a, 0x20, 0xd6, 0x2c, 0xbf,
    0x73, 0xa1, 0x15, 0x92, 0x01, 0x5b, 0x6b, 0x9f, 0x16, 0x82, 0xac, 0x30, 0x6f, 0xea, 0x3a,
    0xaf, 0x38, 0x85, 0xb8, 0x4d, 0x12, 0xbc, 0xa6, 0x31, 0xe9, 0xd4, 0xfb, 0x3a, 0x4d};

} // namespace

TEST_CASE("the safety number matches libsignal's published test vector") {
    auto context = make_context();
    auto alice = compute(*context, "+14152222222", kAliceIdentity, "+14153333333", kBobIdentity);
    auto bob = compute(*context, "+14153333333", kBobIdentity, "+14152222222", kAliceIdentity);
    CHECK(alice.digits() == kDisplayable);
    CHECK(bob.digits() == kDisplayable);
    CHECK(alice.scannable() == kAliceScannableV1);
    CHECK(alice.compare(*context, bob.scannable()) == ScanResult::match);
}

TEST_CASE("both sides see the same 60 digits in 12 groups of 5") {
    Pair pair;
    CHECK(pair.alice.digits() == pair.bob.digits());
    CHECK(pair.alice.digits().size() == 60);
    for (char c : pair.alice.digits())
        CHECK(std::isdigit(static_cast<unsigned char>(c)));

    auto groups = pair.alice.groups();
    REQUIRE(groups.size() == 12);
    std::string joined;
    for (const auto& group : groups) {
        CHECK(group.size() == 5);
        joined += group;
    }
    CHECK(joined == pair.alice.digits());
    CHECK(pair.alice.formatted().size() == 60 + 11);
    CHECK(pair.alice.formatted().substr(0, 6) == groups[0] + " ");
    CHECK(pair.alice.formatted() == pair.bob.formatted());
}

TEST_CASE("changing either identity key changes the safety number") {
    Pair pair;
    Bytes other = new_identity_key(*pair.context);
    auto new_bob = compute(*pair.context, "alice", pair.alice_key, "bob", other);
    auto new_alice = compute(*pair.context, "alice", other, "bob", pair.bob_key);
    CHECK(new_bob.digits() != pair.alice.digits());
    CHECK(new_alice.digits() != pair.alice.digits());
    CHECK(new_alice.digits() != new_bob.digits());
}

TEST_CASE("changing an account name changes the safety number") {
    Pair pair;
    auto renamed = compute(*pair.context, "alice", pair.alice_key, "bobby", pair.bob_key);
    CHECK(renamed.digits() != pair.alice.digits());
}

TEST_CASE("a code scanned from the other side matches") {
    Pair pair;
    CHECK(pair.alice.compare(*pair.context, pair.bob.scannable()) == ScanResult::match);
    CHECK(pair.bob.compare(*pair.context, pair.alice.scannable()) == ScanResult::match);
    CHECK(pair.alice.scannable() != pair.bob.scannable());
}

TEST_CASE("scanning one's own code is a mismatch") {
    Pair pair;
    CHECK(pair.alice.compare(*pair.context, pair.alice.scannable()) == ScanResult::mismatch);
}

TEST_CASE("a code for another key is a mismatch") {
    Pair pair;
    Bytes mallory = new_identity_key(*pair.context);
    // Bob sees Mallory's key as Alice's: Mallory sits between them.
    auto bob_fooled = compute(*pair.context, "bob", pair.bob_key, "alice", mallory);
    CHECK(pair.alice.compare(*pair.context, bob_fooled.scannable()) == ScanResult::mismatch);
    CHECK(bob_fooled.compare(*pair.context, pair.alice.scannable()) == ScanResult::mismatch);
}

TEST_CASE("a tampered code is a mismatch") {
    Pair pair;
    Bytes scanned = pair.bob.scannable();
    // Byte 6 starts the first 32-byte hash, byte 42 the second (after their protobuf headers).
    auto where = GENERATE(6, 20, 37, 42, 60, 73);
    CAPTURE(where);
    scanned[static_cast<std::size_t>(where)] ^= 0x01;
    CHECK(pair.alice.compare(*pair.context, scanned) == ScanResult::mismatch);
}

TEST_CASE("garbage is not a code") {
    Pair pair;
    CHECK(pair.alice.compare(*pair.context, Bytes{}) == ScanResult::malformed);
    CHECK(pair.alice.compare(*pair.context, Bytes{0xff, 0xff, 0xff}) == ScanResult::malformed);
    CHECK(pair.alice.compare(*pair.context, to_bytes("https://example.invalid/x")) ==
          ScanResult::malformed);

    Bytes truncated = pair.bob.scannable();
    truncated.resize(truncated.size() - 10);
    CHECK(pair.alice.compare(*pair.context, truncated) == ScanResult::malformed);

    // Well-formed protobuf of version 1 whose hashes are 3 bytes long.
    Bytes short_hashes = {0x08, 0x01, 0x12, 0x05, 0x0a, 0x03, 1, 2,
                          3,    0x1a, 0x05, 0x0a, 0x03, 1,    2, 3};
    CHECK(pair.alice.compare(*pair.context, short_hashes) == ScanResult::malformed);
}

TEST_CASE("a code of another format version is reported as such") {
    Pair pair;
    Bytes scanned = pair.bob.scannable();
    REQUIRE(scanned[0] == 0x08); // field 1 (version), varint
    REQUIRE(scanned[1] == 0x01);
    scanned[1] = 0x02;
    CHECK(pair.alice.compare(*pair.context, scanned) == ScanResult::different_version);
}

TEST_CASE("bad names and keys are refused") {
    Pair pair;
    auto empty = SafetyNumber::compute(*pair.context, "", pair.alice_key, "bob", pair.bob_key);
    REQUIRE_FALSE(empty.ok());
    CHECK(empty.error().code == Errc::invalid_argument);

    auto nul = SafetyNumber::compute(*pair.context, "alice", pair.alice_key,
                                     std::string_view("b\0b", 3), pair.bob_key);
    REQUIRE_FALSE(nul.ok());
    CHECK(nul.error().code == Errc::invalid_argument);

    Bytes short_key(pair.bob_key.begin(), pair.bob_key.end() - 1);
    auto shorter = SafetyNumber::compute(*pair.context, "alice", pair.alice_key, "bob", short_key);
    REQUIRE_FALSE(shorter.ok());
    CHECK(shorter.error().code == Errc::invalid_argument);

    Bytes wrong_type = pair.bob_key;
    wrong_type[0] = 0x07;
    auto typed = SafetyNumber::compute(*pair.context, "alice", pair.alice_key, "bob", wrong_type);
    REQUIRE_FALSE(typed.ok());
    CHECK(typed.error().code == Errc::invalid_argument);
}
