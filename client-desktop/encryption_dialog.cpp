#include "encryption_dialog.h"

#include "display_text.h"
#include "theme.h"

#include <QDialogButtonBox>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPointer>
#include <QPushButton>
#include <QStyledItemDelegate>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace veil::desktop {
namespace {

constexpr int kUsernameRole = Qt::UserRole + 1;

// Rows with room around their text: the tree's default rows are as tight as its font.
class RoomyRows final : public QStyledItemDelegate {
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    QSize sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const override {
        QSize size = QStyledItemDelegate::sizeHint(option, index);
        const int em = option.fontMetrics.height();
        return QSize(size.width() + em / 2, std::max(size.height(), em * 5 / 3));
    }
};

QLabel* plain(const QString& text) {
    auto* label = new QLabel(text);
    label->setTextFormat(Qt::PlainText);
    label->setWordWrap(true);
    return label;
}

QString person_status(const engine::MemberSecurity& m) {
    if (m.trust.needs_accept)
        return EncryptionDialog::tr("Safety number changed: verify it or accept the new key");
    if (!m.identity_known)
        return EncryptionDialog::tr("No key yet (no message exchanged)");
    if (m.trust.verified)
        return EncryptionDialog::tr("\u2714 Verified");
    if (m.trust.changed_at_ms != 0)
        return EncryptionDialog::tr("Safety number changed; not verified");
    return EncryptionDialog::tr("Not verified");
}

// Verified in green, a changed key in red, no key yet muted; "Not verified" keeps the text's.
QColor status_color(const engine::MemberSecurity& m, const QPalette& palette) {
    const ThemeColors c = theme_colors(palette);
    if (m.trust.needs_accept || (m.trust.changed_at_ms != 0 && !m.trust.verified))
        return c.danger;
    if (!m.identity_known)
        return c.muted;
    if (m.trust.verified)
        return is_dark(palette) ? QColor(0x5c, 0xc2, 0x7a) : QColor(0x2e, 0x9e, 0x4f);
    return {};
}

QString device_status(const engine::DeviceSecurity& d, bool group) {
    QString text =
        d.session ? EncryptionDialog::tr("Session") : EncryptionDialog::tr("No session yet");
    if (group)
        text += QStringLiteral(", ") +
                (d.holds_sender_key ? EncryptionDialog::tr("has your group key")
                                    : EncryptionDialog::tr("gets your group key with your next "
                                                           "message"));
    return text;
}

} // namespace

EncryptionDialog::EncryptionDialog(const QString& title, bool group, Actions actions,
                                   QWidget* parent)
    : QDialog(parent)
    , m_group(group)
    , m_actions(std::move(actions)) {
    setWindowTitle(plain_window_title(tr("Encryption — %1").arg(title)));
    setAccessibleName(tr("Encryption details"));
    QLabel* intro = plain(group ? tr("Messages in %1 are end-to-end encrypted with your sender "
                                     "key, which each member's devices receive through their "
                                     "own encrypted session.")
                                      .arg(title)
                                : tr("Messages with %1 are end-to-end encrypted, with one "
                                     "session per device.")
                                      .arg(title));
    m_tree = new QTreeWidget;
    m_tree->setColumnCount(2);
    m_tree->setHeaderLabels({tr("Person / device"), tr("Encryption")});
    m_tree->header()->setStretchLastSection(true);
    m_tree->setRootIsDecorated(true);
    m_tree->setAccessibleName(tr("People and devices"));
    m_tree->setItemDelegate(new RoomyRows(m_tree));
    m_tree->setUniformRowHeights(true);
    m_tree->setAlternatingRowColors(false);
    connect(m_tree, &QTreeWidget::currentItemChanged, this, [this] { update_buttons(); });
    m_verify = new QPushButton(tr("Verify safety number…"));
    connect(m_verify, &QPushButton::clicked, this, [this] {
        if (std::string who = selected_person(); !who.empty() && m_actions.verify)
            m_actions.verify(who);
    });
    m_repair = new QPushButton(group ? tr("Renew group key") : tr("Start new session"));
    m_repair->setToolTip(group ? tr("Your next message here carries a new key to every member")
                               : tr("Fetch fresh keys for each of their devices and start new "
                                    "sessions; messages on their way still arrive"));
    connect(m_repair, &QPushButton::clicked, this, [this] {
        if (!m_actions.repair || m_repairing)
            return;
        // The button waits for the engine's answer.
        m_repairing = true;
        const QString label = m_repair->text();
        m_repair->setEnabled(false);
        m_repair->setText(m_group ? tr("Renewing…") : tr("Starting…"));
        QPointer<EncryptionDialog> self(this);
        m_actions.repair([self, label](const QString& why) {
            if (!self)
                return;
            self->m_repairing = false;
            self->m_repair->setText(label);
            self->update_buttons();
            if (!why.isEmpty()) {
                self->show_message(why, true);
                return;
            }
            self->show_message(self->m_group ? tr("Your group key was renewed; your next "
                                                  "message here carries the new one.")
                                             : tr("New sessions are being set up."),
                               false);
            self->refresh();
        });
    });
    m_number = plain(QString());
    m_number->setWordWrap(false);
    m_number->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    m_number->setAccessibleName(tr("Safety number"));
    QFont mono = QFontDatabase::systemFont(QFontDatabase::FixedFont);
    mono.setStyleHint(QFont::Monospace);
    mono.setFixedPitch(true);
    m_number->setFont(mono);
    m_message = plain(QString());
    m_message->setAccessibleName(tr("Encryption status"));
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    connect(buttons, &QDialogButtonBox::rejected, this, &EncryptionDialog::reject);
    auto* actions_row = new QHBoxLayout;
    actions_row->addWidget(m_verify);
    actions_row->addWidget(m_repair);
    actions_row->addStretch(1);
    auto* layout = new QVBoxLayout(this);
    const int em = fontMetrics().height();
    layout->setContentsMargins(em, em, em, em * 2 / 3);
    layout->setSpacing(em * 2 / 3);
    layout->addWidget(intro);
    layout->addWidget(m_tree, 1);
    layout->addWidget(m_number);
    layout->addLayout(actions_row);
    layout->addWidget(m_message);
    layout->addWidget(buttons);
    setMinimumSize(520, 340);
    resize(620, 420);
    refresh();
}

