// The seam between the terminal app's logic and the terminal: a View paints Frames and reports
// its size; keys arrive as Key values. CursesView is the one real implementation; tests use
// none (they inspect Frames directly).
#pragma once

#include "screen_layout.h"

namespace veil::tui {

struct Key {
    enum class Type {
        character, // ch: a printable code point
        enter,
        backspace,
        del,
        left,
        right,
        home,
        end,
        up,
        down,
        page_up,
        page_down,
        tab,
        back_tab,
        escape,
        ctrl, // ch: the lowercase letter ('q' for Ctrl-Q)
        alt,  // ch: the key pressed with Alt or after Esc
        resize,
        // The mouse, when /set mouse on: row and col say where (0-based, the whole screen).
        mouse_click,
        wheel_up,
        wheel_down,
    };
    Type type = Type::character;
    char32_t ch = 0;
    int row = 0;
    int col = 0;

    static Key character(char32_t c) { return {Type::character, c}; }
    static Key ctrl(char letter) { return {Type::ctrl, static_cast<char32_t>(letter)}; }
    static Key alt(char32_t c) { return {Type::alt, c}; }
    static Key of(Type type) { return {type, 0}; }
    static Key mouse(Type type, int row, int col) { return {type, 0, row, col}; }
};

struct Size {
    int rows = 24;
    int cols = 80;
};

class View {
public:
    virtual ~View() = default;
    virtual Size size() const = 0;
    // Paints the whole frame; full_repaint clears the terminal first (after Ctrl-L).
    virtual void draw(const Frame& frame, bool full_repaint) = 0;
};

} // namespace veil::tui
