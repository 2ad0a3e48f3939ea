// TuiModel: the state of the terminal app and everything it does in response to keys and engine
// events, without a terminal: the conversation list, the open conversation and its scroll
// position, the input line, the status line. render() lays all of it out as a Frame.
//
// Thread: the event-loop thread only. Reads and actions go through the ChatBackend it is given,
// which must outlive it. Its only I/O of its own: /file checks that the file exists and /save
// creates the file asked for (save_file.h), both in the folder set by set_folder.
#pragma once

#include "chat_backend.h"
#include "commands.h"
#include "completion.h"
#include "engine/engine.h"
#include "key_bindings.h"
#include "line_editor.h"
#include "notification.h"
#include "theme.h"
#include "util/clock.h"
#include "vi_input.h"
#include "view.h"

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace veil::tui {

struct ConversationEntry {
    std::string peer;
    std::string display_name; // display_text(peer)
    int unread = 0;
    std::int64_t last_activity_ms = 0;
    bool blocked = false;        // a person we blocked (marked in the list)
    std::string looks_like = {}; // another person of the list whose name looks the same, or ""
};

class TuiModel {
public:
    // Messages longer than this are shown truncated until /full.
    static constexpr std::size_t kTruncateBytes = 2000;
    static constexpr std::size_t kTruncateLines = 24;
    // /search shows at most this many messages.
    static constexpr int kSearchLimit = 100;
    // Messages wrap at this many columns however wide the terminal is: long lines are hard
    // to read.
    static constexpr int kMessageWidth = 100;
    // /find looks through at least this many of the latest messages of the conversation.
    static constexpr int kFindHistory = 2000;
    // Rows one turn of the mouse wheel scrolls.
    static constexpr int kWheelRows = 3;
    // The profile settings of the terminal app (AccountStore::setting).
    static constexpr const char* kEditingSettingKey = "tui.editing";
    static constexpr const char* kMouseSettingKey = "tui.mouse";
    static constexpr const char* kThemeSettingKey = "tui.theme";

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
    // Everyday messaging: a stored message changed (edited, deleted, a reaction, a file's
    // state), messages disappeared, someone typing, a file moving, a contact's key changed.
    void on_message_changed(const store::MessageRow& row);
    void on_messages_removed(const std::string& conversation,
                             const std::vector<std::int64_t>& row_ids);
    void on_typing(const std::string& conversation, const std::string& who, bool typing);
    void on_transfer(std::int64_t row_id, int index, std::uint64_t done, std::uint64_t total);
    void on_identity_changed(const std::string& peer);
    // Forgets typing indicators older than engine::kTypingTimeoutMs; true when that changed
    // the screen. The app calls it every second or so.
    bool tick();

    // Reads the notification setting from the profile (open_initial does it too).
    void load_notify_settings();
    // Reads the editing mode, mouse and theme settings from the profile (open_initial too).
    void load_ui_settings();
    // Applies a keys.conf (key_bindings.h) over the default bindings; lines it skips are shown
    // in the status line, naming `label` and the line ("keys.conf line 3: unknown action 'x'"),
    // until Esc (key_warning()), and listed by /keys.
    void load_key_config(std::string_view text, const std::string& label);
    const KeyBindings& key_bindings() const { return m_keys; }
    const std::string& key_warning() const { return m_key_warning; }
    bool vi_editing() const { return m_vi_editing; }
    ViInput::Mode vi_mode() const { return m_vi.mode(); }
    // Whether the app should report the mouse (/set mouse on).
    bool mouse_enabled() const { return m_mouse; }
    // What /set theme asked for ("auto", "256", "16", "mono"); the app tells the model which
    // colours it then chose, for /set to show.
    const std::string& theme() const { return m_theme; }
    void set_color_mode(ColorMode mode) { m_color_mode = mode; }
    // The /find in the open conversation: its words, how many messages match and which one
    // is shown (0 the newest); no words when no find is on.
    const std::vector<std::string>& find_words() const { return m_find_words; }
    int find_matches() const { return static_cast<int>(m_find_rows.size()); }
    int find_index() const { return m_find_index; }
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
    // The reference the conversation pane shows for a message of the open conversation ("#12"
    // names it in /reply 12 ...), or 0. Numbers are given oldest first when a conversation
    // opens, then to each new message, and stay with their message until another
    // conversation is opened (older messages loaded by scrolling back get the next free ones),
    // so that a number being typed never starts to name another message.
    int ref_of(std::int64_t row_id) const;
    // Where /save puts files by default and what relative paths of /save and /file start
    // from (the working directory when the app started).
    void set_folder(const std::filesystem::path& folder) { m_folder = folder; }
    // The open 1:1 conversation's trust as last read; its disappearing timer in seconds.
    const store::AccountStore::Trust& trust() const { return m_trust; }
    std::uint32_t timer() const { return m_timer_s; }
    // Text shown over the conversation (the /group members list, /search results, /verify's
    // safety number) until a key is pressed; PageUp and PageDown scroll the search results and
    // the safety number instead.
    const std::string& overlay() const { return m_overlay; }
    // What the list and the title call a conversation: the name, or "# " and a group's name.
    std::string display_name(const std::string& peer) const;

private:
    struct Entry {
        store::MessageRow row;
        std::vector<std::string> text_lines; // display_text of each line of the text
        int ref = 0;                         // as the pane shows it
    };

    Entry make_entry(const store::MessageRow& row);
    void load_messages();
    // The open conversation's timer and trust, read again.
    void load_conversation_state();
    void switch_conversation(int step);
    // What a key does once the overlays have had their say.
    void edit_or_act(const Key& key, int page);
    void act(Action action, int page);
    // Mouse events; true when the key was one.
    bool mouse(const Key& key);
    // Tab and Shift-Tab: the next (step 1) or previous (-1) completion of the word at the
    // cursor; on a line that is not a command, the next or previous conversation.
    void complete(int step);
    // /find: looks for the words in the open conversation and jumps to the newest match;
    // find_step moves to an older (1) or newer (-1) match.
    void start_find(const std::string& query);
    void find_step(int step);
    void end_find();
    void change_setting(const std::vector<std::string>& words);
    void show_settings();
    void show_keys();
    void set_editing(bool vi);
    int first_listed(int visible) const;
    void scroll_by(int rows);
    void run(const Command& command);
    void send(const std::string& text);
    // False (with the reason shown) when nothing may be sent to the open conversation now.
    bool can_send();
    // Tells the open 1:1 conversation whether we are typing, from what the input line holds.
    void update_typing();
    void stop_typing();
    // The open conversation's message shown as ref; null (with an error shown) when none.
    Entry* entry_for(int ref);
    engine::MessageRef message_ref(const store::MessageRow& row) const;
    void reply(const Command& command);
    void react(const Command& command);
    void edit_message(const Command& command);
    void delete_message(const Command& command);
    void resend(const Command& command);
    void change_timer(std::uint32_t seconds);
    void change_read_receipts(const std::string& word);
    void verify(const Command& command);
    void show_safety_number();
    void encryption(const Command& command);
    void send_file(const std::string& typed);
    void save_attachment(const Command& command);
    void finish_save(std::int64_t row_id, int index, const std::filesystem::path& target);
    std::filesystem::path typed_path(const std::string& typed) const;
    // Lines under the messages: who is typing, a changed safety number.
    std::vector<Line> pane_footer(int width) const;
    void create_group(const std::string& name, const std::vector<std::string>& members);
    void change_group(const Command& command);
    void show_members();
    void change_group_picture(const std::string& typed);
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
    // Where the /find match being jumped to is in the pane's rows counted from the bottom
    // (as m_scroll counts), once message_pane has laid it out.
    struct FindSpot {
        bool found = false;
        int bottom = 0;
        int top = 0;
    };
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
    bool m_overlay_wide = false; // the overlay's lines are clipped, not wrapped (a QR code)
    std::pair<int, int> m_overlay_qr{0, 0}; // the overlay's QR code: first line, line count
    int m_overlay_scroll = 0; // rows of the search results, safety number or help scrolled past
    std::map<std::string, std::string> m_group_names; // group conversation -> group name
    bool m_quit = false;
    bool m_repaint = false;

    LineEditor m_editor;
    std::map<std::string, std::string> m_drafts; // unsent input per conversation

    // Keys, editing, mouse and colours.
    KeyBindings m_keys;
    ViInput m_vi;
    bool m_vi_editing = false;
    bool m_mouse = false;
    std::string m_theme = "auto";
    ColorMode m_color_mode = ColorMode::mono;
    std::string m_completed; // the line as the last Tab left it (to cycle on the next)
    Completion m_completion; // the matches the last Tab found
    std::size_t m_completion_index = 0;
    bool m_completing = false; // the key before this one was Tab or Shift-Tab

    // /find in the open conversation.
    std::vector<std::string> m_find_words;
    std::vector<std::int64_t> m_find_rows; // row ids of the matching messages, newest first
    int m_find_index = 0;
    bool m_find_jump = false; // the next render scrolls to the match
    FindSpot m_find_spot;
    std::string m_key_problems; // keys.conf lines that were skipped, for /keys
    std::string m_key_warning;  // the first of them, in the status line until Esc

    // Everyday messaging.
    std::map<std::int64_t, int> m_ref_of_row; // the open conversation's references
    std::map<int, std::int64_t> m_row_of_ref;
    int m_next_ref = 1;
    std::uint32_t m_timer_s = 0;
    store::AccountStore::Trust m_trust;
    std::set<std::string> m_key_changed; // contacts whose key changed while the app ran
    // conversation -> who -> until when (our clock) they are shown typing
    std::map<std::string, std::map<std::string, std::int64_t>> m_typing;
    std::string m_typing_to; // the conversation we last told that we are typing
    std::map<std::int64_t, std::map<int, Transfer>> m_transfers; // row id -> index -> progress
    std::string m_transfer_label; // "sending notes.pdf 45%" for the status line
    std::filesystem::path m_folder;
    // Handlers of requests to the relay hold a weak copy: an answer after the model is gone
    // (the engine fails what is pending when it stops) is dropped.
    std::shared_ptr<bool> m_alive = std::make_shared<bool>(true);
    std::function<void()> m_changed;
};

} // namespace veil::tui
