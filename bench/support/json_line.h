// JsonLine: the one line of JSON a workload prints on stdout. Keys keep the order they were
// added in; numbers are written with enough digits for a benchmark figure, and null stands for a
// figure that does not exist yet (the reason goes to stderr and the README).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace veil::bench {

class JsonLine {
public:
    explicit JsonLine(std::string_view id);

    JsonLine& number(std::string_view key, double value);
    JsonLine& integer(std::string_view key, std::int64_t value);
    JsonLine& text(std::string_view key, std::string_view value);
    JsonLine& null(std::string_view key);
    // A number, or null when value is empty.
    JsonLine& maybe(std::string_view key, std::optional<double> value);

    // The finished object, without a trailing newline.
    std::string str() const { return m_body + "}"; }

private:
    void key(std::string_view name);
    std::string m_body;
};

} // namespace veil::bench
