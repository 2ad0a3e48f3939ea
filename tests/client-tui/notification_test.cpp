#include "notification.h"

#include <catch2/catch.hpp>

using namespace veil;
using namespace veil::tui;

namespace {

store::MessageRow incoming(const std::string& sender, const std::string& text) {
    store::MessageRow row;
    row.peer = sender;
    row.sender = sender;
    row.text = text;
    row.direction = store::Direction::incoming;
    row.status = store::MessageStatus::received;
    return row;
}

} // namespace

TEST_CASE("notification settings default to all and on, and unknown values read as defaults",
          "[notification]") {
    NotifySettings s = notify_settings_from("", "");
    CHECK(s.enabled);
    CHECK(s.preview == Preview::all);
    s = notify_settings_from("sender", "off");
    CHECK_FALSE(s.enabled);
    CHECK(s.preview == Preview::sender);
    s = notify_settings_from("loud", "maybe");
    CHECK(s.enabled);
    CHECK(s.preview == Preview::all);
    CHECK(describe(notify_settings_from("none", "on")) == "none");
    CHECK(describe(notify_settings_from("none", "off")) == "off");
}

TEST_CASE("a preview word turns notifications on, off and on keep the preview", "[notification]") {
    NotifySettings s;
    REQUIRE(apply_notify_word(s, "sender"));
    CHECK(describe(s) == "sender");
    REQUIRE(apply_notify_word(s, "off"));
    CHECK(describe(s) == "off");
    CHECK(s.preview == Preview::sender);
    REQUIRE(apply_notify_word(s, "on"));
    CHECK(describe(s) == "sender");
    REQUIRE(apply_notify_word(s, "off"));
    REQUIRE(apply_notify_word(s, "none"));
    CHECK(describe(s) == "none");
    CHECK_FALSE(apply_notify_word(s, "loud"));
    CHECK(describe(s) == "none");
}

TEST_CASE("only others' new messages off screen notify", "[notification]") {
    NotifySettings on;
    auto row = incoming("bob", "hi");
    CHECK(should_notify(row, "alice", on, false, false));
    CHECK_FALSE(should_notify(row, "alice", on, false, true)); // on screen
    CHECK_FALSE(should_notify(row, "alice", on, true, false)); // blocked
    NotifySettings off;
    off.enabled = false;
    CHECK_FALSE(should_notify(row, "alice", off, false, false));

    auto own = row;
    own.direction = store::Direction::outgoing;
    own.sender = "alice";
    CHECK_FALSE(should_notify(own, "alice", on, false, false));
    auto synced = own;
    synced.kind = store::MessageKind::synced;
    CHECK_FALSE(should_notify(synced, "alice", on, false, false));
    auto system = row;
    system.sender = store::kSystemSender;
    system.kind = store::MessageKind::system;
    CHECK_FALSE(should_notify(system, "alice", on, false, false));
}

TEST_CASE("the notification text follows the preview level", "[notification]") {
    CHECK(notification_text(Preview::all, "bob", "", "lunch?") == "bob: lunch?");
    CHECK(notification_text(Preview::all, "bob", "# hikers", "lunch?") ==
          "bob in # hikers: lunch?");
    CHECK(notification_text(Preview::sender, "bob", "# hikers", "lunch?") ==
          "New message from bob");
    CHECK(notification_text(Preview::none, "bob", "", "lunch?") == "New message");
}

TEST_CASE("received control characters in a notification text are inert", "[notification]") {
    std::string text = notification_text(Preview::all, "bob", "", "a\x1b]0;pwned\x07\nb");
    CHECK(text.find('\x1b') == std::string::npos);
    CHECK(text.find('\x07') == std::string::npos);
    CHECK(text.find('\n') == std::string::npos);
}

TEST_CASE("the terminal title counts unread messages and never holds message text",
          "[notification]") {
    NotifySettings s;
    CHECK(terminal_title(0, "bob", s) == "Veil");
    CHECK(terminal_title(3, "bob", s) == "(3) Veil \xE2\x80\x94 new from bob");
    s.preview = Preview::sender;
    CHECK(terminal_title(1, "bob", s) == "(1) Veil \xE2\x80\x94 new from bob");
    s.preview = Preview::none;
    CHECK(terminal_title(2, "bob", s) == "(2) Veil");
    s.preview = Preview::all;
    s.enabled = false;
    CHECK(terminal_title(2, "bob", s) == "(2) Veil");
    CHECK(terminal_title(2, "", NotifySettings{}) == "(2) Veil");
}

TEST_CASE("the OSC title drops every control character that could end or start a sequence",
          "[notification]") {
    CHECK(osc_title_sequence("(1) Veil") == "\x1b]0;(1) Veil\x07");
    std::string hostile = "bob\x07\x1b]2;x\x1b\\\x9c\xc2\x9c\x7f\r\n\xe2\x80\xae!";
    std::string clean = sanitize_title(hostile);
    for (char c : clean) {
        auto b = static_cast<unsigned char>(c);
        CHECK(b >= 0x20);
        CHECK(b != 0x7f);
    }
    CHECK(clean.find("\xc2\x9c") == std::string::npos);     // C1 ST as a code point
    CHECK(clean.find("\xe2\x80\xae") == std::string::npos); // RLO
    CHECK(clean.find("bob") == 0);
    std::string seq = osc_title_sequence(hostile);
    CHECK(seq.rfind('\x07') == seq.size() - 1);
    CHECK(seq.find('\x1b', 1) == std::string::npos);
    CHECK(sanitize_title(std::string(500, 'a')).size() == 120);
}

TEST_CASE("only terminals known to take a title get one", "[notification]") {
    for (const char* term : {"xterm", "xterm-256color", "screen.xterm-256color", "tmux-256color",
                             "rxvt-unicode", "alacritty", "foot", "xterm-kitty", "st-256color"})
        CHECK(terminal_takes_title(term));
    for (const char* term : {"", "linux", "dumb", "vt100", "ansi", "sterm"})
        CHECK_FALSE(terminal_takes_title(term));
}
