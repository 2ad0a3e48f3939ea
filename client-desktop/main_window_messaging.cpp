// MainWindow's everyday messaging: replies, reactions, edits, deletions, disappearing timers,
// typing, attachments and safety numbers (see main_window.h).
#include "main_window.h"

#include "composer_edit.h"
#include "display_text.h"
#include "emoji_picker.h"
#include "message_delegate.h"
#include "pasted_image.h"
#include "safety_number_dialog.h"
#include "session_bridge.h"
#include "thumbnail.h"
#include "util/log.h"

#include "protocol/limits.h"

#include <QAction>
#include <QClipboard>
#include <QDateTime>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QMenu>
#include <QMessageBox>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QStatusBar>
#include <QTimer>
#include <QToolButton>
#include <QUrl>
#include <QVBoxLayout>

#include <algorithm>

namespace veil::desktop {
namespace {

constexpr const char* kLog = "ui";
constexpr int kComposeQuoteChars = 60;
// The longest line the whole-message dialog lays out as one.
constexpr int kFullTextLineChars = 2000;

// The reactions the menu offers at once; "Other…" asks for any emoji.
const char* const kQuickReactions[] = {"👍", "❤️", "😂", "😮", "😢", "🙏"};

struct TimerChoice {
    std::uint32_t seconds;
    const char* label;
};
const TimerChoice kTimerChoices[] = {
    {0, QT_TRANSLATE_NOOP("MainWindow", "Off")},
    {30, QT_TRANSLATE_NOOP("MainWindow", "30 seconds")},
    {5 * 60, QT_TRANSLATE_NOOP("MainWindow", "5 minutes")},
    {60 * 60, QT_TRANSLATE_NOOP("MainWindow", "1 hour")},
    {24 * 60 * 60, QT_TRANSLATE_NOOP("MainWindow", "1 day")},
    {7 * 24 * 60 * 60, QT_TRANSLATE_NOOP("MainWindow", "1 week")},
};

QLabel* plain_label() {
    auto* label = new QLabel;
    label->setTextFormat(Qt::PlainText);
    return label;
}

bool is_system(const store::MessageRow& row) {
    return row.kind == store::MessageKind::system;
}

bool is_ours(const store::MessageRow& row) {
    return row.direction == store::Direction::outgoing;
}

// Why a file could not be fetched or saved, as the core said it: plain_error() would speak of
// the profile's own files for "corrupt" and of profiles for "already exists".
QString file_error(const Error& error) {
    if (error.code == Errc::disconnected || error.code == Errc::timeout)
        return full_stop(plain_error(error));
    return full_stop(display_text(error.message));
}

bool same_reactions(const std::vector<store::ReactionRow>& a,
                    const std::vector<store::ReactionRow>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
        return x.reactor == y.reactor && x.emoji == y.emoji && x.at_ms == y.at_ms;
    });
}

} // namespace

// ---- building --------------------------------------------------------------------------------

QWidget* MainWindow::build_composer_note() {
    m_compose_note = new QWidget;
    m_compose_note->setObjectName(QStringLiteral("composeNote"));
    m_compose_note->setAttribute(Qt::WA_StyledBackground);
    m_compose_note->setStyleSheet(
        QStringLiteral("#composeNote { background: #eef3f8; border-left: 3px solid #4a7fb5; }"));
    m_compose_label = plain_label();
    m_compose_label->setWordWrap(true);
    auto* cancel = new QToolButton;
    cancel->setText(QStringLiteral("✕"));
    cancel->setToolTip(tr("Cancel (Esc)"));
    cancel->setAccessibleName(tr("Cancel"));
    connect(cancel, &QToolButton::clicked, this, &MainWindow::cancel_compose);
    auto* layout = new QHBoxLayout(m_compose_note);
    layout->setContentsMargins(6, 2, 2, 2);
    layout->addWidget(m_compose_label, 1);
    layout->addWidget(cancel, 0, Qt::AlignTop);
    m_compose_note->hide();
    return m_compose_note;
}

QWidget* MainWindow::build_identity_banner() {
    m_identity_banner = new QWidget;
    m_identity_banner->setObjectName(QStringLiteral("identityBanner"));
    m_identity_banner->setAttribute(Qt::WA_StyledBackground);
    m_identity_banner->setStyleSheet(QStringLiteral(
        "#identityBanner { background: #fde2e1; border: 1px solid #d08080; border-radius: 3px; }"));
    m_identity_label = plain_label();
    m_identity_label->setWordWrap(true);
    auto* verify = new QPushButton(tr("Verify"));
    connect(verify, &QPushButton::clicked, this, &MainWindow::verify_safety_number);
    m_accept_key = new QPushButton(tr("Accept new key"));
    connect(m_accept_key, &QPushButton::clicked, this, [this] {
        if (QString why = accept_new_identity(); !why.isEmpty())
            show_error(why);
    });
    auto* dismiss = new QPushButton(tr("Dismiss"));
    connect(dismiss, &QPushButton::clicked, this, [this] {
        m_identity_changed.erase(m_peer);
        update_conversation_header();
    });
    auto* layout = new QHBoxLayout(m_identity_banner);
    layout->addWidget(m_identity_label, 1);
    layout->addWidget(verify);
    layout->addWidget(m_accept_key);
    layout->addWidget(dismiss);
    m_identity_banner->hide();
    return m_identity_banner;
}

QToolButton* MainWindow::build_conversation_button() {
    m_conversation_menu = new QMenu(tr("Conversation"), this);
    m_conversation_menu->addAction(tr("Disappearing messages…"), this,
                                   &MainWindow::disappearing_dialog);
    m_verify_action = m_conversation_menu->addAction(tr("Verify safety number…"), this,
                                                     &MainWindow::verify_safety_number);
    m_encryption_action =
        m_conversation_menu->addAction(tr("Encryption…"), this, &MainWindow::encryption);
    m_conversation_button = new QToolButton;
    m_conversation_button->setText(tr("Conversation ▾"));
    m_conversation_button->setAccessibleName(tr("Conversation"));
    m_conversation_button->setMenu(m_conversation_menu);
    m_conversation_button->setPopupMode(QToolButton::InstantPopup);
    m_conversation_button->hide();
    return m_conversation_button;
}

