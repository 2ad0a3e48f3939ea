#include "app_settings.h"

#include <QStringList>

namespace veil::desktop {
namespace {

const QString kThemeKey = QStringLiteral("appearance/theme");
const QString kRememberedKey = QStringLiteral("keyring/remembered");
const QString kCloseToTrayKey = QStringLiteral("window/close_to_tray");

QString& settings_file() {
    static QString path;
    return path;
}

std::function<void(ThemeChoice)>& theme_hook() {
    static std::function<void(ThemeChoice)> hook;
    return hook;
}

} // namespace

const char* theme_choice_name(ThemeChoice theme) {
    switch (theme) {
    case ThemeChoice::light: return "light";
    case ThemeChoice::dark: return "dark";
    case ThemeChoice::system: break;
    }
    return "system";
}

std::optional<ThemeChoice> parse_theme_choice(const QString& name) {
    for (auto theme : {ThemeChoice::system, ThemeChoice::light, ThemeChoice::dark})
        if (name == QLatin1String(theme_choice_name(theme)))
            return theme;
    return std::nullopt;
}

std::unique_ptr<QSettings> app_settings() {
    if (!settings_file().isEmpty())
        return std::make_unique<QSettings>(settings_file(), QSettings::IniFormat);
    return std::make_unique<QSettings>(QSettings::IniFormat, QSettings::UserScope,
                                       QStringLiteral("veil"), QStringLiteral("veil-desktop"));
}

void use_settings_file(const QString& path) {
    settings_file() = path;
}

ThemeChoice stored_theme() {
    return parse_theme_choice(app_settings()->value(kThemeKey).toString())
        .value_or(ThemeChoice::system);
}

void store_theme(ThemeChoice theme) {
    app_settings()->setValue(kThemeKey, QString::fromLatin1(theme_choice_name(theme)));
}

void set_theme_hook(std::function<void(ThemeChoice)> hook) {
    theme_hook() = std::move(hook);
}

void apply_theme_choice(ThemeChoice theme) {
    store_theme(theme);
    if (theme_hook())
        theme_hook()(theme);
}

bool stored_close_to_tray() {
    return app_settings()->value(kCloseToTrayKey, true).toBool();
}

void store_close_to_tray(bool on) {
    app_settings()->setValue(kCloseToTrayKey, on);
}

bool remembered(const QString& entry) {
    return app_settings()->value(kRememberedKey).toStringList().contains(entry);
}

void set_remembered(const QString& entry, bool on) {
    auto settings = app_settings();
    QStringList entries = settings->value(kRememberedKey).toStringList();
    entries.removeAll(entry);
    if (on)
        entries.append(entry);
    settings->setValue(kRememberedKey, entries);
}

} // namespace veil::desktop
