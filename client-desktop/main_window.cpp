#include "main_window.h"

#include "add_contact_dialog.h"
#include "app_settings.h"
#include "avatar.h"
#include "composer_edit.h"
#include "composer_frame.h"
#include "conversation_delegate.h"
#include "devices_dialog.h"
#include "display_text.h"
#include "emoji_text.h"
#include "glyph_button.h"
#include "group_details_dialog.h"
#include "group_panel.h"
#include "group_picture.h"
#include "message_delegate.h"
#include "new_group_dialog.h"
#include "notifier.h"
#include "pasted_image.h"
#include "scroll_anchor.h"
#include "session_bridge.h"
#include "tray_icon.h"
#include "util/hex.h"
#include "util/log.h"

#include <QAction>
#include <QActionGroup>
#include <QCloseEvent>
#include <QDateTime>
#include <QFileDialog>
#include <QFrame>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QMenu>
#include <QMessageBox>
#include <QPushButton>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>
#include <QSystemTrayIcon>
#include <QTimer>
#include <QToolBar>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>

namespace veil::desktop {
namespace {

constexpr const char* kLog = "ui";
constexpr int kMessagesShown = 500;
constexpr int kBannerLines = 4;
constexpr int kSearchResults = 100;
// The pause in typing after which the field is searched: short enough to feel live, long
// enough not to search the store for every letter.
constexpr int kSearchPauseMs = 200;
// The engine's sentence when the relay refused a change of ours (engine_groups.cpp).

QLabel* plain_label() {
    auto* label = new QLabel;
    label->setTextFormat(Qt::PlainText);
    return label;
}

// The group id of a group conversation ("#" and the id in hex); empty when it is not one.
Bytes group_id_of(const std::string& peer) {
    if (!store::is_group_conversation(peer))
        return {};
    auto id = from_hex(std::string_view(peer).substr(1));
    return id ? id.value() : Bytes{};
}

std::string peer_of(const QByteArray& group_id) {
    return store::group_conversation(
        std::span(reinterpret_cast<const std::uint8_t*>(group_id.constData()),
                  static_cast<std::size_t>(group_id.size())));
}

// A Yes/No question whose text is plain: it quotes group names that others chose, which a
// QMessageBox would otherwise guess to be rich text.
bool confirm(QWidget* parent, const QString& title, const QString& text) {
    QMessageBox box(QMessageBox::Question, plain_window_title(title), text,
                    QMessageBox::Yes | QMessageBox::No, parent);
    box.setTextFormat(Qt::PlainText);
    box.setDefaultButton(QMessageBox::No);
    return box.exec() == QMessageBox::Yes;
}

// True when every name in names is among members.
bool all_members(const std::vector<store::GroupMemberRow>& members,
                 const std::vector<std::string>& names) {
    return std::all_of(names.begin(), names.end(), [&](const std::string& name) {
        return std::any_of(members.begin(), members.end(),
                           [&](const auto& m) { return m.username == name; });
    });
}

std::span<const std::uint8_t> bytes_of(const QByteArray& bytes) {
    return std::span(reinterpret_cast<const std::uint8_t*>(bytes.constData()),
                     static_cast<std::size_t>(bytes.size()));
}

} // namespace

// What the conversation list shows, read on the reader thread.
struct MainWindow::Lists {
    std::vector<store::ConversationRow> conversations;
    std::vector<std::string> contacts;
    std::vector<store::GroupRow> groups;
    std::vector<std::string> blocked;
    std::optional<Error> error;
};

MainWindow::Lists MainWindow::read_lists(store::AccountStore& db) {
    Lists lists;
    auto conversations = db.conversations();
    auto contacts = db.contacts();
    auto groups = db.groups();
    auto blocked = db.blocked();
    if (!conversations || !contacts || !groups || !blocked) {
        lists.error = !conversations ? conversations.error()
                      : !contacts    ? contacts.error()
                      : !groups      ? groups.error()
                                     : blocked.error();
        return lists;
    }
    lists.conversations = std::move(conversations.value());
    lists.contacts = std::move(contacts.value());
    lists.groups = std::move(groups.value());
    lists.blocked = std::move(blocked.value());
    return lists;
}

// The open group as its header and members panel show it, read on the reader thread.
struct MainWindow::GroupView {
    std::optional<store::GroupRow> group; // nullopt: not stored (yet)
    std::vector<store::GroupMemberRow> members;
    std::optional<Error> error;
};

MainWindow::GroupView MainWindow::read_group_view(store::AccountStore& db, const Bytes& id) {
    GroupView view;
    auto group = db.group(id);
    if (!group) {
        view.error = group.error();
        return view;
    }
    view.group = group.value();
    if (!view.group)
        return view;
    auto members = db.group_members(id);
    if (members)
        view.members = std::move(members.value());
    else
        view.error = members.error();
    return view;
}

MainWindow::MainWindow(SessionBridge& bridge, QWidget* parent)
    : QMainWindow(parent)
    , m_bridge(bridge)
    , m_conversation_model(this)
    , m_message_model(this)
    , m_search_model(this) {
    m_focused = [this] { return isActiveWindow() && !isMinimized(); };
    m_system_notifier = new SystemNotifier(this);
    m_notifier = m_system_notifier;
    connect(m_system_notifier, &SystemNotifier::openRequested, this, [this](const QString& peer) {
        bring_to_front();
        if (!peer.isEmpty())
            open_conversation(peer.toStdString());
    });
    build_ui();
    build_app_menus();
    // The profile's notification setting; until it is read the default stands, and a choice
    // the person made meanwhile wins over it.
    m_bridge.read([](store::AccountStore& db) { return load_notification_settings(db); }, this,
                  [this](const NotificationSettings& stored) {
                      if (m_notify_chosen)
                          return;
                      m_notify = stored;
                      show_notification_settings();
                  });
    // Reads in flight when the profile closed are never answered: a profile opened again
    // (after a restore) starts without them.
    connect(&m_bridge, &SessionBridge::opened, this, [this] {
        m_lists_reading = false;
        m_lists_again = false;
        m_messages_loading = false;
        m_loading_events.clear();
    });
    connect(&m_bridge, &SessionBridge::messageAdded, this, &MainWindow::on_message_added);
    connect(&m_bridge, &SessionBridge::statusChanged, this, &MainWindow::on_status_changed);
    // Shown results take in new messages after the same pause as typing, so that a burst of
    // them (history from another device) searches the store once.
    connect(&m_bridge, &SessionBridge::messageAdded, this, [this] {
        if (search_shown())
            m_search_timer->start();
    });
    connect(&m_bridge, &SessionBridge::stateChanged, this, &MainWindow::on_state_changed);
    connect(&m_bridge, &SessionBridge::errorReported, this, &MainWindow::on_error_reported);
    connect(&m_bridge, &SessionBridge::groupChanged, this, &MainWindow::on_group_changed);
    connect(&m_bridge, &SessionBridge::groupChangeFailed, this,
            &MainWindow::on_group_change_failed);
    connect(&m_bridge, &SessionBridge::groupWarning, this, &MainWindow::on_group_warning);
    connect(&m_bridge, &SessionBridge::groupUnreachable, this, &MainWindow::on_group_unreachable);
    connect(&m_bridge, &SessionBridge::readElsewhere, this, [this] { reload_conversations(); });
    connect(&m_bridge, &SessionBridge::linked, this,
            [this](const QString&, quint32 device_id) { on_linked(device_id); });
    connect(&m_bridge, &SessionBridge::devicesChanged, this, [this] {
        if (m_devices_dialog)
            m_devices_dialog->refresh();
    });
    connect(&m_bridge, &SessionBridge::unlinked, this, &MainWindow::on_unlinked);
    connect(&m_bridge, &SessionBridge::messageChanged, this, &MainWindow::on_message_changed);
    connect(&m_bridge, &SessionBridge::messagesRemoved, this, &MainWindow::on_messages_removed);
    connect(&m_bridge, &SessionBridge::typingChanged, this, &MainWindow::on_typing_changed);
    connect(&m_bridge, &SessionBridge::transferProgress, this, &MainWindow::on_transfer);
    connect(&m_bridge, &SessionBridge::identityChanged, this, &MainWindow::on_identity_changed);
    on_state_changed(m_bridge.state());
    if (m_bridge.last_error())
        show_error(plain_error(*m_bridge.last_error()));
    // The first conversation opens once the list is read, unless the person opened one first.
    m_open_first = true;
    reload_conversations();
    update_group_view();
    update_title();
    if (QString linked = m_bridge.link_summary(); !linked.isEmpty())
        show_banner(linked);
    if (m_bridge.is_unlinked())
        on_unlinked();
}

void MainWindow::build_ui() {
    auto* add_contact_action = new QAction(tr("Add contact…"), this);
    add_contact_action->setShortcut(QKeySequence::New);
    connect(add_contact_action, &QAction::triggered, this, [this] { add_contact(); });
    auto* new_group_action = new QAction(tr("New group…"), this);
    new_group_action->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_N));
    connect(new_group_action, &QAction::triggered, this, &MainWindow::new_group);
    m_members_action = new QAction(tr("Members"), this);
    m_members_action->setCheckable(true);
    // The members panel opens on demand, as in other messengers: the conversation gets the room.
    m_members_action->setChecked(false);
    m_members_action->setToolTip(tr("Show or hide the members of the open group"));
    connect(m_members_action, &QAction::toggled, this, [this] { update_group_view(); });
    m_devices_action = new QAction(tr("Devices…"), this);
    m_devices_action->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_D));
    m_devices_action->setToolTip(tr("This account's devices: list, remove, link a new one"));
    connect(m_devices_action, &QAction::triggered, this, &MainWindow::devices);
    QToolBar* toolbar = addToolBar(tr("Conversations"));
    toolbar->setObjectName(QStringLiteral("conversationsToolbar")); // for saveState()
    toolbar->setMovable(false);
    toolbar->addAction(add_contact_action);
    toolbar->addAction(new_group_action);
    toolbar->addAction(m_members_action);
    toolbar->addSeparator();
    toolbar->addAction(m_devices_action);
    build_notifications_menu();
    auto* notify_button = new QToolButton;
    notify_button->setObjectName(QStringLiteral("menuButton"));
    notify_button->setText(tr("Notifications"));
    notify_button->setMenu(m_notify_menu);
    notify_button->setPopupMode(QToolButton::InstantPopup);
    toolbar->addWidget(notify_button);

    m_conversations = new QListView;
    m_conversations->setObjectName(QStringLiteral("conversationList"));
    m_conversations->setAccessibleName(tr("Conversations"));
    m_conversations->setModel(&m_conversation_model);
    m_conversations->setItemDelegate(new ConversationDelegate(m_conversations));
    m_conversations->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_conversations->setMouseTracking(true);
    m_conversations->setUniformItemSizes(true);
    m_conversations->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_conversations->setVerticalScrollMode(QAbstractItemView::ScrollPerPixel);
    connect(m_conversations->selectionModel(), &QItemSelectionModel::currentChanged, this,
            [this](const QModelIndex& current) { on_selected(current); });
    m_conversations->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(m_conversations, &QListView::customContextMenuRequested, this,
            &MainWindow::show_conversation_menu);

    m_messages = new QListView;
    m_messages->setObjectName(QStringLiteral("messageList"));
    m_messages->setAccessibleName(tr("Messages"));
    m_messages->setModel(&m_message_model);
    m_message_delegate = new MessageDelegate(m_messages);
    m_messages->setItemDelegate(m_message_delegate);
    m_messages->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_messages->setResizeMode(QListView::Adjust);
    m_messages->setUniformItemSizes(false);
    m_messages->setSelectionMode(QAbstractItemView::SingleSelection);
    m_messages->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(m_messages, &QListView::customContextMenuRequested, this,
            &MainWindow::show_message_menu);
    connect(m_messages->selectionModel(), &QItemSelectionModel::currentChanged, this,
            [this](const QModelIndex& current) { show_files_of(current.row()); });
    connect(m_message_delegate, &MessageDelegate::showMoreRequested, this,
            &MainWindow::show_full_text);
    connect(m_message_delegate, &MessageDelegate::fileActivated, this,
            &MainWindow::on_file_activated);
    connect(m_message_delegate, &MessageDelegate::quoteActivated, this, &MainWindow::show_quoted);
    m_message_model.set_own_name(m_bridge.username().toStdString());
    build_message_actions();
    m_messages->setVerticalScrollMode(QAbstractItemView::ScrollPerPixel);
    m_messages->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    keep_at_bottom(m_messages);
    m_read_only_label = plain_label();
    m_read_only_label->setWordWrap(true);
    m_read_only_label->setObjectName(QStringLiteral("typingLine")); // the same muted look
    m_read_only_label->hide();

    m_group_panel = new GroupPanel;
    m_group_panel->setMinimumWidth(fontMetrics().averageCharWidth() * 26);
    m_group_panel->hide();
    connect(m_group_panel, &GroupPanel::addRequested, this, &MainWindow::add_members);
    connect(m_group_panel, &GroupPanel::removeRequested, this, &MainWindow::on_remove_requested);
    connect(m_group_panel, &GroupPanel::adminRequested, this, [this](bool admin) {
        auto selected = m_group_panel->selected_members();
        if (selected.size() == 1)
            set_admin(selected.front(), admin);
    });
    connect(m_group_panel, &GroupPanel::leaveRequested, this, &MainWindow::on_leave_requested);
    connect(m_group_panel, &GroupPanel::editRequested, this, &MainWindow::edit_group);

    auto* body = new QSplitter;
    m_body_splitter = body;
    body->setHandleWidth(1);
    body->addWidget(m_messages);
    body->addWidget(m_group_panel);
    body->setStretchFactor(0, 1);
    body->setChildrenCollapsible(false);
    m_files_panel = new QWidget;
    m_files_panel->setLayout(new QVBoxLayout);
    m_files_panel->hide();
    m_typing_label = plain_label();
    m_typing_label->setObjectName(QStringLiteral("typingLine"));
    m_typing_label->setAccessibleName(tr("Typing"));
    m_typing_label->hide();
    m_typing_timer = new QTimer(this);
    m_typing_timer->setSingleShot(true);
    connect(m_typing_timer, &QTimer::timeout, this, &MainWindow::update_typing);

    auto* right = new QWidget;
    right->setObjectName(QStringLiteral("conversationSide"));
    auto* right_layout = new QVBoxLayout(right);
    right_layout->setContentsMargins(0, 0, 0, 0);
    right_layout->setSpacing(0);
    right_layout->addWidget(build_header());
    auto* banners = new QVBoxLayout;
    const int gap = fontMetrics().height() / 3;
    banners->setContentsMargins(gap, 0, gap, 0);
    banners->addWidget(build_identity_banner());
    banners->addWidget(build_banner());
    right_layout->addLayout(banners);
    // With nothing open, a sentence takes the messages' place.
    m_no_conversation = plain_label();
    m_no_conversation->setObjectName(QStringLiteral("typingLine"));
    m_no_conversation->setAlignment(Qt::AlignCenter);
    m_no_conversation->setWordWrap(true);
    m_no_conversation->setText(tr("Choose a conversation on the left, or start one with "
                                  "“Add contact…” or “New group…”."));
    m_body_stack = new QStackedWidget;
    m_body_stack->addWidget(body);
    m_body_stack->addWidget(m_no_conversation);
    m_body_stack->setCurrentWidget(m_no_conversation);
    right_layout->addWidget(m_body_stack, 1);
    auto* bottom = new QVBoxLayout;
    bottom->setContentsMargins(gap * 2, gap, gap * 2, gap * 2);
    bottom->setSpacing(gap);
    bottom->addWidget(m_files_panel);
    bottom->addWidget(m_read_only_label);
    bottom->addWidget(m_typing_label);
    bottom->addWidget(build_composer_note());
    bottom->addWidget(build_composer());
    right_layout->addLayout(bottom);

    auto* splitter = new QSplitter;
    m_main_splitter = splitter;
    splitter->setHandleWidth(1);
    splitter->addWidget(build_list_side());
    splitter->addWidget(right);
    splitter->setStretchFactor(1, 1);
    const int em = fontMetrics().height();
    splitter->setSizes({em * 17, em * 50});
    setCentralWidget(splitter);
    splitter->setAcceptDrops(true);
    splitter->installEventFilter(this);

    m_state_label = plain_label();
    m_error_label = plain_label();
    m_error_label->setStyleSheet(QStringLiteral("color: #c42b2b;"));
    statusBar()->addWidget(m_state_label);
    statusBar()->addWidget(m_error_label, 1);
    resize(em * 68, em * 44);
    update_send_enabled();
}

