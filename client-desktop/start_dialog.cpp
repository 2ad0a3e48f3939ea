#include "start_dialog.h"

#include "display_text.h"
#include "session_bridge.h"
#include "store/account_store.h"

#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTabWidget>
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
    m_tabs->addTab(build_create_page(), tr("Create profile"));
    m_open_dir->setText(profile_dir);
    m_create_dir->setText(profile_dir);
    m_relay->setText(relay_url);
    bool has_profile = store::AccountStore::exists(profile_dir.toStdString());
    m_tabs->setCurrentIndex(has_profile ? 0 : 1);

    m_message = new QLabel;
    m_message->setTextFormat(Qt::PlainText);
    m_message->setWordWrap(true);
    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    connect(m_buttons, &QDialogButtonBox::accepted, this, &StartDialog::submit);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &StartDialog::reject);
    connect(m_tabs, &QTabWidget::currentChanged, this, [this] { m_message->clear(); });

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_tabs);
    layout->addWidget(m_message);
    layout->addWidget(m_buttons);
    setMinimumWidth(480);

    m_register_timer.setSingleShot(true);
    m_register_timer.setInterval(kRegisterTimeoutMs);
    connect(&m_register_timer, &QTimer::timeout, this, [this] {
        registration_failed(tr("The relay at %1 did not answer in time. Check the address and "
                               "that the relay is running.")
                                .arg(m_relay->text().trimmed()));
    });
    connect(&m_bridge, &SessionBridge::stateChanged, this, &StartDialog::on_state);
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
    m_username = new QLineEdit;
    m_username->setPlaceholderText(tr("2 to 32 of a-z 0-9 _ . -"));
    m_passphrase = password_field();
    m_passphrase_again = password_field();
    auto* row = new QHBoxLayout;
    auto* browse_button = new QPushButton(tr("Browse…"));
    connect(browse_button, &QPushButton::clicked, this, [this] { browse(m_create_dir); });
    row->addWidget(m_create_dir);
    row->addWidget(browse_button);
    form->addRow(tr("Profile folder:"), row);
    form->addRow(tr("Relay address:"), m_relay);
    form->addRow(tr("Username:"), m_username);
    form->addRow(tr("Passphrase:"), m_passphrase);
    form->addRow(tr("Passphrase again:"), m_passphrase_again);
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
                              const QString& username, const QString& passphrase) {
    m_tabs->setCurrentIndex(1);
    m_create_dir->setText(profile_dir);
    m_relay->setText(relay_url);
    m_username->setText(username);
    m_passphrase->setText(passphrase);
    m_passphrase_again->setText(passphrase);
}

QString StartDialog::error_text() const {
    return m_message->property("error").toBool() ? m_message->text() : QString();
}

bool StartDialog::creating() const {
    return m_tabs->currentIndex() == 1;
}

void StartDialog::submit() {
    if (m_registering)
        return;
    if (creating())
        submit_create();
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
    show_progress(tr("Unlocking the profile…"));
    SecretBytes passphrase = take_passphrase(m_open_passphrase);
    // A relay given on the command line replaces the stored address, as in the terminal app.
    if (auto st = m_bridge.open_profile(dir, passphrase, m_relay_override.toStdString()); !st) {
        show_error(plain_error(st.error()));
        return;
    }
    if (auto st = m_bridge.start(); !st) {
        show_error(plain_error(st.error()));
        m_bridge.close();
        return;
    }
    accept();
}

void StartDialog::submit_create() {
    if (to_path(m_create_dir).empty()) {
        show_error(tr("Choose a folder for the new profile."));
        return;
    }
    if (!valid_relay_url(m_relay->text())) {
        show_error(tr("The relay address must look like ws://HOST:PORT or wss://HOST:PORT."));
        return;
    }
    if (m_username->text().trimmed().isEmpty()) {
        show_error(tr("Choose a username."));
        return;
    }
    if (m_passphrase->text().isEmpty()) {
        show_error(tr("Choose a passphrase."));
        return;
    }
    if (m_passphrase->text() != m_passphrase_again->text()) {
        m_passphrase_again->clear();
        show_error(tr("The two passphrases differ. Type the passphrase again."));
        return;
    }
    show_progress(tr("Creating keys and registering %1 on %2…")
                      .arg(m_username->text().trimmed(), m_relay->text().trimmed()));
    set_busy(true);
    // Key derivation blocks for a moment; let the progress text paint first.
    QTimer::singleShot(0, this, &StartDialog::create_and_register);
}

void StartDialog::create_and_register() {
    SecretBytes passphrase = take_passphrase(m_passphrase);
    m_passphrase_again->clear();
    auto st = m_bridge.create_profile(to_path(m_create_dir), passphrase,
                                      m_username->text().trimmed().toStdString(),
                                      m_relay->text().trimmed().toStdString());
    if (!st) {
        set_busy(false);
        show_error(plain_error(st.error()));
        return;
    }
    m_registering = true;
    m_register_timer.start();
    if (auto started = m_bridge.start(); !started)
        registration_failed(plain_error(started.error()));
}

void StartDialog::on_state(engine::State state) {
    if (!m_registering)
        return;
    switch (state) {
    case engine::State::ready:
        m_registering = false;
        m_register_timer.stop();
        set_busy(false);
        accept();
        return;
    case engine::State::failed:
        registration_failed(m_bridge.last_error() ? plain_error(*m_bridge.last_error())
                                                  : tr("The relay refused the registration."));
        return;
    case engine::State::offline:
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
    show_error(text + QLatin1Char(' ') + tr("Nothing was kept; correct the form and try again."));
    // This may run inside an engine callback, so the session goes away from the event loop.
    QTimer::singleShot(0, this, [this] {
        m_bridge.discard_created_profile();
        set_busy(false);
    });
}

void StartDialog::reject() {
    if (m_registering) {
        m_registering = false;
        m_register_timer.stop();
        m_bridge.discard_created_profile();
    }
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
