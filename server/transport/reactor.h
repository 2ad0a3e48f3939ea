// Reactor: one thread, one epoll instance, and the connections it owns. Every socket read, write,
// frame decode and RelayService::handle() of its connections happens on its thread, so a
// connection needs no lock. Other threads reach it only through a mutex-protected inbox and an
// eventfd that wakes the loop: adopting a new socket, pushing a delivery, answering a request
// the service's committer completed, stopping.
//
// Deadlines live in a min-heap with at most one live entry per connection; an entry whose time
// no longer matches the connection's is stale and skipped (lazy deletion).
#pragma once

#include "transport/connection.h"
#include "transport/transport_options.h"

#include "core/relay_service.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <queue>
#include <thread>
#include <unordered_map>
#include <vector>

namespace veil::relay::transport {

class Reactor {
public:
    // service and options must outlive the reactor. Throws std::system_error if the kernel
    // refuses an epoll instance or an eventfd.
    Reactor(RelayService& service, const TransportOptions& options);
    ~Reactor(); // stops and joins if still running
    Reactor(const Reactor&) = delete;
    Reactor& operator=(const Reactor&) = delete;

    void start();

    // Thread-safe. Takes ownership of fd (non-blocking, freshly accepted): the connection reads
    // and answers its HTTP upgrade request itself (Connection). With tls (owned from here on),
    // the TLS handshake comes first. After stop() the fd is closed.
    void adopt(std::uint64_t id, int fd, SSL* tls = nullptr);
    // Thread-safe. Queues a complete Deliver frame for connection id, if it still exists.
    void push(std::uint64_t id, std::uint64_t delivery_id, std::shared_ptr<const Bytes> frame);
    // Thread-safe. Queues a complete frame (not a Deliver) for connection id, whether it has
    // authenticated or not, if it still exists.
    void send_frame(std::uint64_t id, std::shared_ptr<const Bytes> frame);
    // Connection::push_stored() on connection id, from any thread; nothing if it is gone.
    void push_stored(std::uint64_t id, std::shared_ptr<const std::vector<std::uint64_t>> ids,
                     std::shared_ptr<const std::vector<std::shared_ptr<const Bytes>>> frames,
                     bool complete);
    // Thread-safe. Closes connection id, once the answers it awaits have been written.
    void disconnect(std::uint64_t id);
    // Thread-safe. The late answer to request number seq of connection id, if it still exists.
    void reply(std::uint64_t id, std::uint64_t seq, std::vector<Bytes> frames);
    // Thread-safe. Sends every connection a going-away close, gives them the shutdown grace to
    // receive it, then closes what is left and ends the thread.
    void stop();
    void join();

    // Open connections, for logs and tests; thread-safe.
    std::size_t size() const { return m_count.load(); }

private:
    using Clock = Connection::Clock;
    using TimePoint = Connection::TimePoint;

    struct Task {
        enum class Kind { adopt, push, frame, disconnect, reply, stored, stop };
        Kind kind = Kind::stop;
        std::uint64_t id = 0;
        int fd = -1;
        SSL* tls = nullptr;
        std::uint64_t delivery_id = 0;
        std::shared_ptr<const Bytes> frame;
        std::uint64_t seq = 0;
        std::vector<Bytes> frames;
        // stored: Connection::push_stored()'s arguments, shared by the device's connections.
        std::shared_ptr<const std::vector<std::uint64_t>> stored_ids;
        std::shared_ptr<const std::vector<std::shared_ptr<const Bytes>>> stored_frames;
        bool complete = false;
    };

    struct Entry {
        std::unique_ptr<Connection> connection;
        std::uint32_t events = 0; // what epoll watches now
        TimePoint timer_at;       // the time of its live heap entry
    };

    using Timer = std::pair<TimePoint, std::uint64_t>;

    void post(Task task);
    // Closes the socket (and frees the TLS session) of an adopt task that is refused.
    static void discard(Task& task);
    void run();
    void take_inbox(TimePoint now);
    void on_adopt(Task& task, TimePoint now);
    void on_socket(std::uint64_t id, std::uint32_t events, TimePoint now);
    void run_timers(TimePoint now);
    void begin_stop(TimePoint now);
    // After any call into a connection: removes it if finished, else updates epoll and timers.
    void settle(std::uint64_t id, TimePoint now);
    void remove(std::uint64_t id);
    int wait_timeout(TimePoint now) const;

    RelayService& m_service;
    const TransportOptions& m_options;
    int m_epoll = -1;
    int m_wake = -1;

    std::mutex m_inbox_mutex;
    std::vector<Task> m_inbox;  // guarded by m_inbox_mutex
    bool m_stop_posted = false; // guarded by m_inbox_mutex

    // Reactor thread only.
    std::unordered_map<std::uint64_t, Entry> m_connections;
    std::priority_queue<Timer, std::vector<Timer>, std::greater<>> m_timers;
    std::vector<std::uint8_t> m_scratch;
    bool m_stopping = false;
    TimePoint m_stop_deadline;

    std::atomic<std::size_t> m_count{0};
    std::thread m_thread;
};

} // namespace veil::relay::transport
