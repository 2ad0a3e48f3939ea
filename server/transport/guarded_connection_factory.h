// GuardedConnectionFactory: Poco's HTTP connection, with the whole request under an
// UpgradeDeadlines watchdog. Used with Poco::Net::TCPServer in place of HTTPServer, whose
// per-read timeout alone lets a slow client hold a thread indefinitely.
#pragma once

#include "transport/upgrade_deadlines.h"

#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/TCPServerConnectionFactory.h>

namespace veil::relay::transport {

class GuardedConnectionFactory final : public Poco::Net::TCPServerConnectionFactory {
public:
    // deadlines must outlive every connection (the server's threads are joined first).
    GuardedConnectionFactory(Poco::Net::HTTPServerParams::Ptr params,
                             Poco::Net::HTTPRequestHandlerFactory::Ptr handlers,
                             UpgradeDeadlines& deadlines)
        : m_params(std::move(params))
        , m_handlers(std::move(handlers))
        , m_deadlines(deadlines) {}

    Poco::Net::TCPServerConnection*
    createConnection(const Poco::Net::StreamSocket& socket) override;

private:
    Poco::Net::HTTPServerParams::Ptr m_params;
    Poco::Net::HTTPRequestHandlerFactory::Ptr m_handlers;
    UpgradeDeadlines& m_deadlines;
};

} // namespace veil::relay::transport
