#include "redis_wakeups.h"

#include "core/relay_metrics.h"
#include "util/log.h"

#include <Poco/Exception.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Timespan.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <stdexcept>

namespace veil::relay {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kLog = "relay.cluster";
constexpr auto kConnectTimeout = 1s;
constexpr auto kIoTimeout = 2s;
constexpr auto kReadPoll = 200ms;
constexpr auto kBackoffFirst = 200ms;
// Nothing Redis says to these commands comes near this; more is a broken stream.
constexpr std::size_t kMaxBulk = 1 << 20;

Poco::Timespan span(std::chrono::milliseconds d) {
    return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(d.count()) * 1000);
}

// One RESP value: a simple string, error or integer (text), a bulk string (text, or null), or
// an array (items).
struct Resp {
    char type = 0;
    std::string text;
    std::vector<Resp> items;
};

[[noreturn]] void broken(const std::string& why) {
    throw std::runtime_error(why);
}

std::optional<std::string> take_line(const std::string& buf, std::size_t& pos) {
    const std::size_t end = buf.find("\r\n", pos);
    if (end == std::string::npos)
        return std::nullopt;
    std::string line = buf.substr(pos, end - pos);
    pos = end + 2;
    return line;
}

long long to_number(const std::string& text) {
    long long n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size())
        broken("a malformed number from Redis");
    return n;
}

// Parses one value starting at pos; nullopt (pos unchanged) while it is incomplete. Throws on
// bytes that are not RESP.
std::optional<Resp> parse(const std::string& buf, std::size_t& pos, int depth = 0) {
    if (depth > 4)
        broken("RESP nested too deep");
    std::size_t at = pos;
    if (at >= buf.size())
        return std::nullopt;
    Resp value;
    value.type = buf[at++];
    auto line = take_line(buf, at);
    if (!line)
        return std::nullopt;
    switch (value.type) {
    case '+':
    case '-':
    case ':': value.text = *line; break;
    case '$': {
        const long long n = to_number(*line);
        if (n < 0)
            break; // null
        if (static_cast<unsigned long long>(n) > kMaxBulk)
            broken("a bulk string from Redis over 1 MiB");
        if (buf.size() < at + static_cast<std::size_t>(n) + 2)
            return std::nullopt;
        value.text = buf.substr(at, static_cast<std::size_t>(n));
        at += static_cast<std::size_t>(n) + 2;
        break;
    }
    case '*': {
        const long long n = to_number(*line);
        if (n > 1024)
            broken("an array from Redis over 1024 items");
        for (long long i = 0; i < n; ++i) {
            auto item = parse(buf, at, depth + 1);
            if (!item)
                return std::nullopt;
            value.items.push_back(std::move(*item));
        }
        break;
    }
    default: broken("bytes from Redis that are not RESP");
    }
    pos = at;
    return value;
}

void append_command(std::string& out, const std::vector<std::string>& args) {
    out += "*" + std::to_string(args.size()) + "\r\n";
    for (const auto& a : args) {
        out += "$" + std::to_string(a.size()) + "\r\n";
        out += a;
        out += "\r\n";
    }
}

// One connection to Redis with its read buffer. Every call throws on failure (the caller then
// drops the connection).
class RespConnection {
public:
    RespConnection(const std::string& host, int port) {
        m_socket.connect(Poco::Net::SocketAddress(host, static_cast<Poco::UInt16>(port)),
                         span(kConnectTimeout));
        m_socket.setNoDelay(true);
        m_socket.setSendTimeout(span(kIoTimeout));
        m_socket.setReceiveTimeout(span(kIoTimeout));
    }
    ~RespConnection() {
        try {
            m_socket.close();
        } catch (...) {
        }
    }

    void send(const std::string& bytes) {
        std::size_t done = 0;
        while (done < bytes.size()) {
            const int n =
                m_socket.sendBytes(bytes.data() + done, static_cast<int>(bytes.size() - done));
            if (n <= 0)
                broken("Redis stopped taking bytes");
            done += static_cast<std::size_t>(n);
        }
    }

    // The next value, waiting up to timeout for it; nullopt when none came in time.
    std::optional<Resp> next(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            std::size_t pos = 0;
            if (auto value = parse(m_buffer, pos)) {
                m_buffer.erase(0, pos);
                return value;
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0)
                return std::nullopt;
            if (!m_socket.poll(span(left), Poco::Net::Socket::SELECT_READ))
                return std::nullopt;
            char chunk[16384];
            const int n = m_socket.receiveBytes(chunk, sizeof chunk);
            if (n <= 0)
                broken("Redis closed the connection");
            m_buffer.append(chunk, static_cast<std::size_t>(n));
        }
    }

    Resp expect(std::chrono::milliseconds timeout) {
        auto value = next(timeout);
        if (!value)
            broken("Redis did not answer in time");
        if (value->type == '-')
            broken("Redis refused: " + value->text);
        return std::move(*value);
    }

private:
    Poco::Net::StreamSocket m_socket;
    std::string m_buffer;
};

