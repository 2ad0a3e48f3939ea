// ConversationListModel: the conversation list of the main window, one row per peer or group,
// most recent activity first. Fed from the store (conversations(), contacts without messages and
// groups); it never reads the store itself, so it can be tested with plain rows.
//
// A group's row is keyed by its conversation (store::group_conversation, "#" and the hex id) and
// titled "# NAME" (group_title()); groups without messages are listed after the conversations,
// before contacts without messages.
//
// A person whose name looks like another listed person's (util/look_alike.h: "b0b" and "bob")
// is flagged: LooksLikeRole names the other, and the accessible text and tooltip say so.
//
// Thread: the GUI thread. DisplayRole is plain text built with display_text(); views must not
// render it as rich text. ToolTipRole is already made safe for Qt's tooltip (plain_tooltip()).
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
        PeerRole = Qt::UserRole + 1, // QString: a username, or a group's conversation "#hex"
        UnreadRole,                  // int
        LastTextRole,                // QString, one line, plain
        LastActivityRole,            // qint64 milliseconds since the epoch
        TitleRole,                   // QString: the username, or "# NAME" for a group
        IsGroupRole,                 // bool
        HasLeftRole,                 // bool: a group we left or were removed from (read-only)
        PendingRole,                 // bool: a group of ours the relay has not accepted yet
        BlockedRole,                 // bool: a person we blocked
        LooksLikeRole, // QString: the listed contact this person's name looks like, or empty
    };

    explicit ConversationListModel(QObject* parent = nullptr);

    // Replaces every row. Contacts that have no conversation yet are listed after the others
    // with no last message. groups are every group to list (AccountStore::groups); a row with
    // revision 0 is one we created that the relay has not accepted yet (only its id and name
    // are read). blocked are the names we blocked (AccountStore::blocked): their rows are marked.
    void set_rows(std::vector<store::ConversationRow> conversations,
                  const std::vector<std::string>& contacts,
                  const std::vector<store::GroupRow>& groups = {},
                  const std::vector<std::string>& blocked = {});
    // The row of peer, or -1.
    int row_of(const std::string& peer) const;
    // The peer at row; row must be valid.
    const std::string& peer_at(int row) const {
        return m_rows.at(static_cast<std::size_t>(row)).conversation.peer;
    }
    // How peer is named in the list and the window's header: "# NAME" for a listed group.
    QString title_of(const std::string& peer) const;
    // The listed person whose name peer's looks like (LooksLikeRole), or empty; always empty for
    // a group.
    QString looks_like(const std::string& peer) const;
    int total_unread() const;
    // The people listed (not groups), in the list's order.
    std::vector<std::string> people() const;

    int rowCount(const QModelIndex& parent = QModelIndex()) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QHash<int, QByteArray> roleNames() const override;

private:
    struct Row {
        store::ConversationRow conversation;
        bool group = false;
        std::string group_name;
        bool has_left = false;
        bool pending = false;
        bool blocked = false;
        std::string looks_like; // a listed person whose name this one's looks like
    };
    static QString title(const Row& row);
    static QString display_line(const Row& row);
    static QString tooltip(const Row& row);

    std::vector<Row> m_rows;
};

} // namespace veil::desktop
