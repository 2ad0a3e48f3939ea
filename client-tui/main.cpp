// veil: the terminal messenger. With no verb it opens the interactive app; the verbs below are
// the stable scripting interface.
#include "cli.h"
#include "cli_help.h"
#include "protocol/limits.h"
#include "qt/relay_pin.h"
#include "tui.h"
#include "util/core_dumps.h"
#include "util/log.h"

#include <QCoreApplication>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

std::string default_profile() {
    if (const char* p = std::getenv("VEIL_PROFILE"))
        return p;
    const char* home = std::getenv("HOME");
    return std::string(home ? home : ".") + "/.local/share/veil/default";
}

constexpr long kMaxSeconds = 2'000'000;
constexpr std::size_t kMaxPlaintextBytes = veil::protocol::kMaxPlaintextBytes;

// ws://HOST:PORT or wss://HOST:PORT (then optionally with a certificate pin, #sha256:HEX, checked
// by qt::relay_pin), checked before anything is stored in a profile.
bool valid_relay_url(const std::string& url) {
    auto rest = url.rfind("ws://", 0) == 0    ? url.substr(5)
                : url.rfind("wss://", 0) == 0 ? url.substr(6)
                                              : std::string();
    if (rest.empty() || rest.front() == ':' || rest.front() == '/')
        return false;
    for (char c : rest)
        if (static_cast<unsigned char>(c) <= 0x20 || c == '\\' || c == '"')
            return false;
    return true;
}

// How the account's device list names this device unless --name says otherwise.
std::string default_device_name() {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0 || !host[0])
        return "veil (terminal)";
    std::string name = std::string("veil on ") + host;
    if (name.size() > veil::protocol::kMaxDeviceNameChars)
        name.resize(veil::protocol::kMaxDeviceNameChars);
    return name;
}

int usage_error(const std::string& message) {
    std::cerr << "veil: " << message << "\n(see veil --help)\n";
    return veil::tui::exit_usage;
}

// --passphrase, --password and the like, with or without =VALUE (but not --passphrase-file).
bool passphrase_option(const std::string& arg) {
    const std::string name = arg.substr(0, arg.find('='));
    return name == "--passphrase" || name == "--password" || name == "--pass" ||
           name == "--new-passphrase";
}

} // namespace

