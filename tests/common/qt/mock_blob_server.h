// A tiny HTTP/1.1 server on 127.0.0.1 for the BlobClient tests: it parses one request per
// connection, records it, and answers however the test says. It stands in for the relay's blob
// endpoint (veil.proto, "Attachments"); every answer closes the connection.
#pragma once

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QHostAddress>
#include <QTcpServer>
#include <QTcpSocket>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace veil::qt::test {

inline QCoreApplication& app() {
    static int argc = 1;
    static char name[] = "qt_tests";
    static char* argv[] = {name, nullptr};
    // Never destroyed: Qt's own globals go first at exit.
    static QCoreApplication* instance = new QCoreApplication(argc, argv);
    return *instance;
}

// Runs the event loop until done() or timeout_ms; returns done().
inline bool wait_until(const std::function<bool()>& done, int timeout_ms = 10000) {
    QElapsedTimer timer;
    timer.start();
    while (!done() && timer.elapsed() < timeout_ms)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
    return done();
}

// Runs the event loop for ms whatever happens.
inline void spin(int ms) {
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < ms)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
}

struct HttpRequest {
    QByteArray method;
    QByteArray path;
    std::map<QByteArray, QByteArray> headers; // names in lower case
    QByteArray body;
    bool complete = false; // the whole body (by Content-Length) arrived

    QByteArray header(const QByteArray& name) const {
        auto it = headers.find(name.toLower());
        return it == headers.end() ? QByteArray() : it->second;
    }
};

class MockBlobServer {
public:
    // Called with the connection once the request is in (or, with answer_after_headers, as
    // soon as its headers are); the handler writes an answer.
    using Handler = std::function<void(QTcpSocket*, const HttpRequest&)>;

    MockBlobServer() {
        app();
        REQUIRE(m_server.listen(QHostAddress::LocalHost, 0));
        QObject::connect(&m_server, &QTcpServer::newConnection, [this] { accept(); });
    }

    ~MockBlobServer() {
        // A socket destroyed with the server may still signal; nothing here may hear it.
        for (QTcpSocket* socket : m_server.findChildren<QTcpSocket*>())
            socket->disconnect();
    }
    MockBlobServer(const MockBlobServer&) = delete;
    MockBlobServer& operator=(const MockBlobServer&) = delete;

    void on_request(Handler handler) { m_handler = std::move(handler); }
    void answer_after_headers(bool early) { m_early = early; }

    std::string relay_url() const {
        return "ws://127.0.0.1:" + std::to_string(m_server.serverPort()) + "/v1/ws";
    }
    const std::vector<HttpRequest>& requests() const { return m_requests; }

    // A whole answer; the connection is closed once it is written, or, when the answer comes
    // before the request's body is in, once the rest of the body has been read (closing with
    // unread bytes would reset the connection before the client reads the answer).
    void answer(QTcpSocket* socket, int status, const QByteArray& body,
                const char* reason = "Whatever") {
        head(socket, status, body.size(), reason);
        socket->write(body);
        Connection& c = m_connections[socket];
        if (c.request.body.size() >= c.length)
            socket->disconnectFromHost();
        else
            c.close_after_body = true;
    }

    // The status line and headers only; length < 0 leaves Content-Length out (the body then
    // ends when the connection closes).
    static void head(QTcpSocket* socket, int status, qint64 length,
                     const char* reason = "Whatever") {
        QByteArray text = "HTTP/1.1 " + QByteArray::number(status) + " " + reason + "\r\n";
        text += "Content-Type: application/octet-stream\r\nConnection: close\r\n";
        if (length >= 0)
            text += "Content-Length: " + QByteArray::number(length) + "\r\n";
        socket->write(text + "\r\n");
    }

private:
    struct Connection {
        QByteArray buffer;
        HttpRequest request;
        bool have_head = false;
        bool answered = false;
        bool close_after_body = false;
        qint64 length = 0;
    };

    void accept() {
        while (QTcpSocket* socket = m_server.nextPendingConnection()) {
            QObject::connect(socket, &QTcpSocket::readyRead, [this, socket] { read(socket); });
            QObject::connect(socket, &QTcpSocket::disconnected, [this, socket] {
                m_connections.erase(socket);
                socket->deleteLater();
            });
        }
    }

    void read(QTcpSocket* socket) {
        Connection& c = m_connections[socket];
        c.buffer += socket->readAll();
        if (!c.have_head && !parse_head(c))
            return;
        c.request.body += c.buffer;
        c.buffer.clear();
        bool body_done = c.request.body.size() >= c.length;
        if (c.answered) {
            if (body_done && c.close_after_body) {
                c.close_after_body = false;
                socket->disconnectFromHost();
            }
            return;
        }
        if (!(body_done || m_early))
            return;
        c.request.complete = body_done;
        c.answered = true;
        m_requests.push_back(c.request);
        if (m_handler)
            m_handler(socket, c.request);
    }

    static bool parse_head(Connection& c) {
        int end = c.buffer.indexOf("\r\n\r\n");
        if (end < 0)
            return false;
        QList<QByteArray> lines = c.buffer.left(end).split('\n');
        QList<QByteArray> first = lines.value(0).trimmed().split(' ');
        c.request.method = first.value(0);
        c.request.path = first.value(1);
        for (int i = 1; i < lines.size(); ++i) {
            int colon = lines[i].indexOf(':');
            if (colon > 0)
                c.request.headers[lines[i].left(colon).trimmed().toLower()] =
                    lines[i].mid(colon + 1).trimmed();
        }
        c.length = c.request.header("content-length").toLongLong();
        c.buffer.remove(0, end + 4);
        c.have_head = true;
        return true;
    }

    QTcpServer m_server;
    Handler m_handler;
    bool m_early = false;
    std::map<QTcpSocket*, Connection> m_connections;
    std::vector<HttpRequest> m_requests;
};

} // namespace veil::qt::test
