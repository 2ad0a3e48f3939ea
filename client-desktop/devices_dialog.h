// DevicesDialog: "Devices": the account's devices as the relay lists them (number, name, when
// added, when last seen, which one is this device), "Remove" for a selected device other than
// this one, after a confirmation, and "Link a device…" (LinkDeviceDialog). It holds no engine:
// the window's Actions ask the engine, and the window hands the answers back through
// show_devices(), show_list_error(), removal_finished() and link_finished().
//
// Thread: the GUI thread. Device names, which our own devices chose, are shown as plain text
// through display_text().
#pragma once

#include "engine/engine.h"

#include <QDialog>
#include <QPointer>
#include <QString>

#include <cstdint>
#include <functional>
#include <vector>

class QLabel;
class QPushButton;
class QTableWidget;

namespace veil::desktop {

class LinkDeviceDialog;

class DevicesDialog final : public QDialog {
    Q_OBJECT
public:
    enum Column { NumberColumn, NameColumn, AddedColumn, LastSeenColumn, ThisDeviceColumn };

    struct Actions {
        // Asks for the list; the answer comes through show_devices() or show_list_error().
        std::function<void()> refresh;
        // Starts unlinking a device; returns an empty string once started, else a sentence.
        // The answer comes through removal_finished().
        std::function<QString(std::uint32_t device_id)> remove;
        // Starts linking the device that shows code (LinkDeviceDialog::Submit); the answer
        // comes through link_finished().
        std::function<QString(const QString& code, bool share_history)> link;
        // Asks the person a Yes/No question; unset: a message box.
        std::function<bool(const QString& question)> confirm;
    };

    explicit DevicesDialog(Actions actions, QWidget* parent = nullptr);

    // Asks for the list again (what opening the dialog and the engine's devicesChanged do).
    void refresh();
    void show_devices(const std::vector<engine::DeviceInfo>& devices);
    void show_list_error(const QString& text);
    // Not connected yet: says so; the window refreshes once the engine is ready.
    void show_waiting(const QString& text);
    // The answer to a remove: error is empty when the device was unlinked.
    void removal_finished(std::uint32_t device_id, const QString& error);
    // The answer to a link started from "Link a device…": error is empty when device_id was
    // added to the account.
    void link_finished(std::uint32_t device_id, const QString& error);
    // A link started here waits for its answer.
    bool link_waiting() const;

    // For tests and scripts.
    int device_count() const;
    QString cell_text(int row, Column column) const;
    // Selects the row of device_id; false when it is not listed.
    bool select_device(std::uint32_t device_id);
    bool remove_enabled() const;
    // "Remove": asks for confirmation, then starts the removal of the selected device.
    void remove_selected();
    // "Link a device…": opens the form (window-modal, deleted when closed) and returns it.
    LinkDeviceDialog* link_device();
    // The sentence under the table: progress, outcome or error.
    QString status_text() const;

private:
    void update_buttons();
    void show_status(const QString& text, bool error);
    // The selected device, or 0.
    std::uint32_t selected_device() const;
    bool is_current(std::uint32_t device_id) const;

    Actions m_actions;
    std::vector<engine::DeviceInfo> m_devices;
    std::uint32_t m_removing = 0; // a removal waits for the relay
    QTableWidget* m_table = nullptr;
    QPushButton* m_remove = nullptr;
    QPushButton* m_link = nullptr;
    QLabel* m_status = nullptr;
    QPointer<LinkDeviceDialog> m_link_dialog;
};

} // namespace veil::desktop
