// run_tui: the interactive app. The Qt event loop drives everything: a QSocketNotifier on
// standard input feeds keys to the model, engine callbacks update it, and the screen is redrawn
// once after each burst of events. Curses (CursesView) owns the screen, so every message for
// the person goes either into the status line or, before curses starts and after it ends, to
// standard error; logs go to a file.
#include "tui.h"

#include "chat_backend.h"
#include "cli_support.h"
#include "curses_view.h"
#include "key_bindings.h"
#include "notification.h"
#include "qt/client_session.h"
#include "theme.h"
#include "tui_model.h"
#include "util/log.h"

#include <QCoreApplication>
#include <QSocketNotifier>
#include <QTimer>

#include <clocale>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <langinfo.h>
#include <memory>
#include <unistd.h>

namespace veil::tui {
namespace {

constexpr const char* kLog = "ui";
constexpr int kExitProfile = 3;

int g_signal_pipe[2] = {-1, -1};

extern "C" void on_tui_signal(int signal) {
    char c = signal == SIGWINCH ? 'w' : 'q';
    [[maybe_unused]] auto n = ::write(g_signal_pipe[1], &c, 1);
}

const int kSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGWINCH};

void install_signal_handlers() {
    struct sigaction action {};
    action.sa_handler = on_tui_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    for (int signal : kSignals)
        sigaction(signal, &action, nullptr);
}

void restore_signal_handlers() {
    for (int signal : kSignals)
        std::signal(signal, SIG_DFL);
}

void setup_logging(const TuiOptions& options) {
    std::error_code ec;
    if (options.log_file.has_parent_path())
        std::filesystem::create_directories(options.log_file.parent_path(), ec);
    log::set_sink(log::file_sink(options.log_file.string()));
    log::set_level(log::Level::info);
    if (const char* level = std::getenv("VEIL_LOG_LEVEL"))
        log::set_level(log::parse_level(level, log::Level::info));
    // Qt's own warnings would otherwise be written over the curses screen.
    qInstallMessageHandler([](QtMsgType, const QMessageLogContext&, const QString& message) {
        log::warn("qt", message.toStdString());
    });
}

// Wide characters need a UTF-8 LC_CTYPE; QCoreApplication has applied the environment's
// locale, and if that is not UTF-8 (LANG unset in a bare tmux), C.UTF-8 is the fallback.
void ensure_utf8_ctype() {
    std::setlocale(LC_ALL, "");
    if (std::strcmp(nl_langinfo(CODESET), "UTF-8") != 0)
        std::setlocale(LC_CTYPE, "C.UTF-8");
}

class SessionBackend final : public ChatBackend {
public:
    explicit SessionBackend(qt::ClientSession& session)
        : m_session(session) {}

