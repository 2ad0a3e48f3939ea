#include "screen_layout.h"
#include "test_environment.h"
#include "text_width.h"

#include <catch2/catch.hpp>

#include <limits>

using namespace veil;
using namespace veil::tui;

namespace {

std::string joined(const Line& line) {
    std::string out;
    for (const auto& span : line)
        out += span.text;
    return out;
}

bool has_control_bytes(const std::string& s) {
    for (unsigned char c : s)
        if (c < 0x20 || c == 0x7F)
            return true;
    // C1 controls encoded in UTF-8 are C2 80..C2 9F.
    for (std::size_t i = 0; i + 1 < s.size(); ++i)
        if (static_cast<unsigned char>(s[i]) == 0xC2 &&
            static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
            static_cast<unsigned char>(s[i + 1]) <= 0x9F)
            return true;
    return false;
}

store::MessageRow incoming(std::string text) {
    store::MessageRow row;
    row.id = 1;
    row.peer = "mallory";
    row.sender = "mallory";
    row.direction = store::Direction::incoming;
    row.status = store::MessageStatus::received;
    row.text = std::move(text);
    row.sent_at_ms = row.received_at_ms = 1'700'000'000'000; // 22:13 UTC
    return row;
}

std::vector<Line> lay_out(const store::MessageRow& row, int width, std::size_t max_bytes = 0) {
    static std::vector<std::string> lines;
    lines = {display_text(row.text)};
    MessageLayout m;
    m.row = &row;
    m.text_lines = &lines;
    m.name = display_text(row.sender);
    m.name_width = 8;
    m.max_bytes = max_bytes;
    return layout_message(m, width);
}

} // namespace

TEST_CASE("a message with ESC, CR, BS and 8-bit CSI renders inert", "[screen_layout]") {
    // Each of these would move the cursor or rewrite the line in a raw terminal.
    auto row = incoming("\x1b[2J\x1b]0;owned\x07\rfake\b\b\xC2\x9B"
                        "31m");
    auto lines = lay_out(row, 80);
    REQUIRE(!lines.empty());
    std::string all;
    for (const auto& line : lines)
        all += joined(line);
    CHECK_FALSE(has_control_bytes(all));
    CHECK(all.find("\\x1b[2J") != std::string::npos);
    CHECK(all.find("\\x0d") != std::string::npos);
    CHECK(all.find("\\x08") != std::string::npos);
    CHECK(all.find("<U+009B>") != std::string::npos);
}

TEST_CASE("the time and the sender's name open the first line whatever the text",
          "[screen_layout]") {
    auto row = incoming("\r\b\b\b\b\b\b\b\b\b\b\b\b\b\x1b[1Gbob: hi");
    auto lines = lay_out(row, 60);
    REQUIRE(lines.size() >= 1);
    CHECK(joined(lines[0]).rfind("22:13 mallory : ", 0) == 0);
    CHECK(lines[0][1].style == Style::peer_name);
}

TEST_CASE("a bidi override in a name or text is shown, not obeyed", "[screen_layout]") {
    CHECK(display_text("abc\xE2\x80\xAE"
                       "def") == "abc<U+202E>def");
}

TEST_CASE("wrapped text stays under its own column and within the width", "[screen_layout]") {
    auto row = incoming(std::string(200, 'x'));
    auto lines = lay_out(row, 40);
    REQUIRE(lines.size() > 2);
    for (std::size_t i = 1; i < lines.size(); ++i) {
        CHECK(joined(lines[i]).rfind(std::string(16, ' '), 0) == 0);
        CHECK(line_width(lines[i]) <= 40);
    }
}

TEST_CASE("own messages carry their delivery mark", "[screen_layout]") {
    auto row = incoming("hi");
    row.direction = store::Direction::outgoing;
    row.sender = "alice";
    row.status = store::MessageStatus::queued;
    CHECK(joined(lay_out(row, 60)[0]).find("hi \xE2\x80\xA6") != std::string::npos);
    row.status = store::MessageStatus::sent;
    CHECK(joined(lay_out(row, 60)[0]).find("hi \xE2\x9C\x93") != std::string::npos);
    row.status = store::MessageStatus::delivered;
    CHECK(joined(lay_out(row, 60)[0]).find("hi \xE2\x9C\x93\xE2\x9C\x93") != std::string::npos);
    row.status = store::MessageStatus::failed;
    CHECK(joined(lay_out(row, 60)[0]).find("not sent") != std::string::npos);
}

