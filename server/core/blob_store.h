// BlobStore: attachments as opaque blobs on the relay's disk (veil.proto, "Attachments"), and
// the upload tickets that let an authenticated device put one there over plain HTTP.
//
// Layout: DATA_DIR/blobs/<blob_id> for every stored blob, DATA_DIR/blobs/tmp/ for uploads under
// way. An upload is written to a temp file, fsync'd, given the relay clock's time as its mtime
// and renamed into place (never over an existing blob), then the folder is fsync'd: a blob that
// can be read is complete and durable. The mtime is the blob's creation time for the retention
// purge; it is set from the relay's clock, not the file system's, and travels with the file, so
// no second store has to agree with the folder after a crash.
//
// Tickets live in memory (one relay node): a ticket names a random blob id, a random one-time
// token, the exact size the upload must have and a deadline for the PUT to begin. An account
// holds at most Options::max_tickets_per_account unused tickets at once.
//
// Thread-safety: every method may be called from any thread. A BlobUpload belongs to one thread.
#pragma once

#include "protocol/limits.h"
#include "util/clock.h"
#include "util/result.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

namespace veil::relay {

struct BlobTicket {
    std::string blob_id; // kBlobIdHexChars lower-case hex digits
    std::string token;   // lower-case hex, single use
    std::uint64_t max_bytes = 0;
    std::int64_t expires_at_ms = 0;
};

// One upload's temp file. Unless commit() succeeds, the temp file is removed when it goes.
class BlobUpload {
public:
    BlobUpload(BlobUpload&& other) noexcept;
    BlobUpload& operator=(BlobUpload&&) = delete;
    BlobUpload(const BlobUpload&) = delete;
    ~BlobUpload();

    // Appends bytes. Errc::io on failure; disk_full() tells a full disk (or file size limit)
    // from other failures.
    Status write(std::span<const std::uint8_t> bytes);
    // fsync, mtime, rename into place, fsync of the folder. already_exists: a blob with this id
    // is stored already (nothing changed); io: the blob is not stored (see disk_full()).
    Status commit(std::int64_t now_ms);
    bool disk_full() const { return m_disk_full; }
    std::uint64_t written() const { return m_written; }

private:
    friend class BlobStore;
    BlobUpload(int fd, std::filesystem::path temp, std::filesystem::path final_path,
               std::filesystem::path folder);
    Status fail(const char* what, int error);
    void discard();

    int m_fd = -1;
    std::filesystem::path m_temp;
    std::filesystem::path m_final;
    std::filesystem::path m_folder;
    std::uint64_t m_written = 0;
    std::uint64_t m_written_back = 0; // bytes whose write-back has been started
    bool m_disk_full = false;
};

// A stored blob opened for reading: the descriptor is the caller's to close.
struct BlobFile {
    int fd = -1;
    std::uint64_t size = 0;
};

class BlobStore {
public:
    struct Options {
        std::uint64_t max_bytes = protocol::kDefaultMaxAttachmentBytes;
        std::int64_t ticket_lifetime_ms = protocol::kBlobTicketLifetimeMs;
        std::size_t max_tickets_per_account = 32;
    };

    // What a PUT's ticket check came to.
    enum class Claim {
        accepted,     // the token is now used; the upload may begin
        unauthorized, // no token, an unknown, used or expired one, or one for another blob
        wrong_size,   // Content-Length differs from the ticket's size (the token stays usable)
        exists,       // a blob with this id is stored already
    };

    // Creates DATA_DIR/blobs and its tmp folder and removes the temp files a crash left.
    static Result<std::unique_ptr<BlobStore>> open(const std::string& data_dir, const Clock& clock,
                                                   Options options);

    std::uint64_t max_bytes() const { return m_options.max_bytes; }

    // A ticket for an upload of size bytes. too_large: above max_bytes; invalid_argument: 0;
    // refused: the account holds max_tickets_per_account unused tickets already.
    Result<BlobTicket> issue_ticket(const std::string& username, std::uint64_t size);

    // Checks a PUT's token against blob_id and its Content-Length; uses the token up when it
    // returns accepted.
    Claim claim(std::string_view blob_id, std::string_view token, std::uint64_t length);

    // A temp file for blob_id's upload. io on failure.
    Result<BlobUpload> begin_upload(std::string_view blob_id);

    // Commits an upload (BlobUpload::commit) dated by the relay's clock.
    Status finish(BlobUpload& upload) { return upload.commit(m_clock.now_ms()); }

    // Opens a stored blob. not_found: no such blob, or a malformed id.
    Result<BlobFile> open_blob(std::string_view blob_id) const;

    // Deletes blobs created before cutoff_ms (by the relay's clock). Returns how many.
    Result<std::size_t> purge_before(std::int64_t cutoff_ms);

    // Unused tickets held, for tests.
    std::size_t tickets() const;

    // Exactly kBlobIdHexChars lower-case hex digits: nothing else names a file.
    static bool valid_id(std::string_view blob_id);

private:
    struct Pending {
        std::string blob_id;
        std::string username;
        std::uint64_t size = 0;
        std::int64_t expires_at_ms = 0;
    };

    BlobStore(std::filesystem::path folder, const Clock& clock, Options options);
    // Forgets expired tickets, under m_mutex.
    void sweep(std::int64_t now_ms);
    void forget(std::unordered_map<std::string, Pending>::iterator it);

    std::filesystem::path m_folder;
    const Clock& m_clock;
    Options m_options;

    mutable std::mutex m_mutex;
    std::unordered_map<std::string, Pending> m_tickets;         // by token
    std::unordered_map<std::string, std::size_t> m_per_account; // unused tickets per username
};

} // namespace veil::relay
