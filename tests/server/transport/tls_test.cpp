// The relay serving wss:// itself (tls_cert / tls_key): a TLS client upgrades and round-trips a
// ChallengeRequest; a plaintext client on the TLS port is dropped without harm; a bad
// certificate stops the relay at start; a client dribbling its handshake is cut at the upgrade
// deadline. The certificate is a throwaway self-signed P-256 one, made here in a TempDir.
#include "server/relay_fixture.h"
#include "server/transport/wire_client.h"

#include "protocol/envelope_codec.h"

#include <catch2/catch.hpp>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <sys/socket.h>
#include <sys/time.h>

using namespace veil;
using namespace veil::relay;
using namespace veil::relay::test;
namespace ws = veil::protocol::ws;

namespace {

struct Pem {
    std::filesystem::path cert;
    std::filesystem::path key;
};

void write_pem(const std::filesystem::path& path, const std::function<int(FILE*)>& write) {
    FILE* file = std::fopen(path.c_str(), "w");
    REQUIRE(file);
    const int ok = write(file);
    std::fclose(file);
    REQUIRE(ok == 1);
}

// A self-signed certificate for CN=localhost and its key, valid for a day.
Pem make_certificate(const std::filesystem::path& dir, const std::string& name) {
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
    REQUIRE(key);
    std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
    REQUIRE(cert);
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 60 * 60);
    X509_set_pubkey(cert.get(), key.get());
    X509_NAME* subject = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert.get(), subject);
    REQUIRE(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0);
    Pem pem{dir / (name + ".crt"), dir / (name + ".key")};
    write_pem(pem.cert, [&](FILE* f) { return PEM_write_X509(f, cert.get()); });
    write_pem(pem.key, [&](FILE* f) {
        return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    });
    return pem;
}

std::vector<std::string> tls_options(const Pem& pem, std::vector<std::string> extra = {}) {
    std::vector<std::string> out = {"--tls-cert", pem.cert.string(), "--tls-key", pem.key.string()};
    out.insert(out.end(), extra.begin(), extra.end());
    return out;
}

