#include "qt/ws_transport.h"

#include "qt/relay_pin.h"

#include <QTimer>
#include <QUrl>

namespace veil::qt {

WsTransport::WsTransport(QObject* parent)
    : QObject(parent) {}

WsTransport::~WsTransport() {
    m_listener = nullptr;
    for (auto& [id, timer] : m_timers)
        delete timer;
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
        delete m_socket;
    }
}

void WsTransport::connect(const std::string& url) {
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
        m_socket->deleteLater();
    }
    m_connected = false;
    m_reported_down = false;
    m_tls_error.clear();
    auto pin = relay_pin(url);
    m_pin = pin ? *pin : QByteArray();
    m_socket = new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, this);
    m_socket->setMaxAllowedIncomingMessageSize(256 * 1024);
    QObject::connect(m_socket, &QWebSocket::connected, this, &WsTransport::on_ws_connected);
    QObject::connect(m_socket, &QWebSocket::disconnected, this, &WsTransport::on_ws_disconnected);
    QObject::connect(m_socket, &QWebSocket::binaryMessageReceived, this,
                     &WsTransport::on_ws_binary);
    // Qt 6.4 has no errorOccurred; the overloaded error signal is the one to use (TOOLCHAIN.md).
    QObject::connect(m_socket, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this,
                     &WsTransport::on_ws_error);
    QObject::connect(m_socket, &QWebSocket::sslErrors, this, &WsTransport::on_ssl_errors);
    QUrl qurl = relay_connect_url(url);
    if (qurl.path().isEmpty() || qurl.path() == QLatin1String("/"))
        qurl.setPath(QStringLiteral("/v1/ws"));
    m_socket->open(qurl);
}

void WsTransport::send(Bytes frame) {
    if (!m_socket || !m_connected)
        return;
    m_socket->sendBinaryMessage(QByteArray(reinterpret_cast<const char*>(frame.data()),
                                           static_cast<qsizetype>(frame.size())));
}

void WsTransport::close() {
    if (!m_socket)
        return;
    bool was_up = !m_reported_down;
    m_socket->disconnect(this);
    m_socket->abort();
    m_socket->deleteLater();
    m_socket = nullptr;
    m_connected = false;
    m_reported_down = true;
    if (was_up && m_listener)
        m_listener->on_disconnected("closed");
}

std::uint64_t WsTransport::start_timer(std::uint32_t delay_ms, std::function<void()> fn) {
    std::uint64_t id = m_next_timer++;
    auto* timer = new QTimer(this);
    timer->setSingleShot(true);
    QObject::connect(timer, &QTimer::timeout, this, [this, id, fn = std::move(fn)] {
        auto it = m_timers.find(id);
        if (it != m_timers.end()) {
            it->second->deleteLater();
            m_timers.erase(it);
        }
        fn();
    });
    m_timers.emplace(id, timer);
    timer->start(static_cast<int>(delay_ms));
    return id;
}

void WsTransport::cancel_timer(std::uint64_t id) {
    auto it = m_timers.find(id);
    if (it == m_timers.end())
        return;
    it->second->stop();
    it->second->deleteLater();
    m_timers.erase(it);
}

void WsTransport::on_ws_connected() {
    m_connected = true;
    if (m_listener)
        m_listener->on_connected();
}

void WsTransport::on_ws_disconnected() {
    m_connected = false;
    if (m_reported_down)
        return;
    m_reported_down = true;
    QString reason = m_socket ? m_socket->closeReason() : QString();
    if (!m_tls_error.empty())
        reason = QString::fromStdString(m_tls_error);
    if (reason.isEmpty() && m_socket)
        reason = m_socket->errorString();
    if (m_listener)
        m_listener->on_disconnected(reason.isEmpty() ? std::string("connection closed")
                                                     : reason.toStdString());
}

void WsTransport::on_ws_binary(const QByteArray& message) {
    if (m_listener)
        m_listener->on_frame(std::span<const std::uint8_t>(
            reinterpret_cast<const std::uint8_t*>(message.constData()),
            static_cast<std::size_t>(message.size())));
}

void WsTransport::on_ssl_errors(const QList<QSslError>& errors) {
    m_tls_error = pinned_tls_refusal(errors, m_pin);
    // Ignored only when every certificate Qt objected to is the pinned one; otherwise Qt
    // aborts the handshake and the refusal above is the reason reported.
    if (m_tls_error.empty() && m_socket)
        m_socket->ignoreSslErrors();
}

void WsTransport::on_ws_error(QAbstractSocket::SocketError) {
    // A failed connect may report only an error, without disconnected.
    if (m_socket && m_socket->state() == QAbstractSocket::UnconnectedState)
        on_ws_disconnected();
}

} // namespace veil::qt
