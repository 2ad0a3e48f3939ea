// What one screen shows, as plain data: the model lays it out (TuiModel::render) and a View
// draws it. Every string in a Frame is already inert (no control characters, no bidi controls,
// nothing the terminal cannot draw) and clipped to its area, so a View only paints.
//
// Screen areas, top to bottom: the conversation list on the left next to the conversation's
// title row and message pane; then the status line; then the input line.
#pragma once

#include "store/account_store.h"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace veil::tui {

enum class Style {
    normal,
    dim,
    own_name,
    peer_name,
    error,
    selected,
    unread,
    status,
    title,
    mention,       // a message that mentions us
    warning,       // a changed safety number
    qr,            // a QR code's lines (qr_text.h): dark on light wherever colours allow
    found,         // words a /find matched
    found_current, // the match /find is on
    mode,          // vi's mode in the status line
};

struct Span {
    std::string text;
    Style style = Style::normal;
};
using Line = std::vector<Span>;

struct Frame {
    int rows = 0;
    int cols = 0;
    int list_width = 0;     // 0 when the terminal is too narrow for a list
    std::vector<Line> list; // one per row, from row 0; each at most list_width cells
    Line title;             // row 0 of the pane column
    std::vector<Line> pane; // rows 1.. of the pane column, at most pane_rows()
    Line status;            // row rows-2
    Line input;             // row rows-1
    int cursor_col = 0;     // the terminal cursor, on the input row

    int pane_col() const { return list_width > 0 ? list_width + 1 : 0; }
    int pane_width() const { return cols - pane_col(); }
    int pane_rows() const { return rows > 3 ? rows - 3 : 0; }
};

// Received or stored text made safe to draw on one line: inert_for_terminal(text, true), then
// anything else the terminal cannot draw shown as <U+XXXX>.
std::string display_text(std::string_view received);

// Local wall-clock time "HH:MM", and the day as "Mon 2024-05-06".
std::string format_clock(std::int64_t epoch_ms);
std::string format_day(std::int64_t epoch_ms);
bool same_local_day(std::int64_t a_ms, std::int64_t b_ms);

int line_width(const Line& line);
// Cuts a line to at most `cells`; with pad, fills the rest with spaces in pad_style.
Line fit_line(Line line, int cells, bool pad = false, Style pad_style = Style::normal);

// The line with every occurrence of any of words (ASCII letters matched without regard to
// case) in its normal and mention spans split out in `style`. Words are matched in the text as
// shown; UTF-8 lets no match start or end inside a code point.
Line highlight_words(const Line& line, const std::vector<std::string>& words, Style style);

// The status mark shown after an own message: "…" queued, "✓" accepted by the relay, "✓✓"
// delivered, "✓✓ read" read, "✗ not sent" failed, "✗ expired undelivered" expired.
Span status_mark(store::MessageStatus status);

// "812 bytes", "2.1 MB", "15 kB": a file's size for people (powers of 1000).
std::string size_text(std::uint64_t bytes);
// A disappearing timer in one short word: "30s", "5m", "1h", "1d", "1w", "off".
std::string short_timer(std::uint32_t seconds);
// "👍 2 ❤ 1": each emoji once with how many reacted with it, in order of first use; inert.
std::string reaction_summary(const std::vector<store::ReactionRow>& reactions);

// What an attachment's transfer has done (EngineObserver::on_transfer).
struct Transfer {
    std::uint64_t done = 0;
    std::uint64_t total = 0;
};

// One message as display lines: "HH:MM name: text", the text wrapped under itself so that it can
// never run into the time or the name. A reply's quote goes above it ("↳ author: text"); after
// the text come "(edited)", the timer, our delivery mark and the reference; under it one line
// per file and the reactions. A deleted message reads "This message was deleted", dimmed.
// text_lines are display_text() pieces (one per line of the original). max_bytes > 0 truncates the
// text with a note saying how to see the rest.
struct MessageLayout {
    const store::MessageRow* row = nullptr;
    const std::vector<std::string>* text_lines = nullptr;
    std::string name;   // display_text of the sender
    int name_width = 8; // the name column, so that texts line up
    std::size_t max_bytes = 0;
    std::size_t max_lines = 0;
    // The number commands name it by (shown as "#12" after the text); 0 shows none.
    int ref = 0;
    std::string quote_author;                           // display_text of a reply's quoted author
    bool mentions_us = false;                           // highlighted
    const std::map<int, Transfer>* transfers = nullptr; // by attachment index; may be null
};
std::vector<Line> layout_message(const MessageLayout& message, int width);

} // namespace veil::tui
