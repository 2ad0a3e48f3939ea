#include "conversation_delegate.h"

#include "avatar.h"
#include "conversation_list_model.h"
#include "display_text.h"
#include "emoji_text.h"
#include "glyph_button.h"
#include "search_results_model.h"
#include "theme.h"

#include <QDateTime>
#include <QFontMetricsF>
#include <QPainter>

#include <algorithm>

namespace veil::desktop {
namespace {

using Model = ConversationListModel;

QFont with_size(const QFont& base, qreal factor, bool bold) {
    QFont font = base;
    if (font.pointSizeF() > 0)
        font.setPointSizeF(font.pointSizeF() * factor);
    font.setBold(bold);
    return font;
}

} // namespace

ConversationDelegate::Shown ConversationDelegate::shown(const QModelIndex& index,
                                                        std::int64_t now_ms) {
    Shown row;
    if (qobject_cast<const SearchResultsModel*>(index.model())) {
        using R = SearchResultsModel;
        row.title = index.data(R::TitleRole).toString();
        row.key = index.data(R::PeerRole).toString();
        row.group = store::is_group_conversation(row.key.toStdString());
        row.time = format_list_time(index.data(R::TimeRole).toLongLong(), now_ms);
        row.preview = index.data(R::SenderRole).toString() + QStringLiteral(": ") +
                      index.data(R::TextRole).toString();
        return row;
    }
    row.title = index.data(Model::TitleRole).toString();
    row.key = index.data(Model::PeerRole).toString();
    row.group = index.data(Model::IsGroupRole).toBool();
    row.unread = index.data(Model::UnreadRole).toInt();
    row.time = format_list_time(index.data(Model::LastActivityRole).toLongLong(), now_ms);
    row.preview = preview_text(index);
    row.looks_like = index.data(Model::LooksLikeRole).toString();
    row.quiet = index.data(Model::HasLeftRole).toBool() ||
                index.data(Model::PendingRole).toBool() || index.data(Model::BlockedRole).toBool();
    return row;
}

ConversationDelegate::ConversationDelegate(QObject* parent, std::function<std::int64_t()> now_ms)
    : QStyledItemDelegate(parent)
    , m_now_ms(std::move(now_ms)) {
    if (!m_now_ms)
        m_now_ms = [] { return QDateTime::currentMSecsSinceEpoch(); };
}

QString ConversationDelegate::badge_text(int unread) {
    if (unread <= 0)
        return {};
    return unread > 99 ? QStringLiteral("99+") : QString::number(unread);
}

QString ConversationDelegate::preview_text(const QModelIndex& index) {
    if (index.data(Model::PendingRole).toBool())
        return Model::tr("Waiting for the relay to accept it");
    QString text = index.data(Model::LastTextRole).toString();
    if (text.isEmpty())
        text = Model::tr("No messages yet");
    if (index.data(Model::BlockedRole).toBool())
        return Model::tr("Blocked") + QStringLiteral(" · ") + text;
    if (index.data(Model::HasLeftRole).toBool())
        return Model::tr("You left") + QStringLiteral(" · ") + text;
    return text;
}

QSize ConversationDelegate::sizeHint(const QStyleOptionViewItem& option, const QModelIndex&) const {
    const QFontMetricsF fm(option.font);
    const qreal em = fm.height();
    return QSize(static_cast<int>(em * 10), static_cast<int>(std::ceil(em * 3.6)));
}

void ConversationDelegate::paint(QPainter* painter, const QStyleOptionViewItem& option,
                                 const QModelIndex& index) const {
    QPainter& p = *painter;
    const ThemeColors c = theme_colors(option.palette);
    const QFontMetricsF fm(option.font);
    const qreal em = fm.height();
    const QRectF r = QRectF(option.rect).adjusted(em * 0.3, em * 0.1, -em * 0.3, -em * 0.1);
    p.save();
    p.setRenderHint(QPainter::Antialiasing);
    p.setRenderHint(QPainter::TextAntialiasing);
    p.setPen(Qt::NoPen);
    if (option.state & QStyle::State_Selected)
        p.setBrush(c.selection);
    else if (option.state & QStyle::State_MouseOver)
        p.setBrush(c.hover);
    else
        p.setBrush(Qt::NoBrush);
    p.drawRoundedRect(r, em * 0.5, em * 0.5);

    const Shown row = shown(index, m_now_ms());
    const qreal side = em * 2.4;
    QRectF avatar(r.left() + em * 0.5, r.center().y() - side / 2, side, side);
    paint_avatar(p, avatar, row.group ? row.title.mid(2) : row.title, row.key);

    const int unread = row.unread;
    const QFont name_font = with_size(option.font, 1.0, true);
    const QFont small = with_size(option.font, 0.86, unread > 0);
    const QFontMetricsF nm(name_font), sm(small);
    const qreal x = avatar.right() + em * 0.7;
    const qreal right = r.right() - em * 0.6;
    const qreal top = r.center().y() - (nm.height() + sm.height() + em * 0.15) / 2;

    const QString time = row.time;
    const qreal time_w = sm.horizontalAdvance(time);
    p.setFont(small);
    p.setPen(unread > 0 ? c.accent : c.muted);
    p.drawText(QPointF(right - time_w, top + nm.ascent()), time);

    p.setFont(name_font);
    p.setPen(option.palette.color(QPalette::Text));
    // A look-alike's warning sign follows its name and is never elided away.
    const bool mark = !row.looks_like.isEmpty();
    const qreal mark_side = nm.ascent();
    const qreal mark_w = mark ? mark_side + em * 0.35 : 0;
    const qreal name_w = std::max(em, right - x - time_w - em * 0.5 - mark_w);
    const QString name = nm.elidedText(row.title, Qt::ElideRight, name_w);
    p.drawText(QPointF(x, top + nm.ascent()), name);
    if (mark)
        paint_warning_sign(p,
                           QRectF(x + nm.horizontalAdvance(name) + em * 0.35,
                                  top + nm.ascent() - mark_side * 0.95, mark_side, mark_side),
                           c.warning, is_dark(option.palette) ? c.sidebar : QColor(Qt::white));

    const QString badge = badge_text(unread);
    qreal badge_w = 0;
    const qreal line2 = top + nm.height() + em * 0.15;
    if (!badge.isEmpty()) {
        QFont bold = with_size(option.font, 0.78, true);
        const QFontMetricsF bm(bold);
        const qreal h = bm.height() + em * 0.2;
        badge_w = std::max(h, bm.horizontalAdvance(badge) + em * 0.7);
        QRectF pill(right - badge_w, line2 + (sm.height() - h) / 2, badge_w, h);
        p.setPen(Qt::NoPen);
        p.setBrush(c.accent);
        p.drawRoundedRect(pill, h / 2, h / 2);
        p.setFont(bold);
        p.setPen(c.on_accent);
        p.drawText(pill, Qt::AlignCenter, badge);
    }
    const bool quiet = row.quiet;
    QFont preview_font = small;
    preview_font.setItalic(quiet);
    const QFontMetricsF pm(preview_font);
    p.setFont(preview_font);
    p.setPen(unread > 0 ? option.palette.color(QPalette::Text) : c.muted);
    const qreal preview_w = std::max(em, right - x - (badge_w > 0 ? badge_w + em * 0.5 : 0));
    draw_text_line(p, QPointF(x, line2), pm.elidedText(row.preview, Qt::ElideRight, preview_w),
                   preview_font);
    p.restore();
}

} // namespace veil::desktop
