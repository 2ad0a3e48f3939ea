// Headless verbs of everyday messaging: replies and files (send), reactions, edits, deletions,
// resending, saving received files, safety numbers, disappearing timers, read state and typing.
#include "cli.h"
#include "cli_support.h"

#include "protocol/limits.h"
#include "qr_text.h"
#include "text_safety.h"
#include "util/hex.h"

#include <QTimer>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <unistd.h>

namespace veil::tui {
namespace {

// Runs an action once the profile is open and the engine started, and ends once everything it
// queued reached the relay (exit 0), or the action failed.
class ActionRunner : public Runner {
public:
    using Runner::Runner;
    // An error the engine reported meanwhile (an unknown recipient, a refused send) fails the
    // verb even though the queue drained.
    void on_error(const Error& e) override {
        Runner::on_error(e);
        m_failed = true;
    }
    void on_status(std::span<const std::uint8_t>, store::MessageStatus s) override {
        if (s == store::MessageStatus::failed)
            m_failed = true;
    }
    void on_settled() override {
        if (m_ever_ready)
            finish(m_failed ? exit_refused : exit_ok);
    }

private:
    bool m_failed = false;
};

// Opens the profile, runs `act` on it (before connecting: actions work offline and are queued),
// then connects and waits until the queue is through. Prints `done` on success.
int run_action(const GlobalOptions& options, const std::function<Status(qt::ClientSession&)>& act,
               const std::string& done, bool needs_relay = true) {
    quit_on_signals();
    ActionRunner runner(options.timeout_s);
    int code;
    auto session = open_session(options, runner, code);
    if (!session)
        return code;
    if (auto st = act(*session); !st) {
        err(st.error().message);
        return action_exit(st.error());
    }
    if (needs_relay) {
        if (auto st = session->engine().start(); !st) {
            err(st.error().message);
            return action_exit(st.error());
        }
        code = runner.exec();
        if (code == exit_unreachable)
            err("it is queued and will be sent by the next run");
        if (code != exit_ok)
            return code;
    }
    if (!done.empty())
        std::cout << done << std::endl;
    return exit_ok;
}

// "30s", "5m", "1h", "2d", "1w", "off" (or a number of seconds).
std::optional<std::uint32_t> parse_duration(const std::string& text) {
    if (text == "off" || text == "0")
        return 0u;
    if (text.empty())
        return std::nullopt;
    std::size_t i = 0;
    std::uint64_t n = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
        n = n * 10 + static_cast<std::uint64_t>(text[i] - '0');
        if (n > protocol::kMaxExpireTimerSeconds)
            return std::nullopt;
        ++i;
    }
    if (i == 0)
        return std::nullopt;
    std::string unit = text.substr(i);
    std::uint64_t scale = unit.empty() || unit == "s" ? 1
                          : unit == "m"               ? 60
                          : unit == "h"               ? 3600
                          : unit == "d"               ? 86400
                          : unit == "w"               ? 7 * 86400
                                                      : 0;
    if (scale == 0 || n * scale > protocol::kMaxExpireTimerSeconds)
        return std::nullopt;
    return static_cast<std::uint32_t>(n * scale);
}

} // namespace

int action_exit(const Error& e) {
    switch (e.code) {
    case Errc::not_found:
    case Errc::corrupt:
    case Errc::already_exists:
    case Errc::busy:
    case Errc::refused: // engine refusals are local (the time limit, a deleted message)
    case Errc::untrusted_identity: return exit_failure;
    default: return exit_for(e);
    }
}

Result<store::MessageRow> find_message(store::AccountStore& store, const std::string& hex) {
    auto id = from_hex(hex);
    if (!id || id->size() != protocol::kMessageIdBytes)
        return make_error(Errc::invalid_argument,
                          "'" + hex + "' is not a message id (32 hex digits, as receive prints)");
    auto rows = store.find_by_message_id(id.value());
    if (!rows)
        return rows.error();
    for (const auto& row : rows.value())
        if (row.kind != store::MessageKind::system)
            return row;
    return make_error(Errc::not_found, "no message has the id " + hex);
}

