#include "message_list_model.h"

#include "thumbnail.h"

#include "display_text.h"

#include <QBrush>
#include <QColor>
#include <QDateTime>
#include <QFont>
#include <QImageReader>
#include <QLocale>

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
    // The sender's clock is what the sender saw; fall back to arrival for placeholders. A
    // message cannot have been sent after it arrived: a sender's clock that says so (a year
    // far ahead) would date it in the future and break the day separators of a conversation
    // kept in arrival order, so it shows its arrival instead, as does a time at or before 1970.
    if (row.sent_at_ms <= 0)
        return row.received_at_ms;
    if (row.direction == store::Direction::incoming && row.received_at_ms > 0 &&
        row.sent_at_ms > row.received_at_ms)
        return row.received_at_ms;
    return row.sent_at_ms;
}

bool same_bytes(const Bytes& a, std::span<const std::uint8_t> b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

// What an attachment line says after its name and size.
QString attachment_state(store::AttachmentState state, int percent) {
    QString progress = percent >= 0 ? QStringLiteral(" %1%").arg(percent) : QString();
    switch (state) {
    case store::AttachmentState::remote: return QObject::tr("not downloaded");
    case store::AttachmentState::downloading: return QObject::tr("downloading") + progress;
    case store::AttachmentState::ready: return QString();
    case store::AttachmentState::failed: return QObject::tr("failed");
    case store::AttachmentState::uploading: return QObject::tr("uploading") + progress;
    }
    return QString();
}

// A preview no larger than this (logical pixels at 2x for sharp high-DPI screens).
constexpr int kPreviewSide = 480;
constexpr std::size_t kMaxPreviews = 200;

QImage load_preview(const QString& path) {
    QImageReader reader(path);
    reader.setAutoTransform(true);
    QSize size = reader.size();
    if (!size.isValid() || size.isEmpty())
        return {};
    if (size.width() > kPreviewSide || size.height() > kPreviewSide)
        reader.setScaledSize(size.scaled(kPreviewSide, kPreviewSide, Qt::KeepAspectRatio));
    return reader.read();
}

} // namespace

QString bubble_text(std::string_view utf8, bool* cut) {
    bool shortened = false;
    if (utf8.size() > kBubbleBytes) {
        std::size_t end = kBubbleBytes;
        // Back to the start of a UTF-8 sequence, so that no character is split.
        while (end > 0 && (static_cast<unsigned char>(utf8[end]) & 0xc0) == 0x80)
            --end;
        utf8 = utf8.substr(0, end);
        shortened = true;
    }
    QString text = display_text(utf8);
    qsizetype from = 0;
    for (int line = 0; line < kBubbleLines; ++line) {
        from = text.indexOf(QChar(u'\n'), from);
        if (from < 0)
            break;
        ++from;
    }
    if (from > 0) {
        text.truncate(from - 1);
        shortened = true;
    }
    if (cut)
        *cut = shortened;
    return shortened ? text + QChar(u'…') : text;
}

QString reaction_summary(const std::vector<store::ReactionRow>& reactions) {
    std::vector<const store::ReactionRow*> ordered;
    for (const auto& r : reactions)
        if (!r.emoji.empty())
            ordered.push_back(&r);
    std::stable_sort(ordered.begin(), ordered.end(),
                     [](const auto* a, const auto* b) { return a->at_ms < b->at_ms; });
    std::vector<std::pair<std::string, int>> counts;
    for (const auto* r : ordered) {
        auto it = std::find_if(counts.begin(), counts.end(),
                               [&](const auto& c) { return c.first == r->emoji; });
        if (it == counts.end())
            counts.emplace_back(r->emoji, 1);
        else
            ++it->second;
    }
    QStringList parts;
    for (const auto& [emoji, count] : counts)
        parts << one_line(emoji, 8) + QLatin1Char(' ') + QString::number(count);
    return parts.join(QStringLiteral("  "));
}

QString quote_line(const store::Quote& quote, int max_chars) {
    return one_line(quote.author, 32) + QStringLiteral(": ") + one_line(quote.text, max_chars);
}

