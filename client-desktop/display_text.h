// Turning account data into words for people: received text made safe to show as plain text,
// errors as sentences, times and delivery ticks. Pure functions; any thread.
#pragma once

#include "store/account_store.h"
#include "util/result.h"

#include <QString>

#include <cstdint>
#include <string_view>

namespace veil::desktop {

// Received text as a QString for a plain-text view. Invalid UTF-8 becomes U+FFFD; control
// characters (except newline and tab) and bidi overrides/isolates, which could reorder or hide
// what is shown, become visible "<U+XXXX>" marks. Markup is left alone: the caller shows the
// result only through plain-text paths (DisplayRole, Qt::PlainText labels), so "<b>" stays "<b>".
QString display_text(std::string_view utf8);

// display_text on one line: newlines and tabs become spaces, and the result is cut to at most
// max_chars characters with a trailing ellipsis.
QString one_line(std::string_view utf8, int max_chars);

// text with a line break after every max_chars characters of a longer line (never inside a
// surrogate pair), for a plain-text view of a huge one-line message: text layout of a single
// line of a million characters takes many seconds, lines of a few thousand stay instant.
QString break_long_lines(const QString& text, int max_chars);

// How a group is named in lists and titles: "# " and its name through one_line() (at most 64
// characters), or
// "# unnamed group" while we do not know its name (a member who added us has not sent it yet).
QString group_title(std::string_view name);

// Text for Qt's other surfaces, which do not all take plain text as it is:
// - a tooltip is rendered as rich text whenever Qt::mightBeRichText() guesses so ("<b>x</b>"):
//   plain_tooltip() makes it rich text that shows text literally (escaped, lines kept), so that
//   "<img src=…>" in a name appears as those characters;
// - a QAction's, menu's or button's label treats "&" as a mnemonic and a tab as the start of the
//   shortcut column: plain_label_text() doubles "&" and turns tabs into spaces;
// - a window title treats "[*]" as the modified placeholder: plain_window_title() keeps it.
// Every one of them that can carry received or peer-chosen text (names, group names, message
// text, file names, device names, reactions) goes through the matching function.
QString plain_tooltip(const QString& text);
QString plain_label_text(const QString& text);
QString plain_window_title(const QString& text);

// The warning that peer's name looks like the contact other's ("b0b" and "bob"), one sentence.
QString look_alike_warning(std::string_view peer, std::string_view other);

// A sentence for the person about an error from the core or the relay.
QString plain_error(const Error& error);

// text with a full stop at its end unless it ends with one (or "!", "?", "…"), so that another
// sentence can follow it.
QString full_stop(const QString& text);

// "14:03" for today, "2024-05-01 14:03" otherwise, in local time; now_ms decides "today".
QString format_time(std::int64_t ms_since_epoch, std::int64_t now_ms);

// A conversation list's time: "14:03" today, the weekday ("Mon") within the last six days,
// else the date in the locale's short form; local time, now_ms decides "today". Empty for 0.
QString format_list_time(std::int64_t ms_since_epoch, std::int64_t now_ms);

// A day separator in a conversation: "Today", "Yesterday", the weekday and date within the last
// week ("Monday, 1 June"), else the date with its year ("1 June 2024"). Empty for 0.
QString day_label(std::int64_t ms_since_epoch, std::int64_t now_ms);

// Whether two times fall on the same local day.
bool same_day(std::int64_t a_ms, std::int64_t b_ms);

// The delivery mark of an outgoing message: queued "…", sent "✓", delivered "✓✓",
// failed "✗"; empty for incoming messages.
QString tick_for(store::MessageStatus status);

// A file size for people: "812 bytes", "14 KB", "3.2 MB", "1.1 GB" (powers of 1024).
QString format_size(std::uint64_t bytes);

// A safety number's 60 digits (grouped or not) as 12 groups of 5, four groups a line
// ("12345 67890 …"); any other text is returned as it is.
QString format_safety_number(const QString& number);

} // namespace veil::desktop
