// The terminal app's keyboard side, through the model: vi mode, key bindings from keys.conf,
// Tab completion, the history, /find in the scrollback, the mouse, settings, and text that
// must stay aligned on narrow and very wide terminals.
#include "fake_backend.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace veil;
using namespace veil::tui;
using namespace veil::tui::test;

namespace {

void press(TuiModel& model, Key::Type type) {
    model.handle_key(Key::of(type));
}

bool on_screen(TuiModel& model, const std::string& text) {
    return screen_text(model.render()).find(text) != std::string::npos;
}

std::string status_text(TuiModel& model) {
    std::string out;
    for (const auto& span : model.render().status)
        out += span.text;
    return out;
}

// The text of every span drawn in `style` in the message pane.
std::vector<std::string> pane_spans(const Frame& f, Style style) {
    std::vector<std::string> out;
    for (const auto& line : f.pane)
        for (const auto& span : line)
            if (span.style == style)
                out.push_back(span.text);
    return out;
}

} // namespace

TEST_CASE("/set editing vi gives vi's modes, shown in the status line and kept in the profile",
          "[tui_model][vi]") {
    Fixture t;
    t.model.open_initial("bob");
    t.enter(U"/set editing vi");
    CHECK(t.backend.settings[TuiModel::kEditingSettingKey] == "vi");
    CHECK(status_text(t.model).rfind("-- INSERT --", 0) == 0);
    t.type(U"hello world");
    press(t.model, Key::Type::escape);
    CHECK(t.model.vi_mode() == ViInput::Mode::normal);
    CHECK(status_text(t.model).rfind("-- NORMAL --", 0) == 0);
    t.type(U"0dw");
    CHECK(t.model.editor().text() == "world");
    t.type(U"zq"); // not vi commands: nothing is typed
    CHECK(t.model.editor().text() == "world");
    t.type(U"A!");
    press(t.model, Key::Type::enter);
    REQUIRE(t.backend.rows.size() == 1);
    CHECK(t.backend.rows[0].text == "world!");
    CHECK(t.model.vi_mode() == ViInput::Mode::insert); // a new line starts inserting

    Fixture again; // the next start reads the setting back
    again.backend.settings = t.backend.settings;
    again.model.open_initial("bob");
    CHECK(again.model.vi_editing());
    again.enter(U"/set editing emacs");
    CHECK_FALSE(again.model.vi_editing());
    CHECK(status_text(again.model).find("-- INSERT --") == std::string::npos);
}

TEST_CASE("in vi's normal mode PageUp, Ctrl keys and Enter still work", "[tui_model][vi]") {
    Fixture t;
    t.backend.contact_list = {"bob", "carol"};
    t.model.open_initial("bob");
    t.enter(U"/set editing vi");
    t.type(U"hi");
    press(t.model, Key::Type::escape);
    t.model.handle_key(Key::ctrl('n'));
    CHECK(t.model.open_peer() == "carol");
    t.model.handle_key(Key::ctrl('p'));
    CHECK(t.model.editor().text() == "hi");
    press(t.model, Key::Type::enter);
    CHECK(t.backend.rows.size() == 1);
}

TEST_CASE("keys.conf rebinds keys, and its bad lines are reported with their line numbers",
          "[tui_model][keys]") {
    Fixture t;
    t.backend.contact_list = {"bob", "carol"};
    t.model.open_initial("bob");
    t.model.load_key_config("bind C-t next-conversation\nbind C-n frobnicate\nbind x quit\n",
                            "keys.conf");
    CHECK(t.model.key_warning() ==
          "keys.conf line 2: unknown action 'frobnicate' (and 1 more; /keys)");
    t.model.set_error(""); // the connection coming up clears errors, not this
    CHECK(status_text(t.model).find("keys.conf line 2") != std::string::npos);
    t.model.handle_key(Key::ctrl('t'));
    CHECK(t.model.open_peer() == "carol");
    t.model.handle_key(Key::ctrl('n')); // the bad line left the default alone
    CHECK(t.model.open_peer() == "bob");
    t.enter(U"/keys");
    std::string screen = screen_text(t.model.render());
    CHECK(screen.find("C-t next-conversation") != std::string::npos);
    CHECK(t.model.overlay().find("line 3: 'x' is typed as a character") != std::string::npos);
    CHECK_FALSE(t.model.quit_requested());
    press(t.model, Key::Type::escape);
    press(t.model, Key::Type::escape);
    CHECK(t.model.key_warning().empty());
}

