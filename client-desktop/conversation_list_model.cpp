#include "conversation_list_model.h"

#include "display_text.h"

#include <QFont>

#include <algorithm>
#include <set>

namespace veil::desktop {
namespace {

constexpr int kPreviewChars = 48;

QString display_line(const store::ConversationRow& row) {
    QString first = display_text(row.peer);
    if (row.unread > 0)
        first += QStringLiteral("  (%1)").arg(row.unread);
    QString second = row.last_text.empty() ? ConversationListModel::tr("no messages yet")
                                           : one_line(row.last_text, kPreviewChars);
    return first + QChar(u'\n') + second;
}

} // namespace

ConversationListModel::ConversationListModel(QObject* parent)
    : QAbstractListModel(parent) {}

void ConversationListModel::set_rows(std::vector<store::ConversationRow> conversations,
                                     const std::vector<std::string>& contacts) {
    // Most recent first; the store's order is not part of its contract.
    std::stable_sort(conversations.begin(), conversations.end(), [](const auto& a, const auto& b) {
        return a.last_activity_ms > b.last_activity_ms;
    });
    std::set<std::string> listed;
    for (const auto& c : conversations)
        listed.insert(c.peer);
    for (const auto& name : contacts) {
        if (listed.insert(name).second)
            conversations.push_back(store::ConversationRow{name, {}, 0, 0});
    }
    beginResetModel();
    m_rows = std::move(conversations);
    endResetModel();
}

int ConversationListModel::row_of(const std::string& peer) const {
    for (std::size_t i = 0; i < m_rows.size(); ++i) {
        if (m_rows[i].peer == peer)
            return static_cast<int>(i);
    }
    return -1;
}

int ConversationListModel::total_unread() const {
    int total = 0;
    for (const auto& r : m_rows)
        total += r.unread;
    return total;
}

int ConversationListModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

QVariant ConversationListModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() < 0 || index.row() >= rowCount())
        return {};
    const auto& row = m_rows[static_cast<std::size_t>(index.row())];
    switch (role) {
    case Qt::DisplayRole: return display_line(row);
    case Qt::AccessibleTextRole: return display_line(row);
    case Qt::FontRole: {
        QFont font;
        font.setBold(row.unread > 0);
        return font;
    }
    case PeerRole: return QString::fromStdString(row.peer);
    case UnreadRole: return row.unread;
    case LastTextRole: return one_line(row.last_text, kPreviewChars);
    case LastActivityRole: return QVariant::fromValue<qint64>(row.last_activity_ms);
    default: return {};
    }
}

QHash<int, QByteArray> ConversationListModel::roleNames() const {
    auto names = QAbstractListModel::roleNames();
    names.insert(PeerRole, "peer");
    names.insert(UnreadRole, "unread");
    names.insert(LastTextRole, "lastText");
    names.insert(LastActivityRole, "lastActivity");
    return names;
}

} // namespace veil::desktop
