// NewGroupDialog: "New group": a name and the members to invite, comma or space separated. The
// form is checked here first (a name, valid usernames, at most 1024 members); then the submit
// function (the window's, which asks the engine) either returns a sentence, shown in the dialog
// with everything typed left in place, or starts the creation: the dialog then waits, form
// locked, until the window calls creation_accepted() (it closes) or creation_refused() (the
// sentence is shown and the form, as typed, can be corrected and sent again). Cancel closes it
// at any time; a creation already started goes on without it.
//
// parse_members() is the member-list parser, shared with the members panel's "Add" field.
//
// Thread: the GUI thread.
#pragma once

#include <QDialog>
#include <QString>

#include <functional>
#include <string>
#include <vector>

class QDialogButtonBox;
class QLabel;
class QLineEdit;

namespace veil::desktop {

// The usernames in text (separated by commas and/or white space), in order, without repeats
// and without own_name. error is a sentence naming what is wrong (invalid usernames, too many
// members); names is then empty. An empty text is no error: a group may start with us alone.
struct ParsedMembers {
    std::vector<std::string> names;
    QString error;
};
ParsedMembers parse_members(const QString& text, const std::string& own_name);

// The longest group name the form takes, in characters.
inline constexpr int kMaxGroupNameChars = 100;

class NewGroupDialog final : public QDialog {
    Q_OBJECT
public:
    // Creates the group; returns an empty string on success, else a sentence for the person.
    using Submit =
        std::function<QString(const QString& name, const std::vector<std::string>& members)>;

    NewGroupDialog(std::string own_name, Submit submit, QWidget* parent = nullptr);

    // For tests and scripts: fill the form; submit() then acts like OK.
    void fill(const QString& name, const QString& members);
    void submit();

    // The relay's answer to the creation started by the last submit().
    void creation_accepted();
    void creation_refused(const QString& text);
    // Waiting for the relay's answer.
    bool waiting() const { return m_waiting; }

    QString name_text() const;
    QString members_text() const;
    // The error shown, or empty.
    QString error_text() const;

private:
    void show_error(const QString& text);
    void set_waiting(bool waiting);

    std::string m_own_name;
    Submit m_submit;
    QLineEdit* m_name = nullptr;
    QLineEdit* m_members = nullptr;
    QLabel* m_message = nullptr;
    QDialogButtonBox* m_buttons = nullptr;
    bool m_waiting = false;
};

} // namespace veil::desktop
