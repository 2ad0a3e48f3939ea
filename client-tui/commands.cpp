#include "commands.h"

#include <algorithm>
#include <climits>
#include <cstdint>

namespace veil::tui {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && s.front() == ' ')
        s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ')
        s.remove_suffix(1);
    return s;
}

Command invalid(std::string sentence) {
    return {Command::Kind::invalid, std::move(sentence), {}};
}

// A command that takes exactly one name.
Command with_name(Command::Kind kind, std::string_view verb, std::string_view rest) {
    if (rest.empty())
        return invalid("/" + std::string(verb) + " needs a name, e.g. /" + std::string(verb) +
                       " bob");
    if (rest.find(' ') != std::string_view::npos)
        return invalid("/" + std::string(verb) + " takes one name without spaces");
    return {kind, std::string(rest), {}};
}

std::vector<std::string> words(std::string_view rest) {
    std::vector<std::string> out;
    while (!rest.empty()) {
        std::size_t space = rest.find(' ');
        std::string_view word = rest.substr(0, space);
        if (!word.empty())
            out.emplace_back(word);
        rest = space == std::string_view::npos ? "" : rest.substr(space + 1);
    }
    return out;
}

// /group NAME [MEMBER...] | /group add|remove MEMBER... | /group leave | /group members
// | /group promote|demote MEMBER | /group rename NAME... | /group describe TEXT...
// | /group picture FILE|-
Command group_command(std::string_view rest) {
    for (std::string_view verb : {"rename", "describe", "picture"}) {
        if (rest.substr(0, verb.size()) != verb ||
            (rest.size() > verb.size() && rest[verb.size()] != ' '))
            continue;
        std::string_view text = trim(rest.substr(verb.size()));
        if (text.empty() && verb == "rename")
            return invalid("/group rename needs the new name, e.g. /group rename Sunday walkers");
        if (verb == "picture") {
            if (text.empty())
                return invalid("/group picture needs a PNG or JPEG file of at most 64 KiB, or - "
                               "to remove the picture");
            return {Command::Kind::group_picture, std::string(text == "-" ? "" : text), {}};
        }
        return {verb == "rename" ? Command::Kind::group_rename : Command::Kind::group_describe,
                std::string(text),
                {}};
    }
    auto args = words(rest);
    if (args.empty())
        return invalid("/group needs a name to create one, e.g. /group hikers bob carol");
    const std::string& first = args.front();
    std::vector<std::string> more(args.begin() + 1, args.end());
    if (first == "add" || first == "remove") {
        if (more.empty())
            return invalid("/group " + first + " needs names, e.g. /group " + first + " bob");
        return {first == "add" ? Command::Kind::group_add : Command::Kind::group_remove,
                {},
                std::move(more)};
    }
    if (first == "promote" || first == "demote") {
        if (more.size() != 1)
            return invalid("/group " + first + " takes one name, e.g. /group " + first + " bob");
        return {first == "promote" ? Command::Kind::group_promote : Command::Kind::group_demote,
                {},
                std::move(more)};
    }
    if (first == "leave" || first == "members") {
        if (!more.empty())
            return invalid("/group " + first + " takes nothing more");
        return {
            first == "leave" ? Command::Kind::group_leave : Command::Kind::group_members, {}, {}};
    }
    return {Command::Kind::group_create, first, std::move(more)};
}

// /devices | /devices remove ID
Command devices_command(std::string_view rest) {
    auto args = words(rest);
    if (args.empty())
        return {Command::Kind::devices, {}, {}};
    if (args.front() != "remove")
        return invalid("/devices takes nothing, or remove and a device number, e.g. "
                       "/devices remove 2");
    if (args.size() != 2)
        return invalid("/devices remove takes one device number, e.g. /devices remove 2");
    const std::string& id = args[1];
    bool digits = id.size() <= 9 &&
                  std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || std::stoul(id) == 0)
        return invalid("/devices remove needs a device number as /devices lists it, e.g. "
                       "/devices remove 2");
    return {Command::Kind::device_remove, std::to_string(std::stoul(id)), {}};
}

// /link CODE [--history]: the code may be pasted with its dashes or with spaces in it.
Command link_command(std::string_view rest) {
    Command command{Command::Kind::link, {}, {}};
    for (const auto& word : words(rest)) {
        if (word == "--history")
            command.history = true;
        else if (word.size() > 2 && word[0] == '-' && word[1] == '-')
            return invalid("/link knows only --history (copy recent conversations to the new "
                           "device)");
        else
            command.argument += (command.argument.empty() ? "" : " ") + word;
    }
    if (command.argument.empty())
        return invalid("/link needs the code the new device shows, e.g. /link ABCD-EFGH-... "
                       "(add --history to copy recent conversations)");
    return command;
}

