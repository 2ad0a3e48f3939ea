#include "fake_backend.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <unistd.h>

using namespace veil;
using namespace veil::tui;

using namespace veil::tui::test;

TEST_CASE("/add NAME adds the contact and opens the conversation", "[tui_model]") {
    Fixture t;
    t.model.open_initial("");
    t.enter(U"/add bob");
    CHECK(t.backend.contact_list == std::vector<std::string>{"bob"});
    CHECK(t.model.open_peer() == "bob");
    CHECK(t.model.editor().empty());
}

TEST_CASE("typing and Enter sends to the open conversation and shows it queued", "[tui_model]") {
    Fixture t;
    t.model.open_initial("bob");
    t.enter(U"hello \u4e16");
    REQUIRE(t.backend.rows.size() == 1);
    CHECK(t.backend.rows[0].peer == "bob");
    CHECK(t.backend.rows[0].text == "hello \xE4\xB8\x96");
    CHECK(t.model.editor().empty());
    std::string screen = screen_text(t.model.render());
    CHECK(screen.find("hello \xE4\xB8\x96 \xE2\x80\xA6") != std::string::npos);

    t.model.on_status(t.backend.rows[0].message_id, store::MessageStatus::delivered);
    screen = screen_text(t.model.render());
    CHECK(screen.find("hello \xE4\xB8\x96 \xE2\x9C\x93\xE2\x9C\x93") != std::string::npos);
}

TEST_CASE("a receipt is never undone by a late relay acknowledgement", "[tui_model]") {
    Fixture t;
    t.model.open_initial("bob");
    t.enter(U"hi");
    auto id = t.backend.rows[0].message_id;
    t.model.on_status(id, store::MessageStatus::delivered);
    t.model.on_status(id, store::MessageStatus::sent);
    CHECK(screen_text(t.model.render()).find("hi \xE2\x9C\x93\xE2\x9C\x93") != std::string::npos);
}

TEST_CASE("sending with no conversation open keeps the text and says why", "[tui_model]") {
    Fixture t;
    t.model.open_initial("");
    t.enter(U"lost?");
    CHECK(t.backend.rows.empty());
    CHECK(t.model.editor().text() == "lost?");
    CHECK(t.model.last_error().find("/add") != std::string::npos);
}

TEST_CASE("a message for another conversation raises its unread count", "[tui_model]") {
    Fixture t;
    t.backend.contact_list = {"bob", "carol"};
    t.model.open_initial("bob");
    t.model.on_message(t.backend.receive("carol", "psst"));
    auto& list = t.model.conversations();
    auto carol = std::find_if(list.begin(), list.end(), [](auto& c) { return c.peer == "carol"; });
    REQUIRE(carol != list.end());
    CHECK(carol->unread == 1);
    CHECK(t.model.open_peer() == "bob");

    t.model.on_message(t.backend.receive("bob", "hey"));
    CHECK(t.backend.read["bob"]); // the open conversation is read as it arrives
}

TEST_CASE("Tab and Ctrl-N/P switch conversations and keep each draft", "[tui_model]") {
    Fixture t;
    t.backend.contact_list = {"bob", "carol"};
    t.model.open_initial("bob");
    t.type(U"draft for bob");
    t.model.handle_key(Key::of(Key::Type::tab));
    CHECK(t.model.open_peer() == "carol");
    CHECK(t.model.editor().empty());
    t.model.handle_key(Key::ctrl('p'));
    CHECK(t.model.open_peer() == "bob");
    CHECK(t.model.editor().text() == "draft for bob");
    t.model.handle_key(Key::alt('n'));
    CHECK(t.model.open_peer() == "carol");
}

TEST_CASE("/open refuses a stranger and opens a contact", "[tui_model]") {
    Fixture t;
    t.backend.contact_list = {"bob"};
    t.model.open_initial("");
    CHECK(t.model.open_peer() == "bob");
    t.enter(U"/open zed");
    CHECK(t.model.open_peer() == "bob");
    CHECK(t.model.last_error().find("/add zed") != std::string::npos);
    t.model.handle_key(Key::of(Key::Type::escape));
    CHECK(t.model.last_error().empty());
}

TEST_CASE("Ctrl-Q and /quit ask to quit", "[tui_model]") {
    Fixture a;
    a.model.handle_key(Key::ctrl('q'));
    CHECK(a.model.quit_requested());
    Fixture b;
    b.enter(U"/quit");
    CHECK(b.model.quit_requested());
}

TEST_CASE("PageUp scrolls into history and stops at the first message", "[tui_model]") {
    Fixture t;
    t.backend.contact_list = {"bob"};
    for (int i = 0; i < 100; ++i)
        t.backend.receive("bob", "message " + std::to_string(i));
    t.model.open_initial("bob");
    Frame f = t.model.render();
    CHECK(screen_text(f).find("message 99") != std::string::npos);
    for (int i = 0; i < 20; ++i) {
        t.model.handle_key(Key::of(Key::Type::page_up));
        f = t.model.render();
    }
    CHECK(screen_text(f).find("message 0 #1\n") != std::string::npos);
    CHECK(screen_text(f).find("message 99") == std::string::npos);
    int top = t.model.scroll();
    t.model.handle_key(Key::of(Key::Type::page_up));
    t.model.render();
    CHECK(t.model.scroll() == top);
    t.model.handle_key(Key::of(Key::Type::page_down));
    CHECK(t.model.scroll() < top);
}

TEST_CASE("the screen shows no received control byte, even in a peer's name", "[tui_model]") {
    Fixture t;
    std::string evil = "ev\x1b[2Jil";
    t.backend.contact_list = {evil};
    t.backend.receive(evil, "\x1b]52;c;aGk=\x07 clipboard");
    t.model.open_initial(evil);
    std::string screen = screen_text(t.model.render());
    for (unsigned char c : screen)
        CHECK((c >= 0x20 || c == '\n'));
    CHECK(screen.find("ev\\x1b[2Jil") != std::string::npos);
}

TEST_CASE("the input line scrolls sideways to keep the cursor visible", "[tui_model]") {
    Fixture t;
    t.model.set_size({10, 30});
    t.model.open_initial("bob");
    for (int i = 0; i < 60; ++i)
        t.model.handle_key(Key::character(U'\u4e16'));
    Frame f = t.model.render();
    CHECK(f.cursor_col < 30);
    CHECK(line_width(f.input) <= 30);
    t.model.handle_key(Key::of(Key::Type::home));
    f = t.model.render();
    CHECK(f.cursor_col == 5); // after "bob> "
}

