// StartDialog: the first window. It opens an existing profile (folder, passphrase), creates
// one (folder, relay address, username, this device's name, passphrase twice) and registers it
// on the relay, or links a new profile to an existing account (folder, relay address, this
// device's name, passphrase twice): the link code is then shown in a LinkCodeDialog until
// another device of the account enters it. It closes with accept() once the profile is open and
// its engine started (or linked); until then every error is shown in the dialog in plain words
// and the person can try again. A creation or link that fails or is cancelled keeps nothing.
//
// Keyring (set_keyring): a "Remember on this computer" box under the forms keeps the opened or
// created profile's database key in the system keyring (keyring.h); open_remembered() then
// opens the profile without the passphrase. A keyring that is absent, fails or holds a key that
// no longer opens the profile leaves the passphrase form as it was, with a sentence saying why;
// a stale key is removed.
//
// A damaged database (the integrity check at open fails) is not a dead end: when the profile has
// snapshots, a RestoreDialog offers to put one back and, once it has, the profile is opened.
//
// Thread: the GUI thread. The dialog drives the bridge but does not own it.
#pragma once

#include "engine/engine.h"
#include "keyring.h"
#include "util/secret_bytes.h"

#include <QDialog>
#include <QPointer>
#include <QTimer>

#include <optional>

class QCheckBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QTabWidget;

namespace veil::desktop {

class LinkCodeDialog;
class RestoreDialog;
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
                     const QString& passphrase, const QString& device_name = QString());
    // device_name empty: the default ("Veil desktop on HOST") stays.
    void fill_link(const QString& profile_dir, const QString& relay_url, const QString& passphrase,
                   const QString& device_name = QString());
    void submit();

    // The keyring for "Remember on this computer" (not owned; nullptr: no box, nothing kept).
    void set_keyring(Keyring* keyring);
    QCheckBox& remember_box() { return *m_remember; }
    // Starts opening the profile in the open form with the key the keyring holds for it, then
    // its engine, without waiting: true when it started (the person asked to remember this
    // profile). The dialog is busy meanwhile ("Opening the profile…"), paints and can be
    // cancelled (reject() closes what was opened); it is accepted once the engine started.
    // Otherwise it becomes usable again as it was, with a sentence when the keyring could not
    // help (unavailable, failing, stale key). false: nothing to do, the dialog is unchanged.
    bool open_remembered();
    // What happened to "Remember on this computer" when the dialog was accepted (a keyring
    // problem), for the main window; empty when nothing needs saying.
    QString keyring_note() const { return m_keyring_note; }

    // The error shown, or empty.
    QString error_text() const;
    // Unlocking, registering, linking, or a failed link's "Start again" still offered.
    bool busy() const {
        return m_unlocking || m_registering || m_linking || m_link_secret.has_value() ||
               !m_restore_dialog.isNull();
    }
    // While linking: the dialog showing the code (nullptr otherwise).
    LinkCodeDialog* link_code_dialog() const;
    // While a restore from a snapshot is offered: its dialog (nullptr otherwise).
    RestoreDialog* restore_dialog() const;
    // The device name in the create and link forms.
    QString device_name_text() const;
    // How long registration may take before the relay counts as unreachable.
    void set_register_timeout_ms(int ms) { m_register_timer.setInterval(ms); }

public slots:
    // Cancel: a profile created but not yet registered is removed again.
    void reject() override;

signals:
    // An error is now shown (for scripts, which have no one to read the dialog).
    void errorShown(const QString& text);
    // The link code is now shown (for scripts: text is what `veil link accept` takes).
    void linkCodeShown(const QString& text);

private:
    QWidget* build_open_page();
    QWidget* build_create_page();
    QWidget* build_link_page();
    bool creating() const;
    bool linking_page() const;
    void submit_open();
    // open_remembered() once the keyring has answered.
    void open_with_remembered_key(const std::filesystem::path& dir, const QString& entry,
                                  const Keyring::Answer& answer, SecretBytes key);
    // Opens dir with passphrase and starts the engine; then finish() or an error shown.
    void open_and_start(const std::filesystem::path& dir, SecretBytes passphrase);
    // The database of dir is damaged (why): offers its snapshots, then opens the restored one.
    void offer_restore(const std::filesystem::path& dir, const QString& why,
                       SecretBytes passphrase);
    void submit_create();
    void submit_link();
    // Checks the relay address, device name and the two passphrases of a form.
    bool check_new_profile(QLineEdit* relay, QLineEdit* device_name, QLineEdit* passphrase,
                           QLineEdit* again);
    void create_and_register();
    void create_and_link();
    // The worker finished making the link profile: show the code dialog and start the link.
    void link_profile_created(const Status& st);
    void on_state(engine::State state);
    void on_link_code(const QString& text, const QString& qr_payload, qint64 expires_at_ms);
    void on_linked();
    void registration_failed(const QString& text);
    void link_failed(const QString& text);
    void link_cancelled();
    void end_link_attempt();
    void show_error(const QString& text);
    void show_progress(const QString& text);
    void set_busy(bool busy);
    // Accepts the dialog once the profile is open, keeping its key when asked to.
    void finish();
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
    QLineEdit* m_device_name = nullptr;
    QLineEdit* m_link_dir = nullptr;
    QLineEdit* m_link_relay = nullptr;
    QLineEdit* m_link_device_name = nullptr;
    QLineEdit* m_link_passphrase = nullptr;
    QLineEdit* m_link_passphrase_again = nullptr;
    QLabel* m_message = nullptr;
    QCheckBox* m_remember = nullptr;
    Keyring* m_keyring = nullptr;
    QString m_keyring_note;
    QDialogButtonBox* m_buttons = nullptr;
    QTimer m_register_timer;
    bool m_unlocking = false; // the profile is being opened on the session thread
    bool m_registering = false;
    // Linking: a link profile is open and waits for its code or the other device.
    bool m_linking = false;
    QPointer<LinkCodeDialog> m_link_dialog;
    QPointer<RestoreDialog> m_restore_dialog;
    // The passphrase typed for the link, kept (wiped on destruction) until the link ends so
    // that "Start again" can make the profile anew without asking for it again.
    std::optional<SecretBytes> m_link_secret;
};

} // namespace veil::desktop
