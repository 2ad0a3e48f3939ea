#include "transport/blob_http.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/String.h>

#include <charconv>
#include <sstream>

namespace veil::relay::transport {
namespace {

using Poco::Net::HTTPRequest;
using Poco::Net::HTTPResponse;

constexpr std::string_view kPrefix = "/v1/blobs/";

BlobRequest::Method method_of(const std::string& method) {
    if (method == HTTPRequest::HTTP_GET)
        return BlobRequest::Method::get;
    if (method == HTTPRequest::HTTP_HEAD)
        return BlobRequest::Method::head;
    if (method == HTTPRequest::HTTP_PUT)
        return BlobRequest::Method::put;
    return BlobRequest::Method::other;
}

// Content-Length must be one plain decimal number (RFC 9110 section 8.6); several headers, or
// one with a list, sign, space or anything else, make the request malformed.
void read_length(const HTTPRequest& request, BlobRequest& out) {
    int seen = 0;
    for (const auto& [name, value] : request) {
        if (Poco::icompare(name, "Content-Length") != 0)
            continue;
        ++seen;
        const std::string text = Poco::trim(value);
        std::uint64_t length = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), length);
        if (text.empty() || ec != std::errc() || end != text.data() + text.size())
            out.bad_length = true;
        else
            out.content_length = length;
    }
    if (seen > 1)
        out.bad_length = true;
}

std::string token_of(const HTTPRequest& request) {
    const std::string auth = Poco::trim(request.get("Authorization", ""));
    const auto space = auth.find(' ');
    if (space == std::string::npos || Poco::icompare(auth.substr(0, space), "Veil") != 0)
        return {};
    return Poco::trim(auth.substr(space + 1));
}

} // namespace

std::optional<BlobRequest> parse_blob_request(std::string_view head) {
    if (head.find(kPrefix) == std::string_view::npos)
        return std::nullopt; // cheap: the path is nowhere in the head
    HTTPRequest request;
    try {
        std::istringstream in{std::string(head)};
        request.read(in);
    } catch (const Poco::Exception&) {
        return std::nullopt;
    }
    const std::string& uri = request.getURI();
    if (uri.compare(0, kPrefix.size(), kPrefix) != 0)
        return std::nullopt;
    BlobRequest out;
    out.method = method_of(request.getMethod());
    out.blob_id = uri.substr(kPrefix.size());
    out.token = token_of(request);
    read_length(request, out);
    out.chunked = request.has("Transfer-Encoding");
    out.expect_continue = Poco::icompare(request.get("Expect", ""), "100-continue") == 0;
    return out;
}

std::string blob_answer(int status, std::string_view body) {
    HTTPResponse response(Poco::Net::HTTPMessage::HTTP_1_1,
                          static_cast<HTTPResponse::HTTPStatus>(status));
    response.setContentType("text/plain; charset=utf-8");
    response.setContentLength64(static_cast<Poco::Int64>(body.size()));
    response.set("Connection", "close");
    if (status == HTTPResponse::HTTP_UNAUTHORIZED)
        response.set("WWW-Authenticate", "Veil");
    std::ostringstream out;
    response.write(out);
    return out.str() + std::string(body);
}

std::string blob_found_head(std::uint64_t size) {
    HTTPResponse response(Poco::Net::HTTPMessage::HTTP_1_1, HTTPResponse::HTTP_OK);
    response.setContentType("application/octet-stream");
    response.setContentLength64(static_cast<Poco::Int64>(size));
    response.set("X-Content-Type-Options", "nosniff");
    response.set("Connection", "close");
    std::ostringstream out;
    response.write(out);
    return out.str();
}

} // namespace veil::relay::transport