// Shortcuts on the message list act on its current message.
void MainWindow::build_message_actions() {
    struct Shortcut {
        QKeySequence keys;
        std::function<void(int)> act;
    };
    const Shortcut shortcuts[] = {
        {QKeySequence(Qt::CTRL | Qt::Key_R), [this](int row) { reply_to(row); }},
        {QKeySequence(Qt::CTRL | Qt::Key_E), [this](int row) { start_edit(row); }},
        {QKeySequence::Copy, [this](int row) { copy_message(row); }},
        {QKeySequence(Qt::SHIFT | Qt::Key_Delete),
         [this](int row) {
             if (can_edit(row) &&
                 QMessageBox::question(this, tr("Delete for everyone"),
                                       tr("Delete this message for everyone?")) == QMessageBox::Yes)
                 if (QString why = delete_for_everyone(row); !why.isEmpty())
                     show_error(why);
         }},
        {QKeySequence(Qt::CTRL | Qt::Key_1),
         [this](int row) { react(row, QString::fromUtf8(kQuickReactions[0])); }},
    };
    for (const auto& shortcut : shortcuts) {
        auto* action = new QAction(m_messages);
        action->setShortcut(shortcut.keys);
        action->setShortcutContext(Qt::WidgetWithChildrenShortcut);
        connect(action, &QAction::triggered, this, [this, act = shortcut.act] {
            if (int row = current_message_row(); row >= 0)
                act(row);
        });
        m_messages->addAction(action);
    }
}

int MainWindow::current_message_row() const {
    QModelIndex current = m_messages->currentIndex();
    return current.isValid() ? current.row() : -1;
}

// Esc in the composer cancels a reply or an edit; Up in an empty one edits our last message.
bool MainWindow::composer_key(QEvent* event) {
    auto* key = static_cast<QKeyEvent*>(event);
    if (key->key() == Qt::Key_Escape && !compose_note().isEmpty()) {
        cancel_compose();
        return true;
    }
    if (key->key() != Qt::Key_Up || key->modifiers() != Qt::NoModifier ||
        !m_input->text().isEmpty() || !m_editing.empty())
        return false;
    for (int row = m_message_model.rowCount() - 1; row >= 0; --row) {
        if (!is_ours(m_message_model.message_at(row)))
            continue;
        if (!can_edit(row))
            return false;
        start_edit(row);
        return true;
    }
    return false;
}

// ---- the message menu ------------------------------------------------------------------------

void MainWindow::show_message_menu(const QPoint& pos) {
    QModelIndex index = m_messages->indexAt(pos);
    if (!index.isValid())
        return;
    m_messages->setCurrentIndex(index);
    if (QMenu* menu = message_menu(index.row()))
        menu->popup(m_messages->viewport()->mapToGlobal(pos));
}

bool MainWindow::can_edit(int row) const {
    if (row < 0 || row >= m_message_model.rowCount())
        return false;
    const auto& message = m_message_model.message_at(row);
    return is_ours(message) && !is_system(message) && !message.deleted && message.id > 0 &&
           message.status != store::MessageStatus::failed &&
           message.status != store::MessageStatus::expired &&
           QDateTime::currentMSecsSinceEpoch() - message.sent_at_ms <= protocol::kEditWindowMs;
}

QMenu* MainWindow::message_menu(int row) {
    if (row < 0 || row >= m_message_model.rowCount())
        return nullptr;
    const store::MessageRow& message = m_message_model.message_at(row);
    if (is_system(message))
        return nullptr;
    const std::int64_t id = message.id;
    // Each action finds its message again by row id: the list may change under an open menu.
    std::function<int()> at = [this, id] { return m_message_model.row_of_id(id); };
    auto* menu = new QMenu(this);
    menu->setAttribute(Qt::WA_DeleteOnClose);
    bool writable = read_only_text().isEmpty();
    // A bubble still waiting for the engine (a negative row id) has no message to act on yet.
    const bool stored = message.id > 0;
    bool usable =
        writable && stored && !message.deleted && message.status != store::MessageStatus::failed;
    if (usable) {
        menu->addAction(tr("Reply") + QStringLiteral("\tCtrl+R"), this,
                        [this, at] { reply_to(at()); });
        add_reaction_menu(*menu, message, at);
    }
    if (writable && can_edit(row)) {
        menu->addAction(tr("Edit") + QStringLiteral("\tCtrl+E"), this,
                        [this, at] { start_edit(at()); });
        menu->addAction(
            tr("Delete for everyone…") + QStringLiteral("\tShift+Del"), this,
            [this, at] {
                if (QMessageBox::question(this, tr("Delete for everyone"),
                                          tr("Delete this message for everyone? They will see "
                                             "\u201cThis message was deleted\u201d.")) !=
                    QMessageBox::Yes)
                    return;
                if (QString why = delete_for_everyone(at()); !why.isEmpty())
                    show_error(why);
            },
            Qt::QueuedConnection);
    }
    if (!message.deleted)
        menu->addAction(tr("Copy") + QStringLiteral("\tCtrl+C"), this,
                        [this, at] { copy_message(at()); });
    if (writable && is_ours(message) &&
        (message.status == store::MessageStatus::expired ||
         message.status == store::MessageStatus::failed))
        menu->addAction(tr("Send again"), this, [this, at] {
            if (QString why = resend(at()); !why.isEmpty())
                show_error(why);
        });
    add_file_actions(*menu, message, at);
    return menu;
}

