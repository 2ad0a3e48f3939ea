#include "theme.h"

#include "desktop_fixture.h"

#include <QApplication>
#include <QLabel>

namespace veil::desktop {
namespace {

// Puts the application back as the other suites expect it: the style's own palette, no sheet.
struct ThemeReset {
    ~ThemeReset() {
        apply_theme(Theme::system);
        qApp->setStyleSheet(QString());
    }
};

TEST_CASE("switching the theme changes the application's palette, and widgets follow") {
    test::app();
    ThemeReset reset;
    QLabel label(QStringLiteral("x"));
    label.show();
    apply_theme(Theme::dark);
    QApplication::processEvents();
    CHECK(chosen_theme() == Theme::dark);
    CHECK(dark_theme_applied());
    CHECK(is_dark(QApplication::palette()));
    CHECK(is_dark(label.palette()));
    const QColor dark_window = QApplication::palette().color(QPalette::Window);
    const ThemeColors dark = theme_colors(QApplication::palette());

    apply_theme(Theme::light);
    QApplication::processEvents();
    CHECK(chosen_theme() == Theme::light);
    CHECK_FALSE(dark_theme_applied());
    CHECK_FALSE(is_dark(QApplication::palette()));
    CHECK_FALSE(is_dark(label.palette()));
    CHECK(QApplication::palette().color(QPalette::Window) != dark_window);
    const ThemeColors light = theme_colors(QApplication::palette());
    CHECK(light.bubble_in != dark.bubble_in);
    CHECK(light.bubble_in.lightness() > dark.bubble_in.lightness());
    // Text stays readable on its bubble in both.
    for (const ThemeColors& c : {light, dark})
        CHECK(std::abs(c.on_bubble_in.lightness() - c.bubble_in.lightness()) > 100);
    CHECK_FALSE(qApp->styleSheet().isEmpty());
}

TEST_CASE("following the system takes the system's scheme") {
    test::app();
    ThemeReset reset;
    apply_theme(Theme::dark);
    apply_theme(Theme::system);
    CHECK(chosen_theme() == Theme::system);
    // The offscreen platform's palette is light.
    CHECK_FALSE(dark_theme_applied());
    CHECK_FALSE(is_dark(QApplication::palette()));
}

TEST_CASE("a palette is dark when its window is darker than its text") {
    QPalette light(Qt::black, Qt::white);
    light.setColor(QPalette::Window, Qt::white);
    light.setColor(QPalette::WindowText, Qt::black);
    QPalette dark = light;
    dark.setColor(QPalette::Window, QColor(0x20, 0x20, 0x20));
    dark.setColor(QPalette::WindowText, QColor(0xee, 0xee, 0xee));
    CHECK_FALSE(is_dark(light));
    CHECK(is_dark(dark));
}

TEST_CASE("a theme's name is stored and read back") {
    for (Theme t : {Theme::system, Theme::light, Theme::dark})
        CHECK(theme_from_name(theme_name(t)) == t);
    CHECK(theme_from_name(QStringLiteral("purple")) == Theme::system);
}

} // namespace
} // namespace veil::desktop
