// The HTTP side of attachments (veil.proto, "Attachments"), parsed inside the reactor like the
// WebSocket upgrade: PUT /v1/blobs/<id> uploads with a ticket's token, GET and HEAD read a blob.
// Connection drives the transfer; this file only reads request heads and writes answers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace veil::relay::transport {

struct BlobRequest {
    enum class Method { get, head, put, other };
    Method method = Method::other;
    std::string blob_id; // as the path names it; BlobStore::valid_id() decides whether it is one
    std::string token;   // from "Authorization: Veil <token>"; empty if missing
    std::optional<std::uint64_t> content_length;
    bool bad_length = false; // a Content-Length that is no plain number, or several of them
    bool chunked = false;    // any Transfer-Encoding
    bool expect_continue = false;
};

// The request if the head (up to and including its blank line) asks for /v1/blobs/...;
// nullopt for any other path, or a head that does not parse (upgrade_answer answers those).
std::optional<BlobRequest> parse_blob_request(std::string_view head);

// A complete answer with a short text body, closing the connection.
std::string blob_answer(int status, std::string_view body);
// The head of a 200 to GET or HEAD of a blob of size bytes; the body follows for GET.
std::string blob_found_head(std::uint64_t size);

} // namespace veil::relay::transport