MessageListModel::MessageListModel(QObject* parent, std::function<std::int64_t()> now_ms)
    : QAbstractListModel(parent)
    , m_now_ms(std::move(now_ms)) {
    if (!m_now_ms)
        m_now_ms = [] { return QDateTime::currentMSecsSinceEpoch(); };
}

void MessageListModel::set_conversation(const std::string& peer,
                                        std::vector<store::MessageRow> rows) {
    // Stored rows by row id; rows the window shows before the engine stored them (negative
    // ids, -1 first) come after them.
    std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
        if ((a.id < 0) != (b.id < 0))
            return b.id < 0;
        return a.id < 0 ? a.id > b.id : a.id < b.id;
    });
    beginResetModel();
    // Previews are kept by row id across conversations (a row id is never reused), up to a
    // bound, so that going back to a conversation shows them again.
    if (m_previews.size() > kMaxPreviews)
        m_previews.clear();
    m_peer = peer;
    m_rows = std::move(rows);
    m_unread_marker_id = 0;
    m_unread_count = 0;
    endResetModel();
}

void MessageListModel::clear() {
    set_conversation({}, {});
}

void MessageListModel::set_unread_marker(int count) {
    int old = unread_marker_row();
    m_unread_marker_id = 0;
    m_unread_count = 0;
    int seen = 0;
    for (auto it = m_rows.rbegin(); it != m_rows.rend() && count > 0; ++it) {
        if (outgoing(*it) || system_line(*it))
            continue;
        m_unread_marker_id = it->id;
        m_unread_count = ++seen;
        if (seen == count)
            break;
    }
    for (int row : {old, unread_marker_row()})
        if (row >= 0)
            emit dataChanged(index(row), index(row));
}

int MessageListModel::unread_marker_row() const {
    return m_unread_marker_id ? row_of_id(m_unread_marker_id) : -1;
}

void MessageListModel::set_preview(std::int64_t row_id, int index_in_row, const QString& path) {
    auto key = std::make_pair(row_id, index_in_row);
    if (m_previews.count(key))
        return;
    QImage image = load_preview(path);
    if (image.isNull())
        return;
    m_previews[key] = std::move(image);
    if (int at = row_of_id(row_id); at >= 0)
        emit dataChanged(index(at), index(at));
}

QImage MessageListModel::sent_preview(std::int64_t row_id, const store::AttachmentRow& a) const {
    auto key = std::make_pair(row_id, a.index);
    if (auto it = m_sent_previews.find(key); it != m_sent_previews.end())
        return it->second;
    if (m_sent_previews.size() > kMaxPreviews)
        m_sent_previews.clear();
    QImage image = decode_thumbnail(a.thumbnail);
    // Drawn at the size of a preview from a file (kept at 2x): a small picture, scaled up
    // smoothly, until the file itself is saved and previewed.
    if (!image.isNull())
        image =
            image.scaled(kPreviewSide, kPreviewSide, Qt::KeepAspectRatio, Qt::SmoothTransformation);
    m_sent_previews[key] = image;
    return image;
}

QString MessageListModel::full_text(int row) const {
    if (row < 0 || row >= rowCount())
        return {};
    return display_text(m_rows[static_cast<std::size_t>(row)].text);
}

QVariantList MessageListModel::file_infos(const store::MessageRow& row) const {
    QVariantList infos;
    for (const auto& a : row.attachments) {
        FileInfo info;
        info.index = a.index;
        info.name = one_line(a.file_name, 64);
        info.size = format_size(a.size);
        info.percent = transfer_percent(row.id, a.index);
        info.state = attachment_state(a.state, info.percent);
        info.state_code = static_cast<int>(a.state);
        if (auto it = m_previews.find({row.id, a.index}); it != m_previews.end())
            info.thumbnail = it->second;
        else if (!a.thumbnail.empty())
            info.thumbnail = sent_preview(row.id, a);
        infos << QVariant::fromValue(info);
    }
    return infos;
}

QString MessageListModel::day_separator(std::size_t at) const {
    const auto& row = m_rows[at];
    if (at > 0 && same_day(shown_time(m_rows[at - 1]), shown_time(row)))
        return {};
    return day_label(shown_time(row), m_now_ms());
}

