#include "start_dialog.h"

#include "app_settings.h"
#include "device_name.h"
#include "display_text.h"
#include "keyring.h"
#include "link_code_dialog.h"
#include "qt/relay_pin.h"
#include "restore_dialog.h"
#include "session_bridge.h"
#include "store/account_store.h"
#include "util/log.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPointer>
#include <QPushButton>
#include <QTabWidget>
#include <QTimer>
#include <QUrl>
#include <QVBoxLayout>

namespace veil::desktop {
namespace {

constexpr int kRegisterTimeoutMs = 20000;

// The passphrase as SecretBytes; the field is cleared. QString keeps its own copies, which
// cannot be wiped: the field's buffer is out of our hands.
SecretBytes take_passphrase(QLineEdit* field) {
    QByteArray utf8 = field->text().toUtf8();
    SecretBytes secret(reinterpret_cast<const std::uint8_t*>(utf8.constData()),
                       static_cast<std::size_t>(utf8.size()));
    utf8.fill('\0');
    field->clear();
    return secret;
}

std::filesystem::path to_path(const QLineEdit* field) {
    return std::filesystem::path(field->text().trimmed().toStdString());
}

// A certificate pin (#sha256:HEX) is checked apart, by qt::relay_pin, for its own sentence.
bool valid_relay_url(const QString& text) {
    QUrl url(text.trimmed(), QUrl::StrictMode);
    return url.isValid() &&
           (url.scheme() == QLatin1String("ws") || url.scheme() == QLatin1String("wss")) &&
           !url.host().isEmpty() && url.port() > 0;
}

QLineEdit* password_field() {
    auto* field = new QLineEdit;
    field->setEchoMode(QLineEdit::Password);
    return field;
}

} // namespace

StartDialog::StartDialog(SessionBridge& bridge, const QString& profile_dir,
                         const QString& relay_url, QWidget* parent)
    : QDialog(parent)
    , m_bridge(bridge)
    , m_relay_override(relay_url) {
    setWindowTitle(tr("Veil — open or create a profile"));
    m_tabs = new QTabWidget;
    m_tabs->addTab(build_open_page(), tr("Open profile"));
    m_tabs->addTab(build_create_page(), tr("Create account"));
    m_tabs->addTab(build_link_page(), tr("Link to an existing account"));
    m_open_dir->setText(profile_dir);
    m_create_dir->setText(profile_dir);
    m_link_dir->setText(profile_dir);
    m_relay->setText(relay_url);
    m_link_relay->setText(relay_url);
    m_device_name->setText(default_device_name());
    m_link_device_name->setText(default_device_name());
    bool has_profile = store::AccountStore::exists(profile_dir.toStdString());
    m_tabs->setCurrentIndex(has_profile ? 0 : 1);

    m_message = new QLabel;
    m_message->setTextFormat(Qt::PlainText);
    m_message->setWordWrap(true);
    m_remember = new QCheckBox(tr("Remember on this computer"));
    m_remember->setToolTip(tr("Keep the profile's key in the system keyring, so that Veil opens "
                              "without asking for the passphrase on this computer"));
    m_remember->setAccessibleName(tr("Remember the passphrase on this computer"));
    m_remember->hide();
    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    connect(m_buttons, &QDialogButtonBox::accepted, this, &StartDialog::submit);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &StartDialog::reject);
    connect(m_tabs, &QTabWidget::currentChanged, this, [this] { m_message->clear(); });

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_tabs);
    layout->addWidget(m_remember);
    layout->addWidget(m_message);
    layout->addWidget(m_buttons);
    setMinimumWidth(520);

    m_register_timer.setSingleShot(true);
    m_register_timer.setInterval(kRegisterTimeoutMs);
    connect(&m_register_timer, &QTimer::timeout, this, [this] {
        QString relay = (m_linking ? m_link_relay : m_relay)->text().trimmed();
        QString text = tr("The relay at %1 did not answer in time. Check the address and that "
                          "the relay is running.")
                           .arg(relay);
        if (m_linking)
            link_failed(text);
        else
            registration_failed(text);
    });
    connect(&m_bridge, &SessionBridge::stateChanged, this, &StartDialog::on_state);
    connect(&m_bridge, &SessionBridge::linkCode, this, &StartDialog::on_link_code);
    connect(&m_bridge, &SessionBridge::linked, this, &StartDialog::on_linked);
}

