// WsTransport: engine::Transport on QtWebSockets and QTimer. Lives on the thread whose Qt
// event loop drives it; every listener callback arrives there. A wss:// URL may carry a
// certificate pin (#sha256:HEX, relay_pin.h); a refused certificate is the disconnect reason.
#pragma once

#include "engine/transport.h"

#include <QObject>
#include <QTimer>
#include <QWebSocket>

#include <map>

namespace veil::qt {

class WsTransport final : public QObject, public engine::Transport {
    Q_OBJECT
public:
    explicit WsTransport(QObject* parent = nullptr);
    ~WsTransport() override;

    void set_listener(engine::TransportListener* listener) override { m_listener = listener; }
    void connect(const std::string& url) override;
    void send(Bytes frame) override;
    void close() override;
    bool connected() const override { return m_connected; }
    std::uint64_t start_timer(std::uint32_t delay_ms, std::function<void()> fn) override;
    void cancel_timer(std::uint64_t id) override;

private:
    void on_ws_connected();
    void on_ws_disconnected();
    void on_ws_binary(const QByteArray& message);
    void on_ws_error(QAbstractSocket::SocketError error);
    void on_ssl_errors(const QList<QSslError>& errors);

    QWebSocket* m_socket = nullptr;
    engine::TransportListener* m_listener = nullptr;
    bool m_connected = false;
    bool m_reported_down = true;
    QByteArray m_pin;        // the URL's certificate pin, empty for none
    std::string m_tls_error; // why the relay's certificate was refused, for the disconnect
    std::uint64_t m_next_timer = 1;
    std::map<std::uint64_t, QTimer*> m_timers;
};

} // namespace veil::qt
