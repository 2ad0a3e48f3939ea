// QUALITY.md: "Disk full during a send: a retryable error, no ack, no partial rows; recovers by
// itself." The real relay keeps its data directory on a tmpfs of a few MiB, mounted by this test
// in a mount namespace of its own (so the host never sees the mount, and it goes away with this
// process and the relay, whatever becomes of the test). The test fills the tmpfs to the brim,
// sends over a real socket until the relay's SQLite store meets the full disk, then frees the
// space and retries. Needs root (CAP_SYS_ADMIN), as CI has: without it the test fails, saying so.
#include "server/relay_fixture.h"
#include "server/transport/wire_client.h"
#include "server/transport/wire_login.h"

#include <catch2/catch.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sched.h>
#include <set>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

using namespace veil;
using namespace veil::relay::test;
using veil::test::TempDir;

namespace {

// A tmpfs of `bytes` over `where`, in a new mount namespace of the calling thread (the test's
// only thread, so the relay it starts inherits it). Unmounted on destruction; the namespace and
// everything in it end with the last process in it, so a test that dies leaves nothing mounted.
class SmallDisk {
public:
    SmallDisk(std::filesystem::path where, std::size_t bytes)
        : m_where(std::move(where)) {
        if (::geteuid() != 0)
            FAIL("this test mounts a tmpfs and needs root (CAP_SYS_ADMIN); it runs as uid "
                 << ::geteuid());
        if (::unshare(CLONE_NEWNS) != 0)
            FAIL("unshare(CLONE_NEWNS) failed: " << std::strerror(errno)
                                                 << "; a private mount namespace is needed to "
                                                    "mount a small disk for the relay");
        // Nothing mounted from here on may reach the host's namespace.
        REQUIRE(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0);
        std::filesystem::create_directories(m_where);
        const std::string options = "size=" + std::to_string(bytes) + ",mode=0700";
        if (::mount("veil-small-disk", m_where.c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
                    options.c_str()) != 0)
            FAIL("mounting a tmpfs on " << m_where << " failed: " << std::strerror(errno));
        m_mounted = true;
    }
    ~SmallDisk() {
        if (m_mounted)
            ::umount2(m_where.c_str(), MNT_DETACH);
    }
    SmallDisk(const SmallDisk&) = delete;
    SmallDisk& operator=(const SmallDisk&) = delete;

    std::uint64_t free_bytes() const {
        struct statvfs s {};
        REQUIRE(::statvfs(m_where.c_str(), &s) == 0);
        return std::uint64_t{s.f_bavail} * s.f_frsize;
    }

    // Writes a filler file until the disk refuses another byte.
    void fill() {
        const auto path = m_where / "filler";
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        REQUIRE(fd >= 0);
        const std::string chunk(64 * 1024, 'f');
        for (std::size_t size : {chunk.size(), std::size_t{4096}, std::size_t{1}}) {
            for (;;) {
                const ssize_t n = ::write(fd, chunk.data(), size);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n <= 0) {
                    REQUIRE(errno == ENOSPC);
                    break;
                }
            }
        }
        ::close(fd);
        REQUIRE(free_bytes() == 0);
    }
    void free_space() { std::filesystem::remove(m_where / "filler"); }

private:
    std::filesystem::path m_where;
    bool m_mounted = false;
};

