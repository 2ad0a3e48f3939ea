// derive_key: Argon2id through libargon2.
#include "store/account_store.h"
#include "util/hex.h"

#include <catch2/catch.hpp>

using namespace veil;
using namespace veil::store;

namespace {

std::string derive_hex(std::string_view passphrase, std::string_view salt, KdfParams params) {
    auto key = derive_key(SecretBytes::from_string(passphrase), to_bytes(salt), params);
    REQUIRE(key.ok());
    return to_hex(key->view());
}

} // namespace

// Known answers from the reference implementation's test suite (phc-winner-argon2, src/test.c,
// Argon2id version 0x13, 32-byte output, no secret or associated data).
TEST_CASE("derive_key matches the Argon2id reference vectors", "[store]") {
    CHECK(derive_hex("password", "somesalt", {2, 256, 1}) ==
          "9dfeb910e80bad0311fee20f9c0e2b12c17987b4cac90c2ef54d5b3021c68bfe");
    CHECK(derive_hex("password", "somesalt", {2, 65536, 1}) ==
          "09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7");
}

TEST_CASE("the default cost is three passes over 64 MiB in one lane", "[store]") {
    KdfParams params;
    CHECK(params.t_cost == 3);
    CHECK(params.m_cost_kib == 65536);
    CHECK(params.parallelism == 1);
    auto key = derive_key(SecretBytes::from_string("pass"), to_bytes("0123456789abcdef"), params);
    REQUIRE(key.ok());
    CHECK(key->size() == 32);
}

TEST_CASE("derive_key depends on passphrase and salt and refuses a short salt", "[store]") {
    KdfParams cheap{1, 64, 1};
    auto a = derive_hex("one", "0123456789abcdef", cheap);
    CHECK(a != derive_hex("two", "0123456789abcdef", cheap));
    CHECK(a != derive_hex("one", "fedcba9876543210", cheap));
    CHECK(a == derive_hex("one", "0123456789abcdef", cheap));
    CHECK(derive_hex("", "0123456789abcdef", cheap).size() == 64);

    auto short_salt = derive_key(SecretBytes::from_string("x"), to_bytes("1234"), cheap);
    REQUIRE_FALSE(short_salt.ok());
    CHECK(short_salt.error().code == Errc::invalid_argument);
}
