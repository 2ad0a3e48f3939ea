#include "qt/relay_pin.h"

#include <QCryptographicHash>
#include <QSslCertificate>

namespace veil::qt {
namespace {

constexpr std::string_view kPrefix = "sha256:";

const char* const kHowToPin = "if the relay uses a self-signed certificate, add its fingerprint "
                              "(veil-relay tls fingerprint prints it) to the relay address: "
                              "wss://HOST:PORT#sha256:HEX";

} // namespace

Result<QByteArray> relay_pin(const std::string& relay_url) {
    auto hash = relay_url.find('#');
    if (hash == std::string::npos)
        return QByteArray();
    std::string fragment = relay_url.substr(hash + 1);
    auto bad = [&](const std::string& why) {
        return make_error(Errc::invalid_argument,
                          "the relay address's pin '#" + fragment + "' " + why);
    };
    if (relay_url.rfind("wss://", 0) != 0)
        return bad("needs a wss:// address: a pin checks a TLS certificate");
    if (fragment.rfind(kPrefix, 0) != 0)
        return bad("must start with sha256:");
    QByteArray hex;
    for (char c : fragment.substr(kPrefix.size()))
        if (c != ':')
            hex += c;
    QByteArray digest = QByteArray::fromHex(hex);
    if (hex.size() != 64 || digest.size() != 32 || digest.toHex() != hex.toLower())
        return bad("must be sha256: followed by 64 hex digits");
    return digest;
}

QUrl relay_connect_url(const std::string& relay_url) {
    return QUrl(QString::fromStdString(relay_url)).adjusted(QUrl::RemoveFragment);
}

std::string pin_text(const QByteArray& sha256) {
    return std::string(kPrefix) + sha256.toHex().toStdString();
}

std::string pinned_tls_refusal(const QList<QSslError>& errors, const QByteArray& pin) {
    QString reasons;
    for (const QSslError& e : errors)
        reasons += (reasons.isEmpty() ? QString() : QStringLiteral("; ")) + e.errorString();
    if (pin.isEmpty())
        return "the relay's TLS certificate is not trusted (" + reasons.toStdString() + "); " +
               kHowToPin;
    QByteArray seen;
    for (const QSslError& e : errors) {
        if (e.certificate().isNull())
            return "the relay's TLS connection failed (" + reasons.toStdString() + ")";
        QByteArray digest = e.certificate().digest(QCryptographicHash::Sha256);
        if (digest != pin) {
            seen = digest;
            break;
        }
    }
    if (errors.isEmpty() || !seen.isEmpty())
        return "the relay's TLS certificate is " +
               (seen.isEmpty() ? std::string("unknown") : pin_text(seen)) + ", not the pinned " +
               pin_text(pin) +
               "; refusing to connect (if the relay's operator made a new certificate, ask them "
               "for its fingerprint)";
    return {};
}

} // namespace veil::qt
