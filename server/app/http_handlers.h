// The relay's HTTP surface: GET /healthz answers "ok"; /v1/ws upgrades to a WebSocket that the
// reactors carry from then on (transport/websocket_upgrade.h); anything else is 404. The
// factory is called on Poco's threads.
#pragma once

#include <Poco/Net/HTTPRequestHandlerFactory.h>

namespace veil::relay {

namespace transport {
class ReactorPool;
class UpgradeDeadlines;
} // namespace transport

class RelayHandlerFactory final : public Poco::Net::HTTPRequestHandlerFactory {
public:
    // pool and deadlines must outlive every handler (the HTTP server is stopped and its threads
    // joined before they are destroyed).
    RelayHandlerFactory(transport::ReactorPool& pool, transport::UpgradeDeadlines& deadlines)
        : m_pool(pool)
        , m_deadlines(deadlines) {}

    Poco::Net::HTTPRequestHandler*
    createRequestHandler(const Poco::Net::HTTPServerRequest& request) override;

private:
    transport::ReactorPool& m_pool;
    transport::UpgradeDeadlines& m_deadlines;
};

} // namespace veil::relay
