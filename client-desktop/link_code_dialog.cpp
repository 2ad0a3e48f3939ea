#include "link_code_dialog.h"

#include "qr_image.h"

#include <QDateTime>
#include <QDialogButtonBox>
#include <QFontDatabase>
#include <QLabel>
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

// The QR code's room: a version 2 symbol with its quiet zone, so the dialog does not jump
// when the code arrives.
constexpr int kQrSide = (25 + 8) * LinkCodeDialog::kModulePixels;

} // namespace

LinkCodeDialog::LinkCodeDialog(QWidget* parent)
    : QDialog(parent) {
    setWindowTitle(tr("Link this device to your account"));
    m_heading = plain_label();
    QFont bold = m_heading->font();
    bold.setBold(true);
    m_heading->setFont(bold);

    m_qr_label = plain_label();
    m_qr_label->setWordWrap(false);
    m_qr_label->setMinimumSize(kQrSide, kQrSide);
    m_qr_label->setAlignment(Qt::AlignCenter);

    m_code = plain_label();
    m_code->setWordWrap(false);
    m_code->setAlignment(Qt::AlignCenter);
    m_code->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    QFont mono = QFontDatabase::systemFont(QFontDatabase::FixedFont);
    // Where the platform names no fixed font (the offscreen one), fontconfig still finds one.
    mono.setStyleHint(QFont::Monospace);
    mono.setFixedPitch(true);
    mono.setPointSizeF(mono.pointSizeF() * 1.5);
    mono.setBold(true);
    m_code->setFont(mono);

    m_expiry = plain_label();
    m_expiry->setAlignment(Qt::AlignCenter);
    m_instruction = plain_label();
    m_instruction->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_message = plain_label();

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Cancel);
    m_start_again = buttons->addButton(tr("Start again"), QDialogButtonBox::ActionRole);
    m_start_again->hide();
    connect(m_start_again, &QPushButton::clicked, this, &LinkCodeDialog::startAgainRequested);
    connect(buttons, &QDialogButtonBox::rejected, this, &LinkCodeDialog::reject);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_heading);
    layout->addWidget(m_qr_label, 0, Qt::AlignHCenter);
    layout->addWidget(m_code);
    layout->addWidget(m_expiry);
    layout->addWidget(m_instruction);
    layout->addWidget(m_message);
    layout->addStretch(1);
    layout->addWidget(buttons);
    setMinimumWidth(520);
}

void LinkCodeDialog::clear_code() {
    m_qr = QImage();
    m_qr_label->clear();
    m_code->clear();
    m_expiry->clear();
    m_instruction->clear();
}

void LinkCodeDialog::show_waiting(const QString& text) {
    clear_code();
    m_heading->setText(tr("Enter this code on a device that already uses your account."));
    m_qr_label->setText(tr("…"));
    m_message->setStyleSheet(QString());
    m_message->setText(text);
    m_start_again->hide();
}

void LinkCodeDialog::show_code(const QString& text, const QString& qr_payload,
                               qint64 expires_at_ms) {
    m_heading->setText(tr("Enter this code on a device that already uses your account."));
    m_qr = qr_image(qr_payload, kModulePixels);
    // Drawn unscaled: a smoothed QR code may not scan.
    m_qr_label->setPixmap(QPixmap::fromImage(m_qr));
    m_code->setText(text);
    QDateTime until = QDateTime::fromMSecsSinceEpoch(expires_at_ms).toLocalTime();
    m_expiry->setText(
        tr("The code works once, until %1.").arg(until.toString(QStringLiteral("HH:mm"))));
    // The command on a line of its own, so that the code is never broken across lines.
    m_instruction->setText(tr("On a device of your account:\n    veil link accept %1\nor in "
                              "Veil desktop: Devices → Link a device.")
                               .arg(text));
    m_message->setStyleSheet(QString());
    m_message->setText(tr("Waiting for the other device…"));
    m_start_again->hide();
}

void LinkCodeDialog::show_failure(const QString& text) {
    clear_code();
    m_heading->setText(tr("This device is not linked."));
    m_message->setStyleSheet(QStringLiteral("color: #a01010;"));
    m_message->setText(text);
    m_start_again->show();
    m_start_again->setDefault(true);
}

QString LinkCodeDialog::code_text() const {
    return m_code->text();
}

QString LinkCodeDialog::expiry_text() const {
    return m_expiry->text();
}

QString LinkCodeDialog::instruction_text() const {
    return m_instruction->text();
}

QString LinkCodeDialog::error_text() const {
    return m_start_again->isHidden() ? QString() : m_message->text();
}

bool LinkCodeDialog::offers_start_again() const {
    return !m_start_again->isHidden();
}

} // namespace veil::desktop
