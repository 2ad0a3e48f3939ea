// The help text of `veil`: the whole usage (veil --help) and the part about one verb
// (veil help VERB, veil VERB --help). veil(1) in docs/ says the same at more length.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace veil::tui {

std::string usage_text();
// The usage lines of verb (as typed: "send", "group", "unblock"), or nullopt for no such verb.
std::optional<std::string> verb_help(const std::string& verb);
// Every verb that has help, in the order of usage_text.
std::vector<std::string> verb_names();

} // namespace veil::tui