// React: the common emoji, "Other…" for any one, and taking ours back.
void MainWindow::add_reaction_menu(QMenu& menu, const store::MessageRow& message,
                                   const std::function<int()>& at) {
    QMenu* reactions = menu.addMenu(tr("React"));
    for (const char* emoji : kQuickReactions) {
        reactions->addAction(QString::fromUtf8(emoji), this, [this, at, emoji] {
            if (QString why = react(at(), QString::fromUtf8(emoji)); !why.isEmpty())
                show_error(why);
        });
    }
    reactions->addSeparator();
    reactions->addAction(
        tr("Other…"), this,
        [this, at] {
            bool ok = false;
            QString emoji = QInputDialog::getText(this, tr("React"), tr("Emoji:"),
                                                  QLineEdit::Normal, QString(), &ok)
                                .trimmed();
            if (ok && !emoji.isEmpty())
                if (QString why = react(at(), emoji); !why.isEmpty())
                    show_error(why);
        },
        Qt::QueuedConnection);
    auto mine =
        std::find_if(message.reactions.begin(), message.reactions.end(), [this](const auto& r) {
            return r.reactor == m_bridge.username().toStdString();
        });
    if (mine != message.reactions.end())
        reactions->addAction(tr("Remove my reaction"), this, [this, at] { react(at(), {}); });
}

// Download or save each file of the message, as its state allows.
void MainWindow::add_file_actions(QMenu& menu, const store::MessageRow& message,
                                  const std::function<int()>& at) {
    for (const auto& file : message.attachments) {
        QString name = one_line(file.file_name, 40);
        int index = file.index;
        if (file.state == store::AttachmentState::remote ||
            file.state == store::AttachmentState::failed)
            menu.addAction(plain_label_text(tr("Download %1").arg(name)), this, [this, at, index] {
                if (QString why = download(at(), index); !why.isEmpty())
                    show_error(why);
            });
        else if (file.state == store::AttachmentState::ready)
            menu.addAction(
                plain_label_text(tr("Save %1 as…").arg(name)), this,
                [this, at, index, name] {
                    QString path = QFileDialog::getSaveFileName(this, tr("Save file"), name);
                    if (!path.isEmpty())
                        if (QString why = save_attachment(at(), index, path); !why.isEmpty())
                            show_error(why);
                },
                Qt::QueuedConnection);
    }
}

// ---- actions ---------------------------------------------------------------------------------

QString MainWindow::action_error(const Error& error) {
    QString text;
    switch (error.code) {
    case Errc::untrusted_identity:
        text = tr("%1's safety number changed: accept the new key or verify it before sending.")
                   .arg(display_text(m_peer));
        break;
    default: text = plain_error(error);
    }
    show_error(text);
    return text;
}

void MainWindow::reply_to(int row) {
    if (row < 0 || row >= m_message_model.rowCount())
        return;
    const auto& message = m_message_model.message_at(row);
    if (is_system(message) || message.deleted)
        return;
    m_editing.clear();
    m_reply_to = engine::MessageRef{message.sender, message.message_id};
    m_reply_note =
        tr("Replying to %1: %2")
            .arg(one_line(message.sender, 32), one_line(message.text, kComposeQuoteChars));
    update_compose_note();
    m_input->setFocus();
}

void MainWindow::start_edit(int row) {
    if (!can_edit(row))
        return;
    const auto& message = m_message_model.message_at(row);
    m_reply_to.reset();
    m_files.clear();
    m_editing = message.message_id;
    m_input->setText(QString::fromStdString(message.text));
    update_compose_note();
    m_input->setFocus();
}

void MainWindow::cancel_compose() {
    bool was_editing = !m_editing.empty();
    m_reply_to.reset();
    m_editing.clear();
    m_files.clear();
    if (was_editing)
        m_input->clear();
    update_compose_note();
}

QString MainWindow::compose_note() const {
    return m_compose_note->isHidden() ? QString() : m_compose_label->text();
}

void MainWindow::update_compose_note() {
    QStringList lines;
    if (!m_editing.empty())
        lines << tr("Editing your message");
    else if (m_reply_to)
        lines << m_reply_note;
    if (!m_files.isEmpty()) {
        QStringList names;
        for (const QString& path : m_files)
            names << QFileInfo(path).fileName() + QStringLiteral(" (") +
                         format_size(static_cast<std::uint64_t>(QFileInfo(path).size())) +
                         QLatin1Char(')');
        lines << QStringLiteral("📎 ") + names.join(QStringLiteral(", "));
    }
    m_compose_label->setText(lines.join(QChar(u'\n')));
    m_compose_note->setVisible(!lines.isEmpty());
    update_send_enabled();
}

bool MainWindow::send_composed(const QString& text) {
    std::string utf8 = text.toStdString();
    if (!m_editing.empty()) {
        if (!start_edit_job(m_editing, utf8))
            return false;
    } else {
        PendingSend pending;
        pending.out.text = utf8;
        pending.out.reply_to = m_reply_to;
        for (const QString& path : m_files)
            pending.out.files.emplace_back(path.toStdString());
        pending.files = m_files;
        // The bubble shows at once as "sending"; the engine's own row takes its place once it is
        // stored (finish_send), or it turns failed with "Send again".
        store::MessageRow& row = pending.row;
        row.id = --m_last_local_id;
        row.peer = m_peer;
        row.message_id = Bytes(16, 0);
        for (std::size_t i = 0; i < 8; ++i)
            row.message_id[i] =
                static_cast<std::uint8_t>(static_cast<std::uint64_t>(-row.id) >> (8 * i));
        row.direction = store::Direction::outgoing;
        row.sender = m_bridge.username().toStdString();
        row.text = utf8;
        row.sent_at_ms = QDateTime::currentMSecsSinceEpoch();
        row.received_at_ms = row.sent_at_ms;
        row.status = store::MessageStatus::queued;
        const std::int64_t local = row.id;
        m_pending_sends[local] = std::move(pending);
        if (m_message_model.add(m_pending_sends[local].row))
            m_messages->scrollToBottom();
        post_send(local);
    }
    m_bridge.post([peer = m_peer](qt::ClientSession& s) { s.engine().set_typing(peer, false); });
    m_reply_to.reset();
    m_editing.clear();
    m_files.clear();
    update_compose_note();
    return true;
}

