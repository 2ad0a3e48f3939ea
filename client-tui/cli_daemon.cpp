// veil daemon: one device kept open, serving the headless verbs as JSON-RPC 2.0 over a Unix
// socket, one request per line. Everything runs on the Qt event loop: sockets are non-blocking
// and watched with QSocketNotifier, so a client that stalls holds only its own buffers.
#include "cli.h"
#include "cli_events.h"
#include "cli_support.h"

#include "text_safety.h"
#include "util/hex.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSocketNotifier>
#include <QTimer>

#include <cerrno>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <utility>

namespace veil::tui {
namespace {

// A request line longer than this is answered with an error and skipped up to its newline.
constexpr std::size_t kMaxLineBytes = 1 << 20;
// A client that lets this much output pile up (it stopped reading) is disconnected.
constexpr std::size_t kMaxPendingOutBytes = 16 << 20;
constexpr std::size_t kMaxClients = 64;
// From the first byte of a request line to its newline, at most this long (loopback is fast).
constexpr std::chrono::seconds kLineDeadline{10};
const char* const kTooLong = "a request line is longer than 1 MiB";

// JSON-RPC's own codes for malformed requests; a failed action uses the CLI's exit codes (1-5).
constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;

struct RpcError {
    int code = 0;
    std::string message;
};

// A method's answer: result (JSON text) unless error is set.
struct Reply {
    std::string result = "{}";
    std::optional<RpcError> error;
};

Reply failed(const Error& e, int code) {
    return Reply{{}, RpcError{code, e.message}};
}

Reply invalid_params(const std::string& message) {
    return Reply{{}, RpcError{kInvalidParams, message}};
}

std::string json_bool(bool value) {
    return value ? "true" : "false";
}

// The members of a request's params, checked as they are read. The first problem is kept in
// error(); members nobody asked for are one too (a misspelt name would otherwise be ignored).
class Params {
public:
    explicit Params(QJsonObject object)
        : m_object(std::move(object)) {}