TEST_CASE("Tab completes commands and names, cycling through the matches", "[tui_model][tab]") {
    Fixture t;
    t.backend.contact_list = {"bob", "bernard", "carol"};
    t.model.open_initial("carol");
    t.type(U"/op");
    press(t.model, Key::Type::tab);
    CHECK(t.model.editor().text() == "/open ");
    t.type(U"b");
    press(t.model, Key::Type::tab);
    CHECK(t.model.editor().text() == "/open bernard");
    CHECK(t.model.notice().find("1/2: bernard bob") == 0);
    press(t.model, Key::Type::tab);
    CHECK(t.model.editor().text() == "/open bob");
    press(t.model, Key::Type::tab);
    CHECK(t.model.editor().text() == "/open bernard");
    press(t.model, Key::Type::back_tab);
    CHECK(t.model.editor().text() == "/open bob");
    press(t.model, Key::Type::enter);
    CHECK(t.model.open_peer() == "bob");
}

TEST_CASE("Tab completes group names, and says so when nothing fits", "[tui_model][tab]") {
    Fixture t;
    t.backend.contact_list = {"bob"};
    t.model.open_initial("bob");
    t.enter(U"/group Hikers bob");
    t.type(U"/open Hi");
    press(t.model, Key::Type::tab);
    CHECK(t.model.editor().text() == "/open Hikers ");
    t.model.handle_key(Key::ctrl('u'));
    t.type(U"/open zz");
    press(t.model, Key::Type::tab);
    CHECK(t.model.editor().text() == "/open zz");
    CHECK(t.model.notice() == "nothing to complete here");
}

TEST_CASE("Up and Down bring back the lines typed before", "[tui_model][history]") {
    Fixture t;
    t.model.open_initial("bob");
    t.enter(U"first");
    t.enter(U"/timer 5m");
    t.type(U"half");
    press(t.model, Key::Type::up);
    CHECK(t.model.editor().text() == "/timer 5m");
    press(t.model, Key::Type::up);
    CHECK(t.model.editor().text() == "first");
    press(t.model, Key::Type::down);
    press(t.model, Key::Type::down);
    CHECK(t.model.editor().text() == "half");
}

TEST_CASE("emacs keys: Ctrl-K, Ctrl-Y, Alt-B, Alt-F and Alt-D edit the line", "[tui_model]") {
    Fixture t;
    t.model.open_initial("bob");
    t.type(U"see you soon");
    t.model.handle_key(Key::alt('b'));
    t.model.handle_key(Key::alt('b'));
    t.model.handle_key(Key::ctrl('k'));
    CHECK(t.model.editor().text() == "see ");
    t.model.handle_key(Key::ctrl('a'));
    t.model.handle_key(Key::ctrl('y'));
    CHECK(t.model.editor().text() == "you soonsee ");
    t.model.handle_key(Key::ctrl('a'));
    t.model.handle_key(Key::alt('f'));
    t.model.handle_key(Key::alt('d'));
    CHECK(t.model.editor().text() == "you ");
}

namespace {

// bob wrote 60 messages; "lunch" is in numbers 5 and 40.
void chat_with_lunches(Fixture& t) {
    t.backend.contact_list = {"bob"};
    for (int i = 0; i < 60; ++i)
        t.backend.receive("bob", (i == 5 || i == 40) ? "Lunch at noon? (" + std::to_string(i) + ")"
                                                     : "message " + std::to_string(i));
    t.model.open_initial("bob");
}

} // namespace

