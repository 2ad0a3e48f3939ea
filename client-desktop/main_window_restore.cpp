// MainWindow: restoring the open profile from one of its snapshots (Settings › Storage), see
// main_window.h.
#include "main_window.h"

#include "display_text.h"
#include "restore_dialog.h"
#include "session_bridge.h"
#include "util/log.h"

#include <QPointer>
#include <QStatusBar>

#include <memory>

namespace veil::desktop {

RestoreDialog* MainWindow::restore_from_snapshot() {
    return open_restore_dialog(RestoreDialog::Reason::chosen, QString());
}

RestoreDialog* MainWindow::offer_restore_after_damage(const QString& what) {
    if (store::AccountStore::snapshots(m_bridge.profile_dir()).empty()) {
        show_error(tr("%1 This profile has no snapshot to restore.").arg(what));
        return nullptr;
    }
    return open_restore_dialog(RestoreDialog::Reason::stopped, what);
}

RestoreDialog* MainWindow::open_restore_dialog(RestoreDialog::Reason reason, const QString& what) {
    if (!m_bridge.is_open() || m_bridge.is_busy())
        return nullptr;
    const std::filesystem::path dir = m_bridge.profile_dir();
    // A snapshot is encrypted under the database key of its day, and a passphrase change
    // removes the snapshots of the old key: the key of now opens whatever is restored.
    auto key = std::make_shared<SecretBytes>(m_bridge.database_key());
    auto* dialog = new RestoreDialog(dir, reason, what, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    // The store's profile lock refuses a restore while the profile is open here.
    dialog->set_before_restore([this] {
        if (m_bridge.is_open()) {
            log::info("ui", "closing the profile for a restore from a snapshot");
            m_bridge.close();
        }
    });
    QPointer<MainWindow> self(this);
    connect(dialog, &QDialog::finished, this, [self, dir, key](int) {
        if (!self || self->m_bridge.is_open())
            return; // cancelled before anything was closed
        self->statusBar()->showMessage(tr("Opening the profile…"));
        self->m_bridge.open_profile_with_key(dir, *key, std::string(), [self](Status st) {
            if (!self)
                return;
            if (!st) {
                self->show_error(plain_error(st.error()));
                return;
            }
            self->m_reopened = true;
            self->statusBar()->clearMessage();
            // Everything shown came from the database before the restore: read it again.
            const std::string peer = self->m_peer;
            self->reload_conversations();
            if (!peer.empty())
                self->open_conversation(peer);
            self->m_bridge.start([self](Status started) {
                if (self && !started)
                    self->show_error(plain_error(started.error()));
            });
        });
    });
    dialog->open();
    return dialog;
}

} // namespace veil::desktop
