// MainWindow: menus, settings, the encryption view, keyboard shortcuts, the tray icon and the
// remembered window state (see main_window.h, "Settings and the rest").
#include "main_window.h"

#include "app_settings.h"
#include "display_text.h"
#include "encryption_dialog.h"
#include "keyring.h"
#include "notifier.h"
#include "safety_number_dialog.h"
#include "session_bridge.h"
#include "settings_dialog.h"
#include "store/account_store.h"
#include "store/snapshot_restore.h"
#include "tray_icon.h"

#include <QAction>
#include <QApplication>
#include <QDialogButtonBox>
#include <QHeaderView>
#include <QLabel>
#include <QListView>
#include <QMenu>
#include <QMenuBar>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

namespace veil::desktop {
namespace {

const QString kGeometryKey = QStringLiteral("window/geometry");
const QString kStateKey = QStringLiteral("window/state");
const QString kMainSplitterKey = QStringLiteral("window/main_splitter");
const QString kBodySplitterKey = QStringLiteral("window/body_splitter");

// "Settings…" -> "Settings", "&Quit" -> "Quit": how an action reads in the shortcut list.
QString action_words(const QAction* action) {
    QString text = action->text();
    text.remove(QLatin1Char('&'));
    if (text.endsWith(QChar(0x2026)))
        text.chop(1);
    return text;
}

QAction* add_action(QMenu* menu, const QString& text, const QList<QKeySequence>& keys) {
    QAction* action = menu->addAction(text);
    action->setShortcuts(keys);
    action->setShortcutContext(Qt::WindowShortcut);
    return action;
}

} // namespace

void MainWindow::build_app_menus() {
    QMenu* app = menuBar()->addMenu(tr("&Veil"));
    QAction* settings_action =
        add_action(app, tr("Settings…"), {QKeySequence(Qt::CTRL | Qt::Key_Comma)});
    connect(settings_action, &QAction::triggered, this, &MainWindow::settings);
    app->addAction(m_devices_action);
    app->addSeparator();
    QAction* quit = add_action(app, tr("&Quit"), {QKeySequence(Qt::CTRL | Qt::Key_Q)});
    connect(quit, &QAction::triggered, this, &MainWindow::quit);

    menuBar()->addMenu(m_conversation_menu);

    QMenu* go = menuBar()->addMenu(tr("&Go"));
    QAction* next =
        add_action(go, tr("Next conversation"),
                   {QKeySequence(Qt::CTRL | Qt::Key_Down), QKeySequence(Qt::ALT | Qt::Key_Down)});
    connect(next, &QAction::triggered, this, [this] { step_conversation(1); });
    QAction* previous =
        add_action(go, tr("Previous conversation"),
                   {QKeySequence(Qt::CTRL | Qt::Key_Up), QKeySequence(Qt::ALT | Qt::Key_Up)});
    connect(previous, &QAction::triggered, this, [this] { step_conversation(-1); });

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    QAction* keys = add_action(help, tr("Keyboard shortcuts…"), {QKeySequence(Qt::Key_F1)});
    connect(keys, &QAction::triggered, this, &MainWindow::keyboard_shortcuts);

    m_tray = new TrayIcon(this);
    connect(m_tray, &TrayIcon::showRequested, this, &MainWindow::bring_to_front);
    connect(m_tray, &TrayIcon::quitRequested, this, &MainWindow::quit);
    m_system_notifier->use_tray(m_tray->tray());
    update_tray();
    restore_window_state();
}

bool MainWindow::tray_available() const {
    return m_tray_probe ? m_tray_probe() : m_tray && m_tray->tray() != nullptr;
}

void MainWindow::quit() {
    m_quitting = true;
    close();
}

void MainWindow::update_tray() {
    if (m_tray)
        m_tray->set_unread(m_conversation_model.total_unread());
}

void MainWindow::bring_to_front() {
    showNormal();
    raise();
    activateWindow();
}

void MainWindow::show_notice(const QString& text) {
    if (!text.isEmpty())
        show_banner(text);
}

// ---- settings --------------------------------------------------------------------------------

SettingsDialog* MainWindow::settings() {
    if (m_settings_dialog) {
        m_settings_dialog->raise();
        m_settings_dialog->activateWindow();
        return m_settings_dialog;
    }
    auto* dialog = new SettingsDialog(settings_values(), settings_actions(), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    m_settings_dialog = dialog;
    dialog->open();
    return dialog;
}

SettingsDialog::Values MainWindow::settings_values() {
    SettingsDialog::Values values;
    values.username = display_text(m_bridge.username().toStdString());
    values.device_name = display_text(m_bridge.device_name().toStdString());
    values.notifications = m_notify;
    values.read_receipts = m_bridge.read_receipts();
    values.keyring = m_keyring != nullptr;
    values.remembered = m_keyring && remembered(keyring_entry(m_bridge.profile_dir()));
    values.theme = stored_theme();
    values.tray = tray_available();
    values.close_to_tray = stored_close_to_tray();
    values.contacts = m_contacts; // as the conversation list last read them
    auto snapshots = store::AccountStore::snapshots(m_bridge.profile_dir());
    values.snapshots = static_cast<int>(snapshots.size());
    if (!snapshots.empty())
        values.newest_snapshot_ms = store::snapshot_time_ms(snapshots.front()).value_or(0);
    return values;
}

SettingsDialog::Actions MainWindow::settings_actions() {
    SettingsDialog::Actions actions;
    actions.set_notifications = [this](const NotificationSettings& s) {
        return set_notification_settings(s);
    };
    actions.set_read_receipts = [this](bool on) {
        // The engine's answer comes later; a refusal shows in the status bar and the menu's
        // check goes back to what the engine holds.
        set_read_receipts(on, [this](const QString& why) {
            if (!why.isEmpty())
                show_error(why);
        });
        return QString();
    };
    actions.set_remembered = [this](bool on) { return set_remember(on); };
    actions.set_theme = [](ThemeChoice theme) {
        apply_theme_choice(theme);
        return QString();
    };
    actions.set_close_to_tray = [](bool on) {
        store_close_to_tray(on);
        return QString();
    };
    actions.change_passphrase = [this](const SecretBytes& old_pass, const SecretBytes& new_pass,
                                       std::function<void(const QString&)> answer) {
        change_passphrase(old_pass, new_pass, std::move(answer));
    };
    actions.devices = [this] { devices(); };
    actions.safety_number = [this](const std::string& contact) {
        verify_safety_number_of(contact);
    };
    actions.restore_snapshot = [this] { restore_from_snapshot(); };
    return actions;
}

QString MainWindow::set_remember(bool on) {
    if (!m_keyring)
        return tr("No keyring is set up for this app.");
    QString entry = keyring_entry(m_bridge.profile_dir());
    Keyring::Answer answer;
    if (on) {
        if (m_bridge.is_busy())
            return tr("The passphrase is being changed; try again in a moment.");
        SecretBytes key = m_bridge.database_key();
        answer = m_keyring->write(entry, key);
    } else {
        answer = m_keyring->remove(entry);
    }
    if (answer.outcome != Keyring::Outcome::ok)
        return keyring_problem(answer);
    set_remembered(entry, on);
    return QString();
}

void MainWindow::change_passphrase(const SecretBytes& old_passphrase,
                                   const SecretBytes& new_passphrase,
                                   std::function<void(const QString&)> answer) {
    auto reply = [answer](const QString& why) {
        if (answer)
            answer(why);
    };
    // The bridge answers on this thread once the worker has re-keyed the file; a window closed
    // meanwhile gets nothing.
    QPointer<MainWindow> self(this);
    m_bridge.change_passphrase(
        old_passphrase, new_passphrase, store::KdfParams{}, [self, reply](Status st) {
            if (!self)
                return;
            if (!st) {
                reply(st.error().code == Errc::wrong_passphrase
                          ? tr("The current passphrase is not right. Nothing changed.")
                          : plain_error(st.error()));
                return;
            }
            reply(self->update_remembered_key());
        });
}

QString MainWindow::update_remembered_key() {
    QString entry = keyring_entry(m_bridge.profile_dir());
    if (!m_keyring || !remembered(entry) || !m_bridge.is_open())
        return QString();
    // The remembered key opens nothing any more: it is replaced, or at least removed.
    SecretBytes key = m_bridge.database_key();
    if (m_keyring->write(entry, key).outcome == Keyring::Outcome::ok)
        return QString();
    m_keyring->remove(entry);
    set_remembered(entry, false);
    show_notice(tr("The passphrase changed, but the system keyring could not remember the new "
                   "one; Veil will ask for it next time."));
    return QString();
}

// ---- encryption view -------------------------------------------------------------------------

EncryptionDialog* MainWindow::encryption() {
    if (m_encryption_dialog)
        m_encryption_dialog->close();
    if (m_peer.empty()) {
        show_error(tr("Open a conversation to see its encryption."));
        return nullptr;
    }
    const std::string peer = m_peer;
    const bool group = store::is_group_conversation(peer);
    EncryptionDialog::Actions actions;
    // Every question runs on the worker; the dialog takes the answers when they come.
    actions.load = [this,
                    peer](EncryptionDialog::Reply<Result<engine::ConversationSecurity>> reply) {
        m_bridge.call(
            [peer](qt::ClientSession& s) { return s.engine().conversation_security(peer); }, this,
            reply);
    };
    actions.safety_number = [this](const std::string& who, EncryptionDialog::Reply<QString> reply) {
        m_bridge.call([who](qt::ClientSession& s) { return s.engine().safety_number(who); }, this,
                      [reply](const Result<engine::SafetyNumber>& number) {
                          reply(number ? QString::fromStdString(number->number) : QString());
                      });
    };
    actions.verify = [this](const std::string& who) { verify_safety_number_of(who); };
    actions.repair = [this, peer, group](EncryptionDialog::Reply<QString> reply) {
        m_bridge.call(
            [peer, group](qt::ClientSession& s) {
                return group ? s.engine().renew_group_key(*store::group_id_of(peer))
                             : s.engine().restart_sessions(peer);
            },
            this, [reply](const Status& st) { reply(st ? QString() : plain_error(st.error())); });
    };
    auto* dialog =
        new EncryptionDialog(m_conversation_model.title_of(peer), group, std::move(actions), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    // New sessions and keys arrive through the engine: the view follows.
    connect(&m_bridge, &SessionBridge::settled, dialog, &EncryptionDialog::refresh);
    connect(&m_bridge, &SessionBridge::identityChanged, dialog, &EncryptionDialog::refresh);
    connect(&m_bridge, &SessionBridge::groupChanged, dialog, &EncryptionDialog::refresh);
    m_encryption_dialog = dialog;
    dialog->open();
    return dialog;
}

// ---- shortcuts -------------------------------------------------------------------------------

QList<QPair<QKeySequence, QString>> MainWindow::shortcut_list() const {
    QList<QPair<QKeySequence, QString>> out;
    // Every window action with a name and keys: toolbar, menus, search.
    for (QAction* action : findChildren<QAction*>()) {
        if (action->text().isEmpty() || action->shortcuts().isEmpty())
            continue;
        for (const QKeySequence& keys : action->shortcuts())
            out.append({keys, action_words(action)});
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
        return a.second == b.second ? a.first.toString() < b.first.toString() : a.second < b.second;
    });
    // Keys handled by widgets rather than window actions (main_window_messaging.cpp).
    const QPair<QKeySequence, QString> widget_keys[] = {
        {QKeySequence(Qt::CTRL | Qt::Key_R), tr("Reply to the selected message")},
        {QKeySequence(Qt::CTRL | Qt::Key_E), tr("Edit the selected message")},
        {QKeySequence(QKeySequence::Copy), tr("Copy the selected message")},
        {QKeySequence(Qt::SHIFT | Qt::Key_Delete), tr("Delete the selected message for everyone")},
        {QKeySequence(Qt::CTRL | Qt::Key_1), tr("React 👍 to the selected message")},
        {QKeySequence(Qt::Key_Up), tr("Edit your last message (in an empty composer)")},
        {QKeySequence(Qt::Key_Escape),
         tr("Cancel a reply or an edit; clear the search; close a dialog")},
    };
    for (const auto& entry : widget_keys)
        out.append(entry);
    return out;
}

QDialog* MainWindow::keyboard_shortcuts() {
    if (m_shortcuts_dialog) {
        m_shortcuts_dialog->raise();
        return m_shortcuts_dialog;
    }
    auto* dialog = new QDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowTitle(tr("Keyboard shortcuts"));
    dialog->setAccessibleName(tr("Keyboard shortcuts"));
    const auto list = shortcut_list();
    auto* table = new QTableWidget(static_cast<int>(list.size()), 2, dialog);
    table->setObjectName(QStringLiteral("shortcutTable"));
    table->setAccessibleName(tr("Shortcuts"));
    table->setHorizontalHeaderLabels({tr("Keys"), tr("Action")});
    table->verticalHeader()->hide();
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table->setSelectionBehavior(QAbstractItemView::SelectRows);
    for (int row = 0; row < list.size(); ++row) {
        table->setItem(row, 0,
                       new QTableWidgetItem(list[row].first.toString(QKeySequence::NativeText)));
        table->setItem(row, 1, new QTableWidgetItem(list[row].second));
    }
    table->resizeColumnsToContents();
    table->horizontalHeader()->setStretchLastSection(true);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, dialog);
    connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::reject);
    auto* layout = new QVBoxLayout(dialog);
    layout->addWidget(table);
    layout->addWidget(buttons);
    dialog->resize(520, 480);
    m_shortcuts_dialog = dialog;
    dialog->open();
    return dialog;
}

