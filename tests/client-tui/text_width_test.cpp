#include "test_environment.h"
#include "text_width.h"

#include <catch2/catch.hpp>

using namespace veil::tui;

TEST_CASE("wide CJK and emoji take two cells, combining marks none", "[text_width]") {
    CHECK(text_width("abc") == 3);
    CHECK(text_width("\xE4\xB8\x96\xE7\x95\x8C") == 4); // 世界
    CHECK(text_width("\xF0\x9F\x98\x80") == 2);         // 😀
    CHECK(text_width("e\xCC\x81") == 1);                // e + combining acute
}

TEST_CASE("clipping never cuts a wide character in half", "[text_width]") {
    int width = 0;
    std::string_view clipped = clip_to_width("a\xE4\xB8\x96"
                                             "b",
                                             2, &width);
    CHECK(clipped == "a");
    CHECK(width == 1);
}

TEST_CASE("wrapping prefers spaces and keeps every piece within the width", "[text_width]") {
    auto pieces = wrap_to_width("the quick brown fox", 10);
    REQUIRE(pieces.size() == 2);
    CHECK(pieces[0] == "the quick ");
    CHECK(pieces[1] == "brown fox");

    auto wide = wrap_to_width("\xE4\xB8\x96\xE4\xB8\x96\xE4\xB8\x96", 5); // 世世世
    REQUIRE(wide.size() == 2);
    CHECK(text_width(wide[0]) == 4);
}

TEST_CASE("an invalid byte is one cell and is stepped over alone", "[text_width]") {
    char32_t cp;
    CHECK(utf8_next("\xC3(", 0, cp) == 1);
    CHECK(cp == 0xFFFD);
    CHECK(utf8_prev("a\xE4\xB8\x96", 4) == 1);
    CHECK(utf8_prev("a\x80", 2) == 1);
}

TEST_CASE("clusters are never split: flags, joined emoji and accents stay whole", "[text_width]") {
    std::string flags = "\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7\xF0\x9F\x87\xA9\xF0\x9F\x87\xAA"; // FR DE
    CHECK(next_grapheme(flags, 0) == 8);
    CHECK(previous_grapheme(flags, flags.size()) == 8);
    CHECK(clip_to_width(flags, 3) == flags.substr(0, 8));
    std::string family = "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB"; // woman ZWJ laptop
    CHECK(next_grapheme(family, 0) == family.size());
    CHECK(clip_to_width(family, 3).empty()); // 4 cells as curses places them, or nothing
    auto flag_pieces = wrap_to_width("a" + flags, 2);
    CHECK(flag_pieces == std::vector<std::string>{"a", flags.substr(0, 8), flags.substr(8)});
    auto pieces = wrap_to_width("e\xCC\x81"
                                "e\xCC\x81"
                                "e\xCC\x81",
                                2);
    REQUIRE(pieces.size() == 2);
    CHECK(pieces[0] == "e\xCC\x81"
                       "e\xCC\x81");
}
