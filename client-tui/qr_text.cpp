#include "qr_text.h"

#include <qrencode.h>

#include <memory>
#include <string>

namespace veil::tui {
namespace {

constexpr std::size_t kQuietModules = 2;
// More than the largest QR symbol holds (2953 bytes, version 40 at level L); also keeps the
// size within libqrencode's int.
constexpr std::size_t kMaxPayloadBytes = 4096;

struct QrFree {
    void operator()(QRcode* code) const { QRcode_free(code); }
};
using QrPtr = std::unique_ptr<QRcode, QrFree>;

// The symbol and its quiet zone, row by row; true is a dark module.
using Modules = std::vector<std::vector<bool>>;

QrPtr encode(std::string_view payload) {
    if (payload.empty() || payload.size() > kMaxPayloadBytes)
        return nullptr;
    // QRcode_encodeString reads a C string and picks the best mode for each stretch of it;
    // a payload holding NUL has to go whole in 8-bit mode.
    if (payload.find('\0') != std::string_view::npos)
        return QrPtr(QRcode_encodeData(static_cast<int>(payload.size()),
                                       reinterpret_cast<const unsigned char*>(payload.data()), 0,
                                       QR_ECLEVEL_M));
    std::string text(payload);
    return QrPtr(QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1));
}

Modules modules_of(std::string_view payload) {
    QrPtr code = encode(payload);
    if (!code)
        return {};
    auto width = static_cast<std::size_t>(code->width);
    Modules rows(width + 2 * kQuietModules, std::vector<bool>(width + 2 * kQuietModules, false));
    for (std::size_t y = 0; y < width; ++y) {
        for (std::size_t x = 0; x < width; ++x) // bit 0 of each byte: dark
            rows[y + kQuietModules][x + kQuietModules] = (code->data[y * width + x] & 1) != 0;
    }
    return rows;
}

// Whether the module at (row, column) is drawn in the foreground colour. Rows past the end
// (the lower half of the last half-block row) are outside the code and stay blank.
bool inked(const Modules& rows, std::size_t row, std::size_t column, QrInk ink) {
    if (row >= rows.size())
        return false;
    return rows[row][column] == (ink == QrInk::dark_modules);
}

const char* half_block(bool top, bool bottom) {
    if (top)
        return bottom ? "\xE2\x96\x88" : "\xE2\x96\x80"; // U+2588 FULL, U+2580 UPPER HALF
    return bottom ? "\xE2\x96\x84" : " ";                // U+2584 LOWER HALF BLOCK
}

} // namespace

std::vector<std::string> qr_text_lines(std::string_view payload, QrInk ink) {
    Modules rows = modules_of(payload);
    std::vector<std::string> lines;
    for (std::size_t y = 0; y < rows.size(); y += 2) {
        std::string line;
        for (std::size_t x = 0; x < rows[y].size(); ++x)
            line += half_block(inked(rows, y, x, ink), inked(rows, y + 1, x, ink));
        lines.push_back(std::move(line));
    }
    return lines;
}

std::vector<std::string> qr_ascii_lines(std::string_view payload, QrInk ink) {
    Modules rows = modules_of(payload);
    std::vector<std::string> lines;
    for (std::size_t y = 0; y < rows.size(); ++y) {
        std::string line;
        for (std::size_t x = 0; x < rows[y].size(); ++x)
            line += inked(rows, y, x, ink) ? "##" : "  ";
        lines.push_back(std::move(line));
    }
    return lines;
}

} // namespace veil::tui
