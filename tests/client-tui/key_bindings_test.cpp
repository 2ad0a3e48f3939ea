#include "key_bindings.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <string>

using namespace veil::tui;

TEST_CASE("the default bindings are emacs-style", "[key_bindings]") {
    KeyBindings keys;
    CHECK(keys.action_for(Key::ctrl('a')) == Action::beginning_of_line);
    CHECK(keys.action_for(Key::ctrl('k')) == Action::kill_line);
    CHECK(keys.action_for(Key::alt('b')) == Action::backward_word);
    CHECK(keys.action_for(Key::of(Key::Type::up)) == Action::history_previous);
    CHECK(keys.action_for(Key::of(Key::Type::tab)) == Action::complete);
    CHECK(keys.action_for(Key::ctrl('r')) == Action::find);
    CHECK(keys.action_for(Key::alt('z')) == Action::none);
}

TEST_CASE("keys.conf binds and unbinds keys, skipping comments and blank lines", "[key_bindings]") {
    KeyBindings keys;
    auto problems = keys.load("# my keys\n"
                              "\n"
                              "bind C-j next-conversation\n" // refused: C-j is Enter
                              "  bind   M-j   scroll-down  \r\n"
                              "bind PgUp scroll-bottom\n"
                              "bind c-T find\n"
                              "unbind C-s\n"
                              "bind S-Tab previous-conversation\n");
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].rfind("line 3: C-j reaches the app as", 0) == 0);
    CHECK(keys.action_for(Key::alt('j')) == Action::scroll_down);
    CHECK(keys.action_for(Key::of(Key::Type::page_up)) == Action::scroll_bottom);
    CHECK(keys.action_for(Key::ctrl('t')) == Action::find);
    CHECK(keys.action_for(Key::ctrl('s')) == Action::none);
    CHECK(keys.action_for(Key::of(Key::Type::back_tab)) == Action::previous_conversation);
}

TEST_CASE("bad keys.conf lines are reported with their numbers and change nothing",
          "[key_bindings]") {
    KeyBindings keys;
    auto problems = keys.load("bind C-n frobnicate\n"
                              "bind C-1 quit\n"
                              "bind x quit\n"
                              "bind Hyper-x quit\n"
                              "bind C-n\n"
                              "unbind\n"
                              "rebind C-n quit\n"
                              "bind C-n quit extra\n"
                              "bind \x1b[2J quit\n");
    REQUIRE(problems.size() == 9);
    CHECK(problems[0] == "line 1: unknown action 'frobnicate'");
    CHECK(problems[1].rfind("line 2: unknown key 'C-1'", 0) == 0);
    CHECK(problems[2].rfind("line 3: 'x' is typed as a character", 0) == 0);
    CHECK(problems[3] == "line 4: unknown key 'Hyper-x'");
    CHECK(problems[4].rfind("line 5: bind takes a key and an action", 0) == 0);
    CHECK(problems[5].rfind("line 6: unbind takes one key", 0) == 0);
    CHECK(problems[6].rfind("line 7: unknown word 'rebind'", 0) == 0);
    CHECK(problems[7].rfind("line 8: bind takes", 0) == 0);
    CHECK(problems[8] == "line 9: unknown key '?[2J'"); // the escape is never echoed
    CHECK(keys.action_for(Key::ctrl('n')) == Action::next_conversation);
}

TEST_CASE("key names read back as written", "[key_bindings]") {
    for (std::string name : {"C-n", "M-b", "M->", "Tab", "S-Tab", "PgUp", "PgDn", "Esc", "Enter"}) {
        Key key;
        REQUIRE(parse_key_name(name, key));
        CHECK(key_name(key) == name);
    }
    Action action;
    REQUIRE(parse_action("kill-word-forward", action));
    CHECK(action_name(action) == "kill-word-forward");
}

TEST_CASE("keys.conf lives in XDG_CONFIG_HOME, else in ~/.config", "[key_bindings]") {
    CHECK(key_config_path("/x/conf", "/home/a") == "/x/conf/veil/keys.conf");
    CHECK(key_config_path(nullptr, "/home/a") == "/home/a/.config/veil/keys.conf");
    CHECK(key_config_path("relative", "/home/a") == "/home/a/.config/veil/keys.conf");
    CHECK(key_config_path(nullptr, nullptr).empty());
}

TEST_CASE("the example keys.conf in docs has no line the app would skip", "[key_bindings]") {
    std::ifstream in(std::string(VEIL_SOURCE_DIR) + "/docs/keys.conf.example");
    REQUIRE(in);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    KeyBindings keys;
    CHECK(keys.load(text).empty());
    CHECK(keys.action_for(Key::ctrl('t')) == Action::scroll_bottom);
    // Every action the file lists exists.
    auto listed = text.substr(text.find("# Actions:"));
    listed = listed.substr(0, listed.find("\n\n"));
    std::size_t checked = 0;
    for (std::size_t i = 0; i < listed.size();) {
        std::size_t end = listed.find_first_of(" \n", i);
        std::string word = listed.substr(i, end == std::string::npos ? end : end - i);
        i = end == std::string::npos ? listed.size() : end + 1;
        if (word.empty() || word == "#" || word == "Actions:")
            continue;
        Action action;
        INFO(word);
        CHECK(parse_action(word, action));
        ++checked;
    }
    CHECK(checked == 30);
}
