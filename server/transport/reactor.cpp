#include "transport/reactor.h"

#include "util/log.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <system_error>
#include <unistd.h>

namespace veil::relay::transport {
namespace {

constexpr std::string_view kLog = "net";
constexpr std::uint64_t kWakeId = 0; // connection ids start at 1
constexpr int kMaxEvents = 256;
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr int kMaxWaitMs = 1000;

[[noreturn]] void throw_errno(const char* what) {
    throw std::system_error(errno, std::generic_category(), what);
}

} // namespace

Reactor::Reactor(RelayService& service, const TransportOptions& options)
    : m_service(service)
    , m_options(options)
    , m_scratch(kReadChunk) {
    m_epoll = ::epoll_create1(EPOLL_CLOEXEC);
    if (m_epoll < 0)
        throw_errno("epoll_create1");
    m_wake = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (m_wake < 0) {
        ::close(m_epoll);
        throw_errno("eventfd");
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kWakeId;
    if (::epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_wake, &ev) < 0) {
        ::close(m_wake);
        ::close(m_epoll);
        throw_errno("epoll_ctl");
    }
}

Reactor::~Reactor() {
    stop();
    join();
    // Connections left (the thread never started) close their sockets here.
    for (auto& [id, entry] : m_connections)
        m_service.close(entry.connection->session());
    m_connections.clear();
    for (auto& task : m_inbox)
        if (task.kind == Task::Kind::adopt)
            discard(task);
    ::close(m_wake);
    ::close(m_epoll);
}

void Reactor::start() {
    m_thread = std::thread([this] { run(); });
}

void Reactor::join() {
    if (m_thread.joinable())
        m_thread.join();
}

void Reactor::discard(Task& task) {
    if (task.tls)
        SSL_free(task.tls);
    task.tls = nullptr;
    ::close(task.fd);
}

void Reactor::adopt(std::uint64_t id, int fd, SSL* tls) {
    Task task;
    task.kind = Task::Kind::adopt;
    task.id = id;
    task.fd = fd;
    task.tls = tls;
    post(std::move(task));
}

void Reactor::push(std::uint64_t id, std::uint64_t delivery_id,
                   std::shared_ptr<const Bytes> frame) {
    Task task;
    task.kind = Task::Kind::push;
    task.id = id;
    task.delivery_id = delivery_id;
    task.frame = std::move(frame);
    post(std::move(task));
}

void Reactor::send_frame(std::uint64_t id, std::shared_ptr<const Bytes> frame) {
    Task task;
    task.kind = Task::Kind::frame;
    task.id = id;
    task.frame = std::move(frame);
    post(std::move(task));
}

void Reactor::push_stored(std::uint64_t id, std::shared_ptr<const std::vector<std::uint64_t>> ids,
                          std::shared_ptr<const std::vector<std::shared_ptr<const Bytes>>> frames,
                          bool complete) {
    Task task;
    task.kind = Task::Kind::stored;
    task.id = id;
    task.stored_ids = std::move(ids);
    task.stored_frames = std::move(frames);
    task.complete = complete;
    post(std::move(task));
}

void Reactor::disconnect(std::uint64_t id) {
    Task task;
    task.kind = Task::Kind::disconnect;
    task.id = id;
    post(std::move(task));
}

void Reactor::reply(std::uint64_t id, std::uint64_t seq, std::vector<Bytes> frames) {
    Task task;
    task.kind = Task::Kind::reply;
    task.id = id;
    task.seq = seq;
    task.frames = std::move(frames);
    post(std::move(task));
}

void Reactor::stop() {
    post(Task{});
}

void Reactor::post(Task task) {
    bool wake = false;
    {
        std::lock_guard lock(m_inbox_mutex);
        if (m_stop_posted) {
            // The loop is ending or gone: refuse new sockets, drop pushes.
            if (task.kind == Task::Kind::adopt)
                discard(task);
            return;
        }
        if (task.kind == Task::Kind::stop)
            m_stop_posted = true;
        wake = m_inbox.empty();
        m_inbox.push_back(std::move(task));
    }
    if (wake) {
        std::uint64_t one = 1;
        // A full counter still wakes the loop, so a failed write loses nothing.
        [[maybe_unused]] ssize_t n = ::write(m_wake, &one, sizeof one);
    }
}

void Reactor::run() {
    epoll_event events[kMaxEvents];
    for (;;) {
        TimePoint now = Clock::now();
        if (m_stopping && (m_connections.empty() || now >= m_stop_deadline))
            break;
        int n = ::epoll_wait(m_epoll, events, kMaxEvents, wait_timeout(now));
        if (n < 0 && errno != EINTR) {
            log::error(kLog, "epoll_wait failed: " +
                                 std::error_code(errno, std::generic_category()).message());
            break;
        }
        now = Clock::now();
        for (int i = 0; i < n; ++i) {
            if (events[i].data.u64 == kWakeId) {
                std::uint64_t count = 0;
                [[maybe_unused]] ssize_t r = ::read(m_wake, &count, sizeof count);
                continue;
            }
            on_socket(events[i].data.u64, events[i].events, now);
        }
        take_inbox(now);
        run_timers(now);
    }
    std::vector<std::uint64_t> left;
    for (const auto& [id, entry] : m_connections)
        left.push_back(id);
    for (std::uint64_t id : left)
        remove(id);
}

int Reactor::wait_timeout(TimePoint now) const {
    TimePoint next = now + std::chrono::milliseconds(kMaxWaitMs);
    if (!m_timers.empty())
        next = std::min(next, m_timers.top().first);
    if (m_stopping)
        next = std::min(next, m_stop_deadline);
    if (next <= now)
        return 0;
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(next - now).count();
    return static_cast<int>(std::min<std::int64_t>(ms, kMaxWaitMs));
}

void Reactor::take_inbox(TimePoint now) {
    std::vector<Task> tasks;
    {
        std::lock_guard lock(m_inbox_mutex);
        tasks.swap(m_inbox);
    }
    for (auto& task : tasks) {
        switch (task.kind) {
        case Task::Kind::adopt: on_adopt(task, now); break;
        case Task::Kind::push: {
            auto it = m_connections.find(task.id);
            if (it == m_connections.end())
                break; // closed meanwhile; the envelope waits in the mailbox
            it->second.connection->push(task.delivery_id, task.frame, now);
            settle(task.id, now);
            break;
        }
        case Task::Kind::stored: {
            auto it = m_connections.find(task.id);
            if (it == m_connections.end())
                break; // closed meanwhile; the envelopes wait in the mailbox
            it->second.connection->push_stored(*task.stored_ids, *task.stored_frames, task.complete,
                                               now);
            settle(task.id, now);
            break;
        }
        case Task::Kind::frame: {
            auto it = m_connections.find(task.id);
            if (it == m_connections.end())
                break; // closed meanwhile; the sender's other end learns it on its next send
            it->second.connection->send_frame(task.frame, now);
            settle(task.id, now);
            break;
        }
        case Task::Kind::disconnect: {
            auto it = m_connections.find(task.id);
            if (it == m_connections.end())
                break;
            it->second.connection->disconnect(now);
            settle(task.id, now);
            break;
        }
        case Task::Kind::reply: {
            auto it = m_connections.find(task.id);
            if (it == m_connections.end())
                break; // closed meanwhile; a retried send is recognised by its message id
            it->second.connection->on_reply(task.seq, std::move(task.frames), now);
            settle(task.id, now);
            break;
        }
        case Task::Kind::stop: begin_stop(now); break;
        }
    }
}

void Reactor::on_adopt(Task& task, TimePoint now) {
    if (m_stopping) {
        discard(task);
        return;
    }
    auto post_reply = [this, id = task.id](std::uint64_t seq, std::vector<Bytes> frames) {
        reply(id, seq, std::move(frames));
    };
    auto connection = std::make_unique<Connection>(task.id, task.fd, m_service, m_options,
                                                   post_reply, now, task.tls);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = task.id;
    if (::epoll_ctl(m_epoll, EPOLL_CTL_ADD, task.fd, &ev) < 0) {
        log::warn(kLog, "cannot watch a new connection: " +
                            std::error_code(errno, std::generic_category()).message());
        return; // the connection's destructor closes the socket
    }
    Entry entry;
    entry.connection = std::move(connection);
    entry.events = EPOLLIN;
    entry.timer_at = TimePoint::max();
    m_connections.emplace(task.id, std::move(entry));
    m_count.fetch_add(1);
    log::debug(kLog, "connection " + std::to_string(task.id) + " opened");
    settle(task.id, now);
}

void Reactor::on_socket(std::uint64_t id, std::uint32_t events, TimePoint now) {
    auto it = m_connections.find(id);
    if (it == m_connections.end())
        return;
    Connection& connection = *it->second.connection;
    if (events & EPOLLIN)
        connection.on_readable(m_scratch, now);
    if ((events & EPOLLOUT) && !connection.finished())
        connection.on_writable(now);
    // A hang-up with data still unread is seen again as EPOLLIN; act on it only when reading
    // is not wanted (paused), or on an error.
    if ((events & EPOLLERR) || ((events & EPOLLHUP) && !(events & EPOLLIN)))
        connection.on_error();
    settle(id, now);
}

void Reactor::run_timers(TimePoint now) {
    // Take the due entries first: settle() may add new ones, which wait for the next round.
    std::vector<Timer> due;
    while (!m_timers.empty() && m_timers.top().first <= now) {
        due.push_back(m_timers.top());
        m_timers.pop();
    }
    for (const auto& [at, id] : due) {
        auto it = m_connections.find(id);
        if (it == m_connections.end() || it->second.timer_at != at)
            continue; // stale
        it->second.timer_at = TimePoint::max();
        it->second.connection->on_timer(now);
        settle(id, now);
    }
}

void Reactor::begin_stop(TimePoint now) {
    m_stopping = true;
    m_stop_deadline = now + m_options.shutdown_grace;
    std::vector<std::uint64_t> ids;
    for (const auto& [id, entry] : m_connections)
        ids.push_back(id);
    for (std::uint64_t id : ids) {
        m_connections.at(id).connection->go_away(now);
        settle(id, now);
    }
}

void Reactor::settle(std::uint64_t id, TimePoint now) {
    auto it = m_connections.find(id);
    if (it == m_connections.end())
        return;
    Entry& entry = it->second;
    if (entry.connection->finished()) {
        remove(id);
        return;
    }
    const std::uint32_t wanted = entry.connection->wanted_events();
    if (wanted != entry.events) {
        epoll_event ev{};
        ev.events = wanted;
        ev.data.u64 = id;
        if (::epoll_ctl(m_epoll, EPOLL_CTL_MOD, entry.connection->fd(), &ev) < 0) {
            remove(id);
            return;
        }
        entry.events = wanted;
    }
    const TimePoint deadline = std::max(entry.connection->next_deadline(), now);
    if (deadline < entry.timer_at) {
        entry.timer_at = deadline;
        m_timers.emplace(deadline, id);
    }
}

void Reactor::remove(std::uint64_t id) {
    auto it = m_connections.find(id);
    if (it == m_connections.end())
        return;
    Connection& connection = *it->second.connection;
    ::epoll_ctl(m_epoll, EPOLL_CTL_DEL, connection.fd(), nullptr);
    m_service.close(connection.session());
    m_connections.erase(it);
    m_count.fetch_sub(1);
    log::debug(kLog, "connection " + std::to_string(id) + " closed");
}

} // namespace veil::relay::transport
