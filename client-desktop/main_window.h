// MainWindow: the conversation list (people and groups), the open conversation's messages, a
// composer with a Send button, "Add contact" and "New group" actions, and a status bar with
// the connection state and the last error.
//
// The look (issue 7): the list is painted by ConversationDelegate (initials avatars, time,
// preview, unread badge), the messages by MessageDelegate (bubbles, day separators, the
// "N unread messages" line placed when a conversation is opened, quotes, files, reactions,
// ticks; "Show more" opens show_full_text() for a cut one); the composer is a ComposerEdit
// (Enter sends, Shift+Enter a new line, pasted files attach) with an emoji picker; who is typing
// shows on a line above it. Colours come from the palette that theme.h's apply_theme() sets;
// every size follows the font. For an open group it also shows the group's picture
// beside its name, the members panel (GroupPanel) with its description and, for admins, "Edit
// group…" (GroupDetailsDialog), a banner for the engine's group warnings and unreachable members,
// and, when we are no longer a member, a sentence in place of a usable input line. It reads the
// store through the bridge and follows the bridge's signals.
//
// Devices: a "Devices…" action opens DevicesDialog (list, remove, link a device). Opening a
// conversation marks it read through the engine, so that our other devices learn it; a read on
// another device reloads the unread counts. When another device unlinks this one, the window
// says so and nothing more can be sent. After this device was linked, a banner says as what.
//
// Search: a field above the conversation list (Ctrl+F focuses it) filters the list by name at
// once and searches every conversation's messages as the person types (after a short pause) or
// presses Enter; the results (SearchResultsModel) show under the matching conversations until
// the field is cleared or Esc is pressed there. Activating a result
// opens its conversation, scrolled to the message when it is among those shown, and leaves the
// results shown.
//
// Notifications: a new message from someone else (not a system line, not a blocked sender) that
// arrives while its conversation is not open in the focused window is announced through a
// Notifier (a system notification, or the window asking for attention), as the profile's
// setting says (notification.h: sender and text, sender only, nothing, or off); the
// "Notifications" menu changes it. The window title always counts unread messages.
//
// Blocking: the conversation list's context menu and the conversation header offer "Block bob"
// (after a confirmation) and "Unblock bob"; a blocked person's row is marked, and their
// conversation's input line is disabled with a sentence saying why.
//
// Everyday messaging (main_window_messaging.cpp): a message's context menu (and shortcuts on
// the message list: Ctrl+R reply, Ctrl+E edit, Shift+Del delete, Ctrl+C copy, Ctrl+1 👍) replies,
// reacts, edits or deletes for everyone (our own messages within 24 hours), copies, and sends
// again a message that expired undelivered. In the composer, Esc cancels a reply or an edit and
// Up (when empty) edits our last message. The composer shows
// what it is doing ("Replying to bob: …", "Editing your message", files to send) with a cancel
// button. The header shows the conversation's disappearing timer and a verified badge, the line
// above the composer who is typing; the "Conversation" menu sets the timer and verifies safety
// numbers. Files are attached with "Attach file…" (📎), pasted into the composer or dropped onto
// the window; the files of the current message are
// listed under the messages with their progress and "Download" / "Save as…". A contact whose
// key changed gets a banner ("Your safety number with bob changed.") with "Verify" and, while
// the engine holds their messages back, "Accept new key"; the composer is disabled until then.
//
// Settings and the rest (main_window_settings.cpp): a menu bar (Veil: Settings… Ctrl+,,
// Devices…, Quit Ctrl+Q; Conversation: the conversation's menu, Encryption…; Go: next and
// previous conversation with Ctrl+Down/Ctrl+Up or Alt+Down/Alt+Up, search with Ctrl+K or
// Ctrl+F; Help: Keyboard shortcuts F1) opens SettingsDialog, EncryptionDialog and a list of
// every shortcut. A tray icon (TrayIcon, where the desktop has a tray) shows the unread count
// and brings the window back; notifications go through it. The window's geometry, state and
// splitter sizes are kept in the app settings (app_settings.h) when it closes and restored
// when it opens. With a keyring (set_keyring), settings can remember the profile's key, and a
// passphrase change updates the remembered key.
//
// Thread: the GUI thread. Received text is shown only through the models' plain DisplayRole
// strings and Qt::PlainText labels.
#pragma once