void MainWindow::post_send(std::int64_t local) {
    const PendingSend& pending = m_pending_sends.at(local);
    const std::string peer = pending.row.peer;
    engine::Outgoing out = pending.out;
    const QStringList files = pending.files;
    m_bridge.call(
        [peer, out, files](qt::ClientSession& s) {
            // Previews of pictures are made on the worker: decoding a big photo takes time.
            engine::Outgoing message = out;
            for (const QString& path : files)
                message.thumbnails.push_back(make_thumbnail(path)); // empty for other files
            return s.engine().send(peer, message);
        },
        this, [this, local](const Result<Bytes>& sent) { finish_send(local, sent); });
}

void MainWindow::finish_send(std::int64_t local, const Result<Bytes>& sent) {
    auto pending = m_pending_sends.find(local);
    if (pending == m_pending_sends.end())
        return;
    const std::string peer = pending->second.row.peer;
    if (sent) {
        log::debug(kLog, "queued a message");
        // The engine's row was announced (messageAdded) before this answer: it replaces ours.
        m_message_model.remove(peer, {local});
        const QStringList files = pending->second.files;
        const bool delete_now = pending->second.delete_when_stored;
        m_pending_sends.erase(pending);
        if (delete_now)
            delete_stored(peer, sent.value());
        if (!files.isEmpty())
            preview_sent_files(sent.value(), files);
        // The engine holds its own encrypted copies now: pasted pictures go from disk (a failed
        // send keeps them for "Send again").
        m_pasted->forget(files);
        return;
    }
    pending->second.row.status = store::MessageStatus::failed;
    if (peer == m_peer)
        m_message_model.replace(pending->second.row);
    if (peer == m_peer) {
        action_error(sent.error());
        return;
    }
    // action_error() speaks of the open conversation; this one is another.
    show_error(tr("A message to %1 was not sent: %2")
                   .arg(m_conversation_model.title_of(peer), plain_error(sent.error())));
}

bool MainWindow::start_edit_job(const Bytes& message_id, const std::string& text) {
    int at = -1;
    for (int i = 0; i < m_message_model.rowCount(); ++i)
        if (m_message_model.message_at(i).message_id == message_id)
            at = i;
    if (at < 0)
        return false;
    // The bubble shows the new text at once; a refusal puts the old one back and says why.
    const store::MessageRow original = m_message_model.message_at(at);
    store::MessageRow edited = original;
    edited.text = text;
    edited.edited_at_ms = QDateTime::currentMSecsSinceEpoch();
    m_message_model.replace(edited);
    const std::string peer = m_peer;
    m_bridge.call([peer, message_id,
                   text](qt::ClientSession& s) { return s.engine().edit(peer, message_id, text); },
                  this,
                  [this, original, edited](const Status& st) {
                      if (st) {
                          log::debug(kLog, "edited a message");
                          return;
                      }
                      // Only the bubble as we showed it is reverted: a newer copy from the engine
                      // (another device's edit, a deletion) stays.
                      if (int row = m_message_model.row_of_id(original.id); row >= 0) {
                          const store::MessageRow& now = m_message_model.message_at(row);
                          if (!now.deleted && now.text == edited.text &&
                              now.edited_at_ms == edited.edited_at_ms)
                              m_message_model.replace(original);
                      }
                      show_error(tr("The edit was not saved: %1").arg(plain_error(st.error())));
                  });
    return true;
}

QString MainWindow::react(int row, const QString& emoji) {
    if (row < 0 || row >= m_message_model.rowCount())
        return QString();
    const store::MessageRow original = m_message_model.message_at(row);
    if (original.id < 0)
        return QString();
    // The reaction shows at once (ours replaces ours; "" takes it back).
    store::MessageRow shown = original;
    const std::string me = m_bridge.username().toStdString();
    std::erase_if(shown.reactions, [&](const store::ReactionRow& r) { return r.reactor == me; });
    if (!emoji.isEmpty())
        shown.reactions.push_back({me, emoji.toStdString(), QDateTime::currentMSecsSinceEpoch()});
    m_message_model.replace(shown);
    const std::string peer = m_peer;
    engine::MessageRef target{original.sender, original.message_id};
    m_bridge.call([peer, target, e = emoji.toStdString()](
                      qt::ClientSession& s) { return s.engine().react(peer, target, e); },
                  this,
                  [this, original, shown](const Status& st) {
                      if (st)
                          return;
                      // Only the reactions as we showed them go back: a newer copy from the
                      // engine meanwhile (another device's reaction, an edit, a deletion) is
                      // the store's truth and stays, and so does anything else that changed.
                      if (int at = m_message_model.row_of_id(original.id); at >= 0) {
                          store::MessageRow now = m_message_model.message_at(at);
                          if (same_reactions(now.reactions, shown.reactions)) {
                              now.reactions = original.reactions;
                              m_message_model.replace(now);
                          }
                      }
                      action_error(st.error());
                  });
    return QString();
}

QString MainWindow::delete_for_everyone(int row) {
    if (row < 0 || row >= m_message_model.rowCount())
        return QString();
    Bytes id = m_message_model.message_at(row).message_id;
    if (const std::int64_t local = m_message_model.message_at(row).id; local < 0) {
        // Still sending: the engine has no id for it yet. finish_send() deletes it once stored.
        if (auto pending = m_pending_sends.find(local); pending != m_pending_sends.end())
            pending->second.delete_when_stored = true;
        return QString();
    }
    if (m_editing == id)
        cancel_compose();
    delete_stored(m_peer, id);
    return QString();
}

void MainWindow::delete_stored(const std::string& peer, const Bytes& id) {
    // The bubble changes when the engine announces the deletion (messageChanged).
    m_bridge.call(
        [peer, id](qt::ClientSession& s) { return s.engine().delete_for_everyone(peer, id); }, this,
        [this](const Status& st) {
            if (!st)
                action_error(st.error());
        });
}

void MainWindow::copy_message(int row) {
    if (row < 0 || row >= m_message_model.rowCount())
        return;
    const auto& message = m_message_model.message_at(row);
    if (!message.deleted)
        QGuiApplication::clipboard()->setText(display_text(message.text));
}

