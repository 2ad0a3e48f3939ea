#include "transport/reactor_pool.h"

#include "protocol/envelope_codec.h"
#include "protocol/ws_codec.h"

#include <openssl/ssl.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace veil::relay::transport {
namespace {

std::size_t reactor_threads(std::size_t wanted) {
    if (wanted > 0)
        return wanted;
    return std::max(1u, std::thread::hardware_concurrency());
}

} // namespace

ReactorPool::ReactorPool(RelayService& service, TransportOptions options)
    : m_options(options) {
    const std::size_t count = reactor_threads(m_options.reactors);
    for (std::size_t i = 0; i < count; ++i)
        m_reactors.push_back(std::make_unique<Reactor>(service, m_options));
    for (auto& reactor : m_reactors)
        reactor->start();
}

ReactorPool::~ReactorPool() {
    stop();
}

void ReactorPool::adopt(int fd, SSL* tls) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        if (tls)
            SSL_free(tls);
        ::close(fd);
        return;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const std::uint64_t id = m_next_id.fetch_add(1);
    owner(id).adopt(id, fd, tls);
}

void ReactorPool::stop() {
    for (auto& reactor : m_reactors)
        reactor->stop();
    for (auto& reactor : m_reactors)
        reactor->join();
}

std::size_t ReactorPool::size() const {
    std::size_t total = 0;
    for (const auto& reactor : m_reactors)
        total += reactor->size();
    return total;
}

void ReactorPool::attach(const Session& session) {
    std::lock_guard lock(m_mutex);
    m_online[{session.username, session.device_id}].insert(session.connection_id);
}

void ReactorPool::detach(const Session& session) {
    std::lock_guard lock(m_mutex);
    auto it = m_online.find({session.username, session.device_id});
    if (it == m_online.end())
        return;
    it->second.erase(session.connection_id);
    if (it->second.empty())
        m_online.erase(it);
}

void ReactorPool::push(const std::string& username, std::uint32_t device_id,
                       const wire::Envelope& deliver) {
    std::vector<std::uint64_t> targets;
    {
        std::lock_guard lock(m_mutex);
        auto it = m_online.find({username, device_id});
        if (it == m_online.end())
            return;
        targets.assign(it->second.begin(), it->second.end());
    }
    // Server frames are unmasked, so every connection of the device shares the same bytes.
    auto frame = std::make_shared<const Bytes>(
        protocol::ws::encode_frame(protocol::ws::Role::server, protocol::ws::Opcode::binary,
                                   protocol::encode_envelope(deliver)));
    const std::uint64_t delivery_id = deliver.deliver().delivery_id();
    for (std::uint64_t id : targets)
        owner(id).push(id, delivery_id, frame);
}

void ReactorPool::push_stored(const std::string& username, std::uint32_t device_id,
                              const std::vector<wire::Envelope>& delivers, bool complete) {
    std::vector<std::uint64_t> targets;
    {
        std::lock_guard lock(m_mutex);
        auto it = m_online.find({username, device_id});
        if (it == m_online.end())
            return;
        targets.assign(it->second.begin(), it->second.end());
    }
    auto ids = std::make_shared<std::vector<std::uint64_t>>();
    auto frames = std::make_shared<std::vector<std::shared_ptr<const Bytes>>>();
    ids->reserve(delivers.size());
    frames->reserve(delivers.size());
    for (const auto& d : delivers) {
        ids->push_back(d.deliver().delivery_id());
        frames->push_back(std::make_shared<const Bytes>(
            protocol::ws::encode_frame(protocol::ws::Role::server, protocol::ws::Opcode::binary,
                                       protocol::encode_envelope(d))));
    }
    for (std::uint64_t id : targets)
        owner(id).push_stored(id, ids, frames, complete);
}

bool ReactorPool::online(const std::string& username, std::uint32_t device_id) {
    std::lock_guard lock(m_mutex);
    return m_online.count({username, device_id}) > 0;
}

std::vector<std::pair<std::string, std::uint32_t>> ReactorPool::online_devices() {
    std::lock_guard lock(m_mutex);
    std::vector<std::pair<std::string, std::uint32_t>> devices;
    devices.reserve(m_online.size());
    for (const auto& [device, connections] : m_online)
        devices.push_back(device);
    return devices;
}

void ReactorPool::push_to_connection(std::uint64_t connection_id, const wire::Envelope& envelope) {
    // Ids are never reused, so a connection that is gone simply drops it in its reactor.
    if (connection_id == 0)
        return;
    auto frame = std::make_shared<const Bytes>(
        protocol::ws::encode_frame(protocol::ws::Role::server, protocol::ws::Opcode::binary,
                                   protocol::encode_envelope(envelope)));
    owner(connection_id).send_frame(connection_id, std::move(frame));
}

void ReactorPool::push_transient(const std::string& username, std::uint32_t device_id,
                                 const wire::Envelope& envelope) {
    std::vector<std::uint64_t> targets;
    {
        std::lock_guard lock(m_mutex);
        auto it = m_online.find({username, device_id});
        if (it == m_online.end())
            return;
        targets.assign(it->second.begin(), it->second.end());
    }
    auto frame = std::make_shared<const Bytes>(
        protocol::ws::encode_frame(protocol::ws::Role::server, protocol::ws::Opcode::binary,
                                   protocol::encode_envelope(envelope)));
    // As a frame, not a push: delivery id 0 is below every drain mark the push path checks.
    for (std::uint64_t id : targets)
        owner(id).send_frame(id, frame);
}

void ReactorPool::disconnect(const std::string& username, std::uint32_t device_id) {
    std::vector<std::uint64_t> targets;
    {
        std::lock_guard lock(m_mutex);
        auto it = m_online.find({username, device_id});
        if (it == m_online.end())
            return;
        targets.assign(it->second.begin(), it->second.end());
    }
    // Each connection detaches itself as it closes (RelayService::close).
    for (std::uint64_t id : targets)
        owner(id).disconnect(id);
}

} // namespace veil::relay::transport