#include "conversation_list_model.h"
#include "engine/engine.h"
#include "message_list_model.h"
#include "notification.h"
#include "restore_dialog.h"
#include "search_results_model.h"
#include "settings_dialog.h"

#include <QKeySequence>
#include <QList>
#include <QMainWindow>
#include <QPair>
#include <QPointer>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

class QAction;
class QFrame;
class QInputDialog;
class QLabel;
class QProgressBar;
class QToolButton;
class QLineEdit;
class QListView;
class QMenu;
class QPushButton;
class QSplitter;
class QStackedWidget;
class QTimer;
class QWidget;

namespace veil::desktop {

class AddContactDialog;
class GroupDetailsDialog;
class GroupPanel;
class DevicesDialog;
class EncryptionDialog;
class Keyring;
class NewGroupDialog;
class PastedImages;
class TrayIcon;
class Notifier;
class SafetyNumberDialog;
class SystemNotifier;
class ComposerEdit;
class MessageDelegate;
struct GroupDetails;
class SessionBridge;

class MainWindow final : public QMainWindow {
    Q_OBJECT
public:
    // The bridge must hold an open profile and outlive the window.
    explicit MainWindow(SessionBridge& bridge, QWidget* parent = nullptr);

    // Shows peer's conversation (adding peer as a contact if needed; a group's conversation,
    // "#" and its hex id, is opened as it is) and marks it read.
    void open_conversation(const std::string& peer);
    // What typing text into the input line and pressing Enter does (to a person or a group).
    void send_text(const QString& text);

    // Groups. create_group asks the engine and opens the new group at once (read-only until the
    // relay accepts it); it returns an empty string, or a sentence saying why nothing was made.
    // The engine's answer comes later: a refusal is shown in the status bar (or in the dialog
    // that asked, which keeps what was typed); the return value is always empty now.
    QString create_group(const QString& name, const std::vector<std::string>& members);
    // The "New group" action: opens the dialog (window-modal, deleted when closed) and returns
    // it. It stays open, with what was typed, until the relay has accepted the new group.
    NewGroupDialog* new_group();
    // The "Add contact" action: opens the dialog (window-modal, deleted when closed), which warns
    // about a name that looks like a contact's, and returns it; its name is added and opened.
    AddContactDialog* add_contact();
    // The open group's members panel actions. Errors are shown in the panel, and the "Add"
    // field keeps its text until an add is accepted.
    void add_members(const QString& text);
    void remove_members(const std::vector<std::string>& members);
    void set_admin(const std::string& member, bool admin);
    void leave_open_group();
    // "Edit group…": opens the dialog for the open group (window-modal, deleted when closed)
    // and returns it; nullptr when no group is open or we may not edit it (not an admin).
    GroupDetailsDialog* edit_group();
    // "Devices…": opens the dialog (deleted when closed), asks the engine for the list and
    // returns it.
    DevicesDialog* devices();
    // Asks the engine to give peer's group these details (only what differs from the stored
    // group is sent); answer (may be empty) gets an empty string, or a sentence saying why
    // nothing more changed, once the engine has answered.
    void set_group_details(const std::string& peer, const GroupDetails& details,
                           std::function<void(const QString&)> answer);

