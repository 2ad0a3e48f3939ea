#include "core/blob_store.h"

#include "crypto/provider.h"
#include "util/hex.h"
#include "util/log.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace veil::relay {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kLog = "relay.blobs";
// Every this many bytes an upload starts writing back what it has so far, so that the fsync
// before its answer (on the reactor's thread) waits for the last few MiB only, not the whole file.
constexpr std::uint64_t kWritebackBytes = 4 * 1024 * 1024;

std::string random_hex(std::size_t bytes) {
    return to_hex(crypto::random_bytes(bytes));
}

Status fsync_folder(const fs::path& folder) {
    const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return make_error(Errc::io,
                          "cannot open the blob folder: " + std::string(std::strerror(errno)));
    const int rc = ::fsync(fd);
    const int error = errno;
    ::close(fd);
    if (rc != 0)
        return make_error(Errc::io,
                          "cannot sync the blob folder: " + std::string(std::strerror(error)));
    return {};
}

bool is_disk_full(int error) {
    return error == ENOSPC || error == EDQUOT || error == EFBIG;
}

std::int64_t mtime_ms(const struct stat& st) {
    return std::int64_t{st.st_mtim.tv_sec} * 1000 + st.st_mtim.tv_nsec / 1'000'000;
}

} // namespace

BlobUpload::BlobUpload(int fd, fs::path temp, fs::path final_path, fs::path folder)
    : m_fd(fd)
    , m_temp(std::move(temp))
    , m_final(std::move(final_path))
    , m_folder(std::move(folder)) {}

BlobUpload::BlobUpload(BlobUpload&& other) noexcept
    : m_fd(other.m_fd)
    , m_temp(std::move(other.m_temp))
    , m_final(std::move(other.m_final))
    , m_folder(std::move(other.m_folder))
    , m_written(other.m_written)
    , m_written_back(other.m_written_back)
    , m_disk_full(other.m_disk_full) {
    other.m_fd = -1;
    other.m_temp.clear();
}

BlobUpload::~BlobUpload() {
    discard();
}

void BlobUpload::discard() {
    if (m_fd >= 0) {
        ::close(m_fd);
        m_fd = -1;
    }
    if (!m_temp.empty()) {
        ::unlink(m_temp.c_str());
        m_temp.clear();
    }
}

Status BlobUpload::fail(const char* what, int error) {
    m_disk_full = is_disk_full(error);
    log::warn(kLog, std::string(what) + " failed: " + std::strerror(error));
    discard(); // a partial blob is never kept
    return make_error(Errc::io, std::string(what) + " failed");
}

