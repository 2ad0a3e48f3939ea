// RelayAdmin (core/admin_store.h), the operator's view of the store, against both backends
// (SqliteAdmin and PostgresAdmin beside the relay's own store on the same storage, see
// store_backends.h): what `veil-relay admin`, the admin listener and the mailbox quotas read.
#include "store_backends.h"

#include <algorithm>

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
    a.one_time_prekeys = {{1, Bytes(33, 1)}, {2, Bytes(33, 2)}, {3, Bytes(33, 3)}};
    return a;
}

// A 1:1 send of one copy from `from` (device 1) to device 1 of `to`; id makes it unique.
NewEnvelope envelope(const std::string& from, const std::string& to, std::uint32_t id) {
    Bytes message_id(16, 0);
    for (int i = 0; i < 4; ++i)
        message_id[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(id >> (8 * i));
    Bytes digest(32, 1);
    std::copy(message_id.begin(), message_id.end(), digest.begin());
    return NewEnvelope{from,
                       1,
                       to,
                       false,
                       message_id,
                       digest,
                       {EnvelopeCopy{to, 1, 1, Bytes(40, static_cast<std::uint8_t>(id)), 0}}};
}

} // namespace

TEMPLATE_TEST_CASE("the admin view lists accounts, devices and queues, and counts by sender",
                   "[store]", SqliteBackend, PostgresBackend) {
    TestType backend;
    auto store = backend.open();
    for (const char* name : {"alice", "bob", "carol"})
        REQUIRE(store->create_account(account(name), 1000));
    for (std::uint32_t i = 1; i <= 3; ++i)
        REQUIRE(store->enqueue(envelope("alice", "carol", i), 2000));
    REQUIRE(store->enqueue(envelope("bob", "carol", 100), 2000));
    auto admin = backend.open_admin();

    REQUIRE(admin->ping());
    CHECK(admin->queued_count().value() == 4);
    auto queue = admin->queue_of("carol");
    REQUIRE(queue);
    std::sort(queue->begin(), queue->end(),
              [](const auto& a, const auto& b) { return a.from_username < b.from_username; });
    REQUIRE(queue->size() == 2);
    CHECK((*queue)[0].from_username == "alice");
    CHECK((*queue)[0].queued == 3);
    CHECK((*queue)[0].device_id == 1);
    CHECK((*queue)[1].from_username == "bob");
    CHECK((*queue)[1].queued == 1);
    CHECK(admin->queue_of("alice").value().empty());

    auto accounts = admin->accounts();
    REQUIRE(accounts);
    REQUIRE(accounts->size() == 3);
    CHECK((*accounts)[2].username == "carol");
    CHECK((*accounts)[2].devices == 1);
    CHECK((*accounts)[2].created_ms == 1000);
    CHECK_FALSE((*accounts)[2].disabled);

    auto devices = admin->devices("carol");
    REQUIRE(devices);
    REQUIRE(devices->has_value());
    REQUIRE((*devices)->size() == 1);
    CHECK((**devices)[0].queued == 4);
    CHECK((**devices)[0].one_time_prekeys == 3);
    CHECK_FALSE((**devices)[0].removed_ms);
    auto nobody = admin->devices("nobody");
    REQUIRE(nobody);
    CHECK_FALSE(nobody->has_value());

    auto stats = admin->stats(1);
    REQUIRE(stats);
    CHECK(stats->accounts == 3);
    CHECK(stats->devices == 3);
    CHECK(stats->queued == 4);
    CHECK(stats->database_bytes > 0);
    REQUIRE(stats->top.size() == 1);
    CHECK(stats->top[0].username == "carol");
    CHECK(stats->top[0].queued == 4);
}

TEMPLATE_TEST_CASE("a disabled account stays disabled across reopening until it is enabled",
                   "[store]", SqliteBackend, PostgresBackend) {
    TestType backend;
    {
        auto store = backend.open();
        REQUIRE(store->create_account(account("alice"), 1));
        REQUIRE(store->create_account(account("bob"), 1));
    }
    {
        auto admin = backend.open_admin();
        REQUIRE(admin->set_disabled("bob", true, 5));
        REQUIRE(admin->set_disabled("bob", true, 6)); // again: no change, no error
        CHECK(admin->set_disabled("nobody", true, 5).error().code == Errc::not_found);
    }
    auto admin = backend.open_admin();
    CHECK(admin->disabled_accounts().value() == std::vector<std::string>{"bob"});
    CHECK(admin->stats(10).value().disabled_accounts == 1);
    auto accounts = admin->accounts().value();
    CHECK_FALSE(accounts[0].disabled);
    CHECK(accounts[1].disabled);
    REQUIRE(admin->set_disabled("bob", false, 7));
    CHECK(admin->disabled_accounts().value().empty());
}

