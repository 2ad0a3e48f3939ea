// MessageDelegate: paints a MessageListModel row as a messenger does. Our messages are bubbles on
// the right in the accent colour, others' on the left (in a group with the sender's name and an
// initials avatar at the start of a run); a reply quotes its message in a block inside the
// bubble; files are lines with their name, size and state, a progress bar while they move and a
// thumbnail for an image we hold; reactions sit under the bubble; the time, "edited", the timer
// and a painted delivery tick (queued, sent, delivered, read, failed, expired) end the bubble.
// Rows that begin a day get a "Today"/"Yesterday"/date separator, the first unread one the
// "N unread messages" line, and system lines are centred remarks.
//
// Received text is laid out with QTextLayout as plain text (never rich text), from the model's
// BubbleTextRole, which is already cut for very long messages; a cut bubble ends with
// "Show more", which emits showMoreRequested(row).
//
// Every size comes from the view's font metrics, so the bubbles scale with the font and the
// screen's density. Heights are cached by message and width: a row that changes (a transfer's
// progress, a reaction) is measured again and the view laid out again only when its height
// changed. Thread: the GUI thread.
#pragma once

#include <QHash>
#include <QStyledItemDelegate>

class QListView;

namespace veil::desktop {

class MessageDelegate final : public QStyledItemDelegate {
    Q_OBJECT
public:
    // The view's viewport width decides the bubbles' widths; view must outlive the delegate.
    explicit MessageDelegate(QListView* view);

    void paint(QPainter* painter, const QStyleOptionViewItem& option,
               const QModelIndex& index) const override;
    QSize sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const override;

    // What is under pos (in the item's coordinates, its top-left corner at 0,0) for width.
    enum class Hit { none, bubble, show_more, file, quote };
    struct HitResult {
        Hit what = Hit::none;
        int file_index = -1; // the attachment's index for Hit::file
    };
    HitResult hit_test(const QModelIndex& index, const QPoint& pos, int width) const;

signals:
    void showMoreRequested(int row);
    void fileActivated(int row, int index);
    // The quoted message of a reply was clicked.
    void quoteActivated(int row);

protected:
    bool editorEvent(QEvent* event, QAbstractItemModel* model, const QStyleOptionViewItem& option,
                     const QModelIndex& index) override;

private:
    struct Layout;
    Layout make_layout(const QFont& font, const QModelIndex& index, int width) const;
    int row_width(const QStyleOptionViewItem& option) const;
    void watch(const QAbstractItemModel* model) const;
    void rows_changed(const QModelIndex& from, const QModelIndex& to);

    struct Measured {
        int width = 0;
        qreal font_size = 0;
        int height = 0;
    };
    QListView* m_view;
    mutable const QAbstractItemModel* m_watched = nullptr;
    mutable QHash<qint64, Measured> m_heights; // by MessageRow::id
};

} // namespace veil::desktop
