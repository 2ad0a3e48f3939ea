#include "theme.h"

#include <QApplication>
#include <QEvent>
#include <QStyleHints>

namespace veil::desktop {
namespace {

const QColor kAccent(0x2c, 0x6b, 0xed);
const QColor kAccentDark(0x3d, 0x7b, 0xf5);

Theme g_chosen = Theme::system;
bool g_dark = false;
bool g_applying = false; // our own setPalette must not look like a system change

QPalette make_palette(bool dark) {
    const QColor window = dark ? QColor(0x1f, 0x21, 0x25) : QColor(0xf6, 0xf7, 0xf9);
    const QColor base = dark ? QColor(0x17, 0x19, 0x1c) : QColor(0xff, 0xff, 0xff);
    const QColor text = dark ? QColor(0xe8, 0xea, 0xed) : QColor(0x1b, 0x1d, 0x21);
    const QColor button = dark ? QColor(0x2b, 0x2e, 0x34) : QColor(0xee, 0xf0, 0xf3);
    const QColor accent = dark ? kAccentDark : kAccent;
    QPalette p(text, button, button.lighter(dark ? 130 : 105), button.darker(dark ? 130 : 120),
               button.darker(dark ? 115 : 110), text, Qt::white, base, window);
    p.setColor(QPalette::AlternateBase, dark ? QColor(0x23, 0x26, 0x2b) : QColor(0xf0, 0xf2, 0xf5));
    p.setColor(QPalette::Highlight, accent);
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::Link, accent);
    p.setColor(QPalette::LinkVisited, accent.darker(120));
    p.setColor(QPalette::ToolTipBase, dark ? QColor(0x30, 0x33, 0x39) : QColor(0x2a, 0x2d, 0x33));
    p.setColor(QPalette::ToolTipText, QColor(0xf2, 0xf3, 0xf5));
    const QColor placeholder = dark ? QColor(0x85, 0x8b, 0x94) : QColor(0x86, 0x8c, 0x96);
    p.setColor(QPalette::PlaceholderText, placeholder);
    for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
        p.setColor(QPalette::Disabled, role, placeholder);
    p.setColor(QPalette::Disabled, QPalette::Base, window);
    return p;
}

// Kept small: most of the look comes from the palette and the painted views. Lengths in em
// follow the font, so the sheet scales with it and with the screen's density.
QString style_sheet(bool dark) {
    const QString warning = dark ? QStringLiteral("#f0b429") : QStringLiteral("#b26a00");
    return QStringLiteral("QLabel#lookAlikeMark { color: %1; font-weight: bold; }").arg(warning) +
           QStringLiteral(
               "QToolTip { border: none; padding: 0.3em 0.5em; }"
               // Messengers' dialogs have words on their buttons, not the platform's stock icons.
               "QDialogButtonBox { dialogbuttonbox-buttons-have-icons: 0; }"
               "QLineEdit#searchField { border: 1px solid palette(mid); border-radius: 0.9em;"
               "  padding: 0.3em 0.8em; background: palette(base); }"
               "QLineEdit#searchField:focus { border-color: palette(highlight); }"
               // The composer's frame and round buttons paint themselves (ComposerFrame,
               // GlyphButton).
               "QFrame#composerFrame QPlainTextEdit { border: none; background: transparent; }"
               "QWidget#conversationHeader { border-bottom: 1px solid palette(mid); }"
               "QWidget#conversationHeader QToolButton, QWidget#conversationHeader QPushButton {"
               "  border: none; padding: 0.3em 0.7em; border-radius: 0.4em; background: "
               "transparent; }"
               "QWidget#conversationHeader QToolButton:hover, QWidget#conversationHeader "
               "QPushButton:hover"
               "  { background: palette(button); }"
               "QWidget#conversationHeader QToolButton::menu-indicator { image: none; width: 0; }"
               "QLabel#typingLine { color: palette(placeholder-text); font-style: italic; }"
               "QListView#conversationList, QListView#searchResults { border: none;"
               "  background: palette(window); }"
               "QListView#messageList { border: none; background: palette(base); }"
               "QSplitter::handle { background: palette(mid); }"
               "QToolBar { border: none; border-bottom: 1px solid palette(mid); spacing: 0.2em;"
               "  padding: 0.15em 0.4em; }"
               "QToolBar QToolButton { padding: 0.25em 0.6em; border-radius: 0.4em; }"
               // Fusion draws a menu button's arrow under the text's baseline; beside it reads
               // better.
               "QToolBar QToolButton#menuButton { padding-right: 1.4em; }"
               "QToolBar QToolButton#menuButton::menu-indicator { subcontrol-origin: padding;"
               "  subcontrol-position: center right; right: 0.4em; }"
               "QToolBar QToolButton:hover, QToolBar QToolButton:checked { background: "
               "palette(button); }"
               "QStatusBar { border-top: 1px solid palette(mid); }"
               "QStatusBar QLabel { padding: 0 0.5em; }"
               "QScrollBar:vertical { background: transparent; width: 0.7em; margin: 0; }"
               "QScrollBar::handle:vertical { background: palette(mid); border-radius: 0.3em;"
               "  min-height: 2em; margin: 0.1em; }"
               "QScrollBar::add-line:vertical, QScrollBar::sub-line:vertical { height: 0; }"
               "QScrollBar::add-page:vertical, QScrollBar::sub-page:vertical { background: none; "
               "}");
}

// What the system's own palette is: an application palette with no roles set resolves every
// role from the platform theme (and the style), so setting one shows the system's colours.
bool system_is_dark() {
#if QT_VERSION >= QT_VERSION_CHECK(6, 5, 0)
    switch (QGuiApplication::styleHints()->colorScheme()) {
    case Qt::ColorScheme::Dark: return true;
    case Qt::ColorScheme::Light: return false;
    default: break;
    }
#endif
    QPalette empty;
    empty.setResolveMask(0);
    QApplication::setPalette(empty);
    return is_dark(QApplication::palette());
}

void set_palette(bool dark) {
    g_dark = dark;
    QApplication::setPalette(make_palette(dark));
    // Setting the sheet again polishes every widget again: rules that name palette colours
    // take them when a widget is polished, not when the palette changes.
    if (auto* app = qobject_cast<QApplication*>(QCoreApplication::instance())) {
        app->setStyleSheet(QString());
        app->setStyleSheet(style_sheet(dark));
    }
}

// Follows the system's scheme while the person chose Theme::system.
class SystemWatcher final : public QObject {
public:
    using QObject::QObject;

protected:
    bool eventFilter(QObject* watched, QEvent* event) override {
        if (watched == QCoreApplication::instance() && !g_applying && g_chosen == Theme::system &&
            (event->type() == QEvent::ThemeChange ||
             event->type() == QEvent::ApplicationPaletteChange))
            apply_theme(Theme::system);
        return false;
    }
};

void watch_system() {
    static SystemWatcher* watcher = nullptr;
    if (watcher || !QCoreApplication::instance())
        return;
    watcher = new SystemWatcher(QCoreApplication::instance());
    QCoreApplication::instance()->installEventFilter(watcher);
}

} // namespace

