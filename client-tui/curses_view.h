// CursesView: the View on ncursesw. It owns the terminal from construction to destruction:
// the constructor switches to curses (raw keys, no echo, keypad, non-blocking reads), the
// destructor restores the terminal with endwin(). Main thread only; one at a time.
#pragma once

#include "theme.h"
#include "view.h"

#include <vector>

namespace veil::tui {

class CursesView final : public View {
public:
    CursesView();
    ~CursesView() override;
    CursesView(const CursesView&) = delete;
    CursesView& operator=(const CursesView&) = delete;

    // False when the terminal could not be set up (e.g. TERM unknown); nothing else then works.
    bool ok() const { return m_ok; }

    Size size() const override;
    void draw(const Frame& frame, bool full_repaint) override;

    // Every key waiting on standard input, without blocking.
    std::vector<Key> read_keys();
    // Rings the terminal bell (curses beep(): a flash where the terminal has no bell).
    void bell();
    // Takes the terminal's new size (after SIGWINCH).
    void resize();
    // How many colours the terminal has (curses' COLORS; 0 without colour support).
    int colors() const;
    // Draws with no colours, the 16 basic ones or the 256-colour palette (theme.h). Mono until
    // called.
    void set_color_mode(ColorMode mode);
    // Reports the wheel and left presses as keys (Key::Type::mouse_click ...), or stops.
    void set_mouse(bool on);

    // Restores the terminal if a CursesView is still active; safe to call at any time, more
    // than once, and from an atexit handler.
    static void restore_terminal();

private:
    bool m_ok = false;
    bool m_mouse = false;
};

} // namespace veil::tui