// The conversation's header: its avatar (a group's picture or initials), name, a subtitle, the
// verified badge, the timer, "Block" and the "Conversation" menu.
QWidget* MainWindow::build_header() {
    const int em = fontMetrics().height();
    auto* header = new QWidget;
    header->setObjectName(QStringLiteral("conversationHeader"));
    header->setAttribute(Qt::WA_StyledBackground);
    m_peer_label = plain_label();
    m_peer_label->setAccessibleName(tr("Conversation name"));
    QFont title = m_peer_label->font();
    title.setBold(true);
    title.setPointSizeF(title.pointSizeF() * 1.15);
    m_peer_label->setFont(title);
    m_peer_subtitle = plain_label();
    m_peer_subtitle->setObjectName(QStringLiteral("typingLine"));
    m_peer_subtitle->hide();
    m_peer_picture = plain_label();
    m_peer_picture->setFixedSize(em * 2, em * 2);
    m_peer_picture->hide();
    m_peer_avatar = plain_label();
    m_peer_avatar->setFixedSize(em * 2, em * 2);
    m_peer_avatar->hide();
    m_block_button = new QPushButton;
    m_block_button->setFlat(true);
    m_block_button->hide();
    connect(m_block_button, &QPushButton::clicked, this, [this] {
        if (is_blocked(m_peer)) {
            if (QString why = set_blocked(m_peer, false); !why.isEmpty())
                show_error(why);
        } else {
            block_with_confirmation(m_peer);
        }
    });
    m_timer_label = plain_label();
    m_timer_label->setToolTip(tr("Disappearing messages"));
    m_timer_label->hide();
    m_verified_label = plain_label();
    m_verified_label->setText(tr("✔ Verified"));
    m_verified_label->setStyleSheet(QStringLiteral("color: #2e9e4f; font-weight: bold;"));
    m_verified_label->hide();
    m_look_alike_label = plain_label();
    m_look_alike_label->setObjectName(QStringLiteral("lookAlikeMark"));
    m_look_alike_label->hide();
    auto* names = new QVBoxLayout;
    names->setSpacing(0);
    names->addWidget(m_peer_label);
    names->addWidget(m_peer_subtitle);
    auto* layout = new QHBoxLayout(header);
    layout->setContentsMargins(em * 2 / 3, em / 3, em * 2 / 3, em / 3);
    layout->setSpacing(em / 2);
    layout->addWidget(m_peer_picture);
    layout->addWidget(m_peer_avatar);
    layout->addLayout(names, 1);
    layout->addWidget(m_look_alike_label);
    layout->addWidget(m_verified_label);
    layout->addWidget(m_timer_label);
    layout->addWidget(m_block_button);
    layout->addWidget(build_conversation_button());
    header->setMinimumHeight(em * 3);
    return header;
}