std::string reason_of(const std::exception& e) {
    if (const auto* p = dynamic_cast<const Poco::Exception*>(&e))
        return p->displayText();
    return e.what();
}

// The reason as a log value: quoted, without quotes or control characters inside.
std::string quoted(std::string text) {
    std::replace_if(
        text.begin(), text.end(),
        [](char c) { return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20; }, ' ');
    return "\"" + text + "\"";
}

std::optional<RedisWakeups::Device> parse_wake(const std::string& payload) {
    const std::size_t first = payload.find(' ');
    const std::size_t second =
        first == std::string::npos ? std::string::npos : payload.find(' ', first + 1);
    if (second == std::string::npos || second + 1 >= payload.size())
        return std::nullopt;
    std::uint32_t device = 0;
    auto [end, ec] = std::from_chars(payload.data(), payload.data() + first, device);
    if (ec != std::errc() || end != payload.data() + first)
        return std::nullopt;
    return RedisWakeups::Device{payload.substr(second + 1), device};
}

} // namespace

std::optional<std::pair<std::string, int>> RedisWakeups::parse_url(const std::string& url) {
    const std::string scheme = "redis://";
    if (url.rfind(scheme, 0) != 0)
        return std::nullopt;
    std::string rest = url.substr(scheme.size());
    if (!rest.empty() && rest.back() == '/')
        rest.pop_back();
    const std::size_t colon = rest.rfind(':');
    if (colon == std::string::npos || colon == 0 || rest.find('/') != std::string::npos ||
        rest.find('@') != std::string::npos)
        return std::nullopt;
    int port = 0;
    const char* begin = rest.data() + colon + 1;
    const char* end = rest.data() + rest.size();
    auto [at, ec] = std::from_chars(begin, end, port);
    if (ec != std::errc() || at != end || port < 1 || port > 65535)
        return std::nullopt;
    return std::pair<std::string, int>{rest.substr(0, colon), port};
}

RedisWakeups::RedisWakeups(RelayService& service, Local local, Options options)
    : m_service(service)
    , m_local(std::move(local))
    , m_options(std::move(options)) {
    relay_metrics().redis_configured.store(true, std::memory_order_relaxed);
    m_publisher = std::thread([this] { publish_loop(); });
    m_subscriber = std::thread([this] { subscribe_loop(); });
    m_waker = std::thread([this] { wake_loop(); });
}

RedisWakeups::~RedisWakeups() {
    stop();
}

void RedisWakeups::stop() {
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_cv.notify_all();
    for (auto* t : {&m_publisher, &m_subscriber, &m_waker})
        if (t->joinable())
            t->join();
}

bool RedisWakeups::up() const {
    std::lock_guard lock(m_mutex);
    return m_up;
}

std::string RedisWakeups::address() const {
    return m_options.host + ":" + std::to_string(m_options.port);
}

void RedisWakeups::stored(std::vector<DeliveryNote> notes) {
    {
        std::lock_guard lock(m_mutex);
        if (m_outbox.size() >= kMaxUnsent)
            return; // the receivers' polls bring these
        m_outbox.insert(m_outbox.end(), std::make_move_iterator(notes.begin()),
                        std::make_move_iterator(notes.end()));
    }
    m_cv.notify_all();
}

bool RedisWakeups::pause(std::chrono::milliseconds d) {
    std::unique_lock lock(m_mutex);
    m_cv.wait_for(lock, d, [this] { return m_stopping; });
    return !m_stopping;
}

void RedisWakeups::set_up(bool up, const std::string& reason) {
    {
        std::lock_guard lock(m_mutex);
        if (up) {
            if (!m_up)
                log::info(kLog,
                          "event=redis_up address=" + address() + " channel=" + m_options.channel);
            m_up = true;
            m_told_down = false;
            relay_metrics().redis_backoff_ms.store(0, std::memory_order_relaxed);
            m_wake_all = true; // wake-ups published while the subscription was broken
        } else {
            if (!m_told_down)
                log::warn(kLog, "event=redis_down address=" + address() +
                                    " reason=" + quoted(reason) +
                                    " poll_ms=" + std::to_string(m_options.poll_down.count()));
            m_up = false;
            m_told_down = true;
        }
        m_state_changed = true;
        relay_metrics().redis_up.store(up, std::memory_order_relaxed);
    }
    m_cv.notify_all();
}

std::chrono::milliseconds RedisWakeups::first_backoff() const {
    return std::min<std::chrono::milliseconds>(kBackoffFirst, m_options.backoff_max);
}

std::chrono::milliseconds RedisWakeups::next_backoff(std::chrono::milliseconds backoff) const {
    return std::min<std::chrono::milliseconds>(backoff * 2, m_options.backoff_max);
}

