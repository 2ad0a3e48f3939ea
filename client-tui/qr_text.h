// QR codes drawn with text, for the link code a new device shows (crypto/link.h) to a phone or
// a device with a camera. Error correction level M; libqrencode picks the smallest version and
// splits the payload into numeric, alphanumeric and 8-bit segments as fits it best.
//
// Colours: every line is plain text for the terminal's default colours. Which modules are drawn
// as ink decides where the code scans, because scanners expect dark modules on a light ground:
// - QrInk::dark_modules (the default) draws the dark modules in the foreground colour. It scans
//   as is on a dark-on-light terminal, where the terminal's own background also widens the
//   quiet zone. On a light-on-dark terminal the code appears inverted; many phone scanners read
//   inverted codes, but not all.
// - QrInk::light_modules draws the light modules and the quiet zone in the foreground colour,
//   so that on a light-on-dark terminal the code appears dark on a light frame and scans.
// A curses view that can choose colours should draw the dark-modules lines with a black-on-white
// pair, which scans on both kinds of terminal.
//
// The quiet zone is 2 modules instead of the standard 4, to fit small terminals; phone scanners
// read that. Thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace veil::tui {

enum class QrInk { dark_modules, light_modules };

// The code with Unicode half blocks (U+2580 ▀, U+2584 ▄, U+2588 █ and space), two module rows
// per text row, one cell per module column, so that it looks square in a usual terminal font.
// Every line has the same width in cells: the symbol's width plus the quiet zone on both sides.
// The block elements are "ambiguous width" in Unicode: a terminal set to draw those two cells
// wide (some CJK setups) needs qr_ascii_lines instead. Returns no lines when the payload is
// empty or too large for any QR version.
std::vector<std::string> qr_text_lines(std::string_view payload, QrInk ink = QrInk::dark_modules);

// The same code in ASCII for terminals without Unicode: "##" for an inked module and "  " for
// the other, one text row per module row.
std::vector<std::string> qr_ascii_lines(std::string_view payload, QrInk ink = QrInk::dark_modules);

} // namespace veil::tui
