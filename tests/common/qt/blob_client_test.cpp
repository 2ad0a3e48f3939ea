#include "qt/blob_client.h"
#include "qt/relay_pin.h"

#include "common/qt/mock_blob_server.h"
#include "support/temp_dir.h"

#include <QSslConfiguration>
#include <QSslKey>
#include <QSslServer>

#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>

using namespace veil;
using namespace veil::qt;
using namespace veil::qt::test;
namespace fs = std::filesystem;

namespace {

const std::string kBlobId = "0123456789abcdef0123456789abcdef";
const std::string kToken = "tk_0123456789";

QByteArray pattern(qsizetype size) {
    QByteArray out(size, '\0');
    std::uint32_t x = 12345;
    for (auto& c : out) {
        x = x * 1664525u + 1013904223u;
        c = static_cast<char>(x >> 24);
    }
    return out;
}

void write_file(const fs::path& path, const QByteArray& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.constData(), bytes.size());
    REQUIRE(out.good());
}

QByteArray read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in.good());
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return QByteArray::fromStdString(bytes);
}

std::size_t entries(const fs::path& dir) {
    return static_cast<std::size_t>(
        std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

// What one transfer reported.
struct Outcome {
    std::optional<Status> status;
    int dones = 0;
    std::uint64_t last_done = 0;
    std::uint64_t last_total = 0;
    int progress_calls = 0;
    bool went_back = false;

    engine::BlobTransport::Progress progress() {
        return [this](std::uint64_t done, std::uint64_t total) {
            went_back = went_back || done < last_done;
            last_done = done;
            last_total = total;
            ++progress_calls;
        };
    }
    engine::BlobTransport::Done done() {
        return [this](Status s) {
            status = std::move(s);
            ++dones;
        };
    }
    bool finished() const { return dones > 0; }
    Errc code() const { return status->ok() ? Errc::ok : status->error().code; }
};

struct Fixture {
    ::veil::test::TempDir dir{"veil-blob-client"};
    MockBlobServer server;
    BlobClient client;

    fs::path path(const char* name) const { return dir.path() / name; }

    Outcome upload(const QByteArray& bytes) {
        write_file(path("upload.bin"), bytes);
        Outcome outcome;
        client.upload(server.relay_url(), kBlobId, kToken, path("upload.bin"), outcome.progress(),
                      outcome.done());
        REQUIRE(wait_until([&] { return outcome.finished(); }));
        spin(50); // a second Done would show up here
        return outcome;
    }

    Outcome download(std::uint64_t max_bytes = 1 << 30) {
        Outcome outcome;
        client.download(server.relay_url(), kBlobId, path("blob.bin"), max_bytes,
                        outcome.progress(), outcome.done());
        REQUIRE(wait_until([&] { return outcome.finished(); }));
        spin(50);
        return outcome;
    }

    void answer_with(int status, QByteArray body = {}) {
        server.on_request([this, status, body](QTcpSocket* socket, const HttpRequest&) {
            server.answer(socket, status, body);
        });
    }
};

// A throwaway self-signed certificate for 127.0.0.1 and its key, as PEM, made with OpenSSL for
// the one test that needs a TLS server nobody trusts.
struct SelfSigned {
    QByteArray certificate;
    QByteArray key;
};

QByteArray pem_of(const std::function<int(BIO*)>& write) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    REQUIRE(write(bio.get()) == 1);
    char* data = nullptr;
    long size = BIO_get_mem_data(bio.get(), &data);
    return QByteArray(data, static_cast<qsizetype>(size));
}

SelfSigned self_signed() {
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), &EVP_PKEY_free);
    REQUIRE(key);
    std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), &X509_free);
    REQUIRE(cert);
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
    REQUIRE(X509_set_pubkey(cert.get(), key.get()) == 1);
    X509_NAME* name = X509_get_subject_name(cert.get());
    const auto* cn = reinterpret_cast<const unsigned char*>("127.0.0.1");
    REQUIRE(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, cn, -1, -1, 0) == 1);
    REQUIRE(X509_set_issuer_name(cert.get(), name) == 1);
    REQUIRE(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0);

    SelfSigned out;
    out.certificate = pem_of([&](BIO* bio) { return PEM_write_bio_X509(bio, cert.get()); });
    out.key = pem_of([&](BIO* bio) {
        return PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    });
    return out;
}

} // namespace

