// LogCapture: records every log line while it lives, at debug and up; afterwards the level goes
// back to info and lines go to stderr again. Tests only.
#pragma once

#include "util/log.h"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace veil::crypto::testing {

struct LogLine {
    log::Level level;
    std::string subsystem;
    std::string message;
};

class LogCapture {
public:
    LogCapture()
        : m_lines(std::make_shared<std::vector<LogLine>>()) {
        auto lines = m_lines;
        log::set_sink([lines](log::Level level, std::string_view sub, std::string_view msg) {
            lines->push_back(LogLine{level, std::string(sub), std::string(msg)});
        });
        log::set_level(log::Level::debug);
    }
    ~LogCapture() {
        log::set_level(log::Level::info);
        log::set_sink([](log::Level, std::string_view sub, std::string_view msg) {
            std::fprintf(stderr, "[%.*s] %.*s\n", static_cast<int>(sub.size()), sub.data(),
                         static_cast<int>(msg.size()), msg.data());
        });
    }
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;

    const std::vector<LogLine>& lines() const { return *m_lines; }

    bool contains(std::string_view needle) const {
        for (const auto& line : *m_lines)
            if (line.message.find(needle) != std::string::npos)
                return true;
        return false;
    }

private:
    std::shared_ptr<std::vector<LogLine>> m_lines;
};

} // namespace veil::crypto::testing
