#include "util/hex.h"
#include "util/result.h"
#include "util/secret_bytes.h"

#include <catch2/catch.hpp>

using namespace veil;

namespace {
Result<int> parse_positive(int v) {
    if (v <= 0)
        return make_error(Errc::invalid_argument, "not positive");
    return v;
}
Status chain(int v) {
    VEIL_TRY(parse_positive(v));
    return {};
}
} // namespace

TEST_CASE("a result carries either a value or an error with a code and a sentence") {
    auto ok = parse_positive(3);
    REQUIRE(ok.ok());
    CHECK(ok.value() == 3);
    auto bad = parse_positive(-1);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == Errc::invalid_argument);
    CHECK(bad.error().message == "not positive");
    CHECK(chain(1).ok());
    CHECK(chain(0).error().code == Errc::invalid_argument);
}

TEST_CASE("secret bytes move without copying and are emptied when wiped") {
    auto s = SecretBytes::from_string("passphrase");
    CHECK(s.size() == 10);
    SecretBytes moved = std::move(s);
    CHECK(moved.size() == 10);
    CHECK(s.empty()); // NOLINT(bugprone-use-after-move): the move contract is what is tested
    auto copy = moved.clone();
    CHECK(copy.size() == 10);
    moved.wipe();
    CHECK(moved.empty());
    CHECK(copy.size() == 10);
}

TEST_CASE("hex encodes and decodes, refusing odd lengths and non-hex characters") {
    Bytes b{0x00, 0x7f, 0xff};
    CHECK(to_hex(b) == "007fff");
    CHECK(from_hex("007fff").value() == b);
    CHECK(from_hex("007FFF").value() == b);
    CHECK_FALSE(from_hex("abc").ok());
    CHECK_FALSE(from_hex("zz").ok());
}
