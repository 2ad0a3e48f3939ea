// ConnectionRegistry: the Router of the running relay. It knows every open WebSocket connection
// (to close them all at shutdown) and which of them are authenticated as which device (to push
// deliveries). Thread-safe; it never calls a connection while holding its own lock.
#pragma once

#include "core/relay_service.h"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

namespace veil::relay {

class WsConnection;

class ConnectionRegistry final : public Router {
public:
    void add(const std::shared_ptr<WsConnection>& connection);
    void remove(std::uint64_t connection_id);

    void attach(const Session& session) override;
    void detach(const Session& session) override;
    void push(const std::string& username, std::uint32_t device_id,
              const wire::Envelope& deliver) override;

    // Sends every connection a going-away close and stops its reader.
    void close_all();
    std::size_t size() const;

private:
    using DeviceKey = std::pair<std::string, std::uint32_t>;

    mutable std::mutex m_mutex;
    std::unordered_map<std::uint64_t, std::weak_ptr<WsConnection>> m_connections;
    std::map<DeviceKey, std::set<std::uint64_t>> m_online;
};

} // namespace veil::relay