    // Blocking. set_blocked asks the engine to block or unblock peer (a person, not a group) and
    // returns an empty string, or a sentence saying why it cannot be asked; the header's button
    // waits ("Blocking…") for the engine, whose refusal shows in the status bar.
    // block_with_confirmation asks the person first (a modal Yes/No) and returns whether the
    // block was asked for.
    QString set_blocked(const std::string& peer, bool blocked);
    bool block_with_confirmation(const std::string& peer);
    bool is_blocked(const std::string& peer) const { return m_blocked.count(peer) > 0; }
    // The context menu of a conversation list row ("Block bob"/"Unblock bob" for a person);
    // nullptr for a group. Owned by the window, deleted when it closes.
    QMenu* conversation_menu(const std::string& peer);
    // The header's "Block bob"/"Unblock bob" button (hidden for groups and with nothing open).
    QPushButton& block_button() { return *m_block_button; }
    // The header's warning that the open person's name looks like another contact's (hidden
    // otherwise).
    QLabel& look_alike_mark() { return *m_look_alike_label; }

    // Notifications. The notifier is not owned and must outlive the window; nullptr puts the
    // system one back. The focus probe says whether the window has the person's attention
    // (default: it is the active window).
    void set_notifier(Notifier* notifier);
    void set_focus_probe(std::function<bool()> focused) { m_focused = std::move(focused); }
    // Closing the window hides it in the tray when the desktop has one and the person kept
    // "Keep running in the tray" on (AppSettings); quit() (Ctrl+Q, the tray's Quit) always
    // closes the profile and emits closed(). The tray probe stands in for the desktop's tray
    // (tests; default: a tray icon is shown).
    void set_tray_probe(std::function<bool()> available) { m_tray_probe = std::move(available); }
    bool tray_available() const;
    void quit();
    const NotificationSettings& notification_settings() const { return m_notify; }
    // Stores settings in the profile and shows them in the menu; returns an empty string or why
    // they could not be stored.
    // The engine's answer comes later (a refusal puts the old settings back and says why); the
    // return value is always empty now.
    QString set_notification_settings(const NotificationSettings& settings);
    // The "Send read receipts" setting; answer (may be empty) gets an empty string or why not,
    // once the engine has stored it.
    void set_read_receipts(bool on, std::function<void(const QString&)> answer);
    QMenu& notifications_menu() { return *m_notify_menu; }

    // Searches every conversation for text now (what the field's pause or Enter does) and
    // puts text in the field; an empty or blank text shows the conversation list again. The
    // search runs on the session's thread; its results show when they arrive (unless another
    // search started meanwhile).
    void search(const QString& text);
    // Empties the search field and shows the conversation list again (Esc in the field).
    void end_search();
    // Whether the search results are shown in place of the conversation list.
    bool search_shown() const;
    QLineEdit& search_field() { return *m_search; }
    QListView& search_view() { return *m_search_view; }
    QListView& conversation_view() { return *m_conversations; }
    // Shows only the conversations whose title holds text (all for an empty one), as typing in
    // the search field does at once; returns how many are shown.
    int filter_conversations(const QString& text);
    // The composer (multi-line: Enter sends, Shift+Enter a new line).
    ComposerEdit& composer() { return *m_input; }
    QListView& message_view() { return *m_messages; }
    MessageDelegate& message_delegate() { return *m_message_delegate; }
    // A read-only dialog with the whole text of row's message (deleted when closed), for a
    // bubble cut short ("Show more"); nullptr when row shows no message.
    QWidget* show_full_text(int row);
    // Scrolls to and selects the message row's reply quotes, when it is shown; returns its
    // row or -1 (a click on the quote in the bubble).
    int show_quoted(int row);
    // The emoji picker under the composer's emoji button (it inserts into the composer).
    QWidget* emoji_picker();
    SearchResultsModel& search_model() { return m_search_model; }

