#include "avatar.h"

#include <QFont>
#include <QPainter>
#include <QRectF>

#include <array>
#include <cstdint>

namespace veil::desktop {
namespace {

// Mid-tone colours with enough contrast for white letters, on light and dark backgrounds.
const std::array<QColor, 12> kColors = {
    QColor(0xc6, 0x28, 0x28), QColor(0xad, 0x14, 0x57), QColor(0x6a, 0x1b, 0x9a),
    QColor(0x45, 0x27, 0xa0), QColor(0x28, 0x35, 0x93), QColor(0x15, 0x65, 0xc0),
    QColor(0x00, 0x6f, 0x8a), QColor(0x00, 0x79, 0x6b), QColor(0x2e, 0x7d, 0x32),
    QColor(0x55, 0x8b, 0x2f), QColor(0xbf, 0x5b, 0x04), QColor(0x6d, 0x4c, 0x41),
};

QString first_grapheme_upper(const QString& word) {
    if (word.isEmpty())
        return {};
    // A surrogate pair is one character; combining marks after it are left out.
    int n = word.at(0).isHighSurrogate() && word.size() > 1 ? 2 : 1;
    return word.left(n).toUpper();
}

} // namespace

QString avatar_initials(const QString& name) {
    QString s = name.trimmed();
    if (s.startsWith(QLatin1String("# ")))
        s = s.mid(2).trimmed();
    QStringList words;
    for (const QString& w : s.split(QChar(u' '), Qt::SkipEmptyParts)) {
        qsizetype i = 0;
        while (i < w.size() && !w.at(i).isLetterOrNumber() && !w.at(i).isHighSurrogate())
            ++i;
        if (i < w.size())
            words << w.mid(i);
    }
    if (words.isEmpty())
        return s.isEmpty() ? QStringLiteral("?") : first_grapheme_upper(s);
    QString initials = first_grapheme_upper(words.at(0));
    if (words.size() > 1)
        initials += first_grapheme_upper(words.at(1));
    return initials;
}

QColor avatar_color(const QString& key) {
    std::uint32_t hash = 2166136261u;
    for (char c : key.toUtf8()) {
        hash ^= static_cast<std::uint8_t>(c);
        hash *= 16777619u;
    }
    return kColors[hash % kColors.size()];
}

void paint_avatar(QPainter& painter, const QRectF& rect, const QString& name, const QString& key) {
    painter.save();
    painter.setRenderHint(QPainter::Antialiasing);
    painter.setPen(Qt::NoPen);
    painter.setBrush(avatar_color(key));
    painter.drawEllipse(rect);
    QFont font = painter.font();
    font.setBold(true);
    font.setPixelSize(std::max(1, static_cast<int>(rect.height() * 0.4)));
    painter.setFont(font);
    painter.setPen(Qt::white);
    painter.drawText(rect, Qt::AlignCenter, avatar_initials(name));
    painter.restore();
}

QPixmap avatar_pixmap(const QString& name, const QString& key, int side, qreal ratio) {
    QPixmap pixmap(QSize(side, side) * ratio);
    pixmap.setDevicePixelRatio(ratio);
    pixmap.fill(Qt::transparent);
    QPainter painter(&pixmap);
    paint_avatar(painter, QRectF(0, 0, side, side), name, key);
    return pixmap;
}

} // namespace veil::desktop
