#include "core/store_rules.h"

#include <algorithm>

namespace veil::relay {

std::optional<std::vector<std::int64_t>> copy_rows_of(const NewEnvelope& env,
                                                      std::int64_t to_account,
                                                      std::optional<std::int64_t> from_account,
                                                      const ActiveRows& active_rows) {
    const bool to_self = env.to_username == env.from_username;
    if (to_self && env.sync)
        return std::nullopt;
    std::vector<DeviceSlot> expected;
    active_rows(to_account, env.to_username, to_self ? env.from_device_id : 0, expected);
    if (env.sync && from_account)
        active_rows(*from_account, env.from_username, env.from_device_id, expected);
    if (expected.size() != env.copies.size())
        return std::nullopt;
    auto by_address = [](const DeviceSlot& a, const DeviceSlot& b) {
        return a.address < b.address;
    };
    std::sort(expected.begin(), expected.end(), by_address);
    std::vector<std::int64_t> rows;
    rows.reserve(env.copies.size());
    for (const auto& copy : env.copies) {
        const DeviceSlot key{{copy.username, copy.device_id}, 0};
        auto it = std::lower_bound(expected.begin(), expected.end(), key, by_address);
        if (it == expected.end() || it->address != key.address || it->row == 0)
            return std::nullopt;
        rows.push_back(it->row);
        it->row = 0; // each device once
    }
    return rows;
}

std::string join_names(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) {
        if (!out.empty())
            out.push_back('\n');
        out += n;
    }
    return out;
}

std::vector<std::string> split_names(const std::string& joined) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < joined.size()) {
        auto end = joined.find('\n', start);
        if (end == std::string::npos)
            end = joined.size();
        out.push_back(joined.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

} // namespace veil::relay