    ConversationListModel& conversation_model() { return m_conversation_model; }
    MessageListModel& message_model() { return m_message_model; }
    GroupPanel& group_panel() { return *m_group_panel; }
    const std::string& open_peer() const { return m_peer; }
    QString state_text() const;
    QString error_text() const;
    // The group banner (warnings, unreachable members); empty when none is shown.
    QString banner_text() const;
    // Whether the conversation header shows the open group's picture.
    bool header_shows_picture() const;
    // Why the input line is disabled (this device was unlinked, we left the group, it is not
    // accepted yet), or empty.
    QString read_only_text() const;
    bool input_enabled() const;

    // ---- Everyday messaging (main_window_messaging.cpp). `row` is a row of message_model().
    // No action waits for the session's thread (issue 7): each returns at once, an empty string
    // (or a sentence when it cannot even be asked), and the engine's answer comes later. A sent
    // message shows at once as sending (a bubble with a negative row id until the engine's own
    // row takes its place) and turns failed, with "Send again", when the engine refuses it; an
    // edit or a reaction shows at once and is put back, with the reason in the status bar, on
    // a refusal; answers for a conversation no longer open touch only the status bar.

    // The context menu of a message (nullptr for a system line); deleted when closed.
    QMenu* message_menu(int row);
    // Whether our own message in row may still be edited or deleted for everyone.
    bool can_edit(int row) const;
    // The composer quotes row; the next send is a reply to it.
    void reply_to(int row);
    // The composer holds row's text; the next send replaces it (Engine::edit).
    void start_edit(int row);
    // Ends a reply or an edit and drops the attached files; the typed text stays.
    void cancel_compose();
    // What the composer's note says ("Replying to bob: …", "Editing your message", the files),
    // or empty.
    QString compose_note() const;
    QString react(int row, const QString& emoji);
    QString delete_for_everyone(int row);
    void copy_message(int row);
    QString resend(int row);
    // Files to send with the next message (Attach file…, or dropped onto the window).
    void attach_files(const QStringList& paths);
    const QStringList& attached_files() const { return m_files; }
    // Pictures pasted into the composer, being encoded before they are attached.
    PastedImages& pasted_images() { return *m_pasted; }
    // The current message's files, with progress and Download / Save as… buttons.
    QWidget& files_panel() { return *m_files_panel; }
    void show_files_of(int row);
    QString download(int row, int index);
    QString save_attachment(int row, int index, const QString& path);

    // The open conversation's disappearing timer: set it (0: off), or ask with a dialog of
    // choices (window-modal, deleted when closed). timer_text() is the header's "⏳ 1 hour".
    QString set_disappearing(std::uint32_t seconds);
    QInputDialog* disappearing_dialog();
    QString timer_text() const;
    // "bob is typing…" for the open conversation, or empty; it lasts typing_timeout_ms.
    QString typing_text() const;
    void set_typing_timeout_ms(int ms) { m_typing_timeout_ms = ms; }
    // The "Send read receipts" toggle (in the Notifications menu).
    QAction& read_receipts_action() { return *m_read_receipts; }
    QMenu& conversation_actions() { return *m_conversation_menu; }

    // Safety numbers: the dialog for the open 1:1 conversation (deleted when closed; nullptr
    // when none is open). It opens at once, working the number out on the session's thread;
    // when there is none it closes again with the reason in the status bar.
    SafetyNumberDialog* verify_safety_number();
    QString accept_new_identity();
    // The key-change banner's sentence, or empty; whether it offers "Accept new key".
    QString identity_banner_text() const;
    bool identity_banner_offers_accept() const;
    bool header_shows_verified() const;