TEST_CASE("the blob URL is the relay's host and port over HTTP") {
    app();
    CHECK(BlobClient::blob_url("ws://127.0.0.1:8080/v1/ws", kBlobId).toString() ==
          QString::fromStdString("http://127.0.0.1:8080/v1/blobs/" + kBlobId));
    CHECK(BlobClient::blob_url("wss://relay.example:443", kBlobId).toString() ==
          QString::fromStdString("https://relay.example:443/v1/blobs/" + kBlobId));
    CHECK(BlobClient::blob_url("WSS://relay.example/some/prefix?x=1#y", kBlobId).toString() ==
          QString::fromStdString("https://relay.example/v1/blobs/" + kBlobId));
    CHECK(BlobClient::blob_url("ws://user:pw@[::1]:9/v1/ws", kBlobId).toString() ==
          QString::fromStdString("http://[::1]:9/v1/blobs/" + kBlobId));

    CHECK(BlobClient::blob_url("http://127.0.0.1:8080", kBlobId).isEmpty());
    CHECK(BlobClient::blob_url("ftp://127.0.0.1", kBlobId).isEmpty());
    CHECK(BlobClient::blob_url("ws:///v1/ws", kBlobId).isEmpty());
    CHECK(BlobClient::blob_url("not a url", kBlobId).isEmpty());
    CHECK(BlobClient::blob_url("ws://127.0.0.1", "../../etc/passwd").isEmpty());
    CHECK(BlobClient::blob_url("ws://127.0.0.1", kBlobId.substr(1)).isEmpty());
    CHECK(BlobClient::blob_url("ws://127.0.0.1", "0123456789ABCDEF0123456789ABCDEF").isEmpty());
}

TEST_CASE("an upload arrives byte for byte with its headers and progress reaches the total") {
    Fixture f;
    f.answer_with(201);
    QByteArray bytes = pattern(3 * 1024 * 1024 + 5);
    Outcome outcome = f.upload(bytes);

    REQUIRE(outcome.status->ok());
    CHECK(outcome.dones == 1);
    REQUIRE(f.server.requests().size() == 1);
    const HttpRequest& request = f.server.requests()[0];
    CHECK(request.method == "PUT");
    CHECK(request.path == QByteArray::fromStdString("/v1/blobs/" + kBlobId));
    CHECK(request.header("authorization") == QByteArray::fromStdString("Veil " + kToken));
    CHECK(request.header("content-type") == "application/octet-stream");
    CHECK(request.header("content-length") == QByteArray::number(bytes.size()));
    CHECK(request.complete);
    CHECK(request.body == bytes);

    CHECK(outcome.progress_calls > 0);
    CHECK_FALSE(outcome.went_back);
    CHECK(outcome.last_done == static_cast<std::uint64_t>(bytes.size()));
    CHECK(outcome.last_total == static_cast<std::uint64_t>(bytes.size()));
}

TEST_CASE("an empty file uploads as an empty body") {
    Fixture f;
    f.answer_with(201);
    Outcome outcome = f.upload(QByteArray());
    REQUIRE(outcome.status->ok());
    REQUIRE(f.server.requests().size() == 1);
    CHECK(f.server.requests()[0].header("content-length") == "0");
    CHECK(f.server.requests()[0].body.isEmpty());
}

TEST_CASE("an upload the relay finds too large fails with too_large") {
    Fixture f;
    f.answer_with(413);
    SECTION("answered after the body") {}
    SECTION("answered as soon as the headers are in") {
        f.server.answer_after_headers(true);
    }
    Outcome outcome = f.upload(pattern(2 * 1024 * 1024));
    CHECK(outcome.code() == Errc::too_large);
    CHECK(outcome.dones == 1);
}

