// The interactive terminal app (ncursesw): conversation list, message pane, input line and
// status line over one ClientSession. main.cpp parses the command line and calls run_tui when
// no verb is given.
#pragma once

#include "util/secret_bytes.h"

#include <filesystem>
#include <string>

namespace veil::tui {

struct TuiOptions {
    std::filesystem::path profile;  // existing profile folder
    std::string relay_url;          // empty: the one stored in the profile
    std::string open_peer;          // conversation to open first (empty: the most recent)
    std::filesystem::path log_file; // the app logs here, never to the screen
};

// Runs until the person quits (/quit or Ctrl-Q). passphrase has already been read.
// Returns a process exit code.
int run_tui(const TuiOptions& options, const SecretBytes& passphrase);

} // namespace veil::tui
