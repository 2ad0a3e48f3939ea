#include "util/environment.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <string>

namespace veil {
namespace {

TEST_CASE("a secret taken from the environment is copied, wiped in place and unset") {
    const std::string secret = "correct horse battery staple";
    REQUIRE(::setenv("VEIL_TEST_SECRET", secret.c_str(), 1) == 0);
    // The bytes the environment holds, as /proc/PID/environ would show them for a variable the
    // process started with.
    char* held = std::getenv("VEIL_TEST_SECRET");
    REQUIRE(held);

    auto taken = take_secret_from_environment("VEIL_TEST_SECRET");
    REQUIRE(taken);
    CHECK(std::string(reinterpret_cast<const char*>(taken->data()), taken->size()) == secret);
    CHECK(std::getenv("VEIL_TEST_SECRET") == nullptr);
    CHECK(std::string(held, secret.size()) == std::string(secret.size(), '\0'));
}

TEST_CASE("an unset variable gives nothing and a set but empty one an empty secret") {
    ::unsetenv("VEIL_TEST_SECRET");
    CHECK_FALSE(take_secret_from_environment("VEIL_TEST_SECRET"));
    REQUIRE(::setenv("VEIL_TEST_SECRET", "", 1) == 0);
    auto empty = take_secret_from_environment("VEIL_TEST_SECRET");
    REQUIRE(empty);
    CHECK(empty->empty());
    CHECK(std::getenv("VEIL_TEST_SECRET") == nullptr);
}

} // namespace
} // namespace veil
