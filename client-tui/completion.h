// Tab completion on the command line: what the word under the cursor of a line starting with
// "/" can become. The first word completes to a command; later words to what that command
// takes: a contact or group name, a /group or /set word, a setting's value. Plain C++.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace veil::tui {

struct Completion {
    std::size_t start = 0; // the byte range of the word being completed
    std::size_t end = 0;
    std::vector<std::string> matches; // sorted, each once; empty when nothing fits
};

// names: the contacts and group names the open account knows (names with spaces are skipped:
// commands take one word). A line that is not a command (no "/" first, or "//") completes
// nothing. Matching ignores ASCII case.
Completion complete_at(std::string_view line, std::size_t cursor,
                       const std::vector<std::string>& names);

// Every command, with its "/".
const std::vector<std::string>& command_names();

} // namespace veil::tui
