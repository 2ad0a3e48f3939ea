// Attachments over HTTP on a running veil-relay (veil.proto, "Attachments"): a ticket over the
// authenticated WebSocket, then PUT and GET /v1/blobs/<id> on raw loopback sockets. Also the
// transient sends of typing indicators, which reach connected devices only.
#include "server/relay_fixture.h"
#include "server/transport/wire_client.h"
#include "server/transport/wire_login.h"
#include "transport/blob_http.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <random>
#include <sys/resource.h>

using namespace veil;
using namespace veil::relay;
using namespace veil::relay::test;
using veil::relay::transport::BlobRequest;
using veil::relay::transport::parse_blob_request;

// gcc says __SANITIZE_ADDRESS__, clang __has_feature(address_sanitizer).
#if defined(__SANITIZE_ADDRESS__)
#define VEIL_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VEIL_TEST_ASAN 1
#endif
#endif

namespace {

struct HttpAnswer {
    int status = 0;
    std::string head;
    Bytes body;
};

HttpAnswer parse_answer(const Bytes& raw) {
    HttpAnswer answer;
    const std::string text(raw.begin(), raw.end());
    std::size_t start = 0;
    // A 100 Continue may come first.
    while (text.compare(start, 12, "HTTP/1.1 100") == 0)
        start = text.find("\r\n\r\n", start) + 4;
    const std::size_t end = text.find("\r\n\r\n", start);
    if (end == std::string::npos || text.size() < start + 12)
        return answer;
    answer.head = text.substr(start, end - start);
    answer.status = std::stoi(text.substr(start + 9, 3));
    answer.body.assign(raw.begin() + static_cast<std::ptrdiff_t>(end + 4), raw.end());
    return answer;
}

// Sends head and body on a fresh connection and returns what the relay answers before closing.
HttpAnswer http(std::uint16_t port, const std::string& head,
                std::span<const std::uint8_t> body = {}, std::chrono::milliseconds timeout = 30s) {
    RawSocket socket(port);
    socket.send_all(head);
    if (!body.empty())
        socket.send_all(body); // the relay may answer and close before it has read it all
    Bytes raw;
    socket.read_to_eof(raw, after(timeout));
    return parse_answer(raw);
}

std::string put_head(const std::string& id, const std::string& token, std::uint64_t length,
                     const std::string& extra = {}) {
    return "PUT /v1/blobs/" + id + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
           (token.empty() ? std::string() : "Authorization: Veil " + token + "\r\n") +
           "Content-Length: " + std::to_string(length) + "\r\n" + extra + "\r\n";
}

HttpAnswer get(std::uint16_t port, const std::string& path, const std::string& method = "GET") {
    return http(port, method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
}

Bytes pattern(std::size_t size) {
    Bytes out(size);
    for (std::size_t i = 0; i < size; ++i)
        out[i] = static_cast<std::uint8_t>((i * 131) ^ (i >> 13));
    return out;
}

// A logged-in device that asks for tickets.
struct Uploader {
    RelayFixture keys;
    TestUser alice = keys.make_user("alice");
    WsClient client;

    explicit Uploader(std::uint16_t port)
        : client(port) {
        log_in_over_wire(client, keys, alice);
    }

    wire::Envelope ask(std::uint64_t size) {
        auto e = request(keys.next_id++);
        e.mutable_blob_upload_request()->set_size(size);
        REQUIRE(client.send_envelope(e));
        auto answer = client.next_envelope(after(10s));
        REQUIRE(answer);
        CHECK(answer->request_id() == e.request_id());
        return *answer;
    }

    wire::BlobUploadTicket ticket(std::uint64_t size) {
        auto answer = ask(size);
        REQUIRE(answer.has_blob_upload_ticket());
        return answer.blob_upload_ticket();
    }
};

std::size_t files_in(const std::filesystem::path& folder) {
    std::size_t n = 0;
    for (const auto& entry : std::filesystem::directory_iterator(folder))
        n += entry.is_regular_file() ? 1 : 0;
    return n;
}

} // namespace

TEST_CASE("an upload with a ticket is answered 201 and GET returns the same bytes") {
    TempDir dir("veil-blob");
    RelayProcess relay(dir.path());
    Uploader up(relay.port());
    const Bytes body = pattern(100'000);
    auto ticket = up.ticket(body.size());
    CHECK(ticket.blob_id().size() == protocol::kBlobIdHexChars);
    CHECK(ticket.max_bytes() == protocol::kDefaultMaxAttachmentBytes);

    auto put = http(relay.port(), put_head(ticket.blob_id(), ticket.token(), body.size()), body);
    CHECK(put.status == 201);

    auto got = get(relay.port(), "/v1/blobs/" + ticket.blob_id());
    CHECK(got.status == 200);
    CHECK(got.head.find("Content-Type: application/octet-stream") != std::string::npos);
    CHECK(got.head.find("Content-Length: 100000") != std::string::npos);
    CHECK(got.body == body);

    auto head = get(relay.port(), "/v1/blobs/" + ticket.blob_id(), "HEAD");
    CHECK(head.status == 200);
    CHECK(head.head.find("Content-Length: 100000") != std::string::npos);
    CHECK(head.body.empty());
    CHECK(files_in(dir.path() / "relay" / "blobs" / "tmp") == 0);
}

TEST_CASE("a 20 MiB upload and its download stream through without the relay holding them in "
          "memory") {
    TempDir dir("veil-blob");
    RelayProcess relay(dir.path());
    Uploader up(relay.port());
    const Bytes body = pattern(20 * 1024 * 1024);
    auto ticket = up.ticket(body.size());
    const long before = relay.peak_rss_kib();
    REQUIRE(before > 0);

    auto put =
        http(relay.port(),
             put_head(ticket.blob_id(), ticket.token(), body.size(), "Expect: 100-continue\r\n"),
             body, 60s);
    CHECK(put.status == 201);
    auto got = get(relay.port(), "/v1/blobs/" + ticket.blob_id());
    CHECK(got.status == 200);
    CHECK(got.body.size() == body.size());
    CHECK((got.body == body)); // compared without printing 20 MiB

    const long grown = relay.peak_rss_kib() - before;
    WARN("relay peak RSS grew by " << grown << " KiB");
#ifndef VEIL_TEST_ASAN       // AddressSanitizer's quarantine keeps every freed chunk resident
    CHECK(grown < 8 * 1024); // a whole body in memory would be 20 MiB
#endif
}

TEST_CASE("a PUT with a missing, unknown or used token, or one for another blob, gets 401") {
    TempDir dir("veil-blob");
    RelayProcess relay(dir.path());
    Uploader up(relay.port());
    const Bytes body = pattern(1000);
    auto ticket = up.ticket(body.size());
    auto other = up.ticket(body.size());
    const auto& id = ticket.blob_id();

    CHECK(http(relay.port(), put_head(id, "", body.size()), body).status == 401);
    CHECK(http(relay.port(), put_head(id, std::string(32, '0'), body.size()), body).status == 401);
    CHECK(http(relay.port(), put_head(id, other.token(), body.size()), body).status == 401);
    CHECK(http(relay.port(), put_head(id, ticket.token(), body.size()), body).status == 201);
    CHECK(http(relay.port(), put_head(id, ticket.token(), body.size()), body).status == 401);
    // The other ticket still works for its own blob.
    CHECK(http(relay.port(), put_head(other.blob_id(), other.token(), body.size()), body).status ==
          201);
}

TEST_CASE("a PUT without Content-Length or chunked gets 411, and one of another size 400") {
    TempDir dir("veil-blob");
    RelayProcess relay(dir.path());
    Uploader up(relay.port());
    auto ticket = up.ticket(10);
    const std::string path = "PUT /v1/blobs/" + ticket.blob_id() + " HTTP/1.1\r\nHost: x\r\n" +
                             "Authorization: Veil " + ticket.token() + "\r\n";
    CHECK(http(relay.port(), path + "\r\n").status == 411);
    CHECK(http(relay.port(), path + "Transfer-Encoding: chunked\r\n\r\n").status == 411);
    CHECK(http(relay.port(), path + "Content-Length: 1x\r\n\r\n").status == 400);
    CHECK(http(relay.port(), put_head(ticket.blob_id(), ticket.token(), 11), pattern(11)).status ==
          400);
    // None of these used the token up.
    CHECK(http(relay.port(), put_head(ticket.blob_id(), ticket.token(), 10), pattern(10)).status ==
          201);
}

TEST_CASE("an upload above the operator's limit gets 413 from its Content-Length, and its ticket "
          "TOO_LARGE") {
    TempDir dir("veil-blob");
    RelayProcess relay(dir.path(), {"--max-attachment-mib", "1"});
    Uploader up(relay.port());
    auto refused = up.ask(1024 * 1024 + 1);
    REQUIRE(refused.has_error());
    CHECK(refused.error().code() == wire::Error::TOO_LARGE);
    auto empty = up.ask(0);
    REQUIRE(empty.has_error());
    CHECK(empty.error().code() == wire::Error::BAD_REQUEST);

    auto ticket = up.ticket(1024 * 1024);
    CHECK(ticket.max_bytes() == 1024 * 1024);
    // Answered from the head alone: no body is sent.
    auto answer = http(relay.port(), put_head(ticket.blob_id(), ticket.token(), 5ull << 30));
    CHECK(answer.status == 413);
    CHECK(files_in(dir.path() / "relay" / "blobs" / "tmp") == 0);
}

TEST_CASE("a ticket request before authentication gets NOT_AUTHENTICATED") {
    TempDir dir("veil-blob");
    RelayProcess relay(dir.path());
    WsClient client(relay.port());
    auto e = request(5);
    e.mutable_blob_upload_request()->set_size(10);
    REQUIRE(client.send_envelope(e));
    auto answer = client.next_envelope(after(10s));
    REQUIRE(answer);
    REQUIRE(answer->has_error());
    CHECK(answer->error().code() == wire::Error::NOT_AUTHENTICATED);
}

TEST_CASE("GET of an unknown or malformed blob id, traversal attempts included, gets 404") {
    TempDir dir("veil-blob");
    RelayProcess relay(dir.path());
    REQUIRE(healthz_ok(relay.port()));
    for (const char* path :
         {"/v1/blobs/0123456789abcdef0123456789abcdef", "/v1/blobs/../relay.db",
          "/v1/blobs/..%2frelay.db", "/v1/blobs/%2e%2e/relay.db", "/v1/blobs/tmp",
          "/v1/blobs/0123456789ABCDEF0123456789ABCDEF", "/v1/blobs/0123456789abcdef0123456789abcde",
          "/v1/blobs/0123456789abcdef0123456789abcdef/", "/v1/blobs/", "/v1/blobs/../../etc/passwd",
          "/v1/blobs/0123456789abcdef0123456789abcdef?x=1"}) {
        INFO(path);
        auto answer = get(relay.port(), path);
        CHECK(answer.status == 404);
        CHECK(answer.body.size() < 100);
    }
    auto head = get(relay.port(), "/v1/blobs/0123456789abcdef0123456789abcdef", "HEAD");
    CHECK(head.status == 404);
    CHECK(head.body.empty());
}

TEST_CASE("a stalled upload is cut with 408 and leaves no temp file; other clients are served") {
    TempDir dir("veil-blob");
    RelayProcess relay(dir.path(), {"--frame-timeout-ms", "500"});
    Uploader up(relay.port());
    auto ticket = up.ticket(1000);
    RawSocket slow(relay.port());
    REQUIRE(slow.send_all(put_head(ticket.blob_id(), ticket.token(), 1000) + "half"));
    // Meanwhile the relay serves others.
    CHECK(healthz_ok(relay.port()));
    Bytes raw;
    REQUIRE(slow.read_to_eof(raw, after(10s)));
    CHECK(parse_answer(raw).status == 408);
    CHECK(files_in(dir.path() / "relay" / "blobs" / "tmp") == 0);
    CHECK(get(relay.port(), "/v1/blobs/" + ticket.blob_id()).status == 404);
}

TEST_CASE("an upload trickled below the slowest rate allowed is cut with 408 though it never "
          "stalls") {
    TempDir dir("veil-blob");
    // Each piece comes well within the stall deadline (2 s), but 4,000 bytes at 1,000 B/s
    // must be done within 2 s + 4 s; at 100 bytes every 250 ms they would take 10 s.
    RelayProcess relay(dir.path(), {"--frame-timeout-ms", "2000", "--min-transfer-rate", "1000"});
    Uploader up(relay.port());
    auto ticket = up.ticket(4000);
    RawSocket slow(relay.port());
    REQUIRE(slow.send_all(put_head(ticket.blob_id(), ticket.token(), 4000)));
    const auto started = std::chrono::steady_clock::now();
    Bytes raw;
    for (int piece = 0; piece < 40; ++piece) {
        // The pace of a slow client; each pause also waits for the relay's answer.
        if (slow.read_some(raw, after(250ms)) != RawSocket::Read::timeout)
            break;
        if (!slow.send_all(std::string(100, 'x')))
            break;
    }
    REQUIRE(slow.read_to_eof(raw, after(10s)));
    const auto took = std::chrono::steady_clock::now() - started;
    auto answer = parse_answer(raw);
    CHECK(answer.status == 408);
    const std::string body(answer.body.begin(), answer.body.end());
    CHECK(body == "the upload is too slow\n");
    CHECK(took < 9s);
    CHECK(files_in(dir.path() / "relay" / "blobs" / "tmp") == 0);
    CHECK(get(relay.port(), "/v1/blobs/" + ticket.blob_id()).status == 404);
    CHECK(healthz_ok(relay.port()));
}

TEST_CASE("a full disk during an upload gets 507 and leaves no partial file") {
    TempDir dir("veil-blob");
    RelayProcess relay(dir.path());
    Uploader up(relay.port());
    const Bytes body = pattern(4 * 1024 * 1024);
    auto ticket = up.ticket(body.size());
    // A file size limit on the relay stands in for a full disk: writes fail with EFBIG.
    rlimit limit{1024 * 1024, 1024 * 1024};
    REQUIRE(::prlimit(relay.pid(), RLIMIT_FSIZE, &limit, nullptr) == 0);
    auto put = http(relay.port(), put_head(ticket.blob_id(), ticket.token(), body.size()), body);
    CHECK(put.status == 507);
    CHECK(files_in(dir.path() / "relay" / "blobs" / "tmp") == 0);
    CHECK(get(relay.port(), "/v1/blobs/" + ticket.blob_id()).status == 404);
    CHECK(healthz_ok(relay.port()));
}

TEST_CASE("blobs survive a restart of the relay") {
    TempDir dir("veil-blob");
    const Bytes body = pattern(50'000);
    std::string id;
    {
        RelayProcess relay(dir.path());
        Uploader up(relay.port());
        auto ticket = up.ticket(body.size());
        id = ticket.blob_id();
        REQUIRE(http(relay.port(), put_head(id, ticket.token(), body.size()), body).status == 201);
    }
    RelayProcess again(dir.path());
    auto got = get(again.port(), "/v1/blobs/" + id);
    CHECK(got.status == 200);
    CHECK(got.body == body);
}

TEST_CASE("a transient send reaches a connected device with delivery id 0 and is not stored for "
          "an offline one") {
    TempDir dir("veil-transient");
    RelayProcess relay(dir.path());
    RelayFixture keys;
    auto alice = keys.make_user("alice");
    auto bob = keys.make_user("bob");
    auto carol = keys.make_user("carol");
    WsClient alice_ws(relay.port()), bob_ws(relay.port());
    log_in_over_wire(alice_ws, keys, alice);
    log_in_over_wire(bob_ws, keys, bob);
    {
        WsClient carol_ws(relay.port());
        log_in_over_wire(carol_ws, keys, carol); // registered, then offline
    }

    for (const char* to : {"bob", "carol"}) {
        auto e = keys.send_request(to, message_id(3), "typing");
        e.mutable_send_request()->set_transient(true);
        auto* unknown = e.mutable_send_request()->add_to_devices(); // no such device
        unknown->set_device_id(5);
        unknown->set_type(wire::CIPHERTEXT_WHISPER);
        unknown->set_ciphertext("typing");
        REQUIRE(alice_ws.send_envelope(e));
        auto answer = alice_ws.next_envelope(after(10s));
        REQUIRE(answer);
        CHECK(answer->request_id() == e.request_id());
        CHECK(answer->has_ok());
    }
    auto pushed = bob_ws.next_envelope(after(10s));
    REQUIRE(pushed);
    REQUIRE(pushed->has_deliver());
    CHECK(pushed->deliver().delivery_id() == 0);
    CHECK(pushed->deliver().from_username() == "alice");
    CHECK(pushed->deliver().ciphertext() == "typing");
    // An ack for id 0 is harmless.
    auto ack = request(keys.next_id++);
    ack.mutable_ack_request()->add_delivery_ids(0);
    REQUIRE(bob_ws.send_envelope(ack));
    auto acked = bob_ws.next_envelope(after(10s));
    REQUIRE(acked);
    CHECK(acked->has_ok());

    // carol comes back: nothing was kept for her.
    WsClient carol_ws(relay.port());
    log_in_over_wire(carol_ws, keys, carol, false); // fails unless QueueDrained comes right away
}

TEST_CASE("max_attachment_mib in the config file sets the limit tickets announce") {
    TempDir dir("veil-blob");
    const auto config = dir.path() / "relay.conf";
    {
        std::ofstream out(config);
        out << "max_attachment_mib = 3\n";
    }
    RelayProcess relay(dir.path(), {"--config", config.string()});
    Uploader up(relay.port());
    CHECK(up.ticket(10).max_bytes() == 3 * 1024 * 1024);
    auto refused = up.ask(3 * 1024 * 1024 + 1);
    REQUIRE(refused.has_error());
    CHECK(refused.error().code() == wire::Error::TOO_LARGE);
}

TEST_CASE("a blob request head yields its method, id, token, length and expectations") {
    auto r = parse_blob_request("PUT /v1/blobs/0123456789abcdef0123456789abcdef HTTP/1.1\r\n"
                                "Host: x\r\nauthorization:  veil  tok123 \r\n"
                                "Content-Length: 42\r\nExpect: 100-continue\r\n\r\n");
    REQUIRE(r);
    CHECK(r->method == BlobRequest::Method::put);
    CHECK(r->blob_id == "0123456789abcdef0123456789abcdef");
    CHECK(r->token == "tok123");
    CHECK(r->content_length == std::optional<std::uint64_t>(42));
    CHECK_FALSE(r->bad_length);
    CHECK_FALSE(r->chunked);
    CHECK(r->expect_continue);
    CHECK_FALSE(parse_blob_request("GET /v1/ws HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK_FALSE(parse_blob_request("GET /healthz HTTP/1.1\r\nHost: /v1/blobs/\r\n\r\n"));
    auto basic = parse_blob_request("PUT /v1/blobs/x HTTP/1.1\r\nAuthorization: Basic abc\r\n\r\n");
    REQUIRE(basic);
    CHECK(basic->token.empty());
    CHECK_FALSE(basic->content_length);
}

TEST_CASE("a Content-Length that is not one plain decimal number is malformed") {
    for (const char* length : {"+5", "-1", "5,5", "0x10", "", "99999999999999999999999", "5 5"}) {
        INFO(length);
        auto r = parse_blob_request(std::string("PUT /v1/blobs/x HTTP/1.1\r\nContent-Length: ") +
                                    length + "\r\n\r\n");
        REQUIRE(r);
        CHECK(r->bad_length);
    }
    auto twice = parse_blob_request(
        "PUT /v1/blobs/x HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n");
    REQUIRE(twice);
    CHECK(twice->bad_length);
}

TEST_CASE("random and mutated blob request heads never crash the parser") {
    const std::string valid = "PUT /v1/blobs/0123456789abcdef0123456789abcdef HTTP/1.1\r\n"
                              "Authorization: Veil abc\r\nContent-Length: 10\r\n\r\n";
    std::mt19937 rng(4242);
    std::size_t parsed = 0;
    for (int round = 0; round < 20000; ++round) {
        std::string head = valid;
        const int edits = 1 + static_cast<int>(rng() % 8);
        for (int i = 0; i < edits; ++i) {
            const std::size_t at = rng() % head.size();
            switch (rng() % 3) {
            case 0: head[at] = static_cast<char>(rng()); break;
            case 1: head.erase(at, 1 + rng() % 4); break;
            default: head.insert(at, 1 + rng() % 4, static_cast<char>(rng())); break;
            }
            if (head.empty())
                head = "x";
        }
        parsed += parse_blob_request(head) ? 1 : 0;
    }
    CHECK(parsed > 0); // many mutations still name a blob path
}