TEST_CASE("an upload with a refused token fails with refused") {
    Fixture f;
    auto status = GENERATE(401, 403, 400);
    CAPTURE(status);
    f.answer_with(status);
    f.server.answer_after_headers(true);
    Outcome outcome = f.upload(pattern(1000));
    CHECK(outcome.code() == Errc::refused);
    CHECK(outcome.dones == 1);
}

TEST_CASE("an upload answered with a server error or a redirect fails accordingly") {
    Fixture f;
    SECTION("500") {
        f.answer_with(500);
        CHECK(f.upload(pattern(10)).code() == Errc::disconnected);
    }
    SECTION("307") {
        f.server.on_request([](QTcpSocket* socket, const HttpRequest&) {
            socket->write("HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:1/x\r\n"
                          "Content-Length: 0\r\nConnection: close\r\n\r\n");
            socket->disconnectFromHost();
        });
        CHECK(f.upload(pattern(10)).code() == Errc::protocol);
        CHECK(f.server.requests().size() == 1);
    }
}

TEST_CASE("an upload of a missing file fails with io, after the call returns") {
    Fixture f;
    Outcome outcome;
    f.client.upload(f.server.relay_url(), kBlobId, kToken, f.path("missing"), outcome.progress(),
                    outcome.done());
    CHECK_FALSE(outcome.finished());
    REQUIRE(wait_until([&] { return outcome.finished(); }));
    CHECK(outcome.code() == Errc::io);
    CHECK(f.server.requests().empty());
}

TEST_CASE("bad relay URLs, blob ids and tokens fail with invalid_argument, after the call") {
    Fixture f;
    write_file(f.path("upload.bin"), pattern(10));
    std::string relay = f.server.relay_url();
    struct Case {
        std::string url, id, token;
    };
    auto c = GENERATE_COPY(Case{"http://127.0.0.1:1", kBlobId, kToken},
                           Case{relay, "not-hex", kToken}, Case{relay, kBlobId, ""},
                           Case{relay, kBlobId, "a b"}, Case{relay, kBlobId, "x\r\nHost: evil"});
    Outcome outcome;
    f.client.upload(c.url, c.id, c.token, f.path("upload.bin"), outcome.progress(), outcome.done());
    CHECK_FALSE(outcome.finished());
    REQUIRE(wait_until([&] { return outcome.finished(); }));
    CHECK(outcome.code() == Errc::invalid_argument);
    CHECK(f.server.requests().empty());
}

TEST_CASE("a download writes the blob byte for byte and reports progress to the total") {
    Fixture f;
    QByteArray bytes = pattern(2 * 1024 * 1024 + 7);
    f.answer_with(200, bytes);
    Outcome outcome = f.download();

    REQUIRE(outcome.status->ok());
    CHECK(outcome.dones == 1);
    REQUIRE(f.server.requests().size() == 1);
    CHECK(f.server.requests()[0].method == "GET");
    CHECK(f.server.requests()[0].path == QByteArray::fromStdString("/v1/blobs/" + kBlobId));
    CHECK(f.server.requests()[0].header("authorization").isEmpty());
    CHECK(read_file(f.path("blob.bin")) == bytes);
    CHECK(entries(f.dir.path()) == 1);
    CHECK_FALSE(outcome.went_back);
    CHECK(outcome.last_done == static_cast<std::uint64_t>(bytes.size()));
    CHECK(outcome.last_total == static_cast<std::uint64_t>(bytes.size()));
}

TEST_CASE("a download replaces an existing file only once it is complete") {
    Fixture f;
    write_file(f.path("blob.bin"), "old contents");
    QByteArray bytes = pattern(5000);
    f.answer_with(200, bytes);
    REQUIRE(f.download().status->ok());
    CHECK(read_file(f.path("blob.bin")) == bytes);

    f.answer_with(404);
    CHECK(f.download().code() == Errc::not_found);
    CHECK(read_file(f.path("blob.bin")) == bytes);
    CHECK(entries(f.dir.path()) == 1);
}

