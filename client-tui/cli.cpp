#include "cli.h"
#include "cli_events.h"
#include "cli_support.h"

#include "notification.h"

#include "protocol/limits.h"
#include "qt/client_session.h"
#include "text_safety.h"
#include "util/environment.h"
#include "util/hex.h"
#include "util/log.h"

#include <QCoreApplication>
#include <QSocketNotifier>
#include <QTimer>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <openssl/crypto.h>
#include <optional>
#include <termios.h>
#include <thread>
#include <unistd.h>

namespace veil::tui {
namespace {

const std::string kEchoPrefix = "echo: ";

// Runs the engine until one queued message is through: ok once everything is settled,
// refused if the message failed. Group sends also say whom the relay could not reach.
class SendRunner : public Runner {
public:
    using Runner::Runner;
    Bytes id;
    void on_status(std::span<const std::uint8_t> mid, store::MessageStatus s) override {
        if (s == store::MessageStatus::failed && Bytes(mid.begin(), mid.end()) == id)
            finish(exit_refused);
    }
    void on_group_unreachable(std::span<const std::uint8_t> mid,
                              const std::vector<std::string>& members) override {
        if (Bytes(mid.begin(), mid.end()) != id)
            return;
        std::string names;
        for (const auto& m : members)
            names += (names.empty() ? "" : ", ") + m;
        err("the relay could not reach " + names);
    }
    void on_group_warning(std::span<const std::uint8_t>, const std::string& sentence) override {
        err(sentence);
    }
    void on_transfer(std::int64_t, int index, std::uint64_t done, std::uint64_t total) override {
        print_progress(index, done, total, m_last_percent);
    }
    store::AccountStore* store = nullptr;
    void on_settled() override {
        if (!m_ever_ready)
            return;
        // Settled with the message still queued: an upload of its files was cut off and
        // waits for the next run.
        auto row = store->find_outgoing(id);
        if (row && row.value() && row.value()->status == store::MessageStatus::queued) {
            finish(exit_unreachable);
            return;
        }
        finish(exit_ok);
    }

private:
    int m_last_percent = -1;
};

} // namespace

// Queues one message with `queue`, sends it and prints its id.
int run_send(const GlobalOptions& options,
             const std::function<Result<Bytes>(qt::ClientSession&)>& queue,
             int (*exit_of)(const Error&)) {
    quit_on_signals();
    SendRunner runner(options.timeout_s);
    int code;
    auto session = open_session(options, runner, code);
    if (!session)
        return code;
    runner.store = &session->store();
    auto id = queue(*session);
    if (!id) {
        err(id.error().message);
        return exit_of(id.error());
    }
    runner.id = id.value();
    if (auto st = session->engine().start(); !st) {
        err(st.error().message);
        return exit_of(st.error());
    }
    code = runner.exec();
    if (code == exit_ok)
        std::cout << to_hex(id.value()) << std::endl;
    else if (code == exit_unreachable)
        err("the message is queued and will be sent by the next run");
    return code;
}

namespace {

// The group id of a group conversation ("#" and hex), or nothing for a 1:1 one.
std::optional<Bytes> group_of(const store::MessageRow& row) {
    return store::group_id_of(row.peer);
}

std::string group_name(store::AccountStore& store, std::span<const std::uint8_t> group_id) {
    auto group = store.group(group_id);
    return group && group->has_value() ? (*group)->name : std::string();
}

} // namespace

std::string group_label(store::AccountStore& store, std::span<const std::uint8_t> group_id) {
    std::string name = group_name(store, group_id);
    return name.empty() ? "group " + to_hex(group_id).substr(0, 8) : name;
}

const char* status_name(store::MessageStatus status) {
    switch (status) {
    case store::MessageStatus::queued: return "queued";
    case store::MessageStatus::sent: return "sent";
    case store::MessageStatus::delivered: return "delivered";
    case store::MessageStatus::received: return "received";
    case store::MessageStatus::failed: return "failed";
    case store::MessageStatus::read: return "read";
    case store::MessageStatus::expired: return "expired";
    }
    return "unknown";
}

const char* attachment_state_name(store::AttachmentState state) {
    switch (state) {
    case store::AttachmentState::remote: return "remote";
    case store::AttachmentState::downloading: return "downloading";
    case store::AttachmentState::ready: return "ready";
    case store::AttachmentState::failed: return "failed";
    case store::AttachmentState::uploading: return "uploading";
    }
    return "unknown";
}

std::string message_json(store::AccountStore& store, const store::MessageRow& row) {
    std::string out = "{";
    out += "\"id\":" + json_string(to_hex(row.message_id));
    out += ",\"from\":" + json_string(row.sender);
    out += ",\"conversation\":" + json_string(row.peer);
    if (auto group = group_of(row)) {
        out += ",\"group\":" + json_string(group_name(store, *group));
        out += ",\"group_id\":" + json_string(to_hex(*group));
    } else {
        out += ",\"group\":null,\"group_id\":null";
    }
    out += ",\"outgoing\":";
    out += row.direction == store::Direction::outgoing ? "true" : "false";
    out += ",\"system\":";
    out += row.kind == store::MessageKind::system ? "true" : "false";
    out += ",\"text\":" + json_string(row.text);
    out += ",\"sent_at\":" + std::to_string(row.sent_at_ms);
    out += ",\"received_at\":" + std::to_string(row.received_at_ms);
    out += ",\"decrypted\":";
    out += row.status == store::MessageStatus::failed && row.direction == store::Direction::incoming
               ? "false"
               : "true";
    out += ",\"status\":" + json_string(status_name(row.status));
    if (row.quote) {
        out += ",\"reply_to\":{\"id\":" + json_string(to_hex(row.quote->message_id)) +
               ",\"from\":" + json_string(row.quote->author) +
               ",\"text\":" + json_string(row.quote->text) + "}";
    } else {
        out += ",\"reply_to\":null";
    }
    out += ",\"mentions\":[";
    for (std::size_t i = 0; i < row.mentions.size(); ++i)
        out += (i ? "," : "") + json_string(row.mentions[i]);
    out += "],\"edited\":";
    out += row.edited_at_ms ? "true" : "false";
    out += ",\"deleted\":";
    out += row.deleted ? "true" : "false";
    out += ",\"expire_timer\":" + std::to_string(row.expire_timer_s);
    out += ",\"expires_at\":" + std::to_string(row.expires_at_ms);
    out += ",\"reactions\":[";
    for (std::size_t i = 0; i < row.reactions.size(); ++i)
        out += std::string(i ? "," : "") + "{\"from\":" + json_string(row.reactions[i].reactor) +
               ",\"emoji\":" + json_string(row.reactions[i].emoji) + "}";
    out += "],\"attachments\":[";
    for (std::size_t i = 0; i < row.attachments.size(); ++i) {
        const auto& a = row.attachments[i];
        out += std::string(i ? "," : "") + "{\"index\":" + std::to_string(a.index) +
               ",\"name\":" + json_string(a.file_name) + ",\"size\":" + std::to_string(a.size) +
               ",\"content_type\":" + json_string(a.content_type) +
               ",\"state\":" + json_string(attachment_state_name(a.state)) + "}";
    }
    out += "]}";
    return out;
}

// A group of this account by name, or by id in hex; a clear error when none or several match.
Result<store::GroupRow> find_group(store::AccountStore& store, const std::string& name) {
    auto groups = store.groups();
    if (!groups)
        return groups.error();
    std::vector<store::GroupRow> named;
    for (auto& g : groups.value()) {
        if (to_hex(g.group_id) == name)
            return g;
        if (g.name == name)
            named.push_back(g);
    }
    if (named.empty())
        return make_error(Errc::not_found, "no group is called " + name + " (see veil group list)");
    if (named.size() > 1)
        return make_error(Errc::invalid_argument, std::to_string(named.size()) +
                                                      " groups are called " + name +
                                                      "; give its id (see veil group list)");
    return named.front();
}

namespace {

struct EnvironmentSecrets {
    std::optional<SecretBytes> passphrase;
    std::optional<SecretBytes> new_passphrase;
};

EnvironmentSecrets& environment_secrets() {
    static EnvironmentSecrets secrets;
    return secrets;
}

} // namespace

void take_secrets_from_environment() {
    auto& secrets = environment_secrets();
    secrets.passphrase = take_secret_from_environment("VEIL_PASSPHRASE");
    secrets.new_passphrase = take_secret_from_environment("VEIL_NEW_PASSPHRASE");
}

std::optional<SecretBytes> take_environment_passphrase() {
    return std::exchange(environment_secrets().passphrase, std::nullopt);
}

void put_environment_passphrase(std::optional<SecretBytes> passphrase) {
    environment_secrets().passphrase = std::move(passphrase);
}

const std::optional<SecretBytes>& environment_new_passphrase() {
    return environment_secrets().new_passphrase;
}

bool read_passphrase(const GlobalOptions& options, bool confirm, SecretBytes& out) {
    if (const auto& env = environment_secrets().passphrase) {
        if (env->empty()) {
            err("VEIL_PASSPHRASE is set but empty");
            return false;
        }
        out = env->clone();
        return true;
    }
    if (!options.passphrase_file.empty()) {
        std::error_code ec;
        std::ifstream in(options.passphrase_file, std::ios::binary);
        if (!std::filesystem::is_regular_file(options.passphrase_file, ec) || !in) {
            err("cannot read the passphrase file " + options.passphrase_file.string());
            return false;
        }
        std::string line;
        std::getline(in, line);
        if (line.empty()) {
            err("the passphrase file " + options.passphrase_file.string() + " is empty");
            return false;
        }
        out = SecretBytes::from_string(line);
        std::fill(line.begin(), line.end(), '\0');
        return true;
    }
    if (!::isatty(STDIN_FILENO)) {
        err("no passphrase: set VEIL_PASSPHRASE or use --passphrase-file");
        return false;
    }
    auto prompt = [](const char* text) {
        std::cerr << text << std::flush;
        termios old{};
        ::tcgetattr(STDIN_FILENO, &old);
        termios quiet = old;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
        std::string line;
        std::getline(std::cin, line);
        ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
        std::cerr << "\n";
        return line;
    };
    // What was typed is wiped on every way out, a refusal too.
    auto wipe = [](std::string& s) { OPENSSL_cleanse(s.data(), s.size()); };
    std::string first = prompt("Passphrase: ");
    if (confirm) {
        std::string second = prompt("Passphrase again: ");
        bool same = first == second;
        wipe(second);
        if (!same) {
            wipe(first);
            err("the passphrases differ");
            return false;
        }
    }
    out = SecretBytes::from_string(first);
    wipe(first);
    return true;
}

int cmd_register(const GlobalOptions& options, const std::string& name,
                 const std::string& device_name) {
    if (options.relay_url.empty()) {
        err("register needs --relay ws://HOST:PORT");
        return exit_usage;
    }
    SecretBytes passphrase;
    if (!read_passphrase(options, true, passphrase))
        return exit_usage;
    if (passphrase.empty()) {
        err("the passphrase must not be empty");
        return exit_usage;
    }
    quit_on_signals();
    bool made_folder = !std::filesystem::exists(options.profile);

    class RegisterRunner : public Runner {
    public:
        using Runner::Runner;
        void on_state(engine::State state) override {
            Runner::on_state(state);
            if (state == engine::State::ready)
                finish(exit_ok);
        }
    } runner(options.timeout_s);

    auto session = qt::ClientSession::create(options.profile, passphrase, name, options.relay_url,
                                             runner, device_name);
    if (!session) {
        err(session.error().message);
        return exit_for(session.error());
    }
    setup_logging(options);
    if (auto st = session.value()->engine().start(); !st) {
        err(st.error().message);
        return exit_for(st.error());
    }
    int code = runner.exec();
    if (code == exit_ok) {
        std::cout << "registered " << name << " on " << options.relay_url << std::endl;
        return code;
    }
    // The relay did not take the account: nothing of it is kept, so the same folder can be
    // used again at once.
    session.value().reset();
    discard_new_profile(options, made_folder);
    return code;
}

int cmd_contacts_add(const GlobalOptions& options, const std::string& name) {
    Runner runner(0);
    int code;
    auto session = open_session(options, runner, code);
    if (!session)
        return code;
    if (auto st = session->engine().add_contact(name); !st) {
        err(st.error().message);
        return exit_for(st.error());
    }
    std::cout << "added " << name << std::endl;
    return exit_ok;
}

int cmd_contacts_list(const GlobalOptions& options) {
    Runner runner(0);
    int code;
    auto session = open_session(options, runner, code);
    if (!session)
        return code;
    auto contacts = session->store().contacts();
    if (!contacts) {
        err(contacts.error().message);
        return exit_for(contacts.error());
    }
    auto blocked = session->store().blocked();
    if (!blocked) {
        err(blocked.error().message);
        return exit_for(blocked.error());
    }
    for (const auto& c : contacts.value())
        if (std::find(blocked->begin(), blocked->end(), c) == blocked->end())
            std::cout << c << "\n";
    for (const auto& b : blocked.value())
        std::cout << b << " (blocked)\n";
    return exit_ok;
}

int cmd_block(const GlobalOptions& options, const std::string& name, bool blocked) {
    Runner runner(0);
    int code;
    auto session = open_session(options, runner, code);
    if (!session)
        return code;
    if (auto st = session->engine().set_blocked(name, blocked); !st) {
        err(st.error().message);
        return exit_for(st.error());
    }
    std::cout << (blocked ? "blocked " : "unblocked ") << name << std::endl;
    return exit_ok;
}

int cmd_notify(const GlobalOptions& options, const std::string& word) {
    NotifySettings probe;
    if (!word.empty() && !apply_notify_word(probe, word)) {
        err("notify takes all, sender, none, off or on");
        return exit_usage;
    }
    Runner runner(0);
    int code;
    auto session = open_session(options, runner, code);
    if (!session)
        return code;
    auto& store = session->store();
    auto preview = store.setting(kPreviewSettingKey);
    auto enabled = store.setting(kNotificationsSettingKey);
    if (!preview || !enabled) {
        err(!preview ? preview.error().message : enabled.error().message);
        return exit_for(!preview ? preview.error() : enabled.error());
    }
    NotifySettings settings = notify_settings_from(preview.value(), enabled.value());
    if (!word.empty()) {
        apply_notify_word(settings, word);
        Status st = store.set_setting(kPreviewSettingKey, preview_name(settings.preview));
        if (st)
            st = store.set_setting(kNotificationsSettingKey, settings.enabled ? "on" : "off");
        if (!st) {
            err(st.error().message);
            return exit_for(st.error());
        }
    }
    std::cout << describe(settings) << std::endl;
    return exit_ok;
}

int cmd_send(const GlobalOptions& options, const std::string& peer, const std::string& text) {
    return run_send(
        options, [&](qt::ClientSession& session) { return session.engine().send_text(peer, text); },
        exit_for);
}

namespace {

// Writes a batch to stdout and flushes it; false when stdout is gone (the reader quit).
bool print_lines(const std::vector<std::string>& lines) {
    for (const auto& line : lines)
        std::cout << line << "\n";
    std::cout << std::flush;
    return static_cast<bool>(std::cout);
}

} // namespace

int cmd_receive(const GlobalOptions& options, bool json, int wait_s) {
    quit_on_signals();

    // Messages are printed from the store, after a cursor kept in the profile, so a message
    // stored by any earlier run (a send, a crash before printing) is printed exactly once.
    class ReceiveRunner : public FeedRunner {
    public:
        ReceiveRunner(int timeout_s, int wait_s)
            : FeedRunner(timeout_s)
            , m_wait_s(wait_s) {}
        engine::Engine* engine = nullptr;

        void on_queue_drained() override {
            FeedRunner::on_queue_drained();
            if (m_wait_s > 0)
                std::cerr << "veil: waiting for messages" << std::endl;
            else if (engine->settled())
                finish(exit_ok);
        }
        // Without --wait, the verb ends once its acks and delivery receipts are through, so the
        // relay deletes what was printed and the senders see it delivered.
        void on_settled() override {
            if (drained && m_wait_s <= 0)
                finish(exit_ok);
        }

    private:
        int m_wait_s;
    } runner(wait_s > 0 ? 0 : options.timeout_s, wait_s);

    int code;
    auto session = open_session(options, runner, code);
    if (!session)
        return code;
    EventFeed feed(session->store(), json, print_lines);
    runner.feed = &feed;
    runner.engine = &session->engine();
    if (wait_s > 0)
        QTimer::singleShot(wait_s * 1000, [&runner, &feed] {
            feed.catch_up();
            runner.finish(exit_ok);
        });
    if (auto st = session->engine().start(); !st) {
        err(st.error().message);
        return exit_for(st.error());
    }
    return runner.exec();
}

int cmd_listen(const GlobalOptions& options, bool json) {
    quit_on_signals();
    // A closed pipe shows as a failed write (exit 1, nothing acked), not as a kill by SIGPIPE.
    std::signal(SIGPIPE, SIG_IGN);

    // Runs until stopped; the relay may come and go meanwhile (the engine reconnects).
    class ListenRunner : public FeedRunner {
    public:
        using FeedRunner::FeedRunner;
        void on_queue_drained() override {
            const bool first = !drained;
            FeedRunner::on_queue_drained();
            if (first)
                std::cerr << "veil: listening" << std::endl;
        }
        // A lost connection is retried, not fatal; a refusal (unlinked, auth refused) is.
        void on_error(const Error& e) override { err(e.message); }
    } runner(0);

    int code;
    auto session = open_session(options, runner, code);
    if (!session)
        return code;
    // A reader that went away ends the listener instead of it printing into nothing.
    bool stdout_closed = false;
    EventFeed feed(
        session->store(), json, [&runner, &stdout_closed](const std::vector<std::string>& lines) {
            if (print_lines(lines))
                return true;
            if (!stdout_closed)
                err("standard output is closed: stopping (what it could not take stays unacked)");
            stdout_closed = true;
            runner.finish(exit_failure);
            return false;
        });
    runner.feed = &feed;
    if (auto st = session->engine().start(); !st) {
        err(st.error().message);
        return exit_for(st.error());
    }
    code = runner.exec();
    session->engine().stop();
    return stopped_by_signal() ? exit_ok : code;
}

int cmd_search(const GlobalOptions& options, const std::string& query, bool json) {
    // The store alone answers: no relay is needed, and nothing about the search leaves here.
    Runner runner(0);
    int code;
    auto session = open_session(options, runner, code);
    if (!session)
        return code;
    auto& store = session->store();
    auto found = store.search(query, 200);
    if (!found) {
        err(found.error().message);
        return exit_for(found.error());
    }
    for (const auto& row : found.value()) {
        if (json) {
            std::cout << message_json(store, row) << "\n";
            continue;
        }
        std::string where = row.peer;
        if (auto group = group_of(row))
            where = "#" + group_label(store, *group);
        std::cout << inert_for_terminal(where, true) << "\t" << inert_for_terminal(row.sender, true)
                  << ": " << inert_for_terminal(row.text, true) << "\n";
    }
    std::cout << std::flush;
    return found->empty() ? exit_failure : exit_ok;
}

int cmd_bot_echo(const GlobalOptions& options) {
    quit_on_signals();

    class EchoRunner : public Runner {
    public:
        using Runner::Runner;
        engine::Engine* engine = nullptr;
        void on_message(const store::MessageRow& row) override {
            if (row.direction != store::Direction::incoming ||
                row.status == store::MessageStatus::failed)
                return;
            // Never echo an echo: two bots would answer each other for ever.
            if (row.text.rfind(kEchoPrefix, 0) == 0)
                return;
            auto sent = engine->send_text(row.sender, kEchoPrefix + row.text);
            if (!sent)
                err(sent.error().message);
        }
        void on_state(engine::State state) override {
            if (state == engine::State::failed)
                finish(exit_refused);
            if (state == engine::State::ready)
                std::cerr << "veil: echo bot ready" << std::endl;
        }
    } runner(0);

    int code;
    auto session = open_session(options, runner, code);
    if (!session)
        return code;
    runner.engine = &session->engine();
    if (auto st = session->engine().start(); !st) {
        err(st.error().message);
        return exit_for(st.error());
    }
    code = runner.exec();
    session->engine().stop();
    return code == exit_failure ? exit_ok : code;
}

namespace {

// Runs a membership change once the engine is ready and caught up, and ends once the relay
// accepted it and everything it queued (the group's name for new members) is sent.
class GroupChangeRunner : public Runner {
public:
    GroupChangeRunner(int timeout_s, std::function<Result<Bytes>()> action)
        : Runner(timeout_s)
        , m_action(std::move(action)) {}
    engine::Engine* engine = nullptr;
    Bytes group_id;

