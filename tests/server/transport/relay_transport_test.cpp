// The relay's WebSocket transport against a running veil-relay: every "Bad input on the wire"
// case of QUALITY.md that reaches the relay, driven with raw sockets and the codec's client
// role, plus delivery through the reactors, slow readers, keepalive and shutdown.
#include "server/relay_fixture.h"
#include "server/transport/wire_client.h"
#include "server/transport/wire_login.h"
#include "support/ws_frames.h"

#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <poll.h>
#include <set>
#include <sys/socket.h>

using namespace veil;
using namespace veil::relay;
using namespace veil::relay::test;
namespace ws = veil::protocol::ws;

using veil::test::ws_header;
using veil::test::ws_raw_frame;

namespace {

// Sends bytes on a fresh connection and returns the close code the relay answers with.
std::optional<std::uint16_t> close_code_for(RelayProcess& relay, const Bytes& bytes) {
    WsClient client(relay.port());
    client.send_raw(bytes);
    CloseSeen seen = client.wait_close(after(10s));
    CHECK(seen.ended);
    return seen.code;
}

// Authenticates and returns every envelope up to and including QueueDrained.
// Asks for a challenge and sends the signed AuthRequest; the answers are the caller's to read.
void send_auth(WsClient& client, RelayFixture& keys, const TestUser& user) {
    auto challenge = request(keys.next_id++);
    challenge.mutable_challenge_request();
    REQUIRE(client.send_envelope(challenge));
    auto nonce = client.next_envelope(after(10s));
    REQUIRE(nonce);
    REQUIRE(client.send_envelope(keys.auth_request(user, to_bytes(nonce->challenge().nonce()))));
}

std::vector<wire::Envelope> auth_over_wire(WsClient& client, RelayFixture& keys,
                                           const TestUser& user) {
    send_auth(client, keys, user);
    std::vector<wire::Envelope> out;
    for (;;) {
        auto e = client.next_envelope(after(30s));
        REQUIRE(e);
        out.push_back(*e);
        if (e->has_queue_drained() || e->has_error())
            return out;
    }
}

Bytes unique_id(std::uint32_t n) {
    Bytes id(protocol::kMessageIdBytes, 0x5A);
    for (int i = 0; i < 4; ++i)
        id[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(n >> (8 * i));
    return id;
}

// True if the relay closed the socket (EOF or reset) before the deadline; bytes it sends
// meanwhile are discarded.
bool closed_by_relay(RawSocket& socket, Deadline deadline) {
    Bytes sink;
    return socket.read_to_eof(sink, deadline);
}

} // namespace

TEST_CASE("headers announcing 2^63-1 or 2^31 bytes are closed with 1009 and the relay's memory "
          "stays flat") {
    TempDir dir("veil-wire");
    RelayProcess relay(dir.path());
    REQUIRE(healthz_ok(relay.port()));
    const long before = relay.rss_kib();
    REQUIRE(before > 0);
    for (int round = 0; round < 10; ++round) {
        for (std::uint64_t length : {0x7FFFFFFFFFFFFFFFULL, 0x80000000ULL}) {
            Bytes h = ws_header(0x82, length);
            h.insert(h.end(), 64, 'x'); // the start of the promised payload
            CHECK(close_code_for(relay, h) == ws::close_too_big);
        }
    }
    const long grown = relay.rss_kib() - before;
    INFO("relay RSS grew by " << grown << " KiB");
    CHECK(grown < 16 * 1024); // a single 2^31-byte buffer would be 2 GiB
    CHECK(healthz_ok(relay.port()));
}

TEST_CASE("an unmasked frame, reserved bits, a reserved opcode, a 126-byte ping and a fragmented "
          "ping are each closed with 1002") {
    TempDir dir("veil-wire");
    RelayProcess relay(dir.path());
    SECTION("unmasked frame") {
        CHECK(close_code_for(relay, ws_raw_frame(0x82, Bytes(8, 'u'), false)) ==
              ws::close_protocol_error);
    }
    SECTION("reserved bits") {
        for (std::uint8_t rsv : {0x40, 0x20, 0x10})
            CHECK(close_code_for(relay, ws_raw_frame(0x82 | rsv, Bytes(8, 'r'))) ==
                  ws::close_protocol_error);
    }
    SECTION("reserved opcode") {
        for (std::uint8_t op : {0x3, 0x7, 0xB, 0xF})
            CHECK(close_code_for(relay, ws_raw_frame(0x80 | op, Bytes(4, 'o'))) ==
                  ws::close_protocol_error);
    }
    SECTION("126-byte ping") {
        CHECK(close_code_for(relay, ws_raw_frame(0x89, Bytes(126, 'p'))) ==
              ws::close_protocol_error);
    }
    SECTION("fragmented ping") {
        CHECK(close_code_for(relay, ws_raw_frame(0x09, Bytes(4, 'p'))) == ws::close_protocol_error);
    }
    CHECK(healthz_ok(relay.port()));
}

TEST_CASE("thousands of continuation frames without FIN are closed with 1009 once past the "
          "message cap") {
    TempDir dir("veil-wire");
    RelayProcess relay(dir.path());
    WsClient client(relay.port());
    Bytes flood = ws_raw_frame(0x02, Bytes(100, 'a'));
    const Bytes continuation = ws_raw_frame(0x00, Bytes(100, 'b'));
    // Frames of 100 bytes pass the message cap (protocol::kMaxFrameBytes) well before the end.
    const std::size_t frames = protocol::kMaxFrameBytes / 100 + 400;
    for (std::size_t i = 0; i < frames; ++i)
        flood.insert(flood.end(), continuation.begin(), continuation.end());
    client.send_raw(flood); // the relay may stop reading once it has decided
    CloseSeen seen = client.wait_close(after(10s));
    CHECK(seen.code == ws::close_too_big);
    CHECK(seen.ended);
    CHECK(healthz_ok(relay.port()));
}

TEST_CASE("a text message is refused with 1003, since Veil speaks binary only") {
    TempDir dir("veil-wire");
    RelayProcess relay(dir.path());
    WsClient client(relay.port());
    client.send_frame(ws::Opcode::text, to_bytes("hello"));
    CHECK(client.wait_close(after(10s)).code == ws::close_unsupported_data);
}

TEST_CASE("a client dribbling its upgrade request is cut at the deadline while new clients "
          "still connect") {
    TempDir dir("veil-wire");
    RelayProcess relay(dir.path(), {"--upgrade-timeout-ms", "1000"});
    const std::string request = upgrade_request();
    RawSocket slow(relay.port());
    const auto started = std::chrono::steady_clock::now();
    bool cut = false;
    std::size_t sent = 0;
    while (!cut && sent < request.size() - 2) {
        if (!slow.send_all(request.substr(sent++, 1))) {
            cut = true;
            break;
        }
        if (sent == 5) {
            // Meanwhile, others are served at once.
            CHECK(healthz_ok(relay.port()));
            WsClient other(relay.port());
            other.send_frame(ws::Opcode::ping, to_bytes("still here"));
            auto pong = other.next_event(after(5s));
            REQUIRE(pong);
            CHECK(pong->opcode == ws::Opcode::pong);
        }
        // The pace of the dribble: one byte per 50 ms unless the relay hangs up first.
        pollfd p{slow.fd(), POLLIN, 0};
        if (::poll(&p, 1, 50) > 0)
            cut = closed_by_relay(slow, after(1s));
    }
    const auto took = std::chrono::steady_clock::now() - started;
    CHECK(cut);
    CHECK(took >= 900ms);
    CHECK(took < 5s);
    CHECK(healthz_ok(relay.port()));
}

TEST_CASE("hundreds of clients stalled in their upgrade hold no thread and delay nobody") {
    TempDir dir("veil-wire");
    RelayProcess relay(dir.path(), {"--upgrade-timeout-ms", "60000"});
    const std::string request = upgrade_request();
    auto threads = [&] {
        const auto tasks = std::filesystem::path("/proc") / std::to_string(relay.pid()) / "task";
        return std::distance(std::filesystem::directory_iterator(tasks),
                             std::filesystem::directory_iterator());
    };
    const auto threads_before = threads();
    // Far more half-sent requests than any HTTP thread pool would have threads.
    std::vector<std::unique_ptr<RawSocket>> stalled;
    for (int i = 0; i < 300; ++i) {
        stalled.push_back(std::make_unique<RawSocket>(relay.port()));
        REQUIRE(stalled.back()->send_all(request.substr(0, request.size() / 2)));
    }
    for (int round = 0; round < 3; ++round) {
        WsClient other(relay.port());
        other.send_frame(ws::Opcode::ping, to_bytes("not waiting"));
        auto pong = other.next_event(after(5s));
        REQUIRE(pong);
        CHECK(pong->opcode == ws::Opcode::pong);
    }
    CHECK(healthz_ok(relay.port()));
    CHECK(threads() == threads_before);
    // They are still connected and can finish: the upgrade completes for a late one.
    REQUIRE(stalled.front()->send_all(request.substr(request.size() / 2)));
    Bytes answer;
    while (answer.size() < 12 &&
           stalled.front()->read_some(answer, after(5s)) == RawSocket::Read::data) {
    }
    CHECK(std::string(answer.begin(), answer.end()).rfind("HTTP/1.1 101", 0) == 0);
}

TEST_CASE("a client dribbling a frame header is closed at the frame deadline") {
    TempDir dir("veil-wire");
    RelayProcess relay(dir.path(), {"--frame-timeout-ms", "800"});
    WsClient slow(relay.port());
    const Bytes frame = ws_raw_frame(0x82, Bytes(200, 'f'));
    const auto started = std::chrono::steady_clock::now();
    std::optional<std::uint16_t> code;
    bool ended = false;
    for (std::size_t i = 0; i < frame.size() && !ended; ++i) {
        if (!slow.send_raw(std::span(frame).subspan(i, 1)))
            break;
        // One byte per 50 ms, unless the relay closes first.
        auto event = slow.next_event(after(50ms));
        if (event && event->opcode == ws::Opcode::close) {
            code = event->close_code;
            ended = true;
        }
    }
    CHECK(code == ws::close_policy_violation);
    const auto took = std::chrono::steady_clock::now() - started;
    CHECK(took >= 700ms);
    CHECK(took < 5s);
    CHECK(healthz_ok(relay.port()));
}

TEST_CASE("upgrade requests with hundreds of headers, huge values or odd encoded words get 400 "
          "or a close, and the relay stays up") {
    TempDir dir("veil-wire");
    RelayProcess relay(dir.path());
    // The status line, or an empty string if the relay closed without one.
    auto status_of = [&](const std::string& req) {
        RawSocket socket(relay.port());
        socket.send_all(req); // the relay may close before it has read everything
        Bytes in;
        auto deadline = after(5s);
        std::string text;
        while (text.find("\r\n") == std::string::npos &&
               socket.read_some(in, deadline) == RawSocket::Read::data)
            text.assign(in.begin(), in.end());
        return text.substr(0, text.find("\r\n"));
    };

    std::string many;
    for (int i = 0; i < 500; ++i)
        many += "X-Filler-" + std::to_string(i) + ": v\r\n";
    CHECK(status_of(upgrade_request(many)) == "HTTP/1.1 400 Bad Request");

    std::string huge = "X-Huge: " + std::string(200 * 1024, 'h') + "\r\n";
    std::string answer = status_of(upgrade_request(huge));
    CHECK((answer.empty() || answer == "HTTP/1.1 400 Bad Request"));
    CHECK(healthz_ok(relay.port()));

    for (const char* word : {"=?utf-8?q?=E2=82?=", "=?bogus?b?!!!!?=", "=?utf-8?b?====?=", "=?=?=?",
                             "=?utf-8?q?"
                             "\xff\xfe"
                             "?=",
                             "=?UTF-8?Q?=?="}) {
        std::string odd = status_of(upgrade_request(std::string("X-Word: ") + word + "\r\n"));
        CHECK((odd.empty() || odd.rfind("HTTP/1.1 ", 0) == 0));
        CHECK(healthz_ok(relay.port()));
    }

    CHECK(status_of("POST /v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nContent-Length: 0\r\n\r\n") ==
          "HTTP/1.1 400 Bad Request");
    CHECK(status_of("GET /v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n") ==
          "HTTP/1.1 400 Bad Request");
    CHECK(status_of("GET /v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade"
                    "\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    "Sec-WebSocket-Version: 8\r\n\r\n") == "HTTP/1.1 400 Bad Request");
    CHECK(status_of("GET /v1/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    "Sec-WebSocket-Version: 13\r\n\r\n") == "HTTP/1.1 400 Bad Request");
    CHECK(status_of("GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n") == "HTTP/1.1 404 Not Found");
    CHECK(healthz_ok(relay.port()));
}

TEST_CASE("a request sent right behind the upgrade, before the 101, is still answered") {
    TempDir dir("veil-wire");
    RelayProcess relay(dir.path());
    RawSocket socket(relay.port());
    auto challenge = request(1);
    challenge.mutable_challenge_request();
    Bytes both = to_bytes(upgrade_request());
    Bytes frame = ws::encode_frame(ws::Role::client, ws::Opcode::binary,
                                   protocol::encode_envelope(challenge));
    both.insert(both.end(), frame.begin(), frame.end());
    REQUIRE(socket.send_all(both));

    Bytes in;
    ws::Decoder decoder(ws::Role::client, 1 << 20);
    std::vector<ws::Event> events;
    auto deadline = after(5s);
    std::size_t head_end = std::string::npos;
    while (events.empty()) {
        REQUIRE(socket.read_some(in, deadline) == RawSocket::Read::data);
        if (head_end == std::string::npos) {
            head_end = std::string(in.begin(), in.end()).find("\r\n\r\n");
            if (head_end == std::string::npos)
                continue;
            REQUIRE(std::string(in.begin(), in.end()).rfind("HTTP/1.1 101", 0) == 0);
            in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(head_end + 4));
        }
        REQUIRE(decoder.feed(in, events));
        in.clear();
    }
    wire::Envelope answer;
    REQUIRE(answer.ParseFromArray(events[0].payload.data(),
                                  static_cast<int>(events[0].payload.size())));
    CHECK(answer.request_id() == 1);
    CHECK(answer.has_challenge());
}

TEST_CASE("live deliveries reach an online device in order, after the responses") {
    TempDir dir("veil-wire");
    RelayProcess relay(dir.path());
    RelayFixture keys;
    TestUser alice = keys.make_user("alice");
    TestUser bob = keys.make_user("bob");
    WsClient a(relay.port());
    WsClient b(relay.port());
    log_in_over_wire(a, keys, alice);
    log_in_over_wire(b, keys, bob);

    for (std::uint32_t i = 0; i < 50; ++i) {
        REQUIRE(a.send_envelope(
            keys.send_request("bob", unique_id(i), "ciphertext " + std::to_string(i))));
        auto result = a.next_envelope(after(10s));
        REQUIRE(result);
        REQUIRE(result->has_send_result());
    }
    std::uint64_t last = 0;
    for (std::uint32_t i = 0; i < 50; ++i) {
        auto deliver = b.next_envelope(after(10s));
        REQUIRE(deliver);
        REQUIRE(deliver->has_deliver());
        CHECK(deliver->deliver().ciphertext() == "ciphertext " + std::to_string(i));
        CHECK(deliver->deliver().delivery_id() > last);
        last = deliver->deliver().delivery_id();
    }
}

TEST_CASE("a reader too slow for its pushes is closed with 1008 and finds every message in its "
          "mailbox when it comes back") {
    TempDir dir("veil-wire");
    RelayProcess relay(dir.path(), {"--max-outgoing-bytes", "65536"});
    RelayFixture keys;
    TestUser alice = keys.make_user("alice");
    TestUser bob = keys.make_user("bob");
    WsClient a(relay.port());
    WsClient b(relay.port(), 4096); // a small receive window, and bob never reads
    log_in_over_wire(a, keys, alice);
    log_in_over_wire(b, keys, bob);

    const std::string ciphertext(30 * 1024, 'c');
    std::uint32_t sent = 0;
    bool closed = false;
    while (!closed && sent < 1000) {
        REQUIRE(a.send_envelope(keys.send_request("bob", unique_id(sent), ciphertext)));
        auto result = a.next_envelope(after(10s));
        REQUIRE(result);
        REQUIRE(result->has_send_result());
        ++sent;
        closed = relay.process().out().find("reads too slowly") != std::string::npos;
    }
    REQUIRE(closed);

    // Bob's socket holds what the kernel buffered, then the close.
    CloseSeen seen = b.wait_close(after(10s));
    CHECK(seen.code == ws::close_policy_violation);

    WsClient again(relay.port());
    auto drained = auth_over_wire(again, keys, bob);
    REQUIRE(drained.front().has_auth_result());
    REQUIRE(drained.back().has_queue_drained());
    std::set<std::string> ids;
    for (const auto& e : drained)
        if (e.has_deliver())
            ids.insert(e.deliver().message_id());
    CHECK(ids.size() == sent);
    CHECK(healthz_ok(relay.port()));
}

TEST_CASE("a mailbox far larger than the outgoing queue drains in pages, in order, with live "
          "messages arriving once") {
    TempDir dir("veil-wire");
    // One sender fills the mailbox far faster than its account may send: no limits here.
    RelayProcess relay(dir.path(), {"--max-outgoing-bytes", "65536", "--no-limits"});
    RelayFixture keys;
    TestUser alice = keys.make_user("alice");
    TestUser bob = keys.make_user("bob");
    WsClient a(relay.port());
    log_in_over_wire(a, keys, alice);
    {
        WsClient b(relay.port());
        log_in_over_wire(b, keys, bob);
    }
    const std::string ciphertext(1024, 'c'); // 3 MB queued: ~50 times the outgoing limit
    constexpr std::uint32_t kQueued = 3000;
    constexpr std::uint32_t kLive = 100;
    auto send_range = [&](std::uint32_t from, std::uint32_t to) {
        for (std::uint32_t start = from; start < to; start += 100) {
            const std::uint32_t end = std::min(to, start + 100);
            for (std::uint32_t i = start; i < end; ++i)
                REQUIRE(a.send_envelope(keys.send_request("bob", unique_id(i), ciphertext)));
            for (std::uint32_t i = start; i < end; ++i) {
                auto result = a.next_envelope(after(10s));
                REQUIRE(result);
                REQUIRE(result->has_send_result());
            }
        }
    };
    send_range(0, kQueued);

    WsClient b(relay.port());
    send_auth(b, keys, bob);
    auto result = b.next_envelope(after(10s));
    REQUIRE(result);
    REQUIRE(result->has_auth_result());

    std::set<std::string> message_ids;
    std::uint64_t last_drained = 0;
    bool drained = false;
    bool ordered = true;
    std::size_t frames = 0;
    while (message_ids.size() < kQueued + kLive) {
        auto e = b.next_envelope(after(30s));
        REQUIRE(e);
        if (e->has_queue_drained()) {
            CHECK_FALSE(drained);
            drained = true;
            continue;
        }
        REQUIRE(e->has_deliver());
        ++frames;
        if (!drained) {
            ordered = ordered && e->deliver().delivery_id() > last_drained;
            last_drained = e->deliver().delivery_id();
        }
        message_ids.insert(e->deliver().message_id());
        if (frames == 200)
            send_range(kQueued, kQueued + kLive); // live sends while the drain is under way
    }
    CHECK(drained);
    CHECK(ordered);
    CHECK(frames == kQueued + kLive); // each exactly once
    CHECK(relay.process().out().find("reads too slowly") == std::string::npos);
    CHECK(healthz_ok(relay.port()));
}

TEST_CASE("a client that sends faster than it reads is paused, not closed, and every answer "
          "arrives once it reads") {
    TempDir dir("veil-wire");
    RelayProcess relay(dir.path(), {"--max-outgoing-bytes", "16384"});
    WsClient client(relay.port());
    const int pings = 100000; // 10 MB: more than the kernel buffers on the way hold
    Bytes stream;
    for (int i = 0; i < pings; ++i) {
        Bytes frame = ws_raw_frame(0x89, Bytes(100, static_cast<std::uint8_t>(i)));
        stream.insert(stream.end(), frame.begin(), frame.end());
    }
    const int fd = client.socket().fd();
    const int small = 16 * 1024;
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    std::size_t sent = 0;
    auto send_some = [&] {
        ssize_t n =
            ::send(fd, stream.data() + sent, stream.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0)
            sent += static_cast<std::size_t>(n);
        return n > 0;
    };
    // Without reading, write until every buffer on the way is full: the relay stops reading.
    while (sent < stream.size() && send_some()) {
    }
    REQUIRE(sent < stream.size());

    int pongs = 0;
    const auto deadline = after(30s);
    while (pongs < pings && std::chrono::steady_clock::now() < deadline) {
        if (sent < stream.size())
            send_some();
        auto event = client.next_event(after(20ms));
        if (!event)
            continue;
        REQUIRE(event->opcode == ws::Opcode::pong);
        CHECK(event->payload == Bytes(100, static_cast<std::uint8_t>(pongs)));
        ++pongs;
    }
    CHECK(pongs == pings);
    CHECK(healthz_ok(relay.port()));
}

TEST_CASE("a silent client is pinged, then closed as idle") {
    TempDir dir("veil-wire");
    RelayProcess relay(dir.path(), {"--idle-timeout-ms", "900"});
    WsClient client(relay.port());
    const auto started = std::chrono::steady_clock::now();
    auto ping = client.next_event(after(5s));
    REQUIRE(ping);
    CHECK(ping->opcode == ws::Opcode::ping);
    CHECK(std::chrono::steady_clock::now() - started >= 250ms);
    CloseSeen seen = client.wait_close(after(5s));
    CHECK(seen.code == ws::close_going_away);
    CHECK(std::chrono::steady_clock::now() - started >= 800ms);
}

TEST_CASE("a client that answers pings stays connected past the idle timeout") {
    TempDir dir("veil-wire");
    RelayProcess relay(dir.path(), {"--idle-timeout-ms", "600"});
    WsClient client(relay.port());
    const auto until = after(1500ms);
    int pings = 0;
    while (std::chrono::steady_clock::now() < until) {
        auto event = client.next_event(until);
        if (!event)
            break;
        REQUIRE(event->opcode == ws::Opcode::ping);
        ++pings;
        REQUIRE(client.send_frame(ws::Opcode::pong, event->payload));
    }
    CHECK(pings >= 2);
    client.send_frame(ws::Opcode::ping, to_bytes("p"));
    auto pong = client.next_event(after(5s));
    REQUIRE(pong);
    CHECK(pong->opcode == ws::Opcode::pong);
}

TEST_CASE("hundreds of connections share a few reactor threads") {
    TempDir dir("veil-wire");
    RelayProcess relay(dir.path(), {"--reactors", "2"});
    std::vector<std::unique_ptr<WsClient>> clients;
    for (int i = 0; i < 300; ++i)
        clients.push_back(std::make_unique<WsClient>(relay.port()));
    for (auto& c : clients)
        REQUIRE(c->send_frame(ws::Opcode::ping, to_bytes("x")));
    for (auto& c : clients) {
        auto pong = c->next_event(after(10s));
        REQUIRE(pong);
        CHECK(pong->opcode == ws::Opcode::pong);
    }
    INFO("relay threads: " << relay.threads());
    CHECK(relay.threads() < 40);
}

TEST_CASE("on SIGTERM every client gets a going-away close and the relay exits cleanly") {
    TempDir dir("veil-wire");
    RelayProcess relay(dir.path());
    WsClient first(relay.port());
    WsClient second(relay.port());
    first.send_frame(ws::Opcode::ping, {});
    REQUIRE(first.next_event(after(5s)));
    relay.process().signal(SIGTERM);
    CHECK(first.wait_close(after(10s)).code == ws::close_going_away);
    CHECK(second.wait_close(after(10s)).code == ws::close_going_away);
    CHECK(relay.process().wait(10s) == 0);
}
