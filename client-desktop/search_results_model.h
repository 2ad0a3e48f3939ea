// SearchResultsModel: the messages a search of every conversation found, newest first, in place
// of the conversation list while the window's search field holds words. Fed with the store's rows
// (AccountStore::search); it never reads the store itself, so it can be tested with plain rows.
//
// Each row reads "TITLE · SENDER · TIME" over the message's text on one line, where TITLE is how
// the conversation list names the conversation (a person, or "# NAME" for a group).
//
// Thread: the GUI thread. DisplayRole is plain text built with display_text(); views must not
// render it as rich text.
#pragma once

#include "store/account_store.h"

#include <QAbstractListModel>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace veil::desktop {

class SearchResultsModel final : public QAbstractListModel {
    Q_OBJECT
public:
    enum Role {
        PeerRole = Qt::UserRole + 1, // QString: the conversation, a username or "#hex"
        TitleRole,                   // QString: the conversation's title
        SenderRole,                  // QString: who wrote it, plain
        TextRole,                    // QString: the text on one line, cut with an ellipsis
        TimeRole,                    // qint64 milliseconds since the epoch
    };
    // How the conversation list names a conversation (ConversationListModel::title_of).
    using TitleOf = std::function<QString(const std::string& peer)>;

    explicit SearchResultsModel(QObject* parent = nullptr);

    // Replaces every row, keeping the order given (the store's: newest first). now_ms decides
    // which times are today's.
    void set_rows(std::vector<store::MessageRow> rows, const TitleOf& title_of,
                  std::int64_t now_ms);
    void clear();
    // The conversation of row; row must be valid.
    const std::string& peer_at(int row) const {
        return m_rows.at(static_cast<std::size_t>(row)).message.peer;
    }
    // The store row id (MessageRow::id) of row; row must be valid.
    std::int64_t message_at(int row) const {
        return m_rows.at(static_cast<std::size_t>(row)).message.id;
    }

    int rowCount(const QModelIndex& parent = QModelIndex()) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QHash<int, QByteArray> roleNames() const override;

private:
    struct Row {
        store::MessageRow message;
        QString title;
        QString sender;
        QString time;
        QString text;
    };

    std::vector<Row> m_rows;
};

} // namespace veil::desktop
