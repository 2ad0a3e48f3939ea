#include "text_safety.h"

#include <cstdint>
#include <cstdio>

namespace veil::tui {
namespace {

// Decodes one UTF-8 code point at text[i]; returns its length, or 0 if invalid.
std::size_t decode(std::string_view text, std::size_t i, char32_t& cp) {
    auto b = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
    unsigned char c = b(0);
    std::size_t len;
    if (c < 0x80) {
        cp = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        len = 2;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (i + len > text.size())
        return 0;
    for (std::size_t k = 1; k < len; ++k) {
        if ((b(k) & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (b(k) & 0x3F);
    }
    // Overlong forms, surrogates and values above U+10FFFF are invalid.
    static const char32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

void append_utf8(std::string& out, char32_t cp) {
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

constexpr char32_t kReplacement = 0xFFFD;

bool is_bidi_control(char32_t cp) {
    return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E ||
           cp == 0x200F || cp == 0x061C;
}

// Invisible format characters that can hide or disguise text (zero-width space and non-joiner,
// word joiner, invisible operators, BOM, soft hyphen, tag characters). The zero-width joiner
// and variation selectors stay: emoji sequences need them.
bool is_invisible_format(char32_t cp) {
    return cp == 0x00AD || cp == 0x200B || cp == 0x200C || (cp >= 0x2060 && cp <= 0x2064) ||
           cp == 0xFEFF || (cp >= 0xE0000 && cp <= 0xE007F) || cp == 0x180E;
}

template <typename Fn>
void for_each_code_point(std::string_view text, Fn fn) {
    for (std::size_t i = 0; i < text.size();) {
        char32_t cp;
        std::size_t len = decode(text, i, cp);
        if (len == 0) {
            fn(kReplacement);
            i += 1;
        } else {
            fn(cp);
            i += len;
        }
    }
}

} // namespace

std::string sanitize_utf8(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for_each_code_point(text, [&](char32_t cp) { append_utf8(out, cp); });
    return out;
}

std::string inert_for_terminal(std::string_view text, bool single_line) {
    std::string out;
    out.reserve(text.size());
    char buf[16];
    for_each_code_point(text, [&](char32_t cp) {
        if (cp == '\n' && !single_line) {
            out.push_back('\n');
        } else if (cp == '\n') {
            out += "\xE2\x8F\x8E "; // U+23CE RETURN SYMBOL
        } else if (cp == '\t') {
            out += "    ";
        } else if (cp < 0x20 || cp == 0x7F) {
            std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(cp));
            out += buf;
        } else if (cp >= 0x80 && cp <= 0x9F) {
            std::snprintf(buf, sizeof buf, "<U+%04X>", static_cast<unsigned>(cp));
            out += buf;
        } else if (is_bidi_control(cp) || is_invisible_format(cp)) {
            std::snprintf(buf, sizeof buf, "<U+%04X>", static_cast<unsigned>(cp));
            out += buf;
        } else {
            append_utf8(out, cp);
        }
    });
    return out;
}

std::string json_string(std::string_view text) {
    std::string out = "\"";
    char buf[8];
    for_each_code_point(text, [&](char32_t cp) {
        switch (cp) {
        case '"': out += "\\\""; return;
        case '\\': out += "\\\\"; return;
        case '\n': out += "\\n"; return;
        case '\r': out += "\\r"; return;
        case '\t': out += "\\t"; return;
        default: break;
        }
        if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029) {
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
            out += buf;
        } else {
            append_utf8(out, cp);
        }
    });
    out += "\"";
    return out;
}

} // namespace veil::tui
