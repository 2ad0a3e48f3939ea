#include "relay_fixture.h"

#include "core/sqlite_db.h"

#include <fstream>

using namespace veil;
using namespace veil::relay;
using namespace veil::relay::test;

namespace {

NewAccount account(const std::string& name) {
    NewAccount a;
    a.username = name;
    a.identity_key = Bytes(33, 5);
    a.registration_id = 42;
    a.signed_prekey = {1, Bytes(33, 6), Bytes(64, 7)};
    a.one_time_prekeys = {{1, Bytes(33, 1)}, {2, Bytes(33, 2)}};
    return a;
}

NewEnvelope envelope(const std::string& to, std::uint8_t id) {
    return NewEnvelope{"alice", 1, to, 1, Bytes(16, id), 1, Bytes(10, 9), Bytes(32, id)};
}

std::string first_bytes(const std::filesystem::path& path, std::size_t n) {
    std::ifstream in(path, std::ios::binary);
    std::string s(n, '\0');
    in.read(s.data(), static_cast<std::streamsize>(n));
    return s;
}

// A store whose storage has failed (disk full, I/O error): every call fails.
class BrokenStore final : public RelayStore {
public:
    static Error broken() { return make_error(Errc::database, "disk full"); }
    Status create_account(const NewAccount&, std::int64_t) override { return broken(); }
    Result<std::optional<DeviceRecord>> find_device(const std::string&, std::uint32_t) override {
        return broken();
    }
    Status replace_signed_prekey(const std::string&, std::uint32_t,
                                 const SignedPrekeyRecord&) override {
        return broken();
    }
    Status add_one_time_prekeys(const std::string&, std::uint32_t,
                                std::span<const OneTimePrekeyRecord>) override {
        return broken();
    }
    Result<std::uint32_t> count_one_time_prekeys(const std::string&, std::uint32_t) override {
        return broken();
    }
    Result<std::optional<PrekeyBundleRecord>> take_prekey_bundle(const std::string&) override {
        return broken();
    }
    Result<EnqueueOutcome> enqueue(const NewEnvelope&, std::int64_t) override { return broken(); }
    Result<std::vector<StoredEnvelope>> queued(const std::string&, std::uint32_t, std::uint64_t,
                                               std::size_t) override {
        return broken();
    }
    Result<std::size_t> ack(const std::string&, std::uint32_t,
                            std::span<const std::uint64_t>) override {
        return broken();
    }
    Result<std::vector<MailboxWriteOutcome>> write_mailbox(std::span<const MailboxWrite>) override {
        return broken();
    }
    std::uint64_t allocate_delivery_id() override { return ++m_ids; }
    Result<std::optional<SendRecord>> find_send(const std::string&, std::uint32_t,
                                                std::span<const std::uint8_t>) override {
        return broken();
    }

private:
    std::uint64_t m_ids = 0;
    Result<std::size_t> purge_before(std::int64_t) override { return broken(); }
    Status create_invite(const std::string&, std::int64_t) override { return broken(); }
};

} // namespace

TEST_CASE("the relay database is plain SQLite and keeps its data across reopening") {
    TempDir dir;
    const auto data = dir.path() / "data";
    {
        auto store = SqliteStore::open(data.string());
        REQUIRE(store);
        REQUIRE((*store)->create_account(account("alice"), 1));
        REQUIRE((*store)->create_account(account("bob"), 1));
        REQUIRE((*store)->enqueue(envelope("bob", 1), 100));
    }
    CHECK(first_bytes(data / "relay.db", 15) == "SQLite format 3");

    auto store = SqliteStore::open(data.string());
    REQUIRE(store);
    auto device = (*store)->find_device("alice", 1);
    REQUIRE(device);
    REQUIRE(device->has_value());
    CHECK((*device)->registration_id == 42);
    CHECK((*store)->queued("bob", 1, 0, 10)->size() == 1);
    CHECK((*store)->count_one_time_prekeys("alice", 1).value() == 2);
}

TEST_CASE("a failed account creation leaves no partial rows behind") {
    TempDir dir;
    auto store = SqliteStore::open(dir.path().string());
    REQUIRE(store);
    REQUIRE((*store)->create_invite("only", 1));
    auto a = account("alice");
    a.invite_required = true;
    a.invite_code = "wrong";
    auto refused = (*store)->create_account(a, 1);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == Errc::refused);
    CHECK_FALSE((*store)->find_device("alice", 1).value().has_value());

    a.invite_code = "only";
    CHECK((*store)->create_account(a, 1));
}