QWidget* StartDialog::build_open_page() {
    auto* page = new QWidget;
    auto* form = new QFormLayout(page);
    m_open_dir = new QLineEdit;
    m_open_passphrase = password_field();
    auto* row = new QHBoxLayout;
    auto* browse_button = new QPushButton(tr("Browse…"));
    connect(browse_button, &QPushButton::clicked, this, [this] { browse(m_open_dir); });
    row->addWidget(m_open_dir);
    row->addWidget(browse_button);
    form->addRow(tr("Profile folder:"), row);
    form->addRow(tr("Passphrase:"), m_open_passphrase);
    return page;
}

QWidget* StartDialog::build_create_page() {
    auto* page = new QWidget;
    auto* form = new QFormLayout(page);
    m_create_dir = new QLineEdit;
    m_relay = new QLineEdit;
    m_relay->setPlaceholderText(QStringLiteral("ws://HOST:PORT"));
    m_relay->setToolTip(tr("The relay's address. For a relay with a self-signed certificate, add "
                           "the fingerprint its operator gave you: "
                           "wss://HOST:PORT#sha256:HEX"));
    m_username = new QLineEdit;
    m_username->setPlaceholderText(tr("2 to 32 of a-z 0-9 _ . -"));
    m_passphrase = password_field();
    m_passphrase_again = password_field();
    auto* row = new QHBoxLayout;
    auto* browse_button = new QPushButton(tr("Browse…"));
    connect(browse_button, &QPushButton::clicked, this, [this] { browse(m_create_dir); });
    row->addWidget(m_create_dir);
    row->addWidget(browse_button);
    m_device_name = new QLineEdit;
    m_device_name->setToolTip(tr("How this device is named in your account's list of devices"));
    form->addRow(tr("Profile folder:"), row);
    form->addRow(tr("Relay address:"), m_relay);
    form->addRow(tr("Username:"), m_username);
    form->addRow(tr("This device's name:"), m_device_name);
    form->addRow(tr("Passphrase:"), m_passphrase);
    form->addRow(tr("Passphrase again:"), m_passphrase_again);
    return page;
}

QWidget* StartDialog::build_link_page() {
    auto* page = new QWidget;
    auto* layout = new QVBoxLayout(page);
    auto* intro = new QLabel(tr("Use an account you already have on another device. This "
                                "device gets its own keys; the other device enters the code "
                                "shown next and can copy recent conversations to it."));
    intro->setTextFormat(Qt::PlainText);
    intro->setWordWrap(true);
    auto* form = new QFormLayout;
    m_link_dir = new QLineEdit;
    m_link_relay = new QLineEdit;
    m_link_relay->setPlaceholderText(tr("ws://HOST:PORT, the relay of your account"));
    m_link_relay->setToolTip(m_relay->toolTip());
    m_link_device_name = new QLineEdit;
    m_link_device_name->setToolTip(
        tr("How this device is named in your account's list of devices"));
    m_link_passphrase = password_field();
    m_link_passphrase->setToolTip(tr("Protects this device's copy of the account; it may "
                                     "differ from the passphrase of your other devices"));
    m_link_passphrase_again = password_field();
    auto* row = new QHBoxLayout;
    auto* browse_button = new QPushButton(tr("Browse…"));
    connect(browse_button, &QPushButton::clicked, this, [this] { browse(m_link_dir); });
    row->addWidget(m_link_dir);
    row->addWidget(browse_button);
    form->addRow(tr("Profile folder:"), row);
    form->addRow(tr("Relay address:"), m_link_relay);
    form->addRow(tr("This device's name:"), m_link_device_name);
    form->addRow(tr("Passphrase:"), m_link_passphrase);
    form->addRow(tr("Passphrase again:"), m_link_passphrase_again);
    layout->addWidget(intro);
    layout->addLayout(form);
    return page;
}