TEST_CASE("/find jumps to the newest match, highlights it, and Ctrl-R/Ctrl-S step through",
          "[tui_model][find]") {
    Fixture t;
    chat_with_lunches(t);
    t.enter(U"/find lunch");
    REQUIRE(t.model.find_matches() == 2);
    Frame f = t.model.render();
    CHECK(t.model.scroll() > 0);
    CHECK(screen_text(f).find("(40)") != std::string::npos);
    CHECK(pane_spans(f, Style::found_current) == std::vector<std::string>{"Lunch"});
    CHECK(status_text(t.model).find("find \xE2\x80\x9C"
                                    "lunch\xE2\x80\x9D 1/2") != std::string::npos);

    t.model.handle_key(Key::ctrl('r'));
    f = t.model.render();
    CHECK(t.model.find_index() == 1);
    CHECK(screen_text(f).find("(5)") != std::string::npos);
    CHECK(pane_spans(f, Style::found_current) == std::vector<std::string>{"Lunch"});
    t.model.handle_key(Key::ctrl('r'));
    CHECK(t.model.notice().find("oldest match") != std::string::npos);
    t.model.handle_key(Key::ctrl('s'));
    CHECK(t.model.find_index() == 0);
    CHECK(on_screen(t.model, "(40)"));

    press(t.model, Key::Type::escape); // back to the newest message, highlights gone
    f = t.model.render();
    CHECK(t.model.scroll() == 0);
    CHECK(t.model.find_words().empty());
    CHECK(pane_spans(f, Style::found).empty());
    CHECK(pane_spans(f, Style::found_current).empty());
    CHECK(screen_text(f).find("message 59") != std::string::npos);
}

TEST_CASE("Ctrl-R with no search going starts /find on the input line", "[tui_model][find]") {
    Fixture t;
    chat_with_lunches(t);
    t.model.handle_key(Key::ctrl('r'));
    CHECK(t.model.editor().text() == "/find ");
    t.type(U"noon 40");
    press(t.model, Key::Type::enter);
    CHECK(t.model.find_matches() == 1);
    t.enter(U"/find nowhere");
    CHECK(t.model.find_matches() == 0);
    CHECK(t.model.last_error().find("no message here holds") == 0);
}

TEST_CASE("a typed zero-width joiner joins emoji; the cursor and the sent text keep it",
          "[tui_model][unicode]") {
    Fixture t;
    t.model.open_initial("bob");
    t.type(U"\U0001F469\u200D\U0001F4BB ok");
    Frame f = t.model.render();
    CHECK(f.cursor_col == 5 + 4 + 3); // "bob> ", two emoji of two cells, " ok"
    t.model.handle_key(Key::ctrl('a'));
    t.model.handle_key(Key::ctrl('f')); // over the whole joined emoji at once
    CHECK(t.model.render().cursor_col == 5 + 4);
    press(t.model, Key::Type::enter);
    REQUIRE(t.backend.rows.size() == 1);
    CHECK(t.backend.rows[0].text == "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB ok");
}

TEST_CASE("received CJK, joined emoji, flags, accents, right-to-left and escapes stay inert and "
          "inside the pane",
          "[tui_model][unicode]") {
    for (int cols : {80, 43, 300}) {
        Fixture t;
        t.model.set_size({24, cols});
        t.backend.contact_list = {"bob"};
        t.backend.receive("bob", std::string(30, 'x') + " \xE4\xB8\x96\xE7\x95\x8C" +
                                     std::string(20, 'y') + "\xE4\xB8\x96\xE7\x95\x8C");
        t.backend.receive("bob", "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB "
                                 "\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7 e\xCC\x81\xCC\x81\xCC\x81");
        t.backend.receive("bob", "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D \xE2\x80\xAE"
                                 "evil\xE2\x80\xAC");
        t.backend.receive("bob", "\x1b[2J\x1b]0;title\x07\r\b\xC2\x9B"
                                 "31m");
        t.model.open_initial("bob");
        Frame f = t.model.render();
        for (const auto& line : f.pane)
            CHECK(line_width(line) <= f.pane_width());
        std::string screen = screen_text(f);
        for (unsigned char c : screen)
            CHECK((c >= 0x20 || c == '\n'));
        CHECK(screen.find("<U+202E>evil<U+202C>") != std::string::npos);
        CHECK(screen.find("\\x1b[2J") != std::string::npos);
        CHECK(screen.find("<U+009B>31m") != std::string::npos);
    }
}