    // ---- Settings and the rest (main_window_settings.cpp).
    // The dialogs (deleted when closed); an open one is raised and returned again.
    SettingsDialog* settings();
    // For the open conversation; nullptr (and why in the status bar) when none is open.
    EncryptionDialog* encryption();
    QDialog* keyboard_shortcuts();
    // The safety number dialog for any contact (settings, encryption view).
    SafetyNumberDialog* verify_safety_number_of(const std::string& peer);
    // Opens the conversation step rows below (positive) or above the open one in the list.
    void step_conversation(int step);
    // The keyring behind "Remember on this computer" (not owned; nullptr: none).
    void set_keyring(Keyring* keyring) { m_keyring = keyring; }
    // Changes the open profile's passphrase (on the session's thread), and the key the keyring
    // remembers for it; answer (may be empty) then gets an empty string or why it did not
    // change (or what went wrong with the keyring).
    void change_passphrase(const SecretBytes& old_passphrase, const SecretBytes& new_passphrase,
                           std::function<void(const QString&)> answer);
    // Remembers (or forgets) the profile's key in the keyring; an empty string or why not.
    QString set_remember(bool on);
    // A sentence in the banner (e.g. what the start dialog could not do with the keyring).
    void show_notice(const QString& text);
    // Settings › Storage › "Restore from a snapshot…" (main_window_restore.cpp): the dialog says
    // what a restore loses and lists the snapshots; its Restore closes the profile, restores
    // the chosen snapshot and the window opens the profile again (with the key it had: a
    // snapshot has the same key) and reloads it; so does Cancel after a failed attempt. Returns
    // the dialog (window-modal, deleted when closed), or nullptr while the profile is busy.
    RestoreDialog* restore_from_snapshot();
    // The same dialog, offered by itself when the engine stops on a damaged store
    // (engine::State::damaged): it says so and why (what). Without snapshots, nullptr (the
    // banner says what happened and that no snapshot exists).
    RestoreDialog* offer_restore_after_damage(const QString& what);
    // The profile was closed and opened again (after a restore from a snapshot).
    bool reopened() const { return m_reopened; }
    // Every shortcut of the window and what it does, as the Help dialog lists them.
    QList<QPair<QKeySequence, QString>> shortcut_list() const;
    TrayIcon& tray_icon() { return *m_tray; }
    // Shows, un-minimizes and raises the window (tray click, notification click).
    void bring_to_front();
    // The main and conversation splitters (their sizes are remembered).
    QSplitter& main_splitter() { return *m_main_splitter; }
    QSplitter& body_splitter() { return *m_body_splitter; }
    void save_window_state();
    void restore_window_state();

signals:
    // The window really closed (not hidden in the tray): the profile is closed; the app ends.
    void closed();

protected:
    void closeEvent(QCloseEvent* event) override;
    // Coming to the front marks the open conversation read.
    void changeEvent(QEvent* event) override;
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    // restore_from_snapshot() and offer_restore_after_damage(): the dialog for reason.
    RestoreDialog* open_restore_dialog(RestoreDialog::Reason reason, const QString& what);
    void show_search_results(const Result<std::vector<store::MessageRow>>& rows);
    // Settings and the rest (main_window_settings.cpp).
    void build_app_menus();
    void update_tray();
    SettingsDialog::Values settings_values();
    SettingsDialog::Actions settings_actions();

