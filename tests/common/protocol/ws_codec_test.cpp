#include "protocol/ws_codec.h"
#include "support/ws_frames.h"

#include <catch2/catch.hpp>

#include <random>
#include <string>

using namespace veil;
using namespace veil::protocol::ws;

using veil::test::ws_header;
using veil::test::ws_raw_frame;

namespace {

constexpr std::size_t kCap = 256 * 1024;

Bytes bytes(std::initializer_list<int> values) {
    Bytes b;
    for (int v : values)
        b.push_back(static_cast<std::uint8_t>(v));
    return b;
}

Bytes text_bytes(std::string_view s) {
    return Bytes(s.begin(), s.end());
}

std::string as_text(const Bytes& b) {
    return std::string(b.begin(), b.end());
}

Bytes concat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& p : parts)
        out.insert(out.end(), p.begin(), p.end());
    return out;
}

struct Fed {
    std::vector<Event> events;
    const Violation* violation = nullptr;
};

Fed feed_all(Decoder& d, const Bytes& input) {
    Fed f;
    (void)d.feed(input, f.events);
    f.violation = d.violation();
    return f;
}

Fed feed_bytewise(Decoder& d, const Bytes& input) {
    Fed f;
    for (std::uint8_t b : input)
        if (!d.feed(std::span(&b, 1), f.events))
            break;
    f.violation = d.violation();
    return f;
}

std::uint16_t violation_code(Role role, const Bytes& input) {
    Decoder d(role, kCap);
    auto f = feed_all(d, input);
    Decoder bytewise(role, kCap);
    auto g = feed_bytewise(bytewise, input);
    REQUIRE(f.violation != nullptr);
    REQUIRE(g.violation != nullptr);
    CHECK(f.violation->code == g.violation->code);
    CHECK_FALSE(f.violation->reason.empty());
    return f.violation->code;
}

const std::uint8_t kRfcMask[4] = {0x37, 0xfa, 0x21, 0x3d};

} // namespace

// RFC 6455 section 5.7, "A single-frame unmasked text message".
TEST_CASE("the RFC 6455 single-frame unmasked text example decodes as a client and encodes as "
          "a server") {
    const Bytes wire = bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
    Decoder d(Role::client, kCap);
    auto f = feed_all(d, wire);
    REQUIRE(f.violation == nullptr);
    REQUIRE(f.events.size() == 1);
    CHECK(f.events[0].opcode == Opcode::text);
    CHECK(as_text(f.events[0].payload) == "Hello");
    CHECK(encode_frame(Role::server, Opcode::text, text_bytes("Hello")) == wire);
}

// RFC 6455 section 5.7, "A single-frame masked text message".
TEST_CASE("the RFC 6455 single-frame masked text example decodes as a server and encodes as a "
          "client with its key") {
    const Bytes wire = bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
    Decoder d(Role::server, kCap);
    auto f = feed_all(d, wire);
    REQUIRE(f.violation == nullptr);
    REQUIRE(f.events.size() == 1);
    CHECK(as_text(f.events[0].payload) == "Hello");
    CHECK(encode_frame(Role::client, Opcode::text, text_bytes("Hello"), kRfcMask) == wire);
}

// RFC 6455 section 5.7, "A fragmented unmasked text message".
TEST_CASE("the RFC 6455 fragmented text example joins its fragments into one message") {
    const Bytes wire = bytes({0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f});
    Decoder d(Role::client, kCap);
    std::vector<Event> out;
    REQUIRE(d.feed(std::span(wire).first(5), out));
    CHECK(out.empty());
    CHECK(d.mid_frame());
    REQUIRE(d.feed(std::span(wire).subspan(5), out));
    REQUIRE(out.size() == 1);
    CHECK(out[0].opcode == Opcode::text);
    CHECK(as_text(out[0].payload) == "Hello");
    CHECK_FALSE(d.mid_frame());
}