    std::string text(const char* key, bool required = true) {
        m_known.insert(key);
        auto v = m_object.value(QLatin1String(key));
        if (v.isUndefined()) {
            if (required)
                fail(std::string("missing \"") + key + "\"");
            return {};
        }
        if (!v.isString())
            fail(std::string("\"") + key + "\" must be a string");
        return v.toString().toStdString();
    }
    bool has(const char* key) const { return m_object.contains(QLatin1String(key)); }
    bool flag(const char* key, bool fallback) {
        m_known.insert(key);
        auto v = m_object.value(QLatin1String(key));
        if (v.isUndefined())
            return fallback;
        if (!v.isBool())
            fail(std::string("\"") + key + "\" must be true or false");
        return v.toBool(fallback);
    }
    std::vector<std::string> texts(const char* key) {
        m_known.insert(key);
        std::vector<std::string> out;
        auto v = m_object.value(QLatin1String(key));
        if (v.isUndefined())
            return out;
        if (!v.isArray()) {
            fail(std::string("\"") + key + "\" must be an array of strings");
            return out;
        }
        for (const auto& item : v.toArray()) {
            if (!item.isString())
                fail(std::string("\"") + key + "\" must be an array of strings");
            out.push_back(item.toString().toStdString());
        }
        return out;
    }
    // Empty when every member was present, of the right type and expected.
    std::string error() {
        if (m_error.empty())
            for (auto it = m_object.begin(); it != m_object.end(); ++it)
                if (!m_known.contains(it.key().toStdString()))
                    fail("unexpected \"" + it.key().toStdString() + "\"");
        return m_error;
    }

private:
    void fail(const std::string& why) {
        if (m_error.empty())
            m_error = why;
    }
    QJsonObject m_object;
    std::set<std::string> m_known;
    std::string m_error;
};

// A request's id as JSON text (a string, a number or null).
std::string id_json(const QJsonValue& id) {
    std::string array = QJsonDocument(QJsonArray{id}).toJson(QJsonDocument::Compact).toStdString();
    return array.substr(1, array.size() - 2);
}

std::string reply_line(const std::string& id, const Reply& reply) {
    if (!reply.error)
        return "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"result\":" + reply.result + "}";
    return "{\"jsonrpc\":\"2.0\",\"id\":" + id +
           ",\"error\":{\"code\":" + std::to_string(reply.error->code) +
           ",\"message\":" + json_string(reply.error->message) + "}}";
}

// One connected client.
struct Connection {
    std::uint64_t serial = 0;
    int fd = -1;
    std::unique_ptr<QSocketNotifier> reader;
    std::unique_ptr<QSocketNotifier> writer;
    std::string in;
    std::string out;
    bool discarding = false; // skipping the rest of an oversize line
    // When the line being read began: a client that starts a request and never ends it is
    // closed after kLineDeadline, so that it cannot hold a place for ever.
    std::optional<std::chrono::steady_clock::time_point> line_started;
    bool subscribed = false;
    bool dead = false;
};

class Daemon {
public:
    Daemon(qt::ClientSession& session, FeedRunner& runner, std::filesystem::path path)
        : m_session(session)
        , m_runner(runner)
        , m_path(std::move(path)) {}
    ~Daemon() {
        for (auto& [serial, c] : m_clients)
            if (c->fd >= 0)
                ::close(c->fd);
        if (m_fd < 0)
            return;
        ::close(m_fd);
        // Only our own socket goes: a file someone put there since is left alone.
        struct stat now {};
        if (::lstat(m_path.c_str(), &now) == 0 && now.st_ino == m_inode && now.st_dev == m_dev)
            ::unlink(m_path.c_str());
    }
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    Status listen();
    void set_feed(EventFeed* feed) { m_feed = feed; }
    // Events go to every subscribed client; false when there is none (the cursors stay, so the
    // next subscriber gets what nobody saw).
    bool broadcast(const std::vector<std::string>& lines);

private:
    void accept_clients();
    void read_from(Connection& c);
    // Splits what a client sent into lines and handles each complete one.
    void take(Connection& c, std::string_view chunk);
    void send_error(Connection& c, int code, const std::string& message);
    // Closes the connections whose current line is older than kLineDeadline.
    void drop_stalled();
    void handle_line(Connection& c, const std::string& line);
    Reply call(Connection& c, const std::string& method, Params& params);
    void send(Connection& c, const std::string& line);
    void flush(Connection& c);
    void drop(Connection& c);

    Reply send_message(Params& p);
    Reply act_on_message(const std::string& method, Params& p);
    Reply read_conversation(Params& p);
    Reply search(Params& p);
    Reply contacts();
    Reply groups();
    Reply verify(Params& p);
    Reply typing(Params& p);

