#include "add_contact_dialog.h"

#include "display_text.h"
#include "theme.h"

#include "util/look_alike.h"

#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QVBoxLayout>

namespace veil::desktop {

AddContactDialog::AddContactDialog(std::vector<std::string> contacts, QWidget* parent)
    : QDialog(parent)
    , m_contacts(std::move(contacts)) {
    setWindowTitle(tr("Add contact"));
    setAccessibleName(tr("Add contact"));
    m_name = new QLineEdit;
    m_name->setAccessibleName(tr("Username"));
    m_name->setPlaceholderText(tr("their username, e.g. bob"));
    m_name->setMaxLength(64);
    connect(m_name, &QLineEdit::textChanged, this, &AddContactDialog::update_warning);

    m_mark = new QLabel(QStringLiteral("\u26A0"));
    m_mark->setTextFormat(Qt::PlainText);
    m_mark->setAccessibleName(tr("Warning: looks like a contact"));
    QFont big = m_mark->font();
    big.setPointSizeF(big.pointSizeF() * 1.3);
    m_mark->setFont(big);
    m_warning = new QLabel;
    m_warning->setTextFormat(Qt::PlainText);
    m_warning->setWordWrap(true);
    m_warning->setAccessibleName(tr("Look-alike warning"));
    m_warning_row = new QWidget;
    auto* row = new QHBoxLayout(m_warning_row);
    row->setContentsMargins(0, 0, 0, 0);
    row->addWidget(m_mark, 0, Qt::AlignTop);
    row->addWidget(m_warning, 1);
    // The room for the warning is kept while it is hidden, so that the dialog does not jump
    // (or cut the sentence) when it appears.
    QSizePolicy keep = m_warning_row->sizePolicy();
    keep.setRetainSizeWhenHidden(true);
    m_warning_row->setSizePolicy(keep);
    m_warning->setMinimumHeight(m_warning->fontMetrics().lineSpacing() * 2);
    m_warning_row->hide();

    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    m_buttons->button(QDialogButtonBox::Ok)->setText(tr("Add"));
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(false);
    connect(m_buttons, &QDialogButtonBox::accepted, this, &AddContactDialog::submit);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &AddContactDialog::reject);

    auto* form = new QFormLayout;
    form->addRow(tr("Username:"), m_name);
    auto* layout = new QVBoxLayout(this);
    const int em = fontMetrics().height();
    layout->setContentsMargins(em, em, em, em * 2 / 3);
    layout->setSpacing(em * 2 / 3);
    layout->addLayout(form);
    layout->addWidget(m_warning_row);
    layout->addStretch(1);
    layout->addWidget(m_buttons);
    setMinimumWidth(em * 26);
}

void AddContactDialog::fill(const QString& name) {
    m_name->setText(name);
}

void AddContactDialog::submit() {
    const QString name = m_name->text().trimmed();
    if (name.isEmpty())
        return;
    emit submitted(name);
    accept();
}

void AddContactDialog::update_warning() {
    const std::string name = m_name->text().trimmed().toStdString();
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(!name.empty());
    auto alike =
        name.empty() ? std::vector<std::string>() : look_alike::look_alikes(name, m_contacts);
    m_looks_like = alike.empty() ? QString() : display_text(alike.front());
    if (m_looks_like.isEmpty()) {
        m_warning_row->hide();
        return;
    }
    const QString sentence = look_alike_warning(name, alike.front());
    m_warning->setText(sentence);
    m_mark->setToolTip(plain_tooltip(sentence));
    m_mark->setStyleSheet(QStringLiteral("color: %1;").arg(theme_colors(palette()).warning.name()));
    m_warning_row->show();
}

} // namespace veil::desktop
