#include "line_editor.h"
#include "test_environment.h"

#include <catch2/catch.hpp>

using veil::tui::LineEditor;

namespace {

LineEditor typed(std::u32string_view text) {
    LineEditor e;
    for (char32_t cp : text)
        e.insert(cp);
    return e;
}

} // namespace

TEST_CASE("typed characters are stored as UTF-8 with the cursor at the end", "[line_editor]") {
    LineEditor e = typed(U"h\u00e9\u4e16\U0001F600");
    CHECK(e.text() == "h\xC3\xA9\xE4\xB8\x96\xF0\x9F\x98\x80");
    CHECK(e.cursor() == e.text().size());
}

TEST_CASE("left and right step over whole multi-byte characters", "[line_editor]") {
    LineEditor e = typed(U"a\u4e16\U0001F600");
    e.move_left();
    CHECK(e.cursor() == 4); // before the 4-byte emoji
    e.move_left();
    CHECK(e.cursor() == 1); // before the 3-byte CJK character
    e.move_left();
    e.move_left(); // stays at the start
    CHECK(e.cursor() == 0);
    e.move_right();
    e.move_right();
    CHECK(e.cursor() == 4);
}

TEST_CASE("backspace and delete remove one multi-byte character", "[line_editor]") {
    LineEditor e = typed(U"x\u00e9\U0001F600y");
    e.move_left();     // before y
    e.delete_before(); // the emoji
    CHECK(e.text() == "x\xC3\xA9y");
    e.move_home();
    e.delete_at(); // x
    CHECK(e.text() == "\xC3\xA9y");
    e.delete_at(); // é
    CHECK(e.text() == "y");
}

TEST_CASE("a letter with combining accents moves and deletes as one", "[line_editor]") {
    LineEditor e = typed(U"ae\u0301\u0302b"); // e + two combining marks
    e.move_left();                            // before b
    e.move_left();                            // before e and its marks
    CHECK(e.cursor() == 1);
    e.delete_at();
    CHECK(e.text() == "ab");
}

TEST_CASE("an emoji joined with zero-width joiners moves as one", "[line_editor]") {
    // woman + ZWJ + laptop: one picture on screen.
    LineEditor e = typed(U"a\U0001F469\u200D\U0001F4BB");
    e.move_left();
    CHECK(e.cursor() == 1);
    e.delete_at();
    CHECK(e.text() == "a");
}

TEST_CASE("control, C1 and bidi characters are refused", "[line_editor]") {
    LineEditor e;
    CHECK_FALSE(e.insert(0x1B));
    CHECK_FALSE(e.insert(U'\r'));
    CHECK_FALSE(e.insert(0x9B)); // 8-bit CSI
    CHECK_FALSE(e.insert(0x202E));
    CHECK_FALSE(e.insert(0x7F));
    CHECK(e.empty());
    e.insert_text("ok\x1b[2J");
    CHECK(e.text() == "ok[2J");
}

TEST_CASE("Ctrl-U deletes to the start and Ctrl-W the word before the cursor", "[line_editor]") {
    LineEditor e = typed(U"hello big w\u00f6rld  ");
    e.delete_word_before();
    CHECK(e.text() == "hello big ");
    e.move_left();
    e.move_left(); // inside "big": before "g"
    e.kill_to_start();
    CHECK(e.text() == "g ");
    CHECK(e.cursor() == 0);
}

TEST_CASE("take returns the line and empties it", "[line_editor]") {
    LineEditor e = typed(U"hi");
    CHECK(e.take() == "hi");
    CHECK(e.empty());
    CHECK(e.cursor() == 0);
}

TEST_CASE("a zero-width joiner typed between two emoji joins them into one character",
          "[line_editor]") {
    LineEditor e;
    CHECK(e.insert(0x1F469)); // woman
    CHECK(e.insert(0x200D));  // typed by hand: kept, waiting for the next emoji
    CHECK(e.text() == "\xF0\x9F\x91\xA9\xE2\x80\x8D");
    CHECK(e.insert(0x1F4BB)); // laptop
    CHECK(e.text() == "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB");
    e.move_left();
    CHECK(e.cursor() == 0);
    e.move_right();
    CHECK(e.cursor() == e.text().size());
    e.delete_before();
    CHECK(e.empty());
}

TEST_CASE("a flag of two regional indicators moves and deletes as one", "[line_editor]") {
    LineEditor e = typed(U"a\U0001F1EB\U0001F1F7\U0001F1E9\U0001F1EAb"); // a, FR, DE, b
    e.move_left();
    e.move_left();
    CHECK(e.text().substr(e.cursor()) == "\xF0\x9F\x87\xA9\xF0\x9F\x87\xAA"
                                         "b");
    e.delete_before();
    CHECK(e.text() == "a\xF0\x9F\x87\xA9\xF0\x9F\x87\xAA"
                      "b");
}

TEST_CASE("Ctrl-K kills to the end and Ctrl-Y puts it back", "[line_editor]") {
    LineEditor e = typed(U"hello world");
    e.move_home();
    e.move_word_forward();
    CHECK(e.cursor() == 5);
    e.kill_to_end();
    CHECK(e.text() == "hello");
    e.move_home();
    e.yank();
    CHECK(e.text() == " worldhello");
}

TEST_CASE("Alt-B, Alt-F and Alt-D move and delete by words", "[line_editor]") {
    LineEditor e = typed(U"see you, \u4e16\u754c soon");
    e.move_word_backward();
    CHECK(e.text().substr(e.cursor()) == "soon");
    e.move_word_backward();
    CHECK(e.text().substr(e.cursor()) == "\xE4\xB8\x96\xE7\x95\x8C soon");
    e.move_home();
    e.move_word_forward();
    e.move_word_forward();
    CHECK(e.text().substr(0, e.cursor()) == "see you");
    e.delete_word_after();
    CHECK(e.text() == "see you soon");
}

TEST_CASE("Up and Down step through the lines sent and come back to the one being typed",
          "[line_editor]") {
    LineEditor e;
    e.remember("first");
    e.remember("second");
    e.remember("second"); // a repeat is kept once
    e.insert_text("draft");
    e.history_previous();
    CHECK(e.text() == "second");
    e.history_previous();
    CHECK(e.text() == "first");
    e.history_previous();
    CHECK(e.text() == "first");
    e.history_next();
    e.history_next();
    CHECK(e.text() == "draft");
    CHECK(e.history().size() == 2);
}
