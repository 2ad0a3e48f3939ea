#include "text_safety.h"

#include "util/unicode.h"

#include <utf8proc.h>

#include <cstdio>

namespace veil::tui {
namespace {

template <typename Fn>
void for_each_code_point(std::string_view text, Fn fn) {
    for (std::size_t i = 0; i < text.size();) {
        char32_t cp;
        i += unicode::next(text, i, cp);
        fn(cp);
    }
}

int bound_class(char32_t cp) {
    return utf8proc_get_property(static_cast<utf8proc_int32_t>(cp))->boundclass;
}

bool pictographic(char32_t cp) {
    return bound_class(cp) == UTF8PROC_BOUNDCLASS_EXTENDED_PICTOGRAPHIC;
}

// Marks that may sit between an emoji and the joiner: skin tones, the emoji presentation
// selector.
bool extends(char32_t cp) {
    return bound_class(cp) == UTF8PROC_BOUNDCLASS_EXTEND;
}

} // namespace

std::string sanitize_utf8(std::string_view text) {
    return unicode::sanitize(text);
}

std::string inert_for_terminal(std::string_view text, bool single_line) {
    std::string out;
    out.reserve(text.size());
    bool after_emoji = false; // an emoji (and its modifiers) came last
    std::size_t at = 0;
    for_each_code_point(text, [&](char32_t cp) {
        char32_t same;
        std::size_t next_at = at + unicode::next(text, at, same);
        // A joiner is invisible: it is kept only where it joins two emoji into one picture;
        // anywhere else (inside a name, say) it is shown, like the other zero-width characters.
        bool joins = false;
        if (cp == 0x200D && after_emoji && next_at < text.size()) {
            char32_t following;
            unicode::next(text, next_at, following);
            joins = pictographic(following);
        }
        after_emoji = pictographic(cp) || (after_emoji && extends(cp));
        at = next_at;
        if (cp == 0x200D && !joins) {
            out += unicode::visible_mark(cp);
        } else if (cp == '\n') {
            out += single_line ? "\xE2\x8F\x8E " : "\n"; // U+23CE RETURN SYMBOL
        } else if (cp == '\t') {
            out += "    ";
        } else if (cp < 0x20 || cp == 0x7F) {
            // C0 escapes read best in the form people type them: ESC is \x1b.
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(cp));
            out += buf;
        } else if (unicode::needs_visible_mark(cp)) {
            out += unicode::visible_mark(cp);
        } else {
            unicode::append(out, cp);
        }
    });
    return out;
}

std::string json_string(std::string_view text) {
    std::string out = "\"";
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
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
            out += buf;
        } else {
            unicode::append(out, cp);
        }
    });
    out += "\"";
    return out;
}

} // namespace veil::tui
