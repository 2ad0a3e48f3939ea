// ConversationListModel: the conversation list of the main window, one row per peer, most
// recent activity first. Fed from the store (conversations() plus contacts without messages);
// it never reads the store itself, so it can be tested with plain rows.
//
// Thread: the GUI thread. DisplayRole is plain text built with display_text(); views must not
// render it as rich text.
#pragma once

#include "store/account_store.h"

#include <QAbstractListModel>

#include <string>
#include <vector>

namespace veil::desktop {

class ConversationListModel final : public QAbstractListModel {
    Q_OBJECT
public:
    enum Role {
        PeerRole = Qt::UserRole + 1, // QString
        UnreadRole,                  // int
        LastTextRole,                // QString, one line, plain
        LastActivityRole,            // qint64 milliseconds since the epoch
    };

    explicit ConversationListModel(QObject* parent = nullptr);

    // Replaces every row. Contacts that have no conversation yet are listed after the others
    // with no last message.
    void set_rows(std::vector<store::ConversationRow> conversations,
                  const std::vector<std::string>& contacts);
    // The row of peer, or -1.
    int row_of(const std::string& peer) const;
    // The peer at row; row must be valid.
    const std::string& peer_at(int row) const {
        return m_rows.at(static_cast<std::size_t>(row)).peer;
    }
    int total_unread() const;

    int rowCount(const QModelIndex& parent = QModelIndex()) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QHash<int, QByteArray> roleNames() const override;

private:
    std::vector<store::ConversationRow> m_rows;
};

} // namespace veil::desktop