QString MainWindow::resend(int row) {
    if (row < 0 || row >= m_message_model.rowCount())
        return QString();
    const store::MessageRow message = m_message_model.message_at(row);
    if (auto pending = m_pending_sends.find(message.id); pending != m_pending_sends.end()) {
        // A send the engine refused before storing it: the same message is asked for again.
        if (pending->second.row.status != store::MessageStatus::failed)
            return QString();
        pending->second.row.status = store::MessageStatus::queued;
        m_message_model.replace(pending->second.row);
        post_send(message.id);
        return QString();
    }
    if (message.id < 0)
        return QString();
    m_bridge.call([id = message.message_id](qt::ClientSession& s) { return s.engine().resend(id); },
                  this,
                  [this](const Result<Bytes>& sent) {
                      if (!sent)
                          action_error(sent.error());
                  });
    return QString();
}

// ---- engine events ---------------------------------------------------------------------------

void MainWindow::on_message_changed(const store::MessageRow& row) {
    replay_after_loading(row.peer, [this, row] {
        m_message_model.replace(row);
        apply_sent_previews(row);
    });
    if (row.peer == m_peer) {
        m_message_model.replace(row);
        apply_sent_previews(row);
        if (row.id == m_files_row_id)
            update_files_panel();
        // A message being edited that someone deleted (another device of ours) is gone.
        if (row.deleted && row.message_id == m_editing)
            cancel_compose();
    }
    reload_conversations();
}

void MainWindow::on_messages_removed(const QString& conversation, const QList<qint64>& ids) {
    std::string peer = conversation.toStdString();
    std::vector<std::int64_t> rows(ids.begin(), ids.end());
    // A reply to, or an edit of, a message that disappeared has nothing left to refer to.
    for (std::int64_t id : rows) {
        int at = peer == m_peer ? m_message_model.row_of_id(id) : -1;
        if (at < 0)
            continue;
        const auto& gone = m_message_model.message_at(at);
        if ((m_reply_to && m_reply_to->message_id == gone.message_id) ||
            (!m_editing.empty() && m_editing == gone.message_id))
            cancel_compose();
    }
    m_message_model.remove(peer, rows);
    replay_after_loading(peer, [this, peer, rows] { m_message_model.remove(peer, rows); });
    if (std::find(rows.begin(), rows.end(), m_files_row_id) != rows.end())
        show_files_of(-1);
    reload_conversations();
}

void MainWindow::on_transfer(qint64 row_id, int index, quint64 done, quint64 total) {
    if (!m_message_model.set_transfer(row_id, index, done, total) || row_id != m_files_row_id)
        return;
    // Progress comes in many small steps: move the bar rather than build the panel again.
    if (auto* bar =
            m_files_panel->findChild<QProgressBar*>(QStringLiteral("transfer%1").arg(index)))
        bar->setValue(std::max(m_message_model.transfer_percent(row_id, index), 0));
    else
        update_files_panel();
}

// ---- typing ----------------------------------------------------------------------------------

void MainWindow::on_input_edited(const QString& text) {
    if (m_peer.empty() || !m_editing.empty())
        return;
    // The engine sends "started" at most every few seconds, so every keystroke may say so (in
    // a group, to each member).
    m_bridge.post([peer = m_peer, typing = !text.isEmpty()](qt::ClientSession& s) {
        s.engine().set_typing(peer, typing);
    });
}

void MainWindow::on_typing_changed(const QString& conversation, const QString& who, bool typing) {
    auto& typists = m_typists[conversation.toStdString()];
    if (typing)
        typists[who.toStdString()] = QDateTime::currentMSecsSinceEpoch() + m_typing_timeout_ms;
    else
        typists.erase(who.toStdString());
    update_typing();
}

void MainWindow::update_typing() {
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    qint64 next = 0;
    for (auto conversation = m_typists.begin(); conversation != m_typists.end();) {
        auto& typists = conversation->second;
        for (auto it = typists.begin(); it != typists.end();) {
            if (it->second <= now) {
                it = typists.erase(it);
                continue;
            }
            next = next == 0 ? it->second : std::min(next, it->second);
            ++it;
        }
        conversation = typists.empty() ? m_typists.erase(conversation) : std::next(conversation);
    }
    if (next > 0)
        m_typing_timer->start(static_cast<int>(next - now));
    else
        m_typing_timer->stop();
    QString text = typing_text();
    m_typing_label->setText(text);
    m_typing_label->setVisible(!text.isEmpty());
}

QString MainWindow::typing_text() const {
    auto typists = m_typists.find(m_peer);
    if (m_peer.empty() || typists == m_typists.end() || typists->second.empty())
        return QString();
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    QStringList names;
    for (const auto& [who, until] : typists->second)
        if (until > now)
            names << one_line(who, 32);
    if (names.isEmpty())
        return QString();
    if (names.size() == 1)
        return tr("%1 is typing…").arg(names.front());
    return tr("%1 are typing…").arg(names.join(QStringLiteral(", ")));
}

// ---- disappearing messages -------------------------------------------------------------------

QString MainWindow::set_disappearing(std::uint32_t seconds) {
    if (m_peer.empty())
        return QString();
    // The header changes when the engine's system line for the new timer arrives; it is read
    // again here once the answer comes, for the conversation that is open then.
    const std::string peer = m_peer;
    m_bridge.call([peer, seconds](
                      qt::ClientSession& s) { return s.engine().set_disappearing(peer, seconds); },
                  this,
                  [this](const Status& st) {
                      if (!st) {
                          action_error(st.error());
                          return;
                      }
                      log::info(kLog, "changed a disappearing timer");
                      update_conversation_header();
                  });
    return QString();
}

