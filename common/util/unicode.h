// UTF-8 stepping and the one policy, shared by every UI, for characters that must never act on
// the display: they are shown as visible <U+XXXX> marks instead.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace veil::unicode {

inline constexpr char32_t kReplacement = 0xFFFD;

// Decodes the code point starting at byte i. Returns its length in bytes; an invalid, overlong,
// surrogate or truncated sequence yields U+FFFD with length 1, so that every byte is consumed.
std::size_t next(std::string_view text, std::size_t i, char32_t& cp);
// The start of the code point that ends at byte i (i > 0), by the same rules as next().
std::size_t prev(std::string_view text, std::size_t i);
void append(std::string& out, char32_t cp);

// Replaces invalid UTF-8 with U+FFFD.
std::string sanitize(std::string_view text);

// True for what must be shown as a mark, not obeyed: C0 controls other than newline and tab,
// DEL, C1 controls (8-bit CSI among them), bidi embeddings, overrides, isolates and marks, and
// invisible format characters (zero-width space and non-joiner, word joiner, BOM, soft hyphen,
// tag characters). The zero-width joiner and variation selectors are kept: emoji need them.
bool needs_visible_mark(char32_t cp);

// "<U+202E>".
std::string visible_mark(char32_t cp);

} // namespace veil::unicode
