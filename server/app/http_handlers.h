// The relay's HTTP surface: GET /healthz answers "ok"; /v1/ws upgrades to a WebSocket that
// carries the wire protocol; anything else is 404. The factory is called on Poco's threads.
#pragma once

#include "core/relay_service.h"

#include <Poco/Net/HTTPRequestHandlerFactory.h>

#include <atomic>
#include <cstdint>

namespace veil::relay {

class ConnectionRegistry;

class RelayHandlerFactory final : public Poco::Net::HTTPRequestHandlerFactory {
public:
    // service and registry must outlive every handler (the server is stopped and its threads
    // joined before they are destroyed).
    RelayHandlerFactory(RelayService& service, ConnectionRegistry& registry)
        : m_service(service)
        , m_registry(registry) {}

    Poco::Net::HTTPRequestHandler*
    createRequestHandler(const Poco::Net::HTTPServerRequest& request) override;

private:
    RelayService& m_service;
    ConnectionRegistry& m_registry;
    std::atomic<std::uint64_t> m_next_connection_id{1};
};

} // namespace veil::relay
