// The device verbs: `veil link` (this new profile becomes a device of an account, showing a
// code), `veil link accept CODE` (this device adds the one showing CODE), `veil devices` and
// `veil devices remove ID`.
#include "cli.h"
#include "cli_support.h"

#include "qr_text.h"
#include "text_safety.h"
#include "util/log.h"

#include <QDateTime>

#include <iostream>

namespace veil::tui {
namespace {

std::string when(std::int64_t ms) {
    if (ms <= 0)
        return "never";
    return QDateTime::fromMSecsSinceEpoch(ms).toString("yyyy-MM-dd HH:mm").toStdString();
}

// Waits for the engine to be ready, then runs `action` once.
class ReadyRunner : public Runner {
public:
    ReadyRunner(int timeout_s, std::function<void()> action)
        : Runner(timeout_s)
        , m_action(std::move(action)) {}
    void on_state(engine::State state) override {
        Runner::on_state(state);
        if (state == engine::State::ready && !m_done) {
            m_done = true;
            m_action();
        }
    }

private:
    std::function<void()> m_action;
    bool m_done = false;
};

// A profile left by a `veil link` that never received its account (stopped or killed) is of no
// use: it is removed so that linking can start again in the same folder. A profile with an
// account is never touched.
int clear_unfinished_link(const GlobalOptions& options, const SecretBytes& passphrase) {
    if (!store::AccountStore::exists(options.profile))
        return exit_ok;
    {
        auto store = store::AccountStore::open(options.profile, passphrase);
        if (!store) {
            err(store.error().message);
            return exit_for(store.error());
        }
        auto account = store.value()->account();
        if (account || account.error().code != Errc::not_found) {
            err("a profile with an account is already in " + options.profile.string() +
                "; link another folder (--profile)");
            return exit_profile;
        }
    }
    store::AccountStore::remove_profile(options.profile);
    std::cerr << "veil: removed an unfinished link from " << options.profile.string() << "\n";
    return exit_ok;
}

} // namespace

int cmd_link(const GlobalOptions& options, const std::string& device_name, bool ascii_qr) {
    if (options.relay_url.empty()) {
        err("link needs --relay ws://HOST:PORT, the relay of the account to join");
        return exit_usage;
    }
    SecretBytes passphrase;
    if (!read_passphrase(options, true, passphrase))
        return exit_usage;
    quit_on_signals();
    bool made_folder = !std::filesystem::exists(options.profile);
    if (auto cleared = clear_unfinished_link(options, passphrase); cleared != exit_ok)
        return cleared;

    class LinkRunner : public Runner {
    public:
        LinkRunner(bool ascii)
            : Runner(0)
            , m_ascii(ascii) {}
        void on_link_code(const std::string& text, const std::string& qr,
                          std::int64_t expires_at_ms) override {
            std::cout << "On a device of the account, run:\n\n    veil link accept " << text
                      << "\n\nor enter the code in the desktop app (Devices, Link a device). "
                         "The same code as a QR code:\n\n";
            for (const auto& line : m_ascii ? qr_ascii_lines(qr) : qr_text_lines(qr))
                std::cout << "    " << line << "\n";
            std::cout << "\nThe code works once, until " << when(expires_at_ms) << ".\n"
                      << std::flush;
        }
        void on_linked(const std::string& username, std::uint32_t device_id) override {
            m_linked = "linked as device " + std::to_string(device_id) + " of " + username;
        }
        void on_history_imported(std::size_t n) override { m_history = n; }
        void on_state(engine::State state) override {
            Runner::on_state(state);
            if (state == engine::State::ready && !m_linked.empty())
                finish(exit_ok);
        }
        std::string m_linked;
        std::size_t m_history = 0;

    private:
        bool m_ascii;
    } runner(ascii_qr);

    auto session = qt::ClientSession::create_for_link(options.profile, passphrase,
                                                      options.relay_url, device_name, runner);
    if (!session) {
        err(session.error().message);
        return exit_for(session.error());
    }
    setup_logging(options);
    if (auto st = session.value()->engine().start_link(); !st) {
        err(st.error().message);
        return exit_for(st.error());
    }
    int code = runner.exec();
    if (code == exit_ok) {
        std::cout << runner.m_linked;
        if (runner.m_history)
            std::cout << " (" << runner.m_history << " messages copied)";
        std::cout << std::endl;
        return code;
    }
    // Not linked: nothing is kept, so the same folder can be used again at once. A profile that
    // received its account stays, even if the first login did not finish.
    const bool linked = !runner.m_linked.empty() || session.value()->store().account().ok();
    session.value().reset();
    if (!linked) // else the account is here; only the first login failed
        discard_new_profile(options, made_folder);
    return code;
}

int cmd_link_accept(const GlobalOptions& options, const std::string& code_text,
                    bool share_history) {
    quit_on_signals();
    engine::Engine* engine = nullptr;

    class AcceptRunner : public ReadyRunner {
    public:
        using ReadyRunner::ReadyRunner;
        void on_linked(const std::string&, std::uint32_t device_id) override {
            std::cout << "linked device " << device_id << std::endl;
            m_linked = true;
        }
        void on_error(const Error& e) override {
            Runner::on_error(e);
            // Finished once settled, so that our notice of the failure reaches the new device.
            if (!m_linked)
                m_failed = e.code == Errc::invalid_argument ? exit_usage : exit_refused;
        }
        void on_settled() override {
            if (m_linked)
                finish(exit_ok);
            else if (m_failed)
                finish(m_failed);
        }
        bool m_linked = false;
        int m_failed = 0;
    };
    AcceptRunner* self = nullptr;
    AcceptRunner runner(options.timeout_s, [&] {
        if (auto st = engine->accept_link(code_text, share_history); !st) {
            err(st.error().message);
            self->finish(exit_for(st.error()));
            return;
        }
        self->waiting_for("the new device did not finish linking");
    });
    self = &runner;
    return run_started(options, runner, engine);
}

int cmd_devices_list(const GlobalOptions& options) {
    quit_on_signals();
    engine::Engine* engine = nullptr;
    ReadyRunner* self = nullptr;
    ReadyRunner runner(options.timeout_s, [&] {
        engine->list_devices([&](Result<std::vector<engine::DeviceInfo>> devices) {
            if (!devices) {
                err(devices.error().message);
                self->finish(exit_for(devices.error()));
                return;
            }
            for (const auto& d : devices.value()) {
                std::cout << d.device_id << "\t"
                          << (d.name.empty() ? std::string("(no name)")
                                             : inert_for_terminal(d.name, true))
                          << "\tadded " << when(d.created_ms) << "\tlast seen "
                          << (d.current ? std::string("now") : when(d.last_seen_ms))
                          << (d.current ? "\t(this device)" : "") << "\n";
            }
            std::cout << std::flush;
            self->finish(exit_ok);
        });
    });
    self = &runner;
    return run_started(options, runner, engine);
}

int cmd_devices_remove(const GlobalOptions& options, const std::string& id_text) {
    char* end = nullptr;
    unsigned long id = std::strtoul(id_text.c_str(), &end, 10);
    if (id_text.empty() || !end || *end || id == 0 || id > 0xFFFFFFFFul) {
        err("devices remove needs a device number (see veil devices)");
        return exit_usage;
    }
    quit_on_signals();
    engine::Engine* engine = nullptr;
    class RemoveRunner : public ReadyRunner {
    public:
        using ReadyRunner::ReadyRunner;
        void on_settled() override {
            if (m_removed)
                finish(exit_ok);
        }
        bool m_removed = false;
    };
    RemoveRunner* self = nullptr;
    RemoveRunner runner(options.timeout_s, [&] {
        engine->remove_device(static_cast<std::uint32_t>(id), [&](Status st) {
            if (!st) {
                err(st.error().message);
                self->finish(st.error().code == Errc::refused ? exit_refused
                                                              : exit_for(st.error()));
                return;
            }
            std::cout << "removed device " << id << std::endl;
            self->m_removed = true;
        });
    });
    self = &runner;
    return run_started(options, runner, engine);
}

} // namespace veil::tui
