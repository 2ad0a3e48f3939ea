#include "group_panel.h"

#include "display_text.h"
#include "group_picture.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QVBoxLayout>

#include <algorithm>

namespace veil::desktop {
namespace {

constexpr int kNameRole = Qt::UserRole + 1;
constexpr int kAdminRole = Qt::UserRole + 2;
constexpr int kPictureSize = 64;
// Longer descriptions are cut, with an ellipsis, so that the member list keeps its room.
constexpr int kDescriptionShown = 280;

QLabel* plain_label() {
    auto* label = new QLabel;
    label->setTextFormat(Qt::PlainText);
    label->setWordWrap(true);
    return label;
}

} // namespace

GroupPanel::GroupPanel(QWidget* parent)
    : QWidget(parent) {
    m_picture = plain_label();
    m_picture->setFixedSize(kPictureSize, kPictureSize);
    m_picture->hide();
    m_description = plain_label();
    m_description->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    m_description->hide();
    m_details = new QWidget;
    auto* details = new QHBoxLayout(m_details);
    details->setContentsMargins(0, 0, 0, 0);
    details->addWidget(m_picture, 0, Qt::AlignTop);
    details->addWidget(m_description, 1);
    m_details->hide();
    m_edit = new QPushButton(tr("Edit group…"));
    m_edit->setToolTip(tr("Change the group's name, description or picture"));
    connect(m_edit, &QPushButton::clicked, this, [this] { emit editRequested(); });

    m_heading = plain_label();
    QFont bold = m_heading->font();
    bold.setBold(true);
    m_heading->setFont(bold);
    m_list = new QListWidget;
    m_list->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_list->setEditTriggers(QAbstractItemView::NoEditTriggers);
    connect(m_list, &QListWidget::itemSelectionChanged, this, &GroupPanel::update_buttons);

    m_add = new QLineEdit;
    m_add_button = new QPushButton(tr("Add"));
    connect(m_add, &QLineEdit::returnPressed, this, [this] { emit addRequested(m_add->text()); });
    connect(m_add, &QLineEdit::textChanged, this, &GroupPanel::update_buttons);
    connect(m_add_button, &QPushButton::clicked, this,
            [this] { emit addRequested(m_add->text()); });
    auto* add_row = new QHBoxLayout;
    add_row->addWidget(m_add, 1);
    add_row->addWidget(m_add_button);

    m_remove = new QPushButton(tr("Remove"));
    m_make_admin = new QPushButton(tr("Make admin"));
    connect(m_remove, &QPushButton::clicked, this, [this] { emit removeRequested(); });
    connect(m_make_admin, &QPushButton::clicked, this, [this] {
        // The button's text says which way it goes for the selected member.
        emit adminRequested(m_make_admin->property("promote").toBool());
    });
    auto* member_row = new QHBoxLayout;
    member_row->addWidget(m_remove);
    member_row->addWidget(m_make_admin);
    m_leave = new QPushButton(tr("Leave group…"));
    connect(m_leave, &QPushButton::clicked, this, [this] { emit leaveRequested(); });

    m_message = plain_label();
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_details);
    layout->addWidget(m_edit);
    layout->addWidget(m_heading);
    layout->addWidget(m_list, 1);
    layout->addLayout(member_row);
    layout->addLayout(add_row);
    layout->addWidget(m_message);
    layout->addWidget(m_leave);
    update_buttons();
}

void GroupPanel::show_group(const std::vector<store::GroupMemberRow>& members,
                            const std::string& own_name, bool has_left, bool pending) {
    std::vector<std::string> selected = selected_members();
    m_own_name = own_name;
    auto me = std::find_if(members.begin(), members.end(),
                           [&](const auto& m) { return m.username == own_name; });
    m_admin = !has_left && me != members.end() && me->admin;
    m_active = !has_left && !pending;

    int admins = static_cast<int>(
        std::count_if(members.begin(), members.end(), [](const auto& m) { return m.admin; }));
    m_heading->setText(
        has_left ? tr("Members when you left (%1)").arg(members.size())
                 : (members.size() == 1 ? tr("1 member") : tr("%1 members").arg(members.size())) +
                       QStringLiteral(", ") +
                       (admins == 1 ? tr("1 admin") : tr("%1 admins").arg(admins)));
    m_list->clear();
    for (const auto& m : members) {
        QString line = display_text(m.username);
        if (m.username == own_name)
            line += QStringLiteral(" (") + tr("you") + QLatin1Char(')');
        if (m.admin)
            line += QStringLiteral("  · ") + tr("admin");
        auto* item = new QListWidgetItem(line, m_list);
        item->setData(kNameRole, QString::fromStdString(m.username));
        item->setData(kAdminRole, m.admin);
        if (m.admin) {
            QFont font = item->font();
            font.setBold(true);
            item->setFont(font);
        }
        if (std::find(selected.begin(), selected.end(), m.username) != selected.end())
            item->setSelected(true);
    }
    update_buttons();
}