TEST_CASE("delivery ids are never reused after envelopes are deleted") {
    TempDir dir;
    auto store = SqliteStore::open(dir.path().string());
    REQUIRE(store);
    REQUIRE((*store)->create_account(account("bob"), 1));
    auto first = (*store)->enqueue(envelope("bob", 1), 1);
    REQUIRE(first);
    std::uint64_t ids[] = {first->delivery_id};
    REQUIRE((*store)->ack("bob", 1, ids).value() == 1);
    auto second = (*store)->enqueue(envelope("bob", 2), 2);
    REQUIRE(second);
    CHECK(second->delivery_id > first->delivery_id);
}

TEST_CASE("delivery ids handed out are never handed out again, even after a rollback or a "
          "restart") {
    TempDir dir;
    const auto data = dir.path() / "data";
    std::uint64_t highest = 0;
    {
        auto store = SqliteStore::open(data.string());
        REQUIRE(store);
        REQUIRE((*store)->create_account(account("alice"), 1));
        REQUIRE((*store)->create_account(account("bob"), 1));
        auto first = (*store)->enqueue(envelope("bob", 1), 1);
        REQUIRE(first);

        // A batch whose envelope was given an id (and pushed) fails before its commit.
        SqliteDb other((data / "relay.db").string());
        other.exec("CREATE TRIGGER fail_sends BEFORE INSERT ON sends"
                   " WHEN NEW.digest = zeroblob(32) BEGIN SELECT RAISE(ABORT, 'injected'); END");
        auto doomed = envelope("bob", 2);
        doomed.content_digest = Bytes(32, 0);
        doomed.delivery_id = (*store)->allocate_delivery_id();
        CHECK(doomed.delivery_id > first->delivery_id);
        auto failed = (*store)->write_mailbox(std::vector<MailboxWrite>{MailboxWrite{doomed, 2}});
        REQUIRE_FALSE(failed);
        CHECK(failed.error().code == Errc::database);
        CHECK((*store)->queued("bob", 1, 0, 10)->size() == 1);

        auto next = (*store)->enqueue(envelope("bob", 3), 3);
        REQUIRE(next);
        CHECK(next->delivery_id > doomed.delivery_id);
        // An id allocated and never used, as when the relay stops before the commit.
        highest = (*store)->allocate_delivery_id();
        CHECK(highest > next->delivery_id);
        other.exec("DROP TRIGGER fail_sends");
    }
    auto store = SqliteStore::open(data.string());
    REQUIRE(store);
    auto after_reopen = (*store)->enqueue(envelope("bob", 6), 5);
    REQUIRE(after_reopen);
    CHECK(after_reopen->delivery_id > highest);
    CHECK((*store)->allocate_delivery_id() > after_reopen->delivery_id);
}

TEST_CASE("the send log answers beside the writer and knows committed sends only") {
    TempDir dir;
    auto store = SqliteStore::open(dir.path().string());
    REQUIRE(store);
    REQUIRE((*store)->create_account(account("alice"), 1));
    REQUIRE((*store)->create_account(account("bob"), 1));
    const auto env = envelope("bob", 9);
    auto before = (*store)->find_send("alice", 1, env.message_id);
    REQUIRE(before);
    CHECK_FALSE(before->has_value());
    auto stored = (*store)->enqueue(env, 42);
    REQUIRE(stored);
    auto after = (*store)->find_send("alice", 1, env.message_id);
    REQUIRE(after);
    REQUIRE(after->has_value());
    CHECK((*after)->delivery_id == stored->delivery_id);
    CHECK((*after)->server_timestamp_ms == 42);
    CHECK((*after)->content_digest == env.content_digest);
}

TEST_CASE("a storage failure is answered with a retryable UNAVAILABLE error") {
    BrokenStore store;
    ManualClock clock;
    RelayService service(store, clock, {});
    RelayFixture keys; // only for real keys and signatures
    auto user = keys.make_user("alice");

    Session s(1);
    auto challenge = request(1);
    challenge.mutable_challenge_request();
    auto r = parse_all(service.handle(s, protocol::encode_envelope(challenge)));
    REQUIRE(r[0].has_challenge());
    auto reg = keys.register_request(user, to_bytes(r[0].challenge().nonce()));
    reg.set_request_id(2);
    r = parse_all(service.handle(s, protocol::encode_envelope(reg)));
    REQUIRE(r.size() == 1);
    REQUIRE(r[0].has_error());
    CHECK(r[0].error().code() == wire::Error::UNAVAILABLE);
    CHECK(r[0].error().retry_after_ms() > 0);
    CHECK(r[0].request_id() == 2);
    CHECK_FALSE(s.authenticated);
    CHECK_FALSE(service.purge_expired());
}
