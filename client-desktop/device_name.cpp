#include "device_name.h"

#include "protocol/limits.h"
#include "util/unicode.h"

#include <QObject>
#include <QSysInfo>

namespace veil::desktop {
namespace {

constexpr auto kMaxBytes = static_cast<qsizetype>(protocol::kMaxDeviceNameChars);

} // namespace

QString default_device_name(const QString& host) {
    QString name =
        QObject::tr("Veil desktop on %1")
            .arg(host.trimmed().isEmpty() ? QObject::tr("this computer") : host.trimmed());
    // Drop whole characters (never half a surrogate pair) until the UTF-8 fits.
    while (name.toUtf8().size() > kMaxBytes) {
        name.chop(1);
        if (!name.isEmpty() && name.back().isHighSurrogate())
            name.chop(1);
    }
    return name.trimmed();
}

QString default_device_name() {
    return default_device_name(QSysInfo::machineHostName());
}

QString device_name_problem(const QString& name) {
    const QByteArray utf8 = name.toUtf8();
    if (utf8.size() > kMaxBytes)
        return QObject::tr("The device name is too long: keep it to %1 bytes (about %1 letters).")
            .arg(kMaxBytes);
    std::string_view text(utf8.constData(), static_cast<std::size_t>(utf8.size()));
    for (std::size_t i = 0; i < text.size();) {
        char32_t cp = 0;
        i += unicode::next(text, i, cp);
        if (cp == U'\n' || cp == U'\t' || unicode::needs_visible_mark(cp))
            return QObject::tr("The device name has a character that cannot be shown; use "
                               "letters, digits, spaces and punctuation.");
    }
    return QString();
}

} // namespace veil::desktop
