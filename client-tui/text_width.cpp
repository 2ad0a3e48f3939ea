#include "text_width.h"

#include <utf8proc.h>

#include <cwchar>

namespace veil::tui {
namespace {

// Code points of text from byte `from` on, with their byte offsets, fed to fn(cp, offset) until
// fn returns false.
template <typename Fn>
void each_code_point(std::string_view text, std::size_t from, Fn fn) {
    for (std::size_t i = from; i < text.size();) {
        char32_t cp;
        std::size_t len = utf8_next(text, i, cp);
        if (!fn(cp, i))
            return;
        i += len;
    }
}

bool breaks_between(char32_t before, char32_t after, utf8proc_int32_t& state) {
    return utf8proc_grapheme_break_stateful(static_cast<utf8proc_int32_t>(before),
                                            static_cast<utf8proc_int32_t>(after), &state);
}

} // namespace

std::size_t next_grapheme(std::string_view text, std::size_t i) {
    if (i >= text.size())
        return text.size();
    char32_t first;
    std::size_t end = i + utf8_next(text, i, first);
    // The state carries what the rules for flags and joined emoji need to know about the
    // cluster so far.
    utf8proc_int32_t state = 0;
    char32_t previous = first;
    each_code_point(text, end, [&](char32_t cp, std::size_t at) {
        if (breaks_between(previous, cp, state))
            return false;
        previous = cp;
        end = at + utf8_next(text, at, cp);
        return true;
    });
    return end;
}

std::size_t previous_grapheme(std::string_view text, std::size_t i) {
    // Clusters can only be found going forwards (a flag's second half depends on how many
    // regional indicators come before it), so walk from the start of the text.
    std::size_t start = 0;
    for (std::size_t at = 0; at < i && at < text.size();) {
        std::size_t next = next_grapheme(text, at);
        if (next >= i)
            return at;
        start = next;
        at = next;
    }
    return start;
}

bool is_undrawable(char32_t cp) {
    return ::wcwidth(static_cast<wchar_t>(cp)) < 0;
}

int cell_width(char32_t cp) {
    if (cp < 0x80)
        return 1;
    int w = ::wcwidth(static_cast<wchar_t>(cp));
    return w < 0 ? 1 : w;
}

int text_width(std::string_view text) {
    int width = 0;
    each_code_point(text, 0, [&](char32_t cp, std::size_t) {
        width += cell_width(cp);
        return true;
    });
    return width;
}

std::string_view clip_to_width(std::string_view text, int cells, int* width_out) {
    int width = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t end = next_grapheme(text, i);
        int w = text_width(text.substr(i, end - i));
        if (width + w > cells)
            break;
        width += w;
        i = end;
    }
    if (width_out)
        *width_out = width;
    return text.substr(0, i);
}

std::vector<std::string> wrap_to_width(std::string_view text, int cells) {
    std::vector<std::string> pieces;
    std::size_t start = 0;
    std::size_t last_break = std::string_view::npos; // just after the last space in the piece
    int width = 0;
    for (std::size_t i = 0; i < text.size();) {
        std::size_t end = next_grapheme(text, i);
        int w = text_width(text.substr(i, end - i));
        while (width + w > cells && i > start) {
            std::size_t cut =
                (last_break != std::string_view::npos && last_break > start && last_break < i)
                    ? last_break
                    : i;
            pieces.emplace_back(text.substr(start, cut - start));
            start = cut;
            last_break = std::string_view::npos;
            width = text_width(text.substr(start, i - start));
        }
        width += w;
        i = end;
        if (text[i - 1] == ' ') // a cluster ending in a space is a space alone
            last_break = i;
    }
    pieces.emplace_back(text.substr(start));
    return pieces;
}

} // namespace veil::tui
