#include "util/look_alike.h"

#include <algorithm>

namespace veil::look_alike {

std::string name_skeleton(std::string_view name) {
    std::string lower;
    for (char c : name) {
        c = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
        if (c == '_' || c == '.' || c == '-')
            continue;
        lower += c;
    }
    std::string out;
    for (std::size_t i = 0; i < lower.size(); ++i) {
        std::string_view two = std::string_view(lower).substr(i, 2);
        if (two == "rn") {
            out += 'm';
            ++i;
        } else if (two == "vv") {
            out += 'w';
            ++i;
        } else if (two == "cl") {
            out += 'd';
            ++i;
        } else {
            char c = lower[i];
            out += c == '0' ? 'o' : (c == '1' || c == 'i') ? 'l' : c == '5' ? 's' : c;
        }
    }
    return out;
}

std::vector<std::string> look_alikes(std::string_view name, const std::vector<std::string>& known) {
    std::vector<std::string> out;
    std::string skeleton = name_skeleton(name);
    for (const auto& other : known)
        if (other != name && name_skeleton(other) == skeleton &&
            std::find(out.begin(), out.end(), other) == out.end())
            out.push_back(other);
    return out;
}

} // namespace veil::look_alike
