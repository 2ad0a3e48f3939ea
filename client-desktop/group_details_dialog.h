// GroupDetailsDialog: "Edit group": the open group's name, description and picture, for its
// admins. The form is checked here first (a name of at most kMaxGroupNameChars characters, a
// description of at most kMaxGroupDescriptionChars); a picture is taken from a file only when it
// is a PNG or JPEG of at most 64 KiB (read_picture_file), else the dialog says why and keeps the
// picture it had. Then the submit function (the window's, which asks the engine) either returns
// a sentence, shown in the dialog with everything typed and chosen left in place, or makes the
// change, and the dialog closes. Cancel closes it and changes nothing.
//
// Thread: the GUI thread. The current name and description, which an admin may have sent, are
// shown only in plain-text fields and labels.
#pragma once

#include <QByteArray>
#include <QDialog>
#include <QString>

#include <functional>

class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;

namespace veil::desktop {

// The longest group description the form takes, in characters.
inline constexpr int kMaxGroupDescriptionChars = 1000;

// What the form holds: the picture as the bytes of a PNG or JPEG, empty for none.
struct GroupDetails {
    QString name;
    QString description;
    QByteArray picture;
};

class GroupDetailsDialog final : public QDialog {
    Q_OBJECT
public:
    // The answer to a Submit: an empty string on success, else a sentence for the person. It
    // may come later (the engine answers from its thread); meanwhile the form is disabled and
    // Save says "Saving…". A refusal leaves the form as it was typed.
    using Answer = std::function<void(const QString& why)>;
    // Applies the details and calls answer once (or never, when the dialog's owner is gone).
    using Submit = std::function<void(const GroupDetails& details, Answer answer)>;

    // current fills the form (its name and description are shown as they are, as plain text).
    GroupDetailsDialog(const GroupDetails& current, Submit submit, QWidget* parent = nullptr);

    // For tests and scripts: fill the form; choose_picture_file() acts like "Choose picture…"
    // once a file is picked (true when the picture was taken); submit() acts like Save.
    void fill(const QString& name, const QString& description);
    bool choose_picture_file(const QString& path);
    void remove_picture();
    void submit();

    QString name_text() const;
    QString description_text() const;
    // The picture the form holds (empty: none), and whether its preview shows it.
    QByteArray picture() const { return m_picture; }
    bool shows_picture() const;
    // The error shown, or empty.
    QString error_text() const;
    // A submit waits for its answer.
    bool waiting() const { return m_waiting; }

private:
    void set_waiting(bool waiting);
    void choose_picture();
    void show_picture();
    void show_error(const QString& text);

    Submit m_submit;
    QByteArray m_picture;
    QLineEdit* m_name = nullptr;
    QPlainTextEdit* m_description = nullptr;
    QLabel* m_preview = nullptr;
    QPushButton* m_remove_picture = nullptr;
    QLabel* m_message = nullptr;
    QDialogButtonBox* m_buttons = nullptr;
    bool m_waiting = false;
};

} // namespace veil::desktop
