#include "test_environment.h"
#include "tui_model.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>

using namespace veil;
using namespace veil::tui;

namespace {

// An account in memory that behaves like the engine: send_text stores the row and reports it.
class FakeBackend final : public ChatBackend {
public:
    TuiModel* model = nullptr;
    std::vector<std::string> contact_list;
    std::vector<store::MessageRow> rows;
    std::map<std::string, bool> read;
    std::int64_t now = 1'700'000'000'000;

    Status add_contact(const std::string& name) override {
        if (name.empty() || name.find(' ') != std::string::npos)
            return make_error(Errc::invalid_argument, "'" + name + "' is not a valid username");
        contact_list.push_back(name);
        return {};
    }
    Result<Bytes> send_text(const std::string& peer, const std::string& text) override {
        store::MessageRow row;
        row.id = static_cast<std::int64_t>(rows.size()) + 1;
        row.peer = peer;
        row.sender = "alice";
        row.direction = store::Direction::outgoing;
        row.status = store::MessageStatus::queued;
        row.text = text;
        row.message_id = Bytes(16, static_cast<std::uint8_t>(row.id));
        row.sent_at_ms = row.received_at_ms = now;
        rows.push_back(row);
        model->on_message(row);
        return row.message_id;
    }
    store::MessageRow receive(const std::string& from, const std::string& text) {
        store::MessageRow row;
        row.id = static_cast<std::int64_t>(rows.size()) + 1;
        row.peer = from;
        row.sender = from;
        row.direction = store::Direction::incoming;
        row.status = store::MessageStatus::received;
        row.text = text;
        row.sent_at_ms = row.received_at_ms = now += 1000;
        rows.push_back(row);
        read[from] = false;
        return row;
    }
    Result<std::vector<std::string>> contacts() override { return contact_list; }
    Result<std::vector<store::ConversationRow>> conversations() override {
        std::map<std::string, store::ConversationRow> by_peer;
        for (const auto& r : rows) {
            auto& c = by_peer[r.peer];
            c.peer = r.peer;
            c.last_activity_ms = std::max(c.last_activity_ms, r.received_at_ms);
            c.last_text = r.text;
            if (r.direction == store::Direction::incoming && !read[r.peer])
                ++c.unread;
        }
        std::vector<store::ConversationRow> out;
        for (auto& [peer, c] : by_peer)
            out.push_back(c);
        return out;
    }
    Result<std::vector<store::MessageRow>> messages(const std::string& peer, int limit) override {
        std::vector<store::MessageRow> out;
        for (auto it = rows.rbegin(); it != rows.rend() && static_cast<int>(out.size()) < limit;
             ++it)
            if (it->peer == peer)
                out.push_back(*it);
        return out;
    }
    // Search answers with canned rows, as the store would, and records what was asked.
    std::vector<store::MessageRow> search_results;
    std::vector<std::pair<std::string, int>> searches;
    Result<std::vector<store::MessageRow>> search(const std::string& query, int limit) override {
        searches.emplace_back(query, limit);
        return search_results;
    }
    Status mark_read(const std::string& peer) override {
        read[peer] = true;
        return {};
    }

    // Groups: accepted at once, as if the relay had answered.
    std::vector<store::GroupRow> group_list;
    std::map<Bytes, std::vector<store::GroupMemberRow>> members;
    std::vector<std::string> calls; // what the model asked for, in order
    Status refuse_changes;          // when set, every change fails with it

