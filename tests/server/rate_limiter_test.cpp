// RateLimiter: token buckets by key, on an explicit clock.
#include "core/rate_limiter.h"

#include <catch2/catch.hpp>

using veil::relay::RateLimiter;

TEST_CASE("a bucket passes its burst, then says how long until the next token") {
    RateLimiter limiter(2.0, 3.0); // two a second, three at once
    for (int i = 0; i < 3; ++i)
        CHECK_FALSE(limiter.take("bob", 1'000));
    auto wait = limiter.take("bob", 1'000);
    REQUIRE(wait);
    CHECK(*wait == 500);
    // Half a second later one token is back, and only one.
    CHECK_FALSE(limiter.take("bob", 1'500));
    CHECK(limiter.take("bob", 1'500));
}

TEST_CASE("each key has its own bucket") {
    RateLimiter limiter(1.0, 1.0);
    CHECK_FALSE(limiter.take("bob", 0));
    CHECK(limiter.take("bob", 0));
    CHECK_FALSE(limiter.take("alice", 0));
}

TEST_CASE("a charge puts a bucket in debt, bounded by its burst") {
    RateLimiter limiter(1.0, 4.0);
    limiter.charge("10.0.0.7", 0, 100.0); // at most -4 tokens
    auto wait = limiter.take("10.0.0.7", 0);
    REQUIRE(wait);
    CHECK(*wait == 5'000); // from -4 to 1 token at one a second
    CHECK_FALSE(limiter.take("10.0.0.7", 5'000));
}

TEST_CASE("a rate of zero never limits") {
    RateLimiter limiter(0.0, 0.0);
    for (int i = 0; i < 1000; ++i)
        CHECK_FALSE(limiter.take("anyone", 0));
}
