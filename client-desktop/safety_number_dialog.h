// SafetyNumberDialog: "Verify safety number…" for a 1:1 conversation. It shows the contact's
// safety number (Engine::safety_number: 60 digits, both sides see the same) in 12 groups of 5 in
// a fixed font, the same as a QR code to scan, whether the contact is verified, and a button
// that marks them verified or clears it. It only shows; the owner's callback asks the engine.
//
// Thread: the GUI thread. The number and code are public values (derived from public identity
// keys); still, nothing here logs them.
#pragma once

#include <QByteArray>
#include <QDialog>
#include <QImage>
#include <QString>

#include <functional>

class QLabel;
class QPushButton;

namespace veil::desktop {

class SafetyNumberDialog final : public QDialog {
    Q_OBJECT
public:
    static constexpr int kModulePixels = 4;
    // The answer to a SetVerified: an empty string, or why nothing changed. It may come later
    // (the engine answers from its thread); meanwhile the button is disabled and says so.
    using Answer = std::function<void(const QString& why)>;
    // Asks to mark the contact verified (true) or clear it, and calls answer once (or never,
    // when the dialog's owner is gone).
    using SetVerified = std::function<void(bool verified, Answer answer)>;

    // name: the contact as shown (display_text). number: the 60 digits; qr_payload: the bytes
    // the code carries.
    SafetyNumberDialog(const QString& name, const QString& number, const QByteArray& qr_payload,
                       bool verified, SetVerified set_verified, QWidget* parent = nullptr);
    // The same dialog before the number is known: it says it is working it out until
    // show_number() or show_unavailable().
    SafetyNumberDialog(const QString& name, SetVerified set_verified, QWidget* parent = nullptr);
    void show_number(const QString& number, const QByteArray& qr_payload, bool verified);
    // The number cannot be shown: why, with nothing to verify.
    void show_unavailable(const QString& why);
    // The number is still being worked out, or a verification is waiting for its answer.
    bool busy() const { return m_loading || m_saving; }

    // What is shown, for tests.
    QString number_text() const;
    QImage qr() const { return m_qr; }
    bool verified() const { return m_verified; }
    QString status_text() const;
    QString error_text() const;
    QPushButton& verify_button() { return *m_verify; }

signals:
    // The contact's verification changed through this dialog.
    void verifiedChanged(bool verified);

private:
    void show_verified();
    void toggle_verified();

    QString m_name;
    bool m_verified = false;
    SetVerified m_set_verified;
    QImage m_qr;
    QLabel* m_number = nullptr;
    QLabel* m_status = nullptr;
    QLabel* m_error = nullptr;
    QLabel* m_qr_label = nullptr;
    bool m_loading = true;
    bool m_saving = false;
    QPushButton* m_verify = nullptr;
};

} // namespace veil::desktop