    Status add_contact(const std::string& name) override {
        return m_session.engine().add_contact(name);
    }
    Result<Bytes> send_text(const std::string& peer, const std::string& text) override {
        return m_session.engine().send_text(peer, text);
    }
    Result<std::vector<std::string>> contacts() override { return m_session.store().contacts(); }
    Result<std::vector<store::ConversationRow>> conversations() override {
        return m_session.store().conversations();
    }
    Result<std::vector<store::MessageRow>> messages(const std::string& peer, int limit) override {
        return m_session.store().messages(peer, limit);
    }
    Result<std::vector<store::MessageRow>> search(const std::string& query, int limit) override {
        return m_session.store().search(query, limit);
    }
    // Through the engine, so that our other devices learn it too.
    Status mark_read(const std::string& peer) override {
        return m_session.engine().mark_read(peer);
    }
    Result<Bytes> create_group(const std::string& name,
                               const std::vector<std::string>& members) override {
        return m_session.engine().create_group(name, members);
    }
    Status add_group_members(const Bytes& id, const std::vector<std::string>& members) override {
        return m_session.engine().add_group_members(id, members);
    }
    Status remove_group_members(const Bytes& id, const std::vector<std::string>& members) override {
        return m_session.engine().remove_group_members(id, members);
    }
    Status leave_group(const Bytes& id) override { return m_session.engine().leave_group(id); }
    Status set_group_admin(const Bytes& id, const std::string& member, bool admin) override {
        return m_session.engine().set_group_admin(id, member, admin);
    }
    Status set_group_info(const Bytes& id, const std::string& name,
                          const std::string& description) override {
        return m_session.engine().set_group_info(id, name, description);
    }
    Status set_group_avatar(const Bytes& id, const Bytes& image) override {
        return m_session.engine().set_group_avatar(id, image);
    }
    Result<Bytes> send_group_text(const Bytes& id, const std::string& text) override {
        return m_session.engine().send_group_message(id, text);
    }
    Result<std::vector<store::GroupRow>> groups() override { return m_session.store().groups(); }
    Result<std::vector<store::GroupMemberRow>> group_members(const Bytes& id) override {
        return m_session.store().group_members(id);
    }
    Status set_blocked(const std::string& name, bool blocked) override {
        return m_session.engine().set_blocked(name, blocked);
    }
    Result<std::vector<std::string>> blocked() override { return m_session.store().blocked(); }
    Result<std::string> setting(const std::string& key) override {
        return m_session.store().setting(key);
    }
    Status set_setting(const std::string& key, const std::string& value) override {
        return m_session.store().set_setting(key, value);
    }
    void list_devices(engine::Engine::DevicesHandler handler) override {
        m_session.engine().list_devices(std::move(handler));
    }
    void remove_device(std::uint32_t device_id, engine::Engine::DoneHandler handler) override {
        m_session.engine().remove_device(device_id, std::move(handler));
    }
    Status accept_link(const std::string& code, bool share_history) override {
        return m_session.engine().accept_link(code, share_history);
    }
    Result<Bytes> send(const std::string& conversation, const engine::Outgoing& message) override {
        return m_session.engine().send(conversation, message);
    }
    Status react(const std::string& conversation, const engine::MessageRef& target,
                 const std::string& emoji) override {
        return m_session.engine().react(conversation, target, emoji);
    }
    Status edit(const std::string& conversation, const Bytes& message_id,
                const std::string& text) override {
        return m_session.engine().edit(conversation, message_id, text);
    }
    Status delete_for_everyone(const std::string& conversation, const Bytes& id) override {
        return m_session.engine().delete_for_everyone(conversation, id);
    }
    Result<Bytes> resend(const Bytes& message_id) override {
        return m_session.engine().resend(message_id);
    }
    Status set_disappearing(const std::string& conversation, std::uint32_t seconds) override {
        return m_session.engine().set_disappearing(conversation, seconds);
    }
    Result<std::uint32_t> disappearing(const std::string& conversation) override {
        return m_session.engine().disappearing(conversation);
    }
    void set_typing(const std::string& conversation, bool typing) override {
        m_session.engine().set_typing(conversation, typing);
    }
    Status set_read_receipts(bool on) override { return m_session.engine().set_read_receipts(on); }
    bool read_receipts() override { return m_session.engine().read_receipts(); }
    void download(std::int64_t row_id, int index, engine::Engine::DoneHandler done) override {
        m_session.engine().download(row_id, index, std::move(done));
    }
    Status save_attachment(std::int64_t row_id, int index,
                           const std::filesystem::path& to) override {
        return m_session.engine().save_attachment(row_id, index, to);
    }
    Result<engine::SafetyNumber> safety_number(const std::string& peer) override {
        return m_session.engine().safety_number(peer);
    }
    Result<store::AccountStore::Trust> trust(const std::string& peer) override {
        return m_session.store().trust(peer);
    }
    Status set_verified(const std::string& peer, bool verified) override {
        return m_session.engine().set_verified(peer, verified);
    }
    Status accept_new_identity(const std::string& peer) override {
        return m_session.engine().accept_new_identity(peer);
    }
    Result<engine::ConversationSecurity>
    conversation_security(const std::string& conversation) override {
        return m_session.engine().conversation_security(conversation);
    }
    Status restart_sessions(const std::string& peer) override {
        return m_session.engine().restart_sessions(peer);
    }
    Status renew_group_key(std::span<const std::uint8_t> group_id) override {
        return m_session.engine().renew_group_key(group_id);
    }

private:
    qt::ClientSession& m_session;
};

// Engine events go to the model once it exists; each one asks for a redraw.
class ModelObserver final : public engine::EngineObserver {
public:
    TuiModel* model = nullptr;
    std::function<void()> changed;