QInputDialog* MainWindow::disappearing_dialog() {
    if (m_peer.empty())
        return nullptr;
    QStringList labels;
    for (const auto& choice : kTimerChoices)
        labels << tr(choice.label);
    // The timer as the header shows it (update_conversation_header read it).
    int selected = 0;
    for (std::size_t i = 0; i < std::size(kTimerChoices); ++i)
        if (kTimerChoices[i].seconds == m_timer_seconds)
            selected = static_cast<int>(i);
    auto* dialog = new QInputDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowTitle(tr("Disappearing messages"));
    dialog->setLabelText(tr("New messages in this conversation disappear from every device this "
                            "long after they are sent:"));
    dialog->setComboBoxItems(labels);
    dialog->setComboBoxEditable(false);
    dialog->setTextValue(labels.at(selected));
    connect(dialog, &QInputDialog::textValueSelected, this,
            [this, labels, peer = m_peer](const QString& text) {
                int i = static_cast<int>(labels.indexOf(text));
                if (i < 0 || peer != m_peer)
                    return;
                if (QString why = set_disappearing(kTimerChoices[i].seconds); !why.isEmpty())
                    show_error(why);
            });
    dialog->open();
    return dialog;
}

QString MainWindow::timer_text() const {
    return m_timer_label->isHidden() ? QString() : m_timer_label->text();
}

// ---- the header ------------------------------------------------------------------------------

void MainWindow::update_conversation_header() {
    const bool person = !m_peer.empty() && !store::is_group_conversation(m_peer);
    m_conversation_button->setVisible(!m_peer.empty());
    m_verify_action->setVisible(person);
    if (m_peer.empty()) {
        show_conversation_header(HeaderFacts{});
        return;
    }
    // Until the answer comes the header keeps what it showed; only the answer for the
    // conversation still open is shown.
    m_bridge.read(
        [peer = m_peer, person](store::AccountStore& db) {
            HeaderFacts facts;
            if (auto timer = db.expire_timer(peer); timer)
                facts.timer_seconds = timer.value();
            if (person)
                if (auto trust = db.trust(peer); trust)
                    facts.trust = trust.value();
            return facts;
        },
        this,
        [this, peer = m_peer](const HeaderFacts& facts) {
            if (peer == m_peer)
                show_conversation_header(facts);
        });
}

void MainWindow::show_conversation_header(const HeaderFacts& facts) {
    const bool person = !m_peer.empty() && !store::is_group_conversation(m_peer);
    m_timer_seconds = facts.timer_seconds;
    m_timer_label->setText(QStringLiteral("⏳ ") +
                           QString::fromStdString(engine::describe_timer(m_timer_seconds)));
    m_timer_label->setVisible(m_timer_seconds > 0);
    const store::AccountStore::Trust& trust = facts.trust;
    m_verified_label->setVisible(person && trust.verified);
    m_needs_accept = person && trust.needs_accept;
    bool changed = person && (m_needs_accept || m_identity_changed.count(m_peer) > 0);
    m_identity_label->setText(
        changed ? tr("Your safety number with %1 changed.").arg(display_text(m_peer)) +
                      (m_needs_accept ? QLatin1Char(' ') + tr("Messages to them are held until "
                                                              "you accept the new key.")
                                      : QString())
                : QString());
    m_accept_key->setVisible(m_needs_accept);
    m_identity_banner->setVisible(changed);
    update_typing();
    update_send_enabled();
}

bool MainWindow::header_shows_verified() const {
    return !m_verified_label->isHidden();
}

// ---- safety numbers --------------------------------------------------------------------------

void MainWindow::on_identity_changed(const QString& peer) {
    m_identity_changed.insert(peer.toStdString());
    if (peer.toStdString() == m_peer)
        update_conversation_header();
}

SafetyNumberDialog* MainWindow::verify_safety_number() {
    return verify_safety_number_of(m_peer);
}

SafetyNumberDialog* MainWindow::verify_safety_number_of(const std::string& peer) {
    if (m_safety_dialog) {
        m_safety_dialog->raise();
        m_safety_dialog->activateWindow();
        return m_safety_dialog;
    }
    if (peer.empty() || store::is_group_conversation(peer))
        return nullptr;
    // The dialog opens at once and says it is working the number out (an iterated hash, on
    // the worker); it shows it when the engine answers, or closes and the status bar says why.
    auto* dialog = new SafetyNumberDialog(
        display_text(peer),
        [this, peer](bool verified, SafetyNumberDialog::Answer answer) {
            // Verifying also accepts a changed key (Engine::set_verified).
            m_bridge.call(
                [peer, verified](qt::ClientSession& s) {
                    return s.engine().set_verified(peer, verified);
                },
                this,
                [answer](const Status& st) { answer(st ? QString() : plain_error(st.error())); });
        },
        this);
    QPointer<SafetyNumberDialog> shown(dialog);
    m_bridge.call([peer](qt::ClientSession& s) { return s.engine().safety_number(peer); }, this,
                  [this, shown](const Result<engine::SafetyNumber>& number) {
                      if (!shown)
                          return;
                      if (!number) {
                          show_error(tr("The safety number cannot be shown: %1")
                                         .arg(full_stop(plain_error(number.error()))));
                          shown->show_unavailable(plain_error(number.error()));
                          shown->close();
                          return;
                      }
                      const auto& payload = number->qr_payload;
                      shown->show_number(QString::fromStdString(number->number),
                                         QByteArray(reinterpret_cast<const char*>(payload.data()),
                                                    static_cast<qsizetype>(payload.size())),
                                         number->trust.verified);
                  });
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &SafetyNumberDialog::verifiedChanged, this, [this, peer](bool on) {
        if (on)
            m_identity_changed.erase(peer);
        if (peer == m_peer)
            update_conversation_header();
    });
    m_safety_dialog = dialog;
    dialog->open();
    return dialog;
}

