#include "text_safety.h"

#include <catch2/catch.hpp>

using veil::tui::inert_for_terminal;
using veil::tui::json_string;
using veil::tui::sanitize_utf8;

TEST_CASE("escape sequences, 8-bit CSI, carriage return and backspace render inert") {
    std::string hostile = "hi\x1b[2J\x1b]0;title\x07\r\b\xc2\x9b"
                          "31m";
    std::string shown = inert_for_terminal(hostile, true);
    for (char c : shown) {
        auto u = static_cast<unsigned char>(c);
        CHECK((u >= 0x20 && u != 0x7f));
    }
    CHECK(shown.find("\\x1b[2J") != std::string::npos);
    CHECK(shown.find("<U+009B>") != std::string::npos);
}

TEST_CASE("bidi overrides are shown as visible marks, not applied") {
    std::string shown = inert_for_terminal("abc\xE2\x80\xAE"
                                           "def",
                                           true);
    CHECK(shown == "abc<U+202E>def");
}

TEST_CASE("wide and combined characters pass through unchanged") {
    std::string text = "漢字 e\xCC\x81 \xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB "
                       "\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7";
    CHECK(inert_for_terminal(text, true) == text);
}

TEST_CASE("invalid UTF-8 becomes the replacement character") {
    CHECK(sanitize_utf8("a\xff"
                        "b") == "a\xEF\xBF\xBD"
                                "b");
    CHECK(sanitize_utf8("\xC0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD");                 // overlong NUL
    CHECK(sanitize_utf8("\xED\xA0\x80").find("\xED\xA0\x80") == std::string::npos); // surrogate
}

TEST_CASE("JSON strings escape quotes, backslashes and control characters") {
    CHECK(json_string("a\"b\\c\nd\x01") == "\"a\\\"b\\\\c\\nd\\u0001\"");
    CHECK(json_string("\xff") == "\"\xEF\xBF\xBD\"");
}

TEST_CASE("zero-width and other invisible characters are shown as visible marks") {
    CHECK(inert_for_terminal("ad\xE2\x80\x8Bmin", true) == "ad<U+200B>min");
    CHECK(inert_for_terminal("\xEF\xBB\xBFhi", true) == "<U+FEFF>hi");
    // The zero-width joiner inside an emoji sequence is kept.
    std::string family = "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB";
    CHECK(inert_for_terminal(family, true) == family);
    // ...also after a skin tone and the emoji selector (woman, medium skin, ZWJ, laptop).
    std::string toned = "\xF0\x9F\x91\xA9\xF0\x9F\x8F\xBD\xE2\x80\x8D\xF0\x9F\x92\xBB";
    CHECK(inert_for_terminal(toned, true) == toned);
    std::string heart = "\xE2\x9D\xA4\xEF\xB8\x8F\xE2\x80\x8D\xF0\x9F\x94\xA5"; // heart on fire
    CHECK(inert_for_terminal(heart, true) == heart);
    // Anywhere else it hides inside a word, so it is shown.
    CHECK(inert_for_terminal("ad\xE2\x80\x8Dmin", true) == "ad<U+200D>min");
    CHECK(inert_for_terminal("\xF0\x9F\x91\xA9\xE2\x80\x8D", true) == "\xF0\x9F\x91\xA9<U+200D>");
    CHECK(inert_for_terminal("\xE2\x80\x8D\xF0\x9F\x92\xBB", true) == "<U+200D>\xF0\x9F\x92\xBB");
}
