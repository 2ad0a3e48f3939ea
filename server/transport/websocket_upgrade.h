// The HTTP side of a connection, answered inside its reactor: Poco's HTTPRequest parses the
// request head a Connection read (from the socket, or from the TLS stream after the handshake),
// and upgrade_answer says what to send back. GET /v1/ws with a valid RFC 6455 upgrade gets the
// 101 and the connection carries WebSocket frames from then on; anything else gets a short
// answer (400 with a sentence, 404, or /healthz's "ok") and the connection closes. Requests for
// /v1/blobs/ never reach it: Connection answers them (blob_http.h).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace Poco::Net {
class HTTPRequest;
} // namespace Poco::Net

namespace veil::relay::transport {

// Why the request is not a valid WebSocket upgrade, or an empty string if it is.
std::string upgrade_problem(const Poco::Net::HTTPRequest& request);

// The largest HTTP request head a connection reads before it gives up.
inline constexpr std::size_t kMaxUpgradeRequestBytes = 16 * 1024;

// The answer to a complete request head (up to and including the blank line): /v1/ws, the
// WebSocket upgrade; /healthz; 404 for anything else; 400 for a malformed request.
struct RawUpgradeAnswer {
    bool upgraded = false; // a 101: the connection continues as a WebSocket
    std::string response;  // the bytes to send (status line, headers, body)
};
RawUpgradeAnswer upgrade_answer(std::string_view head);

} // namespace veil::relay::transport