// A blocking TLS client that trusts only the test certificate.
class TlsClient {
public:
    TlsClient(std::uint16_t port, const Pem& pem)
        : m_socket(port)
        , m_ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free)
        , m_ssl(nullptr, SSL_free)
        , m_decoder(ws::Role::client, 64 * 1024 * 1024) {
        REQUIRE(m_ctx);
        REQUIRE(SSL_CTX_load_verify_locations(m_ctx.get(), pem.cert.c_str(), nullptr) == 1);
        SSL_CTX_set_verify(m_ctx.get(), SSL_VERIFY_PEER, nullptr);
        timeval timeout{10, 0};
        ::setsockopt(m_socket.fd(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        m_ssl.reset(SSL_new(m_ctx.get()));
        REQUIRE(m_ssl);
        SSL_set_fd(m_ssl.get(), m_socket.fd());
        SSL_set_tlsext_host_name(m_ssl.get(), "localhost");
        REQUIRE(SSL_connect(m_ssl.get()) == 1);
        REQUIRE(SSL_get_verify_result(m_ssl.get()) == X509_V_OK);
    }

    bool write(std::span<const std::uint8_t> bytes) {
        return SSL_write(m_ssl.get(), bytes.data(), static_cast<int>(bytes.size())) ==
               static_cast<int>(bytes.size());
    }
    bool write(const std::string& text) {
        return write(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    }
    // Appends what arrives; false on EOF, error or the socket's 10 s timeout.
    bool read(Bytes& out) {
        std::uint8_t buffer[16 * 1024];
        const int n = SSL_read(m_ssl.get(), buffer, sizeof buffer);
        if (n <= 0)
            return false;
        out.insert(out.end(), buffer, buffer + n);
        return true;
    }

    // Sends the upgrade request; returns the response head (without the blank line).
    std::string upgrade(const std::string& request = upgrade_request()) {
        REQUIRE(write(request));
        std::size_t end = std::string::npos;
        while (end == std::string::npos) {
            if (!read(m_in))
                return std::string(m_in.begin(), m_in.end());
            end = std::string(m_in.begin(), m_in.end()).find("\r\n\r\n");
        }
        std::string head(m_in.begin(), m_in.begin() + static_cast<std::ptrdiff_t>(end));
        m_in.erase(m_in.begin(), m_in.begin() + static_cast<std::ptrdiff_t>(end + 4));
        return head;
    }

    bool send_envelope(const wire::Envelope& envelope) {
        return write(ws::encode_frame(ws::Role::client, ws::Opcode::binary,
                                      protocol::encode_envelope(envelope)));
    }
    std::optional<wire::Envelope> next_envelope() {
        for (;;) {
            std::vector<ws::Event> events;
            REQUIRE(m_decoder.feed(m_in, events));
            m_in.clear();
            for (auto& event : events) {
                if (event.opcode != ws::Opcode::binary)
                    continue;
                wire::Envelope envelope;
                REQUIRE(envelope.ParseFromArray(event.payload.data(),
                                                static_cast<int>(event.payload.size())));
                return envelope;
            }
            if (!read(m_in))
                return std::nullopt;
        }
    }

private:
    RawSocket m_socket;
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> m_ctx;
    std::unique_ptr<SSL, decltype(&SSL_free)> m_ssl;
    ws::Decoder m_decoder;
    Bytes m_in;
};

void challenge_round_trip(std::uint16_t port, const Pem& pem) {
    TlsClient client(port, pem);
    const std::string head = client.upgrade();
    INFO(head);
    REQUIRE(head.rfind("HTTP/1.1 101", 0) == 0);
    REQUIRE(head.find("Sec-WebSocket-Accept: " + ws::accept_key("dGhlIHNhbXBsZSBub25jZQ==")) !=
            std::string::npos);
    auto challenge = request(7);
    challenge.mutable_challenge_request();
    REQUIRE(client.send_envelope(challenge));
    auto answer = client.next_envelope();
    REQUIRE(answer);
    CHECK(answer->request_id() == 7);
    CHECK(answer->has_challenge());
    CHECK(answer->challenge().nonce().size() > 0);
}

} // namespace

TEST_CASE("a TLS client upgrades over wss:// and round-trips a ChallengeRequest") {
    TempDir dir("veil-tls");
    const Pem pem = make_certificate(dir.path(), "relay");
    RelayProcess relay(dir.path(), tls_options(pem));
    challenge_round_trip(relay.port(), pem);
    SECTION("a bad upgrade over TLS gets 400, and other paths 404") {
        TlsClient bad(relay.port(), pem);
        const std::string head =
            bad.upgrade("GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n");
        CHECK(head.rfind("HTTP/1.1 400", 0) == 0);
        TlsClient lost(relay.port(), pem);
        CHECK(lost.upgrade("GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                  .rfind("HTTP/1.1 404", 0) == 0);
    }
    SECTION("an early frame sent with the upgrade request is not lost") {
        TlsClient client(relay.port(), pem);
        auto challenge = request(9);
        challenge.mutable_challenge_request();
        const Bytes frame = ws::encode_frame(ws::Role::client, ws::Opcode::binary,
                                             protocol::encode_envelope(challenge));
        const std::string head =
            client.upgrade(upgrade_request() + std::string(frame.begin(), frame.end()));
        REQUIRE(head.rfind("HTTP/1.1 101", 0) == 0);
        auto answer = client.next_envelope();
        REQUIRE(answer);
        CHECK(answer->request_id() == 9);
        CHECK(answer->has_challenge());
    }
}

TEST_CASE("a plaintext client on the TLS port is closed and the relay carries on") {
    TempDir dir("veil-tls");
    const Pem pem = make_certificate(dir.path(), "relay");
    RelayProcess relay(dir.path(), tls_options(pem));
    for (int i = 0; i < 3; ++i) {
        RawSocket plain(relay.port());
        REQUIRE(plain.send_all(upgrade_request()));
        Bytes answer;
        CHECK(plain.read_to_eof(answer, after(10s)));
        // Whatever came back (a TLS alert at most), it is no HTTP answer.
        CHECK(std::string(answer.begin(), answer.end()).find("HTTP/1.1") == std::string::npos);
    }
    CHECK(relay.process().running());
    challenge_round_trip(relay.port(), pem);
}

TEST_CASE("the relay refuses to start with a missing certificate or a key that does not match") {
    TempDir dir("veil-tls");
    const Pem pem = make_certificate(dir.path(), "relay");
    const Pem other = make_certificate(dir.path(), "other");
    SECTION("missing certificate") {
        auto run = veil::test::run(
            {VEIL_RELAY_BIN, "--listen", "127.0.0.1:0", "--data", (dir.path() / "relay").string(),
             "--tls-cert", (dir.path() / "missing.crt").string(), "--tls-key", pem.key.string()},
            {}, dir.path(), "missing", {}, 30s);
        CHECK(run.code == 1);
        CHECK(run.err.find("cannot load the TLS certificate") != std::string::npos);
        CHECK(run.err.find("missing.crt") != std::string::npos);
        CHECK(run.out.find("listening") == std::string::npos);
    }
    SECTION("key of another certificate") {
        auto run = veil::test::run({VEIL_RELAY_BIN, "--listen", "127.0.0.1:0", "--data",
                                    (dir.path() / "relay").string(), "--tls-cert",
                                    pem.cert.string(), "--tls-key", other.key.string()},
                                   {}, dir.path(), "mismatch", {}, 30s);
        CHECK(run.code == 1);
        CHECK(run.err.find("does not match") != std::string::npos);
        // The message names files; it never carries key material.
        CHECK(run.err.find("PRIVATE KEY") == std::string::npos);
    }
    SECTION("a certificate without a key") {
        auto run =
            veil::test::run({VEIL_RELAY_BIN, "--listen", "127.0.0.1:0", "--data",
                             (dir.path() / "relay").string(), "--tls-cert", pem.cert.string()},
                            {}, dir.path(), "half", {}, 30s);
        CHECK(run.code == 2);
        CHECK(run.err.find("tls_cert and tls_key go together") != std::string::npos);
    }
}

TEST_CASE("a TLS client dribbling its handshake is cut at the upgrade deadline") {
    TempDir dir("veil-tls");
    const Pem pem = make_certificate(dir.path(), "relay");
    RelayProcess relay(dir.path(), tls_options(pem, {"--upgrade-timeout-ms", "800"}));
    RawSocket slow(relay.port());
    // The start of a ClientHello record, one byte at a time.
    const std::string hello_start("\x16\x03\x01\x01\x00\x01\x00\x00\xfc\x03\x03", 11);
    const auto start = std::chrono::steady_clock::now();
    bool cut = false;
    for (char byte : hello_start) {
        if (!slow.send_all(std::string(1, byte))) {
            cut = true;
            break;
        }
        Bytes sink;
        if (slow.read_some(sink, after(150ms)) == RawSocket::Read::eof) {
            cut = true;
            break;
        }
    }
    if (!cut) {
        Bytes sink;
        cut = slow.read_to_eof(sink, after(10s));
    }
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(cut);
    CHECK(took >= 700ms);
    CHECK(took < 8s);
    // Another client is served meanwhile and afterwards.
    challenge_round_trip(relay.port(), pem);
}

TEST_CASE("over TLS, a blob uploaded with a ticket downloads as the same bytes") {
    TempDir dir("veil-tls");
    const Pem pem = make_certificate(dir.path(), "relay");
    RelayProcess relay(dir.path(), tls_options(pem));
    RelayFixture keys;
    const auto alice = keys.make_user("alice");
    TlsClient ws(relay.port(), pem);
    REQUIRE(ws.upgrade().rfind("HTTP/1.1 101", 0) == 0);
    auto challenge = request(keys.next_id++);
    challenge.mutable_challenge_request();
    REQUIRE(ws.send_envelope(challenge));
    auto nonce = ws.next_envelope();
    REQUIRE(nonce);
    REQUIRE(ws.send_envelope(keys.register_request(alice, to_bytes(nonce->challenge().nonce()))));
    auto authed = ws.next_envelope();
    REQUIRE(authed);
    REQUIRE(authed->has_auth_result());
    REQUIRE(ws.next_envelope()); // QueueDrained

    Bytes body(3 * 1024 * 1024 + 17);
    for (std::size_t i = 0; i < body.size(); ++i)
        body[i] = static_cast<std::uint8_t>(i * 7 + (i >> 11));
    auto ask = request(keys.next_id++);
    ask.mutable_blob_upload_request()->set_size(body.size());
    REQUIRE(ws.send_envelope(ask));
    auto ticket = ws.next_envelope();
    REQUIRE(ticket);
    REQUIRE(ticket->has_blob_upload_ticket());
    const std::string id = ticket->blob_upload_ticket().blob_id();

    TlsClient put(relay.port(), pem);
    REQUIRE(put.write("PUT /v1/blobs/" + id +
                      " HTTP/1.1\r\nHost: localhost\r\nAuthorization: Veil " +
                      ticket->blob_upload_ticket().token() +
                      "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n"));
    REQUIRE(put.write(body));
    Bytes answer;
    while (put.read(answer)) {
    }
    CHECK(std::string(answer.begin(), answer.end()).rfind("HTTP/1.1 201", 0) == 0);

    TlsClient get(relay.port(), pem);
    REQUIRE(get.write("GET /v1/blobs/" + id + " HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    Bytes raw;
    while (get.read(raw)) {
    }
    const std::string text(raw.begin(), raw.end());
    REQUIRE(text.rfind("HTTP/1.1 200", 0) == 0);
    const std::size_t end = text.find("\r\n\r\n");
    REQUIRE(end != std::string::npos);
    CHECK(Bytes(raw.begin() + static_cast<std::ptrdiff_t>(end + 4), raw.end()) == body);
}
