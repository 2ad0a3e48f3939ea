#include "protocol/padding.h"

#include "protocol/limits.h"

namespace veil::protocol {

Bytes pad(std::span<const std::uint8_t> content) {
    std::size_t total = (content.size() / kPaddingBlock + 1) * kPaddingBlock;
    Bytes out(content.begin(), content.end());
    out.push_back(0x80);
    out.resize(total, 0);
    return out;
}

Result<Bytes> unpad(std::span<const std::uint8_t> padded) {
    if (padded.empty() || padded.size() % kPaddingBlock != 0)
        return make_error(Errc::invalid_message, "padded content has an invalid length");
    std::size_t i = padded.size();
    while (i > 0 && padded[i - 1] == 0)
        --i;
    if (i == 0 || padded[i - 1] != 0x80)
        return make_error(Errc::invalid_message, "padded content has no terminator");
    return Bytes(padded.begin(), padded.begin() + static_cast<std::ptrdiff_t>(i - 1));
}

} // namespace veil::protocol
