#include "conversation_list_model.h"

#include "display_text.h"

#include "util/look_alike.h"

#include <QFont>

#include <algorithm>
#include <map>
#include <set>

namespace veil::desktop {
namespace {

constexpr int kPreviewChars = 48;

} // namespace

ConversationListModel::ConversationListModel(QObject* parent)
    : QAbstractListModel(parent) {}

QString ConversationListModel::title(const Row& row) {
    return row.group ? group_title(row.group_name) : display_text(row.conversation.peer);
}

QString ConversationListModel::display_line(const Row& row) {
    QString first = title(row);
    if (!row.looks_like.empty())
        first += QStringLiteral("  · ") + tr("looks like %1").arg(display_text(row.looks_like));
    if (row.has_left)
        first += QStringLiteral("  · ") + tr("left");
    if (row.blocked)
        first += QStringLiteral("  · ") + tr("blocked");
    if (row.conversation.unread > 0)
        first += QStringLiteral("  (%1)").arg(row.conversation.unread);
    QString second;
    if (row.pending)
        second = tr("waiting for the relay to accept it");
    else if (row.conversation.last_text.empty())
        second = tr("no messages yet");
    else
        second = one_line(row.conversation.last_text, kPreviewChars);
    return first + QChar(u'\n') + second;
}

// The whole name (the list elides it) and, for a look-alike, the warning, as plain text.
QString ConversationListModel::tooltip(const Row& row) {
    QString text = title(row);
    if (!row.looks_like.empty())
        text += QChar(u'\n') + look_alike_warning(row.conversation.peer, row.looks_like);
    return plain_tooltip(text);
}

void ConversationListModel::set_rows(std::vector<store::ConversationRow> conversations,
                                     const std::vector<std::string>& contacts,
                                     const std::vector<store::GroupRow>& groups,
                                     const std::vector<std::string>& blocked) {
    // Most recent first; the store's order is not part of its contract.
    std::stable_sort(conversations.begin(), conversations.end(), [](const auto& a, const auto& b) {
        return a.last_activity_ms > b.last_activity_ms;
    });
    std::map<std::string, const store::GroupRow*> group_of;
    for (const auto& g : groups)
        group_of.emplace(store::group_conversation(g.group_id), &g);

    std::vector<Row> rows;
    std::set<std::string> listed;
    auto push = [&](store::ConversationRow conversation) {
        if (!listed.insert(conversation.peer).second)
            return;
        Row row;
        row.conversation = std::move(conversation);
        if (store::is_group_conversation(row.conversation.peer)) {
            row.group = true;
            if (auto it = group_of.find(row.conversation.peer); it != group_of.end()) {
                row.group_name = it->second->name;
                row.has_left = it->second->has_left;
                row.pending = it->second->revision == 0;
            }
        } else {
            row.blocked =
                std::find(blocked.begin(), blocked.end(), row.conversation.peer) != blocked.end();
        }
        rows.push_back(std::move(row));
    };
    for (auto& c : conversations)
        push(std::move(c));
    for (const auto& g : groups) // in the caller's order (the store's is by name)
        push(store::ConversationRow{store::group_conversation(g.group_id), {}, 0, 0});
    for (const auto& name : contacts)
        push(store::ConversationRow{name, {}, 0, 0});

    beginResetModel();
    m_rows = std::move(rows);
    const std::vector<std::string> listed_people = people();
    for (auto& row : m_rows)
        if (!row.group)
            if (auto alike = look_alike::look_alikes(row.conversation.peer, listed_people);
                !alike.empty())
                row.looks_like = alike.front();
    endResetModel();
}

int ConversationListModel::row_of(const std::string& peer) const {
    for (std::size_t i = 0; i < m_rows.size(); ++i) {
        if (m_rows[i].conversation.peer == peer)
            return static_cast<int>(i);
    }
    return -1;
}

QString ConversationListModel::title_of(const std::string& peer) const {
    int row = row_of(peer);
    if (row >= 0)
        return title(m_rows[static_cast<std::size_t>(row)]);
    return store::is_group_conversation(peer) ? group_title({}) : display_text(peer);
}

QString ConversationListModel::looks_like(const std::string& peer) const {
    int row = row_of(peer);
    return row < 0 ? QString() : display_text(m_rows[static_cast<std::size_t>(row)].looks_like);
}

std::vector<std::string> ConversationListModel::people() const {
    std::vector<std::string> out;
    for (const auto& row : m_rows)
        if (!row.group)
            out.push_back(row.conversation.peer);
    return out;
}

int ConversationListModel::total_unread() const {
    int total = 0;
    for (const auto& r : m_rows)
        total += r.conversation.unread;
    return total;
}

int ConversationListModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

QVariant ConversationListModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() < 0 || index.row() >= rowCount())
        return {};
    const auto& row = m_rows[static_cast<std::size_t>(index.row())];
    const auto& c = row.conversation;
    switch (role) {
    case Qt::DisplayRole: return display_line(row);
    case Qt::AccessibleTextRole: return display_line(row);
    case Qt::ToolTipRole: return tooltip(row);
    case Qt::FontRole: {
        QFont font;
        font.setBold(c.unread > 0);
        font.setItalic(row.has_left || row.pending || row.blocked);
        return font;
    }
    case PeerRole: return QString::fromStdString(c.peer);
    case UnreadRole: return c.unread;
    case LastTextRole: return one_line(c.last_text, kPreviewChars);
    case LastActivityRole: return QVariant::fromValue<qint64>(c.last_activity_ms);
    case TitleRole: return title(row);
    case IsGroupRole: return row.group;
    case HasLeftRole: return row.has_left;
    case PendingRole: return row.pending;
    case BlockedRole: return row.blocked;
    case LooksLikeRole: return display_text(row.looks_like);
    default: return {};
    }
}

QHash<int, QByteArray> ConversationListModel::roleNames() const {
    auto names = QAbstractListModel::roleNames();
    names.insert(PeerRole, "peer");
    names.insert(UnreadRole, "unread");
    names.insert(LastTextRole, "lastText");
    names.insert(LastActivityRole, "lastActivity");
    names.insert(TitleRole, "title");
    names.insert(IsGroupRole, "isGroup");
    names.insert(HasLeftRole, "hasLeft");
    names.insert(PendingRole, "pending");
    names.insert(BlockedRole, "blocked");
    names.insert(LooksLikeRole, "looksLike");
    return names;
}

} // namespace veil::desktop
