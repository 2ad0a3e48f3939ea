// BlobStore on a real folder with a ManualClock: tickets (single use, bound to one blob id and
// size, expiring, capped per account), durable uploads, the retention purge by the relay's
// clock, and the temp files a crash leaves.
#include "support/temp_dir.h"

#include "core/blob_store.h"
#include "util/clock.h"
#include "util/secret_bytes.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <unistd.h>

using namespace veil;
using namespace veil::relay;
using veil::test::TempDir;

namespace {

constexpr std::int64_t kDayMs = 24LL * 60 * 60 * 1000;

struct Blobs {
    TempDir dir{"veil-blobs"};
    ManualClock clock;
    std::unique_ptr<BlobStore> store;

    explicit Blobs(BlobStore::Options options = {}) {
        auto opened = BlobStore::open(dir.path().string(), clock, options);
        REQUIRE(opened);
        store = std::move(opened.value());
    }

    // Uploads size bytes under a fresh ticket; returns the blob id.
    std::string upload(std::uint64_t size, char fill = 'b') {
        auto ticket = store->issue_ticket("alice", size);
        REQUIRE(ticket);
        REQUIRE(store->claim(ticket->blob_id, ticket->token, size) == BlobStore::Claim::accepted);
        auto upload = store->begin_upload(ticket->blob_id);
        REQUIRE(upload);
        const Bytes bytes(size, static_cast<std::uint8_t>(fill));
        REQUIRE(upload->write(bytes));
        REQUIRE(store->finish(*upload));
        return ticket->blob_id;
    }

    std::size_t files_in(const std::filesystem::path& folder) {
        std::size_t n = 0;
        for (const auto& entry : std::filesystem::directory_iterator(folder))
            n += entry.is_regular_file() ? 1 : 0;
        return n;
    }
};

} // namespace

TEST_CASE("a ticket names a random 32-digit lower-case hex blob id, a token, the limit and a "
          "deadline") {
    Blobs b;
    auto first = b.store->issue_ticket("alice", 10);
    auto second = b.store->issue_ticket("alice", 10);
    REQUIRE(first);
    REQUIRE(second);
    CHECK(BlobStore::valid_id(first->blob_id));
    CHECK(first->blob_id != second->blob_id);
    CHECK(first->token != second->token);
    CHECK(first->token.size() >= 32);
    CHECK(first->max_bytes == protocol::kDefaultMaxAttachmentBytes);
    CHECK(first->expires_at_ms == b.clock.now_ms() + protocol::kBlobTicketLifetimeMs);
}

TEST_CASE("tickets are refused for 0 bytes and above the operator's limit") {
    BlobStore::Options options;
    options.max_bytes = 1000;
    Blobs b(options);
    CHECK(b.store->issue_ticket("alice", 0).error().code == Errc::invalid_argument);
    CHECK(b.store->issue_ticket("alice", 1001).error().code == Errc::too_large);
    CHECK(b.store->issue_ticket("alice", 1000));
}

TEST_CASE("a token works once, for its own blob id and size, and not after it expired") {
    Blobs b;
    auto ticket = b.store->issue_ticket("alice", 10);
    REQUIRE(ticket);
    auto other = b.store->issue_ticket("alice", 10);
    REQUIRE(other);
    CHECK(b.store->claim(other->blob_id, ticket->token, 10) == BlobStore::Claim::unauthorized);
    CHECK(b.store->claim(ticket->blob_id, "", 10) == BlobStore::Claim::unauthorized);
    CHECK(b.store->claim(ticket->blob_id, "00", 10) == BlobStore::Claim::unauthorized);
    CHECK(b.store->claim(ticket->blob_id, ticket->token, 11) == BlobStore::Claim::wrong_size);
    CHECK(b.store->claim(ticket->blob_id, ticket->token, 10) == BlobStore::Claim::accepted);
    CHECK(b.store->claim(ticket->blob_id, ticket->token, 10) == BlobStore::Claim::unauthorized);

    b.clock.advance(protocol::kBlobTicketLifetimeMs);
    CHECK(b.store->claim(other->blob_id, other->token, 10) == BlobStore::Claim::unauthorized);
    CHECK(b.store->tickets() == 0);
}

