// RestoreDialog: puts back one of a profile's snapshots (AccountStore::snapshots: encrypted
// copies of its database that the app writes at most once a day when it opens the profile) in
// place of its database. It is offered when opening finds the database damaged, and from
// Settings › Storage. It says what happened and what a restore loses, lists the snapshots with
// their time and age (newest first, selected), asks for the passphrase unless it was given
// (set_passphrase), and restores the chosen one on a thread of its own while it shows itself
// busy. The file it replaces is kept beside it as account.db.damaged-<ms>, never deleted.
// Accepted once the restore succeeded; the caller then opens the profile with passphrase().
//
// The profile must not be open while the restore runs (the store's profile lock refuses it).
//
// Thread: the GUI thread.
#pragma once

#include "util/secret_bytes.h"

#include <QDialog>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <vector>

class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QThread;

namespace veil::desktop {

class RestoreDialog final : public QDialog {
    Q_OBJECT
public:
    enum class Reason {
        damaged, // opening found the database damaged (what: the error's sentence)
        chosen,  // the person asked for it (Settings)
        stopped, // the open profile's database showed damage and Veil stopped (what: why)
    };
    RestoreDialog(const std::filesystem::path& profile_dir, Reason reason, const QString& what,
                  QWidget* parent = nullptr);
    ~RestoreDialog() override;

    // The passphrase typed to open the profile: the dialog then does not ask for it.
    void set_passphrase(SecretBytes passphrase);
    // Runs on this thread just before a restore starts (the owner closes the open profile).
    void set_before_restore(std::function<void()> before) { m_before = std::move(before); }
    // After accept: the passphrase that opened the restored snapshot.
    const SecretBytes& passphrase() const { return m_passphrase; }
    // The snapshot that was restored (empty until then).
    const std::filesystem::path& restored_from() const { return m_restored_from; }

    // The listed snapshots, newest first, and the list (its rows in the same order).
    const std::vector<std::filesystem::path>& snapshots() const { return m_snapshots; }
    QListWidget& list() { return *m_list; }
    QLineEdit& passphrase_field() { return *m_passphrase_field; }
    // What the Restore button does: restores the selected snapshot.
    void restore();
    bool busy() const { return m_thread != nullptr; }
    QString error_text() const;
    QString explanation() const;

    // "Sat 5 Dec 2026, 09:14 · 2 days ago" for a snapshot written at ms (both ms since 1970).
    static QString describe(std::int64_t ms, std::int64_t now_ms);

public slots:
    // Not while restoring: the files are being moved.
    void reject() override;

private:
    void finished(const QString& error, const std::filesystem::path& used);
    void show_error(const QString& text);

    std::filesystem::path m_profile_dir;
    std::vector<std::filesystem::path> m_snapshots;
    SecretBytes m_passphrase;
    bool m_have_passphrase = false;
    std::filesystem::path m_restored_from;
    QLabel* m_explanation = nullptr;
    QListWidget* m_list = nullptr;
    QLabel* m_passphrase_label = nullptr;
    QLineEdit* m_passphrase_field = nullptr;
    QLabel* m_message = nullptr;
    QDialogButtonBox* m_buttons = nullptr;
    QThread* m_thread = nullptr; // the restore, while it runs
    std::function<void()> m_before;
};

} // namespace veil::desktop
