#include "transport/websocket_upgrade.h"

#include "protocol/ws_codec.h"
#include "util/log.h"

#include <Poco/Buffer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/HTTPServerSession.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/String.h>
#include <Poco/StringTokenizer.h>

#include <fcntl.h>

namespace veil::relay::transport {
namespace {

using Poco::Net::HTTPResponse;

constexpr std::string_view kLog = "net";

// True if the comma-separated header value lists token (case-insensitive).
bool lists_token(const std::string& value, const std::string& token) {
    Poco::StringTokenizer tokens(
        value, ",", Poco::StringTokenizer::TOK_TRIM | Poco::StringTokenizer::TOK_IGNORE_EMPTY);
    for (const auto& t : tokens)
        if (Poco::icompare(t, token) == 0)
            return true;
    return false;
}

// A Sec-WebSocket-Key is the base64 of 16 bytes: 22 characters and "==".
bool plausible_key(const std::string& key) {
    if (key.size() != 24 || key.compare(22, 2, "==") != 0)
        return false;
    for (std::size_t i = 0; i < 22; ++i) {
        const char c = key[i];
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                        (c >= '0' && c <= '9') || c == '+' || c == '/';
        if (!ok)
            return false;
    }
    return true;
}

void refuse(Poco::Net::HTTPServerResponse& response, const std::string& why) {
    const std::string body = "bad WebSocket upgrade: " + why + "\n";
    response.setStatusAndReason(HTTPResponse::HTTP_BAD_REQUEST);
    response.set("Sec-WebSocket-Version", "13");
    response.setContentType("text/plain; charset=utf-8");
    response.setContentLength(static_cast<std::streamsize>(body.size()));
    response.send() << body;
}

} // namespace

std::string upgrade_problem(const Poco::Net::HTTPServerRequest& request) {
    if (request.getMethod() != Poco::Net::HTTPRequest::HTTP_GET)
        return "the method must be GET";
    if (!lists_token(request.get("Upgrade", ""), "websocket"))
        return "Upgrade: websocket is missing";
    if (!lists_token(request.get("Connection", ""), "upgrade"))
        return "Connection: upgrade is missing";
    if (request.get("Sec-WebSocket-Version", "") != "13")
        return "only Sec-WebSocket-Version 13 is supported";
    if (!plausible_key(request.get("Sec-WebSocket-Key", "")))
        return "Sec-WebSocket-Key is missing or malformed";
    return {};
}

void WebSocketUpgrade::handleRequest(Poco::Net::HTTPServerRequest& request,
                                     Poco::Net::HTTPServerResponse& response) {
    if (auto problem = upgrade_problem(request); !problem.empty()) {
        log::debug(kLog, "WebSocket upgrade refused: " + problem);
        refuse(response, problem);
        return;
    }
    response.setStatusAndReason(HTTPResponse::HTTP_SWITCHING_PROTOCOLS);
    response.set("Upgrade", "websocket");
    response.set("Connection", "Upgrade");
    response.set("Sec-WebSocket-Accept",
                 protocol::ws::accept_key(request.get("Sec-WebSocket-Key")));
    response.send().flush();

    auto& impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl&>(request);
    Poco::Buffer<char> early(0);
    impl.session().drainBuffer(early); // a client that did not wait for the 101
    Poco::Net::StreamSocket socket = impl.detachSocket();
    const int fd = socket.impl()->sockfd();
    if (!m_deadlines.disarm(fd))
        return; // the deadline passed meanwhile and the socket is shut down
    // Poco closes its descriptor when the last StreamSocket goes; the reactor owns a duplicate.
    const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0) {
        log::warn(kLog, "no file descriptor left for an upgraded connection");
        return;
    }
    const auto* begin = reinterpret_cast<const std::uint8_t*>(early.begin());
    m_pool.adopt(copy, Bytes(begin, begin + early.size()));
}

} // namespace veil::relay::transport
