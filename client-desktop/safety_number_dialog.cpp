#include "safety_number_dialog.h"

#include "display_text.h"
#include "qr_image.h"

#include <QDialogButtonBox>
#include <QFontDatabase>
#include <QLabel>
#include <QPixmap>
#include <QPointer>
#include <QPushButton>
#include <QVBoxLayout>

namespace veil::desktop {
namespace {

QLabel* plain_label(const QString& text = QString()) {
    auto* label = new QLabel(text);
    label->setTextFormat(Qt::PlainText);
    label->setWordWrap(true);
    return label;
}

} // namespace

SafetyNumberDialog::SafetyNumberDialog(const QString& name, const QString& number,
                                       const QByteArray& qr_payload, bool verified,
                                       SetVerified set_verified, QWidget* parent)
    : SafetyNumberDialog(name, std::move(set_verified), parent) {
    show_number(number, qr_payload, verified);
}

SafetyNumberDialog::SafetyNumberDialog(const QString& name, SetVerified set_verified,
                                       QWidget* parent)
    : QDialog(parent)
    , m_name(name)
    , m_set_verified(std::move(set_verified)) {
    setWindowTitle(plain_window_title(tr("Safety number with %1").arg(name)));
    auto* intro = plain_label(
        tr("Compare these numbers with the ones %1's device shows, in person or over a call you "
           "trust, or scan the code. If they match, nobody is between you.")
            .arg(name));

    m_number = plain_label();
    m_number->setWordWrap(false);
    m_number->setAlignment(Qt::AlignCenter);
    m_number->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    QFont mono = QFontDatabase::systemFont(QFontDatabase::FixedFont);
    // Where the platform names no fixed font (the offscreen one), fontconfig still finds one.
    mono.setStyleHint(QFont::Monospace);
    mono.setFixedPitch(true);
    mono.setPointSizeF(mono.pointSizeF() * 1.4);
    m_number->setFont(mono);

    m_qr_label = plain_label();
    m_qr_label->setWordWrap(false);
    m_qr_label->setAlignment(Qt::AlignCenter);
    m_qr_label->hide();

    m_status = plain_label(tr("Working out the safety number…"));
    m_error = plain_label();
    m_error->setStyleSheet(QStringLiteral("color: #a01010;"));
    m_error->hide();

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    m_verify = buttons->addButton(tr("Mark as verified"), QDialogButtonBox::ActionRole);
    m_verify->setEnabled(false);
    connect(m_verify, &QPushButton::clicked, this, &SafetyNumberDialog::toggle_verified);
    connect(buttons, &QDialogButtonBox::rejected, this, &SafetyNumberDialog::reject);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(intro);
    layout->addWidget(m_qr_label, 0, Qt::AlignHCenter);
    layout->addWidget(m_number);
    layout->addWidget(m_status);
    layout->addWidget(m_error);
    layout->addStretch(1);
    layout->addWidget(buttons);
    setMinimumWidth(460);
}

void SafetyNumberDialog::show_number(const QString& number, const QByteArray& qr_payload,
                                     bool verified) {
    m_loading = false;
    m_verified = verified;
    m_number->setText(format_safety_number(number));
    m_qr = qr_image_bytes(qr_payload, kModulePixels);
    if (!m_qr.isNull())
        m_qr_label->setPixmap(QPixmap::fromImage(m_qr));
    m_qr_label->setVisible(!m_qr.isNull());
    m_verify->setEnabled(true);
    show_verified();
}

void SafetyNumberDialog::show_unavailable(const QString& why) {
    m_loading = false;
    m_status->setText(why);
    m_verify->setEnabled(false);
}

void SafetyNumberDialog::toggle_verified() {
    if (busy())
        return;
    const bool wanted = !m_verified;
    if (!m_set_verified) {
        m_verified = wanted;
        show_verified();
        emit verifiedChanged(m_verified);
        return;
    }
    // The button waits for the answer, which may come from another thread's queue later.
    m_saving = true;
    m_verify->setEnabled(false);
    m_verify->setText(tr("Saving…"));
    QPointer<SafetyNumberDialog> self(this);
    m_set_verified(wanted, [self, wanted](const QString& why) {
        if (!self)
            return;
        self->m_saving = false;
        self->m_verify->setEnabled(true);
        self->m_error->setText(why);
        self->m_error->setVisible(!why.isEmpty());
        if (why.isEmpty())
            self->m_verified = wanted;
        self->show_verified();
        if (why.isEmpty())
            emit self->verifiedChanged(wanted);
    });
}

void SafetyNumberDialog::show_verified() {
    m_status->setText(m_verified ? tr("✔ You have verified %1.").arg(m_name)
                                 : tr("%1 is not verified.").arg(m_name));
    m_verify->setText(m_verified ? tr("Clear verification") : tr("Mark as verified"));
}

QString SafetyNumberDialog::number_text() const {
    return m_number->text();
}

QString SafetyNumberDialog::status_text() const {
    return m_status->text();
}

QString SafetyNumberDialog::error_text() const {
    return m_error->isHidden() ? QString() : m_error->text();
}

} // namespace veil::desktop
