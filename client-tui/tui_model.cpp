#include "tui_model.h"

#include "protocol/limits.h"
#include "qr_text.h"
#include "save_file.h"
#include "text_width.h"
#include "util/hex.h"
#include "util/look_alike.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <fstream>

namespace veil::tui {
namespace {

const char* kNoConversation = "No conversation is open.\n"
                              "/add NAME starts one, /open NAME opens one, /help lists the rest.";

const char* kAskingDevices = "asking the relay for this account's devices\xE2\x80\xA6";

// The conversation list's width on a terminal this wide; 0 when there is no room for it.
int list_width_for(int cols) {
    return cols >= 60 ? std::clamp(cols / 5, 16, 28) : 0;
}

// "Mon 2024-05-06 14:03", or "never".
std::string when(std::int64_t ms) {
    return ms > 0 ? format_day(ms) + " " + format_clock(ms) : std::string("never");
}

std::string spaces(int n) {
    return std::string(static_cast<std::size_t>(n > 0 ? n : 0), ' ');
}

const char* connection_label(engine::State state) {
    switch (state) {
    case engine::State::offline: return "offline";
    case engine::State::connecting: return "connecting\xE2\x80\xA6";
    case engine::State::authenticating: return "signing in\xE2\x80\xA6";
    case engine::State::ready: return "online";
    case engine::State::failed: return "failed";
    case engine::State::damaged: return "store damaged: quit, then veil restore-snapshot";
    }
    return "?";
}

std::int64_t shown_time(const store::MessageRow& row) {
    return row.direction == store::Direction::outgoing ? row.sent_at_ms : row.received_at_ms;
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (true) {
        std::size_t nl = text.find('\n', start);
        lines.push_back(text.substr(start, nl == std::string::npos ? nl : nl - start));
        if (nl == std::string::npos)
            return lines;
        start = nl + 1;
    }
}

Line day_separator(std::int64_t at_ms, int width) {
    std::string label = " " + format_day(at_ms) + " ";
    int side = std::max(0, (width - text_width(label)) / 2);
    std::string rule;
    for (int i = 0; i < side; ++i)
        rule += "\xE2\x94\x80"; // ─
    return fit_line({{rule + label + rule, Style::dim}}, width);
}

// The group id of a group conversation ("#" and the id in hex).
Bytes group_id_of(const std::string& peer) {
    auto id = from_hex(std::string_view(peer).substr(1));
    return id ? id.value() : Bytes{};
}

// The safety number in rows of four groups of five digits, whatever spacing it came with.
std::vector<std::string> safety_number_rows(const std::string& number) {
    std::string digits;
    for (char c : number)
        if (c >= '0' && c <= '9')
            digits += c;
    std::vector<std::string> rows;
    for (std::size_t i = 0; i < digits.size(); i += 20) {
        std::string row;
        for (std::size_t j = i; j < std::min(digits.size(), i + 20); j += 5)
            row += (row.empty() ? "" : " ") + digits.substr(j, 5);
        rows.push_back(row);
    }
    return rows;
}

} // namespace

TuiModel::TuiModel(ChatBackend& backend, const Clock& clock)
    : m_backend(backend)
    , m_clock(clock) {
    std::error_code ec;
    m_folder = std::filesystem::current_path(ec);
}

// ---- engine events ---------------------------------------------------------------------------

void TuiModel::set_error(const std::string& message) {
    m_error = message;
    if (!message.empty())
        m_notice.clear(); // the newest word wins
}

void TuiModel::set_notice(const std::string& text) {
    m_notice = text;
    m_error.clear();
}

void TuiModel::on_message(const store::MessageRow& row) {
    notify_of(row);
    // A message from someone typing ends their indicator: that was what they typed.
    if (auto typing = m_typing.find(row.peer); typing != m_typing.end())
        typing->second.erase(row.sender);
    if (row.peer == m_open_peer && row.kind == store::MessageKind::system)
        load_conversation_state(); // a timer change or a key change is announced this way
    if (row.peer == m_open_peer) {
        bool known = std::any_of(m_messages.begin(), m_messages.end(),
                                 [&](const Entry& e) { return e.row.id == row.id; });
        if (!known) {
            m_messages.push_back(make_entry(row));
            if (m_messages.size() > 1 && m_messages[m_messages.size() - 2].row.id > row.id)
                std::sort(m_messages.begin(), m_messages.end(),
                          [](const Entry& a, const Entry& b) { return a.row.id < b.row.id; });
        }
        if (row.direction == store::Direction::incoming) {
            if (auto st = m_backend.mark_read(row.peer); !st)
                set_error(st.error().message);
        }
    }
    reload_conversations();
}

void TuiModel::notify_of(const store::MessageRow& row) {
    bool on_screen = row.peer == m_open_peer;
    if (!should_notify(row, m_username, m_notify, is_blocked(row.sender), on_screen))
        return;
    m_bell = true;
    m_last_sender = display_text(row.sender);
    std::string group =
        store::is_group_conversation(row.peer) ? display_name(row.peer) : std::string();
    // The status line is on our own screen: with "all" it may show the text.
    // A file without text is named by its file (made inert like any text on the way).
    std::string text = row.text;
    if (text.empty() && !row.attachments.empty())
        text = "[" + row.attachments.front().file_name + "]";
    set_notice(notification_text(m_notify.preview, row.sender, group, text));
}

void TuiModel::load_notify_settings() {
    auto preview = m_backend.setting(kPreviewSettingKey);
    auto enabled = m_backend.setting(kNotificationsSettingKey);
    if (!preview || !enabled) {
        set_error(!preview ? preview.error().message : enabled.error().message);
        return;
    }
    m_notify = notify_settings_from(preview.value(), enabled.value());
}

int TuiModel::total_unread() const {
    int total = 0;
    for (const auto& c : m_conversations)
        total += c.unread;
    return total;
}

std::string TuiModel::terminal_title() const {
    return tui::terminal_title(total_unread(), m_last_sender, m_notify);
}

void TuiModel::on_status(std::span<const std::uint8_t> message_id, store::MessageStatus status) {
    for (auto& entry : m_messages) {
        const Bytes& id = entry.row.message_id;
        if (!std::equal(id.begin(), id.end(), message_id.begin(), message_id.end()))
            continue;
        // A receipt can overtake the relay's acknowledgement; never step back from delivered.
        if (entry.row.status == store::MessageStatus::delivered &&
            status == store::MessageStatus::sent)
            continue;
        entry.row.status = status;
    }
}

void TuiModel::on_group_changed() {
    reload_conversations();
    if (m_overlay_members)
        show_members(); // keep the list shown up to date
}

void TuiModel::on_read_elsewhere(const std::string&) {
    reload_conversations();
}

void TuiModel::on_linked(const std::string&, std::uint32_t device_id) {
    set_notice("linked device " + std::to_string(device_id) + " to this account");
}

void TuiModel::on_devices_changed() {
    if (m_overlay_devices)
        list_devices(); // keep the list shown up to date
}

void TuiModel::on_unlinked() {
    m_unlinked = true;
}

void TuiModel::on_message_changed(const store::MessageRow& row) {
    for (auto& entry : m_messages) {
        if (entry.row.id != row.id)
            continue;
        int ref = entry.ref;
        entry = make_entry(row);
        entry.ref = ref;
    }
    // A finished transfer's progress is no longer news.
    if (auto moving = m_transfers.find(row.id); moving != m_transfers.end()) {
        for (const auto& a : row.attachments)
            if (a.state != store::AttachmentState::uploading &&
                a.state != store::AttachmentState::downloading)
                moving->second.erase(a.index);
        if (moving->second.empty())
            m_transfers.erase(moving);
    }
    reload_conversations();
}

void TuiModel::on_messages_removed(const std::string& conversation,
                                   const std::vector<std::int64_t>& row_ids) {
    if (conversation == m_open_peer) {
        std::set<std::int64_t> gone(row_ids.begin(), row_ids.end());
        std::erase_if(m_messages, [&](const Entry& e) { return gone.count(e.row.id) > 0; });
    }
    for (auto id : row_ids)
        m_transfers.erase(id);
    reload_conversations();
}

void TuiModel::on_typing(const std::string& conversation, const std::string& who, bool typing) {
    if (typing)
        m_typing[conversation][who] = m_clock.now_ms() + engine::kTypingTimeoutMs;
    else if (auto it = m_typing.find(conversation); it != m_typing.end())
        it->second.erase(who);
}

bool TuiModel::tick() {
    std::int64_t now = m_clock.now_ms();
    bool changed = false;
    for (auto& [conversation, people] : m_typing)
        changed |= std::erase_if(people, [&](const auto& p) { return p.second <= now; }) > 0;
    return changed;
}

void TuiModel::on_transfer(std::int64_t row_id, int index, std::uint64_t done,
                           std::uint64_t total) {
    m_transfers[row_id][index] = {done, total};
    std::string what = "a file";
    bool upload = false;
    for (const auto& entry : m_messages) {
        if (entry.row.id != row_id)
            continue;
        upload = entry.row.direction == store::Direction::outgoing;
        for (const auto& a : entry.row.attachments)
            if (a.index == index && !a.file_name.empty())
                what = display_text(a.file_name);
    }
    if (total == 0 || done >= total) {
        m_transfer_label.clear();
        if (upload && m_error.empty())
            set_notice("sent " + what);
        return;
    }
    m_transfer_label = std::string(upload ? "sending " : "downloading ") + what + " " +
                       std::to_string(done * 100 / total) + "%";
}

void TuiModel::on_identity_changed(const std::string& peer) {
    m_key_changed.insert(peer);
    if (peer == m_open_peer)
        load_conversation_state();
    set_error(display_text(peer) + "'s safety number changed: /verify compares it");
}

int TuiModel::ref_of(std::int64_t row_id) const {
    auto it = m_ref_of_row.find(row_id);
    return it == m_ref_of_row.end() ? 0 : it->second;
}

void TuiModel::load_conversation_state() {
    m_timer_s = 0;
    m_trust = {};
    if (m_open_peer.empty())
        return;
    if (auto timer = m_backend.disappearing(m_open_peer))
        m_timer_s = timer.value();
    if (store::is_group_conversation(m_open_peer))
        return;
    if (auto trust = m_backend.trust(m_open_peer))
        m_trust = trust.value();
}

// ---- conversations ---------------------------------------------------------------------------

std::string TuiModel::display_name(const std::string& peer) const {
    if (!store::is_group_conversation(peer))
        return display_text(peer);
    auto group = m_group_names.find(peer);
    return "# " + display_text(group == m_group_names.end() || group->second.empty()
                                   ? std::string("group")
                                   : group->second);
}

void TuiModel::reload_conversations() {
    auto rows = m_backend.conversations();
    auto contacts = m_backend.contacts();
    auto groups = m_backend.groups();
    if (!rows || !contacts || !groups) {
        set_error(!rows       ? rows.error().message
                  : !contacts ? contacts.error().message
                              : groups.error().message);
        return;
    }
    if (auto blocked = m_backend.blocked())
        m_blocked = std::set<std::string>(blocked->begin(), blocked->end());
    else
        set_error(blocked.error().message);
    m_group_names.clear();
    for (const auto& g : groups.value())
        m_group_names[store::group_conversation(g.group_id)] = g.name;
    std::vector<ConversationEntry> list;
    for (const auto& row : rows.value())
        list.push_back({row.peer, display_name(row.peer), row.unread, row.last_activity_ms});
    std::stable_sort(list.begin(), list.end(), [](const auto& a, const auto& b) {
        return a.last_activity_ms > b.last_activity_ms;
    });
    auto listed = [&](const std::string& peer) {
        return std::any_of(list.begin(), list.end(), [&](const auto& e) { return e.peer == peer; });
    };
    // Groups and contacts without messages yet come last.
    for (const auto& [peer, name] : m_group_names)
        if (!listed(peer))
            list.push_back({peer, display_name(peer), 0, 0});
    std::vector<std::string> quiet = contacts.value();
    std::sort(quiet.begin(), quiet.end());
    for (const auto& name : quiet)
        if (!listed(name))
            list.push_back({name, display_text(name), 0, 0});
    if (!m_open_peer.empty() && !listed(m_open_peer))
        list.push_back({m_open_peer, display_name(m_open_peer), 0, 0});
    std::vector<std::string> people;
    for (const auto& entry : list)
        if (!store::is_group_conversation(entry.peer))
            people.push_back(entry.peer);
    for (auto& entry : list) {
        entry.blocked = is_blocked(entry.peer);
        if (!store::is_group_conversation(entry.peer))
            if (auto alike = look_alike::look_alikes(entry.peer, people); !alike.empty())
                entry.looks_like = alike.front();
    }
    m_conversations = std::move(list);
    if (total_unread() == 0)
        m_last_sender.clear(); // everything is read: the title names nobody
}

void TuiModel::open_initial(const std::string& peer) {
    load_notify_settings();
    load_ui_settings();
    reload_conversations();
    if (!peer.empty())
        add_and_open(peer);
    else if (!m_conversations.empty())
        open(m_conversations.front().peer);
}

bool TuiModel::open(const std::string& peer) {
    bool known = std::any_of(m_conversations.begin(), m_conversations.end(),
                             [&](const auto& e) { return e.peer == peer; });
    if (!known) {
        // A group by its name opens too.
        for (const auto& [group_peer, name] : m_group_names)
            if (name == peer)
                return open(group_peer);
        set_error("no conversation with " + peer + "; /add " + peer + " starts one");
        return false;
    }
    if (!m_open_peer.empty())
        m_drafts[m_open_peer] = m_editor.text();
    stop_typing();
    end_find();
    m_open_peer = peer;
    m_ref_of_row.clear();
    m_row_of_ref.clear();
    m_next_ref = 1;
    load_conversation_state();
    m_editor.clear();
    if (auto draft = m_drafts.find(peer); draft != m_drafts.end())
        m_editor.insert_text(draft->second);
    m_scroll = 0;
    m_full = false;
    m_history_limit = 200;
    load_messages();
    if (auto st = m_backend.mark_read(peer); !st)
        set_error(st.error().message);
    reload_conversations();
    return true;
}

bool TuiModel::add_and_open(const std::string& peer) {
    auto contacts = m_backend.contacts();
    if (!contacts) {
        set_error(contacts.error().message);
        return false;
    }
    const auto& names = contacts.value();
    if (std::find(names.begin(), names.end(), peer) == names.end()) {
        if (auto st = m_backend.add_contact(peer); !st) {
            set_error(st.error().message);
            return false;
        }
    }
    reload_conversations();
    return open(peer);
}

TuiModel::Entry TuiModel::make_entry(const store::MessageRow& row) {
    Entry entry{row, {}, 0};
    for (const auto& line : split_lines(row.text))
        entry.text_lines.push_back(display_text(line));
    // Notices are not numbered: no command acts on them, and the numbers stay dense.
    if (row.peer == m_open_peer && row.kind != store::MessageKind::system) {
        auto [it, added] = m_ref_of_row.emplace(row.id, m_next_ref);
        if (added)
            m_row_of_ref[m_next_ref++] = row.id;
        entry.ref = it->second;
    }
    return entry;
}

void TuiModel::load_messages() {
    m_messages.clear();
    auto rows = m_backend.messages(m_open_peer, m_history_limit);
    if (!rows) {
        set_error(rows.error().message);
        return;
    }
    // Oldest first, so that references count up through the conversation.
    std::sort(rows->begin(), rows->end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    for (const auto& row : rows.value())
        m_messages.push_back(make_entry(row));
}

void TuiModel::switch_conversation(int step) {
    if (m_conversations.empty())
        return;
    auto count = static_cast<int>(m_conversations.size());
    auto it = std::find_if(m_conversations.begin(), m_conversations.end(),
                           [&](const auto& e) { return e.peer == m_open_peer; });
    int index = it == m_conversations.end() ? (step > 0 ? -1 : 0)
                                            : static_cast<int>(it - m_conversations.begin());
    index = ((index + step) % count + count) % count;
    std::string peer = m_conversations[static_cast<std::size_t>(index)].peer;
    open(peer);
}

// ---- input -----------------------------------------------------------------------------------

void TuiModel::handle_key(const Key& key) {
    using T = Key::Type;
    int page = std::max(1, m_size.rows - 4);
    if (mouse(key))
        return;
    Action action = key.type == T::character ? Action::none : m_keys.action_for(key);
    bool vi_typing = m_vi_editing && m_vi.mode() == ViInput::Mode::normal;
    // PageUp and PageDown scroll a long search list, the safety number or the help instead of
    // closing them.
    if ((m_overlay_search || m_overlay_wide || (m_help && m_overlay.empty())) && !vi_typing &&
        (action == Action::scroll_up || action == Action::scroll_down)) {
        m_overlay_scroll =
            std::max(0, m_overlay_scroll + (action == Action::scroll_down ? page : -page));
        return;
    }
    // A key closes the members list or the help and still counts (Escape only closes): the
    // first '/' of the next command must not be lost, or the command would go out as a message.
    if (!m_overlay.empty() && key.type != T::resize) {
        close_overlay();
        if (key.type == T::escape)
            return;
    }
    if (m_help && key.type != T::resize) {
        m_help = false;
        m_overlay_scroll = 0;
        if (key.type == T::escape)
            return;
    }
    bool was_completing = m_completing;
    m_completing = false;
    if (!was_completing)
        m_completed.clear();
    const std::string before(m_editor.text());
    const std::string peer_before = m_open_peer;
    edit_or_act(key, page);
    if (m_open_peer == peer_before && m_editor.text() != before)
        update_typing();
}

bool TuiModel::mouse(const Key& key) {
    using T = Key::Type;
    if (key.type != T::mouse_click && key.type != T::wheel_up && key.type != T::wheel_down)
        return false;
    if (!m_mouse)
        return true;
    if (key.type != T::mouse_click) {
        int rows = key.type == T::wheel_up ? kWheelRows : -kWheelRows;
        if (m_overlay_search || m_overlay_wide || (m_help && m_overlay.empty()))
            m_overlay_scroll = std::max(0, m_overlay_scroll - rows);
        else
            scroll_by(rows);
        return true;
    }
    if (key.col >= list_width_for(m_size.cols) || key.row < 1 || key.row >= m_size.rows - 2)
        return true;
    int index = first_listed(m_size.rows - 3) + key.row - 1;
    if (index < static_cast<int>(m_conversations.size())) {
        close_overlay();
        m_help = false;
        open(m_conversations[static_cast<std::size_t>(index)].peer);
    }
    return true;
}

void TuiModel::edit_or_act(const Key& key, int page) {
    using T = Key::Type;
    if (key.type == T::resize)
        return;
    if (m_vi_editing && m_vi.mode() == ViInput::Mode::normal && key.type == T::character) {
        // vi's search keys: / starts a /find, n and N go to the next older and newer match.
        if (key.ch == '/' || (key.ch == 'n' && !m_find_words.empty())) {
            act(Action::find, page);
            return;
        }
        if (key.ch == 'N' && !m_find_words.empty()) {
            act(Action::find_newer, page);
            return;
        }
    }
    if (m_vi_editing && m_vi.handle(key, m_editor))
        return;
    if (key.type == T::character) {
        m_editor.insert(key.ch);
        return;
    }
    Action action = m_keys.action_for(key);
    if (action == Action::none && key.type == T::alt) {
        // Esc and a key typed quickly after it: the key must not be lost (a '/' lost would send
        // the command as a message).
        m_error.clear();
        m_notice.clear();
        edit_or_act(Key::character(key.ch), page);
        return;
    }
    act(action, page);
}

void TuiModel::act(Action action, int page) {
    using A = Action;
    switch (action) {
    case A::none: break;
    case A::accept_line: submit(std::string(m_editor.text())); break;
    case A::cancel:
        m_error.clear();
        m_notice.clear();
        m_key_warning.clear();
        end_find();
        m_scroll = 0;
        break;
    case A::complete: complete(+1); break;
    case A::complete_backward: complete(-1); break;
    case A::next_conversation: switch_conversation(+1); break;
    case A::previous_conversation: switch_conversation(-1); break;
    case A::scroll_up: scroll_by(page); break;
    case A::scroll_down: scroll_by(-page); break;
    case A::scroll_bottom: m_scroll = 0; break;
    case A::find:
        if (!m_find_words.empty()) {
            find_step(+1);
        } else {
            m_editor.set_text("/find ");
            m_vi.reset();
        }
        break;
    case A::find_newer: find_step(-1); break;
    case A::history_previous: m_editor.history_previous(); break;
    case A::history_next: m_editor.history_next(); break;
    case A::beginning_of_line: m_editor.move_home(); break;
    case A::end_of_line: m_editor.move_end(); break;
    case A::backward_char: m_editor.move_left(); break;
    case A::forward_char: m_editor.move_right(); break;
    case A::backward_word: m_editor.move_word_backward(); break;
    case A::forward_word: m_editor.move_word_forward(); break;
    case A::backward_delete_char: m_editor.delete_before(); break;
    case A::delete_char: m_editor.delete_at(); break;
    case A::kill_line: m_editor.kill_to_end(); break;
    case A::kill_to_start: m_editor.kill_to_start(); break;
    case A::kill_word_backward: m_editor.delete_word_before(); break;
    case A::kill_word_forward: m_editor.delete_word_after(); break;
    case A::yank: m_editor.yank(); break;
    case A::redraw: m_repaint = true; break;
    case A::help: m_help = true; break;
    case A::quit:
        stop_typing(); // the other side need not wait for the indicator to time out
        m_quit = true;
        break;
    }
}

// ---- completion ------------------------------------------------------------------------------

void TuiModel::complete(int step) {
    m_completing = true;
    const std::string& line = m_editor.text();
    bool cycling = !m_completed.empty() && line == m_completed && !m_completion.matches.empty();
    if (!cycling) {
        std::vector<std::string> names;
        for (const auto& c : m_conversations)
            if (!store::is_group_conversation(c.peer))
                names.push_back(c.peer);
        for (const auto& [peer, name] : m_group_names)
            names.push_back(name);
        m_completion = complete_at(line, m_editor.cursor(), names);
        if (line.empty() || line.front() != '/' || line.rfind("//", 0) == 0) {
            switch_conversation(step); // Tab on a message line moves between conversations
            return;
        }
        if (m_completion.matches.empty()) {
            set_notice("nothing to complete here");
            m_completed.clear();
            return;
        }
        m_completion_index = step > 0 ? 0 : m_completion.matches.size() - 1;
    } else {
        auto count = m_completion.matches.size();
        m_completion_index = (m_completion_index + count + (step > 0 ? 1 : count - 1)) % count;
    }
    const auto& matches = m_completion.matches;
    std::string replacement = matches[m_completion_index];
    if (matches.size() == 1)
        replacement += " ";
    // The word is replaced from where it started; what follows the cursor is kept.
    std::string text = line.substr(0, m_completion.start) + replacement;
    std::string rest = line.substr(std::min(m_completion.end, line.size()));
    m_editor.set_text(text + rest);
    m_editor.move_to(text.size());
    m_completion.end = text.size();
    // One match is final: the next Tab completes the next word.
    m_completed = matches.size() > 1 ? m_editor.text() : std::string();
    if (matches.size() > 1) {
        std::string list;
        for (std::size_t i = 0; i < matches.size() && i < 8; ++i)
            list += (i ? " " : "") + matches[i];
        if (matches.size() > 8)
            list += " \xE2\x80\xA6";
        set_notice(std::to_string(m_completion_index + 1) + "/" + std::to_string(matches.size()) +
                   ": " + list + " (Tab: next)");
    } else {
        m_notice.clear();
    }
}

void TuiModel::submit(const std::string& line) {
    m_editor.remember(line);
    m_vi.reset();
    Command command = parse_command(line);
    if (command.kind == Command::Kind::message) {
        send(command.argument);
        return;
    }
    m_editor.clear();
    run(command);
}

void TuiModel::run(const Command& command) {
    // A command typed at once (submit() without a key first) leaves the list shown too.
    if (!m_overlay.empty())
        close_overlay();
    switch (command.kind) {
    case Command::Kind::none:
    case Command::Kind::message: break;
    case Command::Kind::add:
        if (add_and_open(command.argument))
            m_error.clear();
        break;
    case Command::Kind::open:
        if (open(command.argument))
            m_error.clear();
        break;
    case Command::Kind::full:
        m_full = !m_full;
        m_scroll = 0;
        break;
    case Command::Kind::group_create: create_group(command.argument, command.names); break;
    case Command::Kind::group_add:
    case Command::Kind::group_remove:
    case Command::Kind::group_leave:
    case Command::Kind::group_promote:
    case Command::Kind::group_demote: change_group(command); break;
    case Command::Kind::group_rename:
    case Command::Kind::group_describe: describe_group(command); break;
    case Command::Kind::group_members: show_members(); break;
    case Command::Kind::group_picture: change_group_picture(command.argument); break;
    case Command::Kind::devices: list_devices(); break;
    case Command::Kind::device_remove: remove_device(command.argument); break;
    case Command::Kind::link: accept_link(command); break;
    case Command::Kind::search: show_search(command.argument); break;
    case Command::Kind::block: set_blocked(command.argument, true); break;
    case Command::Kind::unblock: set_blocked(command.argument, false); break;
    case Command::Kind::blocked: show_blocked(); break;
    case Command::Kind::notify: change_notify(command.argument); break;
    case Command::Kind::reply: reply(command); break;
    case Command::Kind::react: react(command); break;
    case Command::Kind::edit: edit_message(command); break;
    case Command::Kind::delete_message: delete_message(command); break;
    case Command::Kind::resend: resend(command); break;
    case Command::Kind::timer: change_timer(command.seconds); break;
    case Command::Kind::read_receipts: change_read_receipts(command.argument); break;
    case Command::Kind::verify: verify(command); break;
    case Command::Kind::encryption: encryption(command); break;
    case Command::Kind::file: send_file(command.argument); break;
    case Command::Kind::save: save_attachment(command); break;
    case Command::Kind::find: start_find(command.argument); break;
    case Command::Kind::set: change_setting(command.names); break;
    case Command::Kind::keys: show_keys(); break;
    case Command::Kind::help: m_help = true; break;
    case Command::Kind::quit:
        stop_typing();
        m_quit = true;
        break;
    case Command::Kind::invalid: set_error(command.argument); break;
    }
}

void TuiModel::create_group(const std::string& name, const std::vector<std::string>& members) {
    auto id = m_backend.create_group(name, members);
    if (!id) {
        set_error(id.error().message);
        return;
    }
    m_error.clear();
    reload_conversations();
    const std::string peer = store::group_conversation(id.value());
    if (std::none_of(m_conversations.begin(), m_conversations.end(),
                     [&](const auto& e) { return e.peer == peer; })) {
        // Shown at once, before the relay has accepted it.
        m_group_names[peer] = name;
        m_conversations.push_back({peer, display_name(peer), 0, 0});
    }
    open(peer);
}

bool TuiModel::open_group(Bytes& group_id) {
    if (!store::is_group_conversation(m_open_peer)) {
        set_error("open a group first (/open NAME)");
        return false;
    }
    group_id = group_id_of(m_open_peer);
    return true;
}

void TuiModel::change_group(const Command& command) {
    Bytes id;
    if (!open_group(id))
        return;
    using K = Command::Kind;
    Status st =
        command.kind == K::group_add      ? m_backend.add_group_members(id, command.names)
        : command.kind == K::group_remove ? m_backend.remove_group_members(id, command.names)
        : command.kind == K::group_promote || command.kind == K::group_demote
            ? m_backend.set_group_admin(id, command.names.at(0), command.kind == K::group_promote)
            : m_backend.leave_group(id);
    if (!st) {
        set_error(st.error().message);
        return;
    }
    m_error.clear();
}

void TuiModel::describe_group(const Command& command) {
    Bytes id;
    if (!open_group(id))
        return;
    auto groups = m_backend.groups();
    if (!groups) {
        set_error(groups.error().message);
        return;
    }
    auto group = std::find_if(groups->begin(), groups->end(),
                              [&](const auto& g) { return g.group_id == id; });
    if (group == groups->end()) {
        set_error("the relay has not accepted this group yet");
        return;
    }
    const bool renaming = command.kind == Command::Kind::group_rename;
    Status st = m_backend.set_group_info(id, renaming ? command.argument : group->name,
                                         renaming ? group->description : command.argument);
    if (!st) {
        set_error(st.error().message);
        return;
    }
    m_error.clear();
    reload_conversations();
}

void TuiModel::change_group_picture(const std::string& typed) {
    Bytes id;
    if (!open_group(id))
        return;
    Bytes image;
    if (!typed.empty()) {
        std::filesystem::path path = typed_path(typed);
        std::error_code ec;
        auto size = std::filesystem::file_size(path, ec);
        if (ec || !std::filesystem::is_regular_file(path, ec)) {
            set_error("there is no file " + display_text(path.string()));
            return;
        }
        if (size > protocol::kMaxGroupAvatarBytes) {
            set_error("a group picture is at most 64 KiB; " +
                      display_text(path.filename().string()) + " has " + size_text(size));
            return;
        }
        std::ifstream in(path, std::ios::binary);
        image.resize(static_cast<std::size_t>(size));
        if (!in.read(reinterpret_cast<char*>(image.data()), static_cast<std::streamsize>(size))) {
            set_error("cannot read " + display_text(path.string()));
            return;
        }
    }
    if (auto st = m_backend.set_group_avatar(id, image); !st) {
        set_error(st.error().message);
        return;
    }
    set_notice(image.empty() ? "the group's picture was removed"
                             : "the group's picture was changed (members see it in the desktop "
                               "app)");
}

void TuiModel::show_members() {
    Bytes id;
    if (!open_group(id))
        return;
    auto members = m_backend.group_members(id);
    if (!members) {
        set_error(members.error().message);
        return;
    }
    std::string text;
    if (auto groups = m_backend.groups()) {
        for (const auto& g : groups.value()) {
            if (g.group_id != id)
                continue;
            if (!g.description.empty())
                text += "About: " + display_text(g.description) + "\n";
            text += g.avatar.empty() ? "No picture (/group picture FILE sets one).\n"
                                     : "Picture: " + size_text(g.avatar.size()) +
                                           " (shown in the desktop app).\n";
            if (g.has_left)
                text += "You left this group: it is read-only.\n";
        }
    }
    text += "Members of " + display_name(m_open_peer) + ":\n";
    for (const auto& m : members.value())
        text += "  " + display_text(m.username) + (m.admin ? "  (admin)" : "") + "\n";
    text += "Any key closes this list (Esc: just close it).";
    m_overlay = text;
    m_overlay_members = true;
}

void TuiModel::close_overlay() {
    m_overlay.clear();
    m_overlay_members = false;
    m_overlay_devices = false;
    m_overlay_search = false;
    m_overlay_wide = false;
    m_overlay_qr = {0, 0};
    m_overlay_scroll = 0;
}

// ---- search ----------------------------------------------------------------------------------

void TuiModel::show_search(const std::string& query) {
    auto rows = m_backend.search(query, kSearchLimit);
    if (!rows) {
        set_error(rows.error().message);
        return;
    }
    m_error.clear();
    m_overlay_search = true;
    m_overlay_scroll = 0;
    if (rows->empty()) {
        m_overlay = "no messages hold these words\nAny key closes this (Esc: just close it).";
        return;
    }
    std::string count = rows->size() == 1 ? std::string("1 message holds")
                                          : std::to_string(rows->size()) + " messages hold";
    std::string text =
        count + " \xE2\x80\x9C" + display_text(query) + "\xE2\x80\x9D, newest first:\n";
    for (const auto& row : rows.value())
        text += search_line(row) + "\n";
    text += "PageUp/PageDown scroll. /open NAME opens a conversation.\n"
            "Any other key closes this list (Esc: just close it).";
    m_overlay = text;
}

// "conversation · sender · Mon 2024-05-06 14:03  text", every received part inert and on one
// line (display_text turns newlines into visible marks).
std::string TuiModel::search_line(const store::MessageRow& row) const {
    const char* dot = " \xC2\xB7 "; // ·
    std::string sender =
        row.direction == store::Direction::outgoing && row.sender.empty() ? m_username : row.sender;
    return "  " + display_name(row.peer) + dot + display_text(sender) + dot +
           when(shown_time(row)) + "  " + display_text(row.text);
}

// ---- find in the open conversation -----------------------------------------------------------

namespace {

std::string lowered(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return out;
}

} // namespace

void TuiModel::start_find(const std::string& query) {
    end_find();
    if (m_open_peer.empty()) {
        set_error("no conversation is open: /open NAME first");
        return;
    }
    std::vector<std::string> words;
    // The words as the pane shows them (display_text), so that what is found is what is seen.
    for (const auto& word : split_lines(display_text(query))) {
        std::size_t i = 0;
        while (i < word.size()) {
            std::size_t space = word.find(' ', i);
            std::string piece = word.substr(i, space == std::string::npos ? space : space - i);
            if (!piece.empty())
                words.push_back(piece);
            i = space == std::string::npos ? word.size() : space + 1;
        }
    }
    if (words.empty())
        return;
    // Older messages than those loaded are searched too, up to a bound.
    if (m_messages.size() >= static_cast<std::size_t>(m_history_limit) &&
        m_history_limit < kFindHistory) {
        m_history_limit = kFindHistory;
        load_messages();
    }
    for (std::size_t i = m_messages.size(); i-- > 0;) {
        const Entry& entry = m_messages[i];
        if (entry.row.deleted)
            continue;
        std::string text;
        for (const auto& line : entry.text_lines)
            text += lowered(line) + "\n";
        if (std::all_of(words.begin(), words.end(),
                        [&](const auto& w) { return text.find(lowered(w)) != std::string::npos; }))
            m_find_rows.push_back(entry.row.id);
    }
    if (m_find_rows.empty()) {
        set_error("no message here holds \xE2\x80\x9C" + display_text(query) +
                  "\xE2\x80\x9D (/search looks in every conversation)");
        return;
    }
    m_find_words = std::move(words);
    m_find_index = 0;
    m_find_jump = true;
    m_error.clear();
    m_notice.clear();
}

void TuiModel::find_step(int step) {
    if (m_find_rows.empty())
        return;
    int last = static_cast<int>(m_find_rows.size()) - 1;
    int next = m_find_index + step;
    if (next < 0 || next > last) {
        set_notice(next < 0 ? "that is the newest match (Esc ends the search)"
                            : "that is the oldest match (Esc ends the search)");
        next = std::clamp(next, 0, last);
    } else {
        m_notice.clear();
    }
    m_find_index = next;
    m_find_jump = true;
}

void TuiModel::end_find() {
    m_find_words.clear();
    m_find_rows.clear();
    m_find_index = 0;
    m_find_jump = false;
}

// ---- settings and keys -----------------------------------------------------------------------

void TuiModel::load_ui_settings() {
    auto editing = m_backend.setting(kEditingSettingKey);
    auto mouse = m_backend.setting(kMouseSettingKey);
    auto theme = m_backend.setting(kThemeSettingKey);
    if (!editing || !mouse || !theme) {
        set_error(!editing ? editing.error().message
                  : !mouse ? mouse.error().message
                           : theme.error().message);
        return;
    }
    m_vi_editing = editing.value() == "vi";
    m_vi.reset();
    m_mouse = mouse.value() == "on";
    m_theme = valid_theme(theme.value()) ? theme.value() : std::string("auto");
}

void TuiModel::load_key_config(std::string_view text, const std::string& label) {
    auto problems = m_keys.load(text);
    if (problems.empty())
        return;
    std::string more = problems.size() > 1
                           ? " (and " + std::to_string(problems.size() - 1) + " more; /keys)"
                           : std::string(" (/keys shows the bindings)");
    // Kept apart from m_error, which the connection clears when it comes up: the person must
    // get to read it.
    m_key_warning = label + " " + problems.front() + more;
    m_key_problems = label + ":\n";
    for (const auto& p : problems)
        m_key_problems += "  " + p + "\n";
}

void TuiModel::show_keys() {
    std::string text = "Key bindings (bind KEY ACTION lines in ~/.config/veil/keys.conf):\n";
    for (const auto& line : m_keys.describe())
        text += "  " + line + "\n";
    if (!m_key_problems.empty())
        text +=
            "Lines of " + m_key_problems.substr(0, m_key_problems.size() - 1) + "\nwere skipped.\n";
    m_overlay = text + "PageUp/PageDown scroll. Any other key closes this (Esc: just close it).";
    m_overlay_search = true; // scrolls like the search results
    m_overlay_scroll = 0;
}

void TuiModel::set_editing(bool vi) {
    m_vi_editing = vi;
    m_vi.reset();
}

void TuiModel::show_settings() {
    std::string text = "Settings (/set NAME VALUE):\n";
    text +=
        std::string("  editing       ") + (m_vi_editing ? "vi" : "emacs") + "      emacs or vi\n";
    text += std::string("  mouse         ") + (m_mouse ? "on" : "off") +
            "      on: the wheel scrolls, a click opens a conversation\n";
    text += "  theme         " + m_theme + "    auto, 256, 16 or mono (now " +
            std::string(color_mode_name(m_color_mode)) + "; NO_COLOR set: mono in auto)\n";
    text += std::string("  readreceipts  ") + (m_backend.read_receipts() ? "on" : "off") +
            "      on: senders see when you read their messages\n";
    text += std::string("  notify        ") +
            (!m_notify.enabled                     ? "off"
             : m_notify.preview == Preview::all    ? "all"
             : m_notify.preview == Preview::sender ? "sender"
                                                   : "none") +
            "     all, sender, none, off or on\n";
    m_overlay = text + "Any key closes this (Esc: just close it).";
}

void TuiModel::change_setting(const std::vector<std::string>& words) {
    if (words.empty()) {
        show_settings();
        return;
    }
    const std::string& name = words[0];
    std::string value = words.size() > 1 ? words[1] : std::string();
    auto store = [&](const char* key, const std::string& v) {
        if (auto st = m_backend.set_setting(key, v); !st) {
            set_error(st.error().message);
            return false;
        }
        return true;
    };
    if (name == "readreceipts" || name == "read-receipts") {
        if (!value.empty() && value != "on" && value != "off")
            return set_error("/set readreceipts takes on or off");
        change_read_receipts(value);
    } else if (name == "notify" || name == "notifications") {
        change_notify(value);
    } else if (name == "editing") {
        if (value.empty())
            return set_notice(std::string("editing: ") + (m_vi_editing ? "vi" : "emacs"));
        if (value != "vi" && value != "emacs")
            return set_error("/set editing takes vi or emacs");
        if (store(kEditingSettingKey, value)) {
            set_editing(value == "vi");
            set_notice(value == "vi" ? "vi editing: Esc for normal mode, i to insert"
                                     : "emacs editing");
        }
    } else if (name == "mouse") {
        if (value.empty())
            return set_notice(std::string("mouse: ") + (m_mouse ? "on" : "off"));
        if (value != "on" && value != "off")
            return set_error("/set mouse takes on or off");
        if (store(kMouseSettingKey, value)) {
            m_mouse = value == "on";
            set_notice(m_mouse ? "mouse on: the wheel scrolls, a click opens a conversation "
                                 "(Shift selects text)"
                               : "mouse off");
        }
    } else if (name == "theme") {
        if (value.empty())
            return set_notice("theme: " + m_theme);
        if (!valid_theme(value))
            return set_error("/set theme takes auto, 256, 16 or mono");
        if (store(kThemeSettingKey, value)) {
            m_theme = value;
            set_notice("theme: " + value);
        }
    } else {
        set_error("/set knows editing, mouse, theme, readreceipts and notify");
    }
}

int TuiModel::first_listed(int visible) const {
    int open_index = 0;
    for (std::size_t i = 0; i < m_conversations.size(); ++i)
        if (m_conversations[i].peer == m_open_peer)
            open_index = static_cast<int>(i);
    return std::max(0, open_index - visible + 1);
}

// ---- blocking and notifications --------------------------------------------------------------

void TuiModel::set_blocked(const std::string& name, bool blocked) {
    if (auto st = m_backend.set_blocked(name, blocked); !st) {
        set_error(st.error().message);
        return;
    }
    reload_conversations();
    set_notice(blocked ? "blocked " + name + ": their messages are dropped unseen; /unblock " +
                             name + " undoes it"
                       : "unblocked " + name);
}

void TuiModel::show_blocked() {
    auto blocked = m_backend.blocked();
    if (!blocked) {
        set_error(blocked.error().message);
        return;
    }
    std::string text;
    if (blocked->empty()) {
        text = "Nobody is blocked. /block NAME drops NAME's messages unseen.\n";
    } else {
        text = "Blocked (their messages are dropped unseen; /unblock NAME undoes it):\n";
        for (const auto& name : blocked.value())
            text += "  " + display_text(name) + "\n";
    }
    m_overlay = text + "Any key closes this list (Esc: just close it).";
}

void TuiModel::change_notify(const std::string& word) {
    if (!word.empty()) {
        NotifySettings changed = m_notify;
        if (!apply_notify_word(changed, word)) {
            set_error("/notify takes all, sender, none, off or on");
            return;
        }
        Status st = m_backend.set_setting(kPreviewSettingKey, preview_name(changed.preview));
        if (st)
            st = m_backend.set_setting(kNotificationsSettingKey, changed.enabled ? "on" : "off");
        if (!st) {
            set_error(st.error().message);
            return;
        }
        m_notify = changed;
    }
    const char* what = !m_notify.enabled                     ? "off"
                       : m_notify.preview == Preview::all    ? "sender and text"
                       : m_notify.preview == Preview::sender ? "sender only"
                                                             : "no details";
    set_notice(std::string("notifications: ") + what + " (/notify all|sender|none|off|on)");
}

// ---- devices ---------------------------------------------------------------------------------

void TuiModel::list_devices() {
    if (!m_overlay_devices)
        set_notice(kAskingDevices);
    std::weak_ptr<bool> alive = m_alive;
    m_backend.list_devices([this, alive](Result<std::vector<engine::DeviceInfo>> devices) {
        if (alive.expired())
            return;
        if (!devices)
            set_error(devices.error().message);
        else
            show_devices(devices.value());
        if (m_changed)
            m_changed();
    });
}

void TuiModel::show_devices(const std::vector<engine::DeviceInfo>& devices) {
    if (m_notice == kAskingDevices)
        m_notice.clear();
    std::string text = "Devices of " + display_text(m_username) + ":\n";
    for (const auto& d : devices) {
        text += "  " + std::to_string(d.device_id) + " " +
                (d.name.empty() ? std::string("(no name)") : display_text(d.name)) +
                " \xE2\x80\x94 added " + when(d.created_ms) + ", last seen " +
                (d.current ? std::string("now") : when(d.last_seen_ms)) +
                (d.current ? " (this device)" : "") + "\n";
    }
    text += "/devices remove ID unlinks one; /link CODE adds the device showing CODE.\n"
            "Any key closes this list (Esc: just close it).";
    m_overlay = text;
    m_overlay_members = false;
    m_overlay_devices = true;
}

void TuiModel::remove_device(const std::string& id_text) {
    auto id = static_cast<std::uint32_t>(std::stoul(id_text));
    set_notice("unlinking device " + id_text + "\xE2\x80\xA6");
    std::weak_ptr<bool> alive = m_alive;
    m_backend.remove_device(id, [this, alive, id_text](Status st) {
        if (alive.expired())
            return;
        if (!st)
            set_error(st.error().message);
        else
            set_notice("device " + id_text + " was unlinked; it can no longer read new messages");
        if (m_changed)
            m_changed();
    });
}

void TuiModel::accept_link(const Command& command) {
    if (auto st = m_backend.accept_link(command.argument, command.history); !st) {
        set_error(st.error().message);
        return;
    }
    set_notice(command.history
                   ? "linking\xE2\x80\xA6 waiting for the new device, then copying recent "
                     "conversations to it"
                   : "linking\xE2\x80\xA6 waiting for the new device");
}

// ---- sending ---------------------------------------------------------------------------------

bool TuiModel::can_send() {
    if (m_unlinked) {
        set_error("this device was unlinked from the account; it can no longer send");
        return false;
    }
    if (m_open_peer.empty()) {
        set_error("no conversation is open: /add NAME or /open NAME first");
        return false;
    }
    if (m_trust.needs_accept) {
        set_error("sending to " + display_text(m_open_peer) +
                  " is paused: their safety number changed. /verify compares it, "
                  "/verify --accept resumes sending");
        return false;
    }
    return true;
}

void TuiModel::send(const std::string& text) {
    if (!can_send())
        return;
    // The engine reports the new row through on_message before send_text returns.
    auto sent = store::is_group_conversation(m_open_peer)
                    ? m_backend.send_group_text(group_id_of(m_open_peer), text)
                    : m_backend.send_text(m_open_peer, text);
    if (!sent) {
        set_error(sent.error().message); // the text stays on the line to retry or edit
        return;
    }
    m_editor.clear();
    m_drafts.erase(m_open_peer);
    stop_typing();
    m_scroll = 0;
    m_error.clear();
}

void TuiModel::update_typing() {
    std::string_view text = m_editor.text();
    bool typing = !text.empty() && text.front() != '/' && !m_open_peer.empty() && !m_unlinked &&
                  !is_blocked(m_open_peer);
    if (!typing) {
        stop_typing();
        return;
    }
    m_backend.set_typing(m_open_peer, true); // the engine sends one every few seconds at most
    m_typing_to = m_open_peer;
}

void TuiModel::stop_typing() {
    if (m_typing_to.empty())
        return;
    m_backend.set_typing(m_typing_to, false);
    m_typing_to.clear();
}

// ---- messages by reference -------------------------------------------------------------------

TuiModel::Entry* TuiModel::entry_for(int ref) {
    if (m_open_peer.empty()) {
        set_error("no conversation is open: /open NAME first");
        return nullptr;
    }
    auto row = m_row_of_ref.find(ref);
    auto entry = row == m_row_of_ref.end()
                     ? m_messages.end()
                     : std::find_if(m_messages.begin(), m_messages.end(),
                                    [&](const Entry& e) { return e.row.id == row->second; });
    if (entry == m_messages.end()) {
        set_error("there is no message #" + std::to_string(ref) +
                  " here (each message shows its number at the end of its line)");
        return nullptr;
    }
    return &*entry;
}

engine::MessageRef TuiModel::message_ref(const store::MessageRow& row) const {
    bool own = row.direction == store::Direction::outgoing;
    return {own && row.sender.empty() ? m_username : row.sender, row.message_id};
}

void TuiModel::reply(const Command& command) {
    Entry* entry = entry_for(command.ref);
    if (!entry || !can_send())
        return;
    engine::Outgoing message{command.argument, message_ref(entry->row), {}, {}};
    if (auto sent = m_backend.send(m_open_peer, message); !sent) {
        set_error(sent.error().message);
        return;
    }
    stop_typing();
    m_scroll = 0;
    m_error.clear();
}

void TuiModel::react(const Command& command) {
    Entry* entry = entry_for(command.ref);
    if (!entry || !can_send())
        return;
    if (auto st = m_backend.react(m_open_peer, message_ref(entry->row), command.argument); !st) {
        set_error(st.error().message);
        return;
    }
    m_error.clear();
}

void TuiModel::edit_message(const Command& command) {
    Entry* entry = entry_for(command.ref);
    if (!entry || !can_send())
        return;
    if (entry->row.direction != store::Direction::outgoing) {
        set_error("only your own messages can be edited");
        return;
    }
    if (auto st = m_backend.edit(m_open_peer, entry->row.message_id, command.argument); !st) {
        set_error(st.error().message);
        return;
    }
    m_error.clear();
}

void TuiModel::delete_message(const Command& command) {
    Entry* entry = entry_for(command.ref);
    if (!entry || !can_send())
        return;
    if (entry->row.direction != store::Direction::outgoing) {
        set_error("only your own messages can be deleted for everyone");
        return;
    }
    if (auto st = m_backend.delete_for_everyone(m_open_peer, entry->row.message_id); !st) {
        set_error(st.error().message);
        return;
    }
    set_notice("deleted #" + std::to_string(command.ref) + " for everyone");
}

void TuiModel::resend(const Command& command) {
    Entry* entry = entry_for(command.ref);
    if (!entry || !can_send())
        return;
    if (auto sent = m_backend.resend(entry->row.message_id); !sent) {
        set_error(sent.error().message);
        return;
    }
    m_scroll = 0;
    set_notice("sending #" + std::to_string(command.ref) + " again, as a new message");
}

void TuiModel::change_timer(std::uint32_t seconds) {
    if (m_open_peer.empty()) {
        set_error("no conversation is open: /open NAME first");
        return;
    }
    if (auto st = m_backend.set_disappearing(m_open_peer, seconds); !st) {
        set_error(st.error().message);
        return;
    }
    load_conversation_state();
    set_notice(seconds ? "new messages here disappear " + engine::describe_timer(seconds) +
                             " after they are sent"
                       : std::string("disappearing messages are off here"));
}

void TuiModel::change_read_receipts(const std::string& word) {
    if (!word.empty()) {
        if (auto st = m_backend.set_read_receipts(word == "on"); !st) {
            set_error(st.error().message);
            return;
        }
    }
    set_notice(m_backend.read_receipts()
                   ? "read receipts on: senders see when you read their messages"
                   : "read receipts off: senders do not see when you read their messages");
}

// ---- safety numbers --------------------------------------------------------------------------

void TuiModel::verify(const Command& command) {
    if (m_open_peer.empty() || store::is_group_conversation(m_open_peer)) {
        set_error("open a conversation with one person first: safety numbers are per contact");
        return;
    }
    using V = Command::Verify;
    std::string peer = display_text(m_open_peer);
    Status st;
    std::string done;
    switch (command.verify) {
    case V::show: show_safety_number(); return;
    case V::mark:
        st = m_backend.set_verified(m_open_peer, true);
        done = "marked " + peer + " as verified";
        break;
    case V::clear:
        st = m_backend.set_verified(m_open_peer, false);
        done = peer + " is no longer marked as verified";
        break;
    case V::accept:
        st = m_backend.accept_new_identity(m_open_peer);
        done = "accepted " + peer + "'s new key; sending resumes (/verify to compare numbers)";
        break;
    }
    if (!st) {
        set_error(st.error().message);
        return;
    }
    if (command.verify != V::clear)
        m_key_changed.erase(m_open_peer);
    load_conversation_state();
    set_notice(done);
}

void TuiModel::encryption(const Command& command) {
    if (m_open_peer.empty()) {
        set_error("open a conversation first");
        return;
    }
    const bool group = store::is_group_conversation(m_open_peer);
    if (command.argument == "restart" || command.argument == "renew") {
        if (group != (command.argument == "renew")) {
            set_error(group ? "in a group, /encryption renew makes a new group key"
                            : "with one person, /encryption restart starts new sessions");
            return;
        }
        Status st = group ? m_backend.renew_group_key(*store::group_id_of(m_open_peer))
                          : m_backend.restart_sessions(m_open_peer);
        if (!st) {
            set_error(st.error().message);
            return;
        }
        set_notice(group
                       ? "your next message here carries a new group key"
                       : "starting new sessions with " + display_text(m_open_peer) + "'s devices");
        return;
    }
    auto details = m_backend.conversation_security(m_open_peer);
    if (!details) {
        set_error(details.error().message);
        return;
    }
    std::string text = group ? "Messages here are encrypted with your group key, which each "
                               "member's devices receive through their own session:\n"
                             : "Messages here are encrypted for each of these devices:\n";
    for (const auto& m : details->members) {
        text += display_text(m.username) + ": " +
                (!m.identity_known      ? std::string("no key yet (no message exchanged)")
                 : m.trust.needs_accept ? std::string("key changed, /verify --accept")
                 : m.trust.verified     ? std::string("verified")
                                        : std::string("not verified")) +
                "\n";
        for (const auto& d : m.devices)
            text +=
                "  device " + std::to_string(d.device_id) + ": " +
                (d.session ? "session" : "no session yet") +
                (d.missing_messages > 0 ? ", " + std::to_string(d.missing_messages) +
                                              (d.missing_messages == 1 ? " message" : " messages") +
                                              " sent but not received"
                                        : std::string()) +
                (group ? (d.holds_sender_key ? ", has your group key"
                                             : ", gets your group key with your next message")
                       : "") +
                "\n";
    }
    text += group ? "/encryption renew: a new group key.\n"
                  : "/encryption restart: new sessions. /verify: the safety number.\n";
    text += "Any key closes this.";
    m_overlay = text;
    m_overlay_wide = false;
    m_overlay_scroll = 0;
    m_error.clear();
}

void TuiModel::show_safety_number() {
    auto number = m_backend.safety_number(m_open_peer);
    if (!number) {
        set_error(number.error().message);
        return;
    }
    std::string peer = display_text(m_open_peer);
    const auto& trust = number->trust;
    std::string text = "Safety number with " + peer + " (" +
                       (trust.needs_accept ? "their key changed: /verify --accept resumes sending"
                        : trust.verified   ? "verified"
                                           : "not verified") +
                       "):\n";
    for (const auto& row : safety_number_rows(number->number))
        text += "  " + row + "\n";
    text += "Compare it with the number on " + peer +
            "'s screen, or let them scan this code.\n"
            "If they match: /verify --mark\n";
    std::string payload(number->qr_payload.begin(), number->qr_payload.end());
    auto qr = qr_text_lines(payload);
    m_overlay_qr = {static_cast<int>(split_lines(text).size()) - 1, static_cast<int>(qr.size())};
    for (const auto& line : qr)
        text += line + "\n";
    text += "PageUp/PageDown scroll. Any other key closes this (Esc: just close it).";
    m_overlay = text;
    m_overlay_wide = true;
    m_overlay_scroll = 0;
    m_error.clear();
}

// ---- files -----------------------------------------------------------------------------------

std::filesystem::path TuiModel::typed_path(const std::string& typed) const {
    const char* home = std::getenv("HOME");
    if (home && (typed == "~" || typed.rfind("~/", 0) == 0))
        return std::filesystem::path(home) / typed.substr(typed.size() > 1 ? 2 : 1);
    std::filesystem::path path(typed);
    return path.is_absolute() ? path : m_folder / path;
}

void TuiModel::send_file(const std::string& typed) {
    if (!can_send())
        return;
    std::filesystem::path path = typed_path(typed);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
        set_error("there is no file " + display_text(path.string()));
        return;
    }
    engine::Outgoing message{{}, std::nullopt, {path}, {}};
    if (auto sent = m_backend.send(m_open_peer, message); !sent) {
        set_error(sent.error().message);
        return;
    }
    m_scroll = 0;
    m_error.clear();
    m_transfer_label = "sending " + display_text(path.filename().string()) + "\xE2\x80\xA6";
}

void TuiModel::save_attachment(const Command& command) {
    Entry* entry = entry_for(command.ref);
    if (!entry)
        return;
    const auto& files = entry->row.attachments;
    std::string ref = "#" + std::to_string(command.ref);
    if (files.empty() || entry->row.deleted) {
        set_error(ref + " has no file");
        return;
    }
    int index = command.index < 0 ? files.front().index : command.index;
    auto file =
        std::find_if(files.begin(), files.end(), [&](const auto& a) { return a.index == index; });
    if (file == files.end()) {
        set_error(ref + " has " + std::to_string(files.size()) + " files: /save " +
                  std::to_string(command.ref) + " 1 to " + std::to_string(files.size()));
        return;
    }
    const char* home = std::getenv("HOME");
    std::filesystem::path target =
        save_target(command.argument, m_folder, home ? home : m_folder.string(),
                    safe_file_name(file->file_name));
    std::error_code ec;
    if (std::filesystem::exists(std::filesystem::symlink_status(target, ec))) {
        set_error(display_text(target.string()) + " already exists; name another path: /save " +
                  std::to_string(command.ref) + " PATH");
        return;
    }
    std::int64_t row_id = entry->row.id;
    if (file->state == store::AttachmentState::ready) {
        finish_save(row_id, index, target);
        return;
    }
    if (file->state == store::AttachmentState::uploading) {
        set_error("that file is still being sent");
        return;
    }
    m_transfer_label = "downloading " + display_text(file->file_name) + "\xE2\x80\xA6";
    m_error.clear();
    std::weak_ptr<bool> alive = m_alive;
    m_backend.download(row_id, index, [this, alive, row_id, index, target](Status st) {
        if (alive.expired())
            return;
        m_transfer_label.clear();
        if (!st)
            set_error(st.error().message);
        else
            finish_save(row_id, index, target);
        if (m_changed)
            m_changed();
    });
}

void TuiModel::finish_save(std::int64_t row_id, int index, const std::filesystem::path& target) {
    Status st = save_new_file(target, [&](const std::filesystem::path& temp) {
        return m_backend.save_attachment(row_id, index, temp);
    });
    if (!st) {
        set_error(st.error().message);
        return;
    }
    set_notice("saved " + display_text(target.string()));
}

void TuiModel::scroll_by(int rows) {
    m_scroll = std::max(0, m_scroll + rows);
}

// ---- layout ----------------------------------------------------------------------------------

Frame TuiModel::render() {
    Frame f;
    f.rows = std::max(1, m_size.rows);
    f.cols = std::max(1, m_size.cols);
    if (f.rows < 4 || f.cols < 20) {
        f.status = fit_line({{"terminal too small", Style::status}}, f.cols, true, Style::status);
        return f;
    }
    f.list_width = list_width_for(f.cols);
    int width = f.pane_width();
    int rows = f.pane_rows();

    if (f.list_width > 0)
        f.list = conversation_list(f.rows - 2, f.list_width);

    Line title = {
        {" " + (m_open_peer.empty() ? std::string("Veil") : display_name(m_open_peer)) + " ",
         Style::title}};
    if (is_blocked(m_open_peer))
        title.push_back(
            {" blocked: /unblock " + display_text(m_open_peer) + " to write ", Style::dim});
    if (!m_open_peer.empty() && m_timer_s > 0)
        title.push_back({" \xE2\x8F\xB3 " + engine::describe_timer(m_timer_s) + " ", Style::title});
    for (const auto& c : m_conversations)
        if (c.peer == m_open_peer && !c.looks_like.empty())
            title.push_back(
                {" \xE2\x9A\xA0 looks like " + display_text(c.looks_like) + ": check who this is ",
                 Style::warning});
    if (m_trust.needs_accept)
        title.push_back({" \xE2\x9A\xA0 safety number changed ", Style::warning});
    else if (m_trust.verified)
        title.push_back({" \xE2\x9C\x93 verified ", Style::title});
    if (m_overlay_search || m_overlay_wide) {
        f.pane = clipped_pane(m_overlay, rows, width);
    } else if (!m_overlay.empty()) {
        f.pane = text_pane(m_overlay, width);
    } else if (m_help) {
        // The help is longer than a small terminal: it scrolls like the search results.
        std::vector<Line> help = text_pane(help_text(), width);
        auto total = static_cast<int>(help.size());
        m_overlay_scroll = std::clamp(m_overlay_scroll, 0, std::max(0, total - rows));
        f.pane.assign(help.begin() + m_overlay_scroll,
                      help.begin() + std::min(total, m_overlay_scroll + rows));
    } else if (m_open_peer.empty()) {
        f.pane = text_pane(kNoConversation, width);
    } else {
        std::vector<Line> footer = pane_footer(width);
        rows = std::max(1, rows - static_cast<int>(footer.size()));
        int max_scroll = 0;
        bool reached_top = false;
        f.pane = message_pane(rows, width, max_scroll, reached_top);
        if (reached_top && m_scroll > max_scroll &&
            m_messages.size() >= static_cast<std::size_t>(m_history_limit)) {
            m_history_limit *= 2; // scrolled past what is loaded: fetch older messages
            load_messages();
            f.pane = message_pane(rows, width, max_scroll, reached_top);
        }
        if (m_find_jump) {
            // Show the match whole, in the middle of the pane when it fits.
            m_find_jump = false;
            if (m_find_spot.found) {
                int height = m_find_spot.top - m_find_spot.bottom + 1;
                m_scroll = height >= rows ? m_find_spot.top - rows + 1
                                          : std::max(0, m_find_spot.bottom - (rows - height) / 2);
                f.pane = message_pane(rows, width, max_scroll, reached_top);
            }
        }
        if (m_scroll > max_scroll) {
            m_scroll = max_scroll;
            f.pane = message_pane(rows, width, max_scroll, reached_top);
        }
        if (m_scroll > 0)
            title.push_back({" \xE2\x86\x93 newer below (PageDown) ", Style::dim});
        for (auto& line : footer)
            if (static_cast<int>(f.pane.size()) < f.pane_rows())
                f.pane.push_back(std::move(line));
    }
    f.title = fit_line(std::move(title), width, true, Style::title);
    f.status = fit_line(status_line(), f.cols, true, Style::status);
    f.input = input_line(f.cols, f.cursor_col);
    return f;
}

std::vector<Line> TuiModel::pane_footer(int width) const {
    std::vector<Line> lines;
    if (m_trust.needs_accept || m_key_changed.count(m_open_peer) > 0) {
        std::string peer = display_text(m_open_peer);
        std::string text = "\xE2\x9A\xA0 " + peer +
                           "'s safety number changed. /verify compares it" +
                           (m_trust.needs_accept ? "; sending is paused until /verify --accept"
                                                 : "; /verify --mark if it matches");
        for (auto& piece : wrap_to_width(text, width))
            lines.push_back({{std::move(piece), Style::warning}});
    }
    std::vector<std::string> typing;
    std::int64_t now = m_clock.now_ms();
    if (auto it = m_typing.find(m_open_peer); it != m_typing.end())
        for (const auto& [who, until] : it->second)
            if (until > now && who != m_username)
                typing.push_back(display_text(who));
    if (!typing.empty()) {
        std::string who = typing.size() == 1   ? typing[0] + " is"
                          : typing.size() == 2 ? typing[0] + " and " + typing[1] + " are"
                                               : std::to_string(typing.size()) + " people are";
        lines.push_back(fit_line({{who + " typing\xE2\x80\xA6", Style::dim}}, width));
    }
    return lines;
}

std::vector<Line> TuiModel::text_pane(const std::string& text, int width) const {
    std::vector<Line> lines;
    for (const auto& line : split_lines(text))
        for (auto& piece : wrap_to_width(line, width))
            lines.push_back({{std::move(piece), Style::normal}});
    return lines;
}

std::vector<Line> TuiModel::clipped_pane(const std::string& text, int rows, int width) {
    auto lines = split_lines(text);
    auto total = static_cast<int>(lines.size());
    m_overlay_scroll = std::clamp(m_overlay_scroll, 0, std::max(0, total - rows));
    std::vector<Line> pane;
    for (int i = m_overlay_scroll; i < total && i - m_overlay_scroll < rows; ++i) {
        const std::string& line = lines[static_cast<std::size_t>(i)];
        std::string piece(clip_to_width(line, width));
        if (piece.size() < line.size())
            piece = std::string(clip_to_width(line, std::max(0, width - 1))) + "\xE2\x80\xA6";
        bool qr = i >= m_overlay_qr.first && i < m_overlay_qr.first + m_overlay_qr.second;
        pane.push_back(fit_line({{std::move(piece), qr ? Style::qr : Style::normal}}, width));
    }
    return pane;
}

std::vector<Line> TuiModel::message_pane(int rows, int width, int& max_scroll, bool& reached_top) {
    int name_width = std::clamp(
        std::max(text_width(display_text(m_username)), text_width(display_name(m_open_peer))), 4,
        12);
    std::string own_name = display_text(m_username);
    std::string peer_name = display_name(m_open_peer);

    // However wide the terminal, messages wrap at a width that reads well.
    width = std::min(width, kMessageWidth);
    std::set<std::int64_t> found(m_find_rows.begin(), m_find_rows.end());
    std::int64_t current =
        m_find_rows.empty() ? 0 : m_find_rows[static_cast<std::size_t>(m_find_index)];
    m_find_spot = {};

    // Lay out from the newest message back until the window (plus the scroll) is full, or,
    // when jumping to a /find match, until the match and a window above it are laid out.
    std::vector<Line> reversed;
    reached_top = true;
    for (std::size_t i = m_messages.size(); i-- > 0;) {
        const Entry& entry = m_messages[i];
        MessageLayout layout;
        layout.row = &entry.row;
        layout.text_lines = &entry.text_lines;
        bool own = entry.row.direction == store::Direction::outgoing;
        layout.name = entry.row.kind == store::MessageKind::system ? std::string("\xC2\xB7") // ·
                      : own                                        ? own_name
                      : entry.row.sender == m_open_peer            ? peer_name
                                                                   : display_text(entry.row.sender);
        layout.name_width = name_width;
        layout.ref = entry.ref;
        if (entry.row.quote)
            layout.quote_author = entry.row.quote->author == m_username
                                      ? own_name
                                      : display_text(entry.row.quote->author);
        layout.mentions_us = !own && std::find(entry.row.mentions.begin(), entry.row.mentions.end(),
                                               m_username) != entry.row.mentions.end();
        if (auto moving = m_transfers.find(entry.row.id); moving != m_transfers.end())
            layout.transfers = &moving->second;
        layout.max_bytes = m_full ? 0 : kTruncateBytes;
        layout.max_lines = m_full ? 0 : kTruncateLines;
        auto lines = layout_message(layout, width);
        if (found.count(entry.row.id) > 0)
            for (auto& line : lines)
                line =
                    highlight_words(line, m_find_words,
                                    entry.row.id == current ? Style::found_current : Style::found);
        if (entry.row.id == current && current != 0) {
            m_find_spot.found = true;
            m_find_spot.bottom = static_cast<int>(reversed.size());
            m_find_spot.top = m_find_spot.bottom + static_cast<int>(lines.size()) - 1;
        }
        for (auto it = lines.rbegin(); it != lines.rend(); ++it)
            reversed.push_back(std::move(*it));
        std::int64_t at = shown_time(entry.row);
        if (i == 0 || !same_local_day(shown_time(m_messages[i - 1].row), at))
            reversed.push_back(day_separator(at, width));
        bool jumping = m_find_jump && (!m_find_spot.found || static_cast<int>(reversed.size()) <
                                                                 m_find_spot.top + rows + 1);
        if (!jumping && static_cast<int>(reversed.size()) >= rows + m_scroll + 1 && i > 0) {
            reached_top = false;
            break;
        }
    }
    auto total = static_cast<int>(reversed.size());
    max_scroll = reached_top ? std::max(0, total - rows) : INT_MAX;

    int scroll = std::min(m_scroll, std::max(0, total - rows));
    std::vector<Line> pane;
    int first = std::min(total, scroll + rows) - 1; // index in reversed of the top row
    for (int k = first; k >= scroll; --k)
        pane.push_back(std::move(reversed[static_cast<std::size_t>(k)]));
    // Short conversations sit at the bottom, next to the input line.
    pane.insert(pane.begin(), static_cast<std::size_t>(rows - static_cast<int>(pane.size())),
                Line{});
    return pane;
}

std::vector<Line> TuiModel::conversation_list(int rows, int width) const {
    std::vector<Line> lines;
    lines.push_back(fit_line({{" Conversations", Style::title}}, width, true, Style::title));
    int visible = rows - 1;
    int first = first_listed(visible);
    for (int i = first; i < static_cast<int>(m_conversations.size()) && i - first < visible; ++i) {
        const auto& c = m_conversations[static_cast<std::size_t>(i)];
        bool is_open = c.peer == m_open_peer;
        Style style = is_open        ? Style::selected
                      : c.blocked    ? Style::dim
                      : c.unread > 0 ? Style::unread
                                     : Style::normal;
        // ⊘ blocked; else the unread count and ⚠ for a name that looks like another's.
        std::string count;
        if (c.blocked) {
            count = " \xE2\x8A\x98 ";
        } else {
            if (c.unread > 0)
                count += " " + std::to_string(c.unread);
            if (!c.looks_like.empty())
                count += " \xE2\x9A\xA0";
            if (!count.empty())
                count += " ";
        }
        int name_cells = width - 2 - text_width(count);
        std::string name(clip_to_width(c.display_name, std::max(0, name_cells)));
        name += spaces(name_cells - text_width(name));
        Line line = {{is_open ? "\xE2\x96\xB8 " : "  ", style}, {name, style}, {count, style}};
        lines.push_back(fit_line(std::move(line), width, true, style));
    }
    return lines;
}

Line TuiModel::status_line() const {
    Line line;
    if (m_vi_editing)
        line.push_back(
            {m_vi.mode() == ViInput::Mode::normal ? "-- NORMAL --" : "-- INSERT --", Style::mode});
    line.push_back({" " + display_text(m_username), Style::status});
    line.push_back({" \xE2\x94\x82 ", Style::status}); // │
    if (m_unlinked)
        line.push_back({"this device was unlinked from the account", Style::error});
    else
        line.push_back({connection_label(m_state), Style::status});
    if (!m_transfer_label.empty()) {
        line.push_back({" \xE2\x94\x82 ", Style::status});
        line.push_back({m_transfer_label, Style::status});
    }
    if (!m_find_words.empty()) {
        std::string words;
        for (const auto& w : m_find_words)
            words += (words.empty() ? "" : " ") + w;
        line.push_back({" \xE2\x94\x82 ", Style::status});
        line.push_back({"find \xE2\x80\x9C" + words + "\xE2\x80\x9D " +
                            std::to_string(m_find_index + 1) + "/" +
                            std::to_string(m_find_rows.size()) +
                            " \xC2\xB7 Ctrl-R older \xC2\xB7 Ctrl-S newer \xC2\xB7 Esc ends",
                        Style::status});
    }
    if (!m_error.empty()) {
        line.push_back({" \xE2\x94\x82 ", Style::status});
        line.push_back({"\xE2\x9A\xA0 " + display_text(m_error) + " (Esc)", Style::error});
    } else if (!m_key_warning.empty()) {
        line.push_back({" \xE2\x94\x82 ", Style::status});
        line.push_back({"\xE2\x9A\xA0 " + display_text(m_key_warning) + " (Esc)", Style::error});
    } else if (!m_notice.empty()) {
        line.push_back({" \xE2\x94\x82 ", Style::status});
        line.push_back({display_text(m_notice), Style::status});
    }
    line.push_back({" \xE2\x94\x82 /help \xC2\xB7 Ctrl-Q quits", Style::status});
    return line;
}

Line TuiModel::input_line(int width, int& cursor_col) const {
    // Unlinked: commands (/quit, /help) still work, messages are refused.
    std::string prompt =
        m_unlinked             ? std::string("unlinked, commands only> ")
        : m_trust.needs_accept ? std::string("sending paused until /verify --accept> ")
        : m_open_peer.empty()  ? std::string("> ")
                               : std::string(clip_to_width(display_name(m_open_peer), 16)) + "> ";
    int prompt_width = text_width(prompt);
    int room = std::max(1, width - prompt_width - 1);

    // Scroll the line sideways so that the cursor stays visible.
    std::string_view text = m_editor.text();
    std::size_t cursor = m_editor.cursor();
    int before_cursor = text_width(text.substr(0, cursor));
    std::size_t start = 0;
    while (before_cursor >= room && start < cursor) {
        char32_t cp;
        start += utf8_next(text, start, cp);
        before_cursor -= cell_width(cp);
    }
    std::string shown(clip_to_width(text.substr(start), room));
    cursor_col = prompt_width + before_cursor;
    return fit_line({{prompt, Style::dim}, {shown, Style::normal}}, width);
}

} // namespace veil::tui
