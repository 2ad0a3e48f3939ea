// What PostgresStore does beyond the contract the shared store suite checks: its schema version
// table, delivery ids shared by several relays on one database, and the copy from SQLite
// (store_migration.h). Each case has a fresh database on the test server.
#include "relay_fixture.h"
#include "store_backends.h"

#include "core/store_migration.h"

#include <set>
#include <thread>

using namespace veil;
using namespace veil::relay;
using namespace veil::relay::test;

namespace {

NewAccount account(const std::string& name, std::uint8_t key = 5) {
    NewAccount a;
    a.username = name;
    a.identity_key = Bytes(33, key);
    a.registration_id = 42;
    a.signed_prekey = {1, Bytes(33, 6), Bytes(64, 7)};
    a.one_time_prekeys = {{1, Bytes(33, 1)}, {2, Bytes(33, 2)}, {3, Bytes(33, 3)}};
    return a;
}

NewEnvelope envelope(const std::string& from, const std::string& to, std::uint8_t id) {
    return NewEnvelope{from,
                       1,
                       to,
                       false,
                       Bytes(16, id),
                       Bytes(32, id),
                       {EnvelopeCopy{to, 1, 1, Bytes(10, id), 0}}};
}

const Bytes kGroup(16, 0x47);

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
    m.ciphertext = Bytes(300, id);
    m.content_digest = Bytes(32, id);
    m.unreachable = {"zed"};
    for (const auto& name : to)
        m.recipients.push_back(GroupRecipient{name, 1, 0});
    return m;
}

// Every envelope a device has queued, with every field that reaches a client.
std::vector<std::string> describe(RelayStore& store, const std::string& name, std::uint32_t id) {
    auto queued = store.queued(name, id, 0, 1000);
    REQUIRE(queued);
    std::vector<std::string> out;
    for (const auto& e : *queued) {
        std::string d =
            std::to_string(e.delivery_id) + "|" + e.from_username + "|" +
            std::to_string(e.from_device_id) + "|" + std::to_string(e.type) + "|" +
            std::to_string(e.server_timestamp_ms) + "|" + std::to_string(e.message_id.size()) +
            "|" + std::to_string(e.ciphertext.size()) + "|" + std::to_string(e.group_id.size());
        if (!e.ciphertext.empty())
            d += "|" + std::to_string(e.ciphertext.front());
        if (e.change)
            d += "|change " + std::to_string(e.change->revision) + " " + e.change->signer;
        if (e.expired)
            d += "|expired " + e.expired->to_username;
        out.push_back(d);
    }
    return out;
}

// A SQLite relay with a bit of everything: three accounts (bob with a second device and a
// removed third), used and unused invites, a group with a change and a message, 1:1 messages
// acked and not, an expiry notice.
std::uint64_t populate(RelayStore& store) {
    REQUIRE(store.create_invite("used", 1));
    REQUIRE(store.create_invite("unused", 1));
    auto alice = account("alice");
    alice.invite_required = true;
    alice.invite_code = "used";
    REQUIRE(store.create_account(alice, 1));
    REQUIRE(store.create_account(account("bob", 8), 1));
    REQUIRE(store.create_account(account("carol", 9), 1));
    const NewDevice laptop{Bytes(33, 8), 44, {2, Bytes(33, 6), Bytes(64, 7)}, {}, Bytes{1, 2}};
    REQUIRE(store.add_device("bob", laptop, 2).value() == 2);
    REQUIRE(store.add_device("bob", laptop, 2).value() == 3);
    REQUIRE(store.remove_device("bob", 3, 3));

    auto old = envelope("alice", "carol", 1); // expires undelivered: alice gets a notice
    REQUIRE(store.enqueue(old, 5));
    REQUIRE(store.purge_before(6, 7));
    REQUIRE(store.write_mailbox(
        std::vector<MailboxWrite>{MailboxWrite{creation({"alice", "bob", "carol"}), 10},
                                  MailboxWrite{group_message({"bob", "carol"}, 2), 11}}));
    auto to_bob = envelope("alice", "bob", 3);
    to_bob.copies.push_back(EnvelopeCopy{"bob", 2, 1, Bytes(10, 4), 0});
    auto stored = store.enqueue(to_bob, 12);
    REQUIRE(stored);
    std::uint64_t acked[] = {stored->delivery_ids.at(1)}; // the laptop read it
    REQUIRE(store.ack("bob", 2, acked).value() == 1);
    REQUIRE(store.enqueue(envelope("carol", "alice", 5), 13));
    REQUIRE(store.take_prekey_bundles("carol", {}));
    return store.allocate_delivery_id(); // pushed, never stored: above every stored id
}

} // namespace