Result<std::string> conversation_of(store::AccountStore& store, const std::string& name,
                                    bool group) {
    if (!group)
        return name;
    auto g = find_group(store, name);
    if (!g)
        return g.error();
    return store::group_conversation(g->group_id);
}

namespace {

// A send refused for a blocked contact exits 5, like plain send; other failures are the action's.
int send_exit(const Error& e) {
    return e.code == Errc::refused ? exit_refused : action_exit(e);
}

} // namespace

int cmd_send_rich(const GlobalOptions& options, const std::string& to, bool group,
                  const std::string& text, const std::vector<std::string>& files,
                  const std::string& reply) {
    return run_send(
        options,
        [&](qt::ClientSession& session) -> Result<Bytes> {
            auto conversation = conversation_of(session.store(), to, group);
            if (!conversation)
                return conversation.error();
            engine::Outgoing message;
            message.text = text;
            for (const auto& f : files)
                message.files.emplace_back(f);
            if (!reply.empty()) {
                auto target = find_message(session.store(), reply);
                if (!target)
                    return target.error();
                message.reply_to = engine::MessageRef{target->sender, target->message_id};
            }
            return session.engine().send(*conversation, message);
        },
        send_exit);
}

int cmd_react(const GlobalOptions& options, const std::string& id, const std::string& emoji) {
    return run_action(
        options,
        [&](qt::ClientSession& s) -> Status {
            auto row = find_message(s.store(), id);
            if (!row)
                return row.error();
            return s.engine().react(row->peer, {row->sender, row->message_id}, emoji);
        },
        emoji.empty() ? "reaction removed" : "reacted");
}

int cmd_edit(const GlobalOptions& options, const std::string& id, const std::string& text) {
    return run_action(
        options,
        [&](qt::ClientSession& s) -> Status {
            auto row = find_message(s.store(), id);
            if (!row)
                return row.error();
            return s.engine().edit(row->peer, row->message_id, text);
        },
        "edited");
}

int cmd_delete(const GlobalOptions& options, const std::string& id) {
    return run_action(
        options,
        [&](qt::ClientSession& s) -> Status {
            auto row = find_message(s.store(), id);
            if (!row)
                return row.error();
            return s.engine().delete_for_everyone(row->peer, row->message_id);
        },
        "deleted for everyone");
}

int cmd_resend(const GlobalOptions& options, const std::string& id) {
    std::string new_id;
    int code = run_action(
        options,
        [&](qt::ClientSession& s) -> Status {
            auto row = find_message(s.store(), id);
            if (!row)
                return row.error();
            auto sent = s.engine().resend(row->message_id);
            if (!sent)
                return sent.error();
            new_id = to_hex(sent.value());
            return {};
        },
        std::string());
    if (code == exit_ok)
        std::cout << new_id << std::endl;
    return code;
}

int cmd_timer(const GlobalOptions& options, const std::string& to, bool group,
              const std::string& duration) {
    auto seconds = parse_duration(duration);
    if (!seconds) {
        err("timer takes off, or a duration like 30s, 5m, 1h, 1d or 1w (at most 4 weeks)");
        return exit_usage;
    }
    return run_action(
        options,
        [&](qt::ClientSession& s) -> Status {
            auto conversation = conversation_of(s.store(), to, group);
            if (!conversation)
                return conversation.error();
            return s.engine().set_disappearing(*conversation, *seconds);
        },
        "disappearing messages: " + engine::describe_timer(*seconds));
}

int cmd_read(const GlobalOptions& options, const std::string& to, bool group) {
    return run_action(
        options,
        [&](qt::ClientSession& s) -> Status {
            auto conversation = conversation_of(s.store(), to, group);
            if (!conversation)
                return conversation.error();
            return s.engine().mark_read(*conversation);
        },
        "marked read");
}