TEST_CASE("/help shows the commands until the next key", "[tui_model]") {
    Fixture t;
    t.enter(U"/help");
    CHECK(screen_text(t.model.render()).find("/add NAME") != std::string::npos);
    t.model.handle_key(Key::of(Key::Type::escape));
    CHECK_FALSE(t.model.help_visible());
}

TEST_CASE("/group NAME MEMBERS creates a group, opens it and sends in it", "[tui_model]") {
    Fixture t;
    t.model.open_initial("");
    t.enter(U"/group hikers bob carol");
    REQUIRE(t.backend.calls == std::vector<std::string>{"create hikers"});
    const Bytes id = t.backend.group_list.at(0).group_id;
    CHECK(t.model.open_peer() == store::group_conversation(id));
    std::string screen = screen_text(t.model.render());
    CHECK(screen.find("# hikers") != std::string::npos);

    t.enter(U"hello group");
    CHECK(t.backend.calls.back() == "group text hello group");
    REQUIRE(t.backend.rows.size() == 1);
    CHECK(t.backend.rows[0].peer == store::group_conversation(id));
}

TEST_CASE("a group conversation shows each sender's name and system lines as remarks",
          "[tui_model]") {
    Fixture t;
    auto created = t.backend.create_group("hikers", {"bob", "carol"});
    REQUIRE(created);
    const Bytes id = created.value();
    t.model.open_initial("");
    REQUIRE(t.model.open("hikers")); // a group opens by its name
    t.model.on_message(t.backend.receive_in_group(id, "bob", "from bob"));
    t.model.on_message(t.backend.receive_in_group(id, "carol", "from carol"));
    t.model.on_message(t.backend.receive_in_group(id, store::kSystemSender, "dave joined",
                                                  store::MessageKind::system));
    Frame f = t.model.render();
    std::string screen = screen_text(f);
    CHECK(screen.find("bob") != std::string::npos);
    CHECK(screen.find("carol") != std::string::npos);
    CHECK(screen.find(": from bob") != std::string::npos);
    CHECK(screen.find(": dave joined") == std::string::npos); // not shaped as a message
    CHECK(screen.find(store::kSystemSender) == std::string::npos);
    bool dim_system_line = false;
    for (const auto& line : f.pane)
        for (const auto& span : line)
            dim_system_line |= span.text == "dave joined" && span.style == Style::dim;
    CHECK(dim_system_line);
}

TEST_CASE("/group add, remove, members and leave act on the open group only", "[tui_model]") {
    Fixture t;
    t.model.open_initial("bob");
    t.enter(U"/group add carol");
    CHECK(t.backend.calls.empty()); // bob's conversation is not a group
    CHECK(t.model.last_error().find("open a group") != std::string::npos);

    t.enter(U"/group hikers bob");
    t.enter(U"/group add carol");
    t.enter(U"/group members");
    CHECK(t.model.overlay().find("carol") != std::string::npos);
    CHECK(t.model.overlay().find("alice  (admin)") != std::string::npos);
    t.model.handle_key(Key::of(Key::Type::escape)); // closes the list, types nothing
    CHECK(t.model.overlay().empty());
    CHECK(t.model.editor().empty());

    t.enter(U"/group remove carol");
    t.enter(U"/group members");
    CHECK(t.model.overlay().find("carol") == std::string::npos);
    t.model.handle_key(Key::of(Key::Type::escape));
    t.enter(U"/group promote bob");
    t.enter(U"/group members");
    CHECK(t.model.overlay().find("bob  (admin)") != std::string::npos);
    t.model.handle_key(Key::of(Key::Type::escape));

    t.backend.refuse_changes = make_error(Errc::refused, "only admins can change the members");
    t.enter(U"/group leave");
    CHECK(t.model.last_error() == "only admins can change the members");
    CHECK(t.backend.calls == std::vector<std::string>{"create hikers", "add carol", "remove carol",
                                                      "promote bob", "leave"});
}

TEST_CASE("/group without a name or with stray words is refused with a hint", "[tui_model]") {
    CHECK(parse_command("/group").kind == Command::Kind::invalid);
    CHECK(parse_command("/group add").kind == Command::Kind::invalid);
    CHECK(parse_command("/group leave now").kind == Command::Kind::invalid);
    CHECK(parse_command("/group promote").kind == Command::Kind::invalid);
    CHECK(parse_command("/group demote bob carol").kind == Command::Kind::invalid);
    auto create = parse_command("/group  hikers  bob carol ");
    CHECK(create.kind == Command::Kind::group_create);
    CHECK(create.argument == "hikers");
    CHECK(create.names == std::vector<std::string>{"bob", "carol"});
}

TEST_CASE("/group rename and describe change the open group's details and the list shows the "
          "new name",
          "[tui_model]") {
    Fixture t;
    t.model.open_initial("");
    t.enter(U"/group hikers bob");
    t.enter(U"/group rename Sunday walkers");
    t.enter(U"/group describe north gate at 8");
    CHECK(t.backend.calls == std::vector<std::string>{"create hikers", "info Sunday walkers / ",
                                                      "info Sunday walkers / north gate at 8"});
    CHECK(screen_text(t.model.render()).find("# Sunday walkers") != std::string::npos);
    CHECK(parse_command("/group rename").kind == Command::Kind::invalid);
    CHECK(parse_command("/group renamed x").kind == Command::Kind::group_create);
}

TEST_CASE("a command typed right after the members list is a command, not a message",
          "[tui_model]") {
    Fixture t;
    t.model.open_initial("");
    t.enter(U"/group hikers bob");
    t.enter(U"/group members");
    REQUIRE_FALSE(t.model.overlay().empty());
    t.enter(U"/group add carol"); // its '/' closes the list and is kept
    CHECK(t.model.overlay().empty());
    CHECK(t.backend.calls.back() == "add carol");
    CHECK(t.backend.rows.empty()); // nothing went to the group as text
}

// ---- devices -------------------------------------------------------------------------------

