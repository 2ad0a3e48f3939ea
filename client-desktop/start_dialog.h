// StartDialog: the first window. It opens an existing profile (folder, passphrase) or creates
// one (folder, relay address, username, passphrase twice) and registers it on the relay. It
// closes with accept() once the profile is open and its engine started; until then every
// error is shown in the dialog in plain words and the person can try again.
//
// Thread: the GUI thread. The dialog drives the bridge but does not own it.
#pragma once

#include "engine/engine.h"

#include <QDialog>
#include <QTimer>

class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QTabWidget;

namespace veil::desktop {

class SessionBridge;

class StartDialog final : public QDialog {
    Q_OBJECT
public:
    // profile_dir fills both forms. relay_url (from the command line, may be empty) fills the
    // create form and, when not empty, replaces the stored address of a profile that is opened.
    // The create form is shown first when there is no profile in profile_dir.
    StartDialog(SessionBridge& bridge, const QString& profile_dir, const QString& relay_url,
                QWidget* parent = nullptr);

    // For scripts and tests: fill a form and switch to it; submit() then acts like OK.
    void fill_open(const QString& profile_dir, const QString& passphrase);
    void fill_create(const QString& profile_dir, const QString& relay_url, const QString& username,
                     const QString& passphrase);
    void submit();

    // The error shown, or empty.
    QString error_text() const;
    bool busy() const { return m_registering; }
    // How long registration may take before the relay counts as unreachable.
    void set_register_timeout_ms(int ms) { m_register_timer.setInterval(ms); }

public slots:
    // Cancel: a profile created but not yet registered is removed again.
    void reject() override;

signals:
    // An error is now shown (for scripts, which have no one to read the dialog).
    void errorShown(const QString& text);

private:
    QWidget* build_open_page();
    QWidget* build_create_page();
    bool creating() const;
    void submit_open();
    void submit_create();
    void create_and_register();
    void on_state(engine::State state);
    void registration_failed(const QString& text);
    void show_error(const QString& text);
    void show_progress(const QString& text);
    void set_busy(bool busy);
    void browse(QLineEdit* target);

    SessionBridge& m_bridge;
    QString m_relay_override;
    QTabWidget* m_tabs = nullptr;
    QLineEdit* m_open_dir = nullptr;
    QLineEdit* m_open_passphrase = nullptr;
    QLineEdit* m_create_dir = nullptr;
    QLineEdit* m_relay = nullptr;
    QLineEdit* m_username = nullptr;
    QLineEdit* m_passphrase = nullptr;
    QLineEdit* m_passphrase_again = nullptr;
    QLabel* m_message = nullptr;
    QDialogButtonBox* m_buttons = nullptr;
    QTimer m_register_timer;
    bool m_registering = false;
};

} // namespace veil::desktop