    // Everyday messaging (main_window_messaging.cpp).
    QWidget* build_composer_note();
    QWidget* build_identity_banner();
    QToolButton* build_conversation_button();
    void build_message_actions();
    bool composer_key(QEvent* event);
    // DragEnter, DragMove and Drop on the central widget: local files are attached.
    bool handle_drop(QEvent* event);
    void show_message_menu(const QPoint& pos);
    // Parts of message_menu(); at() finds the message's row again when an action runs.
    void add_reaction_menu(QMenu& menu, const store::MessageRow& message,
                           const std::function<int()>& at);
    void add_file_actions(QMenu& menu, const store::MessageRow& message,
                          const std::function<int()>& at);
    int current_message_row() const;
    void update_compose_note();
    // The header reads the open conversation's timer and the contact's trust (on the reader
    // thread) and shows them once they come.
    struct HeaderFacts {
        std::uint32_t timer_seconds = 0;
        store::AccountStore::Trust trust;
    };
    void update_conversation_header();
    void show_conversation_header(const HeaderFacts& facts);
    void update_typing();
    void update_files_panel();
    QWidget* files_panel_line(std::int64_t id, const store::AttachmentRow& file);
    void on_message_changed(const store::MessageRow& row);
    void on_messages_removed(const QString& conversation, const QList<qint64>& ids);
    void on_typing_changed(const QString& conversation, const QString& who, bool typing);
    void on_transfer(qint64 row_id, int index, quint64 done, quint64 total);
    void on_identity_changed(const QString& peer);
    void on_input_edited(const QString& text);
    QString action_error(const Error& error);
    bool send_composed(const QString& text);
    // A message on its way to the engine: the bubble shown for it (a negative row id), and what
    // to ask for again after a refusal ("Send again").
    struct PendingSend {
        store::MessageRow row;
        engine::Outgoing out;
        QStringList files;
        // "Delete for everyone" was chosen while the bubble was still sending: done once the
        // engine has stored it and named its id.
        bool delete_when_stored = false;
    };
    void post_send(std::int64_t local);
    // Asks the engine to delete peer's stored message id for everyone.
    void delete_stored(const std::string& peer, const Bytes& id);
    void finish_send(std::int64_t local, const Result<Bytes>& sent);
    // Shows text in place of message_id's and asks the engine to edit it; false when the message
    // is not shown.
    bool start_edit_job(const Bytes& message_id, const std::string& text);
    // create_group() for the "New group" dialog from (nullptr: none), which it answers.
    void create_group_job(const QString& name, const std::vector<std::string>& members,
                          NewGroupDialog* from);
    // Runs change on the open group's id on the worker; adding: the names an add asked for.
    void group_change_job(std::function<Status(engine::Engine&, const Bytes&)> change,
                          std::vector<std::string> adding, const QString& note);
    // After a passphrase change: the keyring remembers the new key (or forgets the old one).
    QString update_remembered_key();

    void build_ui();
    void build_notifications_menu();
    void show_notification_settings(); // the menu's checks follow m_notify
    void show_conversation_menu(const QPoint& pos);
    void notify_if_needed(const store::MessageRow& row);
    void update_block_button();
    QWidget* build_banner();
    QWidget* build_list_side();
    QWidget* build_header();
    QWidget* build_composer();
    void on_file_activated(int row, int index);
    void update_look_alike_mark();
    void update_header_avatar();
    void preview_sent_files(const Bytes& message_id, const QStringList& paths);
    void apply_sent_previews(const store::MessageRow& message);
    void on_search_activated(const QModelIndex& index);
    // Reads the conversation list, contacts, groups and blocked names on the reader thread and
    // shows them once they come (at most one read in flight, and one more after it).
    struct Lists;
    static Lists read_lists(store::AccountStore& db);
    void reload_conversations();
    void show_lists(const Lists& lists);
    // The open conversation's rows: our bubbles not stored yet, and the answer to the read of
    // its stored rows (open_conversation). Engine events for it that come while the read is
    // in flight are applied at once and again over the answer (replay_after_loading).
    std::vector<store::MessageRow> pending_rows(const std::string& peer) const;
    void show_messages(const Result<std::vector<store::MessageRow>>& read);
    void replay_after_loading(const std::string& peer, std::function<void()> apply);
    void select_current_peer();
    void on_selected(const QModelIndex& index);
    void on_message_added(const store::MessageRow& row);
    void on_status_changed(const QByteArray& message_id, store::MessageStatus status);
    void on_state_changed(engine::State state);
    void on_error_reported(const QString& text);
    void on_group_changed(const QByteArray& group_id);
    void on_group_change_failed(const QByteArray& group_id, const QString& text);
    void on_group_warning(const QByteArray& group_id, const QString& text);
    void on_group_unreachable(const QByteArray& message_id, const QStringList& members);
    void on_linked(quint32 device_id);
    void on_unlinked();
    void mark_read(const std::string& peer);
    void on_send();
    void on_remove_requested();
    void on_leave_requested();
    void show_error(const QString& text);
    void show_banner(const QString& text);
    // Drops the groups we created that the relay has not accepted, each with a banner line
    // made by sentence from the group's title.
    // Drops the groups we created that the relay did not accept (only `peer`'s when given),
    // telling the person with sentence(title).
    void forget_unaccepted_groups(const std::function<QString(const QString&)>& sentence,
                                  const std::string& peer = {});
    // Its second half, once the reader said which of the asked groups the store holds.
    void forget_groups(const std::vector<std::string>& asked, const std::set<std::string>& stored,
                       const std::function<QString(const QString&)>& sentence);
    // Shows the open conversation's header and, for a group, reads the group's row and members
    // (on the reader thread) and then shows them (show_group_view).
    struct GroupView;
    static GroupView read_group_view(store::AccountStore& db, const Bytes& id);
    void update_group_view();
    void show_group_view(const GroupView& view);
    void update_title();
    void update_send_enabled();
    bool group_open() const;
    Bytes open_group_id() const;

