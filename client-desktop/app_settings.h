// AppSettings: what the desktop app keeps per computer rather than per profile, in QSettings:
// the theme, window geometry and splitter sizes (MainWindow), and which profiles keep their
// key in the system keyring ("Remember on this computer"). Nothing secret is stored here.
// Per-profile settings (notifications, read receipts) live in the profile's database.
//
// Thread: the GUI thread.
#pragma once

#include <QSettings>
#include <QString>

#include <functional>
#include <memory>
#include <optional>

namespace veil::desktop {

enum class ThemeChoice { system, light, dark };

// "system", "light", "dark".
const char* theme_choice_name(ThemeChoice theme);
std::optional<ThemeChoice> parse_theme_choice(const QString& name);

// The app's settings: the user's veil-desktop settings file, or the file use_settings_file()
// named (tests).
std::unique_ptr<QSettings> app_settings();
void use_settings_file(const QString& path);

// The chosen theme (system when unset or unknown).
ThemeChoice stored_theme();
void store_theme(ThemeChoice theme);

// What applies a theme to the running app (main.cpp sets theme.h's apply_theme; tests set their
// own). Without one, apply_theme_choice() only stores the choice.
void set_theme_hook(std::function<void(ThemeChoice)> hook);
// Stores the choice and hands it to the hook.
void apply_theme_choice(ThemeChoice theme);

// Whether closing the main window leaves Veil running in the tray (default: yes), where the
// desktop has a tray; "Quit" always quits.
bool stored_close_to_tray();
void store_close_to_tray(bool on);

// Whether the profile behind a keyring entry (keyring_entry()) keeps its key in the keyring.
bool remembered(const QString& entry);
void set_remembered(const QString& entry, bool on);

} // namespace veil::desktop
