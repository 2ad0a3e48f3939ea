// ReactorPool: the relay's WebSocket transport from the accepted socket on (TLS handshake, HTTP
// upgrade, frames), and the Router the RelayService pushes through. It runs one Reactor per
// core; accepted sockets are spread over them round robin, and a connection's id names its reactor
// (id % reactor count), so a push needs no lookup beyond the device's online connection ids.
//
// Thread-safety: every public method may be called from any thread. attach/detach/push are
// called by the service on reactor threads; push never blocks on the network (it posts to the
// owning reactors' inboxes).
#pragma once

#include "transport/reactor.h"
#include "transport/transport_options.h"

#include "core/relay_service.h"

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace veil::relay::transport {

class ReactorPool final : public Router {
public:
    // service must outlive the pool. Starts the reactor threads.
    ReactorPool(RelayService& service, TransportOptions options);
    ~ReactorPool() override; // stop()s
    ReactorPool(const ReactorPool&) = delete;
    ReactorPool& operator=(const ReactorPool&) = delete;

    // Takes ownership of fd, a freshly accepted socket (made non-blocking here), and of tls, its
    // server session if the listener is TLS: the connection does the handshake (TLS) and the
    // HTTP upgrade in its reactor.
    void adopt(int fd, SSL* tls = nullptr);

    // Closes every connection with 1001 (within the shutdown grace) and joins the reactors.
    // Sockets adopted afterwards are closed at once.
    void stop();

    std::size_t reactor_count() const { return m_reactors.size(); }
    std::size_t size() const;

    void attach(const Session& session) override;
    void detach(const Session& session) override;
    void push(const std::string& username, std::uint32_t device_id,
              const wire::Envelope& deliver) override;
    void push_to_connection(std::uint64_t connection_id, const wire::Envelope& envelope) override;
    void push_transient(const std::string& username, std::uint32_t device_id,
                        const wire::Envelope& envelope) override;
    void disconnect(const std::string& username, std::uint32_t device_id) override;
    void push_stored(const std::string& username, std::uint32_t device_id,
                     const std::vector<wire::Envelope>& delivers, bool complete) override;

    // Whether a connection here is authenticated as the device now.
    bool online(const std::string& username, std::uint32_t device_id);
    // The devices with a connection here now.
    std::vector<std::pair<std::string, std::uint32_t>> online_devices();

private:
    using DeviceKey = std::pair<std::string, std::uint32_t>;

    Reactor& owner(std::uint64_t connection_id) {
        return *m_reactors[connection_id % m_reactors.size()];
    }

    TransportOptions m_options;
    std::vector<std::unique_ptr<Reactor>> m_reactors;
    std::atomic<std::uint64_t> m_next_id{1};

    std::mutex m_mutex;
    std::map<DeviceKey, std::set<std::uint64_t>> m_online; // guarded by m_mutex
};

} // namespace veil::relay::transport
