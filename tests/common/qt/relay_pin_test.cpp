// The certificate pin carried in a relay URL (common/qt/relay_pin.h).
#include "qt/relay_pin.h"

#include <catch2/catch.hpp>

using veil::qt::pin_text;
using veil::qt::relay_connect_url;
using veil::qt::relay_pin;

namespace {
const std::string kHex = "8e358d28e7328495fd9902496fd829243220f581d69e2d71216a3490f13c9013";
}

TEST_CASE("a relay URL without a fragment has no pin, and the URL is used as given") {
    auto pin = relay_pin("wss://relay.example:8443");
    REQUIRE(pin);
    CHECK(pin->isEmpty());
    CHECK(relay_connect_url("wss://relay.example:8443").toString() ==
          QStringLiteral("wss://relay.example:8443"));
}

TEST_CASE("a pin is read in the printed form and in openssl's colon form, and never sent") {
    auto plain = relay_pin("wss://relay.example:8443#sha256:" + kHex);
    REQUIRE(plain);
    CHECK(pin_text(*plain) == "sha256:" + kHex);
    std::string colons;
    for (std::size_t i = 0; i < kHex.size(); i += 2)
        colons +=
            (i ? ":" : "") + QString::fromStdString(kHex.substr(i, 2)).toUpper().toStdString();
    auto upper = relay_pin("wss://relay.example:8443#sha256:" + colons);
    REQUIRE(upper);
    CHECK(*upper == *plain);
    CHECK(relay_connect_url("wss://relay.example:8443#sha256:" + kHex).toString() ==
          QStringLiteral("wss://relay.example:8443"));
}

TEST_CASE("a pin that is short, long, not hex, not sha256 or on ws:// is refused") {
    for (const std::string& url : std::vector<std::string>{
             "wss://r:1#sha256:" + kHex.substr(2), "wss://r:1#sha256:" + kHex + "00",
             "wss://r:1#sha256:" + kHex.substr(1) + "g", "wss://r:1#sha1:" + kHex,
             "wss://r:1#" + kHex, "ws://r:1#sha256:" + kHex, "wss://r:1#"}) {
        INFO(url);
        auto pin = relay_pin(url);
        REQUIRE_FALSE(pin);
        CHECK(pin.error().code == veil::Errc::invalid_argument);
    }
}