namespace {

std::vector<engine::DeviceInfo> two_devices() {
    engine::DeviceInfo laptop;
    laptop.device_id = 1;
    laptop.name = "laptop";
    laptop.created_ms = 1'700'000'000'000;
    laptop.last_seen_ms = 1'700'000'600'000;
    laptop.current = true;
    engine::DeviceInfo phone;
    phone.device_id = 2;
    phone.name = "phone\x1b[31m";
    phone.created_ms = 1'700'000'300'000;
    phone.last_seen_ms = 0;
    return {laptop, phone};
}

} // namespace

TEST_CASE("/devices lists the account's devices in the message pane once the relay answers",
          "[tui_model]") {
    Fixture t;
    t.model.open_initial("bob");
    int redraws = 0;
    t.model.set_changed_callback([&] { ++redraws; });
    t.enter(U"/devices");
    CHECK(t.model.notice().find("asking the relay") != std::string::npos);
    CHECK(t.model.overlay().empty());
    t.backend.device_list = two_devices();
    t.backend.answer_devices();
    CHECK(redraws == 1);
    CHECK(t.model.notice().empty());
    const std::string& list = t.model.overlay();
    CHECK(list.find("  1 laptop \xE2\x80\x94 added ") != std::string::npos);
    CHECK(list.find(", last seen now (this device)\n") != std::string::npos);
    CHECK(list.find("  2 phone") != std::string::npos);
    CHECK(list.find("last seen never\n") != std::string::npos);
    std::string screen = screen_text(t.model.render());
    CHECK(screen.find("1 laptop") != std::string::npos);
    CHECK(screen.find('\x1b') == std::string::npos); // a device name is inert too
    // Any key closes it.
    t.model.handle_key(Key::of(Key::Type::escape));
    CHECK(t.model.overlay().empty());
}

TEST_CASE("/devices shows the relay's refusal in the status line", "[tui_model]") {
    Fixture t;
    t.model.open_initial("");
    t.enter(U"/devices");
    REQUIRE(t.backend.list_requests.size() == 1);
    t.backend.list_requests.front()(
        make_error(Errc::disconnected, "listing devices needs a connection to the relay"));
    CHECK(t.model.last_error() == "listing devices needs a connection to the relay");
    CHECK(screen_text(t.model.render()).find("needs a connection") != std::string::npos);
    CHECK(t.model.overlay().empty());
}

TEST_CASE("/devices remove ID asks the engine and says how it went", "[tui_model]") {
    Fixture t;
    t.model.open_initial("");
    t.enter(U"/devices remove 2");
    REQUIRE(t.backend.removals.size() == 1);
    CHECK(t.backend.removals[0].first == 2);
    CHECK(t.model.notice().find("unlinking device 2") != std::string::npos);
    t.backend.removals[0].second(Status{});
    CHECK(t.model.notice() == "device 2 was unlinked; it can no longer read new messages");

    t.enter(U"/devices remove 1");
    REQUIRE(t.backend.removals.size() == 2);
    t.backend.removals[1].second(make_error(
        Errc::invalid_argument, "this is the device you are using: remove it from another one"));
    CHECK(t.model.last_error().find("remove it from another one") != std::string::npos);
    CHECK(t.model.notice().empty());
}

TEST_CASE("the devices list shown is refreshed when the account's devices change", "[tui_model]") {
    Fixture t;
    t.model.open_initial("");
    t.enter(U"/devices");
    t.backend.device_list = two_devices();
    t.backend.answer_devices();
    REQUIRE(!t.model.overlay().empty());
    t.backend.device_list.pop_back();
    t.model.on_devices_changed();
    t.backend.answer_devices();
    CHECK(t.model.overlay().find("phone") == std::string::npos);
    CHECK(t.model.overlay().find("laptop") != std::string::npos);

    // Not shown: nothing is asked.
    t.model.handle_key(Key::of(Key::Type::escape));
    t.model.on_devices_changed();
    CHECK(t.backend.list_requests.empty());
}

TEST_CASE("/link CODE starts a link, with --history when asked, and reports the outcome",
          "[tui_model]") {
    Fixture t;
    t.model.open_initial("");
    t.enter(U"/link ABCD-EFGH 1234 --history");
    REQUIRE(t.backend.links.size() == 1);
    CHECK(t.backend.links[0].first == "ABCD-EFGH 1234");
    CHECK(t.backend.links[0].second);
    CHECK(t.model.notice().find("waiting for the new device") != std::string::npos);
    t.model.on_linked("alice", 3);
    CHECK(t.model.notice() == "linked device 3 to this account");

    t.enter(U"/link ABCU");
    CHECK(t.backend.links.size() == 1);
    CHECK(t.model.last_error().find("cannot be in a code") != std::string::npos);
}

TEST_CASE("opening a conversation marks it read through the backend, and a read elsewhere "
          "clears its count",
          "[tui_model]") {
    Fixture t;
    t.backend.contact_list = {"bob", "carol"};
    t.model.open_initial("bob");
    t.model.on_message(t.backend.receive("carol", "psst"));
    auto unread_of = [&](const std::string& peer) {
        for (const auto& c : t.model.conversations())
            if (c.peer == peer)
                return c.unread;
        return -1;
    };
    CHECK(unread_of("carol") == 1);
    // Another device of ours read it: the engine stored that and tells the model.
    t.backend.read["carol"] = true;
    t.model.on_read_elsewhere("carol");
    CHECK(unread_of("carol") == 0);

    t.model.on_message(t.backend.receive("carol", "again"));
    CHECK(unread_of("carol") > 0);
    t.enter(U"/open carol");
    CHECK(t.backend.read["carol"]);
    CHECK(unread_of("carol") == 0);
}

TEST_CASE("an unlinked device says so in the status line and sends nothing more", "[tui_model]") {
    Fixture t;
    t.model.open_initial("bob");
    t.model.on_unlinked();
    CHECK(t.model.unlinked());
    std::string screen = screen_text(t.model.render());
    CHECK(screen.find("this device was unlinked from the account") != std::string::npos);
    t.enter(U"still there?");
    CHECK(t.backend.rows.empty());
    CHECK(t.model.editor().text() == "still there?");
    CHECK(t.model.last_error().find("can no longer send") != std::string::npos);
    // Commands still work.
    t.model.handle_key(Key::ctrl('u'));
    t.enter(U"/quit");
    CHECK(t.model.quit_requested());
}

