#include "display_text.h"

#include "util/unicode.h"

#include <QDateTime>
#include <QLocale>
#include <QTextDocument>

namespace veil::desktop {
namespace {

QString visible_mark(char32_t c) {
    return QString::fromStdString(unicode::visible_mark(c));
}

QString upper_first(const std::string& text) {
    QString s = QString::fromUtf8(text.data(), static_cast<qsizetype>(text.size()));
    if (!s.isEmpty())
        s[0] = s[0].toUpper();
    return s;
}

} // namespace

QString display_text(std::string_view utf8) {
    // fromUtf8 already replaces invalid sequences with U+FFFD.
    QString decoded = QString::fromUtf8(utf8.data(), static_cast<qsizetype>(utf8.size()));
    QString out;
    out.reserve(decoded.size());
    for (char32_t c : decoded.toUcs4()) {
        if (unicode::needs_visible_mark(c))
            out += visible_mark(c);
        else
            out += QString::fromUcs4(&c, 1);
    }
    return out;
}

QString one_line(std::string_view utf8, int max_chars) {
    // Only the start of a long text can be shown: cut the bytes first (at the start of a UTF-8
    // sequence), so that a 1 MiB message costs no more than a short one.
    const std::size_t keep = max_chars > 0 ? static_cast<std::size_t>(max_chars) * 8 + 8 : 0;
    if (keep > 0 && utf8.size() > keep) {
        std::size_t end = keep;
        while (end > 0 && (static_cast<unsigned char>(utf8[end]) & 0xc0) == 0x80)
            --end;
        utf8 = utf8.substr(0, end);
    }
    QString s = display_text(utf8);
    s.replace(QChar(u'\n'), QChar(u' '));
    s.replace(QChar(u'\t'), QChar(u' '));
    if (max_chars > 0 && s.size() > max_chars)
        s = s.left(max_chars - 1) + QChar(u'…');
    return s;
}

QString break_long_lines(const QString& text, int max_chars) {
    if (max_chars <= 1 || text.size() <= max_chars)
        return text;
    QString out;
    out.reserve(text.size() + text.size() / max_chars + 1);
    int run = 0;
    for (qsizetype i = 0; i < text.size(); ++i) {
        const QChar c = text.at(i);
        if (c == QChar(u'\n')) {
            run = 0;
        } else if (run >= max_chars && !c.isLowSurrogate()) {
            out += QChar(u'\n');
            run = 0;
        }
        out += c;
        if (c != QChar(u'\n'))
            ++run;
    }
    return out;
}

QString group_title(std::string_view name) {
    if (name.empty())
        return QStringLiteral("# ") + QObject::tr("unnamed group");
    // One line: a name with newlines would break the two-line rows of the conversation list.
    return QStringLiteral("# ") + one_line(name, 64);
}

QString plain_tooltip(const QString& text) {
    if (text.isEmpty())
        return text; // an empty tooltip is no tooltip
    return Qt::convertFromPlainText(text, Qt::WhiteSpaceNormal);
}

QString plain_label_text(const QString& text) {
    QString out = text;
    out.replace(QLatin1Char('&'), QStringLiteral("&&"));
    out.replace(QLatin1Char('\t'), QLatin1Char(' '));
    return out;
}

QString plain_window_title(const QString& text) {
    // Qt shows "[*][*]" as "[*]" and removes (or stars) a lone "[*]".
    QString out = text;
    out.replace(QStringLiteral("[*]"), QStringLiteral("[*][*]"));
    return out;
}

QString look_alike_warning(std::string_view peer, std::string_view other) {
    return QObject::tr("%1 looks like %2, another contact of yours. Check who this is before "
                       "you trust them.")
        .arg(display_text(peer), display_text(other));
}

QString plain_error(const Error& error) {
    switch (error.code) {
    case Errc::wrong_passphrase: return QObject::tr("The passphrase does not open this profile.");
    case Errc::already_exists:
        return QObject::tr("There is already a profile in this folder. Open it instead, or "
                           "choose another folder.");
    case Errc::corrupt:
        return QObject::tr("The profile's files are damaged: %1.")
            .arg(QString::fromStdString(error.message));
    case Errc::too_large:
        // Left as the core wrote it: it may begin with a file's name, whose case matters.
        return QObject::tr("Too large: %1").arg(display_text(error.message));
    case Errc::disconnected:
    case Errc::timeout:
        return QObject::tr("Cannot reach the relay: %1.")
            .arg(QString::fromStdString(error.message));
    default: return upper_first(error.message);
    }
}

QString full_stop(const QString& text) {
    QString trimmed = text.trimmed();
    if (trimmed.isEmpty() || QStringLiteral(".!?…").contains(trimmed.back()))
        return trimmed;
    return trimmed + QLatin1Char('.');
}

QString format_time(std::int64_t ms_since_epoch, std::int64_t now_ms) {
    if (ms_since_epoch <= 0)
        return QString();
    QDateTime when = QDateTime::fromMSecsSinceEpoch(ms_since_epoch).toLocalTime();
    QDateTime now = QDateTime::fromMSecsSinceEpoch(now_ms).toLocalTime();
    if (when.date() == now.date())
        return when.toString(QStringLiteral("HH:mm"));
    return when.toString(QStringLiteral("yyyy-MM-dd HH:mm"));
}

QString format_list_time(std::int64_t ms_since_epoch, std::int64_t now_ms) {
    if (ms_since_epoch <= 0)
        return QString();
    QDateTime when = QDateTime::fromMSecsSinceEpoch(ms_since_epoch).toLocalTime();
    QDate today = QDateTime::fromMSecsSinceEpoch(now_ms).toLocalTime().date();
    qint64 days = when.date().daysTo(today);
    if (days == 0)
        return when.toString(QStringLiteral("HH:mm"));
    QLocale locale;
    if (days > 0 && days < 7)
        return locale.dayName(when.date().dayOfWeek(), QLocale::ShortFormat);
    return locale.toString(when.date(), QLocale::ShortFormat);
}

QString day_label(std::int64_t ms_since_epoch, std::int64_t now_ms) {
    if (ms_since_epoch <= 0)
        return QString();
    QDate day = QDateTime::fromMSecsSinceEpoch(ms_since_epoch).toLocalTime().date();
    QDate today = QDateTime::fromMSecsSinceEpoch(now_ms).toLocalTime().date();
    qint64 days = day.daysTo(today);
    if (days == 0)
        return QObject::tr("Today");
    if (days == 1)
        return QObject::tr("Yesterday");
    QLocale locale;
    if (days > 1 && days < 7)
        return locale.toString(day, QStringLiteral("dddd, d MMMM"));
    return locale.toString(day, QStringLiteral("d MMMM yyyy"));
}

bool same_day(std::int64_t a_ms, std::int64_t b_ms) {
    return QDateTime::fromMSecsSinceEpoch(a_ms).toLocalTime().date() ==
           QDateTime::fromMSecsSinceEpoch(b_ms).toLocalTime().date();
}

QString tick_for(store::MessageStatus status) {
    switch (status) {
    case store::MessageStatus::queued: return QStringLiteral("…");
    case store::MessageStatus::sent: return QStringLiteral("✓");
    case store::MessageStatus::delivered: return QStringLiteral("✓✓");
    case store::MessageStatus::read: return QStringLiteral("✓✓ read");
    case store::MessageStatus::failed: return QStringLiteral("✗");
    case store::MessageStatus::expired: return QStringLiteral("✗ expired undelivered");
    case store::MessageStatus::received: return QString();
    }
    return QString();
}

QString format_size(std::uint64_t bytes) {
    if (bytes < 1024)
        return bytes == 1 ? QObject::tr("1 byte")
                          : QObject::tr("%1 bytes").arg(static_cast<qulonglong>(bytes));
    const char* units[] = {"KB", "MB", "GB", "TB"};
    double value = static_cast<double>(bytes);
    int unit = -1;
    while (value >= 1024 && unit < 3) {
        value /= 1024;
        ++unit;
    }
    // One decimal below 10 ("3.2 MB"), none above ("14 KB"), as file managers do.
    int decimals = value < 10 ? 1 : 0;
    return QStringLiteral("%1 %2").arg(value, 0, 'f', decimals).arg(QLatin1String(units[unit]));
}

QString format_safety_number(const QString& number) {
    constexpr int kGroups = 12;
    constexpr int kGroupDigits = 5;
    constexpr int kGroupsPerLine = 4;
    // The engine may group the digits already; only the digits count.
    QString digits;
    for (QChar c : number)
        if (c.isDigit())
            digits += c;
        else if (!c.isSpace())
            return number;
    if (digits.size() != kGroups * kGroupDigits)
        return number;
    QString out;
    for (int g = 0; g < kGroups; ++g) {
        if (g > 0)
            out += g % kGroupsPerLine == 0 ? QChar(u'\n') : QChar(u' ');
        out += digits.mid(g * kGroupDigits, kGroupDigits);
    }
    return out;
}

} // namespace veil::desktop
