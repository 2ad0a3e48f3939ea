// FakeBackend: an account in memory that behaves like the engine, for the terminal app's model
// tests; Fixture: a model on it at 80x24; screen_text: a Frame as plain text.
#pragma once

#include "test_environment.h"
#include "tui_model.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace veil::tui::test {

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
        row.expire_timer_s = timers[peer];
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
    Status set_group_avatar(const Bytes& id, const Bytes& image) override {
        calls.push_back("picture " + std::to_string(image.size()));
        for (auto& g : group_list)
            if (g.group_id == id)
                g.avatar = image;
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

    // Everyday messaging, as the engine does it: each change is stored and announced.
    std::vector<std::string> typing_calls; // "bob on", "bob off"
    std::map<std::string, std::uint32_t> timers;
    bool receipts = true;
    std::map<std::string, store::AccountStore::Trust> trusts;
    engine::SafetyNumber number;
    std::vector<std::pair<std::int64_t, int>> downloads;
    std::vector<engine::Engine::DoneHandler> download_handlers;
    std::vector<std::filesystem::path> saved_to;
    std::vector<engine::Outgoing> sent;

    store::MessageRow* row_with(std::span<const std::uint8_t> id) {
        for (auto& r : rows)
            if (std::equal(r.message_id.begin(), r.message_id.end(), id.begin(), id.end()))
                return &r;
        return nullptr;
    }
    Result<Bytes> send(const std::string& conversation, const engine::Outgoing& m) override {
        sent.push_back(m);
        if (trusts[conversation].needs_accept)
            return make_error(Errc::untrusted_identity, "paused");
        store::MessageRow row;
        row.id = static_cast<std::int64_t>(rows.size()) + 1;
        row.peer = conversation;
        row.sender = "alice";
        row.direction = store::Direction::outgoing;
        row.status = store::MessageStatus::queued;
        row.text = m.text;
        row.message_id = Bytes(16, static_cast<std::uint8_t>(row.id));
        row.sent_at_ms = row.received_at_ms = now;
        row.expire_timer_s = timers[conversation];
        if (m.reply_to)
            if (auto* target = row_with(m.reply_to->message_id))
                row.quote = store::Quote{target->message_id, target->sender, target->text};
        for (const auto& f : m.files) {
            store::AttachmentRow a;
            a.index = static_cast<int>(row.attachments.size());
            a.file_name = f.filename().string();
            a.size = std::filesystem::file_size(f);
            a.state = store::AttachmentState::uploading;
            row.attachments.push_back(a);
        }
        rows.push_back(row);
        model->on_message(row);
        return row.message_id;
    }
    Status react(const std::string&, const engine::MessageRef& target,
                 const std::string& emoji) override {
        auto* row = row_with(target.message_id);
        if (!row)
            return make_error(Errc::not_found, "not here");
        std::erase_if(row->reactions, [](const auto& r) { return r.reactor == "alice"; });
        if (!emoji.empty())
            row->reactions.push_back({"alice", emoji, now});
        model->on_message_changed(*row);
        return {};
    }
    Status edit(const std::string&, const Bytes& id, const std::string& text) override {
        auto* row = row_with(id);
        row->text = text;
        row->edited_at_ms = now;
        model->on_message_changed(*row);
        return {};
    }
    Status delete_for_everyone(const std::string&, const Bytes& id) override {
        auto* row = row_with(id);
        row->text.clear();
        row->deleted = true;
        row->reactions.clear();
        model->on_message_changed(*row);
        return {};
    }
    Result<Bytes> resend(const Bytes& id) override {
        auto* row = row_with(id);
        if (row->status != store::MessageStatus::expired)
            return make_error(Errc::refused, "only a message that expired or failed");
        std::string peer = row->peer;
        return send(peer, engine::Outgoing{row->text, std::nullopt, {}, {}});
    }
    Status set_disappearing(const std::string& conversation, std::uint32_t seconds) override {
        timers[conversation] = seconds;
        auto row = receive(conversation, "You set disappearing messages");
        row.kind = store::MessageKind::system;
        row.sender = store::kSystemSender;
        rows.back() = row;
        model->on_message(row);
        return {};
    }
    Result<std::uint32_t> disappearing(const std::string& conversation) override {
        return timers[conversation];
    }
    void set_typing(const std::string& conversation, bool typing) override {
        typing_calls.push_back(conversation + (typing ? " on" : " off"));
    }
    Status set_read_receipts(bool on) override {
        receipts = on;
        return {};
    }
    bool read_receipts() override { return receipts; }
    void download(std::int64_t row_id, int index, engine::Engine::DoneHandler done) override {
        downloads.emplace_back(row_id, index);
        download_handlers.push_back(std::move(done));
    }
    Status save_attachment(std::int64_t, int, const std::filesystem::path& to) override {
        saved_to.push_back(to);
        std::FILE* f = std::fopen(to.c_str(), "wx");
        if (!f)
            return make_error(Errc::io, "cannot write");
        std::fputs("the file", f);
        std::fclose(f);
        return {};
    }
    Result<engine::SafetyNumber> safety_number(const std::string& peer) override {
        if (store::is_group_conversation(peer))
            return make_error(Errc::invalid_argument, "not a person");
        engine::SafetyNumber n = number;
        n.trust = trusts[peer];
        return n;
    }
    Result<store::AccountStore::Trust> trust(const std::string& peer) override {
        return trusts[peer];
    }
    Status set_verified(const std::string& peer, bool verified) override {
        trusts[peer].verified = verified;
        return {};
    }
    Status accept_new_identity(const std::string& peer) override {
        trusts[peer].needs_accept = false;
        return {};
    }
    engine::ConversationSecurity security;
    Result<engine::ConversationSecurity> conversation_security(const std::string&) override {
        return security;
    }
    Status restart_sessions(const std::string& peer) override {
        calls.push_back("restart " + peer);
        return {};
    }
    Status renew_group_key(std::span<const std::uint8_t> group_id) override {
        calls.push_back("renew " + store::group_conversation(group_id));
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

inline std::string screen_text(const Frame& f) {
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

} // namespace veil::tui::test