TEST_CASE("a download of a blob that is gone fails with not_found and leaves no file") {
    Fixture f;
    auto status = GENERATE(404, 410);
    f.answer_with(status, "no such blob");
    Outcome outcome = f.download();
    CHECK(outcome.code() == Errc::not_found);
    CHECK(entries(f.dir.path()) == 0);
}

TEST_CASE("a download above max_bytes fails with too_large and leaves no file") {
    Fixture f;
    QByteArray bytes = pattern(100000);
    SECTION("announced by Content-Length") {
        f.answer_with(200, bytes);
    }
    SECTION("without a length, the body ending when the connection closes") {
        f.server.on_request([bytes](QTcpSocket* socket, const HttpRequest&) {
            MockBlobServer::head(socket, 200, -1);
            socket->write(bytes);
            socket->disconnectFromHost();
        });
    }
    Outcome outcome = f.download(50000);
    CHECK(outcome.code() == Errc::too_large);
    CHECK(outcome.dones == 1);
    CHECK(entries(f.dir.path()) == 0);
}

TEST_CASE("a download without a Content-Length ends when the relay closes the connection") {
    Fixture f;
    QByteArray bytes = pattern(70000);
    f.server.on_request([bytes](QTcpSocket* socket, const HttpRequest&) {
        MockBlobServer::head(socket, 200, -1);
        socket->write(bytes);
        socket->disconnectFromHost();
    });
    Outcome outcome = f.download(70000);
    REQUIRE(outcome.status->ok());
    CHECK(read_file(f.path("blob.bin")) == bytes);
    CHECK(outcome.last_done == 70000);
    CHECK(outcome.last_total == 0); // never announced
}

TEST_CASE("a download takes no more than the Content-Length announced") {
    Fixture f;
    QByteArray bytes = pattern(100000);
    f.server.on_request([bytes](QTcpSocket* socket, const HttpRequest&) {
        MockBlobServer::head(socket, 200, 10);
        socket->write(bytes);
        socket->disconnectFromHost();
    });
    Outcome outcome = f.download(50000);
    REQUIRE(outcome.status->ok());
    CHECK(read_file(f.path("blob.bin")) == bytes.left(10));
    CHECK(outcome.last_done == 10);
}

TEST_CASE("a download exactly at max_bytes succeeds") {
    Fixture f;
    QByteArray bytes = pattern(50000);
    f.answer_with(200, bytes);
    REQUIRE(f.download(50000).status->ok());
    CHECK(read_file(f.path("blob.bin")) == bytes);
}

TEST_CASE("a download cut off mid-body fails with disconnected and leaves no file") {
    Fixture f;
    QByteArray bytes = pattern(300000);
    f.server.on_request([bytes](QTcpSocket* socket, const HttpRequest&) {
        MockBlobServer::head(socket, 200, bytes.size());
        socket->write(bytes.left(bytes.size() / 2));
        socket->disconnectFromHost();
    });
    Outcome outcome = f.download();
    CHECK(outcome.code() == Errc::disconnected);
    CHECK(outcome.dones == 1);
    CHECK(entries(f.dir.path()) == 0);
}

TEST_CASE("a download from a relay that is not there fails with disconnected") {
    Fixture f;
    std::string relay;
    {
        QTcpServer closed;
        REQUIRE(closed.listen(QHostAddress::LocalHost, 0));
        relay = "ws://127.0.0.1:" + std::to_string(closed.serverPort());
    } // nothing listens there any more
    Outcome outcome;
    f.client.download(relay, kBlobId, f.path("blob.bin"), 1000, outcome.progress(), outcome.done());
    REQUIRE(wait_until([&] { return outcome.finished(); }));
    CHECK(outcome.code() == Errc::disconnected);
    CHECK(entries(f.dir.path()) == 0);
}