// RFC 6455 section 5.7, "Unmasked Ping request and masked Ping response".
TEST_CASE("the RFC 6455 ping and pong examples decode in their roles") {
    Decoder client(Role::client, kCap);
    auto ping = feed_all(client, bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
    REQUIRE(ping.events.size() == 1);
    CHECK(ping.events[0].opcode == Opcode::ping);
    CHECK(as_text(ping.events[0].payload) == "Hello");

    const Bytes pong_wire =
        bytes({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
    Decoder server(Role::server, kCap);
    auto pong = feed_all(server, pong_wire);
    REQUIRE(pong.events.size() == 1);
    CHECK(pong.events[0].opcode == Opcode::pong);
    CHECK(as_text(pong.events[0].payload) == "Hello");
    CHECK(encode_frame(Role::client, Opcode::pong, text_bytes("Hello"), kRfcMask) == pong_wire);
}

// RFC 6455 section 5.7, "256 bytes binary message in a single unmasked frame" and "64KiB
// binary message in a single unmasked frame".
TEST_CASE("the RFC 6455 256-byte and 64 KiB binary examples use the 16- and 64-bit lengths") {
    for (std::size_t size : {std::size_t{256}, std::size_t{65536}}) {
        Bytes payload(size);
        for (std::size_t i = 0; i < size; ++i)
            payload[i] = static_cast<std::uint8_t>(i * 7);
        Bytes wire = encode_frame(Role::server, Opcode::binary, payload);
        if (size == 256)
            CHECK(Bytes(wire.begin(), wire.begin() + 4) == bytes({0x82, 0x7E, 0x01, 0x00}));
        else
            CHECK(Bytes(wire.begin(), wire.begin() + 10) ==
                  bytes({0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0, 0}));
        Decoder d(Role::client, kCap);
        auto f = feed_bytewise(d, wire);
        REQUIRE(f.violation == nullptr);
        REQUIRE(f.events.size() == 1);
        CHECK(f.events[0].opcode == Opcode::binary);
        CHECK(f.events[0].payload == payload);
    }
}

// RFC 6455 section 1.3: the example key and the accept value it yields.
TEST_CASE("the handshake accept value matches the RFC 6455 example") {
    CHECK(accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("any split of a stream of frames yields the same events") {
    Bytes big(70000, 0xAB);
    std::uint8_t key[4] = {1, 2, 3, 4};
    Bytes stream = concat({
        encode_frame(Role::client, Opcode::binary, text_bytes("first"), key),
        ws_raw_frame(0x02, text_bytes("frag-a")), // binary, FIN=0
        encode_frame(Role::client, Opcode::ping, text_bytes("in between"), key),
        ws_raw_frame(0x00, text_bytes("frag-b")), // continuation, FIN=0
        ws_raw_frame(0x80, text_bytes("frag-c")), // continuation, FIN=1
        encode_frame(Role::client, Opcode::text, text_bytes("caf\xc3\xa9"), key),
        encode_frame(Role::client, Opcode::binary, big, key),
        encode_frame(Role::client, Opcode::binary, {}, key),
        encode_close(Role::client, close_normal, "bye"),
    });

    Decoder whole(Role::server, kCap);
    auto expected = feed_all(whole, stream);
    REQUIRE(expected.violation == nullptr);
    REQUIRE(expected.events.size() == 7);
    CHECK(as_text(expected.events[0].payload) == "first");
    CHECK(expected.events[1].opcode == Opcode::ping);
    CHECK(as_text(expected.events[2].payload) == "frag-afrag-bfrag-c");
    CHECK(expected.events[3].opcode == Opcode::text);
    CHECK(expected.events[4].payload == big);
    CHECK(expected.events[5].payload.empty());
    CHECK(expected.events[6].opcode == Opcode::close);
    CHECK(expected.events[6].close_code == close_normal);

    auto same = [&](const Fed& f) {
        REQUIRE(f.violation == nullptr);
        REQUIRE(f.events.size() == expected.events.size());
        for (std::size_t i = 0; i < f.events.size(); ++i) {
            CHECK(f.events[i].opcode == expected.events[i].opcode);
            CHECK(f.events[i].payload == expected.events[i].payload);
            CHECK(f.events[i].close_code == expected.events[i].close_code);
        }
    };
    Decoder bytewise(Role::server, kCap);
    same(feed_bytewise(bytewise, stream));

    std::mt19937 rng(6455);
    for (int round = 0; round < 200; ++round) {
        Decoder d(Role::server, kCap);
        Fed f;
        std::size_t pos = 0;
        while (pos < stream.size()) {
            std::size_t n = std::min<std::size_t>(stream.size() - pos, 1 + rng() % 300);
            REQUIRE(d.feed(std::span(stream).subspan(pos, n), f.events));
            pos += n;
        }
        same(f);
    }
}

TEST_CASE("a partly received frame or message counts as mid-frame, a finished one does not") {
    Decoder d(Role::server, kCap);
    std::vector<Event> out;
    CHECK_FALSE(d.mid_frame());
    Bytes frame = ws_raw_frame(0x82, text_bytes("abc"));
    REQUIRE(d.feed(std::span(frame).first(1), out));
    CHECK(d.mid_frame());
    REQUIRE(d.feed(std::span(frame).subspan(1), out));
    CHECK_FALSE(d.mid_frame());
    Bytes fragment = ws_raw_frame(0x02, text_bytes("abc"));
    REQUIRE(d.feed(fragment, out));
    CHECK(d.mid_frame());
}

TEST_CASE("an unmasked client frame is refused with 1002, and so is a masked server frame") {
    CHECK(violation_code(Role::server, ws_raw_frame(0x82, text_bytes("x"), false)) ==
          close_protocol_error);
    CHECK(violation_code(Role::client, ws_raw_frame(0x82, text_bytes("x"), true)) ==
          close_protocol_error);
}

TEST_CASE("each reserved bit without an extension is refused with 1002") {
    for (std::uint8_t rsv : {0x40, 0x20, 0x10})
        CHECK(violation_code(Role::server, ws_raw_frame(0x82 | rsv, text_bytes("x"))) ==
              close_protocol_error);
}

TEST_CASE("every reserved opcode is refused with 1002") {
    for (std::uint8_t op : {0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF})
        CHECK(violation_code(Role::server, ws_raw_frame(0x80 | op, {})) == close_protocol_error);
}

TEST_CASE("a control frame over 125 bytes or without FIN is refused with 1002") {
    CHECK(violation_code(Role::server, ws_raw_frame(0x89, Bytes(126, 'p'))) ==
          close_protocol_error);
    CHECK(violation_code(Role::server, ws_raw_frame(0x88, Bytes(126, 'c'))) ==
          close_protocol_error);
    CHECK(violation_code(Role::server, ws_raw_frame(0x09, text_bytes("ping"))) ==
          close_protocol_error);
    CHECK(violation_code(Role::server, ws_raw_frame(0x0A, text_bytes("pong"))) ==
          close_protocol_error);
    // 125 bytes is the largest control payload allowed.
    Decoder d(Role::server, kCap);
    auto f = feed_all(d, ws_raw_frame(0x89, Bytes(125, 'p')));
    CHECK(f.violation == nullptr);
    CHECK(f.events.size() == 1);
}

TEST_CASE("a continuation without a started message is refused with 1002") {
    CHECK(violation_code(Role::server, ws_raw_frame(0x80, text_bytes("x"))) ==
          close_protocol_error);
    CHECK(violation_code(Role::server, ws_raw_frame(0x00, text_bytes("x"))) ==
          close_protocol_error);
}

TEST_CASE("a new data frame inside a fragmented message is refused with 1002") {
    Bytes input =
        concat({ws_raw_frame(0x02, text_bytes("a")), ws_raw_frame(0x82, text_bytes("b"))});
    CHECK(violation_code(Role::server, input) == close_protocol_error);
    Bytes text = concat({ws_raw_frame(0x01, text_bytes("a")), ws_raw_frame(0x01, text_bytes("b"))});
    CHECK(violation_code(Role::server, text) == close_protocol_error);
}

TEST_CASE("a 64-bit length with the top bit set is refused with 1002") {
    Bytes h = ws_header(0x82, 0x8000000000000000ULL);
    CHECK(violation_code(Role::server, h) == close_protocol_error);
}

TEST_CASE("a close frame with a one-byte payload or an invalid code is refused with 1002") {
    CHECK(violation_code(Role::server, ws_raw_frame(0x88, bytes({0x03}))) == close_protocol_error);
    for (int code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535}) {
        INFO(code);
        Bytes payload = bytes({code >> 8, code & 0xFF});
        CHECK(violation_code(Role::server, ws_raw_frame(0x88, payload)) == close_protocol_error);
    }
    for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999}) {
        INFO(code);
        Decoder d(Role::server, kCap);
        auto f = feed_all(d, ws_raw_frame(0x88, bytes({code >> 8, code & 0xFF})));
        CHECK(f.violation == nullptr);
        REQUIRE(f.events.size() == 1);
        CHECK(f.events[0].close_code == code);
    }
}

TEST_CASE("a close frame without a payload reports 1005 and what follows it is ignored") {
    Decoder d(Role::server, kCap);
    Bytes input = concat({ws_raw_frame(0x88, {}), ws_raw_frame(0xFF, text_bytes("junk"))});
    auto f = feed_all(d, input);
    CHECK(f.violation == nullptr);
    REQUIRE(f.events.size() == 1);
    CHECK(f.events[0].close_code == 1005);
}

TEST_CASE("text that is not valid UTF-8 is refused with 1007, split code points are fine") {
    // Overlong slash, a lone continuation byte, a surrogate, a code point above U+10FFFF, and a
    // sequence cut off at the end of the message.
    for (const Bytes& bad : {bytes({0xC0, 0xAF}), bytes({0x80}), bytes({0xED, 0xA0, 0x80}),
                             bytes({0xF4, 0x90, 0x80, 0x80}), bytes({0x61, 0xE2, 0x82})})
        CHECK(violation_code(Role::server, ws_raw_frame(0x81, bad)) == close_invalid_payload);
    CHECK(violation_code(Role::server, ws_raw_frame(0x88, bytes({0x03, 0xE8, 0xFF}))) ==
          close_invalid_payload);

    // The euro sign cut between two fragments.
    Decoder d(Role::server, kCap);
    auto f = feed_all(
        d, concat({ws_raw_frame(0x01, bytes({0xE2, 0x82})), ws_raw_frame(0x80, bytes({0xAC}))}));
    CHECK(f.violation == nullptr);
    REQUIRE(f.events.size() == 1);
    CHECK(as_text(f.events[0].payload) == "\xE2\x82\xAC");
    // Binary messages are not checked.
    Decoder b(Role::server, kCap);
    CHECK(feed_all(b, ws_raw_frame(0x82, bytes({0xC0, 0xAF}))).violation == nullptr);
}

TEST_CASE("headers announcing 2^63-1 or 2^31 bytes are refused with 1009 before anything is "
          "buffered") {
    for (std::uint64_t length : {0x7FFFFFFFFFFFFFFFULL, 0x80000000ULL}) {
        for (std::uint8_t b0 : {0x82, 0x81, 0x02}) {
            Decoder d(Role::server, kCap);
            std::vector<Event> out;
            auto r = d.feed(ws_header(b0, length), out);
            REQUIRE_FALSE(r);
            CHECK(r.error().code == Errc::too_large);
            REQUIRE(d.violation() != nullptr);
            CHECK(d.violation()->code == close_too_big);
            CHECK(d.buffered_bytes() == 0);
            // Further bytes change nothing: the decoder stays failed.
            Bytes more(4096, 'x');
            CHECK_FALSE(d.feed(more, out));
            CHECK(d.buffered_bytes() == 0);
            CHECK(out.empty());
        }
    }
}

TEST_CASE("a frame of exactly the cap is accepted and one byte more is refused with 1009") {
    const std::size_t cap = 1000;
    Decoder ok(Role::server, cap);
    auto f = feed_all(ok, ws_raw_frame(0x82, Bytes(cap, 'a')));
    CHECK(f.violation == nullptr);
    CHECK(f.events.size() == 1);

    Decoder too_big(Role::server, cap);
    std::vector<Event> out;
    Bytes h = ws_header(0x82, cap + 1);
    REQUIRE_FALSE(too_big.feed(h, out));
    CHECK(too_big.violation()->code == close_too_big);
    CHECK(too_big.buffered_bytes() == 0);
}

TEST_CASE("thousands of continuation frames without FIN are refused with 1009 once past the "
          "cap") {
    const std::size_t cap = 64 * 1024;
    Decoder d(Role::server, cap);
    std::vector<Event> out;
    REQUIRE(d.feed(ws_raw_frame(0x02, Bytes(10, 'a')), out));
    std::size_t total = 10;
    std::size_t frames = 1;
    Bytes continuation = ws_raw_frame(0x00, Bytes(10, 'b'));
    while (d.feed(continuation, out)) {
        total += 10;
        ++frames;
        REQUIRE(total <= cap);
        REQUIRE(d.buffered_bytes() <= cap);
    }
    CHECK(frames > 6000);
    CHECK(total + 10 > cap);
    REQUIRE(d.violation() != nullptr);
    CHECK(d.violation()->code == close_too_big);
    CHECK(out.empty());
    CHECK(d.buffered_bytes() == 0);
}

TEST_CASE("a close frame carries its code and its reason, cut to fit a control frame") {
    Bytes wire = encode_close(Role::server, close_going_away, std::string(300, 'r'));
    CHECK(wire.size() == 2 + 125);
    Decoder d(Role::client, kCap);
    auto f = feed_all(d, wire);
    REQUIRE(f.violation == nullptr);
    REQUIRE(f.events.size() == 1);
    CHECK(f.events[0].close_code == close_going_away);
    CHECK(f.events[0].payload.size() == 125);

    // A multi-byte character at the cut is dropped whole.
    Bytes euro = encode_close(Role::server, close_normal, std::string(122, 'r') + "\xE2\x82\xAC");
    Decoder e(Role::client, kCap);
    CHECK(feed_all(e, euro).violation == nullptr);
}

TEST_CASE("a client frame has a fresh random mask and decodes on the server") {
    Bytes payload = text_bytes("veil");
    Bytes a = encode_frame(Role::client, Opcode::binary, payload);
    Bytes b = encode_frame(Role::client, Opcode::binary, payload);
    CHECK(a.size() == 2 + 4 + payload.size());
    CHECK((a[1] & 0x80) != 0);
    CHECK(a != b); // equal only if two random 32-bit keys collide
    Decoder d(Role::server, kCap);
    auto f = feed_all(d, a);
    REQUIRE(f.events.size() == 1);
    CHECK(f.events[0].payload == payload);
}

TEST_CASE("random bytes into the frame decoder give events or a violation, never a crash") {
    std::mt19937 rng(1009);
    for (Role role : {Role::server, Role::client}) {
        for (int i = 0; i < 5000; ++i) {
            Bytes input(rng() % 600);
            for (auto& b : input)
                b = static_cast<std::uint8_t>(rng());
            Decoder d(role, 4096);
            std::vector<Event> out;
            std::size_t pos = 0;
            while (pos < input.size()) {
                std::size_t n = std::min<std::size_t>(input.size() - pos, 1 + rng() % 64);
                auto r = d.feed(std::span(input).subspan(pos, n), out);
                pos += n;
                CHECK(d.buffered_bytes() <= 4096 + 125 + 14);
                if (!r) {
                    REQUIRE(d.violation() != nullptr);
                    CHECK((d.violation()->code == close_protocol_error ||
                           d.violation()->code == close_too_big ||
                           d.violation()->code == close_invalid_payload));
                    break;
                }
            }
        }
    }
}

TEST_CASE("mutated valid frame streams decode or fail cleanly") {
    std::mt19937 rng(6455);
    std::uint8_t key[4] = {9, 8, 7, 6};
    Bytes base = concat({
        encode_frame(Role::client, Opcode::binary, Bytes(300, 'x'), key),
        ws_raw_frame(0x01, text_bytes("fr")),
        encode_frame(Role::client, Opcode::ping, text_bytes("p"), key),
        ws_raw_frame(0x80, text_bytes("ag")),
        encode_close(Role::client, close_normal, "done"),
    });
    for (int i = 0; i < 20000; ++i) {
        Bytes input = base;
        int flips = 1 + static_cast<int>(rng() % 4);
        for (int k = 0; k < flips; ++k)
            input[rng() % input.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        if (rng() % 4 == 0)
            input.resize(rng() % input.size());
        Decoder d(Role::server, 1024);
        std::vector<Event> out;
        auto r = d.feed(input, out);
        CHECK(d.buffered_bytes() <= 1024 + 125 + 14);
        if (!r)
            CHECK(d.violation() != nullptr);
    }
}
