// Display width of UTF-8 text in terminal cells, and the cutting that the layout needs: clip to a
// width, wrap into lines. Widths come from wcwidth(3), so they follow the process's LC_CTYPE,
// which must be a UTF-8 locale (the app sets one before curses starts; tests set C.UTF-8). A
// cluster's width is the sum of its code points' widths, because that is where ncurses places
// what follows it: the layout and the terminal cursor then always agree.
//
// Every function takes valid UTF-8 (run received text through inert_for_terminal first); an
// invalid byte counts as one cell and is never split further.
#pragma once

#include "util/unicode.h"
#include <cstddef>

#include <string>
#include <string_view>
#include <vector>

namespace veil::tui {

// UTF-8 stepping comes from the shared util/unicode.h; these names keep the call sites short.
inline std::size_t utf8_next(std::string_view text, std::size_t i, char32_t& cp) {
    return unicode::next(text, i, cp);
}
inline std::size_t utf8_prev(std::string_view text, std::size_t i) {
    return unicode::prev(text, i);
}
inline void utf8_append(std::string& out, char32_t cp) {
    unicode::append(out, cp);
}

// Grapheme clusters (Unicode UAX #29, by utf8proc): what a person sees as one character, such as
// a letter with its accents, a flag (two regional indicators) or emoji joined by U+200D. The
// cursor stops, and lines break, only between clusters. next_grapheme returns the end of the
// cluster that starts at i; previous_grapheme the start of the cluster that ends at i.
std::size_t next_grapheme(std::string_view text, std::size_t i);
std::size_t previous_grapheme(std::string_view text, std::size_t i);

// Cells one code point takes: 0 for combining marks and joiners, 2 for wide CJK and most emoji,
// and 1 for anything wcwidth does not know (so unknown characters never shrink the layout).
int cell_width(char32_t cp);
// True when the terminal cannot draw cp (wcwidth < 0): the layout shows it as <U+XXXX>.
bool is_undrawable(char32_t cp);
int text_width(std::string_view text);

// The longest prefix of text that fits in `cells`, cut between grapheme clusters, so never in
// the middle of a wide character, an accented letter, a flag or a joined emoji. *width_out (if
// given) receives the prefix's width.
std::string_view clip_to_width(std::string_view text, int cells, int* width_out = nullptr);

// Breaks one line of text into pieces of at most `cells` (>= 2) each, preferring to break after
// a space. A piece never ends inside a grapheme cluster (one wider than `cells` gets a piece
// of its own). Empty text yields one empty piece.
std::vector<std::string> wrap_to_width(std::string_view text, int cells);

} // namespace veil::tui
