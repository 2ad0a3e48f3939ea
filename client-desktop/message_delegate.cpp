#include "message_delegate.h"

#include "avatar.h"
#include "emoji_text.h"
#include "message_list_model.h"
#include "theme.h"

#include "store/account_store.h"

#include <QAbstractItemView>
#include <QFontMetricsF>
#include <QListView>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QTextLayout>

#include <algorithm>
#include <memory>
#include <vector>

namespace veil::desktop {
namespace {

using Model = MessageListModel;

QFont scaled_font(const QFont& base, qreal factor, bool bold = false, bool italic = false) {
    QFont font = base;
    if (font.pointSizeF() > 0)
        font.setPointSizeF(font.pointSizeF() * factor);
    else
        font.setPixelSize(std::max(1, static_cast<int>(font.pixelSize() * factor)));
    font.setBold(bold);
    font.setItalic(italic);
    return font;
}

// Plain text laid out in lines of at most width; returns the height used. Newlines become line
// separators, the only forced break QTextLayout knows.
qreal lay_out_text(QTextLayout& layout, const QString& text, const QFont& font, qreal width,
                   qreal* widest, qreal* last_width) {
    QString shown = text;
    shown.replace(QChar(u'\n'), QChar(QChar::LineSeparator));
    layout.setText(shown);
    layout.setFont(font);
    layout.setFormats(emoji_formats(shown));
    QTextOption option;
    option.setWrapMode(QTextOption::WrapAtWordBoundaryOrAnywhere);
    layout.setTextOption(option);
    layout.setCacheEnabled(true);
    qreal height = 0;
    *widest = 0;
    *last_width = 0;
    layout.beginLayout();
    for (QTextLine line = layout.createLine(); line.isValid(); line = layout.createLine()) {
        line.setLineWidth(width);
        line.setPosition(QPointF(0, height));
        height += line.height();
        *widest = std::max(*widest, line.naturalTextWidth());
        *last_width = line.naturalTextWidth();
    }
    layout.endLayout();
    return height;
}

struct FileBox {
    Model::FileInfo info;
    QRectF rect;  // the whole line (or thumbnail and line)
    QRectF image; // the thumbnail, when there is one
    QRectF crop;  // the part of the thumbnail shown in image (a tall one is cut, centred)
};

// The width an image takes in a bubble: its own at most 16 by 12 em, never narrower than 12 em
// (the bubble's text and file line wrap to it), never wider than max_w.
qreal media_width(const QImage& image, qreal em, qreal max_w) {
    QSizeF size = QSizeF(image.size()) / 2.0; // kept at 2x
    size.scale(std::min(max_w, em * 16), em * 12, Qt::KeepAspectRatio);
    return std::min(max_w, std::max(size.width(), em * 12));
}

struct ReactionPill {
    QString text;
    QRectF rect;
};

} // namespace

// Every rectangle of one row, in the row's own coordinates.
struct MessageDelegate::Layout {
    int height = 0;
    QRectF day; // the day separator's pill
    QString day_text;
    QRectF unread; // the "N unread messages" line
    QString unread_text;
    bool system = false;
    QRectF bubble;
    QRectF avatar;
    bool outgoing = false;
    QString sender;
    QPointF sender_at;
    QRectF quote;
    QString quote_author, quote_text;
    std::shared_ptr<QTextLayout> text;
    QPointF text_at;
    std::vector<FileBox> files;
    QRectF show_more;
    QRectF footer; // time, marks and tick
    QString footer_text;
    int status = 0;
    std::vector<ReactionPill> reactions;
    QFont font, small, bold_small;
};

MessageDelegate::MessageDelegate(QListView* view)
    : QStyledItemDelegate(view)
    , m_view(view) {}

int MessageDelegate::row_width(const QStyleOptionViewItem& option) const {
    int width = m_view ? m_view->viewport()->width() : option.rect.width();
    return std::max(width, 120);
}

MessageDelegate::Layout MessageDelegate::make_layout(const QFont& font, const QModelIndex& index,
                                                     int width) const {
    Layout l;
    l.font = font;
    l.small = scaled_font(font, 0.82);
    l.bold_small = scaled_font(font, 0.9, true);
    const QFontMetricsF fm(font), sm(l.small), bm(l.bold_small);
    const qreal em = fm.height();
    const qreal pad = em * 0.5;
    const qreal side = em * 0.8; // space between the bubbles and the view's edges
    qreal y = em * 0.15;

    if (QString day = index.data(Model::DaySeparatorRole).toString(); !day.isEmpty()) {
        l.day_text = day;
        qreal w = sm.horizontalAdvance(day) + em * 1.4;
        y += pad;
        l.day = QRectF((width - w) / 2, y, w, sm.height() + em * 0.5);
        y = l.day.bottom() + pad;
    }
    if (int unread = index.data(Model::UnreadMarkerRole).toInt(); unread > 0) {
        l.unread_text = unread == 1 ? Model::tr("1 unread message")
                                    : Model::tr("%1 unread messages").arg(unread);
        l.unread = QRectF(0, y + pad * 0.5, width, sm.height() + em * 0.4);
        y = l.unread.bottom() + pad * 0.5;
    }
    if (index.data(Model::SystemRole).toBool()) {
        l.system = true;
        QString remark = index.data(Qt::DisplayRole).toString();
        l.text = std::make_shared<QTextLayout>();
        qreal widest = 0, last = 0;
        qreal max_w = width * 0.8;
        qreal h = lay_out_text(*l.text, remark, scaled_font(font, 0.85, false, true), max_w,
                               &widest, &last);
        l.bubble =
            QRectF((width - widest) / 2 - em * 0.6, y + pad * 0.4, widest + em * 1.2, h + em * 0.4);
        l.text_at = QPointF(l.bubble.left() + em * 0.6, l.bubble.top() + em * 0.2);
        l.height = static_cast<int>(std::ceil(l.bubble.bottom() + pad * 0.6));
        return l;
    }

    l.outgoing = index.data(Model::OutgoingRole).toBool();
    const bool group = index.data(Model::GroupRole).toBool();
    const bool first = index.data(Model::FirstOfRunRole).toBool();
    const bool deleted = index.data(Model::DeletedRole).toBool();
    l.status = index.data(Model::StatusRole).toInt();
    y += first ? pad * 0.6 : em * 0.1;
    const qreal avatar = group && !l.outgoing ? em * 2.0 : 0;
    const qreal max_bubble = std::max(em * 8, std::min(width * 0.7, em * 34.0)) - avatar;
    const qreal ip = em * 0.6;  // padding inside the bubble, sideways
    const qreal vp = em * 0.35; // and top and bottom
    qreal content_max = max_bubble - 2 * ip;
    qreal content_w = 0;
    qreal cy = vp; // y inside the bubble
    const QVariantList file_list =
        deleted ? QVariantList() : index.data(Model::FileInfoRole).toList();
    // A bubble with a picture is as wide as the picture: the text wraps under it, as in other
    // messengers, and the picture fills the bubble's width.
    qreal media_w = 0;
    for (const QVariant& v : file_list)
        if (auto info = v.value<Model::FileInfo>(); !info.thumbnail.isNull())
            media_w = std::max(media_w, media_width(info.thumbnail, em, content_max));
    if (media_w > 0)
        content_max = media_w;

    if (group && !l.outgoing && first) {
        l.sender =
            bm.elidedText(index.data(Model::SenderRole).toString(), Qt::ElideRight, content_max);
        l.sender_at = QPointF(0, cy);
        content_w = std::max(content_w, bm.horizontalAdvance(l.sender));
        cy += bm.height() + em * 0.1;
    }
    if (QString quote = index.data(Model::QuoteRole).toString(); !quote.isEmpty()) {
        qsizetype colon = quote.indexOf(QStringLiteral(": "));
        l.quote_author = colon > 0 ? quote.left(colon) : QString();
        l.quote_text = colon > 0 ? quote.mid(colon + 2) : quote;
        qreal w =
            std::max(bm.horizontalAdvance(l.quote_author), sm.horizontalAdvance(l.quote_text));
        w = std::min(w + em * 1.0, content_max);
        l.quote = QRectF(0, cy + em * 0.1, w, bm.height() + sm.height() + em * 0.4);
        content_w = std::max(content_w, w);
        cy = l.quote.bottom() + em * 0.3;
    }
    QString text = deleted ? Model::tr("This message was deleted")
                           : index.data(Model::BubbleTextRole).toString();
    qreal last_line = 0;
    if (!text.isEmpty()) {
        l.text = std::make_shared<QTextLayout>();
        qreal widest = 0;
        QFont text_font = deleted ? scaled_font(font, 1.0, false, true) : font;
        qreal h = lay_out_text(*l.text, text, text_font, content_max, &widest, &last_line);
        l.text_at = QPointF(0, cy);
        content_w = std::max(content_w, widest);
        cy += h;
    }
    if (!deleted && index.data(Model::TruncatedRole).toBool()) {
        QString more = Model::tr("Show more");
        l.show_more = QRectF(0, cy + em * 0.15, bm.horizontalAdvance(more) + 2, bm.height());
        content_w = std::max(content_w, l.show_more.width());
        cy = l.show_more.bottom();
        last_line = l.show_more.width();
    }
    qreal detail_top = 0; // the last file's size line
    for (const QVariant& v : file_list) {
        FileBox box;
        box.info = v.value<Model::FileInfo>();
        cy += em * 0.3;
        qreal top = cy;
        if (!box.info.thumbnail.isNull()) {
            // The full width; a tall picture is cut to 16 em, keeping its middle.
            const QSizeF source(box.info.thumbnail.size());
            qreal h = content_max * source.height() / std::max(1.0, source.width());
            box.crop = QRectF(QPointF(0, 0), source);
            if (h > em * 16) {
                const qreal keep = source.height() * em * 16 / h;
                box.crop = QRectF(0, (source.height() - keep) / 2, source.width(), keep);
                h = em * 16;
            }
            box.image = QRectF(0, cy, content_max, h);
            cy = box.image.bottom() + em * 0.2;
        }
        QString detail = box.info.size;
        if (!box.info.state.isEmpty())
            detail += QStringLiteral(" · ") + box.info.state;
        const qreal detail_w = sm.horizontalAdvance(detail);
        qreal name_w = std::max(bm.horizontalAdvance(box.info.name), detail_w);
        qreal line_w = std::min(content_max, em * 2.2 + em * 0.5 + name_w);
        line_w = std::max(line_w, box.image.width());
        qreal line_h = std::max(em * 2.2, bm.height() + sm.height() + em * 0.2);
        if (box.info.percent >= 0)
            line_h += em * 0.4;
        detail_top = cy + bm.height() + em * 0.1; // as draw_file puts it
        cy += line_h;
        box.rect = QRectF(0, top, std::min(std::max(line_w, em * 12), content_max), cy - top);
        content_w = std::max(content_w, box.rect.width());
        // The footer may end the file's size line; never beside a progress bar.
        last_line = box.info.percent >= 0 ? content_max + em * 10 : em * 2.5 + detail_w;
        l.files.push_back(std::move(box));
    }

    // Footer: "edited  ⏳  14:03" and the tick, inline after the last line when it fits.
    QStringList parts;
    if (index.data(Model::EditedRole).toBool() && !deleted)
        parts << Model::tr("edited");
    if (index.data(Model::TimerRole).toBool())
        parts << QStringLiteral("⏳");
    if (index.data(Model::UndecryptableRole).toBool())
        parts << Model::tr("could not decrypt");
    if (l.outgoing && l.status == static_cast<int>(store::MessageStatus::failed))
        parts << Model::tr("not sent");
    if (l.outgoing && l.status == static_cast<int>(store::MessageStatus::expired))
        parts << Model::tr("not delivered");
    parts << index.data(Model::ClockRole).toString();
    l.footer_text = parts.join(QStringLiteral("  "));
    const qreal tick_w = l.outgoing ? em * 1.05 : 0;
    const qreal footer_w = sm.horizontalAdvance(l.footer_text) + tick_w;
    if (last_line + em * 0.6 + footer_w <= content_max) {
        content_w = std::max(content_w, last_line + em * 0.6 + footer_w);
        l.footer =
            QRectF(0, l.files.empty() ? cy - sm.height() : detail_top, footer_w, sm.height());
    } else {
        content_w = std::max(content_w, footer_w);
        l.footer = QRectF(0, cy + em * 0.1, footer_w, sm.height());
        cy = l.footer.bottom();
    }
    cy += vp;

    const qreal bubble_w = std::max(content_w + 2 * ip, em * 3);
    const qreal left =
        l.outgoing ? width - side - bubble_w : side + (avatar > 0 ? avatar + pad * 0.6 : 0);
    l.bubble = QRectF(left, y, bubble_w, cy);
    if (avatar > 0 && first)
        l.avatar = QRectF(side, y, avatar, avatar);
    const QPointF origin(left + ip, y);
    l.sender_at += origin;
    l.quote.translate(origin);
    l.text_at += origin;
    l.show_more.translate(origin);
    for (auto& box : l.files) {
        box.rect.translate(origin);
        box.image.translate(origin);
    }
    l.footer.moveRight(l.bubble.right() - ip);
    l.footer.translate(0, y);
    y = l.bubble.bottom();

    // Reactions: pills under the bubble, overlapping its edge a little.
    QString summary = index.data(Model::ReactionsRole).toString();
    if (!summary.isEmpty()) {
        qreal x = 0;
        const qreal h = sm.height() + em * 0.35;
        for (const QString& part : summary.split(QStringLiteral("  "), Qt::SkipEmptyParts)) {
            qreal w = sm.horizontalAdvance(part) + em * 0.9;
            l.reactions.push_back({part, QRectF(x, 0, w, h)});
            x += w + em * 0.25;
        }
        qreal total = x - em * 0.25;
        qreal start = l.outgoing ? l.bubble.right() - em * 0.5 - total : l.bubble.left() + em * 0.5;
        for (auto& pill : l.reactions)
            pill.rect.translate(start, y - em * 0.25);
        y += h - em * 0.25;
    }
    l.height = static_cast<int>(std::ceil(y + em * 0.15));
    return l;
}

QSize MessageDelegate::sizeHint(const QStyleOptionViewItem& option,
                                const QModelIndex& index) const {
    watch(index.model());
    const int width = row_width(option);
    const QFont font = m_view ? m_view->font() : option.font;
    const qint64 id = index.data(Model::RowIdRole).toLongLong();
    auto cached = m_heights.constFind(id);
    if (cached != m_heights.constEnd() && cached->width == width &&
        cached->font_size == font.pointSizeF())
        return QSize(width - 1, cached->height);
    Layout l = make_layout(font, index, width);
    m_heights.insert(id, Measured{width, font.pointSizeF(), l.height});
    return QSize(width - 1, l.height);
}

// The cache follows the model: a changed row is measured again; anything that can move the
// day separators or runs (a reset, a removal) forgets every height.
void MessageDelegate::watch(const QAbstractItemModel* model) const {
    if (!model || model == m_watched)
        return;
    if (m_watched)
        disconnect(m_watched, nullptr, this, nullptr);
    m_watched = model;
    m_heights.clear();
    auto* self = const_cast<MessageDelegate*>(this);
    auto forget = [self] { self->m_heights.clear(); };
    connect(model, &QAbstractItemModel::dataChanged, self, &MessageDelegate::rows_changed);
    connect(model, &QAbstractItemModel::modelReset, self, forget);
    connect(model, &QAbstractItemModel::rowsRemoved, self, forget);
    connect(model, &QAbstractItemModel::layoutChanged, self, forget);
    connect(model, &QObject::destroyed, self, [self] {
        self->m_watched = nullptr;
        self->m_heights.clear();
    });
}

void MessageDelegate::rows_changed(const QModelIndex& from, const QModelIndex& to) {
    for (int row = from.row(); row <= to.row(); ++row) {
        QModelIndex index = from.sibling(row, 0);
        const qint64 id = index.data(Model::RowIdRole).toLongLong();
        auto cached = m_heights.find(id);
        if (cached == m_heights.end())
            continue;
        const Measured old = *cached;
        m_heights.erase(cached);
        QFont font = m_view ? m_view->font() : QFont();
        Layout l = make_layout(font, index, old.width);
        m_heights.insert(id, Measured{old.width, font.pointSizeF(), l.height});
        if (l.height != old.height)
            emit sizeHintChanged(index);
    }
}

namespace {

// A check mark in rect, as a stroked path.
void draw_check(QPainter& p, const QRectF& r) {
    QPainterPath path;
    path.moveTo(r.left(), r.top() + r.height() * 0.55);
    path.lineTo(r.left() + r.width() * 0.38, r.bottom());
    path.lineTo(r.right(), r.top());
    p.drawPath(path);
}

// The delivery tick: a clock while queued, one check when sent, two when delivered, two bold
// ones when read, a red "!" when it failed or expired undelivered.
void draw_tick(QPainter& p, const QRectF& r, int status, const QColor& color, const QColor& read,
               const QColor& danger) {
    using S = store::MessageStatus;
    p.save();
    p.setRenderHint(QPainter::Antialiasing);
    const qreal s = r.height();
    QPen pen(color, std::max(1.0, s * 0.11), Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin);
    p.setPen(pen);
    p.setBrush(Qt::NoBrush);
    QRectF box(r.left(), r.top() + s * 0.22, s * 0.62, s * 0.5);
    switch (static_cast<S>(status)) {
    case S::queued: {
        QRectF c(r.left() + s * 0.1, r.top() + s * 0.18, s * 0.64, s * 0.64);
        p.drawEllipse(c);
        p.drawLine(c.center(), c.center() - QPointF(0, s * 0.22));
        p.drawLine(c.center(), c.center() + QPointF(s * 0.16, 0));
        break;
    }
    case S::sent: draw_check(p, box); break;
    case S::read:
        pen.setColor(read);
        pen.setWidthF(std::max(1.2, s * 0.14));
        p.setPen(pen);
        [[fallthrough]];
    case S::delivered:
        draw_check(p, box);
        draw_check(p, box.translated(s * 0.3, 0));
        break;
    case S::failed:
    case S::expired: {
        QRectF c(r.left() + s * 0.05, r.top() + s * 0.12, s * 0.76, s * 0.76);
        p.setPen(QPen(Qt::white, std::max(1.0, s * 0.06)));
        p.setBrush(danger);
        p.drawEllipse(c);
        p.setPen(QPen(Qt::white, std::max(1.0, s * 0.12), Qt::SolidLine, Qt::RoundCap));
        p.drawLine(QPointF(c.center().x(), c.top() + s * 0.17),
                   QPointF(c.center().x(), c.center().y() + s * 0.06));
        p.drawPoint(QPointF(c.center().x(), c.bottom() - s * 0.17));
        break;
    }
    case S::received: break;
    }
    p.restore();
}

void draw_file(QPainter& p, const FileBox& box, const QFont& bold, const QFont& small,
               const QColor& fg, const QColor& muted, const QColor& tile, const QColor& accent) {
    const QFontMetricsF bm(bold), sm(small);
    const qreal em = sm.height() / 0.82;
    QRectF line = box.rect;
    if (!box.image.isNull()) {
        QPainterPath clip;
        clip.addRoundedRect(box.image, em * 0.4, em * 0.4);
        p.save();
        p.setClipPath(clip);
        p.drawImage(box.image, box.info.thumbnail, box.crop);
        p.restore();
        line.setTop(box.image.bottom() + em * 0.2);
    }
    QRectF icon(line.left(), line.top() + (std::min(line.height(), em * 2.2) - em * 2.0) / 2,
                em * 2.0, em * 2.0);
    p.setPen(Qt::NoPen);
    p.setBrush(tile);
    p.drawRoundedRect(icon, em * 0.4, em * 0.4);
    // The file's extension on its tile ("PDF"), or a page when it has none.
    QString ext = box.info.name.section(QLatin1Char('.'), -1).left(4).toUpper();
    if (ext == box.info.name.toUpper() || ext.isEmpty())
        ext = QStringLiteral("FILE");
    QFont tiny = small;
    tiny.setBold(true);
    tiny.setPointSizeF(small.pointSizeF() > 0 ? small.pointSizeF() * 0.8 : 7);
    p.setFont(tiny);
    p.setPen(fg);
    p.drawText(icon, Qt::AlignCenter, ext);
    const qreal x = icon.right() + em * 0.5;
    const qreal w = std::max(line.right() - x, em * 2);
    p.setFont(bold);
    p.drawText(QPointF(x, line.top() + bm.ascent() + em * 0.05),
               bm.elidedText(box.info.name, Qt::ElideMiddle, w));
    p.setFont(small);
    p.setPen(muted);
    QString detail = box.info.size;
    if (!box.info.state.isEmpty())
        detail += QStringLiteral(" · ") + box.info.state;
    qreal detail_y = line.top() + bm.height() + em * 0.1;
    p.drawText(QPointF(x, detail_y + sm.ascent()), sm.elidedText(detail, Qt::ElideRight, w));
    if (box.info.percent >= 0) {
        QRectF track(x, detail_y + sm.height() + em * 0.15, w, em * 0.22);
        p.setPen(Qt::NoPen);
        p.setBrush(tile);
        p.drawRoundedRect(track, track.height() / 2, track.height() / 2);
        QRectF done = track;
        done.setWidth(track.width() * box.info.percent / 100.0);
        p.setBrush(accent);
        p.drawRoundedRect(done, track.height() / 2, track.height() / 2);
    }
}

} // namespace

void MessageDelegate::paint(QPainter* painter, const QStyleOptionViewItem& option,
                            const QModelIndex& index) const {
    const int width = option.rect.width();
    Layout l = make_layout(m_view ? m_view->font() : option.font, index, width);
    const ThemeColors c = theme_colors(option.palette);
    QPainter& p = *painter;
    p.save();
    p.translate(option.rect.topLeft());
    p.setRenderHint(QPainter::Antialiasing);
    p.setRenderHint(QPainter::TextAntialiasing);
    const qreal em = QFontMetricsF(l.font).height();

    if (option.state & QStyle::State_Selected && !l.system) {
        QColor sel = c.selection;
        sel.setAlpha(140);
        p.fillRect(QRectF(0, l.bubble.top() - em * 0.15, width, l.height - l.bubble.top()), sel);
    }
    if (!l.day_text.isEmpty()) {
        p.setPen(Qt::NoPen);
        p.setBrush(c.pill);
        p.drawRoundedRect(l.day, l.day.height() / 2, l.day.height() / 2);
        p.setFont(scaled_font(l.small, 1.0, true));
        p.setPen(c.muted);
        p.drawText(l.day, Qt::AlignCenter, l.day_text);
    }
    if (!l.unread_text.isEmpty()) {
        p.setFont(scaled_font(l.small, 1.0, true));
        const qreal tw = QFontMetricsF(p.font()).horizontalAdvance(l.unread_text) + em;
        const qreal mid = l.unread.center().y();
        p.setPen(QPen(c.accent, 1));
        p.drawLine(QPointF(em, mid), QPointF((width - tw) / 2, mid));
        p.drawLine(QPointF((width + tw) / 2, mid), QPointF(width - em, mid));
        p.drawText(l.unread, Qt::AlignCenter, l.unread_text);
    }
    if (l.system) {
        p.setPen(Qt::NoPen);
        p.setBrush(c.pill);
        p.drawRoundedRect(l.bubble, em * 0.5, em * 0.5);
        p.setPen(c.muted);
        l.text->draw(&p, l.text_at);
        p.restore();
        return;
    }

    const bool undecryptable = index.data(Model::UndecryptableRole).toBool();
    const bool deleted = index.data(Model::DeletedRole).toBool();
    QColor fill = l.outgoing ? c.accent : c.bubble_in;
    QColor fg = l.outgoing ? c.on_accent : c.on_bubble_in;
    QColor muted = l.outgoing ? QColor(255, 255, 255, 190) : c.muted;
    if (undecryptable) {
        fill = c.danger.lighter(is_dark(option.palette) ? 60 : 185);
        fg = is_dark(option.palette) ? QColor(Qt::white) : c.danger.darker(130);
    }
    if (deleted) {
        // A deleted message keeps its place as an outline, so that it reads as gone.
        fg = c.muted;
        muted = c.muted;
    }
    if (!l.avatar.isNull()) {
        QString sender = index.data(Model::SenderRole).toString();
        paint_avatar(p, l.avatar, sender, index.data(Model::SenderKeyRole).toString());
    }
    p.setPen(index.data(Model::MentionsUsRole).toBool() ? QPen(c.mention, std::max(1.5, em * 0.1))
                                                        : QPen(Qt::NoPen));
    p.setBrush(fill);
    if (deleted) {
        p.setPen(QPen(c.separator, std::max(1.0, em * 0.07), Qt::DashLine));
        p.setBrush(Qt::NoBrush);
    }
    p.drawRoundedRect(l.bubble, em * 0.75, em * 0.75);

    if (!l.sender.isEmpty()) {
        p.setFont(l.bold_small);
        p.setPen(avatar_color(index.data(Model::SenderKeyRole).toString())
                     .lighter(is_dark(option.palette) ? 170 : 100));
        p.drawText(l.sender_at + QPointF(0, QFontMetricsF(l.bold_small).ascent()), l.sender);
    }
    if (!l.quote.isNull()) {
        QColor block = l.outgoing ? QColor(255, 255, 255, 40) : QColor(0, 0, 0, 18);
        if (!l.outgoing && is_dark(option.palette))
            block = QColor(255, 255, 255, 18);
        p.setPen(Qt::NoPen);
        p.setBrush(block);
        p.drawRoundedRect(l.quote, em * 0.3, em * 0.3);
        p.setBrush(l.outgoing ? QColor(Qt::white) : c.accent);
        p.drawRoundedRect(QRectF(l.quote.left(), l.quote.top(), em * 0.2, l.quote.height()),
                          em * 0.1, em * 0.1);
        const QFontMetricsF bm(l.bold_small), sm(l.small);
        const qreal x = l.quote.left() + em * 0.5;
        const qreal w = l.quote.right() - x - em * 0.3;
        p.setFont(l.bold_small);
        p.setPen(l.outgoing ? fg : c.accent);
        p.drawText(QPointF(x, l.quote.top() + em * 0.15 + bm.ascent()),
                   bm.elidedText(l.quote_author, Qt::ElideRight, w));
        p.setPen(fg);
        draw_text_line(p, QPointF(x, l.quote.top() + em * 0.2 + bm.height()),
                       sm.elidedText(l.quote_text, Qt::ElideRight, w), l.small);
    }
    if (l.text) {
        p.setPen(fg);
        l.text->draw(&p, l.text_at);
    }
    if (!l.show_more.isNull()) {
        p.setFont(l.bold_small);
        p.setPen(l.outgoing ? fg : c.accent);
        p.drawText(l.show_more, Qt::AlignLeft | Qt::AlignVCenter, Model::tr("Show more"));
    }
    QColor tile = l.outgoing
                      ? QColor(255, 255, 255, 50)
                      : (is_dark(option.palette) ? QColor(255, 255, 255, 28) : QColor(0, 0, 0, 22));
    for (const auto& box : l.files)
        draw_file(p, box, l.bold_small, l.small, fg, muted, tile, l.outgoing ? fg : c.accent);

    const QFontMetricsF sm(l.small);
    p.setFont(l.small);
    p.setPen(muted);
    const qreal tick_w = l.outgoing ? em * 1.05 : 0;
    QRectF time_rect = l.footer.adjusted(0, 0, -tick_w, 0);
    p.drawText(time_rect, Qt::AlignRight | Qt::AlignVCenter, l.footer_text);
    if (l.outgoing) {
        QRectF tick(l.footer.right() - tick_w + em * 0.2, l.footer.top(), sm.height(), sm.height());
        draw_tick(p, tick, l.status, muted, deleted ? c.accent : QColor(0x9c, 0xf0, 0xff),
                  c.danger);
    }

    for (const auto& pill : l.reactions) {
        p.setPen(QPen(option.palette.color(QPalette::Base), std::max(1.0, em * 0.08)));
        p.setBrush(c.bubble_in.darker(is_dark(option.palette) ? 80 : 103));
        p.drawRoundedRect(pill.rect, pill.rect.height() / 2, pill.rect.height() / 2);
        p.setPen(c.on_bubble_in);
        const QFontMetricsF pm(l.small);
        draw_text_line(p,
                       QPointF(pill.rect.left() + em * 0.45,
                               pill.rect.top() + (pill.rect.height() - pm.height()) / 2),
                       pill.text, l.small);
    }
    p.restore();
}

MessageDelegate::HitResult MessageDelegate::hit_test(const QModelIndex& index, const QPoint& pos,
                                                     int width) const {
    Layout l = make_layout(m_view ? m_view->font() : QFont(), index, width);
    HitResult result;
    if (l.system || !l.bubble.contains(pos))
        return result;
    result.what = Hit::bubble;
    if (l.show_more.adjusted(-4, -4, 4, 4).contains(pos))
        result.what = Hit::show_more;
    if (l.quote.contains(pos))
        result.what = Hit::quote;
    for (const auto& box : l.files)
        if (box.rect.contains(pos)) {
            result.what = Hit::file;
            result.file_index = box.info.index;
        }
    return result;
}

bool MessageDelegate::editorEvent(QEvent* event, QAbstractItemModel* model,
                                  const QStyleOptionViewItem& option, const QModelIndex& index) {
    if (event->type() != QEvent::MouseButtonRelease)
        return QStyledItemDelegate::editorEvent(event, model, option, index);
    auto* mouse = static_cast<QMouseEvent*>(event);
    if (mouse->button() != Qt::LeftButton)
        return false;
    QPoint pos = mouse->position().toPoint() - option.rect.topLeft();
    HitResult hit = hit_test(index, pos, option.rect.width());
    if (hit.what == Hit::show_more) {
        emit showMoreRequested(index.row());
        return true;
    }
    if (hit.what == Hit::quote) {
        emit quoteActivated(index.row());
        return true;
    }
    if (hit.what == Hit::file) {
        emit fileActivated(index.row(), hit.file_index);
        return true;
    }
    return false;
}

} // namespace veil::desktop