// ---- search --------------------------------------------------------------------------------

TEST_CASE("/search lists the matching messages of every conversation, newest first, inert",
          "[tui_model]") {
    Fixture t;
    t.backend.contact_list = {"bob", "carol"};
    t.backend.receive("bob", "old lunch plans");
    t.backend.receive("carol", "lunch\non friday \x1b[2J");
    t.model.open_initial("bob");
    // The store answers newest first; the model keeps its order.
    t.backend.search_results = {t.backend.rows[1], t.backend.rows[0]};
    t.enter(U"/search lunch");
    REQUIRE(t.backend.searches.size() == 1);
    CHECK(t.backend.searches[0] == std::pair<std::string, int>{"lunch", TuiModel::kSearchLimit});
    const std::string& list = t.model.overlay();
    CHECK(list.find("2 messages hold") != std::string::npos);
    std::size_t carol = list.find("  carol \xC2\xB7 carol \xC2\xB7 ");
    std::size_t bob = list.find("  bob \xC2\xB7 bob \xC2\xB7 ");
    REQUIRE(carol != std::string::npos);
    REQUIRE(bob != std::string::npos);
    CHECK(carol < bob);
    CHECK(list.find("old lunch plans") != std::string::npos);
    CHECK(list.find('\x1b') == std::string::npos);

    t.model.set_size({24, 140}); // each result is one row, cut at the pane's edge
    std::string screen = screen_text(t.model.render());
    CHECK(screen.find("old lunch plans") != std::string::npos);
    CHECK(screen.find("\\x1b[2J") != std::string::npos); // shown, never obeyed
    for (unsigned char c : screen)
        CHECK((c >= 0x20 || c == '\n'));
    CHECK(t.model.open_peer() == "bob"); // the open conversation stays open underneath
}

TEST_CASE("/search says so when no message holds the words", "[tui_model]") {
    Fixture t;
    t.model.open_initial("bob");
    t.enter(U"/search zebra");
    CHECK(t.model.overlay().find("no messages hold these words") != std::string::npos);
    CHECK(screen_text(t.model.render()).find("no messages hold these words") != std::string::npos);
    CHECK(t.model.last_error().empty());
}

TEST_CASE("search results close with Esc or the next command, and /open still opens",
          "[tui_model]") {
    Fixture t;
    t.backend.contact_list = {"bob", "carol"};
    t.backend.search_results = {t.backend.receive("carol", "lunch at noon")};
    t.model.open_initial("bob");

    t.enter(U"/search lunch");
    REQUIRE_FALSE(t.model.overlay().empty());
    t.model.handle_key(Key::of(Key::Type::escape));
    CHECK(t.model.overlay().empty());
    CHECK(t.model.editor().empty());

    t.enter(U"/search lunch");
    REQUIRE_FALSE(t.model.overlay().empty());
    t.enter(U"/open carol"); // its '/' closes the list and is kept
    CHECK(t.model.overlay().empty());
    CHECK(t.model.open_peer() == "carol");
    CHECK(screen_text(t.model.render()).find("lunch at noon") != std::string::npos);

    t.enter(U"/search lunch");
    t.model.submit("/help"); // a command run without a key first closes it too
    CHECK(t.model.overlay().empty());
    CHECK(t.model.help_visible());
}

TEST_CASE("PageDown scrolls a long search list without closing it", "[tui_model]") {
    Fixture t;
    t.model.open_initial("bob");
    for (int i = 0; i < 60; ++i)
        t.backend.search_results.push_back(t.backend.receive("bob", "note " + std::to_string(i)));
    std::reverse(t.backend.search_results.begin(), t.backend.search_results.end());
    t.enter(U"/search note");
    std::string first = screen_text(t.model.render());
    CHECK(first.find("note 59") != std::string::npos);
    CHECK(first.find("note 0\n") == std::string::npos);
    t.model.handle_key(Key::of(Key::Type::page_down));
    t.model.handle_key(Key::of(Key::Type::page_down));
    t.model.handle_key(Key::of(Key::Type::page_down));
    REQUIRE_FALSE(t.model.overlay().empty());
    std::string last = screen_text(t.model.render());
    CHECK(last.find("note 59") == std::string::npos);
    CHECK(last.find("Any other key closes") != std::string::npos);
}

// ---- blocking --------------------------------------------------------------------------------

TEST_CASE("/block marks the contact in the list and /unblock clears it", "[tui_model]") {
    Fixture t;
    t.backend.contact_list = {"bob", "mallory"};
    t.model.open_initial("bob");
    t.enter(U"/block mallory");
    CHECK(t.backend.blocked_names == std::set<std::string>{"mallory"});
    CHECK(t.model.notice().find("blocked mallory") == 0);
    auto entry = std::find_if(t.model.conversations().begin(), t.model.conversations().end(),
                              [](const auto& e) { return e.peer == "mallory"; });
    REQUIRE(entry != t.model.conversations().end());
    CHECK(entry->blocked);
    std::string screen = screen_text(t.model.render());
    std::size_t row = screen.find("mallory");
    REQUIRE(row != std::string::npos);
    std::string line = screen.substr(row, screen.find('\n', row) - row);
    CHECK(line.find("\xE2\x8A\x98") != std::string::npos); // ⊘

    t.enter(U"/unblock mallory");
    CHECK(t.backend.blocked_names.empty());
    CHECK(t.model.notice() == "unblocked mallory");
    CHECK_FALSE(t.model.is_blocked("mallory"));
    CHECK(screen_text(t.model.render()).find("\xE2\x8A\x98") == std::string::npos);
}

TEST_CASE("blocking ourselves is refused with the engine's sentence", "[tui_model]") {
    Fixture t;
    t.model.open_initial("bob");
    t.enter(U"/block alice");
    CHECK(t.model.last_error() == "you cannot block yourself");
    CHECK(t.backend.blocked_names.empty());
}

TEST_CASE("/blocked lists the blocked names, or says nobody is", "[tui_model]") {
    Fixture t;
    t.model.open_initial("bob");
    t.enter(U"/blocked");
    CHECK(t.model.overlay().find("Nobody is blocked") == 0);
    t.model.handle_key(Key::of(Key::Type::escape));
    t.backend.blocked_names = {"mallory", "trent"};
    t.enter(U"/blocked");
    CHECK(t.model.overlay().find("  mallory\n  trent\n") != std::string::npos);
}