TEST_CASE("an undecryptable message is shown with a warning and its reason", "[screen_layout]") {
    auto row = incoming("[could not decrypt this message: bad mac]");
    row.status = store::MessageStatus::failed;
    auto lines = lay_out(row, 80);
    std::string first = joined(lines[0]);
    CHECK(first.find("\xE2\x9A\xA0 [could not decrypt") != std::string::npos);
    CHECK(lines[0].back().style == Style::error);
}

TEST_CASE("a one-megabyte message is truncated with a way to see the rest", "[screen_layout]") {
    auto row = incoming(std::string(1 << 20, 'a'));
    auto lines = lay_out(row, 80, 2000);
    CHECK(lines.size() < 40);
    CHECK(joined(lines.back()).find("/full") != std::string::npos);
}

TEST_CASE("wide characters never push a line past its width", "[screen_layout]") {
    std::string text;
    for (int i = 0; i < 100; ++i)
        text += "\xE4\xB8\x96\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB e\xCC\x81";
    auto lines = lay_out(incoming(text), 37);
    for (const auto& line : lines)
        CHECK(line_width(line) <= 37);
}

// ---- everyday messaging ------------------------------------------------------------------------

namespace {

std::string all_text(const std::vector<Line>& lines) {
    std::string out;
    for (const auto& l : lines)
        out += joined(l) + "\n";
    return out;
}

std::vector<Line> lay_out_ref(const store::MessageRow& row, int ref, int width = 70,
                              const std::map<int, Transfer>* transfers = nullptr) {
    static std::vector<std::string> lines;
    lines = {display_text(row.text)};
    MessageLayout m;
    m.row = &row;
    m.text_lines = &lines;
    m.name = display_text(row.sender);
    m.name_width = 8;
    m.ref = ref;
    if (row.quote)
        m.quote_author = display_text(row.quote->author);
    m.transfers = transfers;
    return layout_message(m, width);
}

store::MessageRow outgoing(std::string text, store::MessageStatus status) {
    auto row = incoming(std::move(text));
    row.sender = "alice";
    row.direction = store::Direction::outgoing;
    row.status = status;
    return row;
}

} // namespace

TEST_CASE("a message line ends with its reference", "[screen_layout]") {
    auto lines = lay_out_ref(incoming("hello"), 12);
    REQUIRE(lines.size() == 1);
    CHECK(joined(lines[0]) == "22:13 mallory : hello #12");
    CHECK(lines[0].back().style == Style::dim);
}

TEST_CASE("a reply shows the quoted author and text above it, on one line", "[screen_layout]") {
    auto row = incoming("sure");
    row.quote = store::Quote{Bytes(16, 1), "alice", "lunch?\nat noon \x1b[2J"};
    auto lines = lay_out_ref(row, 3, 40);
    REQUIRE(lines.size() == 2);
    std::string quote = joined(lines[0]);
    CHECK(quote.find("\xE2\x86\xB3 alice: lunch?") != std::string::npos);
    CHECK_FALSE(has_control_bytes(quote));
    CHECK(line_width(lines[0]) <= 40);
    CHECK(joined(lines[1]).find("sure #3") != std::string::npos);
}

TEST_CASE("reactions are counted under the message, each emoji once", "[screen_layout]") {
    auto row = incoming("party");
    row.reactions = {{"bob", "\xF0\x9F\x91\x8D", 1},
                     {"carol", "\xE2\x9D\xA4", 2},
                     {"dave", "\xF0\x9F\x91\x8D", 3}};
    CHECK(reaction_summary(row.reactions) == "\xF0\x9F\x91\x8D 2 \xE2\x9D\xA4 1");
    auto lines = lay_out_ref(row, 1);
    REQUIRE(lines.size() == 2);
    CHECK(joined(lines[1]).find("\xF0\x9F\x91\x8D 2 \xE2\x9D\xA4 1") != std::string::npos);
}

TEST_CASE("an edited message says so and a deleted one reads as deleted, dimmed",
          "[screen_layout]") {
    auto row = incoming("new text");
    row.edited_at_ms = 5;
    CHECK(all_text(lay_out_ref(row, 2)).find("new text (edited) #2") != std::string::npos);

    row.deleted = true;
    row.text.clear();
    row.reactions = {{"bob", "x", 1}};
    auto lines = lay_out_ref(row, 2);
    REQUIRE(lines.size() == 1);
    CHECK(joined(lines[0]).find("This message was deleted") != std::string::npos);
    CHECK(joined(lines[0]).find("edited") == std::string::npos);
    CHECK(lines[0][3].style == Style::dim);
}

