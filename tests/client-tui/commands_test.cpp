#include "commands.h"

#include <catch2/catch.hpp>

using veil::tui::Command;
using veil::tui::parse_command;

TEST_CASE("\"/add NAME\" asks to add NAME", "[commands]") {
    Command c = parse_command("/add bob");
    CHECK(c.kind == Command::Kind::add);
    CHECK(c.argument == "bob");
}

TEST_CASE("spaces around a command and its name are ignored", "[commands]") {
    Command c = parse_command("  /open   carol  ");
    CHECK(c.kind == Command::Kind::message); // leading spaces: it is text, not a command

    c = parse_command("/open   carol  ");
    CHECK(c.kind == Command::Kind::open);
    CHECK(c.argument == "carol");
}

TEST_CASE("/add without a name or with two names is refused with a sentence", "[commands]") {
    Command c = parse_command("/add");
    CHECK(c.kind == Command::Kind::invalid);
    CHECK(c.argument.find("needs a name") != std::string::npos);

    c = parse_command("/add bob carol");
    CHECK(c.kind == Command::Kind::invalid);
}

TEST_CASE("/quit, /help and /full are recognised", "[commands]") {
    CHECK(parse_command("/quit").kind == Command::Kind::quit);
    CHECK(parse_command("/help").kind == Command::Kind::help);
    CHECK(parse_command("/full").kind == Command::Kind::full);
    CHECK(parse_command("/quit now").kind == Command::Kind::invalid);
}

TEST_CASE("a line that is not a command is a message, sent unchanged", "[commands]") {
    Command c = parse_command("hello /add bob  ");
    CHECK(c.kind == Command::Kind::message);
    CHECK(c.argument == "hello /add bob  ");
}

TEST_CASE("a double slash sends a message that starts with a slash", "[commands]") {
    Command c = parse_command("//add is a command");
    CHECK(c.kind == Command::Kind::message);
    CHECK(c.argument == "/add is a command");
}

TEST_CASE("an unknown command is reported, not sent", "[commands]") {
    Command c = parse_command("/adx bob");
    CHECK(c.kind == Command::Kind::invalid);
    CHECK(c.argument.find("/adx") != std::string::npos);
}

TEST_CASE("a blank line does nothing", "[commands]") {
    CHECK(parse_command("").kind == Command::Kind::none);
    CHECK(parse_command("   ").kind == Command::Kind::none);
}
