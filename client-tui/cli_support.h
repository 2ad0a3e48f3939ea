// What the headless verbs share (cli.cpp, cli_devices.cpp): error output and exit codes, the
// event loop runner that waits for an engine callback, and opening a profile.
#pragma once

#include "cli.h"

#include "engine/engine.h"
#include "qt/client_session.h"

#include <QCoreApplication>
#include <QTimer>

#include <functional>
#include <iostream>
#include <memory>
#include <string>

namespace veil::tui {

// SIGINT/SIGTERM end the event loop cleanly (the engine stops, the database closes).
void quit_on_signals();
// Whether SIGINT or SIGTERM ended the event loop (verbs that run until stopped exit 0 then).
bool stopped_by_signal();
void err(const std::string& message);
// Said after a damaged database is found, at open or while in use.
inline constexpr const char* kRestoreHint =
    "nothing more was written to it; veil restore-snapshot puts the newest good snapshot in its "
    "place and keeps the damaged file aside";

int exit_for(const Error& e);
// Group verbs: an unknown group or member is a failed action, not a profile problem.
int group_exit(const Error& e);
void setup_logging(const GlobalOptions& options);
// Removes a profile a verb created in this run that is of no use (its registration or link
// failed), with its log, so that the same folder can be used again at once. The store must be
// closed.
void discard_new_profile(const GlobalOptions& options, bool made_folder);
// Opens the profile (waiting for another veil process that has it open, up to the timeout);
// on failure prints why, sets code and returns nullptr.
std::unique_ptr<qt::ClientSession> open_session(const GlobalOptions& options,
                                                engine::EngineObserver& observer, int& code);

// Where `veil daemon` listens unless --socket says otherwise: PROFILE/veil.sock.
std::filesystem::path default_socket(const GlobalOptions& options);
// Whether a daemon answers on the socket (a connection is accepted).
bool daemon_answers(const std::filesystem::path& socket);

// Once the profile is open, what goes wrong is about the action: an unknown message or a damaged
// file fails it (exit 1); the profile itself is fine.
int action_exit(const Error& e);
// The message a verb names by its id (32 hex digits, as `receive --json` prints them).
Result<store::MessageRow> find_message(store::AccountStore& store, const std::string& hex);
// A conversation named by a username, or by a group's name or id with group.
Result<std::string> conversation_of(store::AccountStore& store, const std::string& name,
                                    bool group);
// What the text output calls a group: its name, or the start of its id until the name is known.
std::string group_label(store::AccountStore& store, std::span<const std::uint8_t> group_id);

// A group of this account by name, or by id in hex; a clear error when none or several match.
Result<store::GroupRow> find_group(store::AccountStore& store, const std::string& name);

// Queues one message with `queue` (once the profile is open), runs the engine until it is
// through and prints its id; exit_of maps queue's errors to an exit code. An upload cut off
// exits 4 (the next run resumes it).
int run_send(const GlobalOptions& options,
             const std::function<Result<Bytes>(qt::ClientSession&)>& queue,
             int (*exit_of)(const Error&));
// Transfer progress on stderr, every 10 % (last: the percentage printed last).
void print_progress(int index, std::uint64_t done, std::uint64_t total, int& last);

// A message as one JSON line (receive --json, search --json), and the names it uses.
std::string message_json(store::AccountStore& store, const store::MessageRow& row);
const char* status_name(store::MessageStatus status);
const char* attachment_state_name(store::AttachmentState state);

// Runs the engine until `done` is set by an observer callback or the timeout passes.
class Runner : public engine::EngineObserver {
public:
    explicit Runner(int timeout_s)
        : m_timeout_s(timeout_s) {}

    int exec() {
        if (m_timeout_s > 0) {
            QTimer::singleShot(m_timeout_s * 1000, [this] {
                if (m_result < 0) {
                    err(m_last_error.empty() ? "timed out waiting for the relay"
                                             : "timed out: " + m_last_error);
                    finish(m_ever_ready ? exit_failure : exit_unreachable);
                }
            });
        }
        QCoreApplication::exec();
        return m_result < 0 ? exit_failure : m_result;
    }

    void finish(int code) {
        if (m_result >= 0)
            return;
        m_result = code;
        QCoreApplication::quit();
    }

    void on_state(engine::State state) override {
        if (state == engine::State::ready)
            m_ever_ready = true;
        if (state == engine::State::failed)
            finish(exit_refused);
        if (state == engine::State::damaged)
            finish(exit_profile);
    }
    // What a timeout means at this point, when no error was reported ("timed out: ...").
    void waiting_for(const std::string& what) {
        if (m_last_error.empty())
            m_last_error = what;
    }
    void on_error(const Error& e) override {
        m_last_error = e.message;
        err(e.message);
        if (e.message == engine::kStoreDamaged)
            err(kRestoreHint);
    }

protected:
    int m_timeout_s;
    int m_result = -1;
    bool m_ever_ready = false;
    std::string m_last_error;
};

// Opens the profile with runner as the engine's observer, sets engine (for runner's callbacks),
// starts it and runs the event loop; returns the exit code.
int run_started(const GlobalOptions& options, Runner& runner, engine::Engine*& engine);

} // namespace veil::tui