void MainWindow::step_conversation(int step) {
    int rows = m_conversation_model.rowCount();
    if (rows == 0)
        return;
    int current = -1;
    for (int row = 0; row < rows; ++row)
        if (m_conversation_model.peer_at(row) == m_peer)
            current = row;
    int target = current < 0 ? (step > 0 ? 0 : rows - 1) : std::clamp(current + step, 0, rows - 1);
    if (target != current)
        open_conversation(m_conversation_model.peer_at(target));
}

// ---- window state ----------------------------------------------------------------------------

void MainWindow::save_window_state() {
    auto settings = app_settings();
    settings->setValue(kGeometryKey, saveGeometry());
    settings->setValue(kStateKey, saveState());
    settings->setValue(kMainSplitterKey, m_main_splitter->saveState());
    settings->setValue(kBodySplitterKey, m_body_splitter->saveState());
}

void MainWindow::restore_window_state() {
    auto settings = app_settings();
    if (auto geometry = settings->value(kGeometryKey).toByteArray(); !geometry.isEmpty())
        restoreGeometry(geometry);
    if (auto state = settings->value(kStateKey).toByteArray(); !state.isEmpty())
        restoreState(state);
    if (auto sizes = settings->value(kMainSplitterKey).toByteArray(); !sizes.isEmpty())
        m_main_splitter->restoreState(sizes);
    if (auto sizes = settings->value(kBodySplitterKey).toByteArray(); !sizes.isEmpty())
        m_body_splitter->restoreState(sizes);
}

} // namespace veil::desktop
