#include "line_editor.h"

#include "text_width.h"

namespace veil::tui {
namespace {

constexpr char32_t kZeroWidthJoiner = 0x200D;

char32_t code_point_at(std::string_view text, std::size_t i) {
    char32_t cp;
    utf8_next(text, i, cp);
    return cp;
}

} // namespace

bool LineEditor::accepted(char32_t cp) {
    if (cp >= 0x20 && cp < 0x7F)
        return true;
    return cp >= 0xA0 && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF) &&
           !unicode::needs_visible_mark(cp) && !is_undrawable(cp);
}

bool LineEditor::extends_previous(char32_t previous, char32_t cp) {
    if (previous == kZeroWidthJoiner || cp == kZeroWidthJoiner)
        return true;
    return cp >= 0x80 && cell_width(cp) == 0;
}

bool LineEditor::insert(char32_t cp) {
    if (!accepted(cp))
        return false;
    std::string bytes;
    utf8_append(bytes, cp);
    m_text.insert(m_cursor, bytes);
    m_cursor += bytes.size();
    return true;
}

void LineEditor::insert_text(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        char32_t cp;
        i += utf8_next(text, i, cp);
        insert(cp);
    }
}

std::size_t LineEditor::next_boundary(std::size_t from) const {
    if (from >= m_text.size())
        return m_text.size();
    char32_t previous;
    std::size_t i = from + utf8_next(m_text, from, previous);
    while (i < m_text.size()) {
        char32_t cp;
        std::size_t len = utf8_next(m_text, i, cp);
        if (!extends_previous(previous, cp))
            break;
        previous = cp;
        i += len;
    }
    return i;
}

std::size_t LineEditor::previous_boundary(std::size_t from) const {
    std::size_t i = utf8_prev(m_text, from);
    while (i > 0) {
        std::size_t before = utf8_prev(m_text, i);
        if (!extends_previous(code_point_at(m_text, before), code_point_at(m_text, i)))
            break;
        i = before;
    }
    return i;
}

void LineEditor::move_left() {
    m_cursor = previous_boundary(m_cursor);
}

void LineEditor::move_right() {
    m_cursor = next_boundary(m_cursor);
}

void LineEditor::delete_before() {
    std::size_t start = previous_boundary(m_cursor);
    m_text.erase(start, m_cursor - start);
    m_cursor = start;
}

void LineEditor::delete_at() {
    std::size_t end = next_boundary(m_cursor);
    m_text.erase(m_cursor, end - m_cursor);
}

void LineEditor::kill_to_start() {
    m_text.erase(0, m_cursor);
    m_cursor = 0;
}

void LineEditor::delete_word_before() {
    std::size_t start = m_cursor;
    while (start > 0 && m_text[start - 1] == ' ')
        --start;
    while (start > 0 && m_text[start - 1] != ' ')
        start = previous_boundary(start);
    m_text.erase(start, m_cursor - start);
    m_cursor = start;
}

std::string LineEditor::take() {
    std::string text = std::move(m_text);
    clear();
    return text;
}

void LineEditor::clear() {
    m_text.clear();
    m_cursor = 0;
}

} // namespace veil::tui
