// Which colours the terminal app uses: none, the 16 basic ones, or a 256-colour palette, from
// what the terminal reports (COLORS), the NO_COLOR convention (https://no-color.org: a set,
// non-empty NO_COLOR means no colours; bold, reverse and underline stay) and the person's
// /set theme. Plain C++; CursesView applies the choice.
#pragma once

#include <string_view>

namespace veil::tui {

enum class ColorMode { mono, basic16, color256 };

// requested: "auto" (or empty), "256", "16" or "mono" as /set theme stores it. With "auto",
// NO_COLOR wins, then the terminal's colour count decides; an explicit choice wins over
// NO_COLOR (the person asked for it here) but never asks for more colours than the terminal
// has. colors: curses' COLORS after start_color (0 or less: no colour support).
ColorMode choose_color_mode(int colors, const char* no_color, std::string_view requested);

// "mono", "16 colours" or "256 colours", for the status line.
std::string_view color_mode_name(ColorMode mode);

// Whether requested is a word /set theme takes.
bool valid_theme(std::string_view requested);

} // namespace veil::tui
