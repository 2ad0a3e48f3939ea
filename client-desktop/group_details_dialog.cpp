#include "group_details_dialog.h"

#include "group_picture.h"
#include "new_group_dialog.h"

#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPointer>
#include <QPushButton>
#include <QVBoxLayout>

namespace veil::desktop {
namespace {

constexpr int kPreviewSize = 96;

QLabel* plain_label(const QString& text = QString()) {
    auto* label = new QLabel(text);
    label->setTextFormat(Qt::PlainText);
    label->setWordWrap(true);
    return label;
}

std::span<const std::uint8_t> span_of(const QByteArray& bytes) {
    return std::span(reinterpret_cast<const std::uint8_t*>(bytes.constData()),
                     static_cast<std::size_t>(bytes.size()));
}

} // namespace

GroupDetailsDialog::GroupDetailsDialog(const GroupDetails& current, Submit submit, QWidget* parent)
    : QDialog(parent)
    , m_submit(std::move(submit))
    , m_picture(current.picture) {
    setWindowTitle(tr("Edit group"));
    m_name = new QLineEdit(current.name);
    m_name->setPlaceholderText(tr("e.g. Hikers"));
    m_description = new QPlainTextEdit;
    m_description->setPlainText(current.description);
    m_description->setPlaceholderText(tr("What the group is about (optional)"));
    m_description->setTabChangesFocus(true);
    m_description->setFixedHeight(m_description->fontMetrics().lineSpacing() * 5);

    m_preview = plain_label();
    m_preview->setFixedSize(kPreviewSize, kPreviewSize);
    m_preview->setAlignment(Qt::AlignCenter);
    m_preview->setStyleSheet(QStringLiteral("border: 1px solid #c8c8c8; color: #6e6e6e;"));
    auto* choose = new QPushButton(tr("Choose picture…"));
    m_remove_picture = new QPushButton(tr("Remove picture"));
    connect(choose, &QPushButton::clicked, this, &GroupDetailsDialog::choose_picture);
    connect(m_remove_picture, &QPushButton::clicked, this, &GroupDetailsDialog::remove_picture);
    auto* picture_buttons = new QVBoxLayout;
    picture_buttons->addWidget(choose);
    picture_buttons->addWidget(m_remove_picture);
    picture_buttons->addStretch(1);
    auto* picture_row = new QHBoxLayout;
    picture_row->addWidget(m_preview);
    picture_row->addLayout(picture_buttons);
    picture_row->addStretch(1);

    auto* form = new QFormLayout;
    form->addRow(plain_label(tr("Group name:")), m_name);
    form->addRow(plain_label(tr("Description:")), m_description);
    form->addRow(plain_label(tr("Picture:")), picture_row);
    auto* hint = plain_label();
    hint->setText(tr("Every member sees these. A picture is a PNG or JPEG of at most 64 KiB."));

    m_message = plain_label();
    m_buttons = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Cancel);
    connect(m_buttons, &QDialogButtonBox::accepted, this, &GroupDetailsDialog::submit);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &GroupDetailsDialog::reject);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(hint);
    layout->addWidget(m_message);
    layout->addWidget(m_buttons);
    setMinimumWidth(460);
    show_picture();
}

void GroupDetailsDialog::fill(const QString& name, const QString& description) {
    m_name->setText(name);
    m_description->setPlainText(description);
}

QString GroupDetailsDialog::name_text() const {
    return m_name->text();
}

QString GroupDetailsDialog::description_text() const {
    return m_description->toPlainText();
}

bool GroupDetailsDialog::shows_picture() const {
    return !m_preview->pixmap().isNull();
}

QString GroupDetailsDialog::error_text() const {
    return m_message->text();
}

void GroupDetailsDialog::choose_picture() {
    QString path = QFileDialog::getOpenFileName(this, tr("Choose a group picture"), QString(),
                                                picture_file_filter());
    if (!path.isEmpty())
        choose_picture_file(path);
}

bool GroupDetailsDialog::choose_picture_file(const QString& path) {
    PictureFile file = read_picture_file(path);
    if (!file.error.isEmpty()) {
        // The picture the form had stays, as does everything typed.
        show_error(file.error);
        return false;
    }
    m_picture = std::move(file.bytes);
    m_message->clear();
    show_picture();
    return true;
}

void GroupDetailsDialog::remove_picture() {
    m_picture.clear();
    m_message->clear();
    show_picture();
}

void GroupDetailsDialog::show_picture() {
    QPixmap pixmap = picture_thumbnail(span_of(m_picture), kPreviewSize - 2);
    if (pixmap.isNull()) {
        m_preview->setPixmap(QPixmap());
        m_preview->setText(m_picture.isEmpty() ? tr("No picture") : tr("Cannot show it"));
    } else {
        m_preview->setPixmap(pixmap);
    }
    m_remove_picture->setEnabled(!m_picture.isEmpty());
}

void GroupDetailsDialog::show_error(const QString& text) {
    m_message->setStyleSheet(QStringLiteral("color: #a01010;"));
    m_message->setText(text);
}

void GroupDetailsDialog::submit() {
    GroupDetails details{m_name->text().trimmed(), m_description->toPlainText().trimmed(),
                         m_picture};
    if (details.name.isEmpty()) {
        show_error(tr("Give the group a name."));
        m_name->setFocus();
        return;
    }
    if (details.name.size() > kMaxGroupNameChars) {
        show_error(tr("The group name is %1 characters long; keep it to %2.")
                       .arg(details.name.size())
                       .arg(kMaxGroupNameChars));
        m_name->setFocus();
        return;
    }
    if (details.description.size() > kMaxGroupDescriptionChars) {
        show_error(tr("The description is %1 characters long; keep it to %2.")
                       .arg(details.description.size())
                       .arg(kMaxGroupDescriptionChars));
        m_description->setFocus();
        return;
    }
    if (!m_submit) {
        m_message->clear();
        accept();
        return;
    }
    if (m_waiting)
        return;
    // The form waits for the engine; it stays as it is when the engine refuses, to correct or
    // retry.
    set_waiting(true);
    QPointer<GroupDetailsDialog> self(this);
    m_submit(details, [self](const QString& refused) {
        if (!self)
            return;
        self->set_waiting(false);
        if (!refused.isEmpty()) {
            self->show_error(refused);
            return;
        }
        self->m_message->clear();
        self->accept();
    });
}

void GroupDetailsDialog::set_waiting(bool waiting) {
    m_waiting = waiting;
    m_name->setEnabled(!waiting);
    m_description->setEnabled(!waiting);
    QPushButton* save = m_buttons->button(QDialogButtonBox::Save);
    save->setEnabled(!waiting);
    save->setText(waiting ? tr("Saving…") : tr("Save"));
}

} // namespace veil::desktop
