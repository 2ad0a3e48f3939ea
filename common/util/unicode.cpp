#include "util/unicode.h"

#include <cstdio>

namespace veil::unicode {

std::size_t next(std::string_view text, std::size_t i, char32_t& cp) {
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
    unsigned char c = byte(0);
    std::size_t len = c < 0x80             ? 1
                      : (c & 0xE0) == 0xC0 ? 2
                      : (c & 0xF0) == 0xE0 ? 3
                      : (c & 0xF8) == 0xF0 ? 4
                                           : 0;
    cp = kReplacement;
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

std::size_t prev(std::string_view text, std::size_t i) {
    if (i == 0)
        return 0;
    // Step back over at most three continuation bytes, then check that the code point found
    // really ends at i; if not, the byte before i was invalid and stands alone.
    std::size_t start = i - 1;
    while (start > 0 && i - start < 4 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80)
        --start;
    char32_t cp;
    if (start + next(text, start, cp) == i)
        return start;
    return i - 1;
}

void append(std::string& out, char32_t cp) {
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

std::string sanitize(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        char32_t cp;
        i += next(text, i, cp);
        append(out, cp);
    }
    return out;
}

bool needs_visible_mark(char32_t cp) {
    if (cp == '\n' || cp == '\t')
        return false;
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
        return true;
    bool bidi = (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E ||
                cp == 0x200F || cp == 0x061C;
    bool invisible = cp == 0x00AD || cp == 0x200B || cp == 0x200C ||
                     (cp >= 0x2060 && cp <= 0x2064) || cp == 0xFEFF || cp == 0x180E ||
                     (cp >= 0xE0000 && cp <= 0xE007F);
    return bidi || invisible;
}

std::string visible_mark(char32_t cp) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "<U+%04X>", static_cast<unsigned>(cp));
    return buf;
}

} // namespace veil::unicode