    qt::ClientSession& m_session;
    FeedRunner& m_runner;
    std::filesystem::path m_path;
    EventFeed* m_feed = nullptr;
    int m_fd = -1;
    ino_t m_inode = 0;
    dev_t m_dev = 0;
    std::unique_ptr<QSocketNotifier> m_acceptor;
    QTimer m_sweeper; // drop_stalled, every second
    std::uint64_t m_next_serial = 1;
    std::map<std::uint64_t, std::unique_ptr<Connection>> m_clients;
};

Status Daemon::listen() {
    const std::string path = m_path.string();
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path)
        return make_error(Errc::invalid_argument,
                          "the socket path " + path + " is too long for a Unix socket (at most " +
                              std::to_string(sizeof addr.sun_path - 1) + " bytes); use --socket");
    if (daemon_answers(m_path))
        return make_error(Errc::busy, "another veil daemon listens on " + path);
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        // Left by a daemon that was killed: nobody answers on it, and it is a socket.
        if (!S_ISSOCK(st.st_mode))
            return make_error(Errc::already_exists, path + " exists and is not a socket");
        ::unlink(path.c_str());
    }
    addr.sun_family = AF_UNIX;
    std::copy(path.begin(), path.end(), addr.sun_path);
    m_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (m_fd < 0)
        return make_error(Errc::io, "cannot make a socket");
    // Owner only from the start: the socket speaks for the account.
    const mode_t old_mask = ::umask(0077);
    const int bound = ::bind(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::umask(old_mask);
    if (bound != 0 || ::chmod(path.c_str(), 0600) != 0 || ::listen(m_fd, 64) != 0) {
        ::close(m_fd);
        m_fd = -1;
        return make_error(Errc::io, "cannot listen on " + path);
    }
    if (::lstat(path.c_str(), &st) == 0) {
        m_inode = st.st_ino;
        m_dev = st.st_dev;
    }
    m_acceptor = std::make_unique<QSocketNotifier>(m_fd, QSocketNotifier::Read);
    QObject::connect(m_acceptor.get(), &QSocketNotifier::activated, [this] { accept_clients(); });
    m_sweeper.setInterval(1000);
    QObject::connect(&m_sweeper, &QTimer::timeout, [this] { drop_stalled(); });
    m_sweeper.start();
    return {};
}

void Daemon::accept_clients() {
    for (;;) {
        const int fd = ::accept4(m_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        if (m_clients.size() >= kMaxClients) {
            const std::string busy =
                reply_line("null", Reply{{}, RpcError{exit_failure, "too many clients"}}) + "\n";
            [[maybe_unused]] auto n = ::send(fd, busy.data(), busy.size(), MSG_NOSIGNAL);
            ::close(fd);
            continue;
        }
        auto c = std::make_unique<Connection>();
        c->serial = m_next_serial++;
        c->fd = fd;
        c->reader = std::make_unique<QSocketNotifier>(fd, QSocketNotifier::Read);
        c->writer = std::make_unique<QSocketNotifier>(fd, QSocketNotifier::Write);
        c->writer->setEnabled(false);
        Connection* raw = c.get();
        QObject::connect(c->reader.get(), &QSocketNotifier::activated,
                         [this, raw] { read_from(*raw); });
        QObject::connect(c->writer.get(), &QSocketNotifier::activated,
                         [this, raw] { flush(*raw); });
        m_clients.emplace(c->serial, std::move(c));
    }
}

void Daemon::read_from(Connection& c) {
    // A bounded number of reads per wake-up: a client that floods cannot starve the others
    // (the notifier wakes us again while bytes are left).
    char buffer[65536];
    for (int round = 0; round < 16 && !c.dead; ++round) {
        const ssize_t n = ::recv(c.fd, buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            drop(c);
            return;
        }
        take(c, std::string_view(buffer, static_cast<std::size_t>(n)));
    }
}

void Daemon::take(Connection& c, std::string_view chunk) {
    if (!c.line_started)
        c.line_started = std::chrono::steady_clock::now();
    while (!chunk.empty() && !c.dead) {
        const auto newline = chunk.find('\n');
        if (c.discarding) {
            // The rest of an oversize line, already answered.
            if (newline == std::string_view::npos)
                return;
            c.discarding = false;
            chunk.remove_prefix(newline + 1);
            c.line_started =
                chunk.empty() ? std::nullopt : std::optional(std::chrono::steady_clock::now());
            continue;
        }
        if (newline == std::string_view::npos) {
            c.in.append(chunk);
            if (c.in.size() > kMaxLineBytes) {
                c.in = std::string();
                c.discarding = true;
                send_error(c, kInvalidRequest, kTooLong);
            }
            return;
        }
        c.in.append(chunk.substr(0, newline));
        chunk.remove_prefix(newline + 1);
        // The next line starts with what is left of this chunk, if anything.
        c.line_started =
            chunk.empty() ? std::nullopt : std::optional(std::chrono::steady_clock::now());
        std::string line = std::exchange(c.in, std::string());
        if (line.size() > kMaxLineBytes)
            send_error(c, kInvalidRequest, kTooLong);
        else
            handle_line(c, line);
    }
}

void Daemon::drop_stalled() {
    const auto now = std::chrono::steady_clock::now();
    for (auto& [serial, c] : m_clients) {
        if (c->dead || !c->line_started || now - *c->line_started < kLineDeadline)
            continue;
        send_error(*c, kInvalidRequest, "a request line took longer than 10 seconds");
        drop(*c);
    }
}

void Daemon::send_error(Connection& c, int code, const std::string& message) {
    send(c, reply_line("null", Reply{{}, RpcError{code, message}}));
}

void Daemon::handle_line(Connection& c, const std::string& line) {
    if (line.empty() || line == "\r")
        return;
    QJsonParseError parse{};
    auto doc = QJsonDocument::fromJson(
        QByteArray::fromRawData(line.data(), static_cast<qsizetype>(line.size())), &parse);
    if (parse.error != QJsonParseError::NoError)
        return send_error(c, kParseError, "not JSON: " + parse.errorString().toStdString());
    if (!doc.isObject())
        return send_error(c, kInvalidRequest, "a request is a JSON object");
    const QJsonObject request = doc.object();
    const QJsonValue id = request.value(QLatin1String("id"));
    const bool notification = id.isUndefined();
    if (!notification && !id.isString() && !id.isDouble() && !id.isNull())
        return send_error(c, kInvalidRequest, "\"id\" must be a string or a number");

    const QJsonValue method = request.value(QLatin1String("method"));
    const QJsonValue params = request.value(QLatin1String("params"));
    Reply reply;
    if (request.value(QLatin1String("jsonrpc")) != QJsonValue(QLatin1String("2.0")) ||
        !method.isString()) {
        reply.error = RpcError{kInvalidRequest,
                               "a request needs \"jsonrpc\":\"2.0\" and a \"method\" string"};
    } else if (!params.isUndefined() && !params.isObject()) {
        reply.error = RpcError{kInvalidParams, "\"params\" must be an object"};
    } else {
        Params p(params.toObject());
        reply = call(c, method.toString().toStdString(), p);
    }
    if (!notification)
        send(c, reply_line(id_json(id), reply));
    // Subscribing: the backlog follows the answer.
    if (!reply.error && method.toString() == QLatin1String("subscribe") && m_runner.drained)
        m_feed->catch_up();
}

Reply Daemon::call(Connection& c, const std::string& method, Params& p) {
    static const std::set<std::string> no_params = {"contacts", "groups", "subscribe"};
    if (no_params.contains(method)) {
        if (auto why = p.error(); !why.empty())
            return invalid_params(why);
        if (method == "contacts")
            return contacts();
        if (method == "groups")
            return groups();
        c.subscribed = true;
        return Reply{"{\"subscribed\":true}", {}};
    }
    if (method == "send")
        return send_message(p);
    if (method == "react" || method == "edit" || method == "delete")
        return act_on_message(method, p);
    if (method == "read")
        return read_conversation(p);
    if (method == "search")
        return search(p);
    if (method == "verify")
        return verify(p);
    if (method == "typing")
        return typing(p);
    return Reply{{}, RpcError{kMethodNotFound, "no method is called " + method}};
}

// The conversation of params "to" (a username) or "group" (a name or id): exactly one of them.
Result<std::string> conversation_param(store::AccountStore& store, Params& p, std::string& bad) {
    const bool group = p.has("group");
    const bool to = p.has("to");
    std::string name = p.text(group ? "group" : "to", false);
    if (group == to) {
        bad = "give either \"to\" or \"group\"";
        return make_error(Errc::invalid_argument, bad);
    }
    if (bad = p.error(); !bad.empty())
        return make_error(Errc::invalid_argument, bad);
    return conversation_of(store, name, group);
}

Reply Daemon::send_message(Params& p) {
    engine::Outgoing message;
    message.text = p.text("text", false);
    const std::string reply_to = p.text("reply_to", false);
    for (const auto& f : p.texts("files"))
        message.files.emplace_back(f);
    std::string bad;
    auto conversation = conversation_param(m_session.store(), p, bad);
    if (!bad.empty())
        return invalid_params(bad);
    if (!conversation)
        return failed(conversation.error(), action_exit(conversation.error()));
    if (message.text.empty() && message.files.empty())
        return invalid_params("a message needs \"text\" or \"files\"");
    if (!reply_to.empty()) {
        auto target = find_message(m_session.store(), reply_to);
        if (!target)
            return failed(target.error(), action_exit(target.error()));
        message.reply_to = engine::MessageRef{target->sender, target->message_id};
    }
    auto id = m_session.engine().send(*conversation, message);
    if (!id)
        return failed(id.error(),
                      id.error().code == Errc::refused ? exit_refused : action_exit(id.error()));
    return Reply{"{\"id\":" + json_string(to_hex(id.value())) + "}", {}};
}

Reply Daemon::act_on_message(const std::string& method, Params& p) {
    const std::string id = p.text("id");
    const std::string value = method == "react"  ? p.text("emoji")
                              : method == "edit" ? p.text("text")
                                                 : std::string();
    if (auto why = p.error(); !why.empty())
        return invalid_params(why);
    auto row = find_message(m_session.store(), id);
    if (!row)
        return failed(row.error(), action_exit(row.error()));
    auto& engine = m_session.engine();
    Status st = method == "react"  ? engine.react(row->peer, {row->sender, row->message_id}, value)
                : method == "edit" ? engine.edit(row->peer, row->message_id, value)
                                   : engine.delete_for_everyone(row->peer, row->message_id);
    if (!st)
        return failed(st.error(), action_exit(st.error()));
    return {};
}

Reply Daemon::read_conversation(Params& p) {
    std::string bad;
    auto conversation = conversation_param(m_session.store(), p, bad);
    if (!bad.empty())
        return invalid_params(bad);
    if (!conversation)
        return failed(conversation.error(), action_exit(conversation.error()));
    if (auto st = m_session.engine().mark_read(*conversation); !st)
        return failed(st.error(), action_exit(st.error()));
    return {};
}

Reply Daemon::search(Params& p) {
    const std::string query = p.text("query");
    if (auto why = p.error(); !why.empty())
        return invalid_params(why);
    auto found = m_session.store().search(query, 200);
    if (!found)
        return failed(found.error(), action_exit(found.error()));
    std::string out = "[";
    for (const auto& row : found.value())
        out += (out.size() > 1 ? "," : "") + message_json(m_session.store(), row);
    return Reply{out + "]", {}};
}

Reply Daemon::contacts() {
    auto& store = m_session.store();
    auto contacts = store.contacts();
    auto blocked = store.blocked();
    if (!contacts || !blocked) {
        const Error& e = !contacts ? contacts.error() : blocked.error();
        return failed(e, exit_for(e));
    }
    std::set<std::string> names(contacts->begin(), contacts->end());
    names.insert(blocked->begin(), blocked->end());
    std::string out = "[";
    for (const auto& name : names) {
        const bool is_blocked = std::find(blocked->begin(), blocked->end(), name) != blocked->end();
        out += (out.size() > 1 ? "," : "") + std::string("{\"name\":") + json_string(name) +
               ",\"blocked\":" + json_bool(is_blocked) + "}";
    }
    return Reply{out + "]", {}};
}

Reply Daemon::groups() {
    auto& store = m_session.store();
    auto groups = store.groups();
    if (!groups)
        return failed(groups.error(), group_exit(groups.error()));
    std::string out = "[";
    for (const auto& g : groups.value()) {
        auto members = store.group_members(g.group_id);
        std::string list = "[";
        if (members)
            for (const auto& m : members.value())
                list += (list.size() > 1 ? "," : "") + std::string("{\"name\":") +
                        json_string(m.username) + ",\"admin\":" + json_bool(m.admin) + "}";
        out += (out.size() > 1 ? "," : "") + std::string("{\"id\":") +
               json_string(to_hex(g.group_id)) + ",\"name\":" + json_string(g.name) +
               ",\"description\":" + json_string(g.description) +
               ",\"left\":" + json_bool(g.has_left) + ",\"members\":" + list + "]}";
    }
    return Reply{out + "]", {}};
}

Reply Daemon::verify(Params& p) {
    const std::string peer = p.text("name");
    const std::string action = p.text("action", false);
    if (auto why = p.error(); !why.empty())
        return invalid_params(why);
    auto& engine = m_session.engine();
    Status st;
    if (action == "mark" || action == "clear")
        st = engine.set_verified(peer, action == "mark");
    else if (action == "accept")
        st = engine.accept_new_identity(peer);
    else if (!action.empty())
        return invalid_params("\"action\" is mark, clear or accept");
    if (!st)
        return failed(st.error(), action_exit(st.error()));
    auto number = engine.safety_number(peer);
    if (!number)
        return failed(number.error(), action_exit(number.error()));
    return Reply{"{\"name\":" + json_string(peer) +
                     ",\"safety_number\":" + json_string(number->number) +
                     ",\"verified\":" + json_bool(number->trust.verified) +
                     ",\"needs_accept\":" + json_bool(number->trust.needs_accept) + "}",
                 {}};
}

Reply Daemon::typing(Params& p) {
    const bool typing = p.flag("typing", true);
    std::string bad;
    auto conversation = conversation_param(m_session.store(), p, bad);
    if (!bad.empty())
        return invalid_params(bad);
    if (!conversation)
        return failed(conversation.error(), action_exit(conversation.error()));
    m_session.engine().set_typing(*conversation, typing, /*force=*/true);
    return {};
}

void Daemon::send(Connection& c, const std::string& line) {
    if (c.dead)
        return;
    c.out += line;
    c.out += '\n';
    if (c.out.size() > kMaxPendingOutBytes) {
        // It stopped reading: holding more for it would only grow this process.
        drop(c);
        return;
    }
    flush(c);
}

void Daemon::flush(Connection& c) {
    while (!c.dead && !c.out.empty()) {
        const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0) {
            drop(c);
            return;
        }
        c.out.erase(0, static_cast<std::size_t>(n));
    }
    if (!c.dead)
        c.writer->setEnabled(!c.out.empty());
}

void Daemon::drop(Connection& c) {
    if (c.dead)
        return;
    c.dead = true;
    c.reader->setEnabled(false);
    c.writer->setEnabled(false);
    // Deleted once the event loop is back: this may run inside the connection's own notifier.
    QTimer::singleShot(0, [this, serial = c.serial] {
        auto it = m_clients.find(serial);
        if (it == m_clients.end())
            return;
        ::close(it->second->fd);
        it->second->fd = -1;
        m_clients.erase(it);
    });
}

bool Daemon::broadcast(const std::vector<std::string>& lines) {
    bool any = false;
    for (auto& [serial, c] : m_clients) {
        if (!c->subscribed || c->dead)
            continue;
        for (const auto& line : lines)
            send(*c, "{\"jsonrpc\":\"2.0\",\"method\":\"event\",\"params\":" + line + "}");
        any = any || !c->dead;
    }
    return any;
}

} // namespace

