#include "qr_text.h"
#include "test_environment.h"
#include "text_width.h"

#include "crypto/link.h"
#include "crypto/provider.h"

#include <catch2/catch.hpp>

#include <qrencode.h>

#include <cstdlib>
#include <string>
#include <vector>

using namespace veil::tui;

namespace {

constexpr int kQuiet = 2;

// Dark (true) and light modules, row by row, as read back from drawn lines.
using Grid = std::vector<std::vector<bool>>;

// The symbol's width as libqrencode makes it for the same payload and level.
int symbol_width(const std::string& payload) {
    QRcode* code = QRcode_encodeString(payload.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    REQUIRE(code != nullptr);
    int width = code->width;
    QRcode_free(code);
    return width;
}

// Reads half-block lines back into modules: two rows per line, inked means dark.
Grid read_half_blocks(const std::vector<std::string>& lines) {
    Grid grid;
    for (const std::string& line : lines) {
        std::vector<bool> top;
        std::vector<bool> bottom;
        for (std::size_t i = 0; i < line.size();) {
            char32_t cp;
            i += utf8_next(line, i, cp);
            REQUIRE((cp == U' ' || cp == U'\u2580' || cp == U'\u2584' || cp == U'\u2588'));
            top.push_back(cp == U'\u2580' || cp == U'\u2588');
            bottom.push_back(cp == U'\u2584' || cp == U'\u2588');
        }
        grid.push_back(top);
        grid.push_back(bottom);
    }
    return grid;
}

Grid read_ascii(const std::vector<std::string>& lines) {
    Grid grid;
    for (const std::string& line : lines) {
        REQUIRE(line.size() % 2 == 0);
        std::vector<bool> row;
        for (std::size_t i = 0; i < line.size(); i += 2) {
            std::string cell = line.substr(i, 2);
            REQUIRE((cell == "##" || cell == "  "));
            row.push_back(cell == "##");
        }
        grid.push_back(row);
    }
    return grid;
}

// A finder pattern (ISO/IEC 18004, 6.3.3) with its top-left module at (top, left): a dark 7x7
// ring, a light ring, a dark 3x3 centre, and the light separator around it.
bool finder_at(const Grid& grid, int top, int left) {
    for (int dy = -1; dy <= 7; ++dy) {
        for (int dx = -1; dx <= 7; ++dx) {
            int ring = std::max(std::abs(dy - 3), std::abs(dx - 3));
            bool dark = ring != 2 && ring != 4;
            if (grid.at(static_cast<std::size_t>(top + dy))
                    .at(static_cast<std::size_t>(left + dx)) != dark)
                return false;
        }
    }
    return true;
}

void check_symbol(const Grid& grid, int width) {
    int size = width + 2 * kQuiet;
    REQUIRE(grid.size() == static_cast<std::size_t>(size));
    for (const auto& row : grid)
        REQUIRE(row.size() == static_cast<std::size_t>(size));
    CHECK(finder_at(grid, kQuiet, kQuiet));
    CHECK(finder_at(grid, kQuiet, kQuiet + width - 7));
    CHECK(finder_at(grid, kQuiet + width - 7, kQuiet));
    CHECK_FALSE(finder_at(grid, kQuiet + width - 7, kQuiet + width - 7));
    for (int i = 0; i < size; ++i) {
        for (int q = 0; q < kQuiet; ++q) { // the quiet zone on all four sides is light
            auto i_ = static_cast<std::size_t>(i);
            CHECK_FALSE(grid[static_cast<std::size_t>(q)][i_]);
            CHECK_FALSE(grid[static_cast<std::size_t>(size - 1 - q)][i_]);
            CHECK_FALSE(grid[i_][static_cast<std::size_t>(q)]);
            CHECK_FALSE(grid[i_][static_cast<std::size_t>(size - 1 - q)]);
        }
    }
}

Grid inverted(Grid grid) {
    for (auto& row : grid)
        row.flip();
    return grid;
}

std::string link_uri() {
    veil::Bytes channel = veil::crypto::random_bytes(veil::crypto::kLinkChannelBytes);
    return veil::crypto::link_code_uri(channel, veil::crypto::new_link_secret());
}

} // namespace

TEST_CASE("a QR code in half blocks has its finder patterns in three corners and a quiet zone",
          "[qr_text]") {
    std::string payload = "veil test payload 0123456789";
    int width = symbol_width(payload);
    auto lines = qr_text_lines(payload);
    REQUIRE(lines.size() == static_cast<std::size_t>((width + 2 * kQuiet + 1) / 2));

    Grid grid = read_half_blocks(lines);
    // The symbol has an odd number of rows, so the last line's lower half is blank.
    for (bool module : grid.back())
        CHECK_FALSE(module);
    grid.pop_back();
    check_symbol(grid, width);
}

TEST_CASE("every half-block line is as wide as the symbol and its quiet zone", "[qr_text]") {
    for (std::string payload : {std::string("x"), link_uri(), std::string(300, 'a')}) {
        int width = symbol_width(payload);
        for (const std::string& line : qr_text_lines(payload))
            CHECK(text_width(line) == width + 2 * kQuiet);
    }
}

TEST_CASE("a link code's QR payload fits a version 2 symbol", "[qr_text]") {
    // 25 x 25 modules: the upper-case payload goes whole in QR's alphanumeric mode.
    CHECK(symbol_width(link_uri()) == 25);
    CHECK(qr_text_lines(link_uri()).size() == 15);
}

TEST_CASE("the ASCII QR code uses two characters per module and one line per module row",
          "[qr_text]") {
    std::string payload = link_uri();
    int width = symbol_width(payload);
    auto lines = qr_ascii_lines(payload);
    REQUIRE(lines.size() == static_cast<std::size_t>(width + 2 * kQuiet));
    for (const std::string& line : lines)
        CHECK(line.size() == static_cast<std::size_t>(2 * (width + 2 * kQuiet)));
    Grid grid = read_ascii(lines);
    check_symbol(grid, width);
    // Both drawings show the same modules.
    Grid blocks = read_half_blocks(qr_text_lines(payload));
    blocks.pop_back();
    CHECK(blocks == grid);
}

TEST_CASE("light-module ink draws exactly the modules dark-module ink leaves blank", "[qr_text]") {
    std::string payload = link_uri();
    Grid dark = read_ascii(qr_ascii_lines(payload, QrInk::dark_modules));
    Grid light = read_ascii(qr_ascii_lines(payload, QrInk::light_modules));
    CHECK(light == inverted(dark));

    Grid blocks = read_half_blocks(qr_text_lines(payload, QrInk::light_modules));
    for (bool module : blocks.back()) // outside the code, not part of the quiet zone
        CHECK_FALSE(module);
    blocks.pop_back();
    CHECK(blocks == light);
}

TEST_CASE("an empty payload or one too large for any QR version draws nothing", "[qr_text]") {
    CHECK(qr_text_lines("").empty());
    CHECK(qr_ascii_lines("").empty());
    CHECK(qr_text_lines(std::string(3000, 'x')).empty());
    CHECK(qr_ascii_lines(std::string(100000, 'x')).empty());
}

TEST_CASE("a payload holding a NUL byte is drawn whole rather than cut at the NUL", "[qr_text]") {
    auto cut = qr_ascii_lines("a");
    auto whole = qr_ascii_lines(std::string("a\0b", 3));
    REQUIRE_FALSE(whole.empty());
    CHECK(whole != cut);
    check_symbol(read_ascii(whole), static_cast<int>(whole.size()) - 2 * kQuiet);
}
