#include "qt/blob_client.h"

#include "protocol/limits.h"
#include "qt/relay_pin.h"

#include <QElapsedTimer>
#include <QFile>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QSaveFile>

#include <algorithm>
#include <optional>

namespace veil::qt {

namespace {

constexpr qint64 kReadChunkBytes = 64 * 1024;
// What Qt may buffer ahead of us on a download; readyRead drains it.
constexpr qint64 kReadBufferBytes = 256 * 1024;
constexpr std::size_t kMaxTokenBytes = 512;
// Download progress goes out at most this often (and once more at the end). Qt's own
// downloadProgress is throttled in a way that can hide the first bytes for good when the
// transfer then stalls, so downloads count their bytes themselves.
constexpr qint64 kProgressIntervalMs = 50;

bool valid_blob_id(const std::string& id) {
    return id.size() == protocol::kBlobIdHexChars && std::all_of(id.begin(), id.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

// A token goes into a header line: visible ASCII only, so it cannot end the line early.
bool valid_token(const std::string& token) {
    return !token.empty() && token.size() <= kMaxTokenBytes &&
           std::all_of(token.begin(), token.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

QString qt_path(const std::filesystem::path& path) {
    return QFile::decodeName(QByteArray(path.c_str()));
}

std::optional<int> http_status(QNetworkReply* reply) {
    QVariant status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute);
    if (!status.isValid())
        return std::nullopt;
    return status.toInt();
}

// The announced body length, if the relay sent one.
std::optional<std::uint64_t> content_length(QNetworkReply* reply) {
    QVariant length = reply->header(QNetworkRequest::ContentLengthHeader);
    if (!length.isValid())
        return std::nullopt;
    bool ok = false;
    qlonglong value = length.toLongLong(&ok);
    if (!ok || value < 0)
        return std::nullopt;
    return static_cast<std::uint64_t>(value);
}

std::string reason(int status) {
    return "the relay answered HTTP " + std::to_string(status);
}

Status status_error(int status, bool downloading) {
    if (status == 413)
        return make_error(Errc::too_large, "the relay refused the blob as too large (HTTP 413)");
    if (downloading && (status == 404 || status == 410))
        return make_error(Errc::not_found, "the blob is gone from the relay (expired or removed)");
    if (status == 401 || status == 403)
        return make_error(Errc::refused, "the relay refused the upload ticket (HTTP " +
                                             std::to_string(status) + ")");
    if (status >= 400 && status < 500)
        return make_error(Errc::refused, reason(status));
    if (status >= 500)
        return make_error(Errc::disconnected, reason(status));
    return make_error(Errc::protocol, reason(status) + ", which Veil does not expect here");
}

} // namespace

struct BlobClient::Transfer {
    bool downloading = false;
    QNetworkReply* reply = nullptr;    // deleted later, with an upload's body as its child
    std::unique_ptr<QSaveFile> target; // download: the temporary file until commit
    std::uint64_t max_bytes = 0;       // download
    std::uint64_t received = 0;        // download: body bytes taken so far
    std::uint64_t reported = 0;        // the last progress reported, to keep it monotonic
    std::uint64_t known_total = 0;     // upload: the file's size
    QElapsedTimer since_report;        // download
    QByteArray pin;                    // the relay URL's certificate pin (relay_pin.h)
    std::string tls_error;             // why the relay's certificate was refused
    Progress progress;
    Done done;

    // Lets go of the network request and the temporary file; never calls back.
    void release(QObject* owner) {
        if (reply) {
            reply->disconnect(owner);
            if (!reply->isFinished())
                reply->abort();
            reply->deleteLater();
            reply = nullptr;
        }
        if (target) {
            target->cancelWriting();
            target.reset(); // QSaveFile removes its temporary file unless it was committed
        }
    }
};

BlobClient::BlobClient(QObject* parent)
    : QObject(parent)
    , m_network(new QNetworkAccessManager(this)) {}

BlobClient::~BlobClient() {
    for (auto& [id, transfer] : m_transfers)
        transfer->release(this);
    m_transfers.clear();
}

QUrl BlobClient::blob_url(const std::string& relay_url, const std::string& blob_id) {
    if (!valid_blob_id(blob_id))
        return {};
    QUrl relay(QString::fromStdString(relay_url), QUrl::StrictMode);
    if (!relay.isValid() || relay.host().isEmpty())
        return {};
    QString scheme = relay.scheme().toLower();
    QUrl out;
    if (scheme == QLatin1String("ws"))
        out.setScheme(QStringLiteral("http"));
    else if (scheme == QLatin1String("wss"))
        out.setScheme(QStringLiteral("https"));
    else
        return {};
    out.setHost(relay.host());
    out.setPort(relay.port());
    out.setPath(QStringLiteral("/v1/blobs/") + QString::fromStdString(blob_id));
    return out;
}

std::uint64_t BlobClient::start(std::unique_ptr<Transfer> transfer) {
    std::uint64_t id = m_next_id++;
    m_transfers.emplace(id, std::move(transfer));
    return id;
}

void BlobClient::fail_later(std::uint64_t id, Errc code, std::string message) {
    // Queued, so that Done never runs inside the call that started the transfer, and is
    // dropped if the transfer is cancelled first.
    QMetaObject::invokeMethod(
        this, [this, id, error = make_error(code, std::move(message))] { finish(id, error); },
        Qt::QueuedConnection);
}

std::uint64_t BlobClient::upload(const std::string& relay_url, const std::string& blob_id,
                                 const std::string& token, const std::filesystem::path& file,
                                 Progress progress, Done done) {
    auto transfer = std::make_unique<Transfer>();
    transfer->progress = std::move(progress);
    transfer->done = std::move(done);
    Transfer& t = *transfer;
    std::uint64_t id = start(std::move(transfer));

    QUrl url = blob_url(relay_url, blob_id);
    if (url.isEmpty()) {
        fail_later(id, Errc::invalid_argument, "not a relay URL and blob id Veil can upload to");
        return id;
    }
    if (!valid_token(token)) {
        fail_later(id, Errc::invalid_argument, "the upload ticket's token is malformed");
        return id;
    }
    auto body = std::make_unique<QFile>(qt_path(file));
    if (!body->open(QIODevice::ReadOnly)) {
        fail_later(id, Errc::io,
                   "cannot read the file to upload: " + body->errorString().toStdString());
        return id;
    }
    t.known_total = static_cast<std::uint64_t>(body->size());

    QNetworkRequest request(url);
    request.setHeader(QNetworkRequest::ContentTypeHeader,
                      QByteArrayLiteral("application/octet-stream"));
    request.setHeader(QNetworkRequest::ContentLengthHeader, body->size());
    request.setRawHeader("Authorization", "Veil " + QByteArray::fromStdString(token));
    request.setAttribute(QNetworkRequest::RedirectPolicyAttribute,
                         QNetworkRequest::ManualRedirectPolicy);
    request.setTransferTimeout(m_idle_timeout_ms);
    if (auto pin = relay_pin(relay_url))
        t.pin = *pin;
    t.reply = m_network->put(request, body.get());
    body.release()->setParent(t.reply); // the body must live as long as the reply reads it
    watch(id, t.reply, false);
    return id;
}

std::uint64_t BlobClient::download(const std::string& relay_url, const std::string& blob_id,
                                   const std::filesystem::path& file, std::uint64_t max_bytes,
                                   Progress progress, Done done) {
    auto transfer = std::make_unique<Transfer>();
    transfer->downloading = true;
    transfer->max_bytes = max_bytes;
    transfer->progress = std::move(progress);
    transfer->done = std::move(done);
    Transfer& t = *transfer;
    std::uint64_t id = start(std::move(transfer));

    QUrl url = blob_url(relay_url, blob_id);
    if (url.isEmpty()) {
        fail_later(id, Errc::invalid_argument, "not a relay URL and blob id Veil can fetch");
        return id;
    }
    // QSaveFile writes to a temporary file in the target's folder and renames it on commit.
    t.target = std::make_unique<QSaveFile>(qt_path(file));
    if (!t.target->open(QIODevice::WriteOnly)) {
        fail_later(id, Errc::io,
                   "cannot create the file to download into: " +
                       t.target->errorString().toStdString());
        t.target.reset();
        return id;
    }

    QNetworkRequest request(url);
    // Asking for the bytes as stored also stops Qt from inflating a compressed body behind
    // the size limit's back.
    request.setRawHeader("Accept-Encoding", "identity");
    request.setAttribute(QNetworkRequest::RedirectPolicyAttribute,
                         QNetworkRequest::ManualRedirectPolicy);
    request.setTransferTimeout(m_idle_timeout_ms);
    if (auto pin = relay_pin(relay_url))
        t.pin = *pin;
    t.reply = m_network->get(request);
    t.reply->setReadBufferSize(kReadBufferBytes);
    watch(id, t.reply, true);
    return id;
}

void BlobClient::cancel(std::uint64_t id) {
    auto it = m_transfers.find(id);
    if (it == m_transfers.end())
        return;
    auto transfer = std::move(it->second);
    m_transfers.erase(it);
    transfer->release(this);
}

void BlobClient::watch(std::uint64_t id, QNetworkReply* reply, bool downloading) {
    // A download reports its own progress from readyRead (report_download).
    if (!downloading)
        connect(reply, &QNetworkReply::uploadProgress, this,
                [this, id](qint64 done, qint64 total) { on_progress(id, done, total); });
    connect(reply, &QNetworkReply::metaDataChanged, this, [this, id] { on_meta_data(id); });
    connect(reply, &QNetworkReply::readyRead, this, [this, id] { on_ready_read(id); });
    connect(reply, &QNetworkReply::finished, this, [this, id] { on_finished(id); });
    // As WsTransport: Qt's objections are ignored only for the pinned certificate.
    connect(reply, &QNetworkReply::sslErrors, this, [this, id](const QList<QSslError>& errors) {
        auto it = m_transfers.find(id);
        if (it == m_transfers.end())
            return;
        it->second->tls_error = pinned_tls_refusal(errors, it->second->pin);
        if (it->second->tls_error.empty())
            it->second->reply->ignoreSslErrors();
    });
    if (reply->isFinished()) // Qt should never finish inside put()/get(), but if it did
        QMetaObject::invokeMethod(
            this, [this, id] { on_finished(id); }, Qt::QueuedConnection);
}

void BlobClient::on_progress(std::uint64_t id, qint64 done, qint64 total) {
    auto it = m_transfers.find(id);
    if (it == m_transfers.end() || !it->second->progress)
        return;
    Transfer& t = *it->second;
    if (done < 0 || static_cast<std::uint64_t>(done) < t.reported)
        return; // Qt may report (0, 0) once an upload is through; progress never goes back
    t.reported = static_cast<std::uint64_t>(done);
    std::uint64_t known = total > 0 ? static_cast<std::uint64_t>(total) : t.known_total;
    // A copy: the callback may cancel this transfer, which destroys the original.
    Progress progress = t.progress;
    progress(t.reported, known);
}

void BlobClient::report_download(std::uint64_t id, bool final) {
    auto it = m_transfers.find(id);
    if (it == m_transfers.end() || !it->second->progress)
        return;
    Transfer& t = *it->second;
    auto status = http_status(t.reply);
    if (!status || *status < 200 || *status >= 300)
        return; // an error page is no progress
    if (t.received == t.reported && t.since_report.isValid())
        return;
    if (!final && t.since_report.isValid() && t.since_report.elapsed() < kProgressIntervalMs)
        return;
    t.since_report.start();
    t.reported = t.received;
    // A copy: the callback may cancel this transfer, which destroys the original.
    Progress progress = t.progress;
    progress(t.reported, content_length(t.reply).value_or(0));
}

void BlobClient::on_meta_data(std::uint64_t id) {
    auto it = m_transfers.find(id);
    if (it == m_transfers.end() || !it->second->downloading)
        return;
    Transfer& t = *it->second;
    auto status = http_status(t.reply);
    auto length = content_length(t.reply);
    if (status && *status >= 200 && *status < 300 && length && *length > t.max_bytes)
        finish(id, make_error(Errc::too_large, "the relay announced a blob above the limit"));
}

void BlobClient::on_ready_read(std::uint64_t id) {
    auto it = m_transfers.find(id);
    if (it == m_transfers.end() || !it->second->downloading)
        return;
    Transfer& t = *it->second;
    auto status = http_status(t.reply);
    bool body_is_blob = status && *status >= 200 && *status < 300;
    while (t.reply->bytesAvailable() > 0) {
        QByteArray chunk = t.reply->read(kReadChunkBytes);
        if (!body_is_blob)
            continue; // an error page: read and dropped, never written
        t.received += static_cast<std::uint64_t>(chunk.size());
        if (t.received > t.max_bytes)
            return finish(id, make_error(Errc::too_large, "the relay sent more than the limit"));
        if (t.target->write(chunk) != chunk.size())
            return finish(id, make_error(Errc::io, "cannot write the downloaded blob: " +
                                                       t.target->errorString().toStdString()));
    }
    if (body_is_blob)
        report_download(id, false);
}

void BlobClient::on_finished(std::uint64_t id) {
    auto it = m_transfers.find(id);
    if (it == m_transfers.end())
        return;
    if (it->second->downloading) {
        on_ready_read(id); // whatever arrived with the end of the body
        report_download(id, true);
        it = m_transfers.find(id); // either may have ended or cancelled the transfer
        if (it == m_transfers.end())
            return;
    }
    finish(id, outcome(*it->second));
}

Status BlobClient::outcome(Transfer& t) {
    QNetworkReply* reply = t.reply;
    auto status = http_status(reply);
    if (status && (*status < 200 || *status >= 300))
        return status_error(*status, t.downloading);
    if (!t.tls_error.empty())
        return make_error(Errc::disconnected, t.tls_error);
    if (reply->error() == QNetworkReply::OperationCanceledError)
        // Only the transfer timeout aborts a reply that is still watched.
        return make_error(Errc::timeout, "no data moved for too long");
    if (reply->error() != QNetworkReply::NoError || !status)
        return make_error(Errc::disconnected, "the connection to the relay failed: " +
                                                  reply->errorString().toStdString());
    if (!t.downloading)
        return {};

    auto length = content_length(reply);
    if (length && *length != t.received)
        return make_error(Errc::disconnected, "the blob arrived incomplete");
    if (!t.target->commit()) {
        std::string why = t.target->errorString().toStdString();
        t.target.reset();
        return make_error(Errc::io, "cannot store the downloaded blob: " + why);
    }
    t.target.reset();
    return {};
}

void BlobClient::finish(std::uint64_t id, Status status) {
    auto it = m_transfers.find(id);
    if (it == m_transfers.end())
        return;
    auto transfer = std::move(it->second);
    m_transfers.erase(it);
    transfer->release(this);
    if (transfer->done)
        transfer->done(std::move(status));
}

} // namespace veil::qt