TEST_CASE("an account holds at most 32 unused tickets, and expired ones free their places") {
    Blobs b;
    for (int i = 0; i < 32; ++i)
        REQUIRE(b.store->issue_ticket("alice", 1));
    CHECK(b.store->issue_ticket("alice", 1).error().code == Errc::refused);
    CHECK(b.store->issue_ticket("bob", 1)); // others are not affected
    b.clock.advance(protocol::kBlobTicketLifetimeMs + 1);
    CHECK(b.store->issue_ticket("alice", 1));
    CHECK(b.store->tickets() == 1);
}

TEST_CASE("a stored blob reads back whole, and a second upload under its id is refused") {
    Blobs b;
    const std::string id = b.upload(5000, 'x');
    auto file = b.store->open_blob(id);
    REQUIRE(file);
    CHECK(file->size == 5000);
    Bytes back(5000);
    CHECK(::pread(file->fd, back.data(), back.size(), 0) == 5000);
    ::close(file->fd);
    CHECK(back == Bytes(5000, 'x'));

    auto again = b.store->begin_upload(id);
    REQUIRE(again);
    REQUIRE(again->write(Bytes(10, 'y')));
    CHECK(b.store->finish(*again).error().code == Errc::already_exists);
    CHECK(b.files_in(b.dir.path() / "blobs" / "tmp") == 0);
    file = b.store->open_blob(id);
    REQUIRE(file);
    CHECK(file->size == 5000);
    ::close(file->fd);
}

TEST_CASE("an abandoned upload leaves no temp file") {
    Blobs b;
    {
        auto upload = b.store->begin_upload(std::string(32, 'a'));
        REQUIRE(upload);
        REQUIRE(upload->write(Bytes(100, 1)));
        CHECK(b.files_in(b.dir.path() / "blobs" / "tmp") == 1);
    }
    CHECK(b.files_in(b.dir.path() / "blobs" / "tmp") == 0);
    CHECK_FALSE(b.store->open_blob(std::string(32, 'a')));
}

TEST_CASE("ids other than 32 lower-case hex digits name no file, traversal included") {
    Blobs b;
    std::ofstream(b.dir.path() / "secret") << "not a blob";
    for (const char* id :
         {"../secret", "..", "", "tmp", "ABCDEF0123456789ABCDEF0123456789",
          "abcdef0123456789abcdef012345678", "abcdef0123456789abcdef01234567890",
          "../../../../../../../../etc/passwd", "abcdef0123456789abcdef012345678/"}) {
        INFO(id);
        CHECK_FALSE(BlobStore::valid_id(id));
        auto file = b.store->open_blob(id);
        REQUIRE_FALSE(file);
        CHECK(file.error().code == Errc::not_found);
    }
    CHECK_FALSE(b.store->begin_upload("../secret"));
}

TEST_CASE("blobs older than the retention period are purged by the relay's clock, newer ones "
          "stay") {
    Blobs b;
    const std::string old_id = b.upload(10);
    b.clock.advance(20 * kDayMs);
    const std::string new_id = b.upload(10);
    b.clock.advance(11 * kDayMs); // old: 31 days, new: 11 days

    auto purged = b.store->purge_before(b.clock.now_ms() - 30 * kDayMs);
    REQUIRE(purged);
    CHECK(*purged == 1);
    CHECK_FALSE(b.store->open_blob(old_id));
    auto kept = b.store->open_blob(new_id);
    REQUIRE(kept);
    ::close(kept->fd);
}

TEST_CASE("temp files a crash left are removed when the store opens, and blobs stay") {
    TempDir dir("veil-blobs");
    ManualClock clock;
    std::string id;
    {
        auto store = BlobStore::open(dir.path().string(), clock, {});
        REQUIRE(store);
        auto ticket = (*store)->issue_ticket("alice", 3);
        REQUIRE(ticket);
        auto upload = (*store)->begin_upload(ticket->blob_id);
        REQUIRE(upload);
        REQUIRE(upload->write(Bytes(3, 1)));
        REQUIRE((*store)->finish(*upload));
        id = ticket->blob_id;
    }
    std::ofstream(dir.path() / "blobs" / "tmp" / std::string(32, 'c')) << "half an upload";
    auto reopened = BlobStore::open(dir.path().string(), clock, {});
    REQUIRE(reopened);
    CHECK(std::filesystem::is_empty(dir.path() / "blobs" / "tmp"));
    auto file = (*reopened)->open_blob(id);
    REQUIRE(file);
    CHECK(file->size == 3);
    ::close(file->fd);
}
