// GroupPanel: the open group beside its messages: its picture and description, who is in it and
// who is an admin, an "Add" field (comma or space separated usernames), and buttons to edit the
// group's details, remove a member, make or unmake an admin, and leave. It only shows and asks:
// the window makes the changes through the engine and calls show_details() and show_group()
// again when the group changes.
//
// Thread: the GUI thread. Names and the description are shown through display_text() as
// plain-text list items and labels; the picture is decoded from the stored bytes
// (picture_thumbnail) and left out when it does not decode.
#pragma once

#include "store/account_store.h"

#include <QString>
#include <QStringList>
#include <QWidget>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

class QLabel;
class QLineEdit;
class QListWidget;
class QPushButton;

namespace veil::desktop {

class GroupPanel final : public QWidget {
    Q_OBJECT
public:
    explicit GroupPanel(QWidget* parent = nullptr);

    // Lists members; own_name is marked "you". Our own admin flag and has_left decide which
    // actions are offered (admins add, remove and promote; anyone who has not left may leave).
    // pending: the group is ours and the relay has not accepted it yet (nothing is offered).
    void show_group(const std::vector<store::GroupMemberRow>& members, const std::string& own_name,
                    bool has_left, bool pending);

    // The group's picture (stored bytes, empty for none) and description (empty for none).
    void show_details(std::span<const std::uint8_t> picture, const std::string& description);
    bool shows_picture() const;
    // The description as shown, or empty when none is.
    QString description_text() const;

    // Each member as listed, e.g. "alice (you) · admin".
    QStringList member_lines() const;
    // The usernames of the selected members.
    std::vector<std::string> selected_members() const;
    void select_member(const std::string& name);

    // The "Add" field, which keeps its text until an add succeeds.
    QString add_text() const;
    void set_add_text(const QString& text);
    void clear_add_text();

    // A sentence under the list: an error (red) or a note (muted); empty clears it.
    void show_error(const QString& text);
    void show_note(const QString& text);
    QString message_text() const;
    bool can_add() const;
    bool can_leave() const;
    // Only admins of a group the relay accepted, who have not left, get "Edit group…".
    bool can_edit() const;

signals:
    void editRequested();
    void addRequested(const QString& text);
    void removeRequested();
    void adminRequested(bool admin);
    void leaveRequested();

private:
    void update_buttons();

    std::string m_own_name;
    bool m_admin = false;
    bool m_active = false; // a member, and the group is accepted by the relay
    QWidget* m_details = nullptr;
    QLabel* m_picture = nullptr;
    QLabel* m_description = nullptr;
    QPushButton* m_edit = nullptr;
    QLabel* m_heading = nullptr;
    QListWidget* m_list = nullptr;
    QLineEdit* m_add = nullptr;
    QPushButton* m_add_button = nullptr;
    QPushButton* m_remove = nullptr;
    QPushButton* m_make_admin = nullptr;
    QPushButton* m_leave = nullptr;
    QLabel* m_message = nullptr;
};

} // namespace veil::desktop
