// veil-desktop: the Qt Widgets messenger. A start dialog opens or creates a profile; the main
// window then shows its conversations. The scripting options fill and submit that same dialog
// (passphrase from VEIL_PASSPHRASE), so an unattended run takes the path a person takes.
#include "app_settings.h"
#include "devices_dialog.h"
#include "keyring.h"
#include "main_window.h"
#include "session_bridge.h"
#include "start_dialog.h"
#include "theme.h"
#include "util/core_dumps.h"
#include "util/environment.h"
#include "util/log.h"

#include <QApplication>
#include <QCoreApplication>

#include <QCommandLineParser>
#include <QSocketNotifier>
#include <QTimer>
#include <string_view>

#include <csignal>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <unistd.h>
#include <utility>

namespace {

using namespace veil::desktop;

int g_signal_pipe[2] = {-1, -1};

extern "C" void on_signal(int) {
    char c = 1;
    [[maybe_unused]] auto n = ::write(g_signal_pipe[1], &c, 1);
}

// SIGINT and SIGTERM close every window from the event loop, so the engine stops and the
// database closes as on a normal quit.
void quit_on_signals() {
    if (::pipe(g_signal_pipe) != 0)
        return;
    auto* notifier =
        new QSocketNotifier(g_signal_pipe[0], QSocketNotifier::Read, QApplication::instance());
    QObject::connect(notifier, &QSocketNotifier::activated, [] {
        QApplication::closeAllWindows();
        QApplication::exit(0);
    });
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
}

QString default_profile() {
    const char* home = std::getenv("HOME");
    return QString::fromLocal8Bit(home ? home : ".") + QStringLiteral("/.local/share/veil/desktop");
}

// Logs go to a file in the open profile's folder, never to the screen; lines say why, never
// what (no text, no keys), as everywhere in Veil.
void log_to_profile(const SessionBridge& bridge) {
    auto path = bridge.profile_dir() / "veil-desktop.log";
    veil::log::set_sink(veil::log::file_sink(path.string()));
    if (const char* level = std::getenv("VEIL_LOG_LEVEL"))
        veil::log::set_level(veil::log::parse_level(level, veil::log::Level::info));
}

struct Options {
    QString profile;
    QString relay;
    QString create_name;
    bool link = false;
    QString device_name;
    bool unlock = false;
    bool devices = false;
    QString chat_peer;
    QStringList say;
};

// VEIL_PASSPHRASE, taken out of the environment first thing in main (environment.h): nullopt when
// it was not set.
std::optional<veil::SecretBytes>& environment_passphrase() {
    static std::optional<veil::SecretBytes> passphrase;
    return passphrase;
}

bool parse(const QCoreApplication& app, Options& out) {
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Veil, an end-to-end encrypted messenger"));
    parser.addHelpOption();
    QCommandLineOption profile(QStringLiteral("profile"), QStringLiteral("Profile folder."),
                               QStringLiteral("DIR"), default_profile());
    QCommandLineOption relay(QStringLiteral("relay"),
                             QStringLiteral("Relay address, ws://HOST:PORT."),
                             QStringLiteral("URL"));
    QCommandLineOption create(QStringLiteral("create"),
                              QStringLiteral("Script: create the profile as NAME and register it "
                                             "(passphrase from VEIL_PASSPHRASE)."),
                              QStringLiteral("NAME"));
    QCommandLineOption link(QStringLiteral("link"),
                            QStringLiteral("Script: make the profile a new device of an existing "
                                           "account on --relay (passphrase from VEIL_PASSPHRASE); "
                                           "prints the link code to enter on another device."));
    QCommandLineOption device_name(QStringLiteral("device-name"),
                                   QStringLiteral("Script: this device's name for --create and "
                                                  "--link."),
                                   QStringLiteral("NAME"));
    QCommandLineOption devices(QStringLiteral("devices"),
                               QStringLiteral("Script: open the Devices dialog once the main "
                                              "window is up."));
    QCommandLineOption unlock(QStringLiteral("unlock"),
                              QStringLiteral("Script: open the profile with VEIL_PASSPHRASE."));
    QCommandLineOption chat(QStringLiteral("chat"),
                            QStringLiteral("Script: open the conversation with PEER, or the group "
                                           "named NAME when given as #NAME."),
                            QStringLiteral("PEER"));
    QCommandLineOption say(QStringLiteral("say"),
                           QStringLiteral("Script: send TEXT to PEER as if typed (repeatable)."),
                           QStringLiteral("TEXT"));
    parser.addOptions({profile, relay, create, link, device_name, unlock, chat, say, devices});
    parser.process(app);
    out.profile = parser.value(profile);
    out.relay = parser.value(relay);
    out.create_name = parser.value(create);
    out.link = parser.isSet(link);
    out.device_name = parser.value(device_name);
    out.unlock = parser.isSet(unlock);
    out.devices = parser.isSet(devices);
    out.chat_peer = parser.value(chat);
    out.say = parser.values(say);
    if ((!out.create_name.isEmpty() || out.link || out.unlock) && !environment_passphrase()) {
        std::cerr << "veil-desktop: --create, --link and --unlock read the passphrase from "
                     "VEIL_PASSPHRASE\n";
        return false;
    }
    return true;
}

bool scripted_start(const Options& options) {
    return !options.create_name.isEmpty() || options.link || options.unlock;
}

// Fills and submits the start dialog for --create/--link/--unlock; the dialog stays up on
// errors.
void script_dialog(StartDialog& dialog, const Options& options) {
    QObject::connect(&dialog, &StartDialog::errorShown, [](const QString& text) {
        std::cerr << "veil-desktop: " << text.toStdString() << std::endl;
    });
    // The dialog's field holds it from here on, as if typed; the copy from the environment goes.
    std::optional<veil::SecretBytes> secret = std::exchange(environment_passphrase(), std::nullopt);
    QString passphrase = secret ? QString::fromUtf8(reinterpret_cast<const char*>(secret->data()),
                                                    static_cast<qsizetype>(secret->size()))
                                : QString();
    if (!options.create_name.isEmpty()) {
        dialog.fill_create(options.profile, options.relay, options.create_name, passphrase,
                           options.device_name);
    } else if (options.link) {
        // The code goes where a script can read it, as `veil link` prints it.
        QObject::connect(&dialog, &StartDialog::linkCodeShown, [](const QString& code) {
            std::cout << "link code: " << code.toStdString() << std::endl;
        });
        dialog.fill_link(options.profile, options.relay, passphrase, options.device_name);
    } else {
        dialog.fill_open(options.profile, passphrase);
    }
    QTimer::singleShot(0, &dialog, &StartDialog::submit);
}

// "#NAME" (or "# NAME") names a group: found gives its conversation, or empty when no group has
// that name (read on the bridge's reader thread).
void find_group_peer(SessionBridge& bridge, QObject* receiver, const QString& text,
                     std::function<void(const std::string&)> found) {
    std::string name = text.mid(1).trimmed().toStdString();
    bridge.read(
        [name](veil::store::AccountStore& db) -> std::string {
            auto groups = db.groups();
            if (!groups)
                return {};
            for (const auto& g : groups.value())
                if (g.name == name)
                    return veil::store::group_conversation(g.group_id);
            return {};
        },
        receiver, std::move(found));
}

void script_window(MainWindow& window, SessionBridge& bridge, const Options& options) {
    if (options.devices)
        QTimer::singleShot(0, &window, [&window] { window.devices(); });
    if (options.chat_peer.isEmpty())
        return;
    auto open_and_say = [&window, say = options.say](const std::string& peer) {
        window.open_conversation(peer);
        for (const QString& text : say)
            window.send_text(text);
    };
    if (!options.chat_peer.startsWith(QLatin1Char('#'))) {
        open_and_say(options.chat_peer.toStdString());
        return;
    }
    // A group we were added to while away arrives from the relay after the window opened: each
    // change of a group looks again until one has the name.
    auto done = std::make_shared<bool>(false);
    auto look = [&bridge, &window, open_and_say, done, text = options.chat_peer] {
        find_group_peer(bridge, &window, text, [open_and_say, done](const std::string& peer) {
            if (peer.empty() || *done)
                return;
            *done = true;
            open_and_say(peer);
        });
    };
    look();
    std::cerr << "veil-desktop: looking for a group named "
              << options.chat_peer.mid(1).trimmed().toStdString() << std::endl;
    QObject::connect(&bridge, &SessionBridge::groupChanged, &window, [look, done] {
        if (!*done)
            look();
    });
}

} // namespace

