#include "devices_dialog.h"

#include "display_text.h"
#include "link_device_dialog.h"

#include <QDateTime>
#include <QDialogButtonBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>

namespace veil::desktop {
namespace {

QTableWidgetItem* cell(const QString& text) {
    auto* item = new QTableWidgetItem(text);
    item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
    return item;
}

// A Yes/No question with plain text, "No" by default.
bool ask(QWidget* parent, const QString& text) {
    QMessageBox box(QMessageBox::Question, QObject::tr("Remove device"), text,
                    QMessageBox::Yes | QMessageBox::No, parent);
    box.setTextFormat(Qt::PlainText);
    box.setDefaultButton(QMessageBox::No);
    return box.exec() == QMessageBox::Yes;
}

} // namespace

DevicesDialog::DevicesDialog(Actions actions, QWidget* parent)
    : QDialog(parent)
    , m_actions(std::move(actions)) {
    setWindowTitle(tr("Devices"));
    auto* intro = new QLabel(tr("Every device listed here reads and sends as you. Remove one you "
                                "no longer use or do not recognise."));
    intro->setTextFormat(Qt::PlainText);
    intro->setWordWrap(true);

    m_table = new QTableWidget(0, 5);
    m_table->setHorizontalHeaderLabels(
        {tr("No."), tr("Name"), tr("Added"), tr("Last seen"), QString()});
    m_table->verticalHeader()->hide();
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setWordWrap(false);
    m_table->horizontalHeader()->setSectionResizeMode(NameColumn, QHeaderView::Stretch);
    for (int c : {NumberColumn, AddedColumn, LastSeenColumn, ThisDeviceColumn})
        m_table->horizontalHeader()->setSectionResizeMode(c, QHeaderView::ResizeToContents);
    connect(m_table, &QTableWidget::itemSelectionChanged, this, &DevicesDialog::update_buttons);

    m_remove = new QPushButton(tr("Remove…"));
    m_link = new QPushButton(tr("Link a device…"));
    auto* refresh_button = new QPushButton(tr("Refresh"));
    connect(m_remove, &QPushButton::clicked, this, &DevicesDialog::remove_selected);
    connect(m_link, &QPushButton::clicked, this, &DevicesDialog::link_device);
    connect(refresh_button, &QPushButton::clicked, this, &DevicesDialog::refresh);
    auto* row = new QHBoxLayout;
    row->addWidget(m_link);
    row->addWidget(m_remove);
    row->addStretch(1);
    row->addWidget(refresh_button);

    m_status = new QLabel;
    m_status->setTextFormat(Qt::PlainText);
    m_status->setWordWrap(true);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    connect(buttons, &QDialogButtonBox::rejected, this, &DevicesDialog::reject);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(intro);
    layout->addWidget(m_table, 1);
    layout->addLayout(row);
    layout->addWidget(m_status);
    layout->addWidget(buttons);
    resize(640, 320);
    update_buttons();
}

void DevicesDialog::refresh() {
    if (m_devices.empty()) {
        show_status(tr("Asking the relay for your devices…"), false);
        m_status->setProperty("waiting", true);
    }
    if (m_actions.refresh)
        m_actions.refresh();
}

void DevicesDialog::show_devices(const std::vector<engine::DeviceInfo>& devices) {
    std::uint32_t selected = selected_device();
    m_devices = devices;
    std::sort(m_devices.begin(), m_devices.end(),
              [](const auto& a, const auto& b) { return a.device_id < b.device_id; });
    const std::int64_t now = QDateTime::currentMSecsSinceEpoch();
    QSignalBlocker block(m_table);
    m_table->clearContents();
    m_table->setRowCount(static_cast<int>(m_devices.size()));
    for (int r = 0; r < static_cast<int>(m_devices.size()); ++r) {
        const auto& d = m_devices[static_cast<std::size_t>(r)];
        m_table->setItem(r, NumberColumn, cell(QString::number(d.device_id)));
        m_table->setItem(r, NameColumn,
                         cell(d.name.empty() ? tr("(no name)") : one_line(d.name, 64)));
        m_table->setItem(r, AddedColumn, cell(format_time(d.created_ms, now)));
        QString seen = d.current ? tr("now") : format_time(d.last_seen_ms, now);
        m_table->setItem(r, LastSeenColumn, cell(seen.isEmpty() ? tr("never") : seen));
        auto* marker = cell(d.current ? tr("this device") : QString());
        if (d.current) {
            QFont bold = marker->font();
            bold.setBold(true);
            marker->setFont(bold);
        }
        m_table->setItem(r, ThisDeviceColumn, marker);
    }
    if (selected)
        select_device(selected);
    if (m_removing == 0 && !link_waiting() &&
        (m_status->property("error").toBool() || m_status->property("waiting").toBool()))
        m_status->clear();
    update_buttons();
}

void DevicesDialog::show_list_error(const QString& text) {
    show_status(tr("Cannot list the devices: %1").arg(text), true);
}

void DevicesDialog::show_waiting(const QString& text) {
    show_status(text, false);
    m_status->setProperty("waiting", true);
}

void DevicesDialog::removal_finished(std::uint32_t device_id, const QString& error) {
    if (m_removing == device_id)
        m_removing = 0;
    if (error.isEmpty())
        show_status(tr("Device %1 was removed; it can no longer read new messages.").arg(device_id),
                    false);
    else
        show_status(tr("Device %1 was not removed: %2").arg(device_id).arg(error), true);
    update_buttons();
}

void DevicesDialog::link_finished(std::uint32_t device_id, const QString& error) {
    if (!link_waiting())
        return;
    if (error.isEmpty()) {
        m_link_dialog->link_succeeded(device_id);
        show_status(tr("Device %1 was linked.").arg(device_id), false);
    } else {
        m_link_dialog->link_failed(error);
    }
}

bool DevicesDialog::link_waiting() const {
    return m_link_dialog && m_link_dialog->waiting();
}

int DevicesDialog::device_count() const {
    return m_table->rowCount();
}

QString DevicesDialog::cell_text(int row, Column column) const {
    auto* item = m_table->item(row, column);
    return item ? item->text() : QString();
}

bool DevicesDialog::select_device(std::uint32_t device_id) {
    for (int r = 0; r < static_cast<int>(m_devices.size()); ++r) {
        if (m_devices[static_cast<std::size_t>(r)].device_id == device_id) {
            m_table->selectRow(r);
            update_buttons();
            return true;
        }
    }
    return false;
}

std::uint32_t DevicesDialog::selected_device() const {
    auto rows = m_table->selectionModel()->selectedRows();
    if (rows.isEmpty())
        return 0;
    auto r = static_cast<std::size_t>(rows.front().row());
    return r < m_devices.size() ? m_devices[r].device_id : 0;
}

bool DevicesDialog::is_current(std::uint32_t device_id) const {
    return std::any_of(m_devices.begin(), m_devices.end(),
                       [&](const auto& d) { return d.device_id == device_id && d.current; });
}

bool DevicesDialog::remove_enabled() const {
    return m_remove->isEnabled();
}

void DevicesDialog::update_buttons() {
    std::uint32_t selected = selected_device();
    m_remove->setEnabled(selected != 0 && !is_current(selected) && m_removing == 0);
    m_remove->setToolTip(selected != 0 && is_current(selected)
                             ? tr("This is the device you are using: remove it from another one.")
                             : QString());
}

void DevicesDialog::remove_selected() {
    std::uint32_t id = selected_device();
    if (id == 0 || is_current(id) || m_removing != 0)
        return;
    QString question =
        tr("Device %1 will be signed out and can no longer read new messages.").arg(id);
    bool yes = m_actions.confirm ? m_actions.confirm(question) : ask(this, question);
    if (!yes)
        return;
    // Waiting first: the answer may come before remove() returns.
    m_removing = id;
    show_status(tr("Removing device %1…").arg(id), false);
    update_buttons();
    QString refused = m_actions.remove ? m_actions.remove(id) : QString();
    if (!refused.isEmpty()) {
        if (m_removing == id)
            m_removing = 0;
        show_status(tr("Device %1 was not removed: %2").arg(id).arg(refused), true);
        update_buttons();
    }
}

LinkDeviceDialog* DevicesDialog::link_device() {
    if (m_link_dialog) {
        m_link_dialog->raise();
        m_link_dialog->activateWindow();
        return m_link_dialog;
    }
    auto* dialog = new LinkDeviceDialog(m_actions.link, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    m_link_dialog = dialog;
    dialog->open();
    return dialog;
}

QString DevicesDialog::status_text() const {
    return m_status->text();
}

void DevicesDialog::show_status(const QString& text, bool error) {
    m_status->setProperty("error", error);
    m_status->setProperty("waiting", false);
    m_status->setStyleSheet(error ? QStringLiteral("color: #a01010;") : QString());
    m_status->setText(text);
}

} // namespace veil::desktop
