// The terminal tests measure widths with wcwidth(3) and format local times: pin a UTF-8 locale
// and UTC before any test runs, whatever the environment of the test runner.
#pragma once

#include <clocale>
#include <cstdlib>
#include <ctime>

namespace veil::tui::test {

inline const bool environment_ready = [] {
    std::setlocale(LC_CTYPE, "C.UTF-8");
    ::setenv("TZ", "UTC", 1);
    ::tzset();
    return true;
}();

} // namespace veil::tui::test
