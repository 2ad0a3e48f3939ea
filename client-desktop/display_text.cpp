#include "display_text.h"

#include <QDateTime>

namespace veil::desktop {
namespace {

// Characters that change how the surrounding text is laid out or hidden rather than showing
// something: bidi embeddings, overrides and isolates, and the C0/C1 controls.
bool is_layout_control(char32_t c) {
    if (c == U'\n' || c == U'\t')
        return false;
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
        return true;
    if (c >= 0x202a && c <= 0x202e)
        return true;
    return c >= 0x2066 && c <= 0x2069;
}

QString visible_mark(char32_t c) {
    return QStringLiteral("<U+%1>").arg(static_cast<uint>(c), 4, 16, QChar(u'0')).toUpper();
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
        if (is_layout_control(c))
            out += visible_mark(c);
        else
            out += QString::fromUcs4(&c, 1);
    }
    return out;
}

QString one_line(std::string_view utf8, int max_chars) {
    QString s = display_text(utf8);
    s.replace(QChar(u'\n'), QChar(u' '));
    s.replace(QChar(u'\t'), QChar(u' '));
    if (max_chars > 0 && s.size() > max_chars)
        s = s.left(max_chars - 1) + QChar(u'…');
    return s;
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
    case Errc::disconnected:
    case Errc::timeout:
        return QObject::tr("Cannot reach the relay: %1.")
            .arg(QString::fromStdString(error.message));
    default: return upper_first(error.message);
    }
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

QString tick_for(store::MessageStatus status) {
    switch (status) {
    case store::MessageStatus::queued: return QStringLiteral("…");
    case store::MessageStatus::sent: return QStringLiteral("✓");
    case store::MessageStatus::delivered: return QStringLiteral("✓✓");
    case store::MessageStatus::failed: return QStringLiteral("✗");
    case store::MessageStatus::received: return QString();
    }
    return QString();
}

} // namespace veil::desktop
