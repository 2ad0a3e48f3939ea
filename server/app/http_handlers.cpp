#include "http_handlers.h"

#include "connection_registry.h"
#include "ws_connection.h"

#include "util/log.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/WebSocket.h>
#include <Poco/String.h>

#include <memory>

namespace veil::relay {
namespace {

using Poco::Net::HTTPRequestHandler;
using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

void reply(HTTPServerResponse& response, HTTPResponse::HTTPStatus status, const std::string& body) {
    response.setStatusAndReason(status);
    response.setContentType("text/plain; charset=utf-8");
    response.setContentLength(static_cast<std::streamsize>(body.size()));
    response.send() << body;
}

class HealthHandler final : public HTTPRequestHandler {
public:
    void handleRequest(HTTPServerRequest&, HTTPServerResponse& response) override {
        reply(response, HTTPResponse::HTTP_OK, "ok");
    }
};

class NotFoundHandler final : public HTTPRequestHandler {
public:
    void handleRequest(HTTPServerRequest&, HTTPServerResponse& response) override {
        reply(response, HTTPResponse::HTTP_NOT_FOUND, "not found\n");
    }
};

class WebSocketHandler final : public HTTPRequestHandler {
public:
    WebSocketHandler(RelayService& service, ConnectionRegistry& registry, std::uint64_t id)
        : m_service(service)
        , m_registry(registry)
        , m_id(id) {}

    void handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) override {
        std::shared_ptr<WsConnection> connection;
        try {
            Poco::Net::WebSocket socket(request, response);
            connection =
                std::make_shared<WsConnection>(std::move(socket), m_id, m_service, m_registry);
        } catch (const Poco::Net::WebSocketException& e) {
            log::debug("relay", "WebSocket handshake refused: " + e.displayText());
            if (!response.sent())
                reply(response, HTTPResponse::HTTP_BAD_REQUEST, "bad WebSocket handshake\n");
            return;
        }
        connection->run();
    }

private:
    RelayService& m_service;
    ConnectionRegistry& m_registry;
    std::uint64_t m_id;
};

bool is_upgrade(const HTTPServerRequest& request) {
    return Poco::icompare(request.get("Upgrade", ""), "websocket") == 0;
}

} // namespace

HTTPRequestHandler* RelayHandlerFactory::createRequestHandler(const HTTPServerRequest& request) {
    const std::string& uri = request.getURI();
    if (uri == "/healthz" && request.getMethod() == Poco::Net::HTTPRequest::HTTP_GET)
        return new HealthHandler;
    if (uri == "/v1/ws" && is_upgrade(request))
        return new WebSocketHandler(m_service, m_registry, m_next_connection_id++);
    return new NotFoundHandler;
}

} // namespace veil::relay