// The composer: an emoji button, "Attach", the multi-line input and "Send" in one rounded frame.
QWidget* MainWindow::build_composer() {
    const int button = fontMetrics().height() * 2;
    const int gap = fontMetrics().height() / 4;
    auto* frame = new ComposerFrame(button, gap);
    frame->setObjectName(QStringLiteral("composerFrame"));
    m_input = new ComposerEdit;
    m_input->setPlaceholderText(tr("Write a message"));
    m_input->setAccessibleName(tr("Message"));
    new EmojiHighlighter(m_input->document());
    connect(m_input, &ComposerEdit::submitted, this, &MainWindow::on_send);
    connect(m_input, &ComposerEdit::textChanged, this, &MainWindow::update_send_enabled);
    connect(m_input, &ComposerEdit::textEdited, this, &MainWindow::on_input_edited);
    connect(m_input, &ComposerEdit::filesPasted, this, &MainWindow::attach_files);
    // A pasted picture is encoded off this thread, then attached as a file, but only if its
    // conversation is still the open one.
    m_pasted = new PastedImages(this);
    connect(m_input, &ComposerEdit::imagePasted, this, [this](const QImage& image) {
        if (m_attach->isEnabled())
            m_pasted->add(image, QString::fromStdString(m_peer));
    });
    connect(m_pasted, &PastedImages::saved, this,
            [this](const QString& path, const QString& conversation) {
                if (conversation.toStdString() == m_peer)
                    attach_files({path});
                else
                    m_pasted->forget({path});
            });
    connect(m_pasted, &PastedImages::failed, this, &MainWindow::show_error);
    // Files dropped on the input are attached (by the window), not typed in as their paths.
    m_input->setAcceptDrops(false);
    m_input->installEventFilter(this);
    m_emoji = new GlyphButton(GlyphButton::Glyph::emoji);
    m_emoji->setObjectName(QStringLiteral("composerButton"));
    m_emoji->setText(tr("Emoji"));
    m_emoji->setToolTip(tr("Insert an emoji"));
    m_emoji->setAccessibleName(tr("Emoji"));
    connect(m_emoji, &QToolButton::clicked, this, &MainWindow::emoji_picker);
    m_attach = new GlyphButton(GlyphButton::Glyph::attach);
    m_attach->setObjectName(QStringLiteral("composerButton"));
    m_attach->setText(tr("Attach files"));
    m_attach->setAccessibleName(tr("Attach files"));
    m_attach->setToolTip(tr("Send files with the next message (or drop or paste them here)"));
    connect(m_attach, &QToolButton::clicked, this, [this] {
        QStringList paths = QFileDialog::getOpenFileNames(this, tr("Attach files"));
        if (!paths.isEmpty())
            attach_files(paths);
    });
    m_send = new GlyphButton(GlyphButton::Glyph::send);
    m_send->setObjectName(QStringLiteral("sendButton"));
    m_send->setText(tr("Send"));
    m_send->setAccessibleName(tr("Send"));
    m_send->setToolTip(tr("Send (Enter); Shift+Enter starts a new line"));
    connect(m_send, &QToolButton::clicked, this, &MainWindow::on_send);
    for (QToolButton* b : {m_emoji, m_attach, m_send})
        b->setFixedSize(button, button);
    auto* layout = new QHBoxLayout(frame);
    layout->setContentsMargins(gap, gap, gap, gap);
    layout->setSpacing(gap);
    layout->addWidget(m_emoji, 0, Qt::AlignBottom);
    layout->addWidget(m_attach, 0, Qt::AlignBottom);
    layout->addWidget(m_input, 1);
    layout->addWidget(m_send, 0, Qt::AlignBottom);
    return frame;
}

// The search field over a stack of the conversation list and the search results.
QWidget* MainWindow::build_list_side() {
    m_search = new QLineEdit;
    m_search->setObjectName(QStringLiteral("searchField"));
    m_search->setAccessibleName(tr("Search"));
    m_search->setPlaceholderText(tr("Search"));
    m_search->setToolTip(tr("Find conversations by name, and messages by their words (Ctrl+F)"));
    m_search->setClearButtonEnabled(true);
    m_search->installEventFilter(this);
    m_search_timer = new QTimer(this);
    m_search_timer->setSingleShot(true);
    m_search_timer->setInterval(kSearchPauseMs);
    connect(m_search_timer, &QTimer::timeout, this, [this] { search(m_search->text()); });
    connect(m_search, &QLineEdit::textChanged, this, [this](const QString& text) {
        filter_conversations(text);
        if (text.trimmed().isEmpty())
            search(text); // back to the list at once
        else
            m_search_timer->start();
    });
    connect(m_search, &QLineEdit::returnPressed, this, [this] { search(m_search->text()); });
    auto* find = new QAction(tr("Search"), this);
    find->setShortcuts({QKeySequence(QKeySequence::Find), QKeySequence(Qt::CTRL | Qt::Key_K)});
    connect(find, &QAction::triggered, this, [this] {
        m_search->setFocus(Qt::ShortcutFocusReason);
        m_search->selectAll();
    });
    addAction(find);

    m_search_view = new QListView;
    m_search_view->setObjectName(QStringLiteral("searchResults"));
    m_search_view->setAccessibleName(tr("Messages found"));
    m_search_view->setModel(&m_search_model);
    m_search_view->setItemDelegate(new ConversationDelegate(m_search_view));
    m_search_view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_search_view->setMouseTracking(true);
    m_search_view->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_search_view->installEventFilter(this);
    connect(m_search_view, &QListView::activated, this, &MainWindow::on_search_activated);
    connect(m_search_view, &QListView::clicked, this, &MainWindow::on_search_activated);
    m_search_empty = plain_label();
    m_search_empty->setText(tr("No messages hold these words."));
    m_search_empty->setAlignment(Qt::AlignHCenter | Qt::AlignTop);
    m_search_empty->setWordWrap(true);
    m_search_empty->setObjectName(QStringLiteral("typingLine"));

    m_list_stack = new QStackedWidget;
    m_list_stack->addWidget(m_search_view);
    m_list_stack->addWidget(m_search_empty);
    auto* caption = plain_label();
    caption->setText(tr("Messages"));
    QFont bold = caption->font();
    bold.setBold(true);
    caption->setFont(bold);
    const int em = fontMetrics().height();
    caption->setContentsMargins(em / 2, em / 3, 0, 0);
    m_results_box = new QWidget;
    auto* results = new QVBoxLayout(m_results_box);
    results->setContentsMargins(0, 0, 0, 0);
    results->addWidget(caption);
    results->addWidget(m_list_stack, 1);
    m_results_box->hide();

    auto* side = new QWidget;
    side->setObjectName(QStringLiteral("listSide"));
    auto* layout = new QVBoxLayout(side);
    layout->setContentsMargins(0, em / 2, 0, 0);
    layout->setSpacing(em / 3);
    auto* field = new QHBoxLayout;
    field->setContentsMargins(em / 2, 0, em / 2, 0);
    field->addWidget(m_search);
    layout->addLayout(field);
    layout->addWidget(m_conversations, 1);
    layout->addWidget(m_results_box, 1);
    side->setMinimumWidth(em * 12);
    return side;
}

int MainWindow::filter_conversations(const QString& text) {
    const QString words = text.trimmed();
    int shown = 0;
    for (int row = 0; row < m_conversation_model.rowCount(); ++row) {
        QString title = m_conversation_model
                            .data(m_conversation_model.index(row), ConversationListModel::TitleRole)
                            .toString();
        bool match = words.isEmpty() || title.contains(words, Qt::CaseInsensitive);
        m_conversations->setRowHidden(row, !match);
        shown += match ? 1 : 0;
    }
    // While searching, the matching conversations take only the room they need above the
    // messages found; with none, the messages take it all.
    if (words.isEmpty()) {
        m_conversations->setMaximumHeight(QWIDGETSIZE_MAX);
        m_conversations->show();
    } else {
        int row_height = m_conversations->sizeHintForRow(0);
        m_conversations->setMaximumHeight(std::max(1, std::min(shown, 4)) * row_height + 4);
        m_conversations->setVisible(shown > 0);
    }
    return shown;
}

QWidget* MainWindow::build_banner() {
    m_banner = new QWidget;
    m_banner->setObjectName(QStringLiteral("groupBanner"));
    m_banner->setAttribute(Qt::WA_StyledBackground);
    m_banner->setStyleSheet(QStringLiteral("#groupBanner { background: #fff4cc; border: 1px solid "
                                           "#e0c060; border-radius: 3px; }"));
    m_banner_label = plain_label();
    m_banner_label->setWordWrap(true);
    auto* dismiss = new QPushButton(tr("Dismiss"));
    connect(dismiss, &QPushButton::clicked, this, [this] {
        m_banner_lines.clear();
        m_banner->hide();
    });
    auto* layout = new QHBoxLayout(m_banner);
    layout->addWidget(m_banner_label, 1);
    layout->addWidget(dismiss, 0, Qt::AlignTop);
    m_banner->hide();
    return m_banner;
}

// ---- search ----------------------------------------------------------------------------------

