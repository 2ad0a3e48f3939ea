#include "new_group_dialog.h"

#include "display_text.h"
#include "protocol/envelope_codec.h"
#include "protocol/limits.h"

#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QVBoxLayout>

#include <algorithm>

namespace veil::desktop {
namespace {

QString quoted(const QString& name) {
    return QStringLiteral("“") + name + QStringLiteral("”");
}

// "“A”", "“A” and “B”", "“A”, “B” and “C”".
QString listed(const QStringList& names) {
    if (names.size() <= 1)
        return names.value(0);
    return names.mid(0, names.size() - 1).join(QStringLiteral(", ")) + QLatin1Char(' ') +
           QObject::tr("and") + QLatin1Char(' ') + names.last();
}

QString invalid_names_sentence(const QStringList& bad, const QStringList& lowercase_hints) {
    QString text = bad.size() == 1 ? QObject::tr("%1 is not a valid username.").arg(bad.first())
                                   : QObject::tr("%1 are not valid usernames.").arg(listed(bad));
    text += QLatin1Char(' ') + QObject::tr("A username is 2 to 32 of a-z 0-9 _ . - and starts "
                                           "with a letter or a digit.");
    if (!lowercase_hints.isEmpty())
        text += QLatin1Char(' ') + QObject::tr("Did you mean %1?").arg(listed(lowercase_hints));
    return text;
}

} // namespace

ParsedMembers parse_members(const QString& text, const std::string& own_name) {
    static const QRegularExpression separators(QStringLiteral("[\\s,;]+"));
    ParsedMembers out;
    QStringList bad;
    QStringList hints;
    for (const QString& word : text.split(separators, Qt::SkipEmptyParts)) {
        std::string name = word.toStdString();
        if (!protocol::valid_username(name)) {
            bad << quoted(display_text(name));
            std::string lower = word.toLower().toStdString();
            if (protocol::valid_username(lower))
                hints << quoted(QString::fromStdString(lower));
            continue;
        }
        if (name == own_name ||
            std::find(out.names.begin(), out.names.end(), name) != out.names.end())
            continue;
        out.names.push_back(std::move(name));
    }
    if (!bad.isEmpty()) {
        out.names.clear();
        out.error = invalid_names_sentence(bad, hints);
        return out;
    }
    // We are a member too.
    if (out.names.size() + 1 > protocol::kMaxGroupMembers) {
        out.error = QObject::tr("A group holds at most %1 members, you included; this list names "
                                "%2 others.")
                        .arg(protocol::kMaxGroupMembers)
                        .arg(out.names.size());
        out.names.clear();
    }
    return out;
}

NewGroupDialog::NewGroupDialog(std::string own_name, Submit submit, QWidget* parent)
    : QDialog(parent)
    , m_own_name(std::move(own_name))
    , m_submit(std::move(submit)) {
    setWindowTitle(tr("New group"));
    m_name = new QLineEdit;
    m_name->setPlaceholderText(tr("e.g. Hikers"));
    m_members = new QLineEdit;
    m_members->setPlaceholderText(tr("usernames, e.g. bob, carol"));
    auto* form = new QFormLayout;
    form->addRow(tr("Group name:"), m_name);
    form->addRow(tr("Members:"), m_members);
    auto* hint = new QLabel(tr("Separate usernames with commas or spaces. You are an admin of "
                               "the group and can add people later."));
    hint->setTextFormat(Qt::PlainText);
    hint->setWordWrap(true);

    m_message = new QLabel;
    m_message->setTextFormat(Qt::PlainText);
    m_message->setWordWrap(true);
    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    m_buttons->button(QDialogButtonBox::Ok)->setText(tr("Create group"));
    connect(m_buttons, &QDialogButtonBox::accepted, this, &NewGroupDialog::submit);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &NewGroupDialog::reject);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(hint);
    layout->addWidget(m_message);
    layout->addWidget(m_buttons);
    setMinimumWidth(440);
}

void NewGroupDialog::fill(const QString& name, const QString& members) {
    m_name->setText(name);
    m_members->setText(members);
}

QString NewGroupDialog::name_text() const {
    return m_name->text();
}

QString NewGroupDialog::members_text() const {
    return m_members->text();
}

QString NewGroupDialog::error_text() const {
    return m_message->property("error").toBool() ? m_message->text() : QString();
}

void NewGroupDialog::show_error(const QString& text) {
    m_message->setStyleSheet(QStringLiteral("color: #a01010;"));
    m_message->setProperty("error", true);
    m_message->setText(text);
}

void NewGroupDialog::set_waiting(bool waiting) {
    m_waiting = waiting;
    m_name->setEnabled(!waiting);
    m_members->setEnabled(!waiting);
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(!waiting);
    if (waiting) {
        m_message->setStyleSheet(QStringLiteral("color: #6e6e6e;"));
        m_message->setProperty("error", false);
        m_message->setText(tr("Creating the group… waiting for the relay."));
    }
}

void NewGroupDialog::creation_accepted() {
    if (!m_waiting)
        return;
    set_waiting(false);
    m_message->clear();
    accept();
}

void NewGroupDialog::creation_refused(const QString& text) {
    if (!m_waiting)
        return;
    set_waiting(false);
    show_error(text);
}

void NewGroupDialog::submit() {
    if (m_waiting)
        return;
    QString name = m_name->text().trimmed();
    if (name.isEmpty()) {
        show_error(tr("Give the group a name."));
        m_name->setFocus();
        return;
    }
    if (name.size() > kMaxGroupNameChars) {
        show_error(tr("The group name is %1 characters long; keep it to %2.")
                       .arg(name.size())
                       .arg(kMaxGroupNameChars));
        m_name->setFocus();
        return;
    }
    ParsedMembers members = parse_members(m_members->text(), m_own_name);
    if (!members.error.isEmpty()) {
        show_error(members.error);
        m_members->setFocus();
        return;
    }
    // The form stays as typed when the engine refuses, so the person can correct and retry.
    QString refused = m_submit ? m_submit(name, members.names) : QString();
    if (!refused.isEmpty()) {
        show_error(refused);
        return;
    }
    set_waiting(true);
}

} // namespace veil::desktop
