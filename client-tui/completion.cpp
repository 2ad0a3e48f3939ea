#include "completion.h"

#include <algorithm>

namespace veil::tui {
namespace {

char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), text.begin(),
                      [](char a, char b) { return lower(a) == lower(b); });
}

std::vector<std::string_view> words_before(std::string_view line) {
    std::vector<std::string_view> words;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && line[i] == ' ')
            ++i;
        std::size_t start = i;
        while (i < line.size() && line[i] != ' ')
            ++i;
        if (i > start)
            words.push_back(line.substr(start, i - start));
    }
    return words;
}

// The words that may follow `before` (the words already typed, the command first).
std::vector<std::string> candidates(const std::vector<std::string_view>& before,
                                    const std::vector<std::string>& names) {
    if (before.empty())
        return command_names();
    std::string_view verb = before.front();
    std::size_t position = before.size(); // 1: the first argument
    if (verb == "/group" && position == 1)
        return {"add",     "demote",  "describe", "leave", "members",
                "picture", "promote", "remove",   "rename"};
    if (verb == "/set" && position == 1)
        return {"editing", "mouse", "notify", "readreceipts", "theme"};
    if (verb == "/set" && position == 2) {
        std::string_view key = before[1];
        if (key == "editing")
            return {"emacs", "vi"};
        if (key == "mouse" || key == "readreceipts")
            return {"off", "on"};
        if (key == "theme")
            return {"16", "256", "auto", "mono"};
        if (key == "notify")
            return {"all", "none", "off", "on", "sender"};
        return {};
    }
    if (verb == "/notify" && position == 1)
        return {"all", "none", "off", "on", "sender"};
    if (verb == "/readreceipts" && position == 1)
        return {"off", "on"};
    if (verb == "/timer" && position == 1)
        return {"1d", "1h", "1w", "30s", "5m", "off"};
    if (verb == "/verify" && position == 1)
        return {"--accept", "--clear", "--mark"};
    if (verb == "/encryption" && position == 1)
        return {"renew", "restart"};
    if (verb == "/link" && position >= 2)
        return {"--history"};
    if (verb == "/devices" && position == 1)
        return {"remove"};
    const std::string_view takes_names[] = {"/add", "/open", "/block", "/unblock", "/group"};
    if (std::find(std::begin(takes_names), std::end(takes_names), verb) == std::end(takes_names))
        return {};
    std::vector<std::string> out;
    for (const auto& name : names)
        if (!name.empty() && name.find(' ') == std::string::npos)
            out.push_back(name);
    return out;
}

} // namespace

const std::vector<std::string>& command_names() {
    static const std::vector<std::string> names = {
        "/add",    "/block",  "/blocked", "/delete", "/devices",      "/edit",   "/encryption",
        "/file",   "/find",   "/full",    "/group",  "/help",         "/keys",   "/link",
        "/notify", "/open",   "/quit",    "/react",  "/readreceipts", "/reply",  "/resend",
        "/save",   "/search", "/set",     "/timer",  "/unblock",      "/verify",
    };
    return names;
}

Completion complete_at(std::string_view line, std::size_t cursor,
                       const std::vector<std::string>& names) {
    Completion result;
    cursor = std::min(cursor, line.size());
    if (line.empty() || line.front() != '/' || (line.size() > 1 && line[1] == '/'))
        return result;
    std::size_t start = line.rfind(' ', cursor == 0 ? 0 : cursor - 1);
    start = (start == std::string_view::npos || start >= cursor) ? 0 : start + 1;
    if (cursor > 0 && line[cursor - 1] == ' ')
        start = cursor;
    result.start = start;
    result.end = cursor;
    std::string_view prefix = line.substr(start, cursor - start);
    for (auto& word : candidates(words_before(line.substr(0, start)), names))
        if (starts_with_ignoring_case(word, prefix))
            result.matches.push_back(std::move(word));
    std::sort(result.matches.begin(), result.matches.end());
    result.matches.erase(std::unique(result.matches.begin(), result.matches.end()),
                         result.matches.end());
    return result;
}

} // namespace veil::tui