void MainWindow::search(const QString& text) {
    m_search_timer->stop();
    if (m_search->text() != text) {
        // The field shows what was searched, without searching again.
        QSignalBlocker block(m_search);
        m_search->setText(text);
        filter_conversations(text);
    }
    // A newer search (or none) makes the answer to an older one stale.
    const std::uint64_t asked = ++m_search_asked;
    if (text.trimmed().isEmpty()) {
        m_search_model.clear();
        m_results_box->hide();
        filter_conversations({});
        return;
    }
    // Full-text search over a big profile takes a while: it runs on the session's thread.
    m_bridge.call([query = text.toStdString()](
                      qt::ClientSession& s) { return s.store().search(query, kSearchResults); },
                  this,
                  [this, asked](const Result<std::vector<store::MessageRow>>& rows) {
                      if (asked == m_search_asked)
                          show_search_results(rows);
                  });
}

void MainWindow::show_search_results(const Result<std::vector<store::MessageRow>>& rows) {
    if (!rows) {
        show_error(plain_error(rows.error()));
        return;
    }
    m_search_model.set_rows(
        rows.value(),
        [this](const std::string& peer) { return m_conversation_model.title_of(peer); },
        QDateTime::currentMSecsSinceEpoch());
    m_list_stack->setCurrentWidget(
        m_search_model.rowCount() > 0 ? static_cast<QWidget*>(m_search_view) : m_search_empty);
    m_results_box->show();
}

void MainWindow::end_search() {
    m_search->clear(); // textChanged shows the list again
    search({});
}

bool MainWindow::search_shown() const {
    return !m_results_box->isHidden();
}

void MainWindow::on_search_activated(const QModelIndex& index) {
    if (!index.isValid() || index.row() >= m_search_model.rowCount())
        return;
    // Copies: opening a conversation reloads the lists.
    std::string peer = m_search_model.peer_at(index.row());
    std::int64_t id = m_search_model.message_at(index.row());
    if (peer != m_peer)
        open_conversation(peer);
    if (m_peer != peer)
        return; // it could not be opened; the status bar says why
    // Once its rows are shown; older than what the conversation shows, it stays at its newest
    // messages.
    if (m_messages_loading)
        m_scroll_to = id;
    else if (int row = m_message_model.row_of_id(id); row >= 0)
        m_messages->scrollTo(m_message_model.index(row), QAbstractItemView::PositionAtCenter);
}

bool MainWindow::eventFilter(QObject* watched, QEvent* event) {
    if (watched == centralWidget() &&
        (event->type() == QEvent::DragEnter || event->type() == QEvent::DragMove ||
         event->type() == QEvent::Drop))
        return handle_drop(event);
    if (watched == m_input && event->type() == QEvent::KeyPress && composer_key(event))
        return true;
    if ((watched == m_search || watched == m_search_view) && event->type() == QEvent::KeyPress) {
        auto* key = static_cast<QKeyEvent*>(event);
        if (key->key() == Qt::Key_Escape && (search_shown() || !m_search->text().isEmpty())) {
            end_search();
            m_conversations->setFocus();
            return true;
        }
        // Down from the field steps into the results, as in a list of suggestions.
        if (watched == m_search && key->key() == Qt::Key_Down && search_shown() &&
            m_list_stack->currentWidget() == m_search_view) {
            m_search_view->setFocus();
            m_search_view->setCurrentIndex(m_search_model.index(0));
            return true;
        }
    }
    return QMainWindow::eventFilter(watched, event);
}

// ---- conversations ---------------------------------------------------------------------------

void MainWindow::reload_conversations() {
    // One read at a time: a burst of events (a catch-up) reads the lists once more after the
    // read in flight, not once per event.
    if (m_lists_reading) {
        m_lists_again = true;
        return;
    }
    m_lists_reading = true;
    m_bridge.read(read_lists, this, [this](const Lists& lists) {
        m_lists_reading = false;
        show_lists(lists);
        if (std::exchange(m_lists_again, false))
            reload_conversations();
    });
}

void MainWindow::show_lists(const Lists& lists) {
    if (lists.error) {
        show_error(plain_error(*lists.error));
        return;
    }
    m_blocked = std::set<std::string>(lists.blocked.begin(), lists.blocked.end());
    m_contacts = lists.contacts;
    auto list = lists.groups;
    for (auto it = m_unaccepted_groups.begin(); it != m_unaccepted_groups.end();) {
        Bytes id = group_id_of(it->first);
        auto stored =
            std::find_if(list.begin(), list.end(), [&](const auto& g) { return g.group_id == id; });
        if (stored == list.end()) {
            store::GroupRow row; // revision 0: not accepted yet
            row.group_id = id;
            row.name = it->second;
            list.push_back(std::move(row));
            ++it;
        } else if (stored->name.empty()) {
            // Accepted; the engine stores the name a moment later.
            stored->name = it->second;
            ++it;
        } else {
            it = m_unaccepted_groups.erase(it);
        }
    }
    m_conversation_model.set_rows(lists.conversations, lists.contacts, list, lists.blocked);
    if (!m_search->text().trimmed().isEmpty())
        filter_conversations(m_search->text());
    select_current_peer();
    update_title();
    update_block_button();
    update_send_enabled();
    update_look_alike_mark(); // the contacts it compares with came with this read
    if (std::exchange(m_open_first, false) && m_peer.empty() && m_conversation_model.rowCount() > 0)
        open_conversation(m_conversation_model.peer_at(0));
    else if (!m_peer.empty() && m_peer_label->text() != m_conversation_model.title_of(m_peer))
        update_group_view(); // the open conversation's title came with this read
}

void MainWindow::select_current_peer() {
    int row = m_conversation_model.row_of(m_peer);
    if (row < 0)
        return;
    // Restoring the highlight after a reload is not a new choice by the person.
    QSignalBlocker block(m_conversations->selectionModel());
    m_conversations->setCurrentIndex(m_conversation_model.index(row));
}

void MainWindow::open_conversation(const std::string& peer) {
    if (!store::is_group_conversation(peer)) {
        // The conversation opens at once; the list shows a new contact once it is stored (the
        // list is read again below anyway, for a known one).
        m_bridge.call(
            [peer](qt::ClientSession& s) -> Result<bool> {
                auto known = s.store().is_contact(peer);
                if (!known)
                    return known.error();
                if (known.value())
                    return false;
                VEIL_TRY(s.engine().add_contact(peer));
                return true;
            },
            this,
            [this](const Result<bool>& added) {
                if (!added)
                    show_error(plain_error(added.error()));
                else if (added.value())
                    reload_conversations();
            });
    } else if (group_id_of(peer).empty()) {
        show_error(tr("There is no such group."));
        return;
    }
    if (!m_bridge.is_open())
        return;
    if (peer != m_peer) {
        // A reply, an edit or files belong to the conversation they were started in.
        m_reply_to.reset();
        m_editing.clear();
        m_files.clear();
        m_identity_banner->hide();
        // Where the unread messages begin, as it was when the person opened it; it stays
        // while the conversation stays open.
        int listed = m_conversation_model.row_of(peer);
        m_unread_marker = listed < 0 ? 0
                                     : m_conversation_model
                                           .data(m_conversation_model.index(listed),
                                                 ConversationListModel::UnreadRole)
                                           .toInt();
        // Nothing of the conversation shown before stays while this one's rows are read: only
        // our bubbles still on their way to the engine, until the read answers.
        m_peer = peer;
        m_message_model.set_conversation(peer, pending_rows(peer));
        show_files_of(-1);
        show_conversation_header(HeaderFacts{}); // the header's own read follows
    }
    m_peer = peer;
    // Only the answer to the newest read is shown; what the engine announces for this
    // conversation meanwhile is kept and applied over it (the read may have run before).
    const std::uint64_t asked = ++m_messages_asked;
    m_messages_loading = true;
    m_scroll_to = 0;
    m_loading_events.clear();
    m_bridge.read([peer](store::AccountStore& db) { return db.messages(peer, kMessagesShown); },
                  this,
                  [this, peer, asked](const Result<std::vector<store::MessageRow>>& rows) {
                      if (asked == m_messages_asked && peer == m_peer)
                          show_messages(rows);
                  });
    update_compose_note();
    mark_read(peer);
    reload_conversations();
    update_group_view();
    m_input->setFocus();
}

std::vector<store::MessageRow> MainWindow::pending_rows(const std::string& peer) const {
    // Bubbles of ours the engine refused before storing them stay, with "Send again".
    std::vector<store::MessageRow> rows;
    for (const auto& [local, pending] : m_pending_sends)
        if (pending.row.peer == peer)
            rows.push_back(pending.row);
    return rows;
}

void MainWindow::show_messages(const Result<std::vector<store::MessageRow>>& read) {
    auto events = std::move(m_loading_events);
    m_loading_events.clear();
    m_messages_loading = false;
    if (!read) {
        show_error(plain_error(read.error()));
        return;
    }
    std::vector<store::MessageRow> rows = read.value();
    for (auto& row : pending_rows(m_peer))
        rows.push_back(std::move(row));
    m_message_model.set_conversation(m_peer, std::move(rows));
    for (const auto& replay : events)
        replay();
    m_message_model.set_unread_marker(m_unread_marker);
    update_compose_note();
    if (int found = m_message_model.row_of_id(std::exchange(m_scroll_to, 0)); found >= 0) {
        m_messages->doItemsLayout();
        m_messages->scrollTo(m_message_model.index(found), QAbstractItemView::PositionAtCenter);
    } else if (int marker = m_message_model.unread_marker_row(); marker > 0) {
        m_messages->doItemsLayout();
        m_messages->scrollTo(m_message_model.index(marker), QAbstractItemView::PositionAtTop);
    } else {
        m_messages->scrollToBottom();
    }
}