int main(int argc, char** argv) {
    // Keys and plaintext live in this process; a core file would write them to disk.
    veil::disable_core_dumps();
    // Before any thread starts: children and /proc/PID/environ must not see the passphrase.
    environment_passphrase() = veil::take_secret_from_environment("VEIL_PASSPHRASE");
    // Help needs no display: answer it before QApplication, which aborts without one.
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "-h" || arg == "--help" || arg == "--help-all") {
            QCoreApplication core(argc, argv);
            QCoreApplication::setApplicationName(QStringLiteral("veil-desktop"));
            Options ignored;
            parse(core, ignored); // prints the help and exits
        }
    }
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("veil-desktop"));
    // Fusion draws the same on every desktop and follows the palette fully, so the light and
    // dark themes look as designed everywhere.
    QApplication::setStyle(QStringLiteral("Fusion"));
    set_theme_hook([](ThemeChoice choice) {
        using veil::desktop::Theme;
        veil::desktop::apply_theme(choice == ThemeChoice::light  ? Theme::light
                                   : choice == ThemeChoice::dark ? Theme::dark
                                                                 : Theme::system);
    });
    quit_on_signals();
    Options options;
    if (!parse(app, options))
        return 2;

    apply_theme_choice(stored_theme());

    SystemKeyring keyring;
    SessionBridge bridge;
    QObject::connect(&bridge, &SessionBridge::opened, [&bridge] { log_to_profile(bridge); });
    QString keyring_note;
    {
        StartDialog dialog(bridge, options.profile, options.relay);
        dialog.set_keyring(&keyring);
        if (scripted_start(options))
            script_dialog(dialog, options);
        else
            // "Remember on this computer" skips the prompt: the dialog shows that it opens the
            // profile (and can be cancelled) and accepts itself once it is open.
            dialog.open_remembered();
        if (dialog.exec() != QDialog::Accepted)
            return 0;
        keyring_note = dialog.keyring_note();
    }
    veil::log::info("ui", "main window open");
    MainWindow window(bridge);
    window.set_keyring(&keyring);
    window.show_notice(keyring_note);
    window.show();
    // Closing the window may leave Veil in the tray; the app ends when the window really
    // closes (MainWindow::closed), not when its last dialog does.
    QApplication::setQuitOnLastWindowClosed(false);
    QObject::connect(&window, &MainWindow::closed, &app, &QApplication::quit);
    script_window(window, bridge, options);
    int code = QApplication::exec();
    bridge.close();
    return code;
}
