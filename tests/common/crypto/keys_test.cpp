#include "crypto/keys.h"
#include "util/hex.h"

#include <catch2/catch.hpp>

using namespace veil;
using namespace veil::crypto;

namespace {

std::unique_ptr<SignalContext> make_context() {
    auto context = SignalContext::create();
    REQUIRE(context.ok());
    return std::move(context).value();
}

struct Signed {
    std::unique_ptr<SignalContext> context = make_context();
    GeneratedIdentity identity;
    Bytes data = to_bytes("relay nonce 0123456789abcdef0123456789abcdef");
    Bytes signature;

    Signed() {
        auto generated = generate_identity(*context);
        REQUIRE(generated.ok());
        identity = std::move(generated).value();
        auto sig = sign(*context, identity.key_pair.private_key, data);
        REQUIRE(sig.ok());
        signature = std::move(sig).value();
    }

    bool verify(const Bytes& key, const Bytes& message, const Bytes& sig) {
        return verify_signature(*context, key, message, sig);
    }
};

} // namespace

TEST_CASE("a generated identity has a 33-byte public key, a 32-byte private key and an id") {
    auto context = make_context();
    auto identity = generate_identity(*context);
    REQUIRE(identity.ok());
    CHECK(identity->key_pair.public_key.size() == 33);
    CHECK(identity->key_pair.public_key[0] == 0x05);
    CHECK(identity->key_pair.private_key.size() == 32);
    CHECK(identity->registration_id > 0);
    CHECK(identity->registration_id <= 16380);

    auto other = generate_identity(*context);
    REQUIRE(other.ok());
    CHECK(other->key_pair.public_key != identity->key_pair.public_key);
}

TEST_CASE("prekeys are generated with consecutive ids, public keys and records") {
    auto context = make_context();
    auto prekeys = generate_prekeys(*context, 100, 5);
    REQUIRE(prekeys.ok());
    REQUIRE(prekeys->size() == 5);
    for (unsigned i = 0; i < 5; ++i) {
        CHECK((*prekeys)[i].id == 100 + i);
        CHECK((*prekeys)[i].public_key.size() == 33);
        CHECK_FALSE((*prekeys)[i].record.empty());
    }
    auto none = generate_prekeys(*context, 1, 0);
    REQUIRE(none.ok());
    CHECK(none->empty());
}

TEST_CASE("prekey ids wrap below 2^24 and skip zero") {
    auto context = make_context();
    auto prekeys = generate_prekeys(*context, 0xFFFFFE, 3);
    REQUIRE(prekeys.ok());
    REQUIRE(prekeys->size() == 3);
    CHECK((*prekeys)[0].id == 0xFFFFFE);
    CHECK((*prekeys)[1].id == 1);
    CHECK((*prekeys)[2].id == 2);
}

TEST_CASE("a signed prekey carries a signature by the identity over its public key") {
    Signed s;
    auto spk = generate_signed_prekey(*s.context, s.identity.key_pair, 7, 1'700'000'000'000);
    REQUIRE(spk.ok());
    CHECK(spk->id == 7);
    CHECK(spk->public_key.size() == 33);
    CHECK(spk->signature.size() == 64);
    CHECK_FALSE(spk->record.empty());
    CHECK(s.verify(s.identity.key_pair.public_key, spk->public_key, spk->signature));
}

TEST_CASE("a signed prekey cannot be made from a malformed identity") {
    auto context = make_context();
    IdentityKeyPair broken{Bytes(33, 0x05), SecretBytes(31)};
    auto spk = generate_signed_prekey(*context, broken, 1, 0);
    REQUIRE_FALSE(spk.ok());
    CHECK(spk.error().code == Errc::invalid_argument);
}

TEST_CASE("a signature verifies with the signer's public key") {
    Signed s;
    CHECK(s.signature.size() == 64);
    CHECK(s.verify(s.identity.key_pair.public_key, s.data, s.signature));
}

TEST_CASE("a signature over empty data verifies") {
    Signed s;
    auto sig = sign(*s.context, s.identity.key_pair.private_key, Bytes{});
    REQUIRE(sig.ok());
    CHECK(s.verify(s.identity.key_pair.public_key, Bytes{}, *sig));
    CHECK_FALSE(s.verify(s.identity.key_pair.public_key, Bytes{0}, *sig));
}

TEST_CASE("a flipped bit anywhere in the signature makes verification fail") {
    Signed s;
    for (std::size_t i = 0; i < s.signature.size(); i += 7) {
        Bytes bad = s.signature;
        bad[i] ^= 0x01;
        CHECK_FALSE(s.verify(s.identity.key_pair.public_key, s.data, bad));
    }
}

TEST_CASE("a flipped bit in the signed data makes verification fail") {
    Signed s;
    for (std::size_t i = 0; i < s.data.size(); i += 5) {
        Bytes bad = s.data;
        bad[i] ^= 0x80;
        CHECK_FALSE(s.verify(s.identity.key_pair.public_key, bad, s.signature));
    }
}

TEST_CASE("a flipped bit in the public key makes verification fail") {
    Signed s;
    for (std::size_t i = 1; i < 33; i += 4) {
        Bytes bad = s.identity.key_pair.public_key;
        bad[i] ^= 0x01;
        CHECK_FALSE(s.verify(bad, s.data, s.signature));
    }
    auto other = generate_identity(*s.context);
    REQUIRE(other.ok());
    CHECK_FALSE(s.verify(other->key_pair.public_key, s.data, s.signature));
}

TEST_CASE("malformed keys and signatures are rejected without crashing") {
    Signed s;
    const Bytes& key = s.identity.key_pair.public_key;
    Bytes raw_32(key.begin() + 1, key.end()); // no type byte
    Bytes wrong_type = key;
    wrong_type[0] = 0x04;
    Bytes long_key = key;
    long_key.push_back(0);

    CHECK_FALSE(s.verify(raw_32, s.data, s.signature));
    CHECK_FALSE(s.verify(wrong_type, s.data, s.signature));
    CHECK_FALSE(s.verify(long_key, s.data, s.signature));
    CHECK_FALSE(s.verify(Bytes{}, s.data, s.signature));
    CHECK_FALSE(s.verify(Bytes(33, 0xff), s.data, s.signature));
    CHECK_FALSE(s.verify(to_bytes("garbage"), s.data, s.signature));
    CHECK_FALSE(s.verify(key, s.data, Bytes{}));
    CHECK_FALSE(s.verify(key, s.data, Bytes(63, 0)));
    CHECK_FALSE(s.verify(key, s.data, Bytes(65, 0)));
    CHECK_FALSE(s.verify(key, s.data, Bytes(64, 0xff)));
}

TEST_CASE("signing with a private key of the wrong length fails") {
    auto context = make_context();
    auto r = sign(*context, SecretBytes(16), to_bytes("data"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::invalid_argument);
}
