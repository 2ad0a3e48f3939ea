#include "line_editor.h"

#include "text_width.h"

namespace veil::tui {

bool LineEditor::accepted(char32_t cp) {
    if (cp >= 0x20 && cp < 0x7F)
        return true;
    return cp >= 0xA0 && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF) &&
           !unicode::needs_visible_mark(cp) && !is_undrawable(cp);
}

bool LineEditor::insert(char32_t cp) {
    if (!accepted(cp))
        return false;
    std::string bytes;
    utf8_append(bytes, cp);
    m_text.insert(m_cursor, bytes);
    // The cursor goes after what was typed even when it joined the cluster before it: a
    // joiner typed after an emoji waits there for the emoji that completes the sequence.
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
    return next_grapheme(m_text, from);
}

std::size_t LineEditor::previous_boundary(std::size_t from) const {
    return previous_grapheme(m_text, from);
}

void LineEditor::move_left() {
    m_cursor = previous_boundary(m_cursor);
}

void LineEditor::move_right() {
    m_cursor = next_boundary(m_cursor);
}

void LineEditor::move_to(std::size_t cursor) {
    if (cursor >= m_text.size()) {
        m_cursor = m_text.size();
        return;
    }
    std::size_t i = 0;
    while (i < m_text.size()) {
        std::size_t next = next_boundary(i);
        if (next > cursor)
            break;
        i = next;
    }
    m_cursor = i;
}

int LineEditor::kind_at(std::size_t i) const {
    char32_t cp;
    utf8_next(m_text, i, cp);
    if (cp == ' ')
        return 0;
    bool word = cp >= 0x80 || (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') ||
                (cp >= 'A' && cp <= 'Z') || cp == '_';
    return word ? 1 : 2;
}

void LineEditor::move_word_backward() {
    std::size_t i = m_cursor;
    while (i > 0 && kind_at(previous_boundary(i)) != 1)
        i = previous_boundary(i);
    while (i > 0 && kind_at(previous_boundary(i)) == 1)
        i = previous_boundary(i);
    m_cursor = i;
}

std::size_t LineEditor::word_end_after(std::size_t from) const {
    std::size_t i = from;
    while (i < m_text.size() && kind_at(i) != 1)
        i = next_boundary(i);
    while (i < m_text.size() && kind_at(i) == 1)
        i = next_boundary(i);
    return i;
}

void LineEditor::move_word_forward() {
    m_cursor = word_end_after(m_cursor);
}

void LineEditor::move_next_word_start() {
    std::size_t i = m_cursor;
    if (i >= m_text.size())
        return;
    int kind = kind_at(i);
    while (i < m_text.size() && kind != 0 && kind_at(i) == kind)
        i = next_boundary(i);
    while (i < m_text.size() && kind_at(i) == 0)
        i = next_boundary(i);
    m_cursor = i;
}

void LineEditor::move_word_end() {
    if (m_text.empty())
        return;
    // Step at least one character, skip spaces, then run to the last character of the run.
    std::size_t i = next_boundary(m_cursor);
    while (i < m_text.size() && kind_at(i) == 0)
        i = next_boundary(i);
    if (i >= m_text.size()) {
        m_cursor = previous_boundary(m_text.size());
        return;
    }
    int kind = kind_at(i);
    while (next_boundary(i) < m_text.size() && kind_at(next_boundary(i)) == kind)
        i = next_boundary(i);
    m_cursor = i;
}

void LineEditor::kill(std::size_t from, std::size_t to) {
    if (to <= from)
        return;
    m_killed = m_text.substr(from, to - from);
    m_text.erase(from, to - from);
    m_cursor = from;
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
    kill(0, m_cursor);
}

void LineEditor::kill_to_end() {
    kill(m_cursor, m_text.size());
}

void LineEditor::delete_word_before() {
    std::size_t start = m_cursor;
    while (start > 0 && m_text[start - 1] == ' ')
        --start;
    while (start > 0 && m_text[start - 1] != ' ')
        start = previous_boundary(start);
    kill(start, m_cursor);
}

void LineEditor::delete_word_after() {
    kill(m_cursor, word_end_after(m_cursor));
}

void LineEditor::delete_to(std::size_t other) {
    if (other < m_cursor)
        kill(other, m_cursor);
    else
        kill(m_cursor, std::min(other, m_text.size()));
}

void LineEditor::yank() {
    insert_text(m_killed);
}

std::string LineEditor::take() {
    std::string text = std::move(m_text);
    clear();
    return text;
}

void LineEditor::clear() {
    m_text.clear();
    m_cursor = 0;
    m_history_pos = m_history.size();
}

void LineEditor::set_text(std::string_view text) {
    m_text.clear();
    m_cursor = 0;
    insert_text(text);
}

void LineEditor::remember(const std::string& line) {
    if (line.empty() || (!m_history.empty() && m_history.back() == line)) {
        m_history_pos = m_history.size();
        return;
    }
    m_history.push_back(line);
    if (m_history.size() > kHistoryLimit)
        m_history.erase(m_history.begin());
    m_history_pos = m_history.size();
}

void LineEditor::history_previous() {
    if (m_history_pos == 0)
        return;
    if (m_history_pos == m_history.size())
        m_typing = m_text;
    --m_history_pos;
    set_text(m_history[m_history_pos]);
}

void LineEditor::history_next() {
    if (m_history_pos >= m_history.size())
        return;
    ++m_history_pos;
    set_text(m_history_pos == m_history.size() ? m_typing : m_history[m_history_pos]);
}

} // namespace veil::tui
