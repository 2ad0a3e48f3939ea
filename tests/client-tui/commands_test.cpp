#include "commands.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

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

TEST_CASE("/devices lists and /devices remove ID unlinks a device by number", "[commands]") {
    CHECK(parse_command("/devices").kind == Command::Kind::devices);
    Command c = parse_command("/devices remove 2");
    CHECK(c.kind == Command::Kind::device_remove);
    CHECK(c.argument == "2");
    CHECK(parse_command("/devices remove 007").argument == "7");
}

TEST_CASE("/devices with a bad number or stray words is refused with a hint", "[commands]") {
    for (const char* line :
         {"/devices remove", "/devices remove two", "/devices remove 0", "/devices remove 2 3",
          "/devices remove -1", "/devices remove 99999999999", "/devices list"}) {
        Command c = parse_command(line);
        INFO(line);
        CHECK(c.kind == Command::Kind::invalid);
        CHECK(c.argument.find("/devices") != std::string::npos);
    }
}

TEST_CASE("/link takes a code pasted with dashes or spaces and an optional --history",
          "[commands]") {
    Command c = parse_command("/link ABCD-EFGH-JKMN");
    CHECK(c.kind == Command::Kind::link);
    CHECK(c.argument == "ABCD-EFGH-JKMN");
    CHECK_FALSE(c.history);

    c = parse_command("/link --history ABCD EFGH  JKMN");
    CHECK(c.kind == Command::Kind::link);
    CHECK(c.argument == "ABCD EFGH JKMN");
    CHECK(c.history);

    c = parse_command("/link ABCD --history");
    CHECK(c.history);
    CHECK(c.argument == "ABCD");
}

TEST_CASE("/link without a code or with an unknown option is refused with a hint", "[commands]") {
    Command c = parse_command("/link");
    CHECK(c.kind == Command::Kind::invalid);
    CHECK(c.argument.find("needs the code") != std::string::npos);
    CHECK(parse_command("/link --history").kind == Command::Kind::invalid);
    c = parse_command("/link ABCD --all");
    CHECK(c.kind == Command::Kind::invalid);
    CHECK(c.argument.find("--history") != std::string::npos);
}

TEST_CASE("/help mentions the device commands", "[commands]") {
    std::string help = veil::tui::help_text();
    CHECK(help.find("/devices") != std::string::npos);
    CHECK(help.find("/devices remove ID") != std::string::npos);
    CHECK(help.find("/link CODE [--history]") != std::string::npos);
}

TEST_CASE("/search takes the words as typed, and without words is refused with a hint",
          "[commands]") {
    Command c = parse_command("/search lunch  friday");
    CHECK(c.kind == Command::Kind::search);
    CHECK(c.argument == "lunch  friday");
    CHECK(parse_command("/search \"quoted\" OR*").argument == "\"quoted\" OR*");
    for (const char* line : {"/search", "/search   "}) {
        c = parse_command(line);
        CHECK(c.kind == Command::Kind::invalid);
        CHECK(c.argument.find("/search needs words") != std::string::npos);
    }
    CHECK(std::string(veil::tui::help_text()).find("/search WORDS") != std::string::npos);
}

TEST_CASE("/block and /unblock take exactly one name", "[commands]") {
    Command c = parse_command("/block mallory");
    CHECK(c.kind == Command::Kind::block);
    CHECK(c.argument == "mallory");

    c = parse_command("/unblock  mallory ");
    CHECK(c.kind == Command::Kind::unblock);
    CHECK(c.argument == "mallory");

    c = parse_command("/block");
    CHECK(c.kind == Command::Kind::invalid);
    CHECK(c.argument.find("/block needs a name") != std::string::npos);

    c = parse_command("/unblock bob carol");
    CHECK(c.kind == Command::Kind::invalid);
}

TEST_CASE("/blocked lists and takes nothing more", "[commands]") {
    CHECK(parse_command("/blocked").kind == Command::Kind::blocked);
    Command c = parse_command("/blocked bob");
    CHECK(c.kind == Command::Kind::invalid);
    CHECK(c.argument.find("/blocked takes nothing") != std::string::npos);
}

TEST_CASE("/notify takes one preview level, off or on, or nothing to show it", "[commands]") {
    for (const char* word : {"all", "sender", "none", "off", "on"}) {
        Command c = parse_command(std::string("/notify ") + word);
        CHECK(c.kind == Command::Kind::notify);
        CHECK(c.argument == word);
    }
    Command c = parse_command("/notify");
    CHECK(c.kind == Command::Kind::notify);
    CHECK(c.argument.empty());

    for (const char* line : {"/notify loud", "/notify all sender", "/notify ALL"}) {
        c = parse_command(line);
        CHECK(c.kind == Command::Kind::invalid);
        CHECK(c.argument.find("/notify takes") != std::string::npos);
    }
}

TEST_CASE("the help text lists blocking and notifications", "[commands]") {
    std::string help = veil::tui::help_text();
    for (const char* verb : {"/block NAME", "/unblock NAME", "/blocked", "/notify"})
        CHECK(help.find(verb) != std::string::npos);
}

// ---- everyday messaging ------------------------------------------------------------------------

TEST_CASE("/reply and /edit take a reference with or without # and the rest as text",
          "[commands]") {
    Command c = parse_command("/reply #12 see you  at  noon");
    CHECK(c.kind == Command::Kind::reply);
    CHECK(c.ref == 12);
    CHECK(c.argument == "see you  at  noon");

    c = parse_command("/edit 3 fixed typo");
    CHECK(c.kind == Command::Kind::edit);
    CHECK(c.ref == 3);
    CHECK(c.argument == "fixed typo");
}

