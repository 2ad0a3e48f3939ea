#include "vi_input.h"

namespace veil::tui {

void ViInput::reset() {
    m_mode = Mode::insert;
    m_operator = 0;
}

void ViInput::to_normal(LineEditor& editor) {
    // As in vi, leaving insert mode steps back onto the last character typed.
    if (editor.cursor() > 0)
        editor.move_left();
    m_mode = Mode::normal;
    m_operator = 0;
}

bool ViInput::handle(const Key& key, LineEditor& editor) {
    using T = Key::Type;
    if (m_mode == Mode::insert) {
        if (key.type == T::escape) {
            to_normal(editor);
            return true;
        }
        // Esc and a key typed quickly after it arrive together as Alt and the key: in vi that
        // is a normal-mode command.
        if (key.type == T::alt) {
            to_normal(editor);
            normal_key(key.ch, editor);
            return true;
        }
        return false;
    }
    switch (key.type) {
    case T::character: return normal_key(key.ch, editor);
    case T::backspace: editor.move_left(); return true;
    case T::alt: return normal_key(key.ch, editor);
    case T::escape:
        if (m_operator == 0)
            return false; // Esc in normal mode is the app's (clear the error, end a search)
        m_operator = 0;
        return true;
    default: return false;
    }
}

void ViInput::operator_motion(char32_t ch, LineEditor& editor) {
    char32_t op = m_operator;
    m_operator = 0;
    std::size_t from = editor.cursor();
    LineEditor probe = editor; // find where the motion lands without moving the cursor
    switch (ch) {
    case 'w':
        // cw changes to the end of the word, like ce (vi's own exception).
        if (op == 'c')
            probe.move_word_forward();
        else
            probe.move_next_word_start();
        break;
    case 'e':
        probe.move_word_end();
        probe.move_right();
        break;
    case 'b': probe.move_word_backward(); break;
    case '$': probe.move_end(); break;
    case '0':
    case '^': probe.move_home(); break;
    case 'h': probe.move_left(); break;
    case 'l': probe.move_right(); break;
    case 'd':
    case 'c':
        if (ch != op)
            return;
        editor.move_home();
        editor.kill_to_end();
        if (op == 'c')
            m_mode = Mode::insert;
        return;
    default: return;
    }
    editor.move_to(from);
    editor.delete_to(probe.cursor());
    if (op == 'c')
        m_mode = Mode::insert;
    else if (editor.cursor() > 0 && editor.cursor() >= editor.text().size())
        editor.move_left(); // normal mode rests on a character
}

bool ViInput::normal_key(char32_t ch, LineEditor& editor) {
    if (m_operator != 0) {
        operator_motion(ch, editor);
        return true;
    }
    auto insert_here = [&] { m_mode = Mode::insert; };
    switch (ch) {
    case 'h': editor.move_left(); break;
    case 'l':
    case ' ':
        if (editor.cursor() + 1 < editor.text().size())
            editor.move_right();
        break;
    case 'w': editor.move_next_word_start(); break;
    case 'b': editor.move_word_backward(); break;
    case 'e': editor.move_word_end(); break;
    case '0':
    case '^': editor.move_home(); break;
    case '$':
        editor.move_end();
        editor.move_left();
        break;
    case 'x': editor.delete_at(); break;
    case 'X': editor.delete_before(); break;
    case 'D': editor.kill_to_end(); break;
    case 'C':
        editor.kill_to_end();
        insert_here();
        break;
    case 's':
        editor.delete_at();
        insert_here();
        break;
    case 'd':
    case 'c': m_operator = ch; break;
    case 'i': insert_here(); break;
    case 'a':
        editor.move_right();
        insert_here();
        break;
    case 'I':
        editor.move_home();
        insert_here();
        break;
    case 'A':
        editor.move_end();
        insert_here();
        break;
    case 'p':
        editor.move_right();
        editor.yank();
        editor.move_left();
        break;
    case 'k': editor.history_previous(); break;
    case 'j': editor.history_next(); break;
    default: break; // an unknown command does nothing, and types nothing
    }
    return true;
}

} // namespace veil::tui