TEST_CASE("own messages show sent, delivered, read, and expired with how to resend",
          "[screen_layout]") {
    using S = store::MessageStatus;
    CHECK(all_text(lay_out_ref(outgoing("a", S::sent), 1)).find("a \xE2\x9C\x93 #1") !=
          std::string::npos);
    CHECK(all_text(lay_out_ref(outgoing("a", S::delivered), 1))
              .find("a \xE2\x9C\x93\xE2\x9C\x93 #1") != std::string::npos);
    CHECK(all_text(lay_out_ref(outgoing("a", S::read), 1)).find("read #1") != std::string::npos);
    std::string expired = all_text(lay_out_ref(outgoing("a", S::expired), 9));
    CHECK(expired.find("expired undelivered \xE2\x80\x94 /resend 9") != std::string::npos);
}

TEST_CASE("a disappearing message carries an hourglass with its timer", "[screen_layout]") {
    auto row = incoming("soon gone");
    row.expire_timer_s = 3600;
    CHECK(all_text(lay_out_ref(row, 1))
              .find("soon gone \xE2\x8F\xB3"
                    "1h #1") != std::string::npos);
    CHECK(short_timer(30) == "30s");
    CHECK(short_timer(300) == "5m");
    CHECK(short_timer(86400) == "1d");
    CHECK(short_timer(604800) == "1w");
    CHECK(short_timer(90) == "90s");
}

TEST_CASE("a file shows its name and size, how to save it, and its progress", "[screen_layout]") {
    auto row = incoming("");
    store::AttachmentRow a;
    a.index = 0;
    a.file_name = "report\x1b[31m.pdf";
    a.size = 2'100'000;
    a.state = store::AttachmentState::remote;
    row.attachments = {a};
    auto lines = lay_out_ref(row, 5);
    std::string text = all_text(lines);
    CHECK(text.find(".pdf, 2.1 MB] \xE2\x80\x94 /save 5") != std::string::npos);
    for (const auto& line : lines)
        CHECK_FALSE(has_control_bytes(joined(line)));

    row.attachments[0].state = store::AttachmentState::downloading;
    row.attachments.push_back(a);
    row.attachments[1].index = 1;
    std::map<int, Transfer> moving = {{0, {525'000, 2'100'000}}};
    text = all_text(lay_out_ref(row, 5, 70, &moving));
    CHECK(text.find("downloading 25%") != std::string::npos);
    CHECK(text.find("/save 5 2") != std::string::npos); // the second of two files
}

TEST_CASE("sizes read as bytes, kB, MB and GB", "[screen_layout]") {
    CHECK(size_text(0) == "0 bytes");
    CHECK(size_text(999) == "999 bytes");
    CHECK(size_text(1000) == "1.0 kB");
    CHECK(size_text(15'400) == "15.4 kB");
    CHECK(size_text(2'100'000) == "2.1 MB");
    CHECK(size_text(999'999'999) == "1.0 GB");
    CHECK(size_text(250'000'000) == "250 MB");
}

// QUALITY.md: client timestamps of 0, negative or year 3000. A received message shows when it
// arrived, whatever its sender's clock said; even the int64 extremes format without a crash.
TEST_CASE("a received message shows its arrival time whatever its sender dated it, and odd "
          "times format whole",
          "[screen_layout]") {
    const std::int64_t year_3000 = 32'503'680'000'000; // 3000-01-01T00:00:00Z
    for (std::int64_t sent :
         {std::int64_t{0}, std::int64_t{-86'400'000}, year_3000,
          std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min()}) {
        CAPTURE(sent);
        auto row = incoming("hello");
        row.sent_at_ms = sent;
        auto lines = lay_out(row, 60);
        REQUIRE(lines.size() >= 1);
        CHECK(joined(lines[0]).rfind("22:13 mallory : hello", 0) == 0);
    }
    CHECK(format_day(0) == "Thu 1970-01-01");
    CHECK(format_clock(0) == "00:00");
    CHECK(format_day(-86'400'000 + 43'200'000) == "Wed 1969-12-31");
    CHECK(format_clock(-86'400'000 + 43'200'000) == "12:00");
    CHECK(format_day(year_3000) == "Wed 3000-01-01");
    CHECK(format_clock(year_3000 + 60'000) == "00:01");
    // The int64 extremes are some 292 million years either way: shown as such, in one piece.
    for (std::int64_t extreme :
         {std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min()}) {
        CAPTURE(extreme);
        CHECK(format_clock(extreme).size() == 5);
        CHECK(format_day(extreme).find("2922") != std::string::npos);
        CHECK_FALSE(same_local_day(extreme, year_3000));
    }
    CHECK(same_local_day(year_3000, year_3000 + 60'000));
}
