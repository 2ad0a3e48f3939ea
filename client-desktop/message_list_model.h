// MessageListModel: the messages of the one open conversation, oldest first. Fed with rows from
// the store and with the engine's events (new rows, status changes); it never reads the store.
//
// Thread: the GUI thread. Received text reaches views only as plain-text DisplayRole strings
// (display_text()), never as rich text, so markup in a message is shown literally. There is no
// ToolTipRole on purpose: QToolTip guesses rich text.
//
// Groups: every message names its sender (SenderRole, the header of DisplayRole). System lines
// (store::MessageKind::system: joins, leaves, removals, refused changes), which the client writes
// itself, are remarks, not messages from someone: SystemRole is true, SenderRole is empty, and
// DisplayRole is the remark and its time on one line, shown centred, italic and muted.
#pragma once

#include "store/account_store.h"

#include <QAbstractListModel>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace veil::desktop {

class MessageListModel final : public QAbstractListModel {
    Q_OBJECT
public:
    enum Role {
        SenderRole = Qt::UserRole + 1, // QString
        TextRole,                      // QString, plain (display_text)
        TimeRole,                      // QString, formatted local time
        TickRole,                      // QString: "…", "✓", "✓✓", "✗"; empty for incoming
        StatusRole,                    // int, store::MessageStatus
        OutgoingRole,                  // bool
        UndecryptableRole,             // bool: a placeholder whose text is the reason
        SystemRole,                    // bool: a remark the client wrote (MessageKind::system)
    };

    // now_ms decides which times are "today"; tests pass a fixed clock.
    explicit MessageListModel(QObject* parent = nullptr, std::function<std::int64_t()> now_ms = {});

    // Shows peer's conversation with rows (any order; shown by row id).
    void set_conversation(const std::string& peer, std::vector<store::MessageRow> rows);
    void clear();
    const std::string& peer() const { return m_peer; }

    // Appends a row of the open conversation. Returns false, changing nothing, for a row of
    // another conversation or one already shown.
    bool add(const store::MessageRow& row);
    // Updates the tick of an outgoing message shown here; false when it is not shown.
    bool set_status(std::span<const std::uint8_t> message_id, store::MessageStatus status);

    // The row showing the message with this store row id (MessageRow::id), or -1.
    int row_of_id(std::int64_t id) const;

    int rowCount(const QModelIndex& parent = QModelIndex()) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QHash<int, QByteArray> roleNames() const override;

private:
    QString display_line(const store::MessageRow& row) const;
    QString header_line(const store::MessageRow& row) const;
    bool shown(const store::MessageRow& row) const;

    std::function<std::int64_t()> m_now_ms;
    std::string m_peer;
    std::vector<store::MessageRow> m_rows;
};

} // namespace veil::desktop
