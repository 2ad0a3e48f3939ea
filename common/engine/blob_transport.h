// BlobTransport: moves attachment blobs between a file on this device and the relay's HTTP blob
// store (veil.proto, "Attachments"), beside the WebSocket Transport. Blobs are already encrypted
// (crypto/attachment.h) when they are uploaded and still encrypted when they are downloaded: this
// layer never sees a key. common/qt implements it on QNetworkAccessManager; tests may fake it.
//
// Every callback arrives on the transport's thread (the engine's), never inside the call that
// started the transfer. Exactly one Done per transfer; none after cancel().
#pragma once

#include "util/result.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace veil::engine {

class BlobTransport {
public:
    virtual ~BlobTransport() = default;
    // bytes done so far and the total (0 while unknown).
    using Progress = std::function<void(std::uint64_t done, std::uint64_t total)>;
    using Done = std::function<void(Status)>;

    // PUTs `file` as blob `blob_id` with the upload ticket's token. relay_url is the relay's
    // ws:// or wss:// URL; the blob goes to http(s)://host:port/v1/blobs/<blob_id>. Fails with
    // too_large (413), refused (401/403 and other 4xx), disconnected (connection lost, 5xx),
    // io (the file cannot be read). The message is a sentence for people.
    // Returns an id for cancel().
    virtual std::uint64_t upload(const std::string& relay_url, const std::string& blob_id,
                                 const std::string& token, const std::filesystem::path& file,
                                 Progress progress, Done done) = 0;
    // GETs blob `blob_id` into `file` (created or truncated), refusing more than max_bytes: not
    // found for a blob that is gone (expired), too_large when the relay sends more. A failed
    // download leaves no file behind.
    virtual std::uint64_t download(const std::string& relay_url, const std::string& blob_id,
                                   const std::filesystem::path& file, std::uint64_t max_bytes,
                                   Progress progress, Done done) = 0;
    virtual void cancel(std::uint64_t id) = 0;
};

} // namespace veil::engine
