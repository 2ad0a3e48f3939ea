#include "http_handlers.h"

#include "transport/websocket_upgrade.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

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

} // namespace

HTTPRequestHandler* RelayHandlerFactory::createRequestHandler(const HTTPServerRequest& request) {
    const std::string& uri = request.getURI();
    if (uri == "/healthz" && request.getMethod() == Poco::Net::HTTPRequest::HTTP_GET)
        return new HealthHandler;
    if (uri == "/v1/ws")
        return new transport::WebSocketUpgrade(m_pool, m_deadlines);
    return new NotFoundHandler;
}

} // namespace veil::relay