int cmd_read_receipts(const GlobalOptions& options, const std::string& word) {
    if (!word.empty() && word != "on" && word != "off") {
        err("read-receipts takes on or off");
        return exit_usage;
    }
    Runner runner(0);
    int code;
    auto session = open_session(options, runner, code);
    if (!session)
        return code;
    if (!word.empty())
        if (auto st = session->engine().set_read_receipts(word == "on"); !st) {
            err(st.error().message);
            return action_exit(st.error());
        }
    std::cout << "read receipts " << (session->engine().read_receipts() ? "on" : "off")
              << std::endl;
    return exit_ok;
}

int cmd_typing(const GlobalOptions& options, const std::string& to, bool group, bool typing) {
    quit_on_signals();
    class TypingRunner : public Runner {
    public:
        using Runner::Runner;
        engine::Engine* engine = nullptr;
        std::string peer;
        bool typing = true;
        void on_queue_drained() override {
            engine->set_typing(peer, typing, /*force=*/true);
            // The indicator is one transient send: done once the relay answered it.
            QTimer::singleShot(0, [this] { check(); });
        }
        void check() {
            if (engine->settled())
                finish(exit_ok);
        }
        void on_settled() override { finish(exit_ok); }
    } runner(options.timeout_s);
    int code;
    auto session = open_session(options, runner, code);
    if (!session)
        return code;
    auto peer = conversation_of(session->store(), to, group);
    if (!peer) {
        err(peer.error().message);
        return action_exit(peer.error());
    }
    if (!group) {
        auto devices = session->store().known_devices(to);
        if (!devices || !devices.value()) {
            err("no session with " + to + " yet: exchange a message first");
            return exit_failure;
        }
    }
    runner.engine = &session->engine();
    runner.peer = peer.value();
    runner.typing = typing;
    if (auto st = session->engine().start(); !st) {
        err(st.error().message);
        return action_exit(st.error());
    }
    return runner.exec();
}

int cmd_save(const GlobalOptions& options, const std::string& id, const std::string& dir) {
    quit_on_signals();
    class SaveRunner : public Runner {
    public:
        using Runner::Runner;
        std::function<void()> go;
        bool went = false;
        void on_queue_drained() override {
            if (!went) {
                went = true;
                go();
            }
        }
        void on_transfer(std::int64_t, int index, std::uint64_t done,
                         std::uint64_t total) override {
            print_progress(index, done, total, m_last);
        }

    private:
        int m_last = -1;
    } runner(options.timeout_s);
    int code;
    auto session = open_session(options, runner, code);
    if (!session)
        return code;
    auto row = find_message(session->store(), id);
    if (!row) {
        err(row.error().message);
        return action_exit(row.error());
    }
    if (row->attachments.empty()) {
        err("that message has no files");
        return exit_failure;
    }
    std::filesystem::path folder =
        dir.empty() ? std::filesystem::current_path() : std::filesystem::path(dir);
    std::error_code ec;
    if (!std::filesystem::is_directory(folder, ec)) {
        err(folder.string() + " is not a folder");
        return exit_usage;
    }
    auto& engine = session->engine();
    std::vector<int> left;
    for (const auto& a : row->attachments)
        left.push_back(a.index);
    int result = exit_ok;
    // One file after the other: fetched (if needed), then decrypted next to the others under
    // the sender's name, never over an existing file.
    std::function<void()> next = [&] {
        if (left.empty()) {
            runner.finish(result);
            return;
        }
        int index = left.front();
        left.erase(left.begin());
        engine.download(row->id, index, [&, index](Status st) {
            if (!st) {
                err(st.error().message);
                result = action_exit(st.error());
                next();
                return;
            }
            const auto& a = row->attachments[static_cast<std::size_t>(index)];
            std::filesystem::path target = folder / a.file_name;
            for (int n = 1; std::filesystem::exists(target, ec); ++n)
                target = folder / (std::filesystem::path(a.file_name).stem().string() + " (" +
                                   std::to_string(n) + ")" +
                                   std::filesystem::path(a.file_name).extension().string());
            if (auto saved = engine.save_attachment(row->id, index, target); !saved) {
                err(saved.error().message);
                result = action_exit(saved.error());
            } else {
                std::cout << inert_for_terminal(target.string(), true) << std::endl;
            }
            next();
        });
    };
    runner.go = next;
    if (auto st = engine.start(); !st) {
        err(st.error().message);
        return action_exit(st.error());
    }
    return runner.exec();
}