TEST_CASE("a blocked open conversation says how to write again", "[tui_model]") {
    Fixture t;
    t.backend.contact_list = {"bob"};
    t.model.open_initial("bob");
    t.enter(U"/block bob");
    std::string screen = screen_text(t.model.render());
    CHECK(screen.find("blocked: /unblock bob to write") != std::string::npos);
}

// ---- notifications ---------------------------------------------------------------------------

TEST_CASE("a message for another conversation rings once and names the sender in the title",
          "[tui_model]") {
    Fixture t;
    t.model.open_initial("bob");
    t.model.on_message(t.backend.receive("carol", "psst"));
    CHECK(t.model.take_bell_request());
    CHECK_FALSE(t.model.take_bell_request());
    CHECK(t.model.notice() == "carol: psst");
    CHECK(t.model.terminal_title() == "(1) Veil \xE2\x80\x94 new from carol");

    // The conversation on screen does not ring, and is read at once.
    t.model.on_message(t.backend.receive("bob", "hi"));
    CHECK_FALSE(t.model.take_bell_request());
    CHECK(t.model.terminal_title() == "(1) Veil \xE2\x80\x94 new from carol");

    t.model.open("carol");
    CHECK(t.model.terminal_title() == "Veil");
}

TEST_CASE("our own messages and system lines never ring", "[tui_model]") {
    Fixture t;
    t.model.open_initial("bob");
    t.enter(U"hello");
    CHECK_FALSE(t.model.take_bell_request());
    Bytes id(16, 7);
    t.model.on_message(t.backend.receive_in_group(id, store::kSystemSender, "carol joined",
                                                  store::MessageKind::system));
    CHECK_FALSE(t.model.take_bell_request());
}

TEST_CASE("a blocked sender never rings", "[tui_model]") {
    Fixture t;
    t.model.open_initial("bob");
    t.enter(U"/block mallory");
    t.model.on_message(t.backend.receive("mallory", "buy now"));
    CHECK_FALSE(t.model.take_bell_request());
    CHECK(t.model.notice().find("buy now") == std::string::npos);
}

TEST_CASE("/notify is stored in the profile and changes what is shown", "[tui_model]") {
    Fixture t;
    t.model.open_initial("bob");
    t.enter(U"/notify sender");
    CHECK(t.backend.settings["notification_preview"] == "sender");
    CHECK(t.backend.settings["notifications"] == "on");
    CHECK(t.model.notice().find("notifications: sender only") == 0);
    t.model.on_message(t.backend.receive("carol", "secret plans"));
    CHECK(t.model.take_bell_request());
    CHECK(t.model.notice() == "New message from carol");
    CHECK(t.model.terminal_title() == "(1) Veil \xE2\x80\x94 new from carol");

    t.enter(U"/notify none");
    t.model.on_message(t.backend.receive("dave", "more plans"));
    CHECK(t.model.take_bell_request());
    CHECK(t.model.notice() == "New message");
    CHECK(t.model.terminal_title() == "(2) Veil");

    t.enter(U"/notify off");
    CHECK(t.backend.settings["notifications"] == "off");
    CHECK(t.backend.settings["notification_preview"] == "none");
    t.model.on_message(t.backend.receive("erin", "x"));
    CHECK_FALSE(t.model.take_bell_request());
    CHECK(t.model.terminal_title() == "(3) Veil");

    t.enter(U"/notify");
    CHECK(t.model.notice().find("notifications: off") == 0);
}

TEST_CASE("the stored notification setting is read when the app opens", "[tui_model]") {
    Fixture t;
    t.backend.settings["notification_preview"] = "none";
    t.model.open_initial("bob");
    CHECK(t.model.notify_settings().preview == Preview::none);
    CHECK(t.model.notify_settings().enabled);
    t.model.on_message(t.backend.receive("carol", "secret"));
    CHECK(t.model.notice() == "New message");
}

TEST_CASE("received control characters never reach the title or the status line", "[tui_model]") {
    Fixture t;
    t.model.open_initial("bob");
    auto row = t.backend.receive("carol", "a\x1b]0;owned\x07b");
    t.model.on_message(row);
    CHECK(t.model.notice().find('\x1b') == std::string::npos);
    CHECK(t.model.notice().find('\x07') == std::string::npos);
    std::string seq = osc_title_sequence(t.model.terminal_title());
    CHECK(seq.find("owned") == std::string::npos);
}

// ---- everyday messaging ------------------------------------------------------------------------

namespace {

std::string joined_line(const Line& line) {
    std::string out;
    for (const auto& s : line)
        out += s.text;
    return out;
}

bool shows(TuiModel& model, const std::string& text) {
    return screen_text(model.render()).find(text) != std::string::npos;
}

// A folder of our own for /file and /save, removed at the end of the test.
struct Folder {
    std::filesystem::path path;
    Folder() {
        path = std::filesystem::temp_directory_path() /
               ("veil-tui-test-" + std::to_string(::getpid()) + "-" + std::to_string(++n()));
        std::filesystem::create_directories(path);
    }
    ~Folder() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    static int& n() {
        static int count = 0;
        return count;
    }
};

} // namespace

TEST_CASE("each message shows a reference, and /reply quotes the message it names", "[tui_model]") {
    Fixture t;
    t.backend.contact_list = {"bob"};
    t.backend.receive("bob", "lunch?");
    t.model.open_initial("bob");
    t.enter(U"yes");
    CHECK(shows(t.model, "lunch? #1"));
    CHECK(shows(t.model, "yes \xE2\x80\xA6 #2"));

    t.enter(U"/reply #1 at noon");
    REQUIRE(t.backend.sent.size() == 1);
    REQUIRE(t.backend.sent[0].reply_to.has_value());
    CHECK(t.backend.sent[0].reply_to->sender == "bob");
    CHECK(t.backend.sent[0].reply_to->message_id == t.backend.rows[0].message_id);
    CHECK(t.backend.sent[0].text == "at noon");
    CHECK(shows(t.model, "\xE2\x86\xB3 bob: lunch?"));
    CHECK(shows(t.model, "at noon \xE2\x80\xA6 #3"));
    CHECK(t.model.editor().empty());
}

