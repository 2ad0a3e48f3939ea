#include "search_results_model.h"

#include "display_text.h"

namespace veil::desktop {
namespace {

// Long enough to recognise the message by, short enough for one line of the list.
constexpr int kTextChars = 80;
constexpr int kNameChars = 32;

std::int64_t shown_time(const store::MessageRow& row) {
    return row.direction == store::Direction::outgoing ? row.sent_at_ms : row.received_at_ms;
}

} // namespace

SearchResultsModel::SearchResultsModel(QObject* parent)
    : QAbstractListModel(parent) {}

void SearchResultsModel::set_rows(std::vector<store::MessageRow> rows, const TitleOf& title_of,
                                  std::int64_t now_ms) {
    std::vector<Row> shown;
    shown.reserve(rows.size());
    for (auto& message : rows) {
        Row row;
        row.title = title_of(message.peer);
        row.sender = one_line(message.sender, kNameChars);
        row.time = format_time(shown_time(message), now_ms);
        row.text = one_line(message.text, kTextChars);
        row.message = std::move(message);
        shown.push_back(std::move(row));
    }
    beginResetModel();
    m_rows = std::move(shown);
    endResetModel();
}

void SearchResultsModel::clear() {
    beginResetModel();
    m_rows.clear();
    endResetModel();
}

int SearchResultsModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

QVariant SearchResultsModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() < 0 || index.row() >= rowCount())
        return {};
    const auto& row = m_rows[static_cast<std::size_t>(index.row())];
    switch (role) {
    case Qt::DisplayRole:
    case Qt::AccessibleTextRole:
        return row.title + QStringLiteral(" · ") + row.sender + QStringLiteral(" · ") + row.time +
               QChar(u'\n') + row.text;
    case PeerRole: return QString::fromStdString(row.message.peer);
    case TitleRole: return row.title;
    case SenderRole: return row.sender;
    case TextRole: return row.text;
    case TimeRole: return QVariant::fromValue<qint64>(shown_time(row.message));
    default: return {};
    }
}

QHash<int, QByteArray> SearchResultsModel::roleNames() const {
    auto names = QAbstractListModel::roleNames();
    names.insert(PeerRole, "peer");
    names.insert(TitleRole, "title");
    names.insert(SenderRole, "sender");
    names.insert(TextRole, "text");
    names.insert(TimeRole, "time");
    return names;
}

} // namespace veil::desktop
