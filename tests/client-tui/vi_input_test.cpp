#include "test_environment.h"
#include "vi_input.h"

#include <catch2/catch.hpp>

using namespace veil::tui;

namespace {

struct Vi {
    LineEditor editor;
    ViInput vi;
    // Feeds keys: plain characters, and '\x1b' as Esc.
    void keys(std::u32string_view text) {
        for (char32_t cp : text) {
            Key key = cp == 0x1B ? Key::of(Key::Type::escape) : Key::character(cp);
            if (!vi.handle(key, editor) && key.type == Key::Type::character)
                editor.insert(cp); // insert mode leaves typing to the app
        }
    }
    std::string rest() const { return editor.text().substr(editor.cursor()); }
};

} // namespace

TEST_CASE("vi: Esc goes to normal mode onto the last character, i and a insert again",
          "[vi_input]") {
    Vi t;
    t.keys(U"hello\x1b");
    CHECK(t.vi.mode() == ViInput::Mode::normal);
    CHECK(t.rest() == "o");
    t.keys(U"xyz"); // unknown letters type nothing
    CHECK(t.editor.text() == "hell");
    t.keys(U"0iX\x1b");
    CHECK(t.editor.text() == "Xhell");
    t.keys(U"A!\x1b");
    CHECK(t.editor.text() == "Xhell!");
    t.keys(U"Ia\x1b");
    CHECK(t.editor.text() == "aXhell!");
    t.keys(U"$a?");
    CHECK(t.vi.mode() == ViInput::Mode::insert);
    CHECK(t.editor.text() == "aXhell!?");
}

TEST_CASE("vi: h l w b e 0 $ move over words and whole characters", "[vi_input]") {
    Vi t;
    t.keys(U"one two, \u4e16\u754c\x1b"
           U"0");
    CHECK(t.editor.cursor() == 0);
    t.keys(U"w");
    CHECK(t.rest() == "two, \xE4\xB8\x96\xE7\x95\x8C");
    t.keys(U"w");
    CHECK(t.rest() == ", \xE4\xB8\x96\xE7\x95\x8C");
    t.keys(U"w");
    CHECK(t.rest() == "\xE4\xB8\x96\xE7\x95\x8C");
    t.keys(U"b");
    CHECK(t.rest() == "two, \xE4\xB8\x96\xE7\x95\x8C"); // back over spaces and punctuation
    t.keys(U"0e");
    CHECK(t.rest() == "e two, \xE4\xB8\x96\xE7\x95\x8C");
    t.keys(U"$");
    CHECK(t.rest() == "\xE7\x95\x8C");
    t.keys(U"h");
    CHECK(t.rest() == "\xE4\xB8\x96\xE7\x95\x8C");
    t.keys(U"l");
    CHECK(t.rest() == "\xE7\x95\x8C");
}

TEST_CASE("vi: x, dw, cw, dd, D and p change the line", "[vi_input]") {
    Vi t;
    t.keys(U"send the big file\x1b"
           U"0");
    t.keys(U"x");
    CHECK(t.editor.text() == "end the big file");
    t.keys(U"dw");
    CHECK(t.editor.text() == "the big file");
    t.keys(U"wcwsmall\x1b");
    CHECK(t.editor.text() == "the small file");
    CHECK(t.vi.mode() == ViInput::Mode::normal);
    t.keys(U"0D");
    CHECK(t.editor.text().empty());
    t.keys(U"p");
    CHECK(t.editor.text() == "the small file");
    t.keys(U"dd");
    CHECK(t.editor.text().empty());
    CHECK(t.vi.mode() == ViInput::Mode::normal);
}

TEST_CASE("vi: Enter and Ctrl keys are left to the app, and Esc in normal mode too", "[vi_input]") {
    Vi t;
    CHECK_FALSE(t.vi.handle(Key::of(Key::Type::enter), t.editor));
    CHECK_FALSE(t.vi.handle(Key::ctrl('n'), t.editor));
    t.keys(U"\x1b");
    CHECK(t.vi.mode() == ViInput::Mode::normal);
    CHECK_FALSE(t.vi.handle(Key::of(Key::Type::escape), t.editor));
    CHECK_FALSE(t.vi.handle(Key::of(Key::Type::page_up), t.editor));
}

TEST_CASE("vi: Esc and a letter read together act as a normal-mode command", "[vi_input]") {
    Vi t;
    t.keys(U"abc def");
    CHECK(t.vi.handle(Key::alt('b'), t.editor)); // Esc b typed fast
    CHECK(t.vi.mode() == ViInput::Mode::normal);
    CHECK(t.rest() == "def");
}
