// BlobClient: engine::BlobTransport on QNetworkAccessManager. Lives on the thread whose Qt event
// loop drives it; every Progress and Done callback arrives there, from that loop, never inside
// the upload()/download() call that started the transfer. Exactly one Done per transfer, none
// after cancel() or after the client is destroyed (which abandons every transfer). A callback
// may start or cancel transfers, but must not destroy the client (use deleteLater()).
//
// Errors, as the BlobTransport contract asks: HTTP 413 -> too_large; 401, 403 and other 4xx ->
// refused (404 and 410 on a download -> not_found); 5xx and a lost or failed connection (TLS
// errors included) -> disconnected; no byte moving for the idle timeout -> timeout; 1xx/3xx
// (redirects are not followed, so the upload token never leaves for another host) -> protocol;
// a file that cannot be read or written -> io; a relay URL that is not ws:// or wss://, a blob
// id that is not 32 lower-case hex digits, a token with spaces or control characters ->
// invalid_argument. Certificates are checked by Qt's defaults; nothing here relaxes them.
#pragma once

#include "engine/blob_transport.h"

#include <QObject>
#include <QUrl>

#include <map>
#include <memory>

class QNetworkAccessManager;
class QNetworkReply;

namespace veil::qt {

class BlobClient final : public QObject, public engine::BlobTransport {
    Q_OBJECT
public:
    explicit BlobClient(QObject* parent = nullptr);
    ~BlobClient() override;

    // PUTs the file's bytes as they are (Content-Length set, Content-Type
    // application/octet-stream, "Authorization: Veil <token>"), streamed from the file.
    std::uint64_t upload(const std::string& relay_url, const std::string& blob_id,
                         const std::string& token, const std::filesystem::path& file,
                         Progress progress, Done done) override;
    // GETs into a temporary file next to `file`, renamed over it once the whole body is there;
    // stops as soon as the announced length or the bytes received pass max_bytes.
    std::uint64_t download(const std::string& relay_url, const std::string& blob_id,
                           const std::filesystem::path& file, std::uint64_t max_bytes,
                           Progress progress, Done done) override;
    void cancel(std::uint64_t id) override;

    // A transfer on which no byte moves for this long fails with timeout (default 60 s). Applies
    // to transfers started afterwards.
    void set_idle_timeout_ms(int ms) { m_idle_timeout_ms = ms; }

    // http(s)://host:port/v1/blobs/<blob_id> for a ws(s):// relay URL: the scheme maps ws ->
    // http and wss -> https, host and port are kept, any path, query, fragment or user info is
    // dropped. An empty QUrl for anything else or a malformed blob id.
    static QUrl blob_url(const std::string& relay_url, const std::string& blob_id);

private:
    struct Transfer;

    std::uint64_t start(std::unique_ptr<Transfer> transfer);
    void fail_later(std::uint64_t id, Errc code, std::string message);
    void watch(std::uint64_t id, QNetworkReply* reply, bool downloading);
    void on_progress(std::uint64_t id, qint64 done, qint64 total);
    void report_download(std::uint64_t id, bool final);
    void on_meta_data(std::uint64_t id);
    void on_ready_read(std::uint64_t id);
    void on_finished(std::uint64_t id);
    Status outcome(Transfer& transfer);
    void finish(std::uint64_t id, Status status);

    QNetworkAccessManager* m_network = nullptr;
    std::map<std::uint64_t, std::unique_ptr<Transfer>> m_transfers;
    std::uint64_t m_next_id = 1;
    int m_idle_timeout_ms = 60000;
};

} // namespace veil::qt
