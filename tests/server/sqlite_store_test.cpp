// The store suite: every case that states RelayStore's contract runs against each backend
// (SqliteStore and PostgresStore, see store_backends.h); SQLite's file format and its migrations
// from older files are checked on SQLite alone.
#include "relay_fixture.h"
#include "store_backends.h"

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
    return NewEnvelope{"alice",
                       1,
                       to,
                       false,
                       Bytes(16, id),
                       Bytes(32, id),
                       {EnvelopeCopy{to, 1, 1, Bytes(10, 9), 0}}};
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
    Result<std::optional<std::vector<PrekeyBundleRecord>>>
    take_prekey_bundles(const std::string&, std::span<const std::uint32_t>) override {
        return broken();
    }
    Result<std::optional<Bytes>> find_identity_key(const std::string&) override { return broken(); }
    Result<std::uint32_t> add_device(const std::string&, const NewDevice&, std::int64_t) override {
        return broken();
    }
    Result<std::optional<std::vector<DeviceInfoRecord>>> list_devices(const std::string&) override {
        return broken();
    }
    Status remove_device(const std::string&, std::uint32_t, std::int64_t) override {
        return broken();
    }
    Status touch_last_seen(std::span<const DeviceSeen>) override { return broken(); }
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
    Result<PurgeOutcome> purge_before(std::int64_t, std::int64_t) override { return broken(); }
    Status create_invite(const std::string&, std::int64_t) override { return broken(); }
    Result<std::optional<GroupRecord>> find_group(std::span<const std::uint8_t>) override {
        return broken();
    }
    Result<std::optional<GroupMembership>> find_group_member(std::span<const std::uint8_t>,
                                                             const std::string&) override {
        return broken();
    }
    Result<std::vector<GroupChangeRecord>> group_changes(std::span<const std::uint8_t>,
                                                         std::uint64_t, std::uint64_t,
                                                         std::size_t) override {
        return broken();
    }
    Result<std::vector<DeviceAddress>> devices_of(std::span<const std::string>) override {
        return broken();
    }
};

} // namespace

TEST_CASE("the relay database is plain SQLite and keeps its data across reopening",
          "[sqlite-only]") {
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

TEMPLATE_TEST_CASE("the store keeps accounts, keys and mailboxes across reopening", "[store]",
                   SqliteBackend, PostgresBackend) {
    TestType backend;
    {
        auto store = backend.open();
        REQUIRE(store->create_account(account("alice"), 1));
        REQUIRE(store->create_account(account("bob"), 1));
        REQUIRE(store->enqueue(envelope("bob", 1), 100));
    }
    auto store = backend.open();
    auto device = store->find_device("alice", 1);
    REQUIRE(device);
    REQUIRE(device->has_value());
    CHECK((*device)->registration_id == 42);
    CHECK((*device)->identity_key == Bytes(33, 5));
    auto queued = store->queued("bob", 1, 0, 10);
    REQUIRE(queued);
    REQUIRE(queued->size() == 1);
    CHECK((*queued)[0].ciphertext == Bytes(10, 9));
    CHECK((*queued)[0].message_id == Bytes(16, 1));
    CHECK((*queued)[0].server_timestamp_ms == 100);
    CHECK(store->count_one_time_prekeys("alice", 1).value() == 2);
    CHECK(store->create_account(account("alice"), 2).error().code == Errc::already_exists);
}

TEMPLATE_TEST_CASE("a failed account creation leaves no partial rows behind", "[store]",
                   SqliteBackend, PostgresBackend) {
    TestType backend;
    auto store = backend.open();
    REQUIRE(store->create_invite("only", 1));
    auto a = account("alice");
    a.invite_required = true;
    a.invite_code = "wrong";
    auto refused = store->create_account(a, 1);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == Errc::refused);
    CHECK_FALSE(store->find_device("alice", 1).value().has_value());

    a.invite_code = "only";
    CHECK(store->create_account(a, 1));
}

TEMPLATE_TEST_CASE("delivery ids are never reused after envelopes are deleted", "[store]",
                   SqliteBackend, PostgresBackend) {
    TestType backend;
    auto store = backend.open();
    REQUIRE(store->create_account(account("bob"), 1));
    auto first = store->enqueue(envelope("bob", 1), 1);
    REQUIRE(first);
    std::uint64_t ids[] = {first->delivery_ids.at(0)};
    REQUIRE(store->ack("bob", 1, ids).value() == 1);
    auto second = store->enqueue(envelope("bob", 2), 2);
    REQUIRE(second);
    CHECK(second->delivery_ids.at(0) > first->delivery_ids.at(0));
}

