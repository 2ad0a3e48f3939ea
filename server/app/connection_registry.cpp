#include "connection_registry.h"

#include "ws_connection.h"

#include <vector>

namespace veil::relay {

void ConnectionRegistry::add(const std::shared_ptr<WsConnection>& connection) {
    std::lock_guard lock(m_mutex);
    m_connections[connection->id()] = connection;
}

void ConnectionRegistry::remove(std::uint64_t connection_id) {
    std::lock_guard lock(m_mutex);
    m_connections.erase(connection_id);
}

void ConnectionRegistry::attach(const Session& session) {
    std::lock_guard lock(m_mutex);
    m_online[{session.username, session.device_id}].insert(session.connection_id);
}

void ConnectionRegistry::detach(const Session& session) {
    std::lock_guard lock(m_mutex);
    auto it = m_online.find({session.username, session.device_id});
    if (it == m_online.end())
        return;
    it->second.erase(session.connection_id);
    if (it->second.empty())
        m_online.erase(it);
}

void ConnectionRegistry::push(const std::string& username, std::uint32_t device_id,
                              const wire::Envelope& deliver) {
    std::vector<std::shared_ptr<WsConnection>> targets;
    {
        std::lock_guard lock(m_mutex);
        auto it = m_online.find({username, device_id});
        if (it == m_online.end())
            return;
        for (std::uint64_t id : it->second) {
            auto found = m_connections.find(id);
            if (found == m_connections.end())
                continue;
            if (auto connection = found->second.lock())
                targets.push_back(std::move(connection));
        }
    }
    for (const auto& connection : targets)
        connection->push(deliver);
}

void ConnectionRegistry::close_all() {
    std::vector<std::shared_ptr<WsConnection>> all;
    {
        std::lock_guard lock(m_mutex);
        for (const auto& [id, weak] : m_connections)
            if (auto connection = weak.lock())
                all.push_back(std::move(connection));
    }
    for (const auto& connection : all)
        connection->close_going_away();
}

std::size_t ConnectionRegistry::size() const {
    std::lock_guard lock(m_mutex);
    return m_connections.size();
}

} // namespace veil::relay