    SessionBridge& m_bridge;
    ConversationListModel m_conversation_model;
    MessageListModel m_message_model;
    SearchResultsModel m_search_model;
    std::string m_peer;
    // Groups we created that the relay has not accepted yet, by conversation: their names.
    std::map<std::string, std::string> m_unaccepted_groups;
    // Groups (by conversation) with a change of ours on its way to the relay, and the members
    // an add there asked for: the "Add" field keeps its text until they are members.
    std::map<std::string, std::vector<std::string>> m_changes_in_flight;
    // The open "New group" dialog, and the group it waits for (empty while it does not wait).
    QPointer<NewGroupDialog> m_group_dialog;
    std::string m_group_dialog_peer;
    QPointer<GroupDetailsDialog> m_details_dialog;
    QPointer<DevicesDialog> m_devices_dialog;
    std::string m_created_peer;       // the group the last create_group() asked for
    std::string m_peer_before_create; // what was open before it, to return to on a refusal
    QString m_read_only;
    QStringList m_banner_lines;
    QListView* m_conversations = nullptr;
    QLineEdit* m_search = nullptr;
    QTimer* m_search_timer = nullptr;
    std::uint64_t m_search_asked = 0; // searches started; only the last one's answer shows
    QStackedWidget* m_list_stack = nullptr;
    QListView* m_search_view = nullptr;
    QLabel* m_search_empty = nullptr; // "No messages hold these words." in place of the results
    QListView* m_messages = nullptr;
    QLabel* m_peer_label = nullptr;
    QLabel* m_peer_picture = nullptr;
    QWidget* m_banner = nullptr;
    QLabel* m_banner_label = nullptr;
    GroupPanel* m_group_panel = nullptr;
    QAction* m_members_action = nullptr;
    QAction* m_devices_action = nullptr;
    QLabel* m_read_only_label = nullptr;
    ComposerEdit* m_input = nullptr;
    QToolButton* m_send = nullptr;
    QLabel* m_state_label = nullptr;
    QLabel* m_error_label = nullptr;
    QPushButton* m_block_button = nullptr;