Bytes numbered_id(std::uint32_t n) {
    Bytes id(protocol::kMessageIdBytes, 0x44);
    for (int i = 0; i < 4; ++i)
        id[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(n >> (8 * i));
    return id;
}

// The relay's database through a read-only connection beside the running relay (WAL mode, so
// it sees what is committed and writes nothing).
std::int64_t count_rows(const std::filesystem::path& db, const std::string& sql,
                        const Bytes& bound = {}) {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open_v2(db.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    std::unique_ptr<sqlite3, decltype(&sqlite3_close)> handle(raw, &sqlite3_close);
    sqlite3_stmt* statement = nullptr;
    REQUIRE(sqlite3_prepare_v2(raw, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK);
    std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt(statement, &sqlite3_finalize);
    if (!bound.empty())
        REQUIRE(sqlite3_bind_blob(statement, 1, bound.data(), static_cast<int>(bound.size()),
                                  SQLITE_TRANSIENT) == SQLITE_OK);
    REQUIRE(sqlite3_step(statement) == SQLITE_ROW);
    return sqlite3_column_int64(statement, 0);
}

} // namespace

TEST_CASE("a send that meets a full disk gets a retryable error and no ack, leaves no row, and "
          "the same send goes through once space is freed, delivered once") {
    constexpr std::size_t kDiskBytes = 8 * 1024 * 1024;
    constexpr std::size_t kCiphertextBytes = 16 * 1024;
    // More sends than the whole disk could hold, so one of them must meet the full disk.
    constexpr std::uint32_t kMaxSends = 2 * kDiskBytes / kCiphertextBytes;
    TempDir dir("veil-disk-full");
    SmallDisk disk(dir.path() / "relay", kDiskBytes);
    RelayFixture keys;
    const TestUser alice = keys.make_user("alice");
    const TestUser bob = keys.make_user("bob");
    RelayProcess relay(dir.path());
    const auto db = dir.path() / "relay" / "relay.db";
    {
        WsClient b(relay.port());
        log_in_over_wire(b, keys, bob); // registered, then offline
    }
    WsClient a(relay.port());
    log_in_over_wire(a, keys, alice);
    disk.fill();

    // Sends until one meets the full disk. SQLite may still find room in pages it holds, so
    // the first few may be stored; each stored one was acknowledged.
    auto content = [](std::uint32_t n) {
        return std::string(kCiphertextBytes, static_cast<char>('a' + n % 26));
    };
    std::uint32_t acked = 0;
    std::optional<wire::Error> refusal;
    for (std::uint32_t n = 0; n < kMaxSends && !refusal; ++n) {
        REQUIRE(a.send_envelope(keys.send_request("bob", numbered_id(n), content(n))));
        auto answer = a.next_envelope(after(20s));
        REQUIRE(answer);
        if (answer->has_error())
            refusal = answer->error();
        else {
            REQUIRE(answer->has_send_result());
            ++acked;
        }
    }
    INFO(acked << " sends were stored before the disk was full");
    REQUIRE(refusal);
    CHECK(refusal->code() == wire::Error::UNAVAILABLE);
    CHECK(refusal->retry_after_ms() > 0);
    const Bytes refused_id = numbered_id(acked);
    // The refusal came from the full disk, not from anything else the relay may refuse for.
    const std::string log = relay.process().out();
    CHECK(log.find("database or disk is full") != std::string::npos);
    // SQLite rolled the transaction back by itself; the relay does not try again and complain.
    CHECK(log.find("rollback failed") == std::string::npos);

    // No partial rows: what was acknowledged is stored, the refused send left nothing, and the
    // relay still serves the same connection.
    CHECK(relay.process().running());
    CHECK(healthz_ok(relay.port()));
    CHECK(count_rows(db, "SELECT COUNT(*) FROM mailbox") == acked);
    CHECK(count_rows(db, "SELECT COUNT(*) FROM mailbox WHERE message_id = ?", refused_id) == 0);
    CHECK(count_rows(db, "SELECT COUNT(*) FROM sends WHERE message_id = ?", refused_id) == 0);
    // While the disk is still full, the retry is refused the same way, not taken as a conflict.
    REQUIRE(a.send_envelope(keys.send_request("bob", refused_id, content(acked))));
    auto again = a.next_envelope(after(20s));
    REQUIRE(again);
    REQUIRE(again->has_error());
    CHECK(again->error().code() == wire::Error::UNAVAILABLE);

    // Space comes back; the relay recovers by itself, without a restart.
    disk.free_space();
    REQUIRE(a.send_envelope(keys.send_request("bob", refused_id, content(acked))));
    auto retried = a.next_envelope(after(20s));
    REQUIRE(retried);
    INFO("answer to the retry: " << retried->ShortDebugString().substr(0, 200));
    REQUIRE(retried->has_send_result());
    CHECK(count_rows(db, "SELECT COUNT(*) FROM mailbox WHERE message_id = ?", refused_id) == 1);

    WsClient b(relay.port());
    auto delivered = log_in_and_drain(b, keys, bob, 20s);
    CHECK(delivered.size() == acked + 1);
    std::set<std::string> ids;
    for (const auto& d : delivered) {
        CHECK(ids.insert(d.message_id()).second);
        CHECK(d.ciphertext().size() == kCiphertextBytes);
    }
    CHECK(ids.count(to_str(refused_id)) == 1);
    CHECK(relay.process().running());
}