TEST_CASE("a reference that is not shown is refused with a hint and nothing is sent",
          "[tui_model]") {
    Fixture t;
    t.model.open_initial("bob");
    t.enter(U"/reply 7 hello");
    CHECK(t.backend.sent.empty());
    CHECK(t.model.last_error().find("no message #7") != std::string::npos);
}

TEST_CASE("/react shows the reaction under the message and /react REF - takes it back",
          "[tui_model]") {
    Fixture t;
    t.backend.contact_list = {"bob"};
    t.backend.receive("bob", "party tonight");
    t.model.open_initial("bob");
    t.enter(U"/react 1 \U0001F44D");
    CHECK(shows(t.model, "\xF0\x9F\x91\x8D 1"));
    t.enter(U"/react 1 -");
    CHECK_FALSE(shows(t.model, "\xF0\x9F\x91\x8D 1"));
    CHECK(t.model.last_error().empty());
}

TEST_CASE("/edit marks our message edited and /delete leaves a tombstone", "[tui_model]") {
    Fixture t;
    t.backend.contact_list = {"bob"};
    t.backend.receive("bob", "hi");
    t.model.open_initial("bob");
    t.enter(U"helo");
    t.enter(U"/edit 2 hello");
    CHECK(shows(t.model, "hello (edited)"));
    t.enter(U"/delete 2");
    CHECK(shows(t.model, "This message was deleted"));
    CHECK_FALSE(shows(t.model, "hello (edited)"));

    t.enter(U"/edit 1 not mine");
    CHECK(t.model.last_error().find("own messages") != std::string::npos);
    CHECK(t.backend.rows[0].text == "hi");
}

TEST_CASE("an expired message says how to send it again and /resend does", "[tui_model]") {
    Fixture t;
    t.model.open_initial("bob");
    t.enter(U"are you there");
    t.backend.rows[0].status = store::MessageStatus::expired;
    t.model.on_status(t.backend.rows[0].message_id, store::MessageStatus::expired);
    CHECK(shows(t.model, "expired undelivered \xE2\x80\x94 /resend 1"));
    t.enter(U"/resend 1");
    REQUIRE(t.backend.rows.size() == 2);
    CHECK(t.backend.rows[1].text == "are you there");
    CHECK(shows(t.model, "are you there \xE2\x80\xA6 #2"));
}

TEST_CASE("/timer sets the conversation's timer, shown in the header and on new messages",
          "[tui_model]") {
    Fixture t;
    t.model.open_initial("bob");
    t.enter(U"/timer 1h");
    CHECK(t.backend.timers["bob"] == 3600);
    CHECK(t.model.timer() == 3600);
    Frame f = t.model.render();
    CHECK(screen_text(f).find("\xE2\x8F\xB3 1 hour") != std::string::npos);
    t.enter(U"brief");
    CHECK(shows(t.model, "brief \xE2\x8F\xB3"
                         "1h"));
    t.enter(U"/timer off");
    CHECK(t.model.timer() == 0);
    CHECK(t.model.notice().find("off") != std::string::npos);
}

TEST_CASE("/readreceipts turns read receipts off and on and says which", "[tui_model]") {
    Fixture t;
    t.model.open_initial("");
    t.enter(U"/readreceipts off");
    CHECK_FALSE(t.backend.receipts);
    CHECK(t.model.notice().find("read receipts off") != std::string::npos);
    t.enter(U"/readreceipts");
    CHECK(t.model.notice().find("read receipts off") != std::string::npos);
    t.enter(U"/readreceipts on");
    CHECK(t.backend.receipts);
}

TEST_CASE("someone typing is shown under the messages until the typing timeout", "[tui_model]") {
    Fixture t;
    t.backend.contact_list = {"bob"};
    t.model.open_initial("bob");
    t.model.on_typing("bob", "bob", true);
    CHECK(shows(t.model, "bob is typing\xE2\x80\xA6"));
    t.clock.advance(engine::kTypingTimeoutMs - 1);
    CHECK_FALSE(t.model.tick());
    CHECK(shows(t.model, "bob is typing"));
    t.clock.advance(1);
    CHECK(t.model.tick());
    CHECK_FALSE(shows(t.model, "bob is typing"));

    t.model.on_typing("bob", "bob", true);
    t.model.on_message(t.backend.receive("bob", "done"));
    CHECK_FALSE(shows(t.model, "bob is typing"));
    t.model.on_typing("bob", "bob", true);
    t.model.on_typing("bob", "bob", false);
    CHECK_FALSE(shows(t.model, "bob is typing"));
}

TEST_CASE("typing a message tells the engine, and sending or clearing it stops", "[tui_model]") {
    Fixture t;
    t.backend.contact_list = {"bob", "carol"};
    t.model.open_initial("bob");
    t.type(U"hi");
    CHECK(t.backend.typing_calls == std::vector<std::string>{"bob on", "bob on"});
    t.model.handle_key(Key::of(Key::Type::enter));
    CHECK(t.backend.typing_calls.back() == "bob off");

    t.backend.typing_calls.clear();
    t.type(U"x");
    t.model.handle_key(Key::of(Key::Type::backspace));
    CHECK(t.backend.typing_calls == std::vector<std::string>{"bob on", "bob off"});

    t.backend.typing_calls.clear();
    t.type(U"/timer 5m"); // a command is not a message being typed
    CHECK(t.backend.typing_calls.empty());
    t.model.handle_key(Key::ctrl('u'));

    t.type(U"draft");
    t.model.handle_key(Key::of(Key::Type::tab)); // to carol: bob is told we stopped
    CHECK(t.backend.typing_calls.back() == "bob off");
}

TEST_CASE("typing in a group tells its members, and their typing shows with their names",
          "[tui_model]") {
    Fixture t;
    auto created = t.backend.create_group("hikers", {"bob", "carol"});
    REQUIRE(created);
    const std::string conversation = store::group_conversation(created.value());
    t.model.open_initial("");
    REQUIRE(t.model.open("hikers"));
    t.type(U"on my way");
    REQUIRE_FALSE(t.backend.typing_calls.empty());
    CHECK(t.backend.typing_calls.front() == conversation + " on");
    t.model.handle_key(Key::of(Key::Type::enter));
    CHECK(t.backend.typing_calls.back() == conversation + " off");

    t.model.on_typing(conversation, "carol", true);
    CHECK(shows(t.model, "carol is typing"));
    t.model.on_typing("carol", "carol", false); // her 1:1 conversation is another one
    CHECK(shows(t.model, "carol is typing"));
    t.model.on_typing(conversation, "carol", false);
    CHECK_FALSE(shows(t.model, "carol is typing"));
}

