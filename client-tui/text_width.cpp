#include "text_width.h"

#include <cwchar>

namespace veil::tui {

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
    for (std::size_t i = 0; i < text.size();) {
        char32_t cp;
        i += utf8_next(text, i, cp);
        width += cell_width(cp);
    }
    return width;
}

std::string_view clip_to_width(std::string_view text, int cells, int* width_out) {
    int width = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        char32_t cp;
        std::size_t len = utf8_next(text, i, cp);
        int w = cell_width(cp);
        if (width + w > cells)
            break;
        width += w;
        i += len;
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
        char32_t cp;
        std::size_t len = utf8_next(text, i, cp);
        int w = cell_width(cp);
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
        i += len;
        if (cp == ' ')
            last_break = i;
    }
    pieces.emplace_back(text.substr(start));
    return pieces;
}

} // namespace veil::tui
