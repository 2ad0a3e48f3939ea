#include "link_device_dialog.h"

#include "display_text.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QFontDatabase>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QVBoxLayout>

namespace veil::desktop {
namespace {

QLabel* plain_label(const QString& text = QString()) {
    auto* label = new QLabel(text);
    label->setTextFormat(Qt::PlainText);
    label->setWordWrap(true);
    return label;
}

} // namespace

LinkDeviceDialog::LinkDeviceDialog(Submit submit, QWidget* parent)
    : QDialog(parent)
    , m_submit(std::move(submit)) {
    setWindowTitle(tr("Link a device"));
    auto* intro = plain_label(
        tr("On the new device, choose “Link to an existing account” in Veil desktop (or run "
           "veil link in a terminal). It shows a code: type or paste it here."));
    m_code = new QLineEdit;
    m_code->setPlaceholderText(QStringLiteral("XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-X"));
    QFont mono = QFontDatabase::systemFont(QFontDatabase::FixedFont);
    mono.setStyleHint(QFont::Monospace);
    mono.setFixedPitch(true);
    m_code->setFont(mono);
    m_history = new QCheckBox(tr("Copy recent conversations to it (encrypted)"));
    auto* note = plain_label(tr("The new device will read and send as you, and see the "
                                "conversations of your account from now on."));
    note->setStyleSheet(QStringLiteral("color: #6e6e6e;"));

    auto* form = new QFormLayout;
    form->addRow(plain_label(tr("Code:")), m_code);
    form->addRow(QString(), m_history);

    m_message = plain_label();
    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    m_buttons->button(QDialogButtonBox::Ok)->setText(tr("Link"));
    connect(m_buttons, &QDialogButtonBox::accepted, this, &LinkDeviceDialog::submit);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &LinkDeviceDialog::reject);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(intro);
    layout->addLayout(form);
    layout->addWidget(note);
    layout->addWidget(m_message);
    layout->addWidget(m_buttons);
    setMinimumWidth(480);
}

void LinkDeviceDialog::fill(const QString& code, bool share_history) {
    m_code->setText(code);
    m_history->setChecked(share_history);
}

QString LinkDeviceDialog::code_text() const {
    return m_code->text();
}

bool LinkDeviceDialog::share_history() const {
    return m_history->isChecked();
}

QString LinkDeviceDialog::error_text() const {
    return m_error ? m_message->text() : QString();
}

QString LinkDeviceDialog::status_text() const {
    return m_error ? QString() : m_message->text();
}

void LinkDeviceDialog::submit() {
    if (m_done) {
        accept();
        return;
    }
    if (m_waiting)
        return;
    // Whatever surrounds a pasted code (spaces, a line break) is not part of it.
    QString code = m_code->text().simplified();
    if (code.isEmpty()) {
        show_error(tr("Type or paste the code the new device shows."));
        m_code->setFocus();
        return;
    }
    // Waiting first: the answer may come before the submit function returns.
    set_waiting(true);
    show_status(m_history->isChecked()
                    ? tr("Linking… waiting for the new device, then copying recent "
                         "conversations to it.")
                    : tr("Linking… waiting for the new device."));
    QString refused = m_submit ? m_submit(code, m_history->isChecked()) : QString();
    if (!refused.isEmpty()) {
        set_waiting(false);
        show_error(refused);
        m_code->setFocus();
    }
}

void LinkDeviceDialog::link_succeeded(std::uint32_t device_id) {
    set_waiting(false);
    m_done = true;
    m_code->clear(); // the code worked once and is spent
    m_code->setEnabled(false);
    m_history->setEnabled(false);
    show_status(tr("Device %1 is now linked to your account.").arg(device_id));
    m_buttons->button(QDialogButtonBox::Ok)->setText(tr("Close"));
    m_buttons->button(QDialogButtonBox::Cancel)->hide();
}

void LinkDeviceDialog::link_failed(const QString& text) {
    set_waiting(false);
    show_error(full_stop(text) + QLatin1Char(' ') +
               tr("Start again on the new device, then enter its new code here."));
}

void LinkDeviceDialog::show_error(const QString& text) {
    m_error = true;
    m_message->setStyleSheet(QStringLiteral("color: #a01010;"));
    m_message->setText(text);
}

void LinkDeviceDialog::show_status(const QString& text) {
    m_error = false;
    m_message->setStyleSheet(QString());
    m_message->setText(text);
}

void LinkDeviceDialog::set_waiting(bool waiting) {
    m_waiting = waiting;
    m_code->setEnabled(!waiting);
    m_history->setEnabled(!waiting);
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(!waiting);
}

} // namespace veil::desktop
