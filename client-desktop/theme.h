// The look of veil-desktop: a light and a dark palette with a small style sheet, chosen by the
// system's colour scheme or by the person (an override the settings dialog can set), and the
// colours the painted views (conversation list, message bubbles) take from it.
//
// Following the system: Qt 6.4 has no QStyleHints::colorScheme, so the system's scheme is read
// from its palette (a dark window colour means dark) and read again when the platform says its
// theme or palette changed (QEvent::ThemeChange, QEvent::ApplicationPaletteChange).
//
// Thread: the GUI thread, after the QApplication exists.
#pragma once

#include <QColor>
#include <QPalette>
#include <QString>

namespace veil::desktop {

enum class Theme { system, light, dark };

// Sets the application's palette and style sheet for theme and remembers the choice; with
// Theme::system it follows later changes of the system's scheme. Safe to call again at any time
// (the settings dialog's hook).
void apply_theme(Theme theme);
// The last choice given to apply_theme (Theme::system before any).
Theme chosen_theme();
// Whether the palette now applied is the dark one.
bool dark_theme_applied();
// Whether a palette is dark: its window colour is darker than its text.
bool is_dark(const QPalette& palette);
// "system", "light", "dark" and back (for storing the choice); unknown text is Theme::system.
QString theme_name(Theme theme);
Theme theme_from_name(const QString& name);

// The colours of the painted views, derived from a palette (light or dark variant).
struct ThemeColors {
    QColor accent;       // own bubbles, badges, the send button
    QColor on_accent;    // text on accent
    QColor bubble_in;    // others' bubbles
    QColor on_bubble_in; // text in others' bubbles
    QColor muted;        // times, previews, system lines
    QColor separator;    // lines between areas, the unread marker
    QColor pill;         // day separators and system lines
    QColor selection;    // the selected conversation or message
    QColor hover;        // a conversation under the pointer
    QColor danger;       // failed, undecryptable
    QColor mention;      // outline of a message that mentions us
    QColor warning;      // a look-alike name's mark
    QColor sidebar;      // the conversation list's background
    QColor chat;         // the message list's background
};
ThemeColors theme_colors(const QPalette& palette);

} // namespace veil::desktop
