#include "protocol/envelope_codec.h"
#include "protocol/padding.h"

#include <catch2/catch.hpp>

#include <random>

using namespace veil;
using namespace veil::protocol;

namespace {

wire::Envelope sample_send() {
    wire::Envelope e;
    e.set_version(kProtocolVersion);
    e.set_request_id(7);
    auto* s = e.mutable_send_request();
    s->set_message_id(std::string(kMessageIdBytes, 'm'));
    s->set_to_username("bob");
    s->set_to_device_id(1);
    s->set_type(wire::CIPHERTEXT_WHISPER);
    s->set_ciphertext("opaque");
    return e;
}

} // namespace

TEST_CASE("an encoded envelope decodes to the same envelope") {
    auto e = sample_send();
    auto decoded = decode_envelope(encode_envelope(e));
    REQUIRE(decoded.ok());
    CHECK(decoded->request_id() == 7);
    CHECK(decoded->send_request().to_username() == "bob");
    CHECK(decoded->send_request().ciphertext() == "opaque");
}

TEST_CASE("random bytes into the envelope decoder give errors, never a crash") {
    std::mt19937 rng(12345);
    int accepted = 0;
    for (int i = 0; i < 20000; ++i) {
        Bytes frame(rng() % 512);
        for (auto& b : frame)
            b = static_cast<std::uint8_t>(rng());
        auto r = decode_envelope(frame);
        if (r.ok())
            ++accepted;
        else
            CHECK_FALSE(r.error().message.empty());
    }
    // Random bytes essentially never form a valid version-1 envelope with a valid body.
    CHECK(accepted < 20);
}

TEST_CASE("mutated valid envelopes decode or fail cleanly") {
    std::mt19937 rng(99);
    Bytes base = encode_envelope(sample_send());
    for (int i = 0; i < 20000; ++i) {
        Bytes frame = base;
        int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips; ++f)
            frame[rng() % frame.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        auto r = decode_envelope(frame);
        if (r.ok())
            CHECK(validate(r.value()).ok());
    }
}

TEST_CASE("an oversize frame is refused before parsing") {
    Bytes frame(kMaxFrameBytes + 1, 0);
    auto r = decode_envelope(frame);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::too_large);
}

TEST_CASE("an envelope of another protocol version is refused") {
    auto e = sample_send();
    e.set_version(2);
    auto r = decode_envelope(encode_envelope(e));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("version") != std::string::npos);
}

TEST_CASE("a send with a malformed message id or oversize ciphertext is refused") {
    auto e = sample_send();
    e.mutable_send_request()->set_message_id("short");
    CHECK_FALSE(decode_envelope(encode_envelope(e)).ok());
    e = sample_send();
    e.mutable_send_request()->set_ciphertext(std::string(kMaxCiphertextBytes + 1, 'x'));
    CHECK_FALSE(decode_envelope(encode_envelope(e)).ok());
}

TEST_CASE("usernames are 2 to 32 lowercase letters, digits, '_', '.' or '-'") {
    CHECK(valid_username("alice"));
    CHECK(valid_username("a1"));
    CHECK(valid_username("bob.smith-2_x"));
    CHECK_FALSE(valid_username("a"));
    CHECK_FALSE(valid_username("Alice"));
    CHECK_FALSE(valid_username(".alice"));
    CHECK_FALSE(valid_username("al ice"));
    CHECK_FALSE(valid_username("al\x1b[2Jice"));
    CHECK_FALSE(valid_username(std::string(33, 'a')));
    CHECK(valid_username(std::string(32, 'a')));
}

TEST_CASE("padding hides the length within 160-byte buckets and round trips") {
    for (std::size_t n : {0u, 1u, 158u, 159u, 160u, 161u, 1000u}) {
        Bytes content(n, 0x42);
        Bytes padded = pad(content);
        CHECK(padded.size() % kPaddingBlock == 0);
        CHECK(padded.size() > n);
        auto back = unpad(padded);
        REQUIRE(back.ok());
        CHECK(back.value() == content);
    }
    CHECK(pad(Bytes(10)).size() == pad(Bytes(100)).size());
}

TEST_CASE("malformed padding is rejected") {
    CHECK_FALSE(unpad(Bytes{}).ok());
    CHECK_FALSE(unpad(Bytes(160, 0)).ok());
    Bytes no_marker(160, 0);
    no_marker[10] = 0x41;
    CHECK_FALSE(unpad(no_marker).ok());
    CHECK_FALSE(unpad(Bytes(100, 0x80)).ok());
}