    void on_queue_drained() override {
        if (m_acted)
            return;
        m_acted = true;
        auto id = m_action();
        if (!id) {
            err(id.error().message);
            finish(group_exit(id.error()));
            return;
        }
        group_id = id.value();
    }
    void on_group_changed(std::span<const std::uint8_t> id) override {
        if (m_acted && !group_id.empty() && Bytes(id.begin(), id.end()) == group_id)
            m_accepted = true;
        maybe_finish();
    }
    void on_group_warning(std::span<const std::uint8_t>, const std::string& sentence) override {
        err(sentence);
    }
    void on_error(const Error& e) override {
        Runner::on_error(e);
        if (m_acted && !m_accepted)
            finish(group_exit(e) == exit_failure ? exit_refused : group_exit(e));
    }
    void on_settled() override { maybe_finish(); }

private:
    void maybe_finish() {
        if (m_accepted && engine->settled())
            finish(exit_ok);
    }
    std::function<Result<Bytes>()> m_action;
    bool m_acted = false;
    bool m_accepted = false;
};

// Prints the group's id once the change is through.
int run_group_change(
    const GlobalOptions& options,
    const std::function<Result<Bytes>(engine::Engine&, store::AccountStore&)>& act) {
    quit_on_signals();
    engine::Engine* engine = nullptr;
    store::AccountStore* store = nullptr;
    GroupChangeRunner runner(options.timeout_s, [&] { return act(*engine, *store); });
    int code;
    auto session = open_session(options, runner, code);
    if (!session)
        return code;
    engine = &session->engine();
    store = &session->store();
    runner.engine = engine;
    if (auto st = engine->start(); !st) {
        err(st.error().message);
        return group_exit(st.error());
    }
    code = runner.exec();
    if (code == exit_ok)
        std::cout << to_hex(runner.group_id) << std::endl;
    return code;
}

} // namespace

int cmd_group_create(const GlobalOptions& options, const std::string& name,
                     const std::vector<std::string>& members) {
    return run_group_change(options, [&](engine::Engine& engine, store::AccountStore&) {
        return engine.create_group(name, members);
    });
}

int cmd_group_change(const GlobalOptions& options, const std::string& action,
                     const std::string& name, const std::vector<std::string>& members) {
    return run_group_change(
        options, [&](engine::Engine& engine, store::AccountStore& store) -> Result<Bytes> {
            auto group = find_group(store, name);
            if (!group)
                return group.error();
            const Bytes& id = group->group_id;
            Status st = action == "add"      ? engine.add_group_members(id, members)
                        : action == "remove" ? engine.remove_group_members(id, members)
                        : action == "promote" || action == "demote"
                            ? engine.set_group_admin(id, members.at(0), action == "promote")
                            : engine.leave_group(id);
            if (!st)
                return st.error();
            return id;
        });
}

int cmd_group_info(const GlobalOptions& options, const std::string& group_name,
                   const std::string& what, const std::string& value) {
    quit_on_signals();
    class InfoRunner : public Runner {
    public:
        using Runner::Runner;
        void on_settled() override {
            if (m_ever_ready)
                finish(exit_ok);
        }
    } runner(options.timeout_s);
    int code;
    auto session = open_session(options, runner, code);
    if (!session)
        return code;
    auto group = find_group(session->store(), group_name);
    if (!group) {
        err(group.error().message);
        return group_exit(group.error());
    }
    // Stored at once and sent to the members as a group message, like any other.
    const bool naming = what == "name";
    Status st;
    if (what == "avatar") {
        Bytes image;
        if (!value.empty()) {
            std::ifstream in(value, std::ios::binary);
            std::error_code ec;
            const auto size = std::filesystem::file_size(value, ec);
            if (!in || ec) {
                err("cannot read the picture " + value);
                return exit_usage;
            }
            if (size > protocol::kMaxGroupAvatarBytes) {
                err("a group picture is at most 64 KiB; " + value + " is larger");
                return exit_failure;
            }
            image.resize(static_cast<std::size_t>(size));
            in.read(reinterpret_cast<char*>(image.data()), static_cast<std::streamsize>(size));
        }
        st = session->engine().set_group_avatar(group->group_id, image);
    } else {
        st = session->engine().set_group_info(group->group_id, naming ? value : group->name,
                                              naming ? group->description : value);
    }
    if (!st) {
        err(st.error().message);
        return group_exit(st.error());
    }
    if (auto started = session->engine().start(); !started) {
        err(started.error().message);
        return group_exit(started.error());
    }
    code = runner.exec();
    if (code == exit_unreachable)
        err("the change is stored and will be sent to the members by the next run");
    return code;
}

int cmd_group_list(const GlobalOptions& options) {
    Runner runner(0);
    int code;
    auto session = open_session(options, runner, code);
    if (!session)
        return code;
    auto groups = session->store().groups();
    if (!groups) {
        err(groups.error().message);
        return group_exit(groups.error());
    }
    for (const auto& g : groups.value()) {
        auto members = session->store().group_members(g.group_id);
        std::cout << to_hex(g.group_id) << "  " << inert_for_terminal(g.name, true) << "  "
                  << (members ? members->size() : 0) << " members" << (g.has_left ? "  (left)" : "")
                  << "\n";
    }
    return exit_ok;
}

int cmd_group_members(const GlobalOptions& options, const std::string& name) {
    Runner runner(0);
    int code;
    auto session = open_session(options, runner, code);
    if (!session)
        return code;
    auto group = find_group(session->store(), name);
    if (!group) {
        err(group.error().message);
        return group_exit(group.error());
    }
    auto members = session->store().group_members(group->group_id);
    if (!members) {
        err(members.error().message);
        return group_exit(members.error());
    }
    for (const auto& m : members.value())
        std::cout << m.username << (m.admin ? "  admin" : "") << "\n";
    return exit_ok;
}

int cmd_send_group(const GlobalOptions& options, const std::string& name, const std::string& text) {
    return run_send(
        options,
        [&](qt::ClientSession& session) -> Result<Bytes> {
            auto group = find_group(session.store(), name);
            if (!group)
                return group.error();
            return session.engine().send_group_message(group->group_id, text);
        },
        group_exit);
}

} // namespace veil::tui