QString MainWindow::accept_new_identity() {
    if (m_peer.empty() || store::is_group_conversation(m_peer))
        return QString();
    // The button shows the wait; the composer stays disabled until the engine has accepted.
    const std::string peer = m_peer;
    m_accept_key->setEnabled(false);
    m_accept_key->setText(tr("Accepting…"));
    m_bridge.call([peer](qt::ClientSession& s) { return s.engine().accept_new_identity(peer); },
                  this,
                  [this, peer](const Status& st) {
                      m_accept_key->setEnabled(true);
                      m_accept_key->setText(tr("Accept new key"));
                      if (!st) {
                          action_error(st.error());
                          return;
                      }
                      log::info(kLog, "accepted a contact's new identity key");
                      m_identity_changed.erase(peer);
                      update_conversation_header();
                  });
    return QString();
}

QString MainWindow::identity_banner_text() const {
    return m_identity_banner->isHidden() ? QString() : m_identity_label->text();
}

bool MainWindow::identity_banner_offers_accept() const {
    return !m_identity_banner->isHidden() && !m_accept_key->isHidden();
}

// ---- attachments -----------------------------------------------------------------------------

void MainWindow::attach_files(const QStringList& paths) {
    if (m_peer.empty() || !read_only_text().isEmpty() || !m_editing.empty())
        return;
    for (const QString& path : paths)
        if (!m_files.contains(path))
            m_files << path;
    while (m_files.size() > static_cast<qsizetype>(protocol::kMaxAttachmentsPerMessage))
        m_files.removeLast();
    if (paths.size() > 0 &&
        m_files.size() == static_cast<qsizetype>(protocol::kMaxAttachmentsPerMessage))
        show_error(
            tr("A message carries at most %1 files.").arg(protocol::kMaxAttachmentsPerMessage));
    update_compose_note();
    m_input->setFocus();
}

// Drops are taken by the central widget (QMainWindow keeps its own drag and drop for docks and
// toolbars): anything dropped over the conversation side that is not taken by a child lands here.
bool MainWindow::handle_drop(QEvent* event) {
    auto* drop = static_cast<QDropEvent*>(event);
    QStringList paths = local_files(drop->mimeData());
    if (m_peer.empty() || paths.isEmpty())
        return false;
    if (event->type() == QEvent::Drop)
        attach_files(paths);
    drop->acceptProposedAction();
    return true;
}

void MainWindow::show_files_of(int row) {
    m_files_row_id =
        row >= 0 && row < m_message_model.rowCount() ? m_message_model.message_at(row).id : 0;
    update_files_panel();
}

void MainWindow::update_files_panel() {
    auto* layout = m_files_panel->layout();
    while (QLayoutItem* item = layout->takeAt(0)) {
        // Later: the button that was clicked may be what led here.
        if (QWidget* old = item->widget()) {
            old->hide();
            old->setParent(nullptr);
            old->deleteLater();
        }
        delete item;
    }
    int row = m_files_row_id ? m_message_model.row_of_id(m_files_row_id) : -1;
    if (row < 0 || m_message_model.message_at(row).attachments.empty()) {
        m_files_panel->hide();
        return;
    }
    const auto& message = m_message_model.message_at(row);
    for (const auto& file : message.attachments)
        layout->addWidget(files_panel_line(message.id, file));
    m_files_panel->show();
}

// One file of the panel: its name and size, a progress bar while it moves, and what can be done
// with it now.
QWidget* MainWindow::files_panel_line(std::int64_t id, const store::AttachmentRow& file) {
    auto* line = new QWidget;
    auto* h = new QHBoxLayout(line);
    h->setContentsMargins(0, 0, 0, 0);
    auto* name = plain_label();
    name->setText(QStringLiteral("📎 ") + one_line(file.file_name, 64) + QStringLiteral("  ·  ") +
                  format_size(file.size));
    h->addWidget(name, 1);
    const int index = file.index;
    if (file.state == store::AttachmentState::downloading ||
        file.state == store::AttachmentState::uploading) {
        auto* bar = new QProgressBar;
        bar->setObjectName(QStringLiteral("transfer%1").arg(index));
        bar->setRange(0, 100);
        bar->setValue(std::max(m_message_model.transfer_percent(id, index), 0));
        bar->setFormat(file.state == store::AttachmentState::uploading ? tr("Uploading %p%")
                                                                       : tr("Downloading %p%"));
        h->addWidget(bar, 1);
    } else if (file.state == store::AttachmentState::remote ||
               file.state == store::AttachmentState::failed) {
        auto* button = new QPushButton(
            file.state == store::AttachmentState::failed ? tr("Download again") : tr("Download"));
        connect(button, &QPushButton::clicked, this,
                [this, id, index] { download(m_message_model.row_of_id(id), index); });
        h->addWidget(button);
    } else if (file.state == store::AttachmentState::ready) {
        auto* button = new QPushButton(tr("Save as…"));
        QString suggested = display_text(file.file_name);
        connect(
            button, &QPushButton::clicked, this,
            [this, id, index, suggested] {
                QString path = QFileDialog::getSaveFileName(this, tr("Save file"), suggested);
                if (!path.isEmpty())
                    save_attachment(m_message_model.row_of_id(id), index, path);
            },
            Qt::QueuedConnection);
        h->addWidget(button);
    }
    return line;
}

QString MainWindow::download(int row, int index) {
    if (row < 0 || row >= m_message_model.rowCount())
        return QString();
    std::int64_t id = m_message_model.message_at(row).id;
    QPointer<MainWindow> self(this);
    auto done = m_bridge.on_gui(std::function<void(Status)>([self](Status st) {
        if (!self || st)
            return;
        if (st.error().code == Errc::busy)
            return; // already on its way: the panel shows its progress
        QString text;
        switch (st.error().code) {
        case Errc::not_found:
            text = tr("The file is no longer on the relay (it expired or was deleted).");
            break;
        case Errc::corrupt:
        case Errc::crypto:
            text = tr("The file arrived damaged and was not kept: %1").arg(file_error(st.error()));
            break;
        default: text = tr("The file could not be downloaded: %1").arg(file_error(st.error()));
        }
        self->show_error(text);
    }));
    // The engine marks the file as downloading without announcing it: read the row again once
    // it has, so that the panel shows a progress bar in place of the button.
    m_bridge.call(
        [id, index, done](qt::ClientSession& s) {
            s.engine().download(id, index, done);
            return s.store().message_by_id(id);
        },
        this,
        [this](const Result<std::optional<store::MessageRow>>& stored) {
            if (stored && stored.value())
                on_message_changed(*stored.value());
        });
    return QString();
}

