// LinkDeviceDialog: "Link a device": on a device of the account, enter the code that a new
// device shows (Engine::accept_link) and choose whether recent conversations are copied to it.
// The code may be typed or pasted with or without its dashes, spaces and line breaks, in any
// case; the engine reads it and names a typo. An empty code is refused here. Then the submit
// function (the window's, which asks the engine) either returns a sentence, shown with the form
// as typed, or starts the link: the form locks and says so until the window calls
// link_succeeded() (the outcome is shown and the button becomes Close) or link_failed() (the
// sentence is shown and the form can be sent again). Cancel closes it at any time; a link
// already started goes on without it.
//
// Thread: the GUI thread. The code holds the link's secret: it is never logged.
#pragma once

#include <QDialog>
#include <QString>

#include <cstdint>
#include <functional>

class QCheckBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;

namespace veil::desktop {

class LinkDeviceDialog final : public QDialog {
    Q_OBJECT
public:
    // Starts linking; returns an empty string once started, else a sentence for the person.
    using Submit = std::function<QString(const QString& code, bool share_history)>;

    explicit LinkDeviceDialog(Submit submit, QWidget* parent = nullptr);

    // For tests and scripts: fill the form; submit() then acts like "Link".
    void fill(const QString& code, bool share_history);
    void submit();

    void link_succeeded(std::uint32_t device_id);
    void link_failed(const QString& text);
    bool waiting() const { return m_waiting; }
    bool done() const { return m_done; }
    using QDialog::done; // done(int) still closes the dialog, as for any QDialog

    QString code_text() const;
    bool share_history() const;
    // The sentence shown: an error (error_text) or progress and outcome (status_text).
    QString error_text() const;
    QString status_text() const;

private:
    void show_error(const QString& text);
    void show_status(const QString& text);
    void set_waiting(bool waiting);

    Submit m_submit;
    QLineEdit* m_code = nullptr;
    QCheckBox* m_history = nullptr;
    QLabel* m_message = nullptr;
    QDialogButtonBox* m_buttons = nullptr;
    bool m_waiting = false;
    bool m_done = false;
    bool m_error = false;
};

} // namespace veil::desktop