bool is_dark(const QPalette& palette) {
    return palette.color(QPalette::Window).lightness() <
           palette.color(QPalette::WindowText).lightness();
}

void apply_theme(Theme theme) {
    if (!QCoreApplication::instance() || g_applying)
        return;
    g_applying = true;
    g_chosen = theme;
    bool dark = theme == Theme::dark || (theme == Theme::system && system_is_dark());
    set_palette(dark);
    watch_system();
    g_applying = false;
}

Theme chosen_theme() {
    return g_chosen;
}

bool dark_theme_applied() {
    return g_dark;
}

QString theme_name(Theme theme) {
    switch (theme) {
    case Theme::light: return QStringLiteral("light");
    case Theme::dark: return QStringLiteral("dark");
    case Theme::system: break;
    }
    return QStringLiteral("system");
}

Theme theme_from_name(const QString& name) {
    if (name == QLatin1String("light"))
        return Theme::light;
    if (name == QLatin1String("dark"))
        return Theme::dark;
    return Theme::system;
}

ThemeColors theme_colors(const QPalette& palette) {
    const bool dark = is_dark(palette);
    ThemeColors c;
    c.accent = palette.color(QPalette::Highlight);
    c.on_accent = palette.color(QPalette::HighlightedText);
    c.bubble_in = dark ? QColor(0x2a, 0x2d, 0x33) : QColor(0xec, 0xee, 0xf2);
    c.on_bubble_in = palette.color(QPalette::Text);
    c.muted = dark ? QColor(0x93, 0x99, 0xa3) : QColor(0x6b, 0x71, 0x7b);
    c.separator = dark ? QColor(0x33, 0x36, 0x3d) : QColor(0xdd, 0xe0, 0xe5);
    c.pill = dark ? QColor(0x2a, 0x2d, 0x33, 230) : QColor(0xe4, 0xe7, 0xec, 230);
    c.selection = dark ? QColor(0x2e, 0x3a, 0x52) : QColor(0xdc, 0xe7, 0xfc);
    c.hover = dark ? QColor(0x27, 0x2a, 0x30) : QColor(0xeb, 0xed, 0xf1);
    c.danger = dark ? QColor(0xff, 0x6b, 0x6b) : QColor(0xc4, 0x2b, 0x2b);
    c.mention = dark ? QColor(0xe0, 0xb0, 0x30) : QColor(0xe6, 0xa8, 0x17);
    // Amber that keeps 3:1 against the list's background in both themes.
    c.warning = dark ? QColor(0xf0, 0xb4, 0x29) : QColor(0xb2, 0x6a, 0x00); // as in style_sheet
    c.sidebar = palette.color(QPalette::Window);
    c.chat = palette.color(QPalette::Base);
    return c;
}

} // namespace veil::desktop