// /notify [all|sender|none|off|on]
Command notify_command(std::string_view rest) {
    if (rest.empty() || rest == "all" || rest == "sender" || rest == "none" || rest == "off" ||
        rest == "on")
        return {Command::Kind::notify, std::string(rest), {}};
    return invalid("/notify takes all (sender and text), sender, none, off or on, "
                   "e.g. /notify sender");
}

bool all_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A message reference as the pane shows it: "#12" or "12".
bool parse_ref(std::string_view word, int& ref) {
    if (!word.empty() && word.front() == '#')
        word.remove_prefix(1);
    if (!all_digits(word) || word.size() > 6)
        return false;
    ref = std::stoi(std::string(word));
    return ref > 0;
}

// The first word of rest as a reference; rest is left with what follows it, trimmed.
bool take_ref(std::string_view& rest, int& ref) {
    std::size_t space = rest.find(' ');
    if (!parse_ref(rest.substr(0, space), ref))
        return false;
    rest = space == std::string_view::npos ? "" : trim(rest.substr(space));
    return true;
}

std::string bad_ref(std::string_view verb, std::string_view example) {
    return "/" + std::string(verb) +
           " needs a message number as the conversation shows it (#12), " + "e.g. /" +
           std::string(verb) + " " + std::string(example);
}

// /reply REF TEXT, /edit REF TEXT
Command ref_and_text(Command::Kind kind, std::string_view verb, std::string_view rest) {
    Command command{kind, {}, {}};
    if (!take_ref(rest, command.ref))
        return invalid(bad_ref(verb, "12 see you then"));
    if (rest.empty())
        return invalid("/" + std::string(verb) + " needs the text after the number, e.g. /" +
                       std::string(verb) + " 12 see you then");
    command.argument = std::string(rest);
    return command;
}

// /delete REF, /resend REF
Command ref_only(Command::Kind kind, std::string_view verb, std::string_view rest) {
    Command command{kind, {}, {}};
    if (!take_ref(rest, command.ref))
        return invalid(bad_ref(verb, "12"));
    if (!rest.empty())
        return invalid("/" + std::string(verb) + " takes one message number, e.g. /" +
                       std::string(verb) + " 12");
    return command;
}

// /react REF EMOJI | /react REF -
Command react_command(std::string_view rest) {
    Command command{Command::Kind::react, {}, {}};
    if (!take_ref(rest, command.ref))
        return invalid(bad_ref("react", "12 \xF0\x9F\x91\x8D"));
    if (rest.empty() || rest.find(' ') != std::string_view::npos)
        return invalid("/react takes a message number and one emoji, or - to take yours back, "
                       "e.g. /react 12 \xF0\x9F\x91\x8D");
    if (rest != "-")
        command.argument = std::string(rest);
    return command;
}

// /timer off|30s|5m|1h|1d|1w
Command timer_command(std::string_view rest) {
    Command command{Command::Kind::timer, {}, {}};
    if (!parse_timer(rest, command.seconds))
        return invalid("/timer takes off or a time such as 30s, 5m, 1h, 1d or 1w");
    return command;
}

// /readreceipts [on|off]
Command read_receipts_command(std::string_view rest) {
    if (rest.empty() || rest == "on" || rest == "off")
        return {Command::Kind::read_receipts, std::string(rest), {}};
    return invalid("/readreceipts takes on or off");
}

// /verify [--accept|--clear|--mark]
Command verify_command(std::string_view rest) {
    Command command{Command::Kind::verify, {}, {}};
    using V = Command::Verify;
    if (rest.empty())
        command.verify = V::show;
    else if (rest == "--accept")
        command.verify = V::accept;
    else if (rest == "--clear")
        command.verify = V::clear;
    else if (rest == "--mark")
        command.verify = V::mark;
    else
        return invalid("/verify takes nothing (show the safety number), --mark (they match), "
                       "--clear (no longer verified) or --accept (accept a changed key)");
    return command;
}

// /save REF [INDEX] [PATH]: INDEX is a number (1 is the first file); anything else is the path,
// spaces included (a path that is only digits is written ./2024).
Command save_command(std::string_view rest) {
    Command command{Command::Kind::save, {}, {}};
    if (!take_ref(rest, command.ref))
        return invalid(bad_ref("save", "12"));
    std::size_t space = rest.find(' ');
    std::string_view first = rest.substr(0, space);
    if (all_digits(first)) {
        if (first.size() > 3 || std::stoi(std::string(first)) == 0)
            return invalid("/save: files are numbered from 1, e.g. /save 12 2");
        command.index = std::stoi(std::string(first)) - 1;
        rest = space == std::string_view::npos ? "" : trim(rest.substr(space));
    }
    command.argument = std::string(rest);
    return command;
}

} // namespace

