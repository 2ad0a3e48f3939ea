// Rendering received text safely: in the terminal no received character may move the cursor
// or change the terminal; in JSON every string is valid UTF-8 with control characters escaped.
#pragma once

#include <string>
#include <string_view>

namespace veil::tui {

// Replaces invalid UTF-8 with U+FFFD.
std::string sanitize_utf8(std::string_view text);

// Makes text inert for a terminal: C0 controls (except none), DEL, C1 controls (U+0080..U+009F,
// including 8-bit CSI), bidi overrides/isolates and a zero-width joiner that joins no two emoji
// become visible escapes such as "\x1b" or "<U+202E>"; newlines become the visible "⏎ " when
// single_line is set. Invalid UTF-8 -> U+FFFD.
std::string inert_for_terminal(std::string_view text, bool single_line);

// A JSON string literal (with quotes) of valid UTF-8 text.
std::string json_string(std::string_view text);

} // namespace veil::tui
