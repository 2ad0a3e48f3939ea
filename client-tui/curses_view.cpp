// Poco is not involved here, but keep the wide API on whatever feature macros are in force.
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <curses.h>

#include "curses_view.h"

#include "text_width.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <string>

namespace veil::tui {
namespace {

bool g_active = false;
SCREEN* g_screen = nullptr;

enum Pair : short {
    pair_own = 1,
    pair_peer,
    pair_error,
    pair_status_error,
    pair_mention,
    pair_qr,
    pair_found,
    pair_found_current,
    pair_mode,
};

ColorMode g_mode = ColorMode::mono;

attr_t attributes(Style style) {
    bool color = g_mode != ColorMode::mono;
    switch (style) {
    case Style::normal: return A_NORMAL;
    case Style::dim: return A_DIM;
    case Style::own_name: return color ? COLOR_PAIR(pair_own) | A_BOLD : A_BOLD;
    case Style::peer_name: return color ? COLOR_PAIR(pair_peer) | A_BOLD : A_BOLD;
    case Style::error: return color ? COLOR_PAIR(pair_error) | A_BOLD : A_BOLD;
    case Style::selected: return A_REVERSE;
    case Style::unread: return A_BOLD;
    case Style::status: return A_REVERSE;
    case Style::title: return A_REVERSE | A_BOLD;
    case Style::mention: return color ? COLOR_PAIR(pair_mention) | A_BOLD : A_BOLD | A_UNDERLINE;
    case Style::warning: return color ? COLOR_PAIR(pair_error) | A_BOLD : A_BOLD | A_REVERSE;
    case Style::qr: return color ? COLOR_PAIR(pair_qr) : A_NORMAL;
    case Style::found: return color ? COLOR_PAIR(pair_found) : A_REVERSE;
    case Style::found_current:
        return color ? COLOR_PAIR(pair_found_current) | A_BOLD : A_REVERSE | A_BOLD | A_UNDERLINE;
    case Style::mode: return color ? COLOR_PAIR(pair_mode) | A_BOLD : A_BOLD;
    }
    return A_NORMAL;
}

// The colour pairs of a mode: the 16 basic colours, or softer ones of the 256-colour palette
// (xterm's cube: 16 + 36r + 6g + b).
void init_pairs(ColorMode mode) {
    bool wide = mode == ColorMode::color256;
    init_pair(pair_own, wide ? 71 : COLOR_GREEN, -1);
    init_pair(pair_peer, wide ? 38 : COLOR_CYAN, -1);
    init_pair(pair_error, wide ? 167 : COLOR_RED, -1);
    init_pair(pair_status_error, COLOR_RED, COLOR_WHITE);
    init_pair(pair_mention, wide ? 179 : COLOR_YELLOW, -1);
    init_pair(pair_qr, COLOR_BLACK, COLOR_WHITE);
    init_pair(pair_found, COLOR_BLACK, wide ? 186 : COLOR_YELLOW);
    init_pair(pair_found_current, COLOR_BLACK, wide ? 214 : COLOR_GREEN);
    init_pair(pair_mode, COLOR_BLACK, wide ? 110 : COLOR_CYAN);
}

std::wstring to_wide(std::string_view text) {
    std::wstring out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        char32_t cp;
        i += utf8_next(text, i, cp);
        out.push_back(static_cast<wchar_t>(cp));
    }
    return out;
}

// Draws a line that the layout has already clipped; max_cells guards the edge once more so that
// nothing ever wraps onto the next row.
void draw_line(int y, int x, const Line& line, int max_cells) {
    if (max_cells <= 0)
        return;
    move(y, x);
    int left = max_cells;
    for (const auto& span : line) {
        int width = 0;
        std::string_view text = clip_to_width(span.text, left, &width);
        if (text.empty())
            continue;
        attrset(attributes(span.style));
        std::wstring wide = to_wide(text);
        addnwstr(wide.c_str(), static_cast<int>(wide.size()));
        left -= width;
        if (left <= 0)
            break;
    }
    attrset(A_NORMAL);
}

// The mouse event curses has waiting, as a key. One the app does not use becomes a click
// outside the screen, which does nothing (Esc would end a search).
Key mouse_key() {
    using T = Key::Type;
    Key nothing = Key::mouse(T::mouse_click, -1, -1);
    MEVENT event{};
    if (getmouse(&event) != OK)
        return nothing;
    if (event.bstate & BUTTON4_PRESSED)
        return Key::mouse(T::wheel_up, event.y, event.x);
    if (event.bstate & BUTTON5_PRESSED)
        return Key::mouse(T::wheel_down, event.y, event.x);
    if (event.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED))
        return Key::mouse(T::mouse_click, event.y, event.x);
    return nothing;
}