int main(int argc, char** argv) {
    // Key material lives in this process; a core file would write it to disk.
    veil::disable_core_dumps();
    // Before anything can start a child or read the environment: the passphrases leave it.
    veil::tui::take_secrets_from_environment();
    // Until the profile's log file is open, only warnings reach stderr.
    veil::log::set_level(veil::log::Level::warn);
    veil::tui::GlobalOptions options;
    options.profile = default_profile();
    std::string open_peer;
    bool json = false;
    int wait_s = 0;
    std::vector<std::string> words;
    std::optional<std::vector<std::string>> members;
    std::optional<std::string> group;
    std::optional<std::string> device_name;
    bool history = false;
    bool ascii = false;
    std::vector<std::string> files;
    std::string reply;
    std::string verify_action;
    bool remove = false;
    bool stop = false;
    bool help = false;
    std::optional<std::string> socket;

    std::vector<std::string> args(argv + 1, argv + argc);
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&](std::string& out) {
            if (i + 1 >= args.size())
                return false;
            out = args[++i];
            return true;
        };
        std::string v;
        if (a == "-h" || a == "--help") {
            help = true;
        } else if (a == "--socket") {
            if (!value(v))
                return usage_error("--socket needs a path");
            socket = v;
        } else if (a == "--profile") {
            if (!value(v))
                return usage_error("--profile needs a folder");
            options.profile = v;
        } else if (a == "--relay") {
            if (!value(options.relay_url))
                return usage_error("--relay needs an address");
            if (!valid_relay_url(options.relay_url))
                return usage_error("--relay takes ws://HOST:PORT or wss://HOST:PORT, not '" +
                                   options.relay_url + "'");
            if (auto pin = veil::qt::relay_pin(options.relay_url); !pin)
                return usage_error(pin.error().message);
        } else if (passphrase_option(a)) {
            // A value given here would stay in the shell's history and show in every process
            // list; it is refused without repeating it.
            return usage_error("a passphrase is never on the command line: veil prompts for it "
                               "on a terminal, or reads VEIL_PASSPHRASE (read -rs "
                               "VEIL_PASSPHRASE && export VEIL_PASSPHRASE) or --passphrase-file "
                               "FILE");
        } else if (a == "--passphrase-file") {
            if (!value(v))
                return usage_error("--passphrase-file needs a file");
            options.passphrase_file = v;
        } else if (a == "--log-file") {
            if (!value(v))
                return usage_error("--log-file needs a file");
            options.log_file = v;
        } else if (a == "--timeout" || a == "--wait") {
            if (!value(v))
                return usage_error(a + " needs a number of seconds");
            char* end = nullptr;
            long n = std::strtol(v.c_str(), &end, 10);
            // Qt timers take milliseconds in an int: about 24 days at most.
            if (!end || *end || n < 0 || n > kMaxSeconds)
                return usage_error(a + " needs a number of seconds");
            (a == "--wait" ? wait_s : options.timeout_s) = static_cast<int>(n);
        } else if (a == "--json") {
            json = true;
        } else if (a == "--history") {
            history = true;
        } else if (a == "--ascii") {
            ascii = true;
        } else if (a == "--name") {
            if (!value(v))
                return usage_error("--name needs a device name");
            device_name = v;
        } else if (a == "--members") {
            if (!value(v))
                return usage_error("--members needs names, separated by commas");
            members.emplace();
            std::size_t start = 0;
            while (start <= v.size()) {
                const std::size_t comma = std::min(v.find(',', start), v.size());
                if (comma > start)
                    members->push_back(v.substr(start, comma - start));
                start = comma + 1;
            }
        } else if (a == "--group") {
            if (!value(v))
                return usage_error("--group needs a group");
            group = v;
        } else if (a == "--file") {
            if (!value(v))
                return usage_error("--file needs a file");
            files.push_back(v);
        } else if (a == "--reply") {
            if (!value(reply))
                return usage_error("--reply needs a message id");
        } else if (a == "--mark" || a == "--clear" || a == "--accept") {
            verify_action = a.substr(2);
        } else if (a == "--remove") {
            remove = true;
        } else if (a == "--stop") {
            stop = true;
        } else if (a == "--open") {
            if (!value(open_peer))
                return usage_error("--open needs a name");
        } else if (a == "-" || a.rfind("--", 0) != 0) {
            words.push_back(a);
        } else if (a == "--") {
            words.insert(words.end(), args.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                         args.end());
            break;
        } else {
            // Named without a value it may carry (--option=value).
            return usage_error("unknown option " + a.substr(0, a.find('=')));
        }
    }

    // veil --help, veil VERB --help, veil help [VERB]: nothing is opened.
    if (help || (!words.empty() && words[0] == "help")) {
        const bool named = help ? !words.empty() : words.size() >= 2;
        if (!named) {
            std::cout << veil::tui::usage_text();
            return 0;
        }
        const std::string& verb = help ? words[0] : words[1];
        auto text = veil::tui::verb_help(verb);
        if (!text)
            return usage_error("no verb is called " + verb);
        std::cout << *text;
        return 0;
    }
    if (socket && !(words.size() == 1 && words[0] == "daemon"))
        return usage_error("--socket goes with daemon");

    QCoreApplication app(argc, argv);
    using namespace veil::tui;

    if (words.empty()) {
        veil::SecretBytes passphrase;
        if (!read_passphrase(options, false, passphrase))
            return exit_usage;
        TuiOptions tui;
        tui.profile = options.profile;
        tui.relay_url = options.relay_url;
        tui.open_peer = open_peer;
        tui.log_file = options.log_file.empty() ? options.profile / "veil.log" : options.log_file;
        return run_tui(tui, passphrase);
    }

    const std::string& verb = words[0];
    if (verb == "register" && words.size() == 2)
        return cmd_register(options, words[1], default_device_name());
    if (verb == "contacts" && words.size() == 1)
        return cmd_contacts_list(options);
    if (verb == "contacts" && words.size() == 3 && words[1] == "add")
        return cmd_contacts_add(options, words[2]);
    if ((verb == "block" || verb == "unblock") && words.size() == 2)
        return cmd_block(options, words[1], verb == "block");
    if (verb == "notify" && words.size() <= 2)
        return cmd_notify(options, words.size() == 2 ? words[1] : std::string());
    if (members && !(verb == "group" && words.size() == 3 && words[1] == "create"))
        return usage_error("--members goes with group create");
    if (group && verb != "send" && verb != "timer" && verb != "read" && verb != "typing" &&
        verb != "encryption")
        return usage_error("--group goes with send, timer, read, typing and encryption");
    if (verb == "passphrase" && words.size() == 1)
        return cmd_passphrase(options);
    if (verb == "restore-snapshot" && words.size() == 1)
        return cmd_restore_snapshot(options);
    if (verb == "encryption" &&
        ((group && words.size() <= 2) || (!group && words.size() >= 2 && words.size() <= 3)))
        return cmd_encryption(options, group ? *group : words[1], group.has_value(),
                              words.size() == (group ? 2u : 3u) ? words.back() : std::string());
    if (verb == "group" && words.size() == 3 && words[1] == "create")
        return cmd_group_create(options, words[2], members.value_or(std::vector<std::string>{}));
    if (verb == "group" && words.size() >= 4 && (words[1] == "add" || words[1] == "remove"))
        return cmd_group_change(options, words[1], words[2],
                                std::vector<std::string>(words.begin() + 3, words.end()));
    if (verb == "group" && words.size() == 4 && (words[1] == "promote" || words[1] == "demote"))
        return cmd_group_change(options, words[1], words[2], {words[3]});
    if (verb == "group" && words.size() == 4 &&
        (words[1] == "rename" || words[1] == "describe" || words[1] == "picture"))
        return cmd_group_info(options, words[2],
                              words[1] == "rename"     ? "name"
                              : words[1] == "describe" ? "description"
                                                       : "avatar",
                              words[3]);
    if (verb == "group" && words.size() == 3 && words[1] == "leave")
        return cmd_group_change(options, "leave", words[2], {});
    if (verb == "group" && words.size() == 2 && words[1] == "list")
        return cmd_group_list(options);
    if (verb == "group" && words.size() == 3 && words[1] == "members")
        return cmd_group_members(options, words[2]);
    if (!verify_action.empty() && verb != "verify")
        return usage_error("--mark, --clear and --accept go with verify");
    if (remove && verb != "react")
        return usage_error("--remove goes with react");
    if (stop && verb != "typing")
        return usage_error("--stop goes with typing");
    if ((!files.empty() || !reply.empty()) && verb != "send")
        return usage_error("--file and --reply go with send");
    if (verb == "send" && (!files.empty() || !reply.empty())) {
        // With files the text is optional: send NAME --file F, send --group G --file F.
        std::size_t base = group ? 1 : 2;
        if (words.size() < base || words.size() > base + 1)
            return usage_error("send takes NAME [TEXT] (or --group GROUP [TEXT])");
        std::string text = words.size() == base + 1 ? words.back() : std::string();
        if (text.empty() && files.empty())
            return usage_error("a reply needs text");
        return cmd_send_rich(options, group ? *group : words[1], group.has_value(), text, files,
                             reply);
    }
    if (verb == "react" && ((words.size() == 3 && !remove) || (words.size() == 2 && remove)))
        return cmd_react(options, words[1], remove ? std::string() : words[2]);
    if (verb == "edit" && words.size() == 3)
        return cmd_edit(options, words[1], words[2]);
    if (verb == "delete" && words.size() == 2)
        return cmd_delete(options, words[1]);
    if (verb == "resend" && words.size() == 2)
        return cmd_resend(options, words[1]);
    if (verb == "save" && (words.size() == 2 || words.size() == 3))
        return cmd_save(options, words[1], words.size() == 3 ? words[2] : std::string());
    if (verb == "verify" && words.size() == 2)
        return cmd_verify(options, words[1], verify_action, ascii);
    if (verb == "timer" && ((group && words.size() == 2) || (!group && words.size() == 3)))
        return cmd_timer(options, group ? *group : words[1], group.has_value(), words.back());
    if (verb == "read" && ((group && words.size() == 1) || (!group && words.size() == 2)))
        return cmd_read(options, group ? *group : words[1], group.has_value());
    if (verb == "read-receipts" && words.size() <= 2)
        return cmd_read_receipts(options, words.size() == 2 ? words[1] : std::string());
    if (verb == "typing" && ((group && words.size() == 1) || (!group && words.size() == 2)))
        return cmd_typing(options, group ? *group : words[1], group.has_value(), !stop);
    const bool send_to_group = verb == "send" && group && words.size() == 2;
    if (send_to_group || (verb == "send" && !group && words.size() == 3)) {
        std::string text = words.back();
        if (text == "-") {
            // Read one byte past the limit at most: endless input is refused, not buffered.
            text.resize(kMaxPlaintextBytes + 2);
            std::cin.read(text.data(), static_cast<std::streamsize>(text.size()));
            text.resize(static_cast<std::size_t>(std::cin.gcount()));
            while (!text.empty() && text.back() == '\n')
                text.pop_back();
            if (text.size() > kMaxPlaintextBytes) {
                std::cerr << "veil: the message is longer than 64 KiB\n";
                return exit_failure;
            }
        }
        return send_to_group ? cmd_send_group(options, *group, text)
                             : cmd_send(options, words[1], text);
    }
    if (verb == "receive" && words.size() == 1)
        return cmd_receive(options, json, wait_s);
    if (verb == "listen" && words.size() == 1)
        return cmd_listen(options, json);
    if (verb == "daemon" && words.size() == 1)
        return cmd_daemon(options, socket.value_or(std::string()));
    if (verb == "bot" && words.size() == 2 && words[1] == "echo")
        return cmd_bot_echo(options);
    if (verb == "search" && words.size() >= 2) {
        std::string query;
        for (std::size_t i = 1; i < words.size(); ++i)
            query += (i > 1 ? " " : "") + words[i];
        return cmd_search(options, query, json);
    }
    if (device_name && !(verb == "link" && words.size() == 1))
        return usage_error("--name goes with link");
    if (ascii && !(verb == "link" && words.size() == 1) && verb != "verify")
        return usage_error("--ascii goes with link and verify");
    if (history && !(verb == "link" && words.size() == 3))
        return usage_error("--history goes with link accept");
    if (verb == "link" && words.size() == 1)
        return cmd_link(options, device_name.value_or(default_device_name()), ascii);
    if (verb == "link" && words.size() == 3 && words[1] == "accept")
        return cmd_link_accept(options, words[2], history);
    if (verb == "devices" && words.size() == 1)
        return cmd_devices_list(options);
    if (verb == "devices" && words.size() == 3 && words[1] == "remove")
        return cmd_devices_remove(options, words[2]);
    return usage_error("unknown or incomplete command: " + verb);
}