QString MainWindow::save_attachment(int row, int index, const QString& path) {
    if (row < 0 || row >= m_message_model.rowCount())
        return QString();
    // The engine never overwrites a file; the save dialog has asked about an existing one, so
    // the file is written beside it and then takes its place.
    const bool replace = QFileInfo::exists(path);
    const QString target = replace ? path + QStringLiteral(".veil-saving") : path;
    QFile::remove(target);
    // Decrypting and writing a big file runs on the worker; the status bar says it is saving
    // until the answer comes.
    const std::int64_t id = m_message_model.message_at(row).id;
    const QString name = QFileInfo(path).fileName();
    statusBar()->showMessage(tr("Saving %1…").arg(name));
    m_bridge.call(
        [id, index, target, path, replace, name](qt::ClientSession& s) {
            Status st = s.engine().save_attachment(id, index, target.toStdString());
            if (st && replace && (!QFile::remove(path) || !QFile::rename(target, path))) {
                QFile::remove(target);
                st = make_error(Errc::io, "cannot replace " + name.toStdString());
            }
            return st;
        },
        this,
        [this, id, index, path, name](const Status& st) {
            statusBar()->clearMessage();
            if (!st) {
                show_error(tr("The file could not be saved: %1").arg(file_error(st.error())));
                return;
            }
            show_error(QString());
            statusBar()->showMessage(tr("Saved %1.").arg(name), 5000);
            // The saved copy is plain: an image can now be previewed in its bubble.
            m_message_model.set_preview(id, index, path);
        });
    return QString();
}

// Our own images are previewed from the files we sent them from, once the row lists them.
void MainWindow::preview_sent_files(const Bytes& message_id, const QStringList& paths) {
    m_sent_paths[message_id] = paths;
    m_bridge.read([message_id](store::AccountStore& db) { return db.find_outgoing(message_id); },
                  this,
                  [this](const Result<std::optional<store::MessageRow>>& row) {
                      if (row && row.value())
                          apply_sent_previews(*row.value());
                  });
}

void MainWindow::apply_sent_previews(const store::MessageRow& message) {
    auto sent = m_sent_paths.find(message.message_id);
    if (sent == m_sent_paths.end() || message.attachments.empty())
        return;
    for (const auto& file : message.attachments)
        for (const QString& path : sent->second)
            if (QFileInfo(path).fileName().toStdString() == file.file_name)
                m_message_model.set_preview(message.id, file.index, path);
}

// A click on a file in a bubble: fetch it, or save it once it is here.
void MainWindow::on_file_activated(int row, int index) {
    if (row < 0 || row >= m_message_model.rowCount())
        return;
    m_messages->setCurrentIndex(m_message_model.index(row));
    const auto& message = m_message_model.message_at(row);
    for (const auto& file : message.attachments) {
        if (file.index != index)
            continue;
        if (file.state == store::AttachmentState::remote ||
            file.state == store::AttachmentState::failed) {
            if (QString why = download(row, index); !why.isEmpty())
                show_error(why);
        } else if (file.state == store::AttachmentState::ready) {
            const std::int64_t id = message.id;
            QString suggested = display_text(file.file_name);
            QTimer::singleShot(0, this, [this, id, index, suggested] {
                QString path = QFileDialog::getSaveFileName(this, tr("Save file"), suggested);
                if (!path.isEmpty())
                    save_attachment(m_message_model.row_of_id(id), index, path);
            });
        }
    }
}

QWidget* MainWindow::show_full_text(int row) {
    if (row < 0 || row >= m_message_model.rowCount() ||
        m_message_model.message_at(row).kind == store::MessageKind::system)
        return nullptr;
    const auto& message = m_message_model.message_at(row);
    auto* dialog = new QDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowTitle(
        plain_window_title(tr("Message from %1").arg(one_line(message.sender, 32))));
    auto* text = new QPlainTextEdit;
    text->setAccessibleName(tr("Whole message"));
    text->setReadOnly(true);
    // Plain text only: markup in the message is shown as it was written. Very long lines are
    // shown broken into shorter ones, which keeps the dialog instant; "Copy all" copies the
    // message as it was sent.
    const QString full = m_message_model.full_text(row);
    text->setPlainText(break_long_lines(full, kFullTextLineChars));
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    auto* copy = buttons->addButton(tr("Copy all"), QDialogButtonBox::ActionRole);
    connect(copy, &QPushButton::clicked, dialog,
            [full] { QGuiApplication::clipboard()->setText(full); });
    connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::close);
    auto* layout = new QVBoxLayout(dialog);
    layout->addWidget(text, 1);
    layout->addWidget(buttons);
    const int em = fontMetrics().height();
    dialog->resize(em * 40, em * 30);
    dialog->open();
    return dialog;
}

int MainWindow::show_quoted(int row) {
    if (row < 0 || row >= m_message_model.rowCount() || !m_message_model.message_at(row).quote)
        return -1;
    const Bytes quoted = m_message_model.message_at(row).quote->message_id;
    for (int at = 0; at < m_message_model.rowCount(); ++at) {
        if (m_message_model.message_at(at).message_id != quoted)
            continue;
        QModelIndex index = m_message_model.index(at);
        m_messages->scrollTo(index, QAbstractItemView::PositionAtCenter);
        m_messages->setCurrentIndex(index);
        return at;
    }
    statusBar()->showMessage(tr("The quoted message is not among those shown."), 4000);
    return -1;
}

QWidget* MainWindow::emoji_picker() {
    auto* picker = new EmojiPicker(this);
    connect(picker, &EmojiPicker::picked, this, [this](const QString& emoji) {
        if (m_input->isEnabled())
            m_input->insert(emoji);
    });
    picker->popup_at(m_emoji);
    return picker;
}

} // namespace veil::desktop
