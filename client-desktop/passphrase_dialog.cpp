#include "passphrase_dialog.h"

#include <QApplication>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPointer>
#include <QPushButton>
#include <QVBoxLayout>

#include <openssl/crypto.h>

namespace veil::desktop {
namespace {

QLineEdit* password_field(const QString& accessible_name) {
    auto* field = new QLineEdit;
    field->setEchoMode(QLineEdit::Password);
    field->setAccessibleName(accessible_name);
    return field;
}

SecretBytes take(QLineEdit* field) {
    QByteArray utf8 = field->text().toUtf8();
    SecretBytes secret(reinterpret_cast<const std::uint8_t*>(utf8.constData()),
                       static_cast<std::size_t>(utf8.size()));
    if (!utf8.isEmpty())
        OPENSSL_cleanse(utf8.data(), static_cast<std::size_t>(utf8.size()));
    field->clear();
    return secret;
}

} // namespace

PassphraseDialog::PassphraseDialog(Change change, QWidget* parent)
    : QDialog(parent)
    , m_change(std::move(change)) {
    setWindowTitle(tr("Change passphrase"));
    m_current = password_field(tr("Current passphrase"));
    m_next = password_field(tr("New passphrase"));
    m_again = password_field(tr("New passphrase again"));
    auto* form = new QFormLayout;
    form->addRow(tr("Current passphrase:"), m_current);
    form->addRow(tr("New passphrase:"), m_next);
    form->addRow(tr("New passphrase again:"), m_again);
    auto* note = new QLabel(tr("The profile's database is encrypted again under the new "
                               "passphrase. If Veil stops halfway, one of the two passphrases "
                               "still opens it."));
    note->setTextFormat(Qt::PlainText);
    note->setWordWrap(true);
    m_message = new QLabel;
    m_message->setTextFormat(Qt::PlainText);
    m_message->setWordWrap(true);
    m_message->setAccessibleName(tr("Passphrase change status"));
    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    m_buttons->button(QDialogButtonBox::Ok)->setText(tr("Change passphrase"));
    connect(m_buttons, &QDialogButtonBox::accepted, this, &PassphraseDialog::submit);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &PassphraseDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(note);
    layout->addWidget(m_message);
    layout->addWidget(m_buttons);
    setMinimumWidth(420);
}

void PassphraseDialog::fill(const QString& current, const QString& next, const QString& again) {
    m_current->setText(current);
    m_next->setText(next);
    m_again->setText(again);
}

void PassphraseDialog::submit() {
    if (m_waiting)
        return;
    if (m_current->text().isEmpty()) {
        show_message(tr("Type your current passphrase."), true);
        return;
    }
    if (m_next->text().isEmpty()) {
        show_message(tr("Choose a new passphrase."), true);
        return;
    }
    if (m_next->text() != m_again->text()) {
        m_again->clear();
        show_message(tr("The two new passphrases differ. Type the new passphrase again."), true);
        return;
    }
    show_message(tr("Changing the passphrase…"), false);
    SecretBytes current = take(m_current);
    SecretBytes next = take(m_next);
    m_again->clear();
    // The derivations run on the session's thread; the form is busy (not frozen) and takes no
    // second OK until the answer comes.
    setEnabled(false);
    m_waiting = true;
    QPointer<PassphraseDialog> self(this);
    m_change(current, next, [self](const QString& why) {
        if (!self)
            return;
        self->m_waiting = false;
        self->setEnabled(true);
        if (!why.isEmpty()) {
            self->show_message(why, true);
            self->m_current->setFocus();
            return;
        }
        self->show_message(tr("The passphrase changed."), false);
        emit self->changed();
        self->accept();
    });
}

QString PassphraseDialog::message_text() const {
    return m_message->text();
}

void PassphraseDialog::show_message(const QString& text, bool error) {
    m_message->setStyleSheet(error ? QStringLiteral("color: #a01010;") : QString());
    m_message->setText(text);
}

} // namespace veil::desktop
