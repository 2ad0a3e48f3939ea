#include "settings_dialog.h"

#include "display_text.h"
#include "passphrase_dialog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDateTime>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QPushButton>
#include <QSignalBlocker>
#include <QVBoxLayout>

namespace veil::desktop {
namespace {

QLabel* plain(const QString& text) {
    auto* label = new QLabel(text);
    label->setTextFormat(Qt::PlainText);
    label->setWordWrap(true);
    return label;
}

QLabel* note(const QString& text) {
    QLabel* label = plain(text);
    label->setStyleSheet(QStringLiteral("color: palette(placeholder-text);"));
    return label;
}

} // namespace

SettingsDialog::SettingsDialog(const Values& values, Actions actions, QWidget* parent)
    : QDialog(parent)
    , m_values(values)
    , m_actions(std::move(actions)) {
    setWindowTitle(tr("Settings"));
    setAccessibleName(tr("Settings"));
    m_error = plain(QString());
    m_error->setStyleSheet(QStringLiteral("color: #a01010;"));
    m_error->setAccessibleName(tr("Settings error"));
    m_error->hide();
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    connect(buttons, &QDialogButtonBox::rejected, this, &SettingsDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(build_profile());
    layout->addWidget(build_notifications());
    layout->addWidget(build_privacy());
    layout->addWidget(build_security());
    layout->addWidget(build_storage());
    layout->addWidget(build_appearance());
    layout->addWidget(m_error);
    layout->addWidget(buttons);
    setMinimumWidth(480);
}

QWidget* SettingsDialog::build_profile() {
    auto* box = new QGroupBox(tr("Profile"));
    auto* form = new QFormLayout(box);
    QLabel* account = plain(m_values.username);
    account->setAccessibleName(tr("Account name"));
    form->addRow(plain(tr("Account:")), account);
    QLabel* device = plain(m_values.device_name.isEmpty() ? tr("(no name)") : m_values.device_name);
    device->setAccessibleName(tr("This device's name"));
    m_devices = new QPushButton(tr("Devices…"));
    m_devices->setToolTip(tr("This account's devices: list, remove, link a new one"));
    connect(m_devices, &QPushButton::clicked, this, [this] {
        if (m_actions.devices)
            m_actions.devices();
    });
    auto* row = new QHBoxLayout;
    row->addWidget(device, 1);
    row->addWidget(m_devices);
    form->addRow(plain(tr("This device:")), row);
    form->addRow(note(tr("Your account name is how others find you; it and this device's name "
                         "were fixed when they were made.")));
    return box;
}

QWidget* SettingsDialog::build_notifications() {
    auto* box = new QGroupBox(tr("Notifications"));
    auto* form = new QFormLayout(box);
    m_notify = new QCheckBox(tr("Notify about new messages"));
    m_notify->setChecked(m_values.notifications.enabled);
    m_preview = new QComboBox;
    m_preview->setAccessibleName(tr("What notifications show"));
    m_preview->addItem(tr("Sender and message"));
    m_preview->addItem(tr("Sender only"));
    m_preview->addItem(tr("Nothing (\u201cNew message\u201d)"));
    m_preview->setCurrentIndex(static_cast<int>(m_values.notifications.preview));
    m_preview->setEnabled(m_values.notifications.enabled);
    connect(m_notify, &QCheckBox::toggled, this, [this] { notifications_edited(); });
    connect(m_preview, &QComboBox::currentIndexChanged, this, [this] { notifications_edited(); });
    form->addRow(m_notify);
    form->addRow(plain(tr("Show:")), m_preview);
    return box;
}

QWidget* SettingsDialog::build_privacy() {
    auto* box = new QGroupBox(tr("Privacy"));
    auto* form = new QFormLayout(box);
    m_receipts = new QCheckBox(tr("Send read receipts"));
    m_receipts->setToolTip(tr("Let people see when you have read their messages"));
    m_receipts->setChecked(m_values.read_receipts);
    connect(m_receipts, &QCheckBox::toggled, this, [this](bool on) {
        if (taken(m_actions.set_read_receipts(on)))
            m_values.read_receipts = on;
        QSignalBlocker block(m_receipts);
        m_receipts->setChecked(m_values.read_receipts);
    });
    form->addRow(m_receipts);
    m_contact = new QComboBox;
    m_contact->setAccessibleName(tr("Contact whose safety number to verify"));
    for (const auto& name : m_values.contacts)
        m_contact->addItem(display_text(name), QString::fromStdString(name));
    m_safety = new QPushButton(tr("Safety number…"));
    m_safety->setEnabled(!m_values.contacts.empty());
    connect(m_safety, &QPushButton::clicked, this, [this] {
        if (m_actions.safety_number && m_contact->currentIndex() >= 0)
            m_actions.safety_number(m_contact->currentData().toString().toStdString());
    });
    auto* row = new QHBoxLayout;
    row->addWidget(m_contact, 1);
    row->addWidget(m_safety);
    form->addRow(plain(tr("Verify:")), row);
    return box;
}

QWidget* SettingsDialog::build_security() {
    auto* box = new QGroupBox(tr("Passphrase"));
    auto* form = new QFormLayout(box);
    m_remember = new QCheckBox(tr("Remember on this computer"));
    m_remember->setToolTip(tr("Keep the profile's key in the system keyring, so that Veil opens "
                              "without asking for the passphrase"));
    m_remember->setChecked(m_values.remembered);
    m_remember->setEnabled(m_values.keyring);
    connect(m_remember, &QCheckBox::toggled, this, [this](bool on) {
        if (taken(m_actions.set_remembered(on)))
            m_values.remembered = on;
        QSignalBlocker block(m_remember);
        m_remember->setChecked(m_values.remembered);
    });
    m_passphrase = new QPushButton(tr("Change passphrase…"));
    connect(m_passphrase, &QPushButton::clicked, this, &SettingsDialog::change_passphrase);
    // One row: the dialog must fit a small screen without squeezing its notes.
    auto* row = new QHBoxLayout;
    row->addWidget(m_remember);
    row->addStretch(1);
    row->addWidget(m_passphrase);
    form->addRow(row);
    return box;
}

QWidget* SettingsDialog::build_storage() {
    auto* box = new QGroupBox(tr("Storage"));
    auto* form = new QFormLayout(box);
    const QString newest =
        QLocale().toString(QDateTime::fromMSecsSinceEpoch(m_values.newest_snapshot_ms),
                           QStringLiteral("d MMM yyyy, HH:mm"));
    m_storage =
        plain(m_values.snapshots == 0 ? tr("No snapshot yet")
              : m_values.snapshots == 1
                  ? tr("1 snapshot, from %1").arg(newest)
                  : tr("%1 snapshots, the newest from %2").arg(m_values.snapshots).arg(newest));
    m_storage->setWordWrap(false);
    const QString why = tr("Veil keeps an encrypted copy of this profile from each of the last "
                           "days it opened it, to restore if the profile is damaged.");
    m_storage->setToolTip(why);
    m_restore = new QPushButton(tr("Restore from a snapshot…"));
    m_restore->setToolTip(why);
    m_restore->setEnabled(m_values.snapshots > 0 && static_cast<bool>(m_actions.restore_snapshot));
    connect(m_restore, &QPushButton::clicked, this, [this] {
        auto restore = m_actions.restore_snapshot;
        close(); // the profile is closed for the restore: nothing here would stay true
        restore();
    });
    auto* row = new QHBoxLayout;
    row->addWidget(m_storage);
    row->addStretch(1);
    row->addWidget(m_restore);
    form->addRow(row);
    return box;
}

QString SettingsDialog::storage_text() const {
    return m_storage->text();
}

QWidget* SettingsDialog::build_appearance() {
    auto* box = new QGroupBox(tr("Appearance"));
    auto* form = new QFormLayout(box);
    m_theme = new QComboBox;
    m_theme->setAccessibleName(tr("Theme"));
    m_theme->addItem(tr("System"));
    m_theme->addItem(tr("Light"));
    m_theme->addItem(tr("Dark"));
    m_theme->setCurrentIndex(static_cast<int>(m_values.theme));
    connect(m_theme, &QComboBox::currentIndexChanged, this, [this](int index) {
        auto theme = static_cast<ThemeChoice>(index);
        if (taken(m_actions.set_theme(theme)))
            m_values.theme = theme;
        QSignalBlocker block(m_theme);
        m_theme->setCurrentIndex(static_cast<int>(m_values.theme));
    });
    form->addRow(plain(tr("Theme:")), m_theme);
    m_close_to_tray = new QCheckBox(tr("Keep running in the tray when the window is closed"));
    m_close_to_tray->setToolTip(m_values.tray
                                    ? tr("Messages keep arriving and notifying; Quit (Ctrl+Q) "
                                         "ends Veil")
                                    : tr("This desktop has no system tray"));
    m_close_to_tray->setChecked(m_values.tray && m_values.close_to_tray);
    m_close_to_tray->setEnabled(m_values.tray);
    connect(m_close_to_tray, &QCheckBox::toggled, this, [this](bool on) {
        if (m_actions.set_close_to_tray && taken(m_actions.set_close_to_tray(on)))
            m_values.close_to_tray = on;
        QSignalBlocker block(m_close_to_tray);
        m_close_to_tray->setChecked(m_values.close_to_tray);
    });
    form->addRow(m_close_to_tray);
    return box;
}

void SettingsDialog::notifications_edited() {
    NotificationSettings wanted;
    wanted.enabled = m_notify->isChecked();
    wanted.preview = static_cast<NotificationPreview>(m_preview->currentIndex());
    if (taken(m_actions.set_notifications(wanted)))
        m_values.notifications = wanted;
    QSignalBlocker block_notify(m_notify);
    QSignalBlocker block_preview(m_preview);
    m_notify->setChecked(m_values.notifications.enabled);
    m_preview->setCurrentIndex(static_cast<int>(m_values.notifications.preview));
    m_preview->setEnabled(m_values.notifications.enabled);
}

bool SettingsDialog::taken(const QString& why) {
    m_error->setText(why);
    m_error->setVisible(!why.isEmpty());
    return why.isEmpty();
}

QString SettingsDialog::error_text() const {
    return m_error->isHidden() ? QString() : m_error->text();
}

PassphraseDialog* SettingsDialog::change_passphrase() {
    auto* dialog = new PassphraseDialog(m_actions.change_passphrase, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowModality(Qt::WindowModal);
    dialog->open();
    return dialog;
}

} // namespace veil::desktop