TEMPLATE_TEST_CASE("delivery ids handed out are never handed out again, even after a rollback "
                   "or a restart",
                   "[store]", SqliteBackend, PostgresBackend) {
    TestType backend;
    std::uint64_t highest = 0;
    {
        auto store = backend.open();
        REQUIRE(store->create_account(account("alice"), 1));
        REQUIRE(store->create_account(account("bob"), 1));
        auto first = store->enqueue(envelope("bob", 1), 1);
        REQUIRE(first);

        // A batch whose envelope was given an id (and pushed) fails before its commit.
        backend.break_sends();
        auto doomed = envelope("bob", 2);
        doomed.content_digest = Bytes(32, 0);
        doomed.copies[0].delivery_id = store->allocate_delivery_id();
        CHECK(doomed.copies[0].delivery_id > first->delivery_ids.at(0));
        auto failed = store->write_mailbox(std::vector<MailboxWrite>{MailboxWrite{doomed, 2}});
        REQUIRE_FALSE(failed);
        CHECK(failed.error().code == Errc::database);
        CHECK(store->queued("bob", 1, 0, 10)->size() == 1);

        auto next = store->enqueue(envelope("bob", 3), 3);
        REQUIRE(next);
        CHECK(next->delivery_ids.at(0) > doomed.copies[0].delivery_id);
        // An id allocated and never used, as when the relay stops before the commit.
        highest = store->allocate_delivery_id();
        CHECK(highest > next->delivery_ids.at(0));
        backend.heal();
    }
    auto store = backend.open();
    auto after_reopen = store->enqueue(envelope("bob", 6), 5);
    REQUIRE(after_reopen);
    CHECK(after_reopen->delivery_ids.at(0) > highest);
    CHECK(store->allocate_delivery_id() > after_reopen->delivery_ids.at(0));
}

TEMPLATE_TEST_CASE("the send log answers beside the writer and knows committed sends only",
                   "[store]", SqliteBackend, PostgresBackend) {
    TestType backend;
    auto store = backend.open();
    REQUIRE(store->create_account(account("alice"), 1));
    REQUIRE(store->create_account(account("bob"), 1));
    const auto env = envelope("bob", 9);
    auto before = store->find_send("alice", 1, env.message_id);
    REQUIRE(before);
    CHECK_FALSE(before->has_value());
    auto stored = store->enqueue(env, 42);
    REQUIRE(stored);
    auto after = store->find_send("alice", 1, env.message_id);
    REQUIRE(after);
    REQUIRE(after->has_value());
    CHECK((*after)->delivery_id == stored->delivery_ids.at(0));
    CHECK((*after)->server_timestamp_ms == 42);
    CHECK((*after)->content_digest == env.content_digest);
}

