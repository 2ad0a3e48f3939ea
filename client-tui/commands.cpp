#include "commands.h"

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
    return {Command::Kind::invalid, std::move(sentence)};
}

// A command that takes exactly one name.
Command with_name(Command::Kind kind, std::string_view verb, std::string_view rest) {
    if (rest.empty())
        return invalid("/" + std::string(verb) + " needs a name, e.g. /" + std::string(verb) +
                       " bob");
    if (rest.find(' ') != std::string_view::npos)
        return invalid("/" + std::string(verb) + " takes one name without spaces");
    return {kind, std::string(rest)};
}

} // namespace

Command parse_command(std::string_view line) {
    if (trim(line).empty())
        return {};
    if (line.size() >= 2 && line[0] == '/' && line[1] == '/')
        return {Command::Kind::message, std::string(line.substr(1))};
    if (line[0] != '/')
        return {Command::Kind::message, std::string(line)};

    std::string_view body = trim(line.substr(1));
    std::size_t space = body.find(' ');
    std::string_view verb = body.substr(0, space);
    std::string_view rest = space == std::string_view::npos ? "" : trim(body.substr(space));

    if (verb == "add")
        return with_name(Command::Kind::add, verb, rest);
    if (verb == "open")
        return with_name(Command::Kind::open, verb, rest);
    if (verb == "quit" || verb == "q" || verb == "exit")
        return rest.empty() ? Command{Command::Kind::quit, {}} : invalid("/quit takes nothing");
    if (verb == "help" || verb == "?")
        return {Command::Kind::help, {}};
    if (verb == "full")
        return {Command::Kind::full, {}};
    // The verb is echoed back only if it is short and printable; the view makes it inert anyway.
    return invalid("unknown command /" + std::string(verb.substr(0, 20)) +
                   " (type /help; start with // to send a message beginning with /)");
}

const char* help_text() {
    return "Commands:\n"
           "  /add NAME     add NAME as a contact and open the conversation\n"
           "  /open NAME    open the conversation with NAME\n"
           "  /full         show long messages in full (again: truncate)\n"
           "  /help         this help (any key closes it)\n"
           "  /quit         quit (also Ctrl-Q)\n"
           "  //text        send a message that starts with /\n"
           "Keys:\n"
           "  Enter send    Tab/Shift-Tab, Up/Down, Ctrl-N/P, Alt-N/P switch conversation\n"
           "  PageUp/PageDown scroll    Left/Right Home/End Ctrl-A/E move\n"
           "  Backspace/Delete Ctrl-U (to start) Ctrl-W (word) delete";
}

} // namespace veil::tui
