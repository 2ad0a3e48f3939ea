#include "theme.h"

#include <catch2/catch.hpp>

using namespace veil::tui;

TEST_CASE("auto picks 256 or 16 colours from the terminal, or none without colours", "[theme]") {
    CHECK(choose_color_mode(256, nullptr, "auto") == ColorMode::color256);
    CHECK(choose_color_mode(16777216, nullptr, "") == ColorMode::color256);
    CHECK(choose_color_mode(16, nullptr, "auto") == ColorMode::basic16);
    CHECK(choose_color_mode(8, nullptr, "auto") == ColorMode::basic16);
    CHECK(choose_color_mode(0, nullptr, "auto") == ColorMode::mono);
    CHECK(choose_color_mode(-1, nullptr, "auto") == ColorMode::mono);
}

TEST_CASE("NO_COLOR with any non-empty value turns colours off; empty does not", "[theme]") {
    CHECK(choose_color_mode(256, "1", "auto") == ColorMode::mono);
    CHECK(choose_color_mode(256, "false", "auto") == ColorMode::mono);
    CHECK(choose_color_mode(256, "", "auto") == ColorMode::color256);
}

TEST_CASE("an explicit theme wins over NO_COLOR but never over the terminal", "[theme]") {
    CHECK(choose_color_mode(256, "1", "16") == ColorMode::basic16);
    CHECK(choose_color_mode(256, nullptr, "mono") == ColorMode::mono);
    CHECK(choose_color_mode(16, nullptr, "256") == ColorMode::basic16);
    CHECK(choose_color_mode(0, nullptr, "16") == ColorMode::mono);
    CHECK(valid_theme("auto"));
    CHECK_FALSE(valid_theme("solarized"));
}
