// Fuzzes the relay's HTTP side without sockets, in the order Connection::answer_request runs it:
// a request head (at most kMaxUpgradeRequestBytes, ending at its first blank line as the
// connection cuts it) goes to parse_blob_request, and unless it names /v1/blobs/ to
// upgrade_answer, which parses it with Poco's HTTPRequest and checks the RFC 6455 upgrade.
// Every answer must be one complete HTTP/1.1 response head with one of the statuses the relay
// sends, and a 101 only for a request that upgrade_problem accepts.
#include "transport/blob_http.h"
#include "transport/websocket_upgrade.h"
#include "util/log.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

bool starts_with_one_of(const std::string& s, std::initializer_list<std::string_view> prefixes) {
    for (auto p : prefixes)
        if (s.starts_with(p))
            return true;
    return false;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // Refused requests are logged at debug level; keep the fuzzer's output readable.
    veil::log::set_level(veil::log::Level::error);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace veil::relay::transport;
    if (size > kMaxUpgradeRequestBytes)
        return 0;
    std::string_view head(reinterpret_cast<const char*>(data), size);
    // The connection hands over the head up to and including the first blank line.
    if (auto end = head.find("\r\n\r\n"); end != std::string_view::npos)
        head = head.substr(0, end + 4);

    if (auto blob = parse_blob_request(head)) {
        if (!blob_answer(404, "not found\n").starts_with("HTTP/1.1 404 "))
            std::abort();
        return 0;
    }
    const RawUpgradeAnswer answer = upgrade_answer(head);
    if (!answer.response.starts_with("HTTP/1.1 "))
        std::abort();
    if (answer.upgraded != answer.response.starts_with("HTTP/1.1 101 "))
        std::abort();
    if (!starts_with_one_of(answer.response,
                            {"HTTP/1.1 101 ", "HTTP/1.1 200 ", "HTTP/1.1 400 ", "HTTP/1.1 404 "}))
        std::abort();
    if (answer.response.find("\r\n\r\n") == std::string::npos)
        std::abort();
    return 0;
}