TEST_CASE("on a 300-column terminal messages wrap at a readable width", "[tui_model][layout]") {
    Fixture t;
    t.model.set_size({30, 300});
    t.backend.contact_list = {"bob"};
    std::string words;
    for (int i = 0; i < 80; ++i)
        words += "word" + std::to_string(i) + " ";
    t.backend.receive("bob", words);
    t.model.open_initial("bob");
    Frame f = t.model.render();
    int longest = 0;
    int rows_used = 0;
    for (const auto& line : f.pane) {
        longest = std::max(longest, line_width(line));
        rows_used += line_width(line) > 0;
    }
    CHECK(longest <= TuiModel::kMessageWidth);
    CHECK(longest > TuiModel::kMessageWidth - 20);
    CHECK(rows_used >= 5);
    CHECK(line_width(f.status) == 300); // the status line still spans the terminal
}

TEST_CASE("with /set mouse on the wheel scrolls and a click opens a conversation",
          "[tui_model][mouse]") {
    Fixture t;
    t.backend.contact_list = {"bob", "carol"};
    for (int i = 0; i < 40; ++i)
        t.backend.receive("bob", "message " + std::to_string(i));
    t.model.open_initial("bob");
    t.model.render();
    t.model.handle_key(Key::mouse(Key::Type::wheel_up, 5, 40));
    CHECK(t.model.scroll() == 0); // off by default: ignored
    t.enter(U"/set mouse on");
    CHECK(t.model.mouse_enabled());
    CHECK(t.backend.settings[TuiModel::kMouseSettingKey] == "on");
    t.model.handle_key(Key::mouse(Key::Type::wheel_up, 5, 40));
    CHECK(t.model.scroll() == TuiModel::kWheelRows);
    t.model.handle_key(Key::mouse(Key::Type::wheel_down, 5, 40));
    CHECK(t.model.scroll() == 0);
    Frame f = t.model.render();
    int carol_row = -1;
    for (std::size_t r = 0; r < f.list.size(); ++r)
        for (const auto& span : f.list[r])
            if (span.text.find("carol") != std::string::npos)
                carol_row = static_cast<int>(r);
    REQUIRE(carol_row > 0);
    t.model.handle_key(Key::mouse(Key::Type::mouse_click, carol_row, 3));
    CHECK(t.model.open_peer() == "carol");
    t.model.handle_key(Key::mouse(Key::Type::mouse_click, -1, -1)); // a press nowhere: nothing
    CHECK(t.model.open_peer() == "carol");
}

TEST_CASE("/set shows every setting and changes them, refusing unknown ones",
          "[tui_model][settings]") {
    Fixture t;
    t.model.open_initial("bob");
    t.enter(U"/set");
    for (const char* name : {"editing", "mouse", "theme", "readreceipts", "notify"})
        CHECK(t.model.overlay().find(name) != std::string::npos);
    t.enter(U"/set theme 16");
    CHECK(t.model.theme() == "16");
    CHECK(t.backend.settings[TuiModel::kThemeSettingKey] == "16");
    t.enter(U"/set theme plaid");
    CHECK(t.model.last_error() == "/set theme takes auto, 256, 16 or mono");
    t.enter(U"/set readreceipts off");
    CHECK_FALSE(t.backend.receipts);
    t.enter(U"/set notify sender");
    CHECK(t.backend.settings[kPreviewSettingKey] == "sender");
    t.enter(U"/set colour red");
    CHECK(t.model.last_error().find("/set knows") == 0);
}

TEST_CASE("/group picture sets the open group's picture from a file, and - removes it",
          "[tui_model][groups]") {
    Fixture t;
    t.backend.contact_list = {"bob"};
    t.model.open_initial("bob");
    auto folder =
        std::filesystem::temp_directory_path() / ("veil-tui-picture-" + std::to_string(::getpid()));
    std::filesystem::create_directories(folder);
    t.model.set_folder(folder);
    std::ofstream(folder / "small.png", std::ios::binary) << "\x89PNG pretend";
    std::ofstream(folder / "big.png", std::ios::binary) << std::string(70 * 1024, 'x');

    t.enter(U"/group picture small.png");
    CHECK(t.model.last_error() == "open a group first (/open NAME)");
    t.enter(U"/group Hikers bob");
    t.enter(U"/group picture big.png");
    CHECK(t.model.last_error().find("at most 64 KiB") != std::string::npos);
    t.enter(U"/group picture small.png");
    CHECK(t.backend.calls.back() == "picture 12");
    t.enter(U"/group members");
    CHECK(t.model.overlay().find("Picture: 12 bytes") != std::string::npos);
    t.model.handle_key(Key::of(Key::Type::escape));
    t.enter(U"/group picture -");
    CHECK(t.backend.calls.back() == "picture 0");
    std::filesystem::remove_all(folder);
}