TEST_CASE("a changed message is replaced by its row id and removed ones disappear", "[tui_model]") {
    Fixture t;
    t.backend.contact_list = {"bob"};
    t.backend.receive("bob", "first");
    t.backend.receive("bob", "second");
    t.model.open_initial("bob");
    auto changed = t.backend.rows[0];
    changed.text = "first, edited";
    changed.edited_at_ms = 1;
    t.model.on_message_changed(changed);
    CHECK(shows(t.model, "first, edited (edited) #1"));

    t.model.on_messages_removed("bob", {t.backend.rows[0].id});
    CHECK_FALSE(shows(t.model, "first"));
    CHECK(shows(t.model, "second #2")); // references stay with their message
    t.enter(U"/reply 1 too late");
    CHECK(t.model.last_error().find("no message #1") != std::string::npos);
}

TEST_CASE("a message that mentions us is highlighted", "[tui_model]") {
    Fixture t;
    t.backend.contact_list = {"bob"};
    auto row = t.backend.receive("bob", "@alice look");
    t.backend.rows.back().mentions = {"alice"};
    t.model.open_initial("bob");
    bool highlighted = false;
    for (const auto& line : t.model.render().pane)
        for (const auto& span : line)
            if (span.text.find("@alice look") != std::string::npos)
                highlighted = span.style == Style::mention;
    CHECK(highlighted);
}

TEST_CASE("/verify shows the safety number in 12 groups of 5 and a QR code", "[tui_model]") {
    Fixture t;
    std::string digits;
    for (int i = 0; i < 60; ++i)
        digits += static_cast<char>('0' + i % 10);
    t.backend.number.number = digits;
    t.backend.number.qr_payload = Bytes{0, 1, 2, 3, 4, 5, 6, 7};
    t.model.open_initial("bob");
    t.model.set_size({60, 100});
    t.enter(U"/verify");
    std::string screen = screen_text(t.model.render());
    CHECK(screen.find("01234 56789 01234 56789\n") != std::string::npos);
    int groups = 0;
    for (std::size_t at = 0; (at = screen.find("01234", at)) != std::string::npos; ++at)
        ++groups;
    CHECK(groups == 6); // and six of "56789": twelve groups in three rows
    CHECK(screen.find("\xE2\x96\x88") != std::string::npos); // the QR code's blocks
    int qr_rows = 0;
    for (const auto& line : t.model.render().pane)
        for (const auto& span : line)
            qr_rows += span.style == Style::qr;
    CHECK(qr_rows > 10); // drawn dark on light, so that it scans on a dark terminal too
    CHECK(screen.find("not verified") != std::string::npos);

    t.enter(U"/verify --mark");
    CHECK(t.backend.trusts["bob"].verified);
    CHECK(shows(t.model, "\xE2\x9C\x93 verified"));
    t.enter(U"/verify --clear");
    CHECK_FALSE(shows(t.model, "\xE2\x9C\x93 verified"));
}

TEST_CASE("/verify in a group is refused", "[tui_model]") {
    Fixture t;
    t.model.open_initial("");
    t.enter(U"/group hikers bob");
    t.enter(U"/verify");
    CHECK(t.model.last_error().find("one person") != std::string::npos);
}

TEST_CASE("a changed key pauses sending until /verify --accept, and the screen says so",
          "[tui_model]") {
    Fixture t;
    t.backend.contact_list = {"bob"};
    t.model.open_initial("bob");
    t.backend.trusts["bob"] = {false, true, 1};
    t.model.on_identity_changed("bob");
    Frame f = t.model.render();
    std::string screen = screen_text(f);
    CHECK(screen.find("safety number changed") != std::string::npos);
    CHECK(joined_line(f.input).find("sending paused until /verify --accept") != std::string::npos);
    t.enter(U"still there?");
    CHECK(t.backend.sent.empty());
    CHECK(t.backend.rows.empty());
    CHECK(t.model.editor().text() == "still there?");
    CHECK(t.model.last_error().find("/verify --accept") != std::string::npos);

    t.model.handle_key(Key::ctrl('u'));
    t.enter(U"/verify --accept");
    CHECK_FALSE(t.backend.trusts["bob"].needs_accept);
    f = t.model.render();
    CHECK(joined_line(f.input).find("paused") == std::string::npos);
    t.enter(U"still there?");
    CHECK(t.backend.rows.size() == 1);
}

TEST_CASE("/file sends the file and the status line shows its upload", "[tui_model]") {
    Fixture t;
    Folder folder;
    {
        std::ofstream out(folder.path / "plan v2.pdf");
        out << std::string(2000, 'x');
    }
    t.model.set_folder(folder.path);
    t.model.open_initial("bob");
    t.enter(U"/file plan v2.pdf");
    REQUIRE(t.backend.sent.size() == 1);
    REQUIRE(t.backend.sent[0].files.size() == 1);
    CHECK(t.backend.sent[0].files[0] == folder.path / "plan v2.pdf");
    CHECK(shows(t.model, "[plan v2.pdf, 2.0 kB] \xE2\x80\x94 sending"));

    t.model.on_transfer(t.backend.rows[0].id, 0, 500, 2000);
    CHECK(shows(t.model, "sending plan v2.pdf 25%"));
    auto done = t.backend.rows[0];
    done.attachments[0].state = store::AttachmentState::ready;
    t.model.on_transfer(done.id, 0, 2000, 2000);
    t.model.on_message_changed(done);
    CHECK_FALSE(shows(t.model, "25%"));
    CHECK(shows(t.model, "[plan v2.pdf, 2.0 kB] \xE2\x80\x94 /save 1"));

    t.enter(U"/file missing.pdf");
    CHECK(t.model.last_error().find("no file") != std::string::npos);
    CHECK(t.backend.sent.size() == 1);
}

