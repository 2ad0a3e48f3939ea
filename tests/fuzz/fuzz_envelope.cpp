// Fuzzes the wire envelope decoder: protocol::decode_envelope (the client's parse, version and
// body checks and field limits) and protocol::validate on whatever protobuf accepts (the check the
// relay applies to every request after its own parse). A decoded envelope must survive
// re-encoding: encode, decode again, and the second decode must succeed with the same bytes.
#include "protocol/envelope_codec.h"

#include <google/protobuf/stubs/logging.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // protobuf logs every string field that is not UTF-8; the fuzzer makes millions of them.
    google::protobuf::SetLogHandler(nullptr);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> frame(data, size);

    auto decoded = veil::protocol::decode_envelope(frame);
    if (decoded) {
        (void)veil::protocol::body_name(*decoded);
        const auto encoded = veil::protocol::encode_envelope(*decoded);
        auto again = veil::protocol::decode_envelope(encoded);
        if (!again)
            std::abort(); // a valid envelope that does not survive its own encoding
        const auto encoded_again = veil::protocol::encode_envelope(*again);
        if (encoded_again != encoded)
            std::abort();
    }

    // The relay's path: its own parse, then validate whatever the version says.
    if (size <= veil::protocol::kMaxFrameBytes) {
        veil::wire::Envelope request;
        if (request.ParseFromArray(data, static_cast<int>(size))) {
            (void)veil::protocol::validate(request);
            (void)veil::protocol::body_name(request);
            if (request.has_group_update_request())
                (void)veil::protocol::validate_group_change(
                    request.group_update_request().change());
        }
    }
    return 0;
}