bool MessageListModel::first_of_run(std::size_t at) const {
    if (at == 0)
        return true;
    const auto& row = m_rows[at];
    const auto& before = m_rows[at - 1];
    return before.sender != row.sender || system_line(before) ||
           !same_day(shown_time(before), shown_time(row)) ||
           (m_unread_marker_id != 0 && row.id == m_unread_marker_id);
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

bool MessageListModel::replace(const store::MessageRow& row) {
    int at = row_of_id(row.id);
    if (at < 0 || row.peer != m_peer)
        return false;
    m_rows[static_cast<std::size_t>(at)] = row;
    // A finished transfer's state now says what its percentage said.
    for (auto it = m_transfers.begin(); it != m_transfers.end();) {
        bool moving = false;
        if (it->first.first == row.id)
            for (const auto& a : row.attachments)
                if (a.index == it->first.second)
                    moving = a.state == store::AttachmentState::downloading ||
                             a.state == store::AttachmentState::uploading;
        it = it->first.first == row.id && !moving ? m_transfers.erase(it) : std::next(it);
    }
    QModelIndex changed = index(at);
    emit dataChanged(changed, changed);
    return true;
}

int MessageListModel::remove(const std::string& conversation,
                             const std::vector<std::int64_t>& ids) {
    if (conversation != m_peer)
        return 0;
    int removed = 0;
    for (std::int64_t id : ids) {
        int at = row_of_id(id);
        if (at < 0)
            continue;
        beginRemoveRows(QModelIndex(), at, at);
        m_rows.erase(m_rows.begin() + at);
        endRemoveRows();
        ++removed;
    }
    return removed;
}

bool MessageListModel::set_transfer(std::int64_t row_id, int index_in_row, std::uint64_t done,
                                    std::uint64_t total) {
    int at = row_of_id(row_id);
    if (at < 0)
        return false;
    m_transfers[{row_id, index_in_row}] = {done, total};
    QModelIndex changed = index(at);
    emit dataChanged(changed, changed);
    return true;
}

int MessageListModel::transfer_percent(std::int64_t row_id, int index_in_row) const {
    auto it = m_transfers.find({row_id, index_in_row});
    if (it == m_transfers.end() || it->second.second == 0)
        return -1;
    auto [done, total] = it->second;
    return static_cast<int>(std::min<std::uint64_t>(done, total) * 100 / total);
}

bool MessageListModel::mentions_us(const store::MessageRow& row) const {
    if (m_own_name.empty() || outgoing(row) || !store::is_group_conversation(row.peer))
        return false;
    return std::find(row.mentions.begin(), row.mentions.end(), m_own_name) != row.mentions.end();
}

QStringList MessageListModel::attachment_lines(const store::MessageRow& row) const {
    QStringList lines;
    for (const auto& a : row.attachments) {
        QString line = QStringLiteral("📎 ") + one_line(a.file_name, 64) + QStringLiteral("  ·  ") +
                       format_size(a.size);
        QString state = attachment_state(a.state, transfer_percent(row.id, a.index));
        if (!state.isEmpty())
            line += QStringLiteral("  ·  ") + state;
        lines << line;
    }
    return lines;
}

bool MessageListModel::set_status(std::span<const std::uint8_t> message_id,
                                  store::MessageStatus status) {
    for (std::size_t i = 0; i < m_rows.size(); ++i) {
        auto& row = m_rows[i];
        if (!outgoing(row) || !same_bytes(row.message_id, message_id))
            continue;
        // A late "sent" must not take back a "delivered" or "read" that overtook it, nor a
        // late "delivered" a "read".
        auto rank = [](store::MessageStatus s) {
            switch (s) {
            case store::MessageStatus::sent: return 1;
            case store::MessageStatus::delivered: return 2;
            case store::MessageStatus::read: return 3;
            default: return 0;
            }
        };
        if (rank(status) > 0 && rank(row.status) > rank(status))
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
    if (row.edited_at_ms > 0 && !row.deleted)
        header += QStringLiteral("  ") + tr("(edited)");
    if (row.expire_timer_s > 0)
        header += QStringLiteral("  ⏳");
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
    QString line = header_line(row);
    if (row.quote && !row.deleted)
        line += QStringLiteral("\n┃ ") + quote_line(*row.quote);
    line += QChar(u'\n') +
            (row.deleted ? tr("This message was deleted") : bubble_text(row.text, nullptr));
    if (row.deleted)
        return line;
    for (const QString& file : attachment_lines(row))
        line += QChar(u'\n') + file;
    if (QString reactions = reaction_summary(row.reactions); !reactions.isEmpty())
        line += QChar(u'\n') + reactions;
    return line;
}

// "Saturday 5 December 2026, 10:38" and each file's whole name (a bubble elides long ones).
QString MessageListModel::tooltip(const store::MessageRow& row) const {
    if (system_line(row) || shown_time(row) <= 0)
        return {};
    QString text = QLocale().toString(QDateTime::fromMSecsSinceEpoch(shown_time(row)),
                                      QStringLiteral("dddd d MMMM yyyy, HH:mm"));
    if (!row.deleted)
        for (const auto& file : row.attachments)
            text += QChar(u'\n') + display_text(file.file_name);
    return plain_tooltip(text);
}

QVariant MessageListModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() < 0 || index.row() >= rowCount())
        return {};
    const auto& row = m_rows[static_cast<std::size_t>(index.row())];
    switch (role) {
    case Qt::DisplayRole:
    case Qt::AccessibleTextRole: return display_line(row);
    case Qt::ToolTipRole: return tooltip(row);
    case Qt::TextAlignmentRole:
        if (system_line(row))
            return QVariant::fromValue(Qt::AlignHCenter | Qt::AlignVCenter);
        return QVariant::fromValue(outgoing(row) ? Qt::AlignRight | Qt::AlignVCenter
                                                 : Qt::AlignLeft | Qt::AlignVCenter);
    case Qt::ForegroundRole:
        if (undecryptable(row))
            return QBrush(QColor(0xa0, 0x10, 0x10));
        if (system_line(row) || row.deleted)
            return QBrush(QColor(0x6e, 0x6e, 0x6e));
        return {};
    case Qt::FontRole: {
        if (!system_line(row) && !row.deleted)
            return {};
        QFont font;
        font.setItalic(true);
        return font;
    }
    case Qt::BackgroundRole:
        if (mentions_us(row))
            return QBrush(QColor(0xff, 0xf0, 0xb3));
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
    case QuoteRole: return row.quote && !row.deleted ? quote_line(*row.quote) : QString();
    case ReactionsRole: return reaction_summary(row.reactions);
    case EditedRole: return row.edited_at_ms > 0;
    case DeletedRole: return row.deleted;
    case MentionsUsRole: return mentions_us(row);
    case TimerRole: return row.expire_timer_s > 0;
    case AttachmentsRole: return attachment_lines(row);
    case RowIdRole: return static_cast<qint64>(row.id);
    case DaySeparatorRole: return day_separator(static_cast<std::size_t>(index.row()));
    case UnreadMarkerRole: return row.id == m_unread_marker_id ? m_unread_count : 0;
    case BubbleTextRole: return bubble_text(row.text, nullptr);
    case TruncatedRole: {
        bool cut = false;
        if (row.text.size() > kBubbleBytes || row.text.find('\n') != std::string::npos)
            bubble_text(row.text, &cut);
        return cut;
    }
    case ClockRole: {
        std::int64_t ms = shown_time(row);
        return ms > 0 ? QDateTime::fromMSecsSinceEpoch(ms).toLocalTime().toString(
                            QStringLiteral("HH:mm"))
                      : QString();
    }
    case GroupRole: return store::is_group_conversation(row.peer);
    case SenderKeyRole: return QString::fromStdString(row.sender);
    case FileInfoRole: return file_infos(row);
    case FirstOfRunRole: return first_of_run(static_cast<std::size_t>(index.row()));
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
    names.insert(QuoteRole, "quote");
    names.insert(ReactionsRole, "reactions");
    names.insert(EditedRole, "edited");
    names.insert(DeletedRole, "deleted");
    names.insert(MentionsUsRole, "mentionsUs");
    names.insert(TimerRole, "timer");
    names.insert(AttachmentsRole, "attachments");
    names.insert(RowIdRole, "rowId");
    return names;
}

} // namespace veil::desktop