bool parse_timer(std::string_view text, std::uint32_t& seconds) {
    if (text == "off" || text == "0") {
        seconds = 0;
        return true;
    }
    if (text.size() < 2 || text.size() > 8 || !all_digits(text.substr(0, text.size() - 1)))
        return false;
    std::uint64_t unit = 0;
    switch (text.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    default: return false;
    }
    std::uint64_t n = std::stoull(std::string(text.substr(0, text.size() - 1)));
    if (n == 0 || n * unit > UINT32_MAX)
        return false;
    seconds = static_cast<std::uint32_t>(n * unit);
    return true;
}

Command parse_command(std::string_view line) {
    if (trim(line).empty())
        return {};
    if (line.size() >= 2 && line[0] == '/' && line[1] == '/')
        return {Command::Kind::message, std::string(line.substr(1)), {}};
    if (line[0] != '/')
        return {Command::Kind::message, std::string(line), {}};

    std::string_view body = trim(line.substr(1));
    std::size_t space = body.find(' ');
    std::string_view verb = body.substr(0, space);
    std::string_view rest = space == std::string_view::npos ? "" : trim(body.substr(space));

    if (verb == "add")
        return with_name(Command::Kind::add, verb, rest);
    if (verb == "open")
        return with_name(Command::Kind::open, verb, rest);
    if (verb == "quit" || verb == "q" || verb == "exit")
        return rest.empty() ? Command{Command::Kind::quit, {}, {}} : invalid("/quit takes nothing");
    if (verb == "help" || verb == "?")
        return {Command::Kind::help, {}, {}};
    if (verb == "full")
        return {Command::Kind::full, {}, {}};
    if (verb == "group")
        return group_command(rest);
    if (verb == "devices")
        return devices_command(rest);
    if (verb == "link")
        return link_command(rest);
    if (verb == "block")
        return with_name(Command::Kind::block, verb, rest);
    if (verb == "unblock")
        return with_name(Command::Kind::unblock, verb, rest);
    if (verb == "blocked")
        return rest.empty() ? Command{Command::Kind::blocked, {}, {}}
                            : invalid("/blocked takes nothing (/block NAME blocks someone)");
    if (verb == "notify")
        return notify_command(rest);
    if (verb == "reply")
        return ref_and_text(Command::Kind::reply, verb, rest);
    if (verb == "edit")
        return ref_and_text(Command::Kind::edit, verb, rest);
    if (verb == "react")
        return react_command(rest);
    if (verb == "delete")
        return ref_only(Command::Kind::delete_message, verb, rest);
    if (verb == "resend")
        return ref_only(Command::Kind::resend, verb, rest);
    if (verb == "timer")
        return timer_command(rest);
    if (verb == "readreceipts")
        return read_receipts_command(rest);
    if (verb == "verify")
        return verify_command(rest);
    if (verb == "encryption") {
        if (!rest.empty() && rest != "restart" && rest != "renew")
            return invalid("/encryption takes nothing (who holds keys), restart (new sessions "
                           "with a contact's devices) or renew (a new group key)");
        return {Command::Kind::encryption, std::string(rest), {}};
    }
    if (verb == "file") {
        if (rest.empty())
            return invalid("/file needs the path of the file to send, e.g. /file ~/notes.pdf");
        return {Command::Kind::file, std::string(rest), {}};
    }
    if (verb == "save")
        return save_command(rest);
    if (verb == "find") {
        if (rest.empty())
            return invalid("/find needs words to look for in this conversation, e.g. /find lunch");
        return {Command::Kind::find, std::string(rest), {}};
    }
    if (verb == "set") {
        auto args = words(rest);
        if (args.size() > 2)
            return invalid("/set takes a setting and a value, e.g. /set editing vi");
        return {Command::Kind::set, {}, std::move(args)};
    }
    if (verb == "keys")
        return rest.empty() ? Command{Command::Kind::keys, {}, {}} : invalid("/keys takes nothing");
    if (verb == "search") {
        if (rest.empty())
            return invalid("/search needs words to look for, e.g. /search lunch friday");
        return {Command::Kind::search, std::string(rest), {}};
    }
    // The verb is echoed back only if it is short and printable; the view makes it inert anyway.
    return invalid("unknown command /" + std::string(verb.substr(0, 20)) +
                   " (type /help; start with // to send a message beginning with /)");
}

