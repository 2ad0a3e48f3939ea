// TuiModel: the state of the terminal app and everything it does in response to keys and engine
// events, without a terminal: the conversation list, the open conversation and its scroll
// position, the input line, the status line. render() lays all of it out as a Frame.
//
// Thread: the event-loop thread only. Owns no I/O; reads and actions go through the ChatBackend
// it is given, which must outlive it.
#pragma once

#include "chat_backend.h"
#include "commands.h"
#include "engine/engine.h"
#include "line_editor.h"
#include "notification.h"
#include "util/clock.h"
#include "view.h"

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace veil::tui {

struct ConversationEntry {
    std::string peer;
    std::string display_name; // display_text(peer)
    int unread = 0;
    std::int64_t last_activity_ms = 0;
    bool blocked = false; // a person we blocked (marked in the list)
};

class TuiModel {
public:
    // Messages longer than this are shown truncated until /full.
    static constexpr std::size_t kTruncateBytes = 2000;
    static constexpr std::size_t kTruncateLines = 24;
    // /search shows at most this many messages.
    static constexpr int kSearchLimit = 100;

    TuiModel(ChatBackend& backend, const Clock& clock);

    // Engine events.
    void set_username(const std::string& name) { m_username = name; }
    void set_connection(engine::State state) { m_state = state; }
    void set_error(const std::string& message);
    void on_message(const store::MessageRow& row);
    void on_status(std::span<const std::uint8_t> message_id, store::MessageStatus status);
    // A group's members, name or our membership changed.
    void on_group_changed();
    // Devices: another device of ours read conversation (its unread count is now 0); a link we
    // accepted finished; the account's devices changed; this device was unlinked by another
    // one (nothing can be sent any more).
    void on_read_elsewhere(const std::string& conversation);
    void on_linked(const std::string& username, std::uint32_t device_id);
    void on_devices_changed();
    void on_unlinked();
    bool unlinked() const { return m_unlinked; }

    // Reads the notification setting from the profile (open_initial does it too).
    void load_notify_settings();
    const NotifySettings& notify_settings() const { return m_notify; }
    // True once after a message that should notify arrived (the app rings the bell).
    bool take_bell_request() { return std::exchange(m_bell, false); }
    // The terminal title for the unread count (terminal_title()); the app writes it only to a
    // terminal that takes one.
    std::string terminal_title() const;
    int total_unread() const;
    bool is_blocked(const std::string& name) const { return m_blocked.count(name) > 0; }

    // The first conversation: peer (added as a contact if needed), or the most recent one.
    void open_initial(const std::string& peer);
    // Opens peer's conversation (a contact or someone who wrote); false and an error otherwise.
    bool open(const std::string& peer);
    // Adds peer as a contact if needed and opens the conversation.
    bool add_and_open(const std::string& peer);
    void reload_conversations();

    // Called after the model changed outside a key or an engine event (an answer from the
    // relay to /devices), so that the screen is drawn again.
    void set_changed_callback(std::function<void()> changed) { m_changed = std::move(changed); }

    void handle_key(const Key& key);
    // Runs one line as if typed and Enter pressed.
    void submit(const std::string& line);

    void set_size(Size size) { m_size = size; }
    // Lays out the screen. Not const: it keeps the scroll position inside the history and loads
    // older messages when the person scrolls past the ones loaded.
    Frame render();

    bool quit_requested() const { return m_quit; }
    // True once after Ctrl-L.
    bool take_repaint_request() { return std::exchange(m_repaint, false); }

    const std::string& open_peer() const { return m_open_peer; }
    const std::vector<ConversationEntry>& conversations() const { return m_conversations; }
    std::size_t loaded_messages() const { return m_messages.size(); }
    const LineEditor& editor() const { return m_editor; }
    const std::string& last_error() const { return m_error; }
    // A remark for the person in the status line that is not an error ("device 2 removed").
    const std::string& notice() const { return m_notice; }
    int scroll() const { return m_scroll; }
    bool help_visible() const { return m_help; }
    // Text shown over the conversation (the /group members list, /search results) until a key
    // is pressed; PageUp and PageDown scroll the search results instead.
    const std::string& overlay() const { return m_overlay; }
    // What the list and the title call a conversation: the name, or "# " and a group's name.
    std::string display_name(const std::string& peer) const;

private:
    struct Entry {
        store::MessageRow row;
        std::vector<std::string> text_lines; // display_text of each line of the text
    };

    Entry make_entry(const store::MessageRow& row) const;
    void load_messages();
    void switch_conversation(int step);
    void scroll_by(int rows);
    void run(const Command& command);
    void send(const std::string& text);
    void create_group(const std::string& name, const std::vector<std::string>& members);
    void change_group(const Command& command);
    void show_members();
    void describe_group(const Command& command);
    void list_devices();
    void show_devices(const std::vector<engine::DeviceInfo>& devices);
    void remove_device(const std::string& id_text);
    void accept_link(const Command& command);
    void show_search(const std::string& query);
    void set_blocked(const std::string& name, bool blocked);
    void show_blocked();
    void change_notify(const std::string& word);
    void notify_of(const store::MessageRow& row);
    std::string search_line(const store::MessageRow& row) const;
    void close_overlay();
    void set_notice(const std::string& text);
    // The open conversation's group id; false (with an error shown) if it is not a group.
    bool open_group(Bytes& group_id);

    Line status_line() const;
    Line input_line(int width, int& cursor_col) const;
    std::vector<Line> conversation_list(int rows, int width) const;
    std::vector<Line> message_pane(int rows, int width, int& max_scroll, bool& reached_top);
    std::vector<Line> text_pane(const std::string& text, int width) const;
    // One row per line of text, each cut to width with "…", from line m_overlay_scroll on.
    std::vector<Line> clipped_pane(const std::string& text, int rows, int width);

    ChatBackend& m_backend;
    const Clock& m_clock;
    Size m_size;
    std::string m_username;
    engine::State m_state = engine::State::offline;
    std::string m_error;
    std::string m_notice;
    bool m_unlinked = false;
    NotifySettings m_notify;
    bool m_bell = false;
    std::string m_last_sender;       // display_text of who wrote last, for the terminal title
    std::set<std::string> m_blocked; // as AccountStore::blocked() last said

    std::vector<ConversationEntry> m_conversations;
    std::string m_open_peer;
    std::vector<Entry> m_messages; // the open conversation, oldest first
    int m_history_limit = 200;
    int m_scroll = 0; // rows scrolled up from the newest message
    bool m_full = false;
    bool m_help = false;
    std::string m_overlay;
    bool m_overlay_members = false;
    bool m_overlay_devices = false;
    bool m_overlay_search = false;
    int m_overlay_scroll = 0;                         // rows of the search results scrolled past
    std::map<std::string, std::string> m_group_names; // group conversation -> group name
    bool m_quit = false;
    bool m_repaint = false;

    LineEditor m_editor;
    std::map<std::string, std::string> m_drafts; // unsent input per conversation
    // Handlers of requests to the relay hold a weak copy: an answer after the model is gone
    // (the engine fails what is pending when it stops) is dropped.
    std::shared_ptr<bool> m_alive = std::make_shared<bool>(true);
    std::function<void()> m_changed;
};

} // namespace veil::tui