    std::set<std::string> m_blocked;     // as AccountStore::blocked() last said
    std::vector<std::string> m_contacts; // as AccountStore::contacts() last said
    bool m_lists_reading = false;        // a read of the lists is in flight
    bool m_lists_again = false;          // ...and another was asked for meanwhile
    bool m_open_first = false;           // open the first conversation once the list comes
    std::uint64_t m_messages_asked = 0;  // reads of the open conversation's rows asked for
    bool m_messages_loading = false;     // the newest of them has not answered yet
    std::int64_t m_scroll_to = 0;        // ...and the row to show once it has (a search's)
    std::vector<std::function<void()>> m_loading_events; // to apply again over its answer
    std::string m_shown_group_peer;                      // the group the header shows
    std::optional<store::GroupRow> m_shown_group;        // ...as last read; nullopt: none
    std::uint32_t m_timer_seconds = 0;                   // the timer the header shows
    NotificationSettings m_notify;
    bool m_notify_chosen = false; // set_notification_settings() ran: the stored one is older
    SystemNotifier* m_system_notifier = nullptr;
    Notifier* m_notifier = nullptr;
    std::function<bool()> m_focused;
    std::function<bool()> m_tray_probe;
    bool m_quitting = false;
    bool m_told_about_tray = false; // "Veil is still running" shown once
    QMenu* m_notify_menu = nullptr;
    QAction* m_preview_actions[3] = {}; // all, sender, none
    QAction* m_notify_on = nullptr;

    // Everyday messaging.
    std::map<std::int64_t, PendingSend> m_pending_sends; // by their bubble's row id
    std::int64_t m_last_local_id = 0;
    std::optional<engine::MessageRef> m_reply_to;
    QString m_reply_note; // "Replying to bob: …"
    Bytes m_editing;      // the message id being edited; empty when none
    QStringList m_files;
    PastedImages* m_pasted = nullptr; // child; pasted pictures until they are sent
    QWidget* m_compose_note = nullptr;
    QLabel* m_compose_label = nullptr;
    QToolButton* m_attach = nullptr;
    QToolButton* m_emoji = nullptr;
    MessageDelegate* m_message_delegate = nullptr;
    QLabel* m_peer_avatar = nullptr;   // initials, when the header shows no group picture
    QLabel* m_peer_subtitle = nullptr; // "Group · 3 members", "Verified", …
    QWidget* m_results_box = nullptr;
    QStackedWidget* m_body_stack = nullptr; // the messages, or m_no_conversation
    QLabel* m_no_conversation = nullptr;    // "Messages" and the results, while searching
    int m_unread_marker = 0;
    std::map<Bytes, QStringList> m_sent_paths; // files we sent, by message id, for previews // the
                                               // open conversation's unread line, as it was opened
    QWidget* m_files_panel = nullptr;
    std::int64_t m_files_row_id = 0; // the message whose files the panel lists; 0: none
    QLabel* m_timer_label = nullptr;
    QLabel* m_verified_label = nullptr;
    QLabel* m_look_alike_label = nullptr; // "⚠ looks like bob" for a look-alike's name
    QLabel* m_typing_label = nullptr;
    QToolButton* m_conversation_button = nullptr;
    QMenu* m_conversation_menu = nullptr;
    QAction* m_verify_action = nullptr;
    QAction* m_read_receipts = nullptr;
    QWidget* m_identity_banner = nullptr;
    QLabel* m_identity_label = nullptr;
    QPushButton* m_accept_key = nullptr;
    std::set<std::string> m_identity_changed; // peers whose key changed, until handled
    bool m_needs_accept = false;              // the open peer's new key awaits acceptance
    // conversation -> who -> when their typing indicator ends (ms since the epoch).
    std::map<std::string, std::map<std::string, qint64>> m_typists;
    QTimer* m_typing_timer = nullptr;
    int m_typing_timeout_ms = static_cast<int>(engine::kTypingTimeoutMs);
    QPointer<SafetyNumberDialog> m_safety_dialog;

    // Settings and the rest.
    QAction* m_encryption_action = nullptr;
    QPointer<SettingsDialog> m_settings_dialog;
    bool m_reopened = false;
    QPointer<EncryptionDialog> m_encryption_dialog;
    QPointer<QDialog> m_shortcuts_dialog;
    Keyring* m_keyring = nullptr;
    TrayIcon* m_tray = nullptr;
    QSplitter* m_main_splitter = nullptr;
    QSplitter* m_body_splitter = nullptr;
    // The engine reported an error in the current turn of the event loop.
    bool m_engine_error_fresh = false;
};

} // namespace veil::desktop