int cmd_verify(const GlobalOptions& options, const std::string& peer, const std::string& action,
               bool ascii) {
    Runner runner(0);
    int code;
    auto session = open_session(options, runner, code);
    if (!session)
        return code;
    auto& engine = session->engine();
    Status st;
    if (action == "mark")
        st = engine.set_verified(peer, true);
    else if (action == "clear")
        st = engine.set_verified(peer, false);
    else if (action == "accept")
        st = engine.accept_new_identity(peer);
    if (!st) {
        err(st.error().message);
        return action_exit(st.error());
    }
    auto number = engine.safety_number(peer);
    if (!number) {
        err(number.error().message);
        return action_exit(number.error());
    }
    std::cout << "Safety number with " << peer << ":\n";
    const std::string& digits = number->number;
    for (std::size_t i = 0; i < digits.size(); i += 24)
        std::cout << "  " << digits.substr(i, 23) << "\n";
    if (action.empty()) {
        // The code's bytes as upper-case hex, which QR's alphanumeric mode packs well.
        std::string payload = to_hex(number->qr_payload);
        for (auto& c : payload)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        for (const auto& line : ascii ? qr_ascii_lines(payload) : qr_text_lines(payload))
            std::cout << line << "\n";
    }
    std::cout << (number->trust.verified ? "verified" : "not verified");
    if (number->trust.needs_accept)
        std::cout << "; their key changed: sending is paused until you run veil verify " << peer
                  << " --accept";
    std::cout << std::endl;
    return exit_ok;
}

int cmd_encryption(const GlobalOptions& options, const std::string& to, bool group,
                   const std::string& action) {
    auto print = [&](qt::ClientSession& s) -> Status {
        auto conversation = conversation_of(s.store(), to, group);
        if (!conversation)
            return conversation.error();
        auto details = s.engine().conversation_security(*conversation);
        if (!details)
            return details.error();
        for (const auto& m : details->members) {
            std::cout << inert_for_terminal(m.username, true) << ": ";
            if (!m.identity_known)
                std::cout << "no key yet (no message exchanged)";
            else if (m.trust.needs_accept)
                std::cout << "key changed, not accepted (veil verify " << m.username
                          << " --accept)";
            else
                std::cout << (m.trust.verified ? "verified" : "not verified");
            std::cout << "\n";
            for (const auto& d : m.devices) {
                std::cout << "  device " << d.device_id << ": "
                          << (d.session ? "session" : "no session yet");
                if (d.missing_messages > 0)
                    std::cout << ", " << d.missing_messages
                              << (d.missing_messages == 1 ? " message" : " messages")
                              << " sent but not received";
                if (details->group)
                    std::cout << (d.holds_sender_key ? ", has your group key"
                                                     : ", gets your group key with your next "
                                                       "message");
                std::cout << "\n";
            }
        }
        std::cout << std::flush;
        return {};
    };
    if (action.empty())
        return run_action(options, print, std::string(), /*needs_relay=*/false);
    if (group && action == "renew")
        return run_action(
            options,
            [&](qt::ClientSession& s) -> Status {
                auto g = find_group(s.store(), to);
                if (!g)
                    return g.error();
                return s.engine().renew_group_key(g->group_id);
            },
            "your next message to the group carries a new group key", /*needs_relay=*/false);
    if (!group && action == "restart") {
        // The engine must be ready to fetch the devices' bundles: the restart runs once it is.
        quit_on_signals();
        class RestartRunner : public ActionRunner {
        public:
            using ActionRunner::ActionRunner;
            qt::ClientSession* session = nullptr;
            std::string peer;
            bool asked = false;
            void on_state(engine::State state) override {
                ActionRunner::on_state(state);
                if (state != engine::State::ready || asked)
                    return;
                asked = true;
                if (auto st = session->engine().restart_sessions(peer); !st) {
                    err(st.error().message);
                    finish(action_exit(st.error()));
                }
            }
        } runner(options.timeout_s);
        int code;
        auto session = open_session(options, runner, code);
        if (!session)
            return code;
        runner.session = session.get();
        runner.peer = to;
        if (auto st = session->engine().start(); !st) {
            err(st.error().message);
            return action_exit(st.error());
        }
        code = runner.exec();
        if (code != exit_ok)
            return code;
        std::cout << "started new sessions with " << to << "'s devices" << std::endl;
        return exit_ok;
    }
    err(group ? "encryption --group GROUP takes renew or nothing"
              : "encryption NAME takes restart or nothing");
    return exit_usage;
}

