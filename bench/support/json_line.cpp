#include "support/json_line.h"

#include <cmath>
#include <cstdio>

namespace veil::bench {

namespace {

// Keys and the short labels workloads print are ASCII; escaping quotes, backslashes and control
// characters is all JSON asks of them.
std::string quoted(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char escape[8];
            std::snprintf(escape, sizeof escape, "\\u%04x", static_cast<unsigned>(c));
            out += escape;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

} // namespace

JsonLine::JsonLine(std::string_view id)
    : m_body("{\"id\":" + quoted(id)) {}

void JsonLine::key(std::string_view name) {
    m_body += "," + quoted(name) + ":";
}

JsonLine& JsonLine::number(std::string_view name, double value) {
    key(name);
    if (!std::isfinite(value)) {
        m_body += "null";
        return *this;
    }
    // Four significant digits past the point for small figures (milliseconds); whole numbers
    // for rates, where more digits would be noise on a shared machine.
    char text[64];
    if (std::fabs(value) >= 1000)
        std::snprintf(text, sizeof text, "%.0f", value);
    else
        std::snprintf(text, sizeof text, "%.4g", value);
    m_body += text;
    return *this;
}

JsonLine& JsonLine::integer(std::string_view name, std::int64_t value) {
    key(name);
    m_body += std::to_string(value);
    return *this;
}

JsonLine& JsonLine::text(std::string_view name, std::string_view value) {
    key(name);
    m_body += quoted(value);
    return *this;
}

JsonLine& JsonLine::null(std::string_view name) {
    key(name);
    m_body += "null";
    return *this;
}

JsonLine& JsonLine::maybe(std::string_view name, std::optional<double> value) {
    return value ? number(name, *value) : null(name);
}

} // namespace veil::bench
