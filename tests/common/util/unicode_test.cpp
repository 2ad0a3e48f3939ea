#include "util/unicode.h"

#include <catch2/catch.hpp>

using namespace veil;

TEST_CASE("UTF-8 decoding steps over whole code points and turns bad bytes into U+FFFD") {
    std::string text = "a\xC3\xA9\xE6\xBC\xA2\xF0\x9F\x98\x80";
    char32_t cp;
    CHECK(unicode::next(text, 0, cp) == 1);
    CHECK(cp == U'a');
    CHECK(unicode::next(text, 1, cp) == 2);
    CHECK(cp == 0xE9);
    CHECK(unicode::next(text, 3, cp) == 3);
    CHECK(cp == 0x6F22);
    CHECK(unicode::next(text, 6, cp) == 4);
    CHECK(cp == 0x1F600);
    CHECK(unicode::prev(text, text.size()) == 6);
    CHECK(unicode::prev(text, 6) == 3);

    for (std::string bad : {"\xFF", "\xC0\x80", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE6\xBC"}) {
        CHECK(unicode::next(bad, 0, cp) == 1);
        CHECK(cp == unicode::kReplacement);
    }
    CHECK(unicode::sanitize("a\xFF"
                            "b") == "a\xEF\xBF\xBD"
                                    "b");
}

TEST_CASE("controls, bidi overrides and invisible characters need a visible mark, text does not") {
    for (char32_t cp :
         {char32_t{0x1B}, char32_t{0x07}, char32_t{0x7F}, char32_t{0x9B}, char32_t{0x202E},
          char32_t{0x2066}, char32_t{0x200B}, char32_t{0xFEFF}, char32_t{0xE0041}})
        CHECK(unicode::needs_visible_mark(cp));
    for (char32_t cp : {char32_t{'a'}, char32_t{'\n'}, char32_t{'\t'}, char32_t{0xE9},
                        char32_t{0x200D}, char32_t{0xFE0F}, char32_t{0x1F600}})
        CHECK_FALSE(unicode::needs_visible_mark(cp));
    CHECK(unicode::visible_mark(0x202E) == "<U+202E>");
}