Key translate_code(wint_t code) {
    using T = Key::Type;
    switch (code) {
    case KEY_ENTER: return Key::of(T::enter);
    case KEY_BACKSPACE: return Key::of(T::backspace);
    case KEY_DC: return Key::of(T::del);
    case KEY_LEFT: return Key::of(T::left);
    case KEY_RIGHT: return Key::of(T::right);
    case KEY_HOME: return Key::of(T::home);
    case KEY_END: return Key::of(T::end);
    case KEY_UP: return Key::of(T::up);
    case KEY_DOWN: return Key::of(T::down);
    case KEY_PPAGE: return Key::of(T::page_up);
    case KEY_NPAGE: return Key::of(T::page_down);
    case KEY_BTAB: return Key::of(T::back_tab);
    case KEY_RESIZE: return Key::of(T::resize);
    case KEY_MOUSE: return mouse_key();
    default: return Key::of(T::escape); // an unknown function key: harmless
    }
}

// A plain character: controls become keys; returns false for controls nobody handles.
bool translate_char(wint_t ch, Key& key) {
    using T = Key::Type;
    if (ch == '\n' || ch == '\r')
        key = Key::of(T::enter);
    else if (ch == '\t')
        key = Key::of(T::tab);
    else if (ch == 0x7F || ch == 0x08)
        key = Key::of(T::backspace);
    else if (ch == 0x1B)
        key = Key::of(T::escape);
    else if (ch >= 1 && ch <= 26)
        key = Key::ctrl(static_cast<char>('a' + ch - 1));
    else if (ch < 0x20)
        return false;
    else
        key = Key::character(static_cast<char32_t>(ch));
    return true;
}

} // namespace

CursesView::CursesView() {
    // newterm, unlike initscr, reports an unusable terminal instead of exiting the process.
    g_screen = newterm(nullptr, stdout, stdin);
    if (!g_screen)
        return;
    g_active = true;
    m_ok = true;
    raw(); // Ctrl-Q and Ctrl-C arrive as keys instead of flow control and signals
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    if (has_colors()) {
        start_color();
        use_default_colors();
    }
    g_mode = ColorMode::mono;
}

int CursesView::colors() const {
    return m_ok && has_colors() ? COLORS : 0;
}

void CursesView::set_color_mode(ColorMode mode) {
    if (!m_ok || mode == g_mode)
        return;
    g_mode = mode;
    if (mode != ColorMode::mono)
        init_pairs(mode);
}

void CursesView::set_mouse(bool on) {
    if (!m_ok || on == m_mouse)
        return;
    m_mouse = on;
    // Presses, not clicks: a click waits for the release and a possible double click.
    mousemask(on ? BUTTON1_PRESSED | BUTTON4_PRESSED | BUTTON5_PRESSED : 0, nullptr);
    mouseinterval(0);
}

CursesView::~CursesView() {
    restore_terminal();
}

void CursesView::restore_terminal() {
    if (!g_active)
        return;
    g_active = false;
    endwin();
    if (g_screen) {
        delscreen(g_screen);
        g_screen = nullptr;
    }
}

Size CursesView::size() const {
    return {LINES, COLS};
}

void CursesView::resize() {
    winsize ws{};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
        resizeterm(ws.ws_row, ws.ws_col);
}

void CursesView::bell() {
    if (m_ok)
        ::beep();
}

void CursesView::draw(const Frame& frame, bool full_repaint) {
    if (full_repaint)
        clearok(curscr, TRUE);
    erase();
    int list_rows = frame.rows - 2;
    for (std::size_t r = 0; r < frame.list.size() && static_cast<int>(r) < list_rows; ++r)
        draw_line(static_cast<int>(r), 0, frame.list[r], frame.list_width);
    if (frame.list_width > 0)
        mvvline_set(0, frame.list_width, WACS_VLINE, list_rows);

    int x = frame.pane_col();
    draw_line(0, x, frame.title, frame.pane_width());
    for (std::size_t r = 0; r < frame.pane.size() && static_cast<int>(r) < frame.pane_rows(); ++r)
        draw_line(static_cast<int>(r) + 1, x, frame.pane[r], frame.pane_width());
    if (frame.rows >= 2)
        draw_line(frame.rows - 2, 0, frame.status, frame.cols);
    // The input line leaves the bottom-right cell alone: writing there would scroll.
    draw_line(frame.rows - 1, 0, frame.input, frame.cols - 1);
    move(frame.rows - 1, std::min(frame.cursor_col, frame.cols - 1));
    refresh();
}

std::vector<Key> CursesView::read_keys() {
    std::vector<Key> keys;
    wint_t ch;
    int kind;
    bool after_escape = false;
    while ((kind = get_wch(&ch)) != ERR) {
        Key key;
        if (kind == KEY_CODE_YES) {
            key = translate_code(ch);
        } else if (!translate_char(ch, key)) {
            continue;
        }
        // Alt-x arrives as Esc followed by x.
        if (after_escape && (key.type == Key::Type::character)) {
            keys.back() = Key::alt(key.ch);
            after_escape = false;
            continue;
        }
        after_escape = key.type == Key::Type::escape && kind != KEY_CODE_YES;
        keys.push_back(key);
    }
    return keys;
}

} // namespace veil::tui