    void on_state(engine::State state) override {
        log::info(kLog, std::string("connection ") + engine::state_name(state));
        if (!model)
            return;
        model->set_connection(state);
        if (state == engine::State::ready)
            model->set_error(""); // errors about the lost connection are over
        notify();
    }
    void on_message(const store::MessageRow& row) override {
        if (model)
            model->on_message(row);
        notify();
    }
    void on_status(std::span<const std::uint8_t> id, store::MessageStatus status) override {
        if (model)
            model->on_status(id, status);
        notify();
    }
    void on_group_changed(std::span<const std::uint8_t>) override {
        if (model)
            model->on_group_changed();
        notify();
    }
    void on_group_warning(std::span<const std::uint8_t>, const std::string& sentence) override {
        if (model)
            model->set_error(sentence);
        notify();
    }
    void on_read_elsewhere(const std::string& conversation) override {
        if (model)
            model->on_read_elsewhere(conversation);
        notify();
    }
    void on_linked(const std::string& username, std::uint32_t device_id) override {
        log::info(kLog, "linked a device");
        if (model)
            model->on_linked(username, device_id);
        notify();
    }
    void on_devices_changed() override {
        if (model)
            model->on_devices_changed();
        notify();
    }
    void on_unlinked() override {
        log::warn(kLog, "this device was unlinked from the account");
        if (model)
            model->on_unlinked();
        notify();
    }
    void on_message_changed(const store::MessageRow& row) override {
        if (model)
            model->on_message_changed(row);
        notify();
    }
    void on_messages_removed(const std::string& conversation,
                             const std::vector<std::int64_t>& row_ids) override {
        if (model)
            model->on_messages_removed(conversation, row_ids);
        notify();
    }
    void on_typing(const std::string& conversation, const std::string& who, bool typing) override {
        if (model)
            model->on_typing(conversation, who, typing);
        notify();
    }
    void on_transfer(std::int64_t row_id, int index, std::uint64_t done,
                     std::uint64_t total) override {
        if (model)
            model->on_transfer(row_id, index, done, total);
        notify();
    }
    void on_identity_changed(const std::string& peer) override {
        log::info(kLog, "a contact's identity key changed");
        if (model)
            model->on_identity_changed(peer);
        notify();
    }
    void on_error(const Error& error) override {
        log::info(kLog, std::string("shown an error: ") + errc_name(error.code));
        if (model)
            model->set_error(error.message == engine::kStoreDamaged
                                 ? error.message + " (quit, then run veil restore-snapshot)"
                                 : error.message);
        notify();
    }

private:
    void notify() {
        if (changed)
            changed();
    }
};

// Writes the terminal title (notification.h) when standard output is a terminal whose TERM is
// known to take OSC 0, and only when it changed. The title the terminal had is saved on the
// terminal's title stack first and restored at the end (XTWINOPS 22/23; terminals without the
// stack ignore both).
class TitleWriter {
public:
    TitleWriter() {
        const char* term = std::getenv("TERM");
        m_enabled = ::isatty(STDOUT_FILENO) && term && terminal_takes_title(term);
        if (m_enabled)
            write_all("\x1b[22;0t");
    }
    ~TitleWriter() {
        if (m_enabled)
            write_all("\x1b[23;0t");
    }
    TitleWriter(const TitleWriter&) = delete;
    TitleWriter& operator=(const TitleWriter&) = delete;

    void show(const std::string& title) {
        if (!m_enabled || title == m_shown)
            return;
        m_shown = title;
        write_all(osc_title_sequence(title));
    }

private:
    static void write_all(const std::string& bytes) {
        std::size_t done = 0;
        while (done < bytes.size()) {
            ssize_t n = ::write(STDOUT_FILENO, bytes.data() + done, bytes.size() - done);
            if (n <= 0)
                return; // a title is not worth blocking or retrying for
            done += static_cast<std::size_t>(n);
        }
    }

