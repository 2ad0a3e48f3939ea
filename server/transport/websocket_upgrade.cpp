#include "transport/websocket_upgrade.h"

#include "protocol/ws_codec.h"
#include "util/log.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/String.h>
#include <Poco/StringTokenizer.h>

#include <sstream>

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

std::string plain_answer(HTTPResponse::HTTPStatus status, const std::string& body) {
    HTTPResponse response(Poco::Net::HTTPMessage::HTTP_1_1, status);
    response.setContentType("text/plain; charset=utf-8");
    response.setContentLength(static_cast<std::streamsize>(body.size()));
    response.set("Connection", "close");
    std::ostringstream out;
    response.write(out);
    return out.str() + body;
}

void accept_upgrade(HTTPResponse& response, const std::string& key) {
    response.setStatusAndReason(HTTPResponse::HTTP_SWITCHING_PROTOCOLS);
    response.set("Upgrade", "websocket");
    response.set("Connection", "Upgrade");
    response.set("Sec-WebSocket-Accept", protocol::ws::accept_key(key));
}

std::string refuse_upgrade(HTTPResponse& response, const std::string& why) {
    std::string body = "bad WebSocket upgrade: " + why + "\n";
    response.setStatusAndReason(HTTPResponse::HTTP_BAD_REQUEST);
    response.set("Sec-WebSocket-Version", "13");
    response.setContentType("text/plain; charset=utf-8");
    response.setContentLength(static_cast<std::streamsize>(body.size()));
    return body;
}

} // namespace

RawUpgradeAnswer upgrade_answer(std::string_view head) {
    Poco::Net::HTTPRequest request;
    try {
        std::istringstream in{std::string(head)};
        request.read(in);
    } catch (const Poco::Exception& e) {
        log::debug(kLog, "malformed HTTP request: " + e.displayText());
        return {false, plain_answer(HTTPResponse::HTTP_BAD_REQUEST, "malformed request\n")};
    }
    const std::string& uri = request.getURI();
    if (uri == "/healthz" && request.getMethod() == Poco::Net::HTTPRequest::HTTP_GET)
        return {false, plain_answer(HTTPResponse::HTTP_OK, "ok")};
    if (uri != "/v1/ws")
        return {false, plain_answer(HTTPResponse::HTTP_NOT_FOUND, "not found\n")};
    HTTPResponse response(Poco::Net::HTTPMessage::HTTP_1_1, HTTPResponse::HTTP_OK);
    std::ostringstream out;
    if (auto problem = upgrade_problem(request); !problem.empty()) {
        log::debug(kLog, "WebSocket upgrade refused: " + problem);
        const std::string body = refuse_upgrade(response, problem);
        response.set("Connection", "close");
        response.write(out);
        return {false, out.str() + body};
    }
    accept_upgrade(response, request.get("Sec-WebSocket-Key"));
    response.write(out);
    return {true, out.str()};
}

std::string upgrade_problem(const Poco::Net::HTTPRequest& request) {
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

} // namespace veil::relay::transport