void MainWindow::replay_after_loading(const std::string& peer, std::function<void()> apply) {
    if (m_messages_loading && peer == m_peer)
        m_loading_events.push_back(std::move(apply));
}

void MainWindow::mark_read(const std::string& peer) {
    // Through the engine, so that our other devices clear their count too; an unlinked device
    // has no other devices to tell. It runs on the session's thread; the list is read again
    // once the count is written.
    const bool unlinked = m_bridge.is_unlinked();
    m_bridge.call(
        [peer, unlinked](qt::ClientSession& s) {
            return unlinked ? s.store().mark_read(peer) : s.engine().mark_read(peer);
        },
        this,
        [this](const Status& st) {
            if (!st)
                show_error(plain_error(st.error()));
            else
                reload_conversations();
        });
}

void MainWindow::on_selected(const QModelIndex& index) {
    if (!index.isValid())
        return;
    std::string peer = m_conversation_model.peer_at(index.row());
    if (peer != m_peer)
        open_conversation(peer);
}

void MainWindow::on_message_added(const store::MessageRow& row) {
    notify_if_needed(row);
    // A message from someone ends their typing indicator there.
    if (auto typists = m_typists.find(row.peer);
        typists != m_typists.end() && typists->second.erase(row.sender) > 0)
        update_typing();
    if (row.peer == m_peer && row.kind == store::MessageKind::system)
        update_conversation_header(); // a timer change or a key change
    replay_after_loading(row.peer, [this, row] {
        if (m_message_model.add(row))
            apply_sent_previews(row);
    });
    if (row.peer == m_peer && m_message_model.add(row)) {
        apply_sent_previews(row);
        m_messages->scrollToBottom();
        // Read only when the person can see it: in a window in the background it stays unread
        // (no read receipt goes out) until the window is brought forward.
        if (row.direction == store::Direction::incoming && m_focused && m_focused())
            mark_read(m_peer);
    }
    reload_conversations();
}

void MainWindow::changeEvent(QEvent* event) {
    QMainWindow::changeEvent(event);
    if (event->type() != QEvent::ActivationChange && event->type() != QEvent::WindowStateChange)
        return;
    if (!m_bridge.is_open() || m_peer.empty() || !m_focused || !m_focused())
        return;
    m_bridge.read([peer = m_peer](store::AccountStore& db) { return db.unread(peer); }, this,
                  [this, peer = m_peer](const Result<int>& unread) {
                      if (peer == m_peer && unread && unread.value() > 0)
                          mark_read(m_peer);
                  });
}

void MainWindow::on_status_changed(const QByteArray& message_id, store::MessageStatus status) {
    m_message_model.set_status(bytes_of(message_id), status);
    replay_after_loading(m_peer, [this, message_id, status] {
        m_message_model.set_status(bytes_of(message_id), status);
    });
    // The engine reports why (a file too large for the relay) just before it marks the message
    // failed; that sentence says more than this one.
    if (status == store::MessageStatus::failed && !m_engine_error_fresh)
        show_error(tr("A message could not be sent."));
}

void MainWindow::on_state_changed(engine::State state) {
    QString relay = m_bridge.relay_url();
    switch (state) {
    case engine::State::offline:
        // Group changes waiting for the relay are kept by the engine and sent again once
        // connected; their answers arrive as groupChanged or groupChangeFailed.
        m_state_label->setText(tr("Offline, retrying"));
        break;
    case engine::State::connecting:
        m_state_label->setText(tr("Connecting to %1…").arg(relay));
        break;
    case engine::State::authenticating: m_state_label->setText(tr("Signing in…")); break;
    case engine::State::ready:
        m_state_label->setText(tr("Connected to %1 as %2").arg(relay, m_bridge.username()));
        m_error_label->clear();
        reload_conversations();
        if (m_devices_dialog)
            m_devices_dialog->refresh();
        break;
    case engine::State::failed: m_state_label->setText(tr("Stopped")); break;
    case engine::State::damaged:
        m_state_label->setText(tr("Stopped: the message store is damaged; restore it from a "
                                  "snapshot"));
        // Offered once the event that brought the state is done (the dialog closes the profile).
        QTimer::singleShot(0, this, [self = QPointer<MainWindow>(this)] {
            if (self && self->m_bridge.is_open() &&
                self->m_bridge.state() == engine::State::damaged)
                self->offer_restore_after_damage(QString::fromUtf8(engine::kStoreDamaged));
        });
        break;
    }
}

void MainWindow::on_error_reported(const QString& text) {
    show_error(text);
    m_engine_error_fresh = true;
    QTimer::singleShot(0, this, [this] { m_engine_error_fresh = false; });
    // A link started from the devices dialog that the engine gave up on.
    if (m_devices_dialog && m_devices_dialog->link_waiting())
        m_bridge.call([](qt::ClientSession& s) { return s.engine().linking(); }, this,
                      [this, text](bool linking) {
                          if (!linking && m_devices_dialog && m_devices_dialog->link_waiting())
                              m_devices_dialog->link_finished(0, text);
                      });
}

void MainWindow::on_group_change_failed(const QByteArray& group_id, const QString& text) {
    const std::string peer = store::group_conversation(
        std::span(reinterpret_cast<const std::uint8_t*>(group_id.constData()),
                  static_cast<std::size_t>(group_id.size())));
    forget_unaccepted_groups(
        [&](const QString& title) {
            return tr("The group %1 was not created. %2").arg(title, text);
        },
        peer);
    // Whatever was typed into "Add" is still there, to correct or retry.
    if (m_changes_in_flight.erase(peer) > 0 && peer == m_peer)
        m_group_panel->show_error(text);
}

// ---- sending ---------------------------------------------------------------------------------

void MainWindow::send_text(const QString& text) {
    m_input->setText(text);
    on_send();
}

void MainWindow::on_send() {
    QString text = m_input->text();
    if (m_peer.empty() || (text.trimmed().isEmpty() && m_files.isEmpty()) ||
        !read_only_text().isEmpty())
        return;
    // On a refusal the text stays in the input line to correct or retry.
    if (!send_composed(text))
        return;
    m_input->clear();
}

AddContactDialog* MainWindow::add_contact() {
    auto* dialog = new AddContactDialog(m_conversation_model.people(), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &AddContactDialog::submitted, this, [this](const QString& name) {
        // The conversation opens once the engine has added the contact (a bad name opens
        // nothing).
        const std::string peer = name.toStdString();
        m_bridge.call([peer](qt::ClientSession& s) { return s.engine().add_contact(peer); }, this,
                      [this, peer](const Status& st) {
                          if (!st)
                              show_error(plain_error(st.error()));
                          else
                              open_conversation(peer);
                      });
    });
    dialog->open(); // window-modal
    return dialog;
}

// ---- groups ----------------------------------------------------------------------------------

bool MainWindow::group_open() const {
    return store::is_group_conversation(m_peer);
}

Bytes MainWindow::open_group_id() const {
    return group_id_of(m_peer);
}

QString MainWindow::create_group(const QString& name, const std::vector<std::string>& members) {
    create_group_job(name, members, nullptr);
    return QString();
}

void MainWindow::create_group_job(const QString& name, const std::vector<std::string>& members,
                                  NewGroupDialog* from) {
    // The dialog (when it started this) waits, with what was typed, for the engine and then
    // for the relay; a refusal from either is shown there and the input stays.
    QPointer<NewGroupDialog> dialog(from);
    const std::string group_name = name.toStdString();
    m_bridge.call(
        [group_name, members](qt::ClientSession& s) {
            return s.engine().create_group(group_name, members);
        },
        this,
        [this, dialog, name, group_name](const Result<Bytes>& id) {
            if (!id) {
                QString why = plain_error(id.error());
                if (dialog && dialog->waiting())
                    dialog->creation_refused(why);
                else
                    show_error(
                        tr("The group %1 was not created. %2").arg(display_text(group_name), why));
                return;
            }
            std::string peer = store::group_conversation(id.value());
            m_unaccepted_groups[peer] = group_name;
            m_created_peer = peer;
            if (dialog && dialog == m_group_dialog)
                m_group_dialog_peer = peer;
            if (!store::is_group_conversation(m_peer) || !m_unaccepted_groups.count(m_peer))
                m_peer_before_create = m_peer;
            log::info(kLog, "asked the relay to create a group");
            open_conversation(peer);
        });
}

NewGroupDialog* MainWindow::new_group() {
    if (m_group_dialog) {
        m_group_dialog->raise();
        m_group_dialog->activateWindow();
        return m_group_dialog;
    }
    // The dialog's own pointer, for its submit callback (set right after it is made).
    auto self = std::make_shared<QPointer<NewGroupDialog>>();
    auto* dialog = new NewGroupDialog(
        m_bridge.username().toStdString(),
        [this, self](const QString& name, const std::vector<std::string>& members) {
            create_group_job(name, members, *self);
            return QString(); // the dialog waits; create_group_job() answers it
        },
        this);
    *self = dialog;
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::finished, this, [this] { m_group_dialog_peer.clear(); });
    m_group_dialog = dialog;
    dialog->open();
    return dialog;
}

