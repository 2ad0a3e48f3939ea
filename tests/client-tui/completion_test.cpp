#include "completion.h"

#include <catch2/catch.hpp>

using namespace veil::tui;

namespace {

const std::vector<std::string> kNames = {"bob", "bernard", "carol", "Hikers", "Sunday walkers"};

std::vector<std::string> matches(std::string_view line) {
    return complete_at(line, line.size(), kNames).matches;
}

} // namespace

TEST_CASE("the first word completes to commands", "[completion]") {
    CHECK(matches("/gr") == std::vector<std::string>{"/group"});
    CHECK(matches("/re") ==
          std::vector<std::string>{"/react", "/readreceipts", "/reply", "/resend"});
    auto c = complete_at("/se", 3, kNames);
    CHECK(c.start == 0);
    CHECK(c.end == 3);
    CHECK(c.matches == std::vector<std::string>{"/search", "/set"});
}

TEST_CASE("names complete after commands that take them, group names too", "[completion]") {
    CHECK(matches("/open b") == std::vector<std::string>{"bernard", "bob"});
    CHECK(matches("/open h") == std::vector<std::string>{"Hikers"}); // case is ignored
    CHECK(matches("/group add c") == std::vector<std::string>{"carol"});
    CHECK(matches("/open ").size() == 4); // a name with a space cannot be typed after /open
    auto c = complete_at("/open bo", 8, kNames);
    CHECK(c.start == 6);
}

TEST_CASE("settings, their values and command words complete", "[completion]") {
    CHECK(matches("/set e") == std::vector<std::string>{"editing"});
    CHECK(matches("/set editing ") == std::vector<std::string>{"emacs", "vi"});
    CHECK(matches("/set theme 2") == std::vector<std::string>{"256"});
    CHECK(matches("/group m") == std::vector<std::string>{"members"});
    CHECK(matches("/verify --m") == std::vector<std::string>{"--mark"});
}

TEST_CASE("messages and unknown commands complete nothing", "[completion]") {
    CHECK(matches("hello b").empty());
    CHECK(matches("//open b").empty());
    CHECK(matches("/frob b").empty());
    CHECK(matches("/file no").empty());
    CHECK(matches("").empty());
}

TEST_CASE("the word under the cursor completes, not the end of the line", "[completion]") {
    auto c = complete_at("/open ca tomorrow", 8, kNames);
    CHECK(c.start == 6);
    CHECK(c.end == 8);
    CHECK(c.matches == std::vector<std::string>{"carol"});
}