TEST_CASE("the PostgreSQL schema version is kept in a table and a newer one is refused",
          "[store]") {
    PostgresBackend backend;
    backend.open();
    CHECK(backend.count("SELECT version FROM veil_schema") == PostgresStore::kSchemaVersion);
    CHECK(backend.count("SELECT COUNT(*) FROM veil_schema") == 1);
    backend.open(); // opens again as the newest version, without migrating twice
    CHECK(backend.count("SELECT COUNT(*) FROM veil_schema") == 1);
    backend.db.exec("UPDATE veil_schema SET version = version + 1");
    auto newer = PostgresStore::open(backend.db.conninfo());
    REQUIRE_FALSE(newer);
    CHECK(newer.error().code == Errc::database);
}

TEST_CASE("an unreachable PostgreSQL server is a database error, not a crash", "[store]") {
    auto store = PostgresStore::open("host=127.0.0.1 port=1 user=nobody dbname=none "
                                     "connect_timeout=2");
    REQUIRE_FALSE(store);
    CHECK(store.error().code == Errc::database);
}

TEST_CASE("two relays on one PostgreSQL database never hand out the same delivery id", "[store]") {
    PostgresBackend backend;
    auto first = backend.open();
    auto second = backend.open();
    REQUIRE(first->create_account(account("alice"), 1));
    REQUIRE(first->create_account(account("bob"), 1));
    std::vector<std::uint64_t> a;
    std::vector<std::uint64_t> b;
    std::thread one([&] {
        for (int i = 0; i < 5000; ++i)
            a.push_back(first->allocate_delivery_id());
    });
    std::thread two([&] {
        for (int i = 0; i < 5000; ++i)
            b.push_back(second->allocate_delivery_id());
    });
    one.join();
    two.join();
    std::set<std::uint64_t> all(a.begin(), a.end());
    all.insert(b.begin(), b.end());
    CHECK(all.size() == 10000);
    CHECK_FALSE(all.count(0));
    CHECK(std::is_sorted(a.begin(), a.end()));

    // Ids the stores pick themselves come from the same blocks; both relays write, and each
    // sees the other's commits.
    auto stored = second->enqueue(envelope("alice", "bob", 1), 2);
    REQUIRE(stored);
    CHECK_FALSE(all.count(stored->delivery_ids.at(0)));
    CHECK(first->queued("bob", 1, 0, 10)->size() == 1);
    CHECK(first->enqueue(envelope("alice", "bob", 1), 3)->duplicate);

    // A restarted relay reserves a new block above everything handed out before.
    const auto highest = *all.rbegin();
    first.reset();
    CHECK(backend.open()->allocate_delivery_id() > highest);
}