void GroupPanel::show_details(std::span<const std::uint8_t> picture,
                              const std::string& description) {
    QPixmap pixmap = picture_thumbnail(picture, kPictureSize);
    m_picture->setPixmap(pixmap);
    m_picture->setVisible(!pixmap.isNull());
    QString text = display_text(description).trimmed();
    if (text.size() > kDescriptionShown)
        text = text.left(kDescriptionShown - 1) + QChar(u'…');
    m_description->setText(text);
    m_description->setVisible(!text.isEmpty());
    m_details->setVisible(!pixmap.isNull() || !text.isEmpty());
}

bool GroupPanel::shows_picture() const {
    return !m_picture->isHidden() && !m_picture->pixmap().isNull();
}

QString GroupPanel::description_text() const {
    return m_description->isHidden() ? QString() : m_description->text();
}

QStringList GroupPanel::member_lines() const {
    QStringList lines;
    for (int i = 0; i < m_list->count(); ++i)
        lines << m_list->item(i)->text();
    return lines;
}

std::vector<std::string> GroupPanel::selected_members() const {
    std::vector<std::string> names;
    for (const auto* item : m_list->selectedItems())
        names.push_back(item->data(kNameRole).toString().toStdString());
    return names;
}

void GroupPanel::select_member(const std::string& name) {
    for (int i = 0; i < m_list->count(); ++i) {
        auto* item = m_list->item(i);
        item->setSelected(item->data(kNameRole).toString().toStdString() == name);
    }
    update_buttons();
}

QString GroupPanel::add_text() const {
    return m_add->text();
}

void GroupPanel::set_add_text(const QString& text) {
    m_add->setText(text);
}

void GroupPanel::clear_add_text() {
    m_add->clear();
}

void GroupPanel::show_error(const QString& text) {
    m_message->setStyleSheet(QStringLiteral("color: #a01010;"));
    m_message->setText(text);
}

void GroupPanel::show_note(const QString& text) {
    m_message->setStyleSheet(QStringLiteral("color: #6e6e6e;"));
    m_message->setText(text);
}

QString GroupPanel::message_text() const {
    return m_message->text();
}

bool GroupPanel::can_add() const {
    return m_active && m_admin;
}

bool GroupPanel::can_leave() const {
    return m_active;
}

bool GroupPanel::can_edit() const {
    return m_active && m_admin;
}

void GroupPanel::update_buttons() {
    std::vector<std::string> selected = selected_members();
    bool others = !selected.empty() &&
                  std::find(selected.begin(), selected.end(), m_own_name) == selected.end();
    m_add->setEnabled(can_add());
    m_add_button->setEnabled(can_add() && !m_add->text().trimmed().isEmpty());
    m_remove->setEnabled(can_add() && others);
    // One member at a time: promote when they are not an admin, else demote.
    bool one = others && selected.size() == 1;
    bool promote = true;
    if (one) {
        for (const auto* item : m_list->selectedItems())
            promote = !item->data(kAdminRole).toBool();
    }
    m_make_admin->setProperty("promote", promote);
    m_make_admin->setText(promote ? tr("Make admin") : tr("Remove as admin"));
    m_make_admin->setEnabled(can_add() && one);
    m_leave->setEnabled(can_leave());
    // Hidden, not greyed: the details are the admins' to change and nobody else's to ask about.
    m_edit->setVisible(can_edit());
    m_add->setPlaceholderText(can_add()  ? tr("usernames to add")
                              : m_active ? tr("only admins add members")
                                         : QString());
}

} // namespace veil::desktop