TEST_CASE("/reply and /edit without a reference or without text are refused with a hint",
          "[commands]") {
    for (const char* line : {"/reply", "/reply hello there", "/reply #0 hi", "/reply #x hi",
                             "/reply 12", "/edit 1234567 x", "/edit #12"}) {
        Command c = parse_command(line);
        INFO(line);
        CHECK(c.kind == Command::Kind::invalid);
        CHECK(c.argument.find("e.g. /") != std::string::npos);
    }
}

TEST_CASE("/react takes one emoji, and - takes our reaction back", "[commands]") {
    Command c = parse_command("/react 4 \xF0\x9F\x91\x8D");
    CHECK(c.kind == Command::Kind::react);
    CHECK(c.ref == 4);
    CHECK(c.argument == "\xF0\x9F\x91\x8D");

    c = parse_command("/react #4 -");
    CHECK(c.kind == Command::Kind::react);
    CHECK(c.argument.empty());

    CHECK(parse_command("/react 4").kind == Command::Kind::invalid);
    CHECK(parse_command("/react 4 a b").kind == Command::Kind::invalid);
}

TEST_CASE("/delete and /resend take exactly one reference", "[commands]") {
    Command c = parse_command("/delete #7");
    CHECK(c.kind == Command::Kind::delete_message);
    CHECK(c.ref == 7);
    c = parse_command("/resend 8");
    CHECK(c.kind == Command::Kind::resend);
    CHECK(c.ref == 8);
    CHECK(parse_command("/delete").kind == Command::Kind::invalid);
    CHECK(parse_command("/delete 7 8").kind == Command::Kind::invalid);
    CHECK(parse_command("/resend all").kind == Command::Kind::invalid);
}

TEST_CASE("/timer takes off or a count of seconds, minutes, hours, days or weeks", "[commands]") {
    struct Case {
        const char* line;
        std::uint32_t seconds;
    };
    for (Case c : {Case{"/timer off", 0}, Case{"/timer 30s", 30}, Case{"/timer 5m", 300},
                   Case{"/timer 1h", 3600}, Case{"/timer 1d", 86400}, Case{"/timer 1w", 604800},
                   Case{"/timer 2w", 1209600}}) {
        Command command = parse_command(c.line);
        INFO(c.line);
        CHECK(command.kind == Command::Kind::timer);
        CHECK(command.seconds == c.seconds);
    }
    for (const char* line : {"/timer", "/timer 5", "/timer 0s", "/timer 5y", "/timer h",
                             "/timer 99999999w", "/timer 1h 2m"}) {
        INFO(line);
        CHECK(parse_command(line).kind == Command::Kind::invalid);
    }
}

TEST_CASE("/readreceipts takes on, off or nothing", "[commands]") {
    CHECK(parse_command("/readreceipts on").argument == "on");
    CHECK(parse_command("/readreceipts off").kind == Command::Kind::read_receipts);
    CHECK(parse_command("/readreceipts").kind == Command::Kind::read_receipts);
    CHECK(parse_command("/readreceipts maybe").kind == Command::Kind::invalid);
}

TEST_CASE("/verify shows, and --mark, --clear and --accept change trust", "[commands]") {
    using V = Command::Verify;
    CHECK(parse_command("/verify").verify == V::show);
    CHECK(parse_command("/verify --mark").verify == V::mark);
    CHECK(parse_command("/verify --clear").verify == V::clear);
    CHECK(parse_command("/verify --accept").verify == V::accept);
    CHECK(parse_command("/verify --accept").kind == Command::Kind::verify);
    CHECK(parse_command("/verify --yes").kind == Command::Kind::invalid);
}

TEST_CASE("/file takes the path as typed, spaces included", "[commands]") {
    Command c = parse_command("/file ~/My Documents/plan v2.pdf");
    CHECK(c.kind == Command::Kind::file);
    CHECK(c.argument == "~/My Documents/plan v2.pdf");
    CHECK(parse_command("/file").kind == Command::Kind::invalid);
}

TEST_CASE("/save takes a reference, an optional file number from 1 and an optional path",
          "[commands]") {
    Command c = parse_command("/save #12");
    CHECK(c.kind == Command::Kind::save);
    CHECK(c.ref == 12);
    CHECK(c.index == -1);
    CHECK(c.argument.empty());

    c = parse_command("/save 12 2");
    CHECK(c.index == 1);
    CHECK(c.argument.empty());

    c = parse_command("/save 12 2 ~/Downloads/a b.pdf");
    CHECK(c.index == 1);
    CHECK(c.argument == "~/Downloads/a b.pdf");

    c = parse_command("/save 12 ./2024");
    CHECK(c.index == -1);
    CHECK(c.argument == "./2024");

    CHECK(parse_command("/save").kind == Command::Kind::invalid);
    CHECK(parse_command("/save 12 0").kind == Command::Kind::invalid);
}

TEST_CASE("/help lists the message commands", "[commands]") {
    std::string help = veil::tui::help_text();
    for (const char* verb : {"/reply REF", "/react REF", "/edit REF", "/delete REF", "/resend REF",
                             "/timer", "/readreceipts", "/verify", "/file PATH", "/save REF"}) {
        INFO(verb);
        CHECK(help.find(verb) != std::string::npos);
    }
}