// A TLS server on loopback with a new self-signed certificate; it notes whether any request
// bytes arrived, and never answers.
struct SelfSignedServer {
    SelfSignedServer() {
        QSslConfiguration config = QSslConfiguration::defaultConfiguration();
        config.setLocalCertificate(QSslCertificate(pem.certificate, QSsl::Pem));
        config.setPrivateKey(QSslKey(pem.key, QSsl::Ec, QSsl::Pem));
        tls.setSslConfiguration(config);
        QObject::connect(&tls, &QSslServer::pendingConnectionAvailable, [this] {
            while (QTcpSocket* socket = tls.nextPendingConnection())
                QObject::connect(socket, &QTcpSocket::readyRead, [this] { request_seen = true; });
        });
        REQUIRE(tls.listen(QHostAddress::LocalHost, 0));
    }
    std::string url() const { return "wss://127.0.0.1:" + std::to_string(tls.serverPort()); }
    QByteArray sha256() const {
        return QSslCertificate(pem.certificate, QSsl::Pem).digest(QCryptographicHash::Sha256);
    }

    SelfSigned pem = self_signed();
    QSslServer tls;
    bool request_seen = false;
};

TEST_CASE("a relay whose certificate nobody trusts is refused, not talked to") {
    Fixture f;
    SelfSignedServer server;
    Outcome outcome;
    f.client.download(server.url() + "/v1/ws", kBlobId, f.path("blob.bin"), 1000,
                      outcome.progress(), outcome.done());
    REQUIRE(wait_until([&] { return outcome.finished(); }));
    CHECK(outcome.code() == Errc::disconnected);
    CAPTURE(outcome.status->error().message);
    CHECK(outcome.status->error().message.find("TLS certificate is not trusted") !=
          std::string::npos);
    CHECK(outcome.status->error().message.find("#sha256:") != std::string::npos);
    CHECK_FALSE(server.request_seen);
    CHECK(entries(f.dir.path()) == 0);
}

TEST_CASE("a pin in the relay address that is not the relay's certificate is refused, naming "
          "both") {
    Fixture f;
    SelfSignedServer server;
    QByteArray wrong = server.sha256();
    wrong[0] = static_cast<char>(wrong[0] ^ 0x01);
    Outcome outcome;
    f.client.download(server.url() + "#" + pin_text(wrong), kBlobId, f.path("blob.bin"), 1000,
                      outcome.progress(), outcome.done());
    REQUIRE(wait_until([&] { return outcome.finished(); }));
    CHECK(outcome.code() == Errc::disconnected);
    CAPTURE(outcome.status->error().message);
    CHECK(outcome.status->error().message.find("is " + pin_text(server.sha256()) +
                                               ", not the pinned " + pin_text(wrong)) !=
          std::string::npos);
    CHECK_FALSE(server.request_seen);
    CHECK(entries(f.dir.path()) == 0);
}

TEST_CASE("a relay whose self-signed certificate is the one pinned in its address is talked to") {
    Fixture f;
    SelfSignedServer server;
    Outcome outcome;
    std::uint64_t id =
        f.client.download(server.url() + "#" + pin_text(server.sha256()), kBlobId,
                          f.path("blob.bin"), 1000, outcome.progress(), outcome.done());
    // The request reaches the server through TLS; it never answers, so the transfer is dropped.
    REQUIRE(wait_until([&] { return server.request_seen; }));
    CHECK_FALSE(outcome.finished());
    f.client.cancel(id);
}

TEST_CASE("a stalled download fails with timeout") {
    Fixture f;
    f.client.set_idle_timeout_ms(300);
    f.server.on_request([](QTcpSocket* socket, const HttpRequest&) {
        MockBlobServer::head(socket, 200, 1000);
        socket->write(pattern(10)); // and then nothing
    });
    Outcome outcome = f.download();
    CHECK(outcome.code() == Errc::timeout);
    CHECK(entries(f.dir.path()) == 0);
}