void RedisWakeups::publish_loop() {
    std::unique_ptr<RespConnection> redis;
    std::vector<DeliveryNote> unsent;
    auto backoff = std::chrono::milliseconds(0);
    // Once stopping, what the last commits stored gets one more try.
    bool last = false;
    for (;;) {
        if (last)
            return;
        {
            std::unique_lock lock(m_mutex);
            m_cv.wait(lock, [&] { return m_stopping || !m_outbox.empty() || !unsent.empty(); });
            last = m_stopping;
            unsent.insert(unsent.end(), std::make_move_iterator(m_outbox.begin()),
                          std::make_move_iterator(m_outbox.end()));
            m_outbox.clear();
        }
        // Devices connected here got theirs from the push before or after the commit.
        std::erase_if(
            unsent, [&](const DeliveryNote& n) { return m_local.online(n.username, n.device_id); });
        if (unsent.empty() || (last && !redis))
            continue;
        if (unsent.size() > kMaxUnsent)
            unsent.erase(unsent.begin(),
                         unsent.begin() + static_cast<std::ptrdiff_t>(unsent.size() - kMaxUnsent));
        try {
            if (!redis)
                redis = std::make_unique<RespConnection>(m_options.host, m_options.port);
            std::string pipeline;
            for (const auto& n : unsent)
                append_command(pipeline, {"PUBLISH", m_options.channel,
                                          std::to_string(n.device_id) + " " +
                                              std::to_string(n.delivery_id) + " " + n.username});
            redis->send(pipeline);
            for (std::size_t i = 0; i < unsent.size(); ++i)
                redis->expect(kIoTimeout);
            log::debug(kLog, "event=wakeups_published count=" + std::to_string(unsent.size()));
            unsent.clear();
            backoff = std::chrono::milliseconds(0);
        } catch (const std::exception& e) {
            redis.reset();
            relay_metrics().redis_connect_failures.fetch_add(1, std::memory_order_relaxed);
            // Once per outage: a retry past the ceiling says nothing the first did not.
            if (backoff.count() == 0)
                log::debug(kLog,
                           "event=redis_publish_failed count=" + std::to_string(unsent.size()) +
                               " reason=" + quoted(reason_of(e)));
            backoff = backoff.count() == 0 ? first_backoff() : next_backoff(backoff);
            if (!last && !pause(backoff))
                return;
        }
    }
}

void RedisWakeups::subscribe_loop() {
    auto backoff = first_backoff();
    for (;;) {
        {
            std::lock_guard lock(m_mutex);
            if (m_stopping)
                return;
        }
        try {
            RespConnection redis(m_options.host, m_options.port);
            std::string command;
            append_command(command, {"SUBSCRIBE", m_options.channel});
            redis.send(command);
            Resp confirmed = redis.expect(kIoTimeout);
            if (confirmed.items.empty() || confirmed.items[0].text != "subscribe")
                broken("Redis did not confirm the subscription");
            set_up(true, {});
            backoff = first_backoff();
            for (;;) {
                {
                    std::lock_guard lock(m_mutex);
                    if (m_stopping)
                        return;
                }
                auto message = redis.next(kReadPoll);
                if (!message)
                    continue;
                if (message->type != '*' || message->items.size() != 3 ||
                    message->items[0].text != "message")
                    continue;
                auto device = parse_wake(message->items[2].text);
                if (!device)
                    continue;
                {
                    std::lock_guard lock(m_mutex);
                    m_wakes.insert(std::move(*device));
                }
                m_cv.notify_all();
            }
        } catch (const std::exception& e) {
            relay_metrics().redis_connect_failures.fetch_add(1, std::memory_order_relaxed);
            set_up(false, reason_of(e));
        }
        relay_metrics().redis_backoff_ms.store(backoff.count(), std::memory_order_relaxed);
        if (!pause(backoff))
            return;
        backoff = next_backoff(backoff);
    }
}

void RedisWakeups::wake_loop() {
    using Clock = std::chrono::steady_clock;
    auto interval = [this] {
        if (!m_up)
            return m_options.poll_down;
        return m_options.poll_up.count() > 0 ? m_options.poll_up : std::chrono::milliseconds(24h);
    };
    Clock::time_point next_poll;
    {
        std::lock_guard lock(m_mutex);
        next_poll = Clock::now() + interval();
    }
    for (;;) {
        std::set<Device> wakes;
        bool all = false;
        {
            std::unique_lock lock(m_mutex);
            m_cv.wait_until(lock, next_poll, [&] {
                return m_stopping || m_wake_all || !m_wakes.empty() || m_state_changed;
            });
            if (m_stopping)
                return;
            if (m_state_changed) {
                m_state_changed = false;
                next_poll = std::min(next_poll, Clock::now() + interval());
            }
            all = m_wake_all || Clock::now() >= next_poll;
            m_wake_all = false;
            wakes.swap(m_wakes);
            if (all)
                next_poll = Clock::now() + interval();
        }
        if (all) {
            for (const auto& [username, device_id] : m_local.devices())
                m_service.push_queued(username, device_id);
            continue;
        }
        for (const auto& [username, device_id] : wakes)
            if (m_local.online(username, device_id))
                m_service.push_queued(username, device_id);
    }
}

} // namespace veil::relay
