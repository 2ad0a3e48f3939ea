#include "screen_layout.h"

#include "text_safety.h"
#include "text_width.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iterator>
#include <utility>

namespace veil::tui {
namespace {

std::tm local_tm(std::int64_t epoch_ms) {
    std::time_t seconds = static_cast<std::time_t>(epoch_ms / 1000);
    std::tm tm{};
    localtime_r(&seconds, &tm);
    return tm;
}

std::string spaces(int n) {
    return std::string(static_cast<std::size_t>(n > 0 ? n : 0), ' ');
}

// The longest prefix of text of at most max_bytes, ending on a code point boundary.
std::size_t cut_at_boundary(std::string_view text, std::size_t max_bytes) {
    std::size_t i = 0;
    while (i < text.size()) {
        char32_t cp;
        std::size_t len = utf8_next(text, i, cp);
        if (i + len > max_bytes)
            break;
        i += len;
    }
    return i;
}

// The message's text, truncated to the layout's limits; `hidden` receives the bytes left out.
std::vector<std::string_view> visible_text(const MessageLayout& m, std::size_t& hidden) {
    std::vector<std::string_view> out;
    std::size_t used = 0;
    hidden = 0;
    for (const auto& line : *m.text_lines) {
        bool over_lines = m.max_lines > 0 && out.size() >= m.max_lines;
        bool over_bytes = m.max_bytes > 0 && used >= m.max_bytes;
        if (over_lines || over_bytes) {
            hidden += line.size() + 1;
            continue;
        }
        std::string_view shown = line;
        if (m.max_bytes > 0 && used + line.size() > m.max_bytes) {
            shown = shown.substr(0, cut_at_boundary(line, m.max_bytes - used));
            hidden += line.size() - shown.size();
        }
        used += shown.size();
        out.push_back(shown);
    }
    return out;
}

std::string size_words(std::size_t bytes) {
    char buf[48];
    if (bytes < 10 * 1024)
        std::snprintf(buf, sizeof buf, "%zu bytes", bytes);
    else
        std::snprintf(buf, sizeof buf, "%zu KiB", bytes / 1024);
    return buf;
}

} // namespace

std::string display_text(std::string_view received) {
    std::string inert = inert_for_terminal(received, true);
    std::string out;
    out.reserve(inert.size());
    for (std::size_t i = 0; i < inert.size();) {
        char32_t cp;
        std::size_t len = utf8_next(inert, i, cp);
        if (cp >= 0x80 && is_undrawable(cp)) {
            char buf[16];
            std::snprintf(buf, sizeof buf, "<U+%04X>", static_cast<unsigned>(cp));
            out += buf;
        } else {
            out.append(inert, i, len);
        }
        i += len;
    }
    return out;
}

std::string format_clock(std::int64_t epoch_ms) {
    std::tm tm = local_tm(epoch_ms);
    char buf[8];
    std::snprintf(buf, sizeof buf, "%02d:%02d", tm.tm_hour % 100, tm.tm_min % 100);
    return buf;
}

std::string format_day(std::int64_t epoch_ms) {
    std::tm tm = local_tm(epoch_ms);
    char buf[32];
    if (std::strftime(buf, sizeof buf, "%a %Y-%m-%d", &tm) == 0)
        return "?";
    return buf;
}

bool same_local_day(std::int64_t a_ms, std::int64_t b_ms) {
    std::tm a = local_tm(a_ms);
    std::tm b = local_tm(b_ms);
    return a.tm_year == b.tm_year && a.tm_yday == b.tm_yday;
}

int line_width(const Line& line) {
    int width = 0;
    for (const auto& span : line)
        width += text_width(span.text);
    return width;
}

Line fit_line(Line line, int cells, bool pad, Style pad_style) {
    Line out;
    int left = cells;
    for (auto& span : line) {
        if (left <= 0)
            break;
        int width = 0;
        std::string_view kept = clip_to_width(span.text, left, &width);
        if (kept.size() != span.text.size())
            span.text.resize(kept.size());
        left -= width;
        out.push_back(std::move(span));
    }
    if (pad && left > 0)
        out.push_back({spaces(left), pad_style});
    return out;
}

namespace {

char ascii_lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Where the first of words occurs in text from `from` on: its offset and length, or npos.
std::pair<std::size_t, std::size_t> first_match(std::string_view text, std::size_t from,
                                                const std::vector<std::string>& words) {
    std::pair<std::size_t, std::size_t> best{std::string_view::npos, 0};
    for (const auto& word : words) {
        if (word.empty() || word.size() > text.size())
            continue;
        for (std::size_t i = from; i + word.size() <= text.size() && i < best.first; ++i) {
            bool same = true;
            for (std::size_t k = 0; k < word.size() && same; ++k)
                same = ascii_lower(text[i + k]) == ascii_lower(word[k]);
            if (same) {
                best = {i, word.size()};
                break;
            }
        }
    }
    return best;
}

} // namespace

Line highlight_words(const Line& line, const std::vector<std::string>& words, Style style) {
    Line out;
    for (const auto& span : line) {
        if (span.style != Style::normal && span.style != Style::mention) {
            out.push_back(span);
            continue;
        }
        std::size_t at = 0;
        while (true) {
            auto [found, length] = first_match(span.text, at, words);
            if (found == std::string_view::npos)
                break;
            if (found > at)
                out.push_back({span.text.substr(at, found - at), span.style});
            out.push_back({span.text.substr(found, length), style});
            at = found + length;
        }
        if (at < span.text.size() || span.text.empty())
            out.push_back({span.text.substr(at), span.style});
    }
    return out;
}

Span status_mark(store::MessageStatus status) {
    switch (status) {
    case store::MessageStatus::queued: return {"\xE2\x80\xA6", Style::dim}; // …
    case store::MessageStatus::sent: return {"\xE2\x9C\x93", Style::dim};   // ✓
    case store::MessageStatus::delivered: return {"\xE2\x9C\x93\xE2\x9C\x93", Style::normal};
    case store::MessageStatus::read: return {"\xE2\x9C\x93\xE2\x9C\x93 read", Style::normal};
    case store::MessageStatus::failed: return {"\xE2\x9C\x97 not sent", Style::error}; // ✗
    case store::MessageStatus::expired: return {"\xE2\x9C\x97 expired undelivered", Style::error};
    case store::MessageStatus::received: break;
    }
    return {"", Style::normal};
}

std::string size_text(std::uint64_t bytes) {
    char buf[48];
    if (bytes < 1000) {
        std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
        return buf;
    }
    const char* units[] = {"kB", "MB", "GB", "TB"};
    double value = static_cast<double>(bytes) / 1000.0;
    std::size_t unit = 0;
    while (value >= 999.95 && unit + 1 < std::size(units)) {
        value /= 1000.0;
        ++unit;
    }
    std::snprintf(buf, sizeof buf, value < 99.95 ? "%.1f %s" : "%.0f %s", value, units[unit]);
    return buf;
}

std::string short_timer(std::uint32_t seconds) {
    if (seconds == 0)
        return "off";
    struct Unit {
        std::uint32_t seconds;
        char letter;
    };
    for (Unit u : {Unit{7 * 86400, 'w'}, Unit{86400, 'd'}, Unit{3600, 'h'}, Unit{60, 'm'}})
        if (seconds % u.seconds == 0)
            return std::to_string(seconds / u.seconds) + u.letter;
    return std::to_string(seconds) + "s";
}

std::string reaction_summary(const std::vector<store::ReactionRow>& reactions) {
    std::vector<std::pair<std::string, int>> counts; // in order of first appearance
    for (const auto& r : reactions) {
        if (r.emoji.empty())
            continue;
        std::string shown = display_text(r.emoji);
        auto it = std::find_if(counts.begin(), counts.end(),
                               [&](const auto& c) { return c.first == shown; });
        if (it == counts.end())
            counts.emplace_back(shown, 1);
        else
            ++it->second;
    }
    std::string out;
    for (const auto& [emoji, count] : counts)
        out += (out.empty() ? "" : " ") + emoji + " " + std::to_string(count);
    return out;
}

namespace {

std::string ref_text(int ref) {
    return "#" + std::to_string(ref);
}

// "[name.pdf, 2.1 MB] — /save 12 2", or what its transfer is doing.
Line attachment_line(const MessageLayout& m, const store::AttachmentRow& a, bool many) {
    std::string name = a.file_name.empty() ? std::string("file") : display_text(a.file_name);
    Line line = {{"[" + name + ", " + size_text(a.size) + "]", Style::normal}};
    std::string save = "/save " + std::to_string(m.ref) +
                       (many ? " " + std::to_string(a.index + 1) : std::string());
    const Transfer* moving = nullptr;
    if (m.transfers) {
        auto it = m.transfers->find(a.index);
        if (it != m.transfers->end())
            moving = &it->second;
    }
    auto percent = [&] {
        if (!moving || moving->total == 0)
            return std::string();
        return " " + std::to_string(moving->done * 100 / moving->total) + "%";
    };
    const char* dash = " \xE2\x80\x94 "; // —
    // Progress shows as soon as bytes move, whatever state the row last announced.
    if (moving && moving->total > 0 && moving->done < moving->total) {
        bool up = a.state == store::AttachmentState::uploading;
        line.push_back(
            {dash + std::string(up ? "sending" : "downloading") + percent(), Style::dim});
        return line;
    }
    switch (a.state) {
    case store::AttachmentState::uploading:
        line.push_back({dash + std::string("sending") + percent(), Style::dim});
        break;
    case store::AttachmentState::downloading:
        line.push_back({dash + std::string("downloading") + percent(), Style::dim});
        break;
    case store::AttachmentState::failed:
        line.push_back({dash + std::string("failed"), Style::error});
        if (m.ref > 0 && m.row->direction == store::Direction::incoming)
            line.push_back({", " + save + " tries again", Style::dim});
        break;
    case store::AttachmentState::remote:
    case store::AttachmentState::ready:
        if (m.ref > 0)
            line.push_back({dash + save, Style::dim});
        break;
    }
    return line;
}

// The text's display lines, wrapped to width; hidden receives the bytes truncated away.
std::vector<std::string> text_pieces(const MessageLayout& m, int width, std::size_t& hidden) {
    const store::MessageRow& row = *m.row;
    std::vector<std::string> pieces;
    if (row.deleted) {
        pieces.emplace_back("This message was deleted");
        return pieces;
    }
    bool first = true;
    bool undecryptable =
        row.status == store::MessageStatus::failed && row.direction == store::Direction::incoming;
    for (std::string_view line : visible_text(m, hidden)) {
        // An undecryptable message is marked with a warning sign before its reason.
        std::string marked = first && undecryptable ? "\xE2\x9A\xA0 " + std::string(line) : "";
        auto wrapped = wrap_to_width(marked.empty() ? line : marked, width);
        pieces.insert(pieces.end(), wrapped.begin(), wrapped.end());
        first = false;
    }
    if (pieces.empty())
        pieces.emplace_back();
    return pieces;
}

// " (edited) ⏳1h ✓✓ #12": what follows the text, each part after a space.
Line message_tail(const MessageLayout& m) {
    const store::MessageRow& row = *m.row;
    const bool system = row.kind == store::MessageKind::system;
    Line tail;
    auto add = [&](std::string text, Style style) {
        tail.push_back({" ", Style::normal});
        tail.push_back({std::move(text), style});
    };
    if (row.edited_at_ms > 0 && !row.deleted)
        add("(edited)", Style::dim);
    if (row.expire_timer_s > 0 && !system)
        add("\xE2\x8F\xB3" + short_timer(row.expire_timer_s), Style::dim); // ⏳
    if (row.direction == store::Direction::outgoing && !system) {
        Span mark = status_mark(row.status);
        bool retry = row.status == store::MessageStatus::expired ||
                     row.status == store::MessageStatus::failed;
        if (retry && m.ref > 0)
            mark.text += " \xE2\x80\x94 /resend " + std::to_string(m.ref);
        add(std::move(mark.text), mark.style);
    }
    if (m.ref > 0 && !system)
        add(ref_text(m.ref), Style::dim);
    return tail;
}

// One line per file from the first-th on, then the reactions, each under the text.
void add_files_and_reactions(const MessageLayout& m, std::size_t first, const Line& indent,
                             std::vector<Line>& lines) {
    const auto& files = m.row->attachments;
    for (std::size_t i = first; i < files.size(); ++i) {
        Line line = indent;
        Line body = attachment_line(m, files[i], files.size() > 1);
        line.insert(line.end(), body.begin(), body.end());
        lines.push_back(std::move(line));
    }
    std::string reactions = reaction_summary(m.row->reactions);
    if (!reactions.empty()) {
        Line line = indent;
        line.push_back({reactions, Style::normal});
        lines.push_back(std::move(line));
    }
}

} // namespace

std::vector<Line> layout_message(const MessageLayout& m, int width) {
    const store::MessageRow& row = *m.row;
    bool own = row.direction == store::Direction::outgoing;
    bool failed = row.status == store::MessageStatus::failed;
    std::int64_t at = own ? row.sent_at_ms : row.received_at_ms;

    int name_width = m.name_width;
    int prefix_width = 6 + name_width + 2;
    if (width - prefix_width < 12) { // too narrow: the text goes under a short prefix
        name_width = width >= 20 ? 8 : 4;
        prefix_width = 6 + name_width + 2;
    }
    int text_width_cells = width - prefix_width;
    if (text_width_cells < 2)
        return {fit_line({{format_clock(at), Style::dim}}, width)};

    std::string name(clip_to_width(m.name, name_width));
    name += spaces(name_width - text_width(name));
    // A system line (a join, a removal, a refused change) reads as a remark, not a message.
    const bool system = row.kind == store::MessageKind::system;
    Line prefix = {{format_clock(at) + " ", Style::dim},
                   {name, system ? Style::dim
                          : own  ? Style::own_name
                                 : Style::peer_name},
                   {system ? "  " : ": ", Style::dim}};
    Style text_style = failed          ? Style::error
                       : system        ? Style::dim
                       : row.deleted   ? Style::dim
                       : m.mentions_us ? Style::mention
                                       : Style::normal;
    Line indent = {{spaces(prefix_width), Style::normal}};

    std::vector<Line> lines;
    // A reply: "↳ author: quoted text" on its own line above, cut to one row.
    if (row.quote && !row.deleted) {
        Line quote = {
            {spaces(prefix_width), Style::normal},
            {"\xE2\x86\xB3 " + m.quote_author + ": " + display_text(row.quote->text), Style::dim}};
        lines.push_back(std::move(quote));
    }

    std::size_t hidden = 0;
    std::vector<std::string> pieces = text_pieces(m, text_width_cells, hidden);
    // A file sent without text takes the text's place.
    const bool file_first =
        !row.deleted && !row.attachments.empty() && pieces.size() == 1 && pieces[0].empty();

    for (std::size_t i = 0; i < pieces.size(); ++i) {
        Line line = i == 0 ? prefix : indent;
        if (file_first) {
            Line body = attachment_line(m, row.attachments.front(), row.attachments.size() > 1);
            line.insert(line.end(), body.begin(), body.end());
        } else {
            line.push_back({pieces[i], text_style});
        }
        lines.push_back(std::move(line));
    }
    if (hidden > 0)
        lines.push_back(
            {{spaces(prefix_width), Style::normal},
             {"\xE2\x80\xA6 " + size_words(hidden) + " more; /full shows all", Style::dim}});

    // After the text: (edited), the timer, the delivery mark and the reference, on the last
    // text line when they fit, else on a line of their own.
    Line tail = message_tail(m);
    if (!tail.empty()) {
        if (line_width(lines.back()) + line_width(tail) <= width) {
            lines.back().insert(lines.back().end(), tail.begin(), tail.end());
        } else {
            Line line = indent;
            line.insert(line.end(), tail.begin() + 1, tail.end()); // no leading space
            lines.push_back(std::move(line));
        }
    }

    if (!row.deleted)
        add_files_and_reactions(m, file_first ? 1 : 0, indent, lines);
    for (auto& line : lines)
        line = fit_line(std::move(line), width);
    return lines;
}

} // namespace veil::tui
