// Saving a received file where the person asks, never over an existing file. The file name
// comes from another device: it is reduced to a plain name (no folders, no control characters,
// no leading dots) before it names anything on this one.
#pragma once

#include "util/result.h"

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace veil::tui {

// The sender's file name made safe to create in a folder of ours; "attachment" when nothing is
// left of it.
std::string safe_file_name(std::string_view sender_name);

// Where "/save REF [PATH]" writes: typed empty -> cwd/name; a leading "~/" is home; an existing
// folder or a path ending in '/' -> that folder/name; anything else is the file itself, relative
// to cwd. name is safe_file_name of the sender's name.
std::filesystem::path save_target(const std::string& typed, const std::filesystem::path& cwd,
                                  const std::filesystem::path& home, const std::string& name);

// Calls write with a fresh temporary path in target's folder, then gives the result target's
// name only if nothing is there yet (a hard link, which never replaces a file). Fails with
// already_exists when target exists, before or after writing; the temporary file is always
// removed. write's error is returned as is.
Status save_new_file(const std::filesystem::path& target,
                     const std::function<Status(const std::filesystem::path&)>& write);

} // namespace veil::tui
