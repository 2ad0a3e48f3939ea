#include "crypto/provider.h"
#include "util/hex.h"

#include <catch2/catch.hpp>

#include <array>
#include <string>

using namespace veil;
using namespace veil::crypto;

namespace {

Bytes hex(std::string_view text) {
    auto bytes = from_hex(text);
    REQUIRE(bytes.ok());
    return *bytes;
}

std::string hmac_hex(const Bytes& key, const Bytes& data) {
    auto mac = hmac_sha256(key, data);
    REQUIRE(mac.ok());
    return to_hex(*mac);
}

std::string sha512_hex(std::string_view message) {
    auto digest = sha512(to_bytes(message));
    REQUIRE(digest.ok());
    return to_hex(*digest);
}

// NIST SP 800-38A, Appendix F: the plaintext shared by every mode's examples.
const char* const kSp80038aPlaintext = "6bc1bee22e409f96e93d7e117393172a"
                                       "ae2d8a571e03ac9c9eb76fac45af8e51"
                                       "30c81c46a35ce411e5fbc1191a0a52ef"
                                       "f69f2445df4f9b17ad2b417be66c3710";
const char* const kAes256Key = "603deb1015ca71be2b73aef0857d7781"
                               "1f352c073b6108d72d9810a30914dff4";

} // namespace

