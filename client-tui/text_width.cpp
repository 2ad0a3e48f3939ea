#include "text_width.h"

#include <cwchar>

namespace veil::tui {

std::size_t utf8_next(std::string_view text, std::size_t i, char32_t& cp) {
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
    unsigned char c = byte(0);
    std::size_t len = c < 0x80             ? 1
                      : (c & 0xE0) == 0xC0 ? 2
                      : (c & 0xF0) == 0xE0 ? 3
                      : (c & 0xF8) == 0xF0 ? 4
                                           : 0;
    cp = 0xFFFD;
    if (len == 0 || i + len > text.size())
        return 1;
    if (len == 1) {
        cp = c;
        return 1;
    }
    char32_t value = c & (0x7F >> len);
    for (std::size_t k = 1; k < len; ++k) {
        if ((byte(k) & 0xC0) != 0x80)
            return 1;
        value = (value << 6) | (byte(k) & 0x3F);
    }
    static const char32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (value < min_for_len[len] || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF))
        return 1;
    cp = value;
    return len;
}

std::size_t utf8_prev(std::string_view text, std::size_t i) {
    if (i == 0)
        return 0;
    // Step back over at most three continuation bytes, then check that the code point found
    // really ends at i; if not, the byte before i was invalid and stands alone.
    std::size_t start = i - 1;
    while (start > 0 && i - start < 4 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80)
        --start;
    char32_t cp;
    if (start + utf8_next(text, start, cp) == i)
        return start;
    return i - 1;
}

void utf8_append(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
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