TEST_CASE("migrate copies every row of a SQLite relay into PostgreSQL, ids and all", "[store]") {
    SqliteBackend source;
    PostgresBackend target;
    std::uint64_t pushed = 0;
    source.open(); // a reopened SQLite store hands out ids far above the first block's
    {
        auto store = source.open();
        pushed = populate(*store);
    }
    REQUIRE(pushed > 100 * PostgresStore::kDeliveryIdBlock);
    auto report = migrate_sqlite_to_postgres(source.data.string(), target.db.conninfo());
    INFO((report ? "" : report.error().message));
    REQUIRE(report);
    CHECK(report->next_delivery_id > pushed);
    for (const auto& [table, rows] : report->rows) {
        INFO(table);
        const std::string sql = "SELECT COUNT(*) FROM " + table;
        CHECK(rows == source.count(sql));
        CHECK(target.count(sql) == rows);
    }
    CHECK(target.count("SELECT COUNT(*) FROM mailbox") > 0);
    CHECK(target.count("SELECT COUNT(*) FROM payloads") == 1);

    auto from = source.open();
    auto to = target.open();
    const std::pair<std::string, std::uint32_t> devices[] = {
        {"alice", 1}, {"bob", 1}, {"bob", 2}, {"bob", 3}, {"carol", 1}};
    for (const auto& [name, id] : devices) {
        INFO(name << " " << id);
        CHECK(describe(*to, name, id) == describe(*from, name, id));
        auto a = from->find_device(name, id).value();
        auto b = to->find_device(name, id).value();
        REQUIRE(a.has_value() == b.has_value());
        CHECK(b->removed == a->removed);
        CHECK(b->auth_key == a->auth_key);
        CHECK(b->identity_key == a->identity_key);
        CHECK(to->count_one_time_prekeys(name, id).value() ==
              from->count_one_time_prekeys(name, id).value());
    }
    auto listed = to->list_devices("bob");
    REQUIRE(listed);
    REQUIRE(listed->has_value());
    REQUIRE((*listed)->size() == 2);
    CHECK((*listed)->at(1).name == Bytes{1, 2});
    CHECK(to->find_group(kGroup).value()->revision == 1);
    CHECK(to->find_group_member(kGroup, "alice").value()->admin);
    CHECK(to->group_changes(kGroup, 0, 10, 10).value().size() == 1);
    auto send = to->find_send("alice", 1, Bytes(16, 2)).value();
    REQUIRE(send.has_value());
    CHECK(send->unreachable == std::vector<std::string>{"zed"});

    // What the relay does next on the target: a retried send is a duplicate, used invites and
    // taken names stay taken, device numbers continue, and no delivery id comes back.
    auto retry = envelope("carol", "alice", 5);
    CHECK(to->enqueue(retry, 20).value().duplicate);
    auto bob_laptop = NewDevice{Bytes(33, 8), 44, {2, Bytes(33, 6), Bytes(64, 7)}, {}, {}};
    CHECK(to->add_device("bob", bob_laptop, 21).value() == 4);
    CHECK(to->create_invite("unused", 21).error().code == Errc::already_exists);
    auto dave = account("dave");
    dave.invite_required = true;
    dave.invite_code = "used";
    CHECK(to->create_account(dave, 21).error().code == Errc::refused);
    dave.invite_code = "unused";
    CHECK(to->create_account(dave, 21));
    CHECK(to->allocate_delivery_id() > pushed);
    auto fresh = to->enqueue(envelope("dave", "carol", 9), 22);
    REQUIRE(fresh);
    CHECK(fresh->delivery_ids.at(0) > pushed);
    // The group payload goes with the last ack, through the copied trigger's twin.
    for (const char* name : {"bob", "carol"}) {
        auto queued = to->queued(name, 1, 0, 10).value();
        std::vector<std::uint64_t> ids;
        for (const auto& e : queued)
            if (!e.change && e.group_id == kGroup)
                ids.push_back(e.delivery_id);
        REQUIRE(ids.size() == 1);
        CHECK(to->ack(name, 1, ids).value() == 1);
    }
    CHECK(target.count("SELECT COUNT(*) FROM payloads") == 0);
}

TEST_CASE("migrate refuses a target that holds relay data unless told to replace it", "[store]") {
    SqliteBackend source;
    PostgresBackend target;
    {
        auto store = source.open();
        populate(*store);
    }
    {
        auto other = target.open();
        REQUIRE(other->create_account(account("mallory"), 1));
    }
    auto refused = migrate_sqlite_to_postgres(source.data.string(), target.db.conninfo());
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == Errc::already_exists);
    CHECK(target.count("SELECT COUNT(*) FROM accounts") == 1);

    MigrationOptions replace;
    replace.replace_target = true;
    auto replaced = migrate_sqlite_to_postgres(source.data.string(), target.db.conninfo(), replace);
    REQUIRE(replaced);
    CHECK(target.count("SELECT COUNT(*) FROM accounts") == 3);
    CHECK(target.count("SELECT COUNT(*) FROM accounts WHERE username = 'mallory'") == 0);

    TempDir empty;
    auto missing = migrate_sqlite_to_postgres(empty.path().string(), target.db.conninfo());
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == Errc::not_found);
}
