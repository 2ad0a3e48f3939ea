// SettingsDialog (Ctrl+, or Veil > Settings…): the profile (account and device name, shown
// only: the relay protocol has no request to rename either), notifications (on/off, and how
// much a notification shows), read receipts, the Devices and safety number dialogs,
// "Remember on this computer" (the system keyring), "Change passphrase…", the profile's
// snapshots ("Restore from a snapshot…"), the theme and whether closing the window keeps Veil
// in the tray. Each
// change takes effect at once through the owner's callbacks, which store it; a change the
// owner refuses is shown with its reason and the control goes back to the stored value.
//
// Thread: the GUI thread. The dialog only shows; it holds no secret beyond the passphrase
// dialog's fields while that is open.
#pragma once

#include "app_settings.h"
#include "notification.h"

#include "util/secret_bytes.h"

#include <QDialog>
#include <QStringList>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

class QCheckBox;
class QComboBox;
class QLabel;
class QPushButton;

namespace veil::desktop {

class PassphraseDialog;

class SettingsDialog final : public QDialog {
    Q_OBJECT
public:
    struct Values {
        QString username;    // display_text
        QString device_name; // display_text; empty when none
        NotificationSettings notifications;
        bool read_receipts = true;
        bool remembered = false;
        bool keyring = false; // a keyring is there to remember with
        ThemeChoice theme = ThemeChoice::system;
        bool tray = false;                 // the desktop has a tray to keep running in
        bool close_to_tray = true;         // closing the window leaves Veil in the tray
        std::vector<std::string> contacts; // for "Safety number…": usernames
        int snapshots = 0;                 // how many snapshots of the profile there are
        std::int64_t newest_snapshot_ms = 0;
    };
    // Each returns an empty string, or why nothing changed.
    struct Actions {
        std::function<QString(const NotificationSettings&)> set_notifications;
        std::function<QString(bool)> set_read_receipts;
        std::function<QString(bool)> set_remembered;
        std::function<QString(ThemeChoice)> set_theme;
        std::function<QString(bool)> set_close_to_tray;
        std::function<QString(const SecretBytes& old_passphrase, const SecretBytes& new_passphrase)>
            change_passphrase;
        std::function<void()> devices;
        std::function<void(const std::string& contact)> safety_number;
        // Offers the snapshots (RestoreDialog); the owner closes this dialog first.
        std::function<void()> restore_snapshot;
    };

    SettingsDialog(const Values& values, Actions actions, QWidget* parent = nullptr);

    // The controls, for tests.
    QCheckBox& notifications_box() { return *m_notify; }
    QComboBox& preview_box() { return *m_preview; }
    QCheckBox& read_receipts_box() { return *m_receipts; }
    QCheckBox& remember_box() { return *m_remember; }
    QCheckBox& close_to_tray_box() { return *m_close_to_tray; }
    QComboBox& theme_box() { return *m_theme; }
    QComboBox& contact_box() { return *m_contact; }
    QPushButton& devices_button() { return *m_devices; }
    QPushButton& safety_button() { return *m_safety; }
    QPushButton& passphrase_button() { return *m_passphrase; }
    QPushButton& restore_button() { return *m_restore; }
    QString storage_text() const;
    QString error_text() const;
    // Opens "Change passphrase…" (window-modal, deleted when closed) and returns it.
    PassphraseDialog* change_passphrase();

private:
    QWidget* build_profile();
    QWidget* build_notifications();
    QWidget* build_privacy();
    QWidget* build_security();
    QWidget* build_storage();
    QWidget* build_appearance();
    void notifications_edited();
    // Shows why (if anything) and returns whether the change was taken.
    bool taken(const QString& why);

    Values m_values;
    Actions m_actions;
    QCheckBox* m_notify = nullptr;
    QComboBox* m_preview = nullptr;
    QCheckBox* m_receipts = nullptr;
    QCheckBox* m_remember = nullptr;
    QCheckBox* m_close_to_tray = nullptr;
    QComboBox* m_theme = nullptr;
    QComboBox* m_contact = nullptr;
    QPushButton* m_devices = nullptr;
    QPushButton* m_safety = nullptr;
    QPushButton* m_passphrase = nullptr;
    QPushButton* m_restore = nullptr;
    QLabel* m_storage = nullptr;
    QLabel* m_error = nullptr;
};

} // namespace veil::desktop