int cmd_passphrase(const GlobalOptions& options) {
    SecretBytes current;
    if (!read_passphrase(options, false, current))
        return exit_usage;
    SecretBytes next;
    if (const auto& env = environment_new_passphrase()) {
        next = env->clone();
    } else if (::isatty(STDIN_FILENO)) {
        GlobalOptions prompt_only = options;
        prompt_only.passphrase_file.clear();
        std::cerr << "The new passphrase:\n";
        // read_passphrase prompts (twice, to confirm) when neither the environment nor a
        // file gives one; VEIL_PASSPHRASE is the current passphrase, so it is set aside here.
        auto saved = take_environment_passphrase();
        bool ok = read_passphrase(prompt_only, /*confirm=*/true, next);
        put_environment_passphrase(std::move(saved));
        if (!ok)
            return exit_usage;
    } else {
        err("no new passphrase: set VEIL_NEW_PASSPHRASE");
        return exit_usage;
    }
    if (next.empty()) {
        err("the new passphrase must not be empty");
        return exit_usage;
    }
    // Only the encrypted database changes: no relay, no engine.
    auto store = store::AccountStore::open(options.profile, current);
    if (!store) {
        err(store.error().code == Errc::busy
                ? "the profile is in use by another veil process (the app, a daemon or a bot); "
                  "stop it first"
                : store.error().message);
        return exit_profile;
    }
    if (auto st = store.value()->change_passphrase(current, next); !st) {
        err(st.error().message);
        return st.error().code == Errc::wrong_passphrase ? exit_profile : action_exit(st.error());
    }
    std::cout << "passphrase changed" << std::endl;
    return exit_ok;
}

int cmd_restore_snapshot(const GlobalOptions& options) {
    if (!store::AccountStore::exists(options.profile)) {
        err("there is no account profile in " + options.profile.string());
        return exit_profile;
    }
    SecretBytes passphrase;
    if (!read_passphrase(options, false, passphrase))
        return exit_usage;
    // Only files in the profile change: no relay, no engine, and the database is not opened
    // (it may be what is damaged).
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    auto restored = store::AccountStore::restore_snapshot(options.profile, passphrase, now_ms);
    if (!restored) {
        err(restored.error().code == Errc::busy
                ? "the profile is in use by another veil process; stop it first"
                : restored.error().message);
        return exit_profile;
    }
    std::cout << "restored the profile from the snapshot " << restored->filename().string()
              << "; the damaged database is kept as account.db.damaged-" << now_ms << "\n"
              << "messages that came after the snapshot are not in it; with a contact whose "
                 "messages no longer decrypt a new session starts by itself, once (veil "
                 "encryption NAME restart starts one by hand)"
              << std::endl;
    return exit_ok;
}

} // namespace veil::tui
