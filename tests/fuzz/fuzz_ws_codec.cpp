// Fuzzes the RFC 6455 frame decoder (protocol/ws_codec.h) as the relay runs it: one Decoder per
// connection, fed the socket's bytes in whatever chunks arrive. The first input byte picks the
// role and the message cap; the next bytes pick the chunk sizes, the rest is the stream. The same
// stream fed whole must give the same events and the same violation: the split must not matter.
#include "protocol/ws_codec.h"

#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

namespace {

using namespace veil::protocol::ws;

struct Outcome {
    std::vector<Event> events;
    bool failed = false;
    std::uint16_t code = 0;
};

bool same(const Outcome& a, const Outcome& b) {
    if (a.failed != b.failed || a.code != b.code || a.events.size() != b.events.size())
        return false;
    for (std::size_t i = 0; i < a.events.size(); ++i) {
        const auto& x = a.events[i];
        const auto& y = b.events[i];
        if (x.opcode != y.opcode || x.payload != y.payload || x.close_code != y.close_code)
            return false;
    }
    return true;
}

Outcome run(Role role, std::size_t cap, std::span<const std::uint8_t> stream,
            std::span<const std::uint8_t> chunk_sizes) {
    Decoder decoder(role, cap);
    Outcome outcome;
    std::size_t at = 0;
    std::size_t next_size = 0;
    while (at < stream.size()) {
        std::size_t n = stream.size() - at;
        if (!chunk_sizes.empty()) {
            n = std::min<std::size_t>(n, chunk_sizes[next_size++ % chunk_sizes.size()] + 1u);
        }
        auto fed = decoder.feed(stream.subspan(at, n), outcome.events);
        at += n;
        if (!fed) {
            const Violation* v = decoder.violation();
            if (v == nullptr)
                std::abort(); // a failure must leave its violation behind
            outcome.failed = true;
            outcome.code = v->code;
            // A failed decoder stays failed.
            std::vector<Event> more;
            if (decoder.feed(stream.subspan(at), more) || !more.empty())
                std::abort();
            break;
        }
        if (decoder.buffered_bytes() > cap + 14 + 125)
            std::abort(); // never more than the cap (plus a header and a control frame)
    }
    // Data messages stay within the cap; control frames within 125 bytes, whatever the cap.
    for (const auto& e : outcome.events) {
        const bool control =
            e.opcode == Opcode::close || e.opcode == Opcode::ping || e.opcode == Opcode::pong;
        if (e.payload.size() > (control ? 125 : cap))
            std::abort();
    }
    return outcome;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2)
        return 0;
    const Role role = (data[0] & 1) ? Role::client : Role::server;
    // Small caps reach the 1009 paths quickly; the largest is the relay's frame limit.
    static constexpr std::size_t kCaps[] = {0, 1, 125, 126, 1000, 65536, 1280 * 1024, 16};
    const std::size_t cap = kCaps[(data[0] >> 1) & 7];
    const std::size_t chunk_count = data[1] & 15;
    if (size < 2 + chunk_count)
        return 0;
    const std::span<const std::uint8_t> chunk_sizes(data + 2, chunk_count);
    const std::span<const std::uint8_t> stream(data + 2 + chunk_count, size - 2 - chunk_count);

    const Outcome split = run(role, cap, stream, chunk_sizes);
    const Outcome whole = run(role, cap, stream, {});
    if (!same(split, whole))
        std::abort();
    return 0;
}