    bool m_enabled = false;
    std::string m_shown;
};

// Applies ~/.config/veil/keys.conf (or $XDG_CONFIG_HOME's) when there is one; the model shows
// the lines it could not use.
void load_key_config(TuiModel& model) {
    auto path = key_config_path(std::getenv("XDG_CONFIG_HOME"), std::getenv("HOME"));
    std::error_code ec;
    if (path.empty() || !std::filesystem::is_regular_file(path, ec))
        return;
    std::ifstream in(path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
        model.set_error("cannot read " + path.string());
        return;
    }
    log::info(kLog, "key bindings read from keys.conf");
    model.load_key_config(text, path.filename().string());
}

std::string account_name(qt::ClientSession& session) {
    auto account = session.store().account();
    return account ? account->username : session.engine().username();
}

// The part that owns the screen: everything here runs between CursesView's constructor and
// destructor, so the terminal is restored however it ends.
int run_screen(qt::ClientSession& session, TuiModel& model, ModelObserver& observer) {
    CursesView view;
    if (!view.ok()) {
        std::cerr << "veil: cannot use this terminal (check TERM)\n";
        return 1;
    }
    std::atexit(&CursesView::restore_terminal); // should anything call exit() while drawing

    TitleWriter title;
    auto redraw = [&] {
        // /set theme and /set mouse take effect at once.
        ColorMode colors = choose_color_mode(view.colors(), std::getenv("NO_COLOR"), model.theme());
        view.set_color_mode(colors);
        model.set_color_mode(colors);
        view.set_mouse(model.mouse_enabled());
        model.set_size(view.size());
        Frame frame = model.render();
        view.draw(frame, model.take_repaint_request());
        // After the screen is out, so that the bytes do not land inside a curses update.
        if (model.take_bell_request())
            view.bell();
        title.show(model.terminal_title());
    };
    bool redraw_pending = false;
    observer.changed = [&] {
        if (redraw_pending)
            return;
        redraw_pending = true;
        QTimer::singleShot(0, [&] {
            redraw_pending = false;
            redraw();
        });
    };
    model.set_changed_callback([&] { observer.changed(); });

    QSocketNotifier key_notifier(STDIN_FILENO, QSocketNotifier::Read);
    QObject::connect(&key_notifier, &QSocketNotifier::activated, [&] {
        for (const Key& key : view.read_keys()) {
            if (key.type == Key::Type::resize)
                view.resize();
            model.handle_key(key);
        }
        if (model.quit_requested())
            QCoreApplication::quit();
        else
            redraw();
    });

    QSocketNotifier signal_notifier(g_signal_pipe[0], QSocketNotifier::Read);
    QObject::connect(&signal_notifier, &QSocketNotifier::activated, [&] {
        char buf[16];
        ssize_t n = ::read(g_signal_pipe[0], buf, sizeof buf);
        for (ssize_t i = 0; i < n; ++i) {
            if (buf[i] != 'w') {
                log::info(kLog, "quitting on a signal");
                QCoreApplication::quit();
                return;
            }
        }
        view.resize();
        redraw();
    });

    // Typing indicators end by themselves after a while without news.
    QTimer ticker;
    QObject::connect(&ticker, &QTimer::timeout, [&] {
        if (model.tick())
            redraw();
    });
    ticker.start(1000);

    if (auto st = session.engine().start(); !st)
        model.set_error(st.error().message);
    redraw();
    QCoreApplication::exec();
    observer.changed = nullptr;
    model.set_changed_callback(nullptr);
    session.engine().stop();
    return 0;
}

} // namespace

int run_tui(const TuiOptions& options, const SecretBytes& passphrase) {
    if (!::isatty(STDIN_FILENO) || !::isatty(STDOUT_FILENO)) {
        std::cerr << "veil: the interactive app needs a terminal; for scripts use a verb "
                     "(see veil --help)\n";
        return 2;
    }
    ensure_utf8_ctype();

    // A daemon holds the profile for as long as it runs (its socket is PROFILE/veil.sock).
    if (const auto socket = options.profile / "veil.sock"; daemon_answers(socket)) {
        std::cerr << "veil: a veil daemon is serving this profile (" << socket.string()
                  << "); stop it to use the interactive app\n";
        return kExitProfile;
    }
    ModelObserver observer;
    auto opened = qt::ClientSession::open(options.profile, passphrase, options.relay_url, observer);
    if (!opened) {
        std::cerr << "veil: cannot open the profile " << options.profile.string() << ": "
                  << opened.error().message << "\n";
        return kExitProfile;
    }
    std::unique_ptr<qt::ClientSession> session = std::move(opened.value());
    // Logging starts once the profile is open, so that a mistyped --profile creates no folder.
    setup_logging(options);
    log::info(kLog, "terminal app started");

    if (::pipe(g_signal_pipe) != 0) {
        std::cerr << "veil: cannot create a pipe: " << std::strerror(errno) << "\n";
        return 1;
    }
    install_signal_handlers();

    int code = 1;
    try {
        SessionBackend backend(*session);
        SystemClock clock;
        TuiModel model(backend, clock);
        model.set_username(account_name(*session));
        model.set_connection(session->engine().state());
        observer.model = &model;
        model.open_initial(options.open_peer);
        load_key_config(model);
        code = run_screen(*session, model, observer);
        observer.model = nullptr;
    } catch (const std::exception& e) {
        // The screen is already restored: CursesView's destructor ran during unwinding.
        observer.model = nullptr;
        log::error(kLog, "the terminal app stopped on an exception");
        std::cerr << "veil: internal error: " << e.what() << "\n";
        code = 1;
    }
    restore_signal_handlers();
    ::close(g_signal_pipe[0]);
    ::close(g_signal_pipe[1]);
    g_signal_pipe[0] = g_signal_pipe[1] = -1;
    log::info(kLog, "terminal app stopped");
    return code;
}

} // namespace veil::tui
