// EncryptionDialog: "Encryption…" for the open conversation (Conversation menu). For a contact,
// or each member of a group, it lists what the encryption rests on (Engine::conversation_
// security): whether their safety number is verified (or their key changed), and each of their
// devices with whether we hold a session with it and, in a group, whether it has our current
// sender key. The selected person's safety number is shown under the list, and "Verify safety
// number…" opens the safety number dialog for the selected person;
// the repair button starts new sessions with a contact's devices ("Start new session") or
// renews our sender key in a group ("Renew group key"). It only shows; the owner's callbacks
// ask the engine.
//
// Thread: the GUI thread. Every name is shown through display_text(); nothing here is secret.
#pragma once

#include "engine/engine.h"

#include <QDialog>

#include <functional>
#include <string>

class QLabel;
class QPushButton;
class QTreeWidget;

namespace veil::desktop {

class EncryptionDialog final : public QDialog {
    Q_OBJECT
public:
    struct Actions {
        // Reads the conversation's details again (the dialog calls it on opening and after a
        // repair); an empty optional with a sentence when they cannot be read.
        std::function<Result<engine::ConversationSecurity>()> load;
        // A person's safety number (60 digits), or empty when there is none yet.
        std::function<QString(const std::string& username)> safety_number;
        // Opens the safety number dialog for a person (a username).
        std::function<void(const std::string& username)> verify;
        // Starts new sessions (1:1) or renews the group key; an empty string or why not.
        std::function<QString()> repair;
    };

    // title: the conversation as shown ("bob", or the group's title); group: which repair.
    EncryptionDialog(const QString& title, bool group, Actions actions, QWidget* parent = nullptr);

    // Reads the details again and shows them.
    void refresh();

    // What is shown, for tests: one line per person and per device, "bob — Verified",
    // "  Device 1 — Session, has your group key".
    QStringList lines() const;
    QString message_text() const;
    // The selected person's safety number as shown (12 groups of 5), or why there is none.
    QString number_text() const;
    QTreeWidget& tree() { return *m_tree; }
    QPushButton& verify_button() { return *m_verify; }
    QPushButton& repair_button() { return *m_repair; }
    // Selects a person's row (for the verify button).
    void select_person(const std::string& username);

private:
    void show_details(const engine::ConversationSecurity& details);
    void update_buttons();
    std::string selected_person() const;
    void show_message(const QString& text, bool error);

    bool m_group = false;
    Actions m_actions;
    QTreeWidget* m_tree = nullptr;
    QLabel* m_message = nullptr;
    QLabel* m_number = nullptr;
    QPushButton* m_verify = nullptr;
    QPushButton* m_repair = nullptr;
};

} // namespace veil::desktop
