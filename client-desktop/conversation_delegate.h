// ConversationDelegate: paints a ConversationListModel row as a messenger's chat list does: an
// initials avatar (its colour stable for the person or group), the title, the time of the last
// activity (format_list_time), the last message's preview on one elided line and an unread
// badge. A group we left, one waiting for the relay and a blocked person say so in the preview
// line; a person whose name looks like another contact's gets a warning mark after the name.
// It paints the search results (SearchResultsModel) the same way. Everything is plain text
// drawn with QPainter; sizes follow the font.
//
// Thread: the GUI thread.
#pragma once

#include <QStyledItemDelegate>

#include <cstdint>
#include <functional>

namespace veil::desktop {

class ConversationDelegate final : public QStyledItemDelegate {
    Q_OBJECT
public:
    // now_ms decides which times are "today"; tests pass a fixed clock.
    explicit ConversationDelegate(QObject* parent = nullptr,
                                  std::function<std::int64_t()> now_ms = {});

    void paint(QPainter* painter, const QStyleOptionViewItem& option,
               const QModelIndex& index) const override;
    QSize sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const override;

    // The badge's text for an unread count: "" for none, "1"…"99", "99+".
    static QString badge_text(int unread);
    // The preview line of a row: the state of the conversation or its last message.
    static QString preview_text(const QModelIndex& index);

    // What a row shows, from a ConversationListModel or a SearchResultsModel (a message found:
    // its conversation, time, and "sender: text" as the preview).
    struct Shown {
        QString title, key, time, preview;
        QString looks_like; // the contact whose name this one's looks like, or empty
        int unread = 0;
        bool group = false;
        bool quiet = false; // a group we left, one not accepted yet, a blocked person
    };
    static Shown shown(const QModelIndex& index, std::int64_t now_ms);

private:
    std::function<std::int64_t()> m_now_ms;
};

} // namespace veil::desktop