int cmd_daemon(const GlobalOptions& options, const std::filesystem::path& socket) {
    quit_on_signals();

    // Runs until stopped; connection trouble is retried by the engine, not fatal.
    class DaemonRunner : public FeedRunner {
    public:
        using FeedRunner::FeedRunner;
        void on_queue_drained() override {
            const bool first = !drained;
            FeedRunner::on_queue_drained();
            if (first)
                std::cerr << "veil: daemon ready" << std::endl;
        }
    } runner(0);

    int code;
    auto session = open_session(options, runner, code);
    if (!session)
        return code;
    const auto path = socket.empty() ? default_socket(options) : socket;
    Daemon daemon(*session, runner, path);
    if (auto st = daemon.listen(); !st) {
        err(st.error().message);
        return st.error().code == Errc::busy ? exit_profile : exit_failure;
    }
    EventFeed feed(session->store(), true, [&daemon](const std::vector<std::string>& lines) {
        return daemon.broadcast(lines);
    });
    runner.feed = &feed;
    daemon.set_feed(&feed);
    if (auto st = session->engine().start(); !st) {
        err(st.error().message);
        return exit_for(st.error());
    }
    std::cerr << "veil: daemon listening on " << inert_for_terminal(path.string(), true)
              << std::endl;
    code = runner.exec();
    session->engine().stop();
    return stopped_by_signal() ? exit_ok : code;
}

} // namespace veil::tui