TEST_CASE("a storage failure is answered with a retryable UNAVAILABLE error", "[sqlite-only]") {
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

namespace {

const Bytes kGroup(16, 0x47);

// Group rows without the service: a change creating the group with the given members, and one
// message from alice to every other member's device 1.
NewGroupChange creation(const std::vector<std::string>& members) {
    NewGroupChange g;
    g.change = GroupChangeRecord{kGroup, 1, Bytes(40, 1), "alice", Bytes(64, 2), 0};
    g.state_hash = Bytes(32, 3);
    for (const auto& m : members) {
        g.members.emplace_back(m, m == "alice");
        g.recipients.push_back(GroupRecipient{m, 1, 0});
    }
    return g;
}

NewGroupMessage group_message(const std::vector<std::string>& to, std::uint8_t id) {
    NewGroupMessage m;
    m.from_username = "alice";
    m.from_device_id = 1;
    m.group_id = kGroup;
    m.revision = 1;
    m.message_id = Bytes(16, id);
    m.type = 3;
    m.ciphertext = Bytes(1000, id);
    m.content_digest = Bytes(32, id);
    for (const auto& name : to)
        m.recipients.push_back(GroupRecipient{name, 1, 0});
    return m;
}

std::int64_t count_rows(const std::filesystem::path& data, const char* sql) {
    SqliteDb db((data / "relay.db").string());
    return db.query_int64(sql);
}

// Four accounts, a group of all four created at server time 5 and one message from alice to
// the three others at 10, on backend B.
template <typename B>
struct GroupStore {
    B backend;
    std::unique_ptr<RelayStore> store;
    std::vector<std::string> others{"bob", "carol", "dave"};

    GroupStore() {
        store = backend.open();
        for (const char* name : {"alice", "bob", "carol", "dave"})
            REQUIRE(store->create_account(account(name), 1));
        auto created = store->write_mailbox(std::vector<MailboxWrite>{
            MailboxWrite{creation({"alice", "bob", "carol", "dave"}), 5}});
        REQUIRE(created);
        REQUIRE(std::get<2>(created->front()));
        auto sent = store->write_mailbox(
            std::vector<MailboxWrite>{MailboxWrite{group_message(others, 1), 10}});
        REQUIRE(sent);
        REQUIRE(std::get<2>(sent->front()));
    }

    std::int64_t payloads() { return count("SELECT COUNT(*) FROM payloads"); }
    std::int64_t count(const char* sql) { return backend.count(sql); }
};

} // namespace

TEMPLATE_TEST_CASE(
    "a group message to many devices is one payload row that the mailbox rows reference", "[store]",
    SqliteBackend, PostgresBackend) {
    GroupStore<TestType> g;
    CHECK(g.payloads() == 1);
    CHECK(g.count("SELECT COUNT(*) FROM mailbox WHERE payload IS NOT NULL") == 3);
    CHECK(g.count("SELECT SUM(length(ciphertext)) FROM mailbox") == 0);
    for (const auto& name : g.others) {
        auto queued = g.store->queued(name, 1, 0, 10);
        REQUIRE(queued);
        REQUIRE(queued->size() == 2);
        CHECK((*queued)[0].change);
        CHECK((*queued)[1].ciphertext == Bytes(1000, 1));
        CHECK((*queued)[1].group_id == kGroup);
        CHECK((*queued)[1].message_id == Bytes(16, 1));
        CHECK((*queued)[1].from_username == "alice");
    }
}

TEMPLATE_TEST_CASE("a group payload is deleted with the last ack that references it", "[store]",
                   SqliteBackend, PostgresBackend) {
    GroupStore<TestType> g;
    for (std::size_t i = 0; i < g.others.size(); ++i) {
        CHECK(g.payloads() == 1);
        auto queued = g.store->queued(g.others[i], 1, 0, 10);
        REQUIRE(queued);
        std::uint64_t ids[] = {queued->back().delivery_id};
        REQUIRE(g.store->ack(g.others[i], 1, ids).value() == 1);
    }
    CHECK(g.payloads() == 0);
    // The changes stay: they are the group's history, not a mailbox's.
    CHECK(g.count("SELECT COUNT(*) FROM group_changes") == 1);
}

TEMPLATE_TEST_CASE("a group payload is deleted when its mailbox rows expire", "[store]",
                   SqliteBackend, PostgresBackend) {
    GroupStore<TestType> g;
    auto changes = g.store->purge_before(10, 100);
    REQUIRE(changes);
    CHECK(changes->deleted == 4);    // the changes only: the message stays
    CHECK(changes->notices.empty()); // a group change is no message of anyone's
    CHECK(g.payloads() == 1);
    auto purged = g.store->purge_before(11, 100);
    REQUIRE(purged);
    CHECK(purged->deleted == 3);
    CHECK(g.payloads() == 0);
    // What is left: alice's notices, one per member the message expired for.
    CHECK(g.count("SELECT COUNT(*) FROM mailbox") == 3);
    CHECK(g.count("SELECT COUNT(*) FROM mailbox WHERE expired_to IS NULL") == 0);
    CHECK(g.count("SELECT COUNT(*) FROM group_changes") == 1);
}

TEMPLATE_TEST_CASE("an expired group message queues one notice per member to the sender, with "
                   "its id, group and send time",
                   "[store]", SqliteBackend, PostgresBackend) {
    GroupStore<TestType> g;
    auto purged = g.store->purge_before(11, 100);
    REQUIRE(purged);
    REQUIRE(purged->notices.size() == 3);
    auto queued = g.store->queued("alice", 1, 0, 10);
    REQUIRE(queued);
    std::set<std::string> told;
    for (const auto& e : *queued) {
        if (!e.expired)
            continue;
        CHECK(e.type == 4);
        CHECK(e.from_username.empty());
        CHECK(e.ciphertext.empty());
        CHECK(e.server_timestamp_ms == 100);
        CHECK(e.expired->message_id == Bytes(16, 1));
        CHECK(e.expired->group_id == kGroup);
        CHECK(e.expired->sent_at_ms == 10);
        told.insert(e.expired->to_username);
    }
    CHECK(told == std::set<std::string>(g.others.begin(), g.others.end()));
    for (const auto& n : purged->notices)
        CHECK(n.username == "alice");
}

TEMPLATE_TEST_CASE("expiry notices are purged in their turn and queue no notices of their own",
                   "[store]", SqliteBackend, PostgresBackend) {
    GroupStore<TestType> g;
    REQUIRE(g.store->purge_before(11, 100));
    auto again = g.store->purge_before(101, 200);
    REQUIRE(again);
    CHECK(again->deleted == 3);
    CHECK(again->notices.empty());
    CHECK(g.count("SELECT COUNT(*) FROM mailbox") == 0);
}

TEMPLATE_TEST_CASE("a group write checks revision and membership inside its transaction", "[store]",
                   SqliteBackend, PostgresBackend) {
    GroupStore<TestType> g;
    auto stale = group_message(g.others, 2);
    stale.revision = 2;
    auto outsider = group_message({"alice"}, 3);
    outsider.from_username = "erin";
    auto second_creation = creation({"bob"});
    second_creation.change.state = Bytes(40, 9);
    auto out = g.store->write_mailbox(std::vector<MailboxWrite>{
        MailboxWrite{stale, 20}, MailboxWrite{outsider, 20}, MailboxWrite{second_creation, 20}});
    REQUIRE(out);
    CHECK(std::get<2>((*out)[0]).error().code == Errc::invalid_argument);
    CHECK(std::get<2>((*out)[1]).error().code == Errc::refused);
    CHECK(std::get<2>((*out)[2]).error().code == Errc::already_exists);
    CHECK(g.payloads() == 1);
}

TEST_CASE("a version 1 database is migrated in place and keeps its accounts and mailboxes",
          "[sqlite-only]") {
    TempDir dir;
    const auto data = dir.path() / "data";
    std::filesystem::create_directories(data);
    {
        // Schema version 1 as relays before groups wrote it, with one queued envelope.
        SqliteDb v1((data / "relay.db").string());
        v1.exec("PRAGMA journal_mode = WAL");
        v1.exec("CREATE TABLE accounts (id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE,"
                " created_ms INTEGER NOT NULL);"
                "CREATE TABLE devices (id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL"
                " REFERENCES accounts(id), device_id INTEGER NOT NULL, registration_id INTEGER NOT"
                " NULL, identity_key BLOB NOT NULL, signed_prekey_id INTEGER NOT NULL,"
                " signed_prekey BLOB NOT NULL, signed_prekey_signature BLOB NOT NULL,"
                " created_ms INTEGER NOT NULL, UNIQUE (account_id, device_id));"
                "CREATE TABLE one_time_prekeys (device INTEGER NOT NULL REFERENCES devices(id),"
                " prekey_id INTEGER NOT NULL, public_key BLOB NOT NULL, PRIMARY KEY (device,"
                " prekey_id)) WITHOUT ROWID;"
                "CREATE TABLE mailbox (delivery_id INTEGER PRIMARY KEY AUTOINCREMENT,"
                " device INTEGER NOT NULL REFERENCES devices(id), from_username TEXT NOT NULL,"
                " from_device INTEGER NOT NULL, message_id BLOB NOT NULL, type INTEGER NOT NULL,"
                " ciphertext BLOB NOT NULL, server_ts INTEGER NOT NULL);"
                "CREATE INDEX mailbox_by_device ON mailbox (device, delivery_id);"
                "CREATE INDEX mailbox_by_time ON mailbox (server_ts);"
                "CREATE TABLE sends (from_username TEXT NOT NULL, from_device INTEGER NOT NULL,"
                " message_id BLOB NOT NULL, digest BLOB NOT NULL, delivery_id INTEGER NOT NULL,"
                " server_ts INTEGER NOT NULL, PRIMARY KEY (from_username, from_device, message_id))"
                " WITHOUT ROWID;"
                "CREATE INDEX sends_by_time ON sends (server_ts);"
                "CREATE TABLE invites (code TEXT PRIMARY KEY, created_ms INTEGER NOT NULL,"
                " used_ms INTEGER) WITHOUT ROWID;"
                "INSERT INTO accounts VALUES (1, 'alice', 1), (2, 'bob', 1);"
                "INSERT INTO devices VALUES (1, 1, 1, 42, x'05', 1, x'06', x'07', 1),"
                " (2, 2, 1, 43, x'05', 1, x'06', x'07', 1);"
                "INSERT INTO mailbox VALUES (700, 2, 'alice', 1, x'0101', 1, x'AABBCC', 100);"
                "INSERT INTO sends VALUES ('alice', 1, x'0101', x'09', 700, 100);"
                "PRAGMA user_version = 1;");
    }
    auto opened = SqliteStore::open(data.string());
    REQUIRE(opened);
    auto& store = *opened.value();
    CHECK(count_rows(data, "PRAGMA user_version") == SqliteStore::kSchemaVersion);
    auto queued = store.queued("bob", 1, 0, 10);
    REQUIRE(queued);
    REQUIRE(queued->size() == 1);
    CHECK((*queued)[0].delivery_id == 700);
    CHECK((*queued)[0].ciphertext == Bytes{0xAA, 0xBB, 0xCC});
    CHECK((*queued)[0].group_id.empty());
    auto send = store.find_send("alice", 1, Bytes{0x01, 0x01});
    REQUIRE(send);
    REQUIRE(send->has_value());
    CHECK((*send)->delivery_id == 700);
    CHECK((*send)->unreachable.empty());

    // New ids stay above the old ones, and groups work on the migrated file.
    CHECK(store.allocate_delivery_id() > 700);
    auto created = store.write_mailbox(
        std::vector<MailboxWrite>{MailboxWrite{creation({"alice", "bob"}), 200}});
    REQUIRE(created);
    REQUIRE(std::get<2>(created->front()));
    CHECK(store.queued("bob", 1, 0, 10)->size() == 2);

    // Devices authenticate with the key they always did, and the next one is number 2.
    auto device = store.find_device("bob", 1);
    REQUIRE(device);
    REQUIRE(device->has_value());
    CHECK((*device)->auth_key == Bytes{0x05});
    CHECK((*device)->identity_key == Bytes{0x05});
    CHECK_FALSE((*device)->removed);
    auto added = store.add_device(
        "bob", NewDevice{Bytes(33, 8), 44, {2, Bytes(33, 6), Bytes(64, 7)}, {}, Bytes{1, 2}}, 300);
    REQUIRE(added);
    CHECK(*added == 2);
    auto listed = store.list_devices("bob");
    REQUIRE(listed);
    REQUIRE(listed->has_value());
    REQUIRE((*listed)->size() == 2);
    CHECK((*listed)->at(0).last_seen_ms == 0);
    CHECK((*listed)->at(1).name == Bytes{1, 2});
    auto again = SqliteStore::open(data.string()); // and it opens again as the newest version
    CHECK(again);
}

TEMPLATE_TEST_CASE("removed devices keep their number, lose their mailbox and prekeys, and the "
                   "last one stays",
                   "[store]", SqliteBackend, PostgresBackend) {
    TestType backend;
    auto opened = backend.open();
    auto& store = *opened;
    REQUIRE(store.create_account(account("alice"), 1));
    REQUIRE(store.create_account(account("bob"), 1));
    const NewDevice device{
        Bytes(33, 8), 44, {2, Bytes(33, 6), Bytes(64, 7)}, {{5, Bytes(33, 5)}}, {}};
    REQUIRE(store.add_device("bob", device, 2).value() == 2);
    auto env = envelope("bob", 1);
    env.copies.push_back(EnvelopeCopy{"bob", 2, 1, Bytes(10, 2), 0});
    REQUIRE(store.enqueue(env, 3));
    CHECK(store.queued("bob", 2, 0, 10)->size() == 1);

    CHECK(store.remove_device("bob", 3, 4).error().code == Errc::not_found);
    REQUIRE(store.remove_device("bob", 2, 4));
    CHECK(store.remove_device("bob", 2, 4).error().code == Errc::not_found);
    CHECK(store.remove_device("bob", 1, 4).error().code == Errc::refused);
    CHECK(store.queued("bob", 2, 0, 10)->empty());
    CHECK(store.queued("bob", 1, 0, 10)->size() == 1);
    CHECK(store.count_one_time_prekeys("bob", 2).value() == 0);
    auto found = store.find_device("bob", 2);
    REQUIRE(found);
    REQUIRE(found->has_value());
    CHECK((*found)->removed);
    CHECK((*found)->auth_key == Bytes(33, 8));
    const std::string bob[] = {"bob"};
    auto active = store.devices_of(bob);
    REQUIRE(active);
    REQUIRE(active->size() == 1);
    CHECK(active->front().device_id == 1);

    // A send naming the removed device stores nothing; one without it stores its one copy.
    auto stale = envelope("bob", 2);
    stale.copies.push_back(EnvelopeCopy{"bob", 2, 1, Bytes(10, 2), 0});
    CHECK(store.enqueue(stale, 5).error().code == Errc::refused);
    CHECK(store.queued("bob", 1, 0, 10)->size() == 1);
    REQUIRE(store.enqueue(envelope("bob", 2), 5));
    CHECK(store.add_device("bob", device, 6).value() == 3);
    CHECK(store.add_device("nobody", device, 6).error().code == Errc::not_found);
}

TEMPLATE_TEST_CASE("a message to two devices of one account queues one expiry notice if neither "
                   "acked it, and none if one did",
                   "[store]", SqliteBackend, PostgresBackend) {
    TestType backend;
    auto opened = backend.open();
    auto& store = *opened;
    REQUIRE(store.create_account(account("alice"), 1));
    REQUIRE(store.create_account(account("bob"), 1));
    const NewDevice device{Bytes(33, 8), 44, {2, Bytes(33, 6), Bytes(64, 7)}, {}, {}};
    REQUIRE(store.add_device("bob", device, 2).value() == 2);
    for (std::uint8_t id : {1, 2}) {
        auto env = envelope("bob", id);
        env.copies.push_back(EnvelopeCopy{"bob", 2, 1, Bytes(10, 2), 0});
        REQUIRE(store.enqueue(env, 10));
    }
    // bob's phone (device 1) acks message 2; his laptop (device 2) never connects.
    auto phone = store.queued("bob", 1, 0, 10);
    REQUIRE(phone);
    REQUIRE(phone->size() == 2);
    std::uint64_t ack[] = {(*phone)[1].delivery_id};
    REQUIRE(store.ack("bob", 1, ack).value() == 1);

    auto purged = store.purge_before(11, 20);
    REQUIRE(purged);
    CHECK(purged->deleted == 3);
    REQUIRE(purged->notices.size() == 1);
    const auto& notice = purged->notices[0];
    CHECK(notice.username == "alice");
    CHECK(notice.device_id == 1);
    REQUIRE(notice.envelope.expired);
    CHECK(notice.envelope.expired->message_id == Bytes(16, 1));
    CHECK(notice.envelope.expired->to_username == "bob");
    CHECK(notice.envelope.expired->sent_at_ms == 10);
}

TEMPLATE_TEST_CASE("the items of one write_mailbox call see the earlier ones, and a refused item "
                   "writes nothing",
                   "[store]", SqliteBackend, PostgresBackend) {
    TestType backend;
    auto store = backend.open();
    REQUIRE(store->create_account(account("alice"), 1));
    REQUIRE(store->create_account(account("bob"), 1));
    auto first = envelope("bob", 1);
    first.copies[0].delivery_id = store->allocate_delivery_id();
    auto reused = envelope("bob", 1);
    reused.content_digest = Bytes(32, 0xEE); // same id, other content
    auto to_nobody = envelope("nobody", 2);
    auto wrong_devices = envelope("bob", 3);
    wrong_devices.copies.push_back(EnvelopeCopy{"bob", 7, 1, Bytes(10, 3), 0});
    const std::vector<MailboxWrite> writes{
        MailboxWrite{first, 10},
        MailboxWrite{envelope("bob", 1), 11}, // a retry of the first
        MailboxWrite{reused, 12},
        MailboxWrite{to_nobody, 13},
        MailboxWrite{wrong_devices, 14},
        MailboxWrite{MailboxAck{"bob", 1, {first.copies[0].delivery_id}}, 15},
        MailboxWrite{envelope("bob", 4), 16},
    };
    auto out = store->write_mailbox(writes);
    REQUIRE(out);
    REQUIRE(out->size() == writes.size());
    auto sent = [&](std::size_t i) -> const Result<EnqueueOutcome>& {
        return std::get<0>((*out)[i]);
    };
    REQUIRE(sent(0));
    CHECK(sent(0)->delivery_ids == std::vector<std::uint64_t>{first.copies[0].delivery_id});
    REQUIRE(sent(1));
    CHECK(sent(1)->duplicate);
    CHECK(sent(1)->server_timestamp_ms == 10);
    CHECK(sent(2).error().code == Errc::already_exists);
    CHECK(sent(3).error().code == Errc::not_found);
    CHECK(sent(4).error().code == Errc::refused);
    CHECK(std::get<1>((*out)[5]).value() == 1); // the first, stored earlier in the batch
    REQUIRE(sent(6));
    auto queued = store->queued("bob", 1, 0, 10);
    REQUIRE(queued);
    REQUIRE(queued->size() == 1);
    CHECK((*queued)[0].message_id == Bytes(16, 4));
    CHECK((*queued)[0].delivery_id == sent(6)->delivery_ids.at(0));
    CHECK(backend.count("SELECT COUNT(*) FROM sends") == 2);
    CHECK(store->find_send("alice", 1, Bytes(16, 3)).value() == std::nullopt);
}

TEMPLATE_TEST_CASE("the acks of one write_mailbox call each count the rows they delete, once",
                   "[store]", SqliteBackend, PostgresBackend) {
    TestType backend;
    auto store = backend.open();
    REQUIRE(store->create_account(account("alice"), 1));
    REQUIRE(store->create_account(account("bob"), 1));
    auto earlier = store->write_mailbox(std::vector<MailboxWrite>{
        MailboxWrite{envelope("bob", 1), 10},
        MailboxWrite{envelope("bob", 2), 10},
        MailboxWrite{NewEnvelope{"bob",
                                 1,
                                 "alice",
                                 false,
                                 Bytes(16, 3),
                                 Bytes(32, 3),
                                 {EnvelopeCopy{"alice", 1, 1, Bytes(10, 9), 0}}},
                     10},
    });
    REQUIRE(earlier);
    const auto id = [&](std::size_t i) {
        return std::get<0>((*earlier)[i]).value().delivery_ids[0];
    };
    const std::uint64_t r1 = id(0), r2 = id(1), to_alice = id(2);
    auto now = envelope("bob", 4);
    now.copies[0].delivery_id = store->allocate_delivery_id();
    const std::uint64_t r3 = now.copies[0].delivery_id;
    const std::vector<MailboxWrite> writes{
        MailboxWrite{now, 20},
        MailboxWrite{MailboxAck{"bob", 1, {r1, r1}}, 21},   // the same id twice in one ack
        MailboxWrite{MailboxAck{"bob", 1, {r1}}, 22},       // acked already in this batch
        MailboxWrite{MailboxAck{"bob", 1, {r3, r2}}, 23},   // one from this batch, one older
        MailboxWrite{MailboxAck{"bob", 1, {r3}}, 24},       // this batch's row, acked again
        MailboxWrite{MailboxAck{"bob", 1, {to_alice}}, 25}, // someone else's row
        MailboxWrite{MailboxAck{"bob", 9, {r2}}, 26},       // no such device
        MailboxWrite{MailboxAck{"nobody", 1, {r2}}, 27},    // no such account
        MailboxWrite{envelope("bob", 5), 28},
    };
    auto out = store->write_mailbox(writes);
    REQUIRE(out);
    REQUIRE(out->size() == writes.size());
    const auto acked = [&](std::size_t i) { return std::get<1>((*out)[i]).value(); };
    CHECK(acked(1) == 1);
    CHECK(acked(2) == 0);
    CHECK(acked(3) == 2);
    CHECK(acked(4) == 0);
    CHECK(acked(5) == 0);
    CHECK(acked(6) == 0);
    CHECK(acked(7) == 0);
    REQUIRE(std::get<0>((*out)[8]));
    auto bob = store->queued("bob", 1, 0, 10);
    REQUIRE(bob);
    REQUIRE(bob->size() == 1);
    CHECK((*bob)[0].message_id == Bytes(16, 5));
    auto alice = store->queued("alice", 1, 0, 10);
    REQUIRE(alice);
    REQUIRE(alice->size() == 1);
    CHECK((*alice)[0].delivery_id == to_alice);
    // The send acked inside the batch is still in the send log: a retry is a duplicate.
    auto retry =
        store->write_mailbox(std::vector<MailboxWrite>{MailboxWrite{envelope("bob", 4), 30}});
    REQUIRE(retry);
    REQUIRE(std::get<0>((*retry)[0]));
    CHECK(std::get<0>((*retry)[0])->duplicate);
}
