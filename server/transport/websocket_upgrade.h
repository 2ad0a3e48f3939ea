// WebSocketUpgrade: answers GET /v1/ws. A valid RFC 6455 upgrade request gets the 101 response;
// the socket is then detached from Poco and a duplicate of it handed to the ReactorPool, so
// the HTTP thread returns at once and no thread is held per connection. Anything else gets
// 400 with a short sentence.
//
// Called on Poco's HTTP threads.
#pragma once

#include "transport/reactor_pool.h"
#include "transport/upgrade_deadlines.h"

#include <Poco/Net/HTTPRequestHandler.h>

#include <string>

namespace Poco::Net {
class HTTPServerRequest;
}

namespace veil::relay::transport {

// Why the request is not a valid WebSocket upgrade, or an empty string if it is.
std::string upgrade_problem(const Poco::Net::HTTPServerRequest& request);

class WebSocketUpgrade final : public Poco::Net::HTTPRequestHandler {
public:
    // pool and deadlines must outlive the handler.
    WebSocketUpgrade(ReactorPool& pool, UpgradeDeadlines& deadlines)
        : m_pool(pool)
        , m_deadlines(deadlines) {}

    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override;

private:
    ReactorPool& m_pool;
    UpgradeDeadlines& m_deadlines;
};

} // namespace veil::relay::transport