void StartDialog::browse(QLineEdit* target) {
    QString dir = QFileDialog::getExistingDirectory(this, tr("Profile folder"), target->text());
    if (!dir.isEmpty())
        target->setText(dir);
}

void StartDialog::fill_open(const QString& profile_dir, const QString& passphrase) {
    m_tabs->setCurrentIndex(0);
    m_open_dir->setText(profile_dir);
    m_open_passphrase->setText(passphrase);
}

void StartDialog::fill_create(const QString& profile_dir, const QString& relay_url,
                              const QString& username, const QString& passphrase,
                              const QString& device_name) {
    if (!device_name.isEmpty())
        m_device_name->setText(device_name);
    m_tabs->setCurrentIndex(1);
    m_create_dir->setText(profile_dir);
    m_relay->setText(relay_url);
    m_username->setText(username);
    m_passphrase->setText(passphrase);
    m_passphrase_again->setText(passphrase);
}

void StartDialog::fill_link(const QString& profile_dir, const QString& relay_url,
                            const QString& passphrase, const QString& device_name) {
    m_tabs->setCurrentIndex(2);
    m_link_dir->setText(profile_dir);
    m_link_relay->setText(relay_url);
    if (!device_name.isEmpty())
        m_link_device_name->setText(device_name);
    m_link_passphrase->setText(passphrase);
    m_link_passphrase_again->setText(passphrase);
}

LinkCodeDialog* StartDialog::link_code_dialog() const {
    return m_link_dialog.data();
}

QString StartDialog::device_name_text() const {
    return (linking_page() ? m_link_device_name : m_device_name)->text().trimmed();
}

QString StartDialog::error_text() const {
    return m_message->property("error").toBool() ? m_message->text() : QString();
}

bool StartDialog::creating() const {
    return m_tabs->currentIndex() == 1;
}

bool StartDialog::linking_page() const {
    return m_tabs->currentIndex() == 2;
}

void StartDialog::submit() {
    if (busy())
        return;
    if (creating())
        submit_create();
    else if (linking_page())
        submit_link();
    else
        submit_open();
}

void StartDialog::submit_open() {
    auto dir = to_path(m_open_dir);
    if (dir.empty()) {
        show_error(tr("Choose the profile folder."));
        return;
    }
    if (!store::AccountStore::exists(dir)) {
        show_error(tr("There is no profile in %1.").arg(m_open_dir->text().trimmed()));
        return;
    }
    open_and_start(dir, take_passphrase(m_open_passphrase));
}

void StartDialog::open_and_start(const std::filesystem::path& dir, SecretBytes passphrase) {
    show_progress(tr("Unlocking the profile…"));
    set_busy(true);
    m_unlocking = true;
    // Kept (wiped with the callback) in case the database is damaged: the restore needs it.
    auto kept = std::make_shared<SecretBytes>(passphrase.clone());
    // The key derivation runs on the session's thread; the dialog stays busy, not frozen.
    // A relay given on the command line replaces the stored address, as in the terminal app.
    QPointer<StartDialog> self(this);
    m_bridge.open_profile(
        dir, passphrase, m_relay_override.toStdString(), [self, dir, kept](Status st) {
            if (!self)
                return;
            if (!st) {
                self->m_unlocking = false;
                self->set_busy(false);
                self->show_error(plain_error(st.error()));
                if (st.error().code == Errc::corrupt &&
                    !store::AccountStore::snapshots(dir).empty())
                    self->offer_restore(dir, plain_error(st.error()), std::move(*kept));
                return;
            }
            self->m_bridge.start([self](Status started) {
                if (!self)
                    return;
                self->m_unlocking = false;
                self->set_busy(false);
                if (!started) {
                    self->show_error(plain_error(started.error()));
                    self->m_bridge.close();
                    return;
                }
                self->finish();
            });
        });
}