void MainWindow::add_members(const QString& text) {
    if (!group_open())
        return;
    ParsedMembers parsed = parse_members(text, m_bridge.username().toStdString());
    if (!parsed.error.isEmpty()) {
        m_group_panel->show_error(parsed.error);
        return;
    }
    if (parsed.names.empty()) {
        m_group_panel->show_error(tr("Type the usernames to add, e.g. bob, carol."));
        return;
    }
    // The text stays until the relay has accepted the change (on_group_changed).
    auto names = parsed.names;
    group_change_job(
        [names](engine::Engine& e, const Bytes& id) { return e.add_group_members(id, names); },
        parsed.names, tr("Adding… waiting for the relay."));
}

void MainWindow::remove_members(const std::vector<std::string>& members) {
    if (!group_open() || members.empty())
        return;
    group_change_job([members](engine::Engine& e,
                               const Bytes& id) { return e.remove_group_members(id, members); },
                     {}, tr("Removing… waiting for the relay."));
}

void MainWindow::set_admin(const std::string& member, bool admin) {
    if (!group_open())
        return;
    group_change_job(
        [member, admin](engine::Engine& e, const Bytes& id) {
            return e.set_group_admin(id, member, admin);
        },
        {}, tr("Changing… waiting for the relay."));
}

void MainWindow::leave_open_group() {
    if (!group_open())
        return;
    group_change_job([](engine::Engine& e, const Bytes& id) { return e.leave_group(id); }, {},
                     tr("Leaving… waiting for the relay."));
}

void MainWindow::group_change_job(std::function<Status(engine::Engine&, const Bytes&)> change,
                                  std::vector<std::string> adding, const QString& note) {
    // The panel says what is on its way at once; the engine's refusal (or later the relay's,
    // on_group_change_failed) replaces that with why, in the panel of that group if it is
    // still the one open.
    const std::string peer = m_peer;
    const Bytes id = open_group_id();
    m_changes_in_flight[peer] = std::move(adding);
    m_group_panel->show_note(note);
    m_bridge.call([change, id](qt::ClientSession& s) { return change(s.engine(), id); }, this,
                  [this, peer](const Status& st) {
                      if (st)
                          return;
                      m_changes_in_flight.erase(peer);
                      if (peer == m_peer)
                          m_group_panel->show_error(plain_error(st.error()));
                      else
                          show_error(plain_error(st.error()));
                  });
}

