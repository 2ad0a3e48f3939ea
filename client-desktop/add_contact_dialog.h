// AddContactDialog: "Add contact": the username of the person to write to. While it is typed,
// a name that looks like one of the person's contacts ("b0b" for "bob", util/look_alike.h)
// shows a warning under the field (a mark with an accessible name, the sentence beside it and
// as a plain-text tooltip), so that an impostor's name is not added unnoticed; the person can
// still add it. OK (or Enter) emits submitted() with the trimmed name and closes the dialog;
// an empty name keeps it open.
//
// Thread: the GUI thread.
#pragma once

#include <QDialog>

#include <string>
#include <vector>

class QDialogButtonBox;
class QLabel;
class QLineEdit;

namespace veil::desktop {

class AddContactDialog final : public QDialog {
    Q_OBJECT
public:
    // contacts: the names already listed (people, not groups), to compare with.
    explicit AddContactDialog(std::vector<std::string> contacts, QWidget* parent = nullptr);

    // For tests and scripts: type name into the field; submit() then acts like OK.
    void fill(const QString& name);
    void submit();

    // The contact the typed name looks like, or empty.
    QString looks_like() const { return m_looks_like; }
    // The warning mark (hidden unless the typed name looks like a contact's) and its sentence.
    QLabel& warning_mark() { return *m_mark; }
    QLabel& warning_text() { return *m_warning; }

signals:
    void submitted(const QString& name);

private:
    void update_warning();

    std::vector<std::string> m_contacts;
    QLineEdit* m_name = nullptr;
    QWidget* m_warning_row = nullptr;
    QLabel* m_mark = nullptr;
    QLabel* m_warning = nullptr;
    QDialogButtonBox* m_buttons = nullptr;
    QString m_looks_like;
};

} // namespace veil::desktop
