// MessageListModel: the messages of the one open conversation, oldest first. Fed with rows from
// the store and with the engine's events (new rows, status changes); it never reads the store.
//
// Thread: the GUI thread. Received text reaches views only as plain-text DisplayRole strings
// (display_text()), never as rich text, so markup in a message is shown literally. ToolTipRole
// (the message's whole date and time and its files' whole names) is made with plain_tooltip(),
// because QToolTip guesses rich text.
//
// Groups: every message names its sender (SenderRole, the header of DisplayRole). System lines
// (store::MessageKind::system: joins, leaves, removals, refused changes), which the client writes
// itself, are remarks, not messages from someone: SystemRole is true, SenderRole is empty, and
// DisplayRole is the remark and its time on one line, shown centred, italic and muted.
//
// Everyday messaging: DisplayRole is the header (sender, time, tick, "(edited)", an hourglass
// for a message with a disappearing timer), then the quoted message of a reply ("┃ bob: …"),
// the text ("This message was deleted" in italics for one deleted for everyone), a line per
// file (name, size, transfer progress) and the reactions grouped with counts ("👍 2  ❤️ 1").
// A message that mentions us (set_own_name) in a group has a highlighted background.
#pragma once

#include "store/account_store.h"

#include <QAbstractListModel>
#include <QImage>
#include <QStringList>
#include <QVariant>

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
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
        QuoteRole,                     // QString "bob: quoted text" of a reply; empty otherwise
        ReactionsRole,                 // QString "👍 2  ❤️ 1"; empty without reactions
        EditedRole,                    // bool
        DeletedRole,                   // bool: deleted for everyone
        MentionsUsRole,                // bool: a group message that mentions us
        TimerRole,                     // bool: sent with a disappearing timer
        AttachmentsRole,               // QStringList, a line per file
        RowIdRole,                     // qint64, MessageRow::id
        // For the painted bubbles (MessageDelegate).
        DaySeparatorRole, // QString "Today", "Yesterday", a date: this row begins a new day
        UnreadMarkerRole, // int N > 0: the "N unread messages" line goes above this row
        BubbleTextRole,   // QString: the text as a bubble shows it, cut when very long
        TruncatedRole,    // bool: BubbleTextRole is cut; full_text() has the rest
        ClockRole,        // QString "14:03" (the day is in the separators)
        GroupRole,        // bool: the conversation is a group (bubbles name their sender)
        SenderKeyRole,    // QString: the sender's username, for the avatar colour
        FileInfoRole,     // QVariantList of FileInfo, one per attachment
        FirstOfRunRole,   // bool: the previous row is not by the same sender on the same day
    };

    // One attachment as a bubble shows it.
    struct FileInfo {
        int index = 0;
        QString name;       // one line, plain
        QString size;       // "14 KB"
        QString state;      // "not downloaded", "downloading 40%", … or empty when ready
        int state_code = 0; // store::AttachmentState
        int percent = -1;   // transfer progress, -1 when none is known
        QImage thumbnail;   // a preview of an image file we have on disk, else the sender's
                            // preview from the message; null otherwise
    };

    // now_ms decides which times are "today"; tests pass a fixed clock.
    explicit MessageListModel(QObject* parent = nullptr, std::function<std::int64_t()> now_ms = {});

    // Shows peer's conversation with rows (any order; shown by row id, with rows not stored yet
    // (negative ids, the window's own "sending" bubbles) after the stored ones).
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
    // The message shown in a row; row must be within rowCount().
    const store::MessageRow& message_at(int row) const {
        return m_rows.at(static_cast<std::size_t>(row));
    }

    // The "N unread messages" line: above the first of the last count incoming messages (none
    // for 0). set_conversation() removes it; the window sets it when it opens a conversation.
    void set_unread_marker(int count);
    // The row the unread line is above, or -1.
    int unread_marker_row() const;
    // A preview for an image attachment we hold as a plain file at path (one we sent or saved):
    // decoded at most once, scaled down; a file that is not a readable image gives none.
    void set_preview(std::int64_t row_id, int index, const QString& path);
    // The whole text of row's message (a bubble may show it cut), plain.
    QString full_text(int row) const;

    // Our username, for highlighting mentions of us.
    void set_own_name(const std::string& name) { m_own_name = name; }
    // Replaces the shown copy of row (same row id: an edit, a deletion, a reaction, an
    // attachment's state); false when it is not shown.
    bool replace(const store::MessageRow& row);
    // Removes the shown messages of conversation with these row ids (they disappeared); returns
    // how many were shown.
    int remove(const std::string& conversation, const std::vector<std::int64_t>& ids);
    // An attachment transfer moved; shown as a percentage until the row changes state.
    // False when the message is not shown.
    bool set_transfer(std::int64_t row_id, int index, std::uint64_t done, std::uint64_t total);
    // The progress of a transfer in percent, or -1 when none is known.
    int transfer_percent(std::int64_t row_id, int index) const;

    int rowCount(const QModelIndex& parent = QModelIndex()) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QHash<int, QByteArray> roleNames() const override;

private:
    QString display_line(const store::MessageRow& row) const;
    QVariantList file_infos(const store::MessageRow& row) const;
    // The picture of the preview the sender put in the message (decode_thumbnail), scaled to a
    // preview's size; decoded once. Null when there is none or it does not decode.
    QImage sent_preview(std::int64_t row_id, const store::AttachmentRow& a) const;
    QString day_separator(std::size_t at) const;
    bool first_of_run(std::size_t at) const;
    QString header_line(const store::MessageRow& row) const;
    QString tooltip(const store::MessageRow& row) const;
    QStringList attachment_lines(const store::MessageRow& row) const;
    bool mentions_us(const store::MessageRow& row) const;
    bool shown(const store::MessageRow& row) const;

    std::function<std::int64_t()> m_now_ms;
    std::string m_peer;
    std::string m_own_name;
    std::vector<store::MessageRow> m_rows;
    // (row id, attachment index) -> (done, total) of transfers under way.
    std::map<std::pair<std::int64_t, int>, std::pair<std::uint64_t, std::uint64_t>> m_transfers;
    // (row id, attachment index) -> preview image.
    std::map<std::pair<std::int64_t, int>, QImage> m_previews;
    // (row id, attachment index) -> the sender's preview, decoded (a cache of sent_preview()).
    mutable std::map<std::pair<std::int64_t, int>, QImage> m_sent_previews;
    std::int64_t m_unread_marker_id = 0; // the row id the unread line is above; 0: none
    int m_unread_count = 0;
};

// How much of a very long text a bubble shows: at most this many bytes of UTF-8 and this many
// lines (the rest through "Show more"). Laying out a 1 MiB line would freeze the window.
constexpr std::size_t kBubbleBytes = 4096;
constexpr int kBubbleLines = 40;
// text cut as a bubble shows it; *cut says whether anything was left out.
QString bubble_text(std::string_view utf8, bool* cut);

// Reactions grouped by emoji with their counts, in the order each emoji first appeared:
// "👍 2  ❤️ 1". Empty for none.
QString reaction_summary(const std::vector<store::ReactionRow>& reactions);

// "bob: the quoted text" (one line, cut to max_chars) for a reply's quote.
QString quote_line(const store::Quote& quote, int max_chars = 80);

} // namespace veil::desktop

Q_DECLARE_METATYPE(veil::desktop::MessageListModel::FileInfo)