GroupDetailsDialog* MainWindow::edit_group() {
    if (m_details_dialog) {
        m_details_dialog->raise();
        m_details_dialog->activateWindow();
        return m_details_dialog;
    }
    if (!group_open() || !m_group_panel->can_edit())
        return nullptr;
    // The group as the window shows it (update_group_view read it).
    const std::optional<store::GroupRow>& group = m_shown_group;
    if (!group || group->group_id != open_group_id())
        return nullptr;
    // The form shows the stored text as display_text() makes it; set_group_details() knows an
    // unchanged field by that, so that the marks it adds are never sent back as text.
    GroupDetails current{display_text(group->name).trimmed(),
                         display_text(group->description).trimmed(),
                         QByteArray(reinterpret_cast<const char*>(group->avatar.data()),
                                    static_cast<qsizetype>(group->avatar.size()))};
    auto* dialog = new GroupDetailsDialog(
        current,
        [this, peer = m_peer](const GroupDetails& details, GroupDetailsDialog::Answer answer) {
            set_group_details(peer, details, std::move(answer));
        },
        this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    m_details_dialog = dialog;
    dialog->open();
    return dialog;
}

void MainWindow::set_group_details(const std::string& peer, const GroupDetails& details,
                                   std::function<void(const QString&)> answer) {
    auto reply = [answer](const QString& why) {
        if (answer)
            answer(why);
    };
    const Bytes id = group_id_of(peer);
    if (id.empty())
        return reply(tr("This group is not known to this profile."));
    // What differs from the stored group is worked out where the group is read: on the worker,
    // in the same job as the change.
    // The job's answer: whether the group is known and something changed, or why not.
    struct Outcome {
        Status status;
        bool known = true;
        bool changed = false;
    };
    m_bridge.call(
        [id, details](qt::ClientSession& s) -> Outcome {
            auto stored = s.store().group(id);
            if (!stored)
                return {stored.error()};
            if (!stored.value())
                return {Status{}, false};
            const store::GroupRow& group = *stored.value();
            auto unchanged = [](const QString& typed, const std::string& value) {
                return typed == display_text(value).trimmed();
            };
            std::string name =
                unchanged(details.name, group.name) ? group.name : details.name.toStdString();
            std::string description = unchanged(details.description, group.description)
                                          ? group.description
                                          : details.description.toStdString();
            Bytes picture(details.picture.begin(), details.picture.end());
            // The picture first: it is the change most likely to be refused, and a refusal then
            // leaves the name and description as they were too.
            const bool new_picture = picture != group.avatar;
            const bool new_info = name != group.name || description != group.description;
            Status st;
            if (new_picture)
                st = s.engine().set_group_avatar(id, picture);
            if (st && new_info)
                st = s.engine().set_group_info(id, name, description);
            return {st, true, new_picture || new_info};
        },
        this,
        [this, peer, reply](const Outcome& outcome) {
            if (!outcome.known)
                return reply(tr("This group is not known to this profile."));
            if (!outcome.status)
                return reply(plain_error(outcome.status.error()));
            if (!outcome.changed)
                return reply(QString());
            log::info(kLog, "changed a group's details");
            if (peer == m_peer)
                m_group_panel->show_note(tr("Saved. The members get the new details when you "
                                            "are connected."));
            reply(QString());
        });
}

void MainWindow::on_remove_requested() {
    auto members = m_group_panel->selected_members();
    if (members.empty())
        return;
    QStringList names;
    for (const auto& m : members)
        names << display_text(m);
    if (confirm(this, tr("Remove from the group"),
                tr("Remove %1 from %2? They will not be able to read new messages.")
                    .arg(names.join(QStringLiteral(", ")), m_conversation_model.title_of(m_peer))))
        remove_members(members);
}

void MainWindow::on_leave_requested() {
    if (confirm(this, tr("Leave the group"),
                tr("Leave %1? You keep what was said so far but can neither read nor send new "
                   "messages.")
                    .arg(m_conversation_model.title_of(m_peer))))
        leave_open_group();
}

void MainWindow::forget_unaccepted_groups(const std::function<QString(const QString&)>& sentence,
                                          const std::string& peer) {
    if (m_unaccepted_groups.empty())
        return;
    std::vector<std::string> asked;
    for (const auto& [conversation, name] : m_unaccepted_groups)
        if (peer.empty() || conversation == peer)
            asked.push_back(conversation);
    // Which of them the store holds after all (accepted meanwhile): those stay.
    m_bridge.read(
        [asked](store::AccountStore& db) {
            std::set<std::string> stored;
            for (const auto& conversation : asked)
                if (auto group = db.group(group_id_of(conversation)); group && group.value())
                    stored.insert(conversation);
            return stored;
        },
        this,
        [this, asked, sentence](const std::set<std::string>& stored) {
            forget_groups(asked, stored, sentence);
        });
}

void MainWindow::forget_groups(const std::vector<std::string>& asked,
                               const std::set<std::string>& stored,
                               const std::function<QString(const QString&)>& sentence) {
    bool open_one_gone = false;
    for (const auto& conversation : asked) {
        auto it = m_unaccepted_groups.find(conversation);
        if (it == m_unaccepted_groups.end() || stored.count(conversation) > 0)
            continue;
        QString text = sentence(group_title(it->second));
        if (m_group_dialog && it->first == m_group_dialog_peer) {
            // The dialog still holds what was typed: the person corrects it there.
            m_group_dialog_peer.clear();
            m_group_dialog->creation_refused(text);
        } else {
            show_banner(text);
        }
        open_one_gone = open_one_gone || it->first == m_peer;
        m_unaccepted_groups.erase(it);
    }
    if (open_one_gone) {
        // Back to where the person was before creating it, else to the first conversation
        // once the list without it is read.
        m_peer.clear();
        m_message_model.clear();
        if (m_conversation_model.row_of(m_peer_before_create) >= 0)
            open_conversation(m_peer_before_create);
        else
            m_open_first = true;
    }
    reload_conversations();
    update_group_view();
}

void MainWindow::on_group_changed(const QByteArray& group_id) {
    std::string peer = peer_of(group_id);
    reload_conversations();
    if (m_group_dialog && !m_group_dialog_peer.empty() && peer == m_group_dialog_peer) {
        m_group_dialog_peer.clear();
        m_group_dialog->creation_accepted();
        m_error_label->clear(); // an earlier refusal is answered
    }
    if (m_changes_in_flight.count(peer) > 0) {
        // Another member's change may come first: an add of ours is done when its names are
        // members (then the "Add" field is cleared), anything else at the next change.
        m_bridge.read(
            [id = group_id_of(peer)](store::AccountStore& db) { return db.group_members(id); },
            this,
            [this, peer](const Result<std::vector<store::GroupMemberRow>>& members) {
                auto change = m_changes_in_flight.find(peer);
                if (change == m_changes_in_flight.end() || !members ||
                    !all_members(members.value(), change->second))
                    return;
                if (!change->second.empty() && peer == m_peer)
                    m_group_panel->clear_add_text();
                m_changes_in_flight.erase(change);
                // An earlier refusal in the status bar is answered by this change.
                m_error_label->clear();
                if (peer == m_peer)
                    m_group_panel->show_note(QString());
            });
    }
    if (peer == m_peer)
        update_group_view();
}

void MainWindow::on_group_warning(const QByteArray& group_id, const QString& text) {
    std::string peer = group_id.isEmpty() ? std::string() : peer_of(group_id);
    bool known = !peer.empty() && m_conversation_model.row_of(peer) >= 0;
    show_banner(known ? m_conversation_model.title_of(peer) + QStringLiteral(": ") + text
                      : tr("A group change was refused: %1").arg(text));
}

void MainWindow::on_group_unreachable(const QByteArray& message_id, const QStringList& members) {
    // Which conversation the message was in says where; the banner waits for that read.
    m_bridge.read(
        [id = Bytes(bytes_of(message_id).begin(), bytes_of(message_id).end())](
            store::AccountStore& db) -> std::string {
            auto row = db.find_outgoing(id);
            return row && row.value() ? row.value()->peer : std::string();
        },
        this,
        [this, members](const std::string& peer) {
            QString where = peer.empty() ? QString()
                                         : QLatin1Char(' ') +
                                               tr("in %1").arg(m_conversation_model.title_of(peer));
            show_banner(tr("The relay could not reach %1%2: they have no registered device, so "
                           "they will not get that message.")
                            .arg(members.join(QStringLiteral(", ")), where));
        });
}

void MainWindow::show_banner(const QString& text) {
    m_banner_lines << text;
    while (m_banner_lines.size() > kBannerLines)
        m_banner_lines.removeFirst();
    m_banner_label->setText(m_banner_lines.join(QChar(u'\n')));
    m_banner->show();
}

// The header's initials avatar and subtitle for the open conversation (a group's picture, when
// it has one, takes the avatar's place in update_group_view).
void MainWindow::update_header_avatar() {
    update_look_alike_mark();
    if (m_peer.empty()) {
        m_peer_avatar->hide();
        m_peer_subtitle->hide();
        return;
    }
    QString title = m_conversation_model.title_of(m_peer);
    QString name = group_open() ? title.mid(2) : title;
    const int side = m_peer_avatar->height();
    m_peer_avatar->setPixmap(
        avatar_pixmap(name, QString::fromStdString(m_peer), side, devicePixelRatioF()));
    m_peer_avatar->show();
    m_peer_subtitle->setText(is_blocked(m_peer) ? tr("Blocked") : QString());
    m_peer_subtitle->setVisible(!m_peer_subtitle->text().isEmpty());
}

// "⚠ looks like bob" in the header while the open person's name looks like another contact's.
void MainWindow::update_look_alike_mark() {
    const QString alike = m_peer.empty() ? QString() : m_conversation_model.looks_like(m_peer);
    m_look_alike_label->setVisible(!alike.isEmpty());
    if (alike.isEmpty())
        return;
    m_look_alike_label->setText(QStringLiteral("\u26A0 ") + tr("looks like %1").arg(alike));
    m_look_alike_label->setAccessibleName(tr("Warning: this name looks like %1").arg(alike));
    m_look_alike_label->setToolTip(plain_tooltip(look_alike_warning(m_peer, alike.toStdString())));
}

void MainWindow::update_group_view() {
    update_block_button();
    update_conversation_header();
    m_peer_label->setText(m_peer.empty() ? QString() : m_conversation_model.title_of(m_peer));
    m_body_stack->setCurrentIndex(m_peer.empty() ? 1 : 0);
    // With nothing open, the sentence stands alone: no empty header, no composer to type into.
    m_peer_label->parentWidget()->setVisible(!m_peer.empty());
    m_input->parentWidget()->setVisible(!m_peer.empty());
    if (m_shown_group_peer != m_peer) {
        // Nothing of the group shown before stays; a group's own comes with its read below.
        m_shown_group_peer = group_open() ? m_peer : std::string();
        m_shown_group.reset();
        m_read_only.clear();
        m_peer_picture->hide();
        update_header_avatar();
    } else if (!group_open()) {
        update_header_avatar();
    }
    if (!group_open()) {
        m_group_panel->hide();
        m_members_action->setEnabled(false);
        update_send_enabled();
        return;
    }
    m_members_action->setEnabled(true);
    // The group's row and members come from the reader; only the answer for the group still
    // open is shown, and until it comes the header keeps what it showed.
    m_bridge.read(
        [id = open_group_id()](store::AccountStore& db) { return read_group_view(db, id); }, this,
        [this, peer = m_peer](const GroupView& view) {
            if (peer == m_peer)
                show_group_view(view);
        });
    update_send_enabled();
}

void MainWindow::show_group_view(const GroupView& view) {
    if (view.error)
        show_error(plain_error(*view.error));
    const std::optional<store::GroupRow>& group = view.group;
    m_shown_group = group;
    update_header_avatar(); // the initials, unless the picture below takes their place
    const std::vector<store::GroupMemberRow>& members = view.members;
    m_read_only.clear();
    bool pending = !group;
    bool has_left = group && group->has_left;
    if (pending)
        m_read_only = m_unaccepted_groups.count(m_peer)
                          ? tr("Waiting for the relay to accept the new group; you can write "
                               "once it has.")
                          : tr("This group is unknown to this profile, so nothing can be sent "
                               "to it.");
    else if (has_left)
        m_read_only = tr("You are no longer a member of this group (you left or an admin "
                         "removed you). You can read what was said, but not send to it.");
    // A picture that does not decode is left out, as if there were none.
    // Drawn at the screen's density, so that it stays sharp at 2x.
    const qreal ratio = devicePixelRatioF();
    QPixmap picture =
        group ? picture_thumbnail(group->avatar, static_cast<int>(m_peer_picture->height() * ratio))
              : QPixmap();
    if (!picture.isNull())
        picture.setDevicePixelRatio(ratio);
    m_peer_picture->setPixmap(picture);
    m_peer_picture->setVisible(!picture.isNull());
    m_peer_avatar->setVisible(picture.isNull());
    m_peer_subtitle->setText(pending               ? tr("Group · waiting for the relay")
                             : has_left            ? tr("Group · you are no longer a member")
                             : members.size() == 1 ? tr("Group · 1 member")
                                                   : tr("Group · %1 members").arg(members.size()));
    m_peer_subtitle->show();
    m_group_panel->show_details(group ? std::span<const std::uint8_t>(group->avatar)
                                      : std::span<const std::uint8_t>(),
                                group ? group->description : std::string());
    m_group_panel->show_group(members, m_bridge.username().toStdString(), has_left, pending);
    m_group_panel->setVisible(m_members_action->isChecked());
    update_send_enabled();
}

// ---- blocking --------------------------------------------------------------------------------

QString MainWindow::set_blocked(const std::string& peer, bool blocked) {
    if (peer.empty() || store::is_group_conversation(peer))
        return tr("Only a person can be blocked, not a group.");
    // The header's button waits for the engine; the list shows the change once it is stored.
    m_block_button->setEnabled(false);
    m_block_button->setText(blocked ? tr("Blocking…") : tr("Unblocking…"));
    m_bridge.call(
        [peer, blocked](qt::ClientSession& s) { return s.engine().set_blocked(peer, blocked); },
        this,
        [this, blocked](const Status& st) {
            m_block_button->setEnabled(true);
            if (!st)
                show_error(plain_error(st.error()));
            else
                log::info(kLog, blocked ? "blocked a contact" : "unblocked a contact");
            reload_conversations(); // the button says again what it does
            update_block_button();
        });
    return QString();
}

bool MainWindow::block_with_confirmation(const std::string& peer) {
    if (peer.empty() || store::is_group_conversation(peer))
        return false;
    QString name = display_text(peer);
    if (!confirm(this, tr("Block %1").arg(name),
                 tr("Block %1? Their messages will be dropped without being shown or confirmed "
                    "to them, and you cannot write to them until you unblock them.")
                     .arg(name)))
        return false;
    if (QString why = set_blocked(peer, true); !why.isEmpty()) {
        show_error(why);
        return false;
    }
    return true;
}

QMenu* MainWindow::conversation_menu(const std::string& peer) {
    if (peer.empty() || store::is_group_conversation(peer))
        return nullptr;
    auto* menu = new QMenu(this);
    menu->setAttribute(Qt::WA_DeleteOnClose);
    QString name = display_text(peer);
    if (is_blocked(peer)) {
        menu->addAction(plain_label_text(tr("Unblock %1").arg(name)), this, [this, peer] {
            if (QString why = set_blocked(peer, false); !why.isEmpty())
                show_error(why);
        });
    } else {
        // Queued: the confirmation must not run inside the menu's own event handling.
        menu->addAction(
            plain_label_text(tr("Block %1…").arg(name)), this,
            [this, peer] { block_with_confirmation(peer); }, Qt::QueuedConnection);
    }
    return menu;
}

void MainWindow::show_conversation_menu(const QPoint& pos) {
    QModelIndex index = m_conversations->indexAt(pos);
    if (!index.isValid())
        return;
    if (QMenu* menu = conversation_menu(m_conversation_model.peer_at(index.row())))
        menu->popup(m_conversations->viewport()->mapToGlobal(pos));
}

void MainWindow::update_block_button() {
    bool person = !m_peer.empty() && !store::is_group_conversation(m_peer);
    m_block_button->setVisible(person);
    if (!person)
        return;
    QString name = one_line(m_peer, 32);
    m_block_button->setText(plain_label_text(is_blocked(m_peer) ? tr("Unblock %1").arg(name)
                                                                : tr("Block %1…").arg(name)));
}

// ---- notifications ---------------------------------------------------------------------------

void MainWindow::build_notifications_menu() {
    m_notify_menu = new QMenu(tr("Notifications"), this);
    auto* levels = new QActionGroup(this);
    levels->setExclusive(true);
    const std::pair<NotificationPreview, QString> choices[] = {
        {NotificationPreview::all, tr("Show sender and message")},
        {NotificationPreview::sender, tr("Show sender only")},
        {NotificationPreview::none, tr("Show nothing (\u201cNew message\u201d)")},
    };
    int i = 0;
    for (const auto& [level, text] : choices) {
        QAction* action = m_notify_menu->addAction(text);
        action->setCheckable(true);
        levels->addAction(action);
        // A copy: clang 14 cannot capture a structured binding.
        const NotificationPreview preview = level;
        connect(action, &QAction::triggered, this, [this, preview] {
            NotificationSettings changed = m_notify;
            changed.preview = preview;
            changed.enabled = true;
            if (QString why = set_notification_settings(changed); !why.isEmpty())
                show_error(why);
        });
        m_preview_actions[i++] = action;
    }
    m_notify_menu->addSeparator();
    m_notify_on = m_notify_menu->addAction(tr("Notify about new messages"));
    m_notify_on->setCheckable(true);
    connect(m_notify_on, &QAction::triggered, this, [this](bool on) {
        NotificationSettings changed = m_notify;
        changed.enabled = on;
        if (QString why = set_notification_settings(changed); !why.isEmpty())
            show_error(why);
    });
    m_notify_menu->addSeparator();
    m_read_receipts = m_notify_menu->addAction(tr("Send read receipts"));
    m_read_receipts->setCheckable(true);
    m_read_receipts->setToolTip(tr("Let people see when you have read their messages"));
    m_read_receipts->setChecked(m_bridge.read_receipts());
    connect(m_read_receipts, &QAction::triggered, this, [this](bool on) {
        set_read_receipts(on, [this](const QString& why) {
            if (!why.isEmpty())
                show_error(why);
        });
    });
    show_notification_settings();
}

QString MainWindow::set_notification_settings(const NotificationSettings& settings) {
    // The menu shows the new choice at once; a store that refuses it puts the old one back.
    const NotificationSettings before = m_notify;
    m_notify = settings;
    m_notify_chosen = true;
    show_notification_settings();
    m_bridge.call(
        [settings](qt::ClientSession& s) {
            return save_notification_settings(s.store(), settings);
        },
        this,
        [this, before](const Status& st) {
            if (st)
                return;
            m_notify = before;
            show_notification_settings();
            show_error(
                tr("The notification settings were not saved: %1").arg(plain_error(st.error())));
        });
    return QString();
}

void MainWindow::set_read_receipts(bool on, std::function<void(const QString&)> answer) {
    // Checked at once; the engine's setting, read again once it answers, has the last word.
    m_read_receipts->setChecked(on);
    QPointer<MainWindow> self(this);
    m_bridge.set_read_receipts(on, [self, answer](const Status& st) {
        if (!self)
            return;
        self->m_read_receipts->setChecked(self->m_bridge.read_receipts());
        if (answer)
            answer(st ? QString() : plain_error(st.error()));
    });
}

void MainWindow::show_notification_settings() {
    m_preview_actions[static_cast<int>(m_notify.preview)]->setChecked(true);
    for (QAction* action : m_preview_actions)
        action->setEnabled(m_notify.enabled);
    m_notify_on->setChecked(m_notify.enabled);
}

void MainWindow::set_notifier(Notifier* notifier) {
    m_notifier = notifier ? notifier : m_system_notifier;
}

void MainWindow::notify_if_needed(const store::MessageRow& row) {
    bool open = row.peer == m_peer;
    if (!should_notify(row, m_bridge.username().toStdString(), m_notify, is_blocked(row.sender),
                       open, m_focused && m_focused()))
        return;
    QString group = store::is_group_conversation(row.peer) ? m_conversation_model.title_of(row.peer)
                                                           : QString();
    m_notifier->notify(notification_text(m_notify.preview, row.sender, group, row.text), row.peer);
}

// ---- devices ---------------------------------------------------------------------------------

DevicesDialog* MainWindow::devices() {
    if (m_devices_dialog) {
        m_devices_dialog->raise();
        m_devices_dialog->activateWindow();
        return m_devices_dialog;
    }
    DevicesDialog::Actions actions;
    // The answers come later through the engine's handlers; the dialog may be gone by then.
    actions.refresh = [this] {
        QPointer<DevicesDialog> dialog = m_devices_dialog;
        if (m_bridge.state() != engine::State::ready) {
            // on_state_changed asks again once connected.
            dialog->show_waiting(tr("Not connected to the relay; the devices are listed once "
                                    "connected."));
            return;
        }
        auto shown = m_bridge.on_gui(std::function<void(Result<std::vector<engine::DeviceInfo>>)>(
            [dialog](Result<std::vector<engine::DeviceInfo>> list) {
                if (!dialog)
                    return;
                if (list)
                    dialog->show_devices(list.value());
                else
                    dialog->show_list_error(plain_error(list.error()));
            }));
        m_bridge.post([shown](qt::ClientSession& s) { s.engine().list_devices(shown); });
    };
    actions.remove = [this](std::uint32_t device_id) {
        QPointer<DevicesDialog> dialog = m_devices_dialog;
        auto finished = m_bridge.on_gui(std::function<void(Status)>([dialog, device_id](Status st) {
            if (dialog)
                dialog->removal_finished(device_id, st ? QString() : plain_error(st.error()));
        }));
        m_bridge.post([device_id, finished](qt::ClientSession& s) {
            s.engine().remove_device(device_id, finished);
        });
        return QString();
    };
    actions.link = [this](const QString& code, bool share_history) {
        // The dialog waits for the link (link_finished); a refusal from the engine ends that.
        QPointer<DevicesDialog> dialog = m_devices_dialog;
        m_bridge.call(
            [code = code.toStdString(), share_history](qt::ClientSession& s) {
                return s.engine().accept_link(code, share_history);
            },
            this,
            [dialog](const Status& st) {
                if (!st && dialog)
                    dialog->link_finished(0, plain_error(st.error()));
            });
        return QString();
    };
    auto* dialog = new DevicesDialog(std::move(actions), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    m_devices_dialog = dialog;
    dialog->open();
    dialog->refresh();
    return dialog;
}

void MainWindow::on_linked(quint32 device_id) {
    // On this (existing) device: a link started from the devices dialog added device_id.
    // (A new device's own link finishes before its window opens: link_summary() tells that.)
    if (m_devices_dialog && m_devices_dialog->link_waiting())
        m_devices_dialog->link_finished(device_id, QString());
    else
        show_banner(tr("Device %1 was linked to your account.").arg(device_id));
}

void MainWindow::on_unlinked() {
    QString text = tr("This device was unlinked from your account on another device. It can no "
                      "longer send or receive.");
    show_banner(text);
    m_devices_action->setEnabled(false);
    if (m_devices_dialog)
        m_devices_dialog->close();
    update_send_enabled();
    // Said once, without blocking: the window stays readable.
    auto* box =
        new QMessageBox(QMessageBox::Warning, tr("Device unlinked"), text, QMessageBox::Ok, this);
    box->setTextFormat(Qt::PlainText);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

// ---- status ----------------------------------------------------------------------------------

void MainWindow::show_error(const QString& text) {
    m_error_label->setText(text);
}

QString MainWindow::state_text() const {
    return m_state_label->text();
}

QString MainWindow::error_text() const {
    return m_error_label->text();
}

QString MainWindow::banner_text() const {
    return m_banner->isHidden() ? QString() : m_banner_label->text();
}

bool MainWindow::header_shows_picture() const {
    return !m_peer_picture->isHidden() && !m_peer_picture->pixmap().isNull();
}

QString MainWindow::read_only_text() const {
    if (m_bridge.is_unlinked())
        return tr("This device was unlinked from your account on another device. It can no "
                  "longer send or receive.");
    if (!m_peer.empty() && !store::is_group_conversation(m_peer) && is_blocked(m_peer))
        return tr("You blocked %1. Unblock to send messages.").arg(display_text(m_peer));
    if (m_needs_accept)
        return tr("Your safety number with %1 changed. Verify it or accept the new key to send "
                  "messages.")
            .arg(display_text(m_peer));
    return m_read_only;
}

bool MainWindow::input_enabled() const {
    return m_input->isEnabled();
}

void MainWindow::update_title() {
    setWindowTitle(window_title(m_conversation_model.total_unread(), m_bridge.username()));
    update_tray();
    if (!m_peer.empty())
        m_peer_label->setText(m_conversation_model.title_of(m_peer));
    update_look_alike_mark();
}

void MainWindow::update_send_enabled() {
    QString why = read_only_text();
    bool writable = !m_peer.empty() && why.isEmpty();
    m_input->setEnabled(writable);
    m_input->setPlaceholderText(writable || m_peer.empty() ? tr("Write a message")
                                                           : tr("Read-only"));
    m_send->setEnabled(writable && (!m_input->text().trimmed().isEmpty() || !m_files.isEmpty()));
    m_attach->setEnabled(writable && m_editing.empty());
    m_read_only_label->setText(why);
    m_read_only_label->setVisible(!why.isEmpty());
}

void MainWindow::closeEvent(QCloseEvent* event) {
    save_window_state();
    if (!m_quitting && tray_available() && stored_close_to_tray()) {
        hide();
        event->ignore();
        if (!m_told_about_tray && m_tray && m_tray->tray()) {
            m_told_about_tray = true;
            m_tray->tray()->showMessage(tr("Veil is still running"),
                                        tr("New messages arrive here. Quit from the tray's "
                                           "menu or with Ctrl+Q."));
        }
        return;
    }
    m_bridge.close();
    event->accept();
    emit closed();
}

} // namespace veil::desktop