    Result<Bytes> create_group(const std::string& name,
                               const std::vector<std::string>& first) override {
        calls.push_back("create " + name);
        Bytes id(16, static_cast<std::uint8_t>(group_list.size() + 1));
        store::GroupRow row;
        row.group_id = id;
        row.revision = 1;
        row.name = name;
        group_list.push_back(row);
        members[id] = {{"alice", true}};
        for (const auto& m : first)
            members[id].push_back({m, false});
        return id;
    }
    Status add_group_members(const Bytes& id, const std::vector<std::string>& names) override {
        calls.push_back("add " + names.front());
        if (!refuse_changes)
            return refuse_changes;
        for (const auto& n : names)
            members[id].push_back({n, false});
        return {};
    }
    Status remove_group_members(const Bytes& id, const std::vector<std::string>& names) override {
        calls.push_back("remove " + names.front());
        if (!refuse_changes)
            return refuse_changes;
        auto& list = members[id];
        for (const auto& n : names)
            list.erase(std::remove_if(list.begin(), list.end(),
                                      [&](const auto& m) { return m.username == n; }),
                       list.end());
        return {};
    }
    Status leave_group(const Bytes&) override {
        calls.push_back("leave");
        return refuse_changes;
    }
    Status set_group_info(const Bytes& id, const std::string& name,
                          const std::string& description) override {
        calls.push_back("info " + name + " / " + description);
        if (!refuse_changes)
            return refuse_changes;
        for (auto& g : group_list)
            if (g.group_id == id) {
                g.name = name;
                g.description = description;
            }
        return {};
    }
    Status set_group_admin(const Bytes& id, const std::string& member, bool admin) override {
        calls.push_back((admin ? "promote " : "demote ") + member);
        for (auto& m : members[id])
            if (m.username == member)
                m.admin = admin;
        return refuse_changes;
    }
    Result<Bytes> send_group_text(const Bytes& id, const std::string& text) override {
        calls.push_back("group text " + text);
        return send_text(store::group_conversation(id), text);
    }
    Result<std::vector<store::GroupRow>> groups() override { return group_list; }
    Result<std::vector<store::GroupMemberRow>> group_members(const Bytes& id) override {
        return members[id];
    }
    // Blocking and settings, as the engine and the store keep them.
    std::set<std::string> blocked_names;
    std::map<std::string, std::string> settings;
    Status set_blocked(const std::string& name, bool blocked) override {
        if (name == "alice")
            return make_error(Errc::invalid_argument, "you cannot block yourself");
        if (blocked)
            blocked_names.insert(name);
        else
            blocked_names.erase(name);
        return {};
    }
    Result<std::vector<std::string>> blocked() override {
        return std::vector<std::string>(blocked_names.begin(), blocked_names.end());
    }
    Result<std::string> setting(const std::string& key) override {
        auto it = settings.find(key);
        return it == settings.end() ? std::string() : it->second;
    }
    Status set_setting(const std::string& key, const std::string& value) override {
        settings[key] = value;
        return {};
    }
    // Devices: the list is answered when the test calls answer_devices(); removals and links
    // are recorded and answered by the test too, as the relay would later.
    std::vector<engine::DeviceInfo> device_list;
    std::vector<engine::Engine::DevicesHandler> list_requests;
    std::vector<std::pair<std::uint32_t, engine::Engine::DoneHandler>> removals;
    std::vector<std::pair<std::string, bool>> links;
    void list_devices(engine::Engine::DevicesHandler handler) override {
        list_requests.push_back(std::move(handler));
    }
    void answer_devices() {
        auto pending = std::move(list_requests);
        list_requests.clear();
        for (auto& h : pending)
            h(device_list);
    }
    void remove_device(std::uint32_t id, engine::Engine::DoneHandler handler) override {
        removals.emplace_back(id, std::move(handler));
    }
    Status accept_link(const std::string& code, bool history) override {
        if (code.find('U') != std::string::npos)
            return make_error(Errc::invalid_argument,
                              "the link code has a character that cannot be in a code: 'U'");
        links.emplace_back(code, history);
        return {};
    }

    store::MessageRow receive_in_group(const Bytes& id, const std::string& from,
                                       const std::string& text,
                                       store::MessageKind kind = store::MessageKind::normal) {
        auto row = receive(from, text);
        row.peer = store::group_conversation(id);
        row.kind = kind;
        rows.back() = row;
        read.erase(from);
        read[row.peer] = false;
        return row;
    }
};

struct Fixture {
    FakeBackend backend;
    ManualClock clock;
    TuiModel model{backend, clock};
    Fixture() {
        backend.model = &model;
        model.set_username("alice");
        model.set_size({24, 80});
    }
    void type(std::u32string_view text) {
        for (char32_t cp : text)
            model.handle_key(Key::character(cp));
    }
    void enter(std::u32string_view text) {
        type(text);
        model.handle_key(Key::of(Key::Type::enter));
    }
};

std::string screen_text(const Frame& f) {
    std::string out;
    auto add = [&](const Line& line) {
        for (const auto& s : line)
            out += s.text;
        out += "\n";
    };
    for (const auto& l : f.list)
        add(l);
    add(f.title);
    for (const auto& l : f.pane)
        add(l);
    add(f.status);
    add(f.input);
    return out;
}

} // namespace

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
    CHECK(screen_text(f).find("message 0\n") != std::string::npos);
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
