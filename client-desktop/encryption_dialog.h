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

#include <cstdint>
#include <functional>
#include <string>

class QLabel;
class QPushButton;
class QTreeWidget;

namespace veil::desktop {

class EncryptionDialog final : public QDialog {
    Q_OBJECT
public:
    // Each action answers through reply, at once or later (the engine answers from its own
    // thread); an answer that comes after the dialog is gone, or after a newer question, is
    // dropped. Meanwhile the dialog shows that it waits (busy()).
    template <typename T>
    using Reply = std::function<void(T)>;
    struct Actions {
        // Reads the conversation's details again (the dialog asks on opening and after a
        // repair); an error with a sentence when they cannot be read.
        std::function<void(Reply<Result<engine::ConversationSecurity>>)> load;
        // A person's safety number (60 digits), or empty when there is none yet.
        std::function<void(const std::string& username, Reply<QString>)> safety_number;
        // Opens the safety number dialog for a person (a username).
        std::function<void(const std::string& username)> verify;
        // Starts new sessions (1:1) or renews the group key; an empty string or why not.
        std::function<void(Reply<QString>)> repair;
    };

    // title: the conversation as shown ("bob", or the group's title); group: which repair.
    EncryptionDialog(const QString& title, bool group, Actions actions, QWidget* parent = nullptr);

    // Reads the details again and shows them (when the answer comes).
    void refresh();
    // Details, a safety number or a repair are being waited for.
    bool busy() const { return m_loading || m_numbering || m_repairing; }

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
    std::uint64_t m_loads_asked = 0; // only the last load's answer is shown
    std::uint64_t m_numbers_asked = 0;
    bool m_loading = false;
    bool m_numbering = false;
    bool m_repairing = false;
};

} // namespace veil::desktop
