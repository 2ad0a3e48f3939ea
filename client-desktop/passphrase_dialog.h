// PassphraseDialog: "Change passphrase…". The current passphrase, the new one twice; OK checks
// that the new one is not empty and typed the same twice, then hands both to the owner's
// callback (AccountStore::change_passphrase, which takes a moment: two Argon2id derivations and
// a re-encryption of the database; SessionBridge runs it on its worker thread and the callback
// waits in a local event loop, so the dialog is disabled meanwhile). On success the dialog closes;
// otherwise it says why and stays, with the fields emptied.
//
// Thread: the GUI thread. The passphrases go to the callback as SecretBytes and the fields are
// cleared; QString's own copies cannot be wiped.
#pragma once

#include "util/secret_bytes.h"

#include <QDialog>

#include <functional>

class QDialogButtonBox;
class QLabel;
class QLineEdit;

namespace veil::desktop {

class PassphraseDialog final : public QDialog {
    Q_OBJECT
public:
    // The answer to a Change: an empty string, or why the passphrase did not change. It comes
    // later (the Argon2id derivations run on the session's thread); meanwhile the form is
    // disabled and says it is changing.
    using Answer = std::function<void(const QString& why)>;
    // Changes the passphrase and calls answer once (or never, when the dialog's owner is gone).
    using Change = std::function<void(const SecretBytes& old_passphrase,
                                      const SecretBytes& new_passphrase, Answer answer)>;
    explicit PassphraseDialog(Change change, QWidget* parent = nullptr);

    // For tests and scripts: fill the three fields; submit() then acts like OK.
    void fill(const QString& current, const QString& next, const QString& again);
    void submit();
    QString message_text() const;
    // A change waits for its answer.
    bool waiting() const { return m_waiting; }

signals:
    // The passphrase changed.
    void changed();

private:
    void show_message(const QString& text, bool error);

    Change m_change;
    bool m_waiting = false;
    QLineEdit* m_current = nullptr;
    QLineEdit* m_next = nullptr;
    QLineEdit* m_again = nullptr;
    QLabel* m_message = nullptr;
    QDialogButtonBox* m_buttons = nullptr;
};

} // namespace veil::desktop