Status BlobUpload::write(std::span<const std::uint8_t> bytes) {
    if (m_fd < 0)
        return make_error(Errc::io, "the upload was abandoned");
    while (!bytes.empty()) {
        const ssize_t n = ::write(m_fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fail("writing a blob", errno);
        bytes = bytes.subspan(static_cast<std::size_t>(n));
        m_written += static_cast<std::uint64_t>(n);
    }
    if (m_written - m_written_back >= kWritebackBytes) {
        // Starts the write-back without waiting for it; a failure shows at the fsync.
        ::sync_file_range(m_fd, static_cast<off_t>(m_written_back),
                          static_cast<off_t>(m_written - m_written_back), SYNC_FILE_RANGE_WRITE);
        m_written_back = m_written;
    }
    return {};
}

Status BlobUpload::commit(std::int64_t now_ms) {
    if (m_fd < 0)
        return make_error(Errc::io, "the upload was abandoned");
    // The relay's clock, not the file system's, dates the blob for the retention purge.
    const timespec times[2] = {{now_ms / 1000, (now_ms % 1000) * 1'000'000},
                               {now_ms / 1000, (now_ms % 1000) * 1'000'000}};
    if (::futimens(m_fd, times) != 0)
        return fail("dating a blob", errno);
    if (::fsync(m_fd) != 0)
        return fail("syncing a blob", errno);
    ::close(m_fd);
    m_fd = -1;
    if (::renameat2(AT_FDCWD, m_temp.c_str(), AT_FDCWD, m_final.c_str(), RENAME_NOREPLACE) != 0) {
        const int error = errno;
        if (error == EEXIST) {
            discard();
            return make_error(Errc::already_exists, "the blob exists already");
        }
        return fail("storing a blob", error);
    }
    m_temp.clear(); // it is the blob now
    return fsync_folder(m_folder);
}

BlobStore::BlobStore(fs::path folder, const Clock& clock, Options options)
    : m_folder(std::move(folder))
    , m_clock(clock)
    , m_options(options) {}

Result<std::unique_ptr<BlobStore>> BlobStore::open(const std::string& data_dir, const Clock& clock,
                                                   Options options) {
    const fs::path folder = fs::path(data_dir) / "blobs";
    std::error_code ec;
    fs::create_directories(folder / "tmp", ec);
    if (ec)
        return make_error(Errc::io, "cannot create the blob folder: " + ec.message());
    // Uploads a crash interrupted: never acknowledged, so nobody expects them.
    std::size_t leftovers = 0;
    for (const auto& entry : fs::directory_iterator(folder / "tmp", ec)) {
        std::error_code removed;
        fs::remove(entry.path(), removed);
        if (!removed)
            ++leftovers;
    }
    if (ec)
        return make_error(Errc::io, "cannot read the blob folder: " + ec.message());
    if (leftovers > 0)
        log::info(kLog, "removed " + std::to_string(leftovers) + " unfinished uploads");
    return std::unique_ptr<BlobStore>(new BlobStore(folder, clock, options));
}

bool BlobStore::valid_id(std::string_view blob_id) {
    if (blob_id.size() != protocol::kBlobIdHexChars)
        return false;
    for (char c : blob_id)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    return true;
}

void BlobStore::forget(std::unordered_map<std::string, Pending>::iterator it) {
    auto count = m_per_account.find(it->second.username);
    if (count != m_per_account.end() && --count->second == 0)
        m_per_account.erase(count);
    m_tickets.erase(it);
}

void BlobStore::sweep(std::int64_t now_ms) {
    for (auto it = m_tickets.begin(); it != m_tickets.end();) {
        auto next = std::next(it);
        if (it->second.expires_at_ms <= now_ms)
            forget(it);
        it = next;
    }
}

Result<BlobTicket> BlobStore::issue_ticket(const std::string& username, std::uint64_t size) {
    if (size == 0)
        return make_error(Errc::invalid_argument, "an empty blob");
    if (size > m_options.max_bytes)
        return make_error(Errc::too_large, "the blob is larger than the relay allows");
    const std::int64_t now = m_clock.now_ms();
    std::lock_guard lock(m_mutex);
    auto held = m_per_account.find(username);
    if (held != m_per_account.end() && held->second >= m_options.max_tickets_per_account) {
        sweep(now);
        held = m_per_account.find(username);
        if (held != m_per_account.end() && held->second >= m_options.max_tickets_per_account)
            return make_error(Errc::refused, "too many uploads under way");
    } else if (m_tickets.size() % 1024 == 0) {
        sweep(now); // now and then, so that tickets nobody used do not pile up
    }
    BlobTicket ticket{random_hex(protocol::kBlobIdHexChars / 2), random_hex(16),
                      m_options.max_bytes, now + m_options.ticket_lifetime_ms};
    m_tickets[ticket.token] = Pending{ticket.blob_id, username, size, ticket.expires_at_ms};
    ++m_per_account[username];
    return ticket;
}

BlobStore::Claim BlobStore::claim(std::string_view blob_id, std::string_view token,
                                  std::uint64_t length) {
    const std::int64_t now = m_clock.now_ms();
    std::lock_guard lock(m_mutex);
    auto it = m_tickets.find(std::string(token));
    if (it == m_tickets.end())
        return Claim::unauthorized;
    if (it->second.expires_at_ms <= now) {
        forget(it);
        return Claim::unauthorized;
    }
    if (it->second.blob_id != blob_id)
        return Claim::unauthorized;
    if (it->second.size != length)
        return Claim::wrong_size;
    forget(it); // single use, whatever the upload comes to
    std::error_code ec;
    if (fs::exists(m_folder / std::string(blob_id), ec))
        return Claim::exists;
    return Claim::accepted;
}

Result<BlobUpload> BlobStore::begin_upload(std::string_view blob_id) {
    if (!valid_id(blob_id))
        return make_error(Errc::invalid_argument, "a malformed blob id");
    const fs::path temp = m_folder / "tmp" / std::string(blob_id);
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return make_error(Errc::io,
                          "cannot create a temp file: " + std::string(std::strerror(errno)));
    return BlobUpload(fd, temp, m_folder / std::string(blob_id), m_folder);
}

Result<BlobFile> BlobStore::open_blob(std::string_view blob_id) const {
    if (!valid_id(blob_id))
        return make_error(Errc::not_found, "no such blob");
    const fs::path path = m_folder / std::string(blob_id);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return make_error(errno == ENOENT ? Errc::not_found : Errc::io, "cannot open the blob");
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return make_error(Errc::not_found, "no such blob");
    }
    return BlobFile{fd, static_cast<std::uint64_t>(st.st_size)};
}

Result<std::size_t> BlobStore::purge_before(std::int64_t cutoff_ms) {
    std::error_code ec;
    std::size_t deleted = 0;
    for (const auto& entry : fs::directory_iterator(m_folder, ec)) {
        const std::string name = entry.path().filename().string();
        if (!valid_id(name))
            continue; // tmp/ and anything an operator put here
        struct stat st {};
        if (::lstat(entry.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (mtime_ms(st) >= cutoff_ms)
            continue;
        if (::unlink(entry.path().c_str()) == 0)
            ++deleted;
    }
    if (ec)
        return make_error(Errc::io, "cannot read the blob folder: " + ec.message());
    if (deleted > 0)
        log::info(kLog, "purged " + std::to_string(deleted) + " expired blobs");
    return deleted;
}

std::size_t BlobStore::tickets() const {
    std::lock_guard lock(m_mutex);
    return m_tickets.size();
}

} // namespace veil::relay
