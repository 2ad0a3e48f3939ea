// LinkCodeDialog: what a new device shows while it waits to become a device of an existing
// account (Engine::start_link): the link code as a QR code and as text to type, when the code
// stops working, and where to enter it. It only shows; the start dialog drives the link.
//
// Stages: show_waiting() (no code yet: connecting), show_code(), and show_failure(), which takes
// the code away (it no longer works), says why and offers "Start again" (startAgainRequested).
// Cancel rejects the dialog at any stage; the owner then stops the link.
//
// Thread: the GUI thread. The code holds the link's secret: it is shown, never logged.
#pragma once

#include <QDialog>
#include <QImage>
#include <QString>

class QLabel;
class QPushButton;

namespace veil::desktop {

class LinkCodeDialog final : public QDialog {
    Q_OBJECT
public:
    // How many pixels one QR module is drawn with.
    static constexpr int kModulePixels = 6;

    explicit LinkCodeDialog(QWidget* parent = nullptr);

    void show_waiting(const QString& text);
    // expires_at_ms: milliseconds since the epoch.
    void show_code(const QString& text, const QString& qr_payload, qint64 expires_at_ms);
    void show_failure(const QString& text);

    // What is shown, for tests: the code as text (empty when none), the QR image (null when
    // none), the expiry sentence, the instruction, the failure (empty when none).
    QString code_text() const;
    QImage qr() const { return m_qr; }
    QString expiry_text() const;
    QString instruction_text() const;
    QString error_text() const;
    bool offers_start_again() const;

signals:
    void startAgainRequested();

private:
    void clear_code();

    QImage m_qr;
    QLabel* m_heading = nullptr;
    QLabel* m_qr_label = nullptr;
    QLabel* m_code = nullptr;
    QLabel* m_expiry = nullptr;
    QLabel* m_instruction = nullptr;
    QLabel* m_message = nullptr;
    QPushButton* m_start_again = nullptr;
};

} // namespace veil::desktop
