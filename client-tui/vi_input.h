// ViInput: vi's two modes over the input line. In insert mode keys type as usual and Esc goes
// to normal mode; in normal mode letters are commands on the line: h l w b e 0 ^ $ move,
// x X D C s delete, d and c take a motion (dw cw de db d$ d0, dd and cc the whole line),
// i a I A go back to inserting, p puts what was deleted last, j k step through the history.
// Unknown letters do nothing, so a stray key never types into the line.
//
// Keys that are not vi's (Enter, PageUp, Ctrl keys, Esc in normal mode) are left to the app's
// key bindings; the app also takes / (a /find) and, while a find is on, n and N. Plain C++; no
// terminal involved.
#pragma once

#include "line_editor.h"
#include "view.h"

namespace veil::tui {

class ViInput {
public:
    enum class Mode { insert, normal };

    Mode mode() const { return m_mode; }
    // Back to insert mode with nothing pending (after a line is sent, or vi mode is turned on).
    void reset();
    // True when the key was vi's and has been applied to the editor.
    bool handle(const Key& key, LineEditor& editor);

private:
    bool normal_key(char32_t ch, LineEditor& editor);
    // Applies the pending operator (d or c) with the motion ch; false for a key that is no
    // motion (the operator is dropped).
    void operator_motion(char32_t ch, LineEditor& editor);
    void to_normal(LineEditor& editor);

    Mode m_mode = Mode::insert;
    char32_t m_operator = 0; // 'd' or 'c' waiting for its motion, or 0
};

} // namespace veil::tui