TEST_CASE("/save downloads a file, then saves it under the sender's name, never overwriting",
          "[tui_model]") {
    Fixture t;
    Folder folder;
    t.model.set_folder(folder.path);
    t.backend.contact_list = {"bob"};
    t.backend.receive("bob", "");
    store::AttachmentRow a;
    a.file_name = "../notes.txt";
    a.size = 8;
    t.backend.rows[0].attachments = {a};
    t.model.open_initial("bob");
    CHECK(shows(t.model, "[../notes.txt, 8 bytes] \xE2\x80\x94 /save 1"));

    t.enter(U"/save 1");
    REQUIRE(t.backend.downloads.size() == 1);
    CHECK(shows(t.model, "downloading ../notes.txt\xE2\x80\xA6"));
    t.backend.download_handlers[0](Status{});
    REQUIRE(t.backend.saved_to.size() == 1);
    CHECK(t.model.notice() == "saved " + (folder.path / "notes.txt").string());
    CHECK(std::filesystem::exists(folder.path / "notes.txt"));

    // Once ready, saving again needs no download and refuses the same name.
    t.backend.rows[0].attachments[0].state = store::AttachmentState::ready;
    t.model.on_message_changed(t.backend.rows[0]);
    t.enter(U"/save 1");
    CHECK(t.model.last_error().find("already exists") != std::string::npos);
    CHECK(t.backend.saved_to.size() == 1);
    t.enter(U"/save 1 copy.txt");
    CHECK(t.backend.downloads.size() == 1);
    CHECK(std::filesystem::exists(folder.path / "copy.txt"));

    t.enter(U"/save 1 3");
    CHECK(t.model.last_error().find("has 1 files") != std::string::npos);
}

TEST_CASE("the help scrolls with PageDown on a small terminal and closes with another key",
          "[tui_model]") {
    Fixture t;
    t.model.open_initial("");
    t.enter(U"/help");
    CHECK(shows(t.model, "/add NAME"));
    CHECK_FALSE(shows(t.model, "Backspace/Delete"));
    for (int i = 0; i < 5; ++i)
        t.model.handle_key(Key::of(Key::Type::page_down));
    CHECK(t.model.help_visible());
    CHECK(shows(t.model, "Backspace/Delete"));
    t.model.handle_key(Key::of(Key::Type::escape));
    CHECK_FALSE(t.model.help_visible());
}

TEST_CASE("a key that arrives together with Esc is typed, so a command never goes out as text",
          "[tui_model]") {
    Fixture t;
    t.model.open_initial("bob");
    t.model.handle_key(Key::alt('/')); // Esc and '/' read in one go
    t.type(U"timer 5m");
    t.model.handle_key(Key::of(Key::Type::enter));
    CHECK(t.backend.timers["bob"] == 300);
    CHECK(t.model.timer() == 300);
    // Only the system line of the timer is stored: nothing was sent as a message.
    CHECK(std::none_of(t.backend.rows.begin(), t.backend.rows.end(),
                       [](const auto& r) { return r.direction == store::Direction::outgoing; }));
}

TEST_CASE("a file sent without text shows on the message's own line, then says it was sent",
          "[tui_model]") {
    Fixture t;
    Folder folder;
    {
        std::ofstream out(folder.path / "a.bin");
        out << "1234";
    }
    t.model.set_folder(folder.path);
    t.model.open_initial("bob");
    t.enter(U"/file a.bin");
    CHECK(shows(t.model, "alice: [a.bin, 4 bytes] \xE2\x80\x94 sending"));
    t.model.on_transfer(t.backend.rows[0].id, 0, 4, 4);
    CHECK(t.model.notice() == "sent a.bin");
}

TEST_CASE("notices take no reference, so the numbers of messages stay dense", "[tui_model]") {
    Fixture t;
    t.backend.contact_list = {"bob"};
    t.model.open_initial("bob");
    t.enter(U"one");
    t.enter(U"/timer 1h");
    t.enter(U"two");
    CHECK(shows(t.model, "one \xE2\x80\xA6 #1"));
    CHECK(shows(t.model, "two \xE2\x8F\xB3"
                         "1h \xE2\x80\xA6 #2"));
    CHECK(t.model.ref_of(t.backend.rows[1].id) == 0); // the timer's notice
}

TEST_CASE("a file without text is announced by its name", "[tui_model]") {
    Fixture t;
    t.backend.contact_list = {"bob", "carol"};
    t.model.open_initial("bob");
    auto row = t.backend.receive("carol", "");
    store::AttachmentRow a;
    a.file_name = "menu\x1b[2J.pdf";
    row.attachments = {a};
    t.model.on_message(row);
    CHECK(t.model.notice().find("carol") != std::string::npos);
    CHECK(t.model.notice().find(".pdf]") != std::string::npos);
    CHECK(t.model.notice().find('\x1b') == std::string::npos);
}

TEST_CASE("quitting with a message half typed tells the other side we stopped typing",
          "[tui_model]") {
    Fixture t;
    t.backend.contact_list = {"bob"};
    t.model.open_initial("bob");
    t.type(U"see y");
    t.model.handle_key(Key::ctrl('q'));
    CHECK(t.model.quit_requested());
    CHECK(t.backend.typing_calls.back() == "bob off");
}

TEST_CASE("/encryption lists who holds keys, and restart or renew repair them", "[tui_model]") {
    Fixture t;
    t.backend.contact_list = {"bob"};
    auto created = t.backend.create_group("owls", {"bob"});
    REQUIRE(created);
    t.model.open_initial("bob");
    engine::MemberSecurity bob;
    bob.username = "bob";
    bob.identity_known = true;
    bob.trust.verified = true;
    bob.devices = {{1, true, false}, {2, false, false}};
    t.backend.security.members = {bob};
    t.enter(U"/encryption");
    CHECK(shows(t.model, "bob: verified"));
    CHECK(shows(t.model, "device 1: session"));
    CHECK(shows(t.model, "device 2: no session yet"));
    t.model.handle_key(Key::of(Key::Type::escape));
    t.enter(U"/encryption restart");
    CHECK(t.backend.calls.back() == "restart bob");
    t.enter(U"/encryption renew");
    CHECK(shows(t.model, "with one person, /encryption restart"));
    t.enter(U"/encryption sideways");
    CHECK(shows(t.model, "/encryption takes nothing"));

    REQUIRE(t.model.open("owls"));
    t.enter(U"/encryption renew");
    CHECK(t.backend.calls.back() == "renew " + store::group_conversation(created.value()));
}
