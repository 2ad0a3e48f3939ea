#include "cli_support.h"

#include "text_safety.h"

#include "util/log.h"

#include <QSocketNotifier>

#include <chrono>
#include <csignal>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

namespace veil::tui {
namespace {

int g_signal_pipe[2] = {-1, -1};
bool g_stopped = false;

extern "C" void on_signal(int) {
    char c = 1;
    [[maybe_unused]] auto n = ::write(g_signal_pipe[1], &c, 1);
}

} // namespace

void quit_on_signals() {
    if (g_signal_pipe[0] >= 0 || ::pipe(g_signal_pipe) != 0)
        return;
    auto* notifier =
        new QSocketNotifier(g_signal_pipe[0], QSocketNotifier::Read, QCoreApplication::instance());
    QObject::connect(notifier, &QSocketNotifier::activated, [] {
        g_stopped = true;
        QCoreApplication::quit();
    });
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
}

bool stopped_by_signal() {
    return g_stopped;
}

std::filesystem::path default_socket(const GlobalOptions& options) {
    return options.profile / "veil.sock";
}

bool daemon_answers(const std::filesystem::path& socket) {
    sockaddr_un addr{};
    const std::string path = socket.string();
    if (path.size() >= sizeof addr.sun_path)
        return false;
    addr.sun_family = AF_UNIX;
    std::copy(path.begin(), path.end(), addr.sun_path);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    const bool answered = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return answered;
}

void err(const std::string& message) {
    // Messages quote what people typed and what peers sent: nothing in them may steer the
    // terminal.
    std::cerr << "veil: " << inert_for_terminal(message, true) << "\n";
}

// Transfer progress on stderr, every 10 % (last: the percentage printed last).
void print_progress(int index, std::uint64_t done, std::uint64_t total, int& last) {
    if (total == 0)
        return;
    int percent = static_cast<int>(done * 100 / total);
    if (percent != last && (percent % 10 == 0 || done == total)) {
        last = percent;
        std::cerr << "veil: file " << index + 1 << ": " << percent << "%" << std::endl;
    }
}

int exit_for(const Error& e) {
    switch (e.code) {
    case Errc::wrong_passphrase:
    case Errc::not_found:
    case Errc::corrupt:
    case Errc::already_exists:
    case Errc::database:
    case Errc::busy: return exit_profile;
    case Errc::refused: return exit_refused;
    case Errc::invalid_argument: return exit_usage;
    case Errc::timeout:
    case Errc::disconnected: return exit_unreachable;
    default: return exit_failure;
    }
}

int group_exit(const Error& e) {
    return e.code == Errc::not_found ? exit_failure : exit_for(e);
}

void setup_logging(const GlobalOptions& options) {
    auto path = options.log_file.empty() ? options.profile / "veil.log" : options.log_file;
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    log::set_sink(log::file_sink(path.string()));
    log::set_level(log::Level::info);
    if (const char* level = std::getenv("VEIL_LOG_LEVEL"))
        log::set_level(log::parse_level(level, log::Level::info));
}

std::unique_ptr<qt::ClientSession> open_session(const GlobalOptions& options,
                                                engine::EngineObserver& observer, int& code) {
    SecretBytes passphrase;
    if (!read_passphrase(options, false, passphrase)) {
        code = exit_usage;
        return nullptr;
    }
    // A daemon holds the profile for as long as it runs: waiting for it would only time out.
    if (daemon_answers(default_socket(options))) {
        err("a veil daemon is serving this profile: send it requests over " +
            default_socket(options).string() + ", or stop it first");
        code = exit_profile;
        return nullptr;
    }
    // A profile open in another veil process (the bot, the terminal app) is waited for, up to
    // the timeout, so that scripts running verbs back to back just queue up.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.timeout_s);
    auto session =
        qt::ClientSession::open(options.profile, passphrase, options.relay_url, observer);
    while (!session && session.error().code == Errc::busy &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        session = qt::ClientSession::open(options.profile, passphrase, options.relay_url, observer);
    }
    if (!session) {
        err(session.error().message);
        if (session.error().code == Errc::corrupt)
            err(kRestoreHint);
        code = exit_for(session.error());
        return nullptr;
    }
    // Logging starts once the profile exists, so a mistyped --profile leaves nothing behind.
    setup_logging(options);
    code = exit_ok;
    return std::move(session.value());
}

void discard_new_profile(const GlobalOptions& options, bool made_folder) {
    log::set_sink(nullptr);
    std::error_code ec;
    std::filesystem::remove(
        options.log_file.empty() ? options.profile / "veil.log" : options.log_file, ec);
    store::AccountStore::remove_profile(options.profile);
    if (made_folder)
        std::filesystem::remove(options.profile, ec);
    err("nothing was kept in " + options.profile.string());
}

int run_started(const GlobalOptions& options, Runner& runner, engine::Engine*& engine) {
    int code;
    auto session = open_session(options, runner, code);
    if (!session)
        return code;
    engine = &session->engine();
    if (auto st = engine->start(); !st) {
        err(st.error().message);
        return exit_for(st.error());
    }
    return runner.exec();
}

} // namespace veil::tui