// RFC 4231, section 4.2: test case 1.
TEST_CASE("HMAC-SHA256 matches RFC 4231 test case 1") {
    CHECK(hmac_hex(Bytes(20, 0x0b), to_bytes("Hi There")) ==
          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

// RFC 4231, section 4.3: test case 2 (a key shorter than the output).
TEST_CASE("HMAC-SHA256 matches RFC 4231 test case 2") {
    CHECK(hmac_hex(to_bytes("Jefe"), to_bytes("what do ya want for nothing?")) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

// RFC 4231, sections 4.4 and 4.5: test cases 3 and 4 (combined key and data lengths of 70 and
// 75 bytes, past one SHA-256 block).
TEST_CASE("HMAC-SHA256 matches RFC 4231 test cases 3 and 4") {
    CHECK(hmac_hex(Bytes(20, 0xaa), Bytes(50, 0xdd)) ==
          "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
    CHECK(hmac_hex(hex("0102030405060708090a0b0c0d0e0f10111213141516171819"), Bytes(50, 0xcd)) ==
          "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
}

// RFC 4231, sections 4.7 and 4.8: test cases 6 and 7, a 131-byte key that must be hashed first.
TEST_CASE("HMAC-SHA256 hashes a key longer than the block as RFC 4231 test cases 6 and 7 say") {
    CHECK(hmac_hex(Bytes(131, 0xaa),
                   to_bytes("Test Using Larger Than Block-Size Key - Hash Key First")) ==
          "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    CHECK(hmac_hex(Bytes(131, 0xaa),
                   to_bytes("This is a test using a larger than block-size key and a larger "
                            "than block-size data. The key needs to be hashed before being "
                            "used by the HMAC algorithm.")) ==
          "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

// FIPS 180-2, Appendix C.1: SHA-512 of the one-block message "abc".
TEST_CASE("SHA-512 matches FIPS 180-2 for abc") {
    CHECK(sha512_hex("abc") == "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                               "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

// FIPS 180-2, Appendix B.1: SHA-256 of "abc" (group states are chained by it).
TEST_CASE("SHA-256 matches FIPS 180-2 for abc") {
    auto digest = sha256(to_bytes("abc"));
    REQUIRE(digest.ok());
    CHECK(to_hex(digest.value()) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// FIPS 180-2, Appendix C.2: SHA-512 of the two-block 896-bit message.
TEST_CASE("SHA-512 matches FIPS 180-2 for the 896-bit message") {
    CHECK(sha512_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                     "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu") ==
          "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
          "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909");
}

// The 448-bit message of FIPS 180-2 Appendix B.2; its SHA-512 digest as published with NIST's
// SHA-2 example values. The empty message: NIST CAVP SHAVS, SHA512ShortMsg.rsp, Len = 0.
TEST_CASE("SHA-512 matches the published digests of the 448-bit and empty messages") {
    CHECK(sha512_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c335"
          "96fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445");
    CHECK(sha512_hex("") == "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
                            "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e");
}

// NIST SP 800-38A, F.2.5 (CBC-AES256.Encrypt). The vectors have no padding, so the PKCS#7
// ciphertext must begin with the vector and carry one extra block of padding (64 bytes of
// plaintext are a whole number of blocks).
TEST_CASE("AES-256-CBC encryption matches SP 800-38A F.2.5 and adds a full padding block") {
    const std::string expected = "f58c4c04d6e5f1ba779eabfb5f7bfbd6"
                                 "9cfc4e967edb808d679f777bc6702c7d"
                                 "39f23369a9d9bacfa530e26304231461"
                                 "b2eb05e2c39be9fcda6c19078c6a9d1b";
    auto ct = aes_cbc_encrypt(hex(kAes256Key), hex("000102030405060708090a0b0c0d0e0f"),
                              hex(kSp80038aPlaintext));
    REQUIRE(ct.ok());
    REQUIRE(ct->size() == 64 + 16);
    CHECK(to_hex(std::span(*ct).first(64)) == expected);
}

// NIST SP 800-38A, F.2.6 (CBC-AES256.Decrypt), with the padding block produced by encrypting.
TEST_CASE("AES-256-CBC decryption matches SP 800-38A F.2.6") {
    Bytes key = hex(kAes256Key);
    Bytes iv = hex("000102030405060708090a0b0c0d0e0f");
    auto ct = aes_cbc_encrypt(key, iv, hex(kSp80038aPlaintext));
    REQUIRE(ct.ok());
    auto pt = aes_cbc_decrypt(key, iv, *ct);
    REQUIRE(pt.ok());
    CHECK(to_hex(*pt) == kSp80038aPlaintext);
}

TEST_CASE("AES-256-CBC round trips plaintexts of 0, 15, 16 and 17 bytes") {
    Bytes key = random_bytes(32);
    Bytes iv = random_bytes(16);
    for (std::size_t n : {0, 15, 16, 17}) {
        Bytes plaintext = random_bytes(n);
        auto ct = aes_cbc_encrypt(key, iv, plaintext);
        REQUIRE(ct.ok());
        CHECK(ct->size() == (n / 16 + 1) * 16);
        auto pt = aes_cbc_decrypt(key, iv, *ct);
        REQUIRE(pt.ok());
        CHECK(*pt == plaintext);
    }
}

TEST_CASE("AES-256-CBC decryption rejects bad padding and truncated ciphertext") {
    Bytes key = random_bytes(32);
    Bytes iv = random_bytes(16);
    auto ct = aes_cbc_encrypt(key, iv, to_bytes("fifteen bytes!!"));
    REQUIRE(ct.ok());
    REQUIRE(ct->size() == 16);

    // Changing the iv's last byte changes the last plaintext byte, the padding length: 0x01
    // becomes 0x02, and the byte before it is not 0x02.
    Bytes bad_iv = iv;
    bad_iv[15] ^= 0x03;
    auto bad = aes_cbc_decrypt(key, bad_iv, *ct);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == Errc::crypto);

    CHECK_FALSE(aes_cbc_decrypt(key, iv, std::span(*ct).first(15)).ok());
    CHECK_FALSE(aes_cbc_decrypt(key, iv, Bytes{}).ok());
}

TEST_CASE("AES-CBC refuses keys that are not 32 bytes and ivs that are not 16") {
    Bytes data(16, 0);
    for (std::size_t n : {0, 16, 24, 31, 33}) {
        auto r = aes_cbc_encrypt(Bytes(n, 1), Bytes(16, 0), data);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::invalid_argument);
        CHECK_FALSE(aes_cbc_decrypt(Bytes(n, 1), Bytes(16, 0), data).ok());
    }
    for (std::size_t n : {0, 8, 15, 17, 32}) {
        auto r = aes_cbc_encrypt(Bytes(32, 1), Bytes(n, 0), data);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::invalid_argument);
    }
}

// NIST SP 800-38A, F.5.5 (CTR-AES256.Encrypt) and F.5.6 (CTR-AES256.Decrypt).
TEST_CASE("AES-256-CTR matches SP 800-38A F.5.5 and F.5.6") {
    const std::string ciphertext = "601ec313775789a5b7a7f504bbf3d228"
                                   "f443e3ca4d62b59aca84e990cacaf5c5"
                                   "2b0930daa23de94ce87017ba2d84988d"
                                   "dfc9c58db67aada613c2dd08457941a6";
    Bytes key = hex(kAes256Key);
    Bytes counter = hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
    auto ct = aes_ctr(key, counter, hex(kSp80038aPlaintext));
    REQUIRE(ct.ok());
    CHECK(to_hex(*ct) == ciphertext);
    auto pt = aes_ctr(key, counter, hex(ciphertext));
    REQUIRE(pt.ok());
    CHECK(to_hex(*pt) == kSp80038aPlaintext);
}

// NIST SP 800-38A, F.5.1 (CTR-AES128.Encrypt): the provider also serves 16-byte keys.
TEST_CASE("AES-128-CTR matches SP 800-38A F.5.1") {
    auto ct = aes_ctr(hex("2b7e151628aed2a6abf7158809cf4f3c"),
                      hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"), hex(kSp80038aPlaintext));
    REQUIRE(ct.ok());
    CHECK(to_hex(*ct) == "874d6191b620e3261bef6864990db6ce"
                         "9806f66b7970fdff8617187bb9fffdff"
                         "5ae4df3edbd5d35e5b4f09020db03eab"
                         "1e031dda2fbe03d1792170a0f3009cee");
}

TEST_CASE("AES-CTR keeps the length of plaintexts of 0, 15 and 17 bytes and round trips them") {
    Bytes key = random_bytes(32);
    Bytes iv = random_bytes(16);
    for (std::size_t n : {0, 15, 17}) {
        Bytes plaintext = random_bytes(n);
        auto ct = aes_ctr(key, iv, plaintext);
        REQUIRE(ct.ok());
        CHECK(ct->size() == n);
        auto pt = aes_ctr(key, iv, *ct);
        REQUIRE(pt.ok());
        CHECK(*pt == plaintext);
    }
}

TEST_CASE("AES-CTR refuses keys of other sizes than 16, 24 or 32 bytes and short ivs") {
    for (std::size_t n : {0, 8, 20, 31, 33, 64}) {
        auto r = aes_ctr(Bytes(n, 1), Bytes(16, 0), Bytes(16, 0));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::invalid_argument);
    }
    CHECK(aes_ctr(Bytes(24, 1), Bytes(16, 0), Bytes(16, 0)).ok());
    CHECK_FALSE(aes_ctr(Bytes(32, 1), Bytes(12, 0), Bytes(16, 0)).ok());
}

TEST_CASE("random bytes differ between calls and fill the whole buffer") {
    Bytes a = random_bytes(32);
    Bytes b = random_bytes(32);
    CHECK(a.size() == 32);
    CHECK(a != b);
    std::array<std::uint8_t, 0> none{};
    CHECK(random_bytes(std::span<std::uint8_t>(none)).ok());
}
