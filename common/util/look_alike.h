// Usernames that a person would read as the same name: "b0b" and "bob", "rnary" and "mary",
// "al1ce" and "alice". Usernames are a-z 0-9 _ . - (the relay refuses anything else), so the
// confusions are those of these letters in a terminal's or a desktop's font. Shared by every UI,
// which flags a contact whose name looks like another one's. Plain C++; any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace veil::look_alike {

// The name with confusable letters folded together (0 and o; 1, i and l; rn and m; vv and w;
// cl and d; 5 and s) and the separators _ . - dropped. Two names with the same skeleton look
// alike.
std::string name_skeleton(std::string_view name);

// The names of `known` other than `name` itself that look like it, in their order, each once.
std::vector<std::string> look_alikes(std::string_view name, const std::vector<std::string>& known);

} // namespace veil::look_alike