TEST_CASE("a cancelled download never reports Done and leaves no file") {
    Fixture f;
    f.server.on_request([](QTcpSocket* socket, const HttpRequest&) {
        MockBlobServer::head(socket, 200, 1 << 20);
        socket->write(pattern(1000)); // the rest never comes
    });
    Outcome outcome;
    std::uint64_t id = f.client.download(f.server.relay_url(), kBlobId, f.path("blob.bin"), 1 << 20,
                                         outcome.progress(), outcome.done());
    REQUIRE(wait_until([&] { return outcome.last_done >= 1000; }));
    f.client.cancel(id);
    spin(300);
    CHECK_FALSE(outcome.finished());
    CHECK(entries(f.dir.path()) == 0);
    f.client.cancel(id); // a second cancel is harmless
}

TEST_CASE("a cancelled upload never reports Done") {
    Fixture f;
    f.server.answer_after_headers(true);
    f.server.on_request([](QTcpSocket*, const HttpRequest&) {}); // never answers
    write_file(f.path("upload.bin"), pattern(1000));
    Outcome outcome;
    std::uint64_t id = f.client.upload(f.server.relay_url(), kBlobId, kToken, f.path("upload.bin"),
                                       outcome.progress(), outcome.done());
    REQUIRE(wait_until([&] { return !f.server.requests().empty(); }));
    f.client.cancel(id);
    spin(300);
    CHECK_FALSE(outcome.finished());
}

TEST_CASE("a transfer cancelled before its failure is reported never reports Done") {
    Fixture f;
    Outcome outcome;
    std::uint64_t id = f.client.upload(f.server.relay_url(), kBlobId, kToken, f.path("missing"),
                                       outcome.progress(), outcome.done());
    f.client.cancel(id);
    spin(100);
    CHECK_FALSE(outcome.finished());
}

TEST_CASE("a transfer may be cancelled from its own progress callback") {
    Fixture f;
    f.answer_with(200, pattern(1 << 20));
    Outcome outcome;
    std::uint64_t id = 0;
    bool cancelled = false;
    id = f.client.download(
        f.server.relay_url(), kBlobId, f.path("blob.bin"), 1 << 21,
        [&](std::uint64_t, std::uint64_t) {
            if (!cancelled) {
                cancelled = true;
                f.client.cancel(id);
            }
        },
        outcome.done());
    REQUIRE(wait_until([&] { return cancelled; }));
    spin(200);
    CHECK_FALSE(outcome.finished());
    CHECK(entries(f.dir.path()) == 0);
}

TEST_CASE("destroying the client abandons its transfers without callbacks") {
    ::veil::test::TempDir dir{"veil-blob-client"};
    MockBlobServer server;
    server.on_request([](QTcpSocket* socket, const HttpRequest&) {
        MockBlobServer::head(socket, 200, 1 << 20);
        socket->write(pattern(1000));
    });
    Outcome outcome;
    {
        BlobClient client;
        client.download(server.relay_url(), kBlobId, dir.path() / "blob.bin", 1 << 20,
                        outcome.progress(), outcome.done());
        REQUIRE(wait_until([&] { return outcome.progress_calls > 0; }));
    }
    spin(200);
    CHECK_FALSE(outcome.finished());
    CHECK(entries(dir.path()) == 0);
}

TEST_CASE("several transfers at once each get their own Done") {
    Fixture f;
    QByteArray bytes = pattern(40000);
    f.answer_with(200, bytes);
    Outcome a, b, c;
    f.client.download(f.server.relay_url(), kBlobId, f.path("a.bin"), 1 << 20, a.progress(),
                      a.done());
    f.client.download(f.server.relay_url(), kBlobId, f.path("b.bin"), 1 << 20, b.progress(),
                      b.done());
    f.client.download(f.server.relay_url(), kBlobId, f.path("c.bin"), 100, c.progress(), c.done());
    REQUIRE(wait_until([&] { return a.finished() && b.finished() && c.finished(); }));
    spin(50);
    CHECK(a.dones + b.dones + c.dones == 3);
    CHECK(a.status->ok());
    CHECK(b.status->ok());
    CHECK(c.code() == Errc::too_large);
    CHECK(read_file(f.path("a.bin")) == bytes);
    CHECK(read_file(f.path("b.bin")) == bytes);
    CHECK(entries(f.dir.path()) == 2);
}