TEMPLATE_TEST_CASE("invites are listed with their use, and only unused ones can be revoked",
                   "[store]", SqliteBackend, PostgresBackend) {
    TestType backend;
    auto store = backend.open();
    REQUIRE(store->create_invite("used", 10));
    REQUIRE(store->create_invite("fresh", 20));
    auto invited = account("alice");
    invited.invite_required = true;
    invited.invite_code = "used";
    REQUIRE(store->create_account(invited, 30));
    auto admin = backend.open_admin();

    auto invites = admin->invites();
    REQUIRE(invites);
    REQUIRE(invites->size() == 2);
    CHECK((*invites)[0].code == "used");
    CHECK((*invites)[0].used_ms == std::optional<std::int64_t>(30));
    CHECK((*invites)[1].code == "fresh");
    CHECK_FALSE((*invites)[1].used_ms);

    CHECK(admin->revoke_invite("used").error().code == Errc::not_found);
    REQUIRE(admin->revoke_invite("fresh"));
    CHECK(admin->revoke_invite("fresh").error().code == Errc::not_found);
    CHECK(admin->invites().value().size() == 1);
}

TEMPLATE_TEST_CASE("the audit scan visits every mailbox row once, in id order, across pages, "
                   "and stops when told",
                   "[store]", SqliteBackend, PostgresBackend) {
    TestType backend;
    auto store = backend.open();
    REQUIRE(store->create_account(account("alice"), 1));
    REQUIRE(store->create_account(account("bob"), 1));
    // More rows than the PostgreSQL scan reads in one page.
    constexpr std::uint32_t kRows = 2345;
    std::vector<MailboxWrite> writes;
    for (std::uint32_t i = 1; i <= kRows; ++i)
        writes.push_back(MailboxWrite{envelope("alice", "bob", i), 100});
    REQUIRE(store->write_mailbox(writes));
    auto admin = backend.open_admin();

    std::vector<std::int64_t> ids;
    REQUIRE(admin->for_each_record([&](const AuditRecord& r) {
        CHECK(r.kind == AuditRecord::Kind::mailbox);
        CHECK(r.mailbox == "bob/1");
        CHECK(r.ciphertext.size() == 40);
        CHECK(r.stored_ms == 100);
        ids.push_back(r.id);
        return true;
    }));
    CHECK(ids.size() == kRows);
    CHECK(std::is_sorted(ids.begin(), ids.end()));
    CHECK(std::adjacent_find(ids.begin(), ids.end()) == ids.end());

    std::size_t visited = 0;
    REQUIRE(admin->for_each_record([&](const AuditRecord&) { return ++visited < 3; }));
    CHECK(visited == 3);
}

TEST_CASE("on PostgreSQL the backup copies nothing and names the pg_dump command that does",
          "[store]") {
    PostgresBackend backend;
    auto store = backend.open();
    auto admin = backend.open_admin();
    const std::string dest = "/tmp/veil backup's/relay.pgdump";
    auto refused = admin->backup_to(dest);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == Errc::invalid_argument);
    CHECK(refused.error().message.find("pg_dump --format=custom --file='/tmp/veil backup'\\''s/"
                                       "relay.pgdump' --dbname='" +
                                       backend.db.conninfo() + "'") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dest));
}

TEST_CASE("on SQLite the backup is a consistent copy the admin view opens", "[store]") {
    SqliteBackend backend;
    {
        auto store = backend.open();
        REQUIRE(store->create_account(account("alice"), 1));
        REQUIRE(store->create_account(account("bob"), 1));
        REQUIRE(store->enqueue(envelope("alice", "bob", 7), 100));
    }
    auto admin = backend.open_admin();
    const auto copy = backend.dir.path() / "copy";
    std::filesystem::create_directories(copy);
    REQUIRE(admin->backup_to((copy / "relay.db").string()));
    auto restored = SqliteAdmin::open(copy.string());
    REQUIRE(restored);
    CHECK((*restored)->queued_count().value() == 1);
    CHECK((*restored)->accounts().value().size() == 2);
}
