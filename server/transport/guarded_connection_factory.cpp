#include "transport/guarded_connection_factory.h"

#include "util/log.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPServerConnection.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/TCPServerConnection.h>

#include <string>

namespace veil::relay::transport {
namespace {

class GuardedConnection final : public Poco::Net::TCPServerConnection {
public:
    GuardedConnection(const Poco::Net::StreamSocket& socket,
                      Poco::Net::HTTPServerParams::Ptr params,
                      Poco::Net::HTTPRequestHandlerFactory::Ptr handlers,
                      UpgradeDeadlines& deadlines)
        : TCPServerConnection(socket)
        , m_params(std::move(params))
        , m_handlers(std::move(handlers))
        , m_deadlines(deadlines) {}

    void run() override {
        // This object keeps the socket open until it is destroyed, after the disarm below, so
        // the watchdog never shuts down a reused fd number.
        const int fd = socket().impl()->sockfd();
        m_deadlines.arm(fd);
        Poco::Net::HTTPServerConnection http(socket(), m_params, m_handlers);
        try {
            http.run();
        } catch (const Poco::Exception& e) {
            // A reset, a timeout or the watchdog's shutdown: the client is gone.
            log::debug("net", "HTTP connection ended: " + e.displayText());
        } catch (const std::exception& e) {
            log::warn("net", std::string("HTTP connection failed: ") + e.what());
        }
        m_deadlines.disarm(fd);
    }

private:
    Poco::Net::HTTPServerParams::Ptr m_params;
    Poco::Net::HTTPRequestHandlerFactory::Ptr m_handlers;
    UpgradeDeadlines& m_deadlines;
};

} // namespace

Poco::Net::TCPServerConnection*
GuardedConnectionFactory::createConnection(const Poco::Net::StreamSocket& socket) {
    return new GuardedConnection(socket, m_params, m_handlers, m_deadlines);
}

} // namespace veil::relay::transport
