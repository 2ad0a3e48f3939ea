#include "cli_events.h"
#include "cli_support.h"

#include "text_safety.h"
#include "util/hex.h"

namespace veil::tui {
namespace {

const char* kMessageCursor = "cli.receive_cursor";
const char* kEventCursor = "cli.event_cursor";
constexpr int kBatch = 1000;

std::int64_t read_cursor(store::AccountStore& store, const char* key) {
    auto text = store.setting(key);
    if (!text || text->empty())
        return 0;
    try {
        return std::stoll(text.value());
    } catch (const std::exception&) {
        return 0; // a damaged setting: start over rather than never print again
    }
}

std::string json_names(const std::vector<std::string>& names) {
    std::string out = "[";
    for (std::size_t i = 0; i < names.size(); ++i)
        out += (i ? "," : "") + json_string(names[i]);
    return out + "]";
}

} // namespace

EventFeed::EventFeed(store::AccountStore& store, bool json, Sink sink)
    : m_store(store)
    , m_json(json)
    , m_sink(std::move(sink)) {
    // What the groups are now, so that the first change of each one says what it changed.
    if (auto groups = m_store.groups())
        for (const auto& g : groups.value())
            if (auto s = snapshot(g.group_id))
                m_groups[g.group_id] = *s;
}

void EventFeed::catch_up() {
    // A batch at a time, so that a month of backlog does not sit in memory at once.
    while (print_messages()) {
    }
    while (print_changes()) {
    }
}

bool EventFeed::print_messages() {
    std::int64_t cursor = read_cursor(m_store, kMessageCursor);
    auto rows = m_store.incoming_after(cursor, kBatch);
    if (!rows) {
        err(rows.error().message);
        return false;
    }
    if (rows->empty())
        return false;
    std::vector<std::string> lines;
    for (const auto& row : rows.value()) {
        lines.push_back(m_json ? message_json(m_store, row) : text_line(row));
        cursor = row.id;
    }
    if (!m_sink(lines))
        return false;
    return m_store.set_setting(kMessageCursor, std::to_string(cursor)) &&
           rows->size() == static_cast<std::size_t>(kBatch);
}

bool EventFeed::print_changes() {
    std::int64_t cursor = read_cursor(m_store, kEventCursor);
    auto events = m_store.events_after(cursor, kBatch);
    if (!events) {
        err(events.error().message);
        return false;
    }
    if (events->empty())
        return false;
    std::vector<std::string> lines;
    for (const auto& e : events.value()) {
        cursor = e.seq;
        using Kind = store::AccountStore::EventKind;
        if (e.kind == Kind::changed) {
            auto row = m_store.message_by_id(e.message);
            if (row && row.value())
                lines.push_back(changed_line(*row.value()));
        } else if (e.kind == Kind::status && m_json) {
            lines.push_back("{\"event\":\"status\",\"id\":" + json_string(to_hex(e.message_id)) +
                            ",\"status\":" + json_string(status_name(e.status)) + "}");
        } else if (e.kind == Kind::disappeared && m_json) {
            lines.push_back(
                "{\"event\":\"disappeared\",\"conversation\":" + json_string(e.conversation) +
                ",\"count\":" + std::to_string(e.count) + "}");
        }
    }
    if (!lines.empty() && !m_sink(lines))
        return false;
    return m_store.set_setting(kEventCursor, std::to_string(cursor)) &&
           events->size() == static_cast<std::size_t>(kBatch);
}

std::string EventFeed::text_line(const store::MessageRow& row) {
    std::string line;
    auto group = store::group_id_of(row.peer);
    if (group)
        line += "[" + inert_for_terminal(group_label(m_store, *group), true) + "] ";
    if (row.kind == store::MessageKind::system)
        return line + "* " + inert_for_terminal(row.text, true);
    if (row.direction == store::Direction::outgoing && !group)
        // Sent from another of our devices.
        line += inert_for_terminal(row.sender, true) + " -> " + inert_for_terminal(row.peer, true) +
                ": " + inert_for_terminal(row.text, true);
    else
        line += inert_for_terminal(row.sender, true) + ": " + inert_for_terminal(row.text, true);
    if (row.quote)
        line += "\n  (replying to " + inert_for_terminal(row.quote->author, true) + ": " +
                inert_for_terminal(row.quote->text, true) + ")";
    for (const auto& a : row.attachments)
        line += "\n  [file " + inert_for_terminal(a.file_name, true) + ", " +
                std::to_string(a.size) + " bytes: veil save " + to_hex(row.message_id) + "]";
    return line;
}

std::string EventFeed::changed_line(const store::MessageRow& row) {
    if (m_json)
        return "{\"event\":\"changed\",\"message\":" + message_json(m_store, row) + "}";
    std::string what = row.deleted             ? "[deleted for everyone]"
                       : row.edited_at_ms != 0 ? "[edited] " + row.text
                                               : row.text;
    std::string line =
        "~ " + inert_for_terminal(row.sender, true) + ": " + inert_for_terminal(what, true);
    for (const auto& r : row.reactions)
        line += "  [" + inert_for_terminal(r.reactor, true) + " " +
                inert_for_terminal(r.emoji, true) + "]";
    return line;
}

void EventFeed::live(const std::string& line) {
    if (!m_json)
        return;
    catch_up();
    (void)m_sink({line});
}

void EventFeed::typing(const std::string& conversation, const std::string& who, bool typing) {
    live("{\"event\":\"typing\",\"conversation\":" + json_string(conversation) +
         ",\"from\":" + json_string(who) + ",\"typing\":" + (typing ? "true" : "false") + "}");
}

void EventFeed::sent(std::span<const std::uint8_t> message_id) {
    live("{\"event\":\"status\",\"id\":" + json_string(to_hex(message_id)) +
         ",\"status\":\"sent\"}");
}

std::optional<EventFeed::GroupSnapshot>
EventFeed::snapshot(std::span<const std::uint8_t> group_id) {
    auto group = m_store.group(group_id);
    auto members = m_store.group_members(group_id);
    if (!group || !group->has_value() || !members)
        return std::nullopt;
    GroupSnapshot s;
    s.name = (*group)->name;
    s.left = (*group)->has_left;
    for (const auto& m : members.value())
        s.members[m.username] = m.admin;
    return s;
}

void EventFeed::group_changed(std::span<const std::uint8_t> group_id) {
    auto now = snapshot(group_id);
    if (!now)
        return;
    Bytes id(group_id.begin(), group_id.end());
    auto before_it = m_groups.find(id);
    const bool is_new = before_it == m_groups.end();
    GroupSnapshot before = is_new ? GroupSnapshot{} : before_it->second;
    m_groups[id] = *now;

    std::vector<std::string> added, removed, promoted, demoted;
    for (const auto& [name, admin] : now->members) {
        auto was = before.members.find(name);
        if (was == before.members.end())
            added.push_back(name);
        else if (admin && !was->second)
            promoted.push_back(name);
        else if (!admin && was->second)
            demoted.push_back(name);
    }
    for (const auto& [name, admin] : before.members)
        if (!now->members.contains(name))
            removed.push_back(name);

    std::string members = "[";
    for (const auto& [name, admin] : now->members)
        members += std::string(members.size() > 1 ? "," : "") + "{\"name\":" + json_string(name) +
                   ",\"admin\":" + (admin ? "true" : "false") + "}";
    members += "]";
    std::string renamed_from =
        !is_new && before.name != now->name ? json_string(before.name) : std::string("null");
    live("{\"event\":\"group\",\"group_id\":" + json_string(to_hex(id)) +
         ",\"name\":" + json_string(now->name) + ",\"new\":" + (is_new ? "true" : "false") +
         ",\"left\":" + (now->left ? "true" : "false") + ",\"members\":" + members +
         ",\"added\":" + json_names(added) + ",\"removed\":" + json_names(removed) +
         ",\"promoted\":" + json_names(promoted) + ",\"demoted\":" + json_names(demoted) +
         ",\"renamed_from\":" + renamed_from + "}");
}

void EventFeed::group_warning(std::span<const std::uint8_t> group_id, const std::string& sentence) {
    live("{\"event\":\"group_warning\",\"group_id\":" + json_string(to_hex(group_id)) +
         ",\"text\":" + json_string(sentence) + "}");
}

void EventFeed::identity_changed(const std::string& peer) {
    auto trust = m_store.trust(peer);
    const bool verified = trust && trust->verified;
    const bool needs_accept = trust && trust->needs_accept;
    live("{\"event\":\"identity\",\"peer\":" + json_string(peer) +
         ",\"verified\":" + (verified ? "true" : "false") +
         ",\"needs_accept\":" + (needs_accept ? "true" : "false") + "}");
}

void EventFeed::devices_changed() {
    live("{\"event\":\"devices\"}");
}

void EventFeed::read_elsewhere(const std::string& conversation) {
    live("{\"event\":\"read_elsewhere\",\"conversation\":" + json_string(conversation) + "}");
}

} // namespace veil::tui