const char* help_text() {
    return "Commands:\n"
           "  /add NAME     add NAME as a contact and open the conversation\n"
           "  /open NAME    open the conversation with NAME\n"
           "  /full         show long messages in full (again: truncate)\n"
           "  /group NAME [MEMBER...]   create a group and open it\n"
           "  /group add|remove MEMBER...   change the open group's members (admins)\n"
           "  /group members   who is in the open group\n"
           "  /group promote|demote MEMBER   make an admin, or a member again (admins)\n"
           "  /group rename NAME   /group describe TEXT   the open group's name, description\n"
           "  /group picture FILE|-   the open group's picture (PNG or JPEG, 64 KiB)\n"
           "  /group leave  leave the open group\n"
           "  /devices      this account's devices\n"
           "  /devices remove ID   unlink device ID (it can no longer read new messages)\n"
           "  /link CODE [--history]   link the new device showing CODE (see veil link);\n"
           "                --history copies recent conversations to it, encrypted\n"
           "  /search WORDS   messages of every conversation holding all the WORDS, newest\n"
           "                first (PageUp/PageDown scroll the list; /open NAME opens one)\n"
           "  /find WORDS   find WORDS in this conversation: jumps to the newest match and\n"
           "                highlights them; Ctrl-R older, Ctrl-S newer, Esc ends\n"
           "  /block NAME   drop NAME's messages unseen and unconfirmed (marked \xE2\x8A\x98)\n"
           "                (\xE2\x9A\xA0 in the list: a name that looks like another one's)\n"
           "  /unblock NAME   stop dropping them    /blocked   who is blocked\n"
           "  /notify all|sender|none|off|on   new messages ring the bell and count in the\n"
           "                terminal title; all shows sender and text in the status line,\n"
           "                sender only who wrote, none neither (/notify alone: the setting)\n"
           "Messages (each line ends with its number REF, e.g. #12):\n"
           "  /reply REF TEXT   reply, quoting message REF\n"
           "  /react REF EMOJI   react (/react REF - takes it back)\n"
           "  /edit REF TEXT   change one of yours (within 24 h)\n"
           "  /delete REF   delete one of yours for everyone (24 h)\n"
           "  /resend REF   send again one that expired or failed\n"
           "  /file PATH    send a file (progress in the status line)\n"
           "  /save REF [N] [PATH]   save file N (default 1) of REF;\n"
           "                default: here, under its name; never overwrites\n"
           "  /timer off|30s|5m|1h|1d|1w   disappearing messages here\n"
           "  /readreceipts on|off   tell senders you read them\n"
           "  /verify       the safety number and QR code to compare;\n"
           "                --mark they match, --clear undo, --accept new key\n"
           "  /encryption   who holds keys here; restart: new sessions (1:1),\n"
           "                renew: a new group key with your next message\n"
           "  /set          the settings; /set editing vi|emacs, /set mouse on|off,\n"
           "                /set theme auto|256|16|mono, /set readreceipts on|off,\n"
           "                /set notify all|sender|none|off|on\n"
           "  /keys         the key bindings (change them in ~/.config/veil/keys.conf:\n"
           "                bind C-n next-conversation, one a line)\n"
           "  /help         this help (any key closes it)\n"
           "  /quit         quit (also Ctrl-Q)\n"
           "  //text        send a message that starts with /\n"
           "Keys (emacs-style; /set editing vi for vi's modes):\n"
           "  Enter send    Ctrl-N/P, Alt-N/P switch conversation\n"
           "  Tab           completes a command, name or setting (again: the next one);\n"
           "                on a message line it switches conversation (Shift-Tab back)\n"
           "  Up/Down       earlier lines you typed    Ctrl-R find in this conversation\n"
           "  PageUp/PageDown scroll (this help too)    Alt-> or Esc back to the newest\n"
           "  Left/Right Home/End Ctrl-A/E/B/F Alt-B/F move\n"
           "  Backspace/Delete Ctrl-D Ctrl-K (to end) Ctrl-U (to start) Ctrl-W Alt-D (word)\n"
           "                delete; Ctrl-Y puts back what they deleted\n"
           "  vi mode: Esc to normal mode (h l w b e 0 $ x dw cw dd D C p, j k history,\n"
           "                / find, n N older and newer match), i a I A to insert again;\n"
           "                the status line shows the mode";
}

} // namespace veil::tui