void StartDialog::offer_restore(const std::filesystem::path& dir, const QString& why,
                                SecretBytes passphrase) {
    log::warn("ui", "the profile's database is damaged; offering a snapshot");
    auto* dialog = new RestoreDialog(dir, RestoreDialog::Reason::damaged, why, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    if (!passphrase.empty())
        dialog->set_passphrase(std::move(passphrase));
    m_restore_dialog = dialog;
    connect(dialog, &QDialog::finished, this, [this, dialog, dir](int result) {
        m_restore_dialog = nullptr;
        if (result != QDialog::Accepted)
            return; // the error stays shown; the person may try again or quit
        show_error(QString());
        open_and_start(dir, dialog->passphrase().clone());
    });
    dialog->open();
}

RestoreDialog* StartDialog::restore_dialog() const {
    return m_restore_dialog;
}

void StartDialog::set_keyring(Keyring* keyring) {
    m_keyring = keyring;
    m_remember->setVisible(keyring != nullptr);
}

bool StartDialog::open_remembered() {
    auto dir = to_path(m_open_dir);
    if (!m_keyring || busy() || dir.empty() || !store::AccountStore::exists(dir))
        return false;
    QString entry = keyring_entry(dir);
    // Only a profile the person asked to remember is looked up: no keyring prompt otherwise.
    if (!remembered(entry))
        return false;
    // Nothing here waits: the keyring answers through its job, the profile opens on the
    // session's thread, and the dialog paints and can be cancelled meanwhile.
    m_tabs->setCurrentIndex(0);
    show_progress(tr("Opening the profile with the key remembered on this computer…"));
    set_busy(true);
    m_unlocking = true;
    m_keyring->read_later(entry, this,
                          [this, dir, entry](const Keyring::Answer& answer, SecretBytes key) {
                              if (m_unlocking) // not cancelled meanwhile
                                  open_with_remembered_key(dir, entry, answer, std::move(key));
                          });
    return true;
}

void StartDialog::open_with_remembered_key(const std::filesystem::path& dir, const QString& entry,
                                           const Keyring::Answer& answer, SecretBytes key) {
    auto give_up = [this](const QString& why) {
        m_unlocking = false;
        set_busy(false);
        if (why.isEmpty())
            show_progress(QString());
        else
            show_error(why);
    };
    if (answer.outcome == Keyring::Outcome::not_found) {
        set_remembered(entry, false);
        return give_up(QString());
    }
    if (answer.outcome != Keyring::Outcome::ok) {
        log::warn("ui", "the keyring could not give the remembered key; asking for the passphrase");
        return give_up(keyring_problem(answer) + QLatin1Char(' ') + tr("Type your passphrase."));
    }
    QPointer<StartDialog> self(this);
    m_bridge.open_profile_with_key(
        dir, key, m_relay_override.toStdString(), [self, dir, entry, give_up](Status st) {
            if (!self)
                return;
            if (!st && st.error().code == Errc::wrong_passphrase) {
                // The passphrase changed since (perhaps in another run): the key is of no more
                // use.
                log::warn("ui", "the remembered key no longer opens the profile; it was removed");
                self->m_keyring->remove(entry);
                set_remembered(entry, false);
                return give_up(tr("The key remembered on this computer no longer opens the "
                                  "profile (its passphrase changed). Type your passphrase."));
            }
            if (!st) {
                give_up(plain_error(st.error()));
                // The keyring gave a key, not the passphrase: the restore dialog asks for it.
                if (st.error().code == Errc::corrupt &&
                    !store::AccountStore::snapshots(dir).empty())
                    self->offer_restore(dir, plain_error(st.error()), SecretBytes());
                return;
            }
            self->m_bridge.start([self, give_up](Status started) {
                if (!self)
                    return;
                if (!started) {
                    give_up(plain_error(started.error()));
                    self->m_bridge.close();
                    return;
                }
                self->m_unlocking = false;
                self->set_busy(false);
                self->m_remember->setChecked(true);
                self->accept();
            });
        });
}

void StartDialog::finish() {
    m_keyring_note.clear();
    if (m_keyring && m_remember->isChecked() && m_bridge.is_open()) {
        SecretBytes key = m_bridge.database_key();
        QString entry = keyring_entry(m_bridge.profile_dir());
        Keyring::Answer answer = m_keyring->write(entry, key);
        set_remembered(entry, answer.outcome == Keyring::Outcome::ok);
        log::info("ui", answer.outcome == Keyring::Outcome::ok
                            ? "the profile's key is remembered in the keyring"
                            : "the keyring could not remember the profile's key");
        if (answer.outcome != Keyring::Outcome::ok)
            m_keyring_note = keyring_problem(answer) + QLatin1Char(' ') +
                             tr("Veil will ask for the passphrase next time.");
    }
    accept();
}

void StartDialog::submit_create() {
    if (to_path(m_create_dir).empty()) {
        show_error(tr("Choose a folder for the new profile."));
        return;
    }
    if (m_username->text().trimmed().isEmpty()) {
        show_error(tr("Choose a username."));
        return;
    }
    if (!check_new_profile(m_relay, m_device_name, m_passphrase, m_passphrase_again))
        return;
    show_progress(tr("Creating keys and registering %1 on %2…")
                      .arg(m_username->text().trimmed(), m_relay->text().trimmed()));
    set_busy(true);
    // Key derivation blocks for a moment; let the progress text paint first.
    QTimer::singleShot(0, this, &StartDialog::create_and_register);
}

bool StartDialog::check_new_profile(QLineEdit* relay, QLineEdit* device_name, QLineEdit* passphrase,
                                    QLineEdit* again) {
    if (!valid_relay_url(relay->text())) {
        show_error(tr("The relay address must look like ws://HOST:PORT or wss://HOST:PORT."));
        return false;
    }
    if (auto pin = qt::relay_pin(relay->text().trimmed().toStdString()); !pin) {
        show_error(QString::fromStdString(pin.error().message));
        return false;
    }
    if (QString problem = device_name_problem(device_name->text().trimmed()); !problem.isEmpty()) {
        show_error(problem);
        return false;
    }
    if (passphrase->text().isEmpty()) {
        show_error(tr("Choose a passphrase."));
        return false;
    }
    if (passphrase->text() != again->text()) {
        again->clear();
        show_error(tr("The two passphrases differ. Type the passphrase again."));
        return false;
    }
    return true;
}

void StartDialog::create_and_register() {
    SecretBytes passphrase = take_passphrase(m_passphrase);
    m_passphrase_again->clear();
    QPointer<StartDialog> self(this);
    m_bridge.create_profile(to_path(m_create_dir), passphrase,
                            m_username->text().trimmed().toStdString(),
                            m_relay->text().trimmed().toStdString(),
                            m_device_name->text().trimmed().toStdString(), [self](Status st) {
                                if (!self)
                                    return;
                                if (!st) {
                                    self->set_busy(false);
                                    self->show_error(plain_error(st.error()));
                                    return;
                                }
                                self->m_registering = true;
                                self->m_register_timer.start();
                                self->m_bridge.start([self](Status started) {
                                    if (self && !started)
                                        self->registration_failed(plain_error(started.error()));
                                });
                            });
}

// ---- linking ---------------------------------------------------------------------------------

void StartDialog::submit_link() {
    if (to_path(m_link_dir).empty()) {
        show_error(tr("Choose a folder for this device's profile."));
        return;
    }
    if (store::AccountStore::exists(to_path(m_link_dir))) {
        show_error(tr("There is a profile in %1 already; choose an empty folder to link.")
                       .arg(m_link_dir->text().trimmed()));
        return;
    }
    if (!check_new_profile(m_link_relay, m_link_device_name, m_link_passphrase,
                           m_link_passphrase_again))
        return;
    m_link_secret = take_passphrase(m_link_passphrase);
    m_link_passphrase_again->clear();
    show_progress(tr("Preparing this device and asking %1 for a link code…")
                      .arg(m_link_relay->text().trimmed()));
    set_busy(true);
    // Key derivation blocks for a moment; let the progress text paint first.
    QTimer::singleShot(0, this, &StartDialog::create_and_link);
}

void StartDialog::create_and_link() {
    if (!m_link_secret)
        return; // cancelled meanwhile
    // A failed attempt's profile may still be open if "Start again" came first.
    if (m_bridge.is_open())
        m_bridge.discard_created_profile();
    QPointer<StartDialog> self(this);
    m_bridge.create_link_profile(
        to_path(m_link_dir), *m_link_secret, m_link_relay->text().trimmed().toStdString(),
        m_link_device_name->text().trimmed().toStdString(), [self](Status st) {
            if (self)
                self->link_profile_created(st);
        });
}

void StartDialog::link_profile_created(const Status& st) {
    if (!st) {
        end_link_attempt();
        if (m_link_dialog)
            m_link_dialog->reject();
        show_error(plain_error(st.error()));
        return;
    }
    m_linking = true;
    m_register_timer.start();
    if (!m_link_dialog) {
        m_link_dialog = new LinkCodeDialog(this);
        m_link_dialog->setAttribute(Qt::WA_DeleteOnClose);
        connect(m_link_dialog, &QDialog::rejected, this, &StartDialog::link_cancelled);
        connect(m_link_dialog, &LinkCodeDialog::startAgainRequested, this, [this] {
            if (m_linking || !m_link_secret)
                return;
            m_link_dialog->show_waiting(
                tr("Asking %1 for a new link code…").arg(m_link_relay->text().trimmed()));
            set_busy(true);
            QTimer::singleShot(0, this, &StartDialog::create_and_link);
        });
        m_link_dialog->open();
    }
    m_link_dialog->show_waiting(
        tr("Asking %1 for a link code…").arg(m_link_relay->text().trimmed()));
    QPointer<StartDialog> self(this);
    m_bridge.start_link([self](Status started) {
        if (self && !started)
            self->link_failed(plain_error(started.error()));
    });
}

void StartDialog::on_link_code(const QString& text, const QString& qr_payload,
                               qint64 expires_at_ms) {
    if (!m_linking)
        return;
    m_register_timer.stop(); // the engine's own timer ends the code now
    if (m_link_dialog)
        m_link_dialog->show_code(text, qr_payload, expires_at_ms);
    show_progress(tr("Waiting for another device to enter the code…"));
    emit linkCodeShown(text);
}

void StartDialog::on_linked() {
    if (!m_linking)
        return;
    m_linking = false;
    m_register_timer.stop();
    m_link_secret.reset();
    if (m_link_dialog) {
        // Closed as done, not as cancelled.
        disconnect(m_link_dialog, &QDialog::rejected, this, &StartDialog::link_cancelled);
        m_link_dialog->accept();
    }
    set_busy(false);
    // From the event loop: this runs inside an engine callback, and the keyring may wait.
    QTimer::singleShot(0, this, &StartDialog::finish);
}

void StartDialog::link_failed(const QString& text) {
    if (!m_linking)
        return;
    m_linking = false;
    m_register_timer.stop();
    QString shown = full_stop(text) + QLatin1Char(' ') + tr("Nothing was kept.");
    if (m_link_dialog)
        m_link_dialog->show_failure(shown);
    show_error(shown);
    // This may run inside an engine callback, so the session goes away from the event loop.
    QTimer::singleShot(0, this, [this] {
        if (!m_linking)
            m_bridge.discard_created_profile();
        if (!m_link_dialog)
            end_link_attempt();
    });
}

void StartDialog::link_cancelled() {
    bool was_linking = m_linking;
    m_linking = false;
    m_register_timer.stop();
    // Also after a failure whose profile is not discarded yet; a linked profile is not one
    // the bridge discards.
    m_bridge.discard_created_profile();
    end_link_attempt();
    if (was_linking)
        show_progress(tr("Linking was cancelled; nothing was kept."));
}

void StartDialog::end_link_attempt() {
    m_link_secret.reset();
    set_busy(false);
}

void StartDialog::on_state(engine::State state) {
    if (m_linking) {
        if (state == engine::State::failed)
            link_failed(m_bridge.last_error() ? plain_error(*m_bridge.last_error())
                                              : tr("The link was refused."));
        // Signed in as a device of the account: linked, even if the engine's last words on
        // the link were lost (a late failure after the account was stored here).
        if (state == engine::State::ready)
            on_linked();
        return;
    }
    if (!m_registering)
        return;
    switch (state) {
    case engine::State::ready:
        m_registering = false;
        m_register_timer.stop();
        set_busy(false);
        // From the event loop: this runs inside an engine callback, and the keyring may wait.
        QTimer::singleShot(0, this, &StartDialog::finish);
        return;
    case engine::State::failed:
        registration_failed(m_bridge.last_error() ? plain_error(*m_bridge.last_error())
                                                  : tr("The relay refused the registration."));
        return;
    case engine::State::offline:
        // A refused TLS certificate says so (a pin that does not match, or none for a
        // self-signed relay); anything else is the usual advice.
        if (m_bridge.last_error() && m_bridge.last_error()->code == Errc::disconnected &&
            m_bridge.last_error()->message.find("TLS") != std::string::npos) {
            registration_failed(plain_error(*m_bridge.last_error()));
            return;
        }
        registration_failed(tr("Cannot reach the relay at %1. Check the address and that the "
                               "relay is running.")
                                .arg(m_relay->text().trimmed()));
        return;
    default: return;
    }
}

void StartDialog::registration_failed(const QString& text) {
    if (!m_registering)
        return;
    m_registering = false;
    m_register_timer.stop();
    show_error(full_stop(text) + QLatin1Char(' ') +
               tr("Nothing was kept; correct the form and try again."));
    // This may run inside an engine callback, so the session goes away from the event loop.
    QTimer::singleShot(0, this, [this] {
        m_bridge.discard_created_profile();
        set_busy(false);
    });
}

void StartDialog::reject() {
    if (m_unlocking) {
        // Cancelled while the profile opens: whatever answers later finds nothing to do.
        m_unlocking = false;
        m_bridge.close();
    }
    if (m_registering) {
        m_registering = false;
        m_register_timer.stop();
        m_bridge.discard_created_profile();
    }
    if (m_linking || m_link_secret) {
        m_linking = false;
        m_register_timer.stop();
        m_bridge.discard_created_profile();
    }
    m_link_secret.reset();
    QDialog::reject();
}

void StartDialog::show_error(const QString& text) {
    m_message->setProperty("error", true);
    m_message->setStyleSheet(QStringLiteral("color: #a01010;"));
    m_message->setText(text);
    emit errorShown(text);
}

void StartDialog::show_progress(const QString& text) {
    m_message->setProperty("error", false);
    m_message->setStyleSheet(QString());
    m_message->setText(text);
}

void StartDialog::set_busy(bool busy) {
    m_tabs->setEnabled(!busy);
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(!busy);
}

} // namespace veil::desktop
