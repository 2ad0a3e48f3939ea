#include "message_list_model.h"

#include "display_text.h"

#include <QBrush>
#include <QColor>
#include <QDateTime>
#include <QFont>

#include <algorithm>

namespace veil::desktop {
namespace {

bool outgoing(const store::MessageRow& row) {
    return row.direction == store::Direction::outgoing;
}

bool system_line(const store::MessageRow& row) {
    return row.kind == store::MessageKind::system;
}

bool undecryptable(const store::MessageRow& row) {
    return row.direction == store::Direction::incoming &&
           row.status == store::MessageStatus::failed;
}

std::int64_t shown_time(const store::MessageRow& row) {
    // The sender's clock is what the sender saw; fall back to arrival for placeholders.
    return row.sent_at_ms > 0 ? row.sent_at_ms : row.received_at_ms;
}

} // namespace

MessageListModel::MessageListModel(QObject* parent, std::function<std::int64_t()> now_ms)
    : QAbstractListModel(parent)
    , m_now_ms(std::move(now_ms)) {
    if (!m_now_ms)
        m_now_ms = [] { return QDateTime::currentMSecsSinceEpoch(); };
}

void MessageListModel::set_conversation(const std::string& peer,
                                        std::vector<store::MessageRow> rows) {
    std::stable_sort(rows.begin(), rows.end(),
                     [](const auto& a, const auto& b) { return a.id < b.id; });
    beginResetModel();
    m_peer = peer;
    m_rows = std::move(rows);
    endResetModel();
}

void MessageListModel::clear() {
    set_conversation({}, {});
}

bool MessageListModel::shown(const store::MessageRow& row) const {
    return std::any_of(m_rows.begin(), m_rows.end(), [&](const auto& r) {
        if (row.id != 0 && r.id == row.id)
            return true;
        return r.sender == row.sender && r.message_id == row.message_id;
    });
}

bool MessageListModel::add(const store::MessageRow& row) {
    if (m_peer.empty() || row.peer != m_peer || shown(row))
        return false;
    int at = rowCount();
    beginInsertRows(QModelIndex(), at, at);
    m_rows.push_back(row);
    endInsertRows();
    return true;
}

bool MessageListModel::set_status(std::span<const std::uint8_t> message_id,
                                  store::MessageStatus status) {
    for (std::size_t i = 0; i < m_rows.size(); ++i) {
        auto& row = m_rows[i];
        if (!outgoing(row) || !std::equal(row.message_id.begin(), row.message_id.end(),
                                          message_id.begin(), message_id.end()))
            continue;
        // A late "sent" must not take back a "delivered" that overtook it.
        if (row.status == store::MessageStatus::delivered && status == store::MessageStatus::sent)
            return true;
        row.status = status;
        QModelIndex changed = index(static_cast<int>(i));
        emit dataChanged(changed, changed);
        return true;
    }
    return false;
}

int MessageListModel::row_of_id(std::int64_t id) const {
    for (std::size_t i = 0; i < m_rows.size(); ++i)
        if (m_rows[i].id == id)
            return static_cast<int>(i);
    return -1;
}

int MessageListModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

QString MessageListModel::header_line(const store::MessageRow& row) const {
    QString header = display_text(row.sender);
    QString time = format_time(shown_time(row), m_now_ms());
    if (!time.isEmpty())
        header += QStringLiteral("  ·  ") + time;
    if (outgoing(row))
        header += QStringLiteral("  ") + tick_for(row.status);
    if (undecryptable(row))
        header += QStringLiteral("  ·  ") + tr("could not decrypt");
    return header;
}

QString MessageListModel::display_line(const store::MessageRow& row) const {
    if (system_line(row)) {
        // A remark, with no sender: "bob left  ·  14:03".
        QString line = one_line(row.text, 0);
        QString time = format_time(shown_time(row), m_now_ms());
        return time.isEmpty() ? line : line + QStringLiteral("  ·  ") + time;
    }
    return header_line(row) + QChar(u'\n') + display_text(row.text);
}

QVariant MessageListModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() < 0 || index.row() >= rowCount())
        return {};
    const auto& row = m_rows[static_cast<std::size_t>(index.row())];
    switch (role) {
    case Qt::DisplayRole:
    case Qt::AccessibleTextRole: return display_line(row);
    case Qt::TextAlignmentRole:
        if (system_line(row))
            return QVariant::fromValue(Qt::AlignHCenter | Qt::AlignVCenter);
        return QVariant::fromValue(outgoing(row) ? Qt::AlignRight | Qt::AlignVCenter
                                                 : Qt::AlignLeft | Qt::AlignVCenter);
    case Qt::ForegroundRole:
        if (undecryptable(row))
            return QBrush(QColor(0xa0, 0x10, 0x10));
        if (system_line(row))
            return QBrush(QColor(0x6e, 0x6e, 0x6e));
        return {};
    case Qt::FontRole: {
        if (!system_line(row))
            return {};
        QFont font;
        font.setItalic(true);
        return font;
    }
    case Qt::BackgroundRole:
        if (outgoing(row))
            return QBrush(QColor(0xe8, 0xf1, 0xfb));
        return {};
    case SenderRole: return system_line(row) ? QString() : display_text(row.sender);
    case TextRole: return display_text(row.text);
    case TimeRole: return format_time(shown_time(row), m_now_ms());
    case TickRole: return outgoing(row) ? tick_for(row.status) : QString();
    case StatusRole: return static_cast<int>(row.status);
    case OutgoingRole: return outgoing(row);
    case UndecryptableRole: return undecryptable(row);
    case SystemRole: return system_line(row);
    default: return {};
    }
}

QHash<int, QByteArray> MessageListModel::roleNames() const {
    auto names = QAbstractListModel::roleNames();
    names.insert(SenderRole, "sender");
    names.insert(TextRole, "text");
    names.insert(TimeRole, "time");
    names.insert(TickRole, "tick");
    names.insert(StatusRole, "status");
    names.insert(OutgoingRole, "outgoing");
    names.insert(UndecryptableRole, "undecryptable");
    names.insert(SystemRole, "system");
    return names;
}

} // namespace veil::desktop