// How long this takes is measured by bench/ui/tui_layout_bench.cpp (UI1), against its target.
TEST_CASE("a 1 MiB message of combining marks and emoji lays out within the pane, cut and with "
          "/full",
          "[tui_model][unicode]") {
    Fixture t;
    t.backend.contact_list = {"bob"};
    std::string heavy = "e";
    while (heavy.size() < (1u << 19))
        heavy += "\xCC\x81"; // one letter under half a million accents: one cluster
    std::string emoji;
    while (emoji.size() < (1u << 19))
        emoji += "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7";
    t.backend.receive("bob", heavy + emoji);
    t.model.open_initial("bob");
    Frame cut = t.model.render();
    CHECK_FALSE(cut.pane.empty());
    for (const auto& line : cut.pane)
        CHECK(line_width(line) <= cut.pane_width());
    t.enter(U"/full");
    Frame full = t.model.render();
    t.model.handle_key(Key::of(Key::Type::page_up));
    Frame scrolled = t.model.render();
    CHECK_FALSE(scrolled.pane.empty());
    for (const auto* f : {&full, &scrolled})
        for (const auto& line : f->pane)
            CHECK(line_width(line) <= f->pane_width());
    // Page Up moved into the text: the screen shows another part of it.
    CHECK(screen_text(scrolled) != screen_text(full));
}

TEST_CASE("in vi's normal mode / starts a find, and n and N step through its matches",
          "[tui_model][vi][find]") {
    Fixture t;
    chat_with_lunches(t);
    t.enter(U"/set editing vi");
    press(t.model, Key::Type::escape);
    t.type(U"n"); // no find yet: nothing happens, nothing is typed
    CHECK(t.model.editor().empty());
    t.type(U"/");
    CHECK(t.model.editor().text() == "/find ");
    CHECK(t.model.vi_mode() == ViInput::Mode::insert);
    t.enter(U"lunch");
    CHECK(t.model.find_matches() == 2);
    press(t.model, Key::Type::escape); // to normal mode; the find stays
    CHECK(t.model.find_matches() == 2);
    t.type(U"n");
    CHECK(t.model.find_index() == 1);
    t.type(U"N");
    CHECK(t.model.find_index() == 0);
    CHECK(t.model.editor().empty());
    press(t.model, Key::Type::escape); // Esc in normal mode ends the find
    CHECK(t.model.find_words().empty());
}

TEST_CASE("a name that looks like another contact's is flagged in the list and the title",
          "[tui_model][unicode]") {
    Fixture t;
    t.backend.contact_list = {"bob", "carol"};
    t.backend.receive("b0b", "it is me, bob, new phone");
    t.model.open_initial("b0b");
    Frame f = t.model.render();
    std::string title;
    for (const auto& span : f.title)
        title += span.text;
    CHECK(title.find("\xE2\x9A\xA0 looks like bob: check who this is") != std::string::npos);
    std::string list = screen_text(f);
    CHECK(list.find("b0b") != std::string::npos);
    t.model.open("carol");
    f = t.model.render();
    title.clear();
    for (const auto& span : f.title)
        title += span.text;
    CHECK(title.find("looks like") == std::string::npos);
}

TEST_CASE("member and blocked lists show names inert", "[tui_model][unicode]") {
    Fixture t;
    t.backend.contact_list = {"bob"};
    t.model.open_initial("bob");
    t.enter(U"/group Hikers bob");
    t.backend.members.begin()->second.push_back({"ev\x1b[2Jil", false});
    t.backend.blocked_names.insert("tr\x1b]0;x\x07"
                                   "ap");
    t.enter(U"/group members");
    CHECK(t.model.overlay().find("ev\\x1b[2Jil") != std::string::npos);
    t.model.handle_key(Key::of(Key::Type::escape));
    t.enter(U"/blocked");
    CHECK(t.model.overlay().find("tr\\x1b]0;x\\x07ap") != std::string::npos);
    for (unsigned char c : screen_text(t.model.render()))
        CHECK((c >= 0x20 || c == '\n'));
}