void EncryptionDialog::refresh() {
    if (!m_actions.load)
        return;
    const std::uint64_t asked = ++m_loads_asked;
    m_loading = true;
    QPointer<EncryptionDialog> self(this);
    m_actions.load([self, asked](const Result<engine::ConversationSecurity>& details) {
        if (!self || asked != self->m_loads_asked)
            return;
        self->m_loading = false;
        if (!details) {
            self->show_message(plain_error(details.error()), true);
            return;
        }
        self->show_details(details.value());
    });
}

void EncryptionDialog::show_details(const engine::ConversationSecurity& details) {
    std::string selected = selected_person();
    m_tree->clear();
    for (const auto& m : details.members) {
        auto* person = new QTreeWidgetItem(m_tree, {display_text(m.username), person_status(m)});
        person->setData(0, kUsernameRole, QString::fromStdString(m.username));
        QFont bold = m_tree->font();
        bold.setBold(true);
        person->setFont(0, bold);
        if (QColor color = status_color(m, palette()); color.isValid())
            person->setForeground(1, color);
        for (const auto& d : m.devices)
            new QTreeWidgetItem(
                person, {tr("Device %1").arg(d.device_id), device_status(d, details.group)});
        if (m.devices.empty())
            new QTreeWidgetItem(person, {tr("No devices known yet"), QString()});
        person->setExpanded(true);
    }
    m_tree->resizeColumnToContents(0);
    if (!selected.empty())
        select_person(selected);
    else if (m_tree->topLevelItemCount() > 0)
        m_tree->setCurrentItem(m_tree->topLevelItem(0));
    update_buttons();
}

void EncryptionDialog::select_person(const std::string& username) {
    for (int i = 0; i < m_tree->topLevelItemCount(); ++i) {
        QTreeWidgetItem* item = m_tree->topLevelItem(i);
        if (item->data(0, kUsernameRole).toString().toStdString() == username)
            m_tree->setCurrentItem(item);
    }
}

std::string EncryptionDialog::selected_person() const {
    QTreeWidgetItem* item = m_tree->currentItem();
    if (item && item->parent())
        item = item->parent();
    return item ? item->data(0, kUsernameRole).toString().toStdString() : std::string();
}

void EncryptionDialog::update_buttons() {
    std::string who = selected_person();
    m_verify->setEnabled(!who.empty());
    m_repair->setEnabled(m_tree->topLevelItemCount() > 0 && !m_repairing);
    auto show_number = [this, who](const QString& number) {
        m_number->setText(who.empty() ? QString()
                          : number.isEmpty()
                              ? tr("No safety number with %1 yet.").arg(display_text(who))
                              : tr("Safety number with %1:\n%2")
                                    .arg(display_text(who), format_safety_number(number)));
    };
    if (who.empty() || !m_actions.safety_number) {
        show_number(QString());
        return;
    }
    // The number is an iterated hash worked out on the engine's thread.
    const std::uint64_t asked = ++m_numbers_asked;
    m_numbering = true;
    m_number->setText(tr("Working out the safety number with %1…").arg(display_text(who)));
    QPointer<EncryptionDialog> self(this);
    m_actions.safety_number(who, [self, asked, show_number](const QString& number) {
        if (!self || asked != self->m_numbers_asked)
            return;
        self->m_numbering = false;
        show_number(number);
    });
}

QStringList EncryptionDialog::lines() const {
    QStringList out;
    for (int i = 0; i < m_tree->topLevelItemCount(); ++i) {
        QTreeWidgetItem* person = m_tree->topLevelItem(i);
        out << person->text(0) + QStringLiteral(" — ") + person->text(1);
        for (int j = 0; j < person->childCount(); ++j) {
            QTreeWidgetItem* device = person->child(j);
            out << QStringLiteral("  ") + device->text(0) +
                       (device->text(1).isEmpty() ? QString()
                                                  : QStringLiteral(" — ") + device->text(1));
        }
    }
    return out;
}

QString EncryptionDialog::number_text() const {
    return m_number->text();
}

QString EncryptionDialog::message_text() const {
    return m_message->text();
}

void EncryptionDialog::show_message(const QString& text, bool error) {
    m_message->setStyleSheet(error ? QStringLiteral("color: #a01010;") : QString());
    m_message->setText(text);
}

} // namespace veil::desktop
