// Group commits of mailbox writes (server/core/mailbox_committer.h) as RelayService uses them:
// the committer runs inline (commit_pending), so each test chooses exactly what shares a batch.
#include "relay_fixture.h"

#include "core/sqlite_db.h"

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

using namespace veil;
using namespace veil::relay;
using namespace veil::relay::test;

namespace {

// Forwards to a SqliteStore and counts the group commits (write_mailbox calls).
class CountingStore final : public RelayStore {
public:
    explicit CountingStore(RelayStore& inner)
        : m_inner(inner) {}

    Status create_account(const NewAccount& a, std::int64_t now) override {
        return m_inner.create_account(a, now);
    }
    Result<std::optional<DeviceRecord>> find_device(const std::string& u,
                                                    std::uint32_t d) override {
        return m_inner.find_device(u, d);
    }
    Status replace_signed_prekey(const std::string& u, std::uint32_t d,
                                 const SignedPrekeyRecord& p) override {
        return m_inner.replace_signed_prekey(u, d, p);
    }
    Status add_one_time_prekeys(const std::string& u, std::uint32_t d,
                                std::span<const OneTimePrekeyRecord> p) override {
        return m_inner.add_one_time_prekeys(u, d, p);
    }
    Result<std::uint32_t> count_one_time_prekeys(const std::string& u, std::uint32_t d) override {
        return m_inner.count_one_time_prekeys(u, d);
    }
    Result<std::optional<std::vector<PrekeyBundleRecord>>>
    take_prekey_bundles(const std::string& u, std::span<const std::uint32_t> ids) override {
        return m_inner.take_prekey_bundles(u, ids);
    }
    Result<std::optional<Bytes>> find_identity_key(const std::string& u) override {
        return m_inner.find_identity_key(u);
    }
    Result<std::uint32_t> add_device(const std::string& u, const NewDevice& d,
                                     std::int64_t now) override {
        return m_inner.add_device(u, d, now);
    }
    Result<std::optional<std::vector<DeviceInfoRecord>>>
    list_devices(const std::string& u) override {
        return m_inner.list_devices(u);
    }
    Status remove_device(const std::string& u, std::uint32_t d, std::int64_t now) override {
        return m_inner.remove_device(u, d, now);
    }
    Status touch_last_seen(std::span<const DeviceSeen> devices) override {
        return m_inner.touch_last_seen(devices);
    }
    Result<EnqueueOutcome> enqueue(const NewEnvelope& e, std::int64_t now) override {
        ++single_writes;
        return m_inner.enqueue(e, now);
    }
    Result<std::vector<StoredEnvelope>> queued(const std::string& u, std::uint32_t d,
                                               std::uint64_t after, std::size_t limit) override {
        return m_inner.queued(u, d, after, limit);
    }
    Result<std::size_t> ack(const std::string& u, std::uint32_t d,
                            std::span<const std::uint64_t> ids) override {
        ++single_writes;
        return m_inner.ack(u, d, ids);
    }
    Result<std::vector<MailboxWriteOutcome>>
    write_mailbox(std::span<const MailboxWrite> writes) override {
        if (before_commit)
            before_commit();
        batch_sizes.push_back(writes.size());
        return m_inner.write_mailbox(writes);
    }
    std::uint64_t allocate_delivery_id() override { return m_inner.allocate_delivery_id(); }
    Result<std::optional<SendRecord>> find_send(const std::string& from, std::uint32_t device,
                                                std::span<const std::uint8_t> id) override {
        return m_inner.find_send(from, device, id);
    }
    Result<PurgeOutcome> purge_before(std::int64_t cutoff, std::int64_t now) override {
        return m_inner.purge_before(cutoff, now);
    }
    Status create_invite(const std::string& code, std::int64_t now) override {
        return m_inner.create_invite(code, now);
    }
    Result<std::optional<GroupRecord>> find_group(std::span<const std::uint8_t> g) override {
        return m_inner.find_group(g);
    }
    Result<std::optional<GroupMembership>> find_group_member(std::span<const std::uint8_t> g,
                                                             const std::string& u) override {
        return m_inner.find_group_member(g, u);
    }
    Result<std::vector<GroupChangeRecord>> group_changes(std::span<const std::uint8_t> g,
                                                         std::uint64_t after, std::uint64_t upto,
                                                         std::size_t limit) override {
        return m_inner.group_changes(g, after, upto, limit);
    }
    Result<std::vector<DeviceAddress>> devices_of(std::span<const std::string> u) override {
        return m_inner.devices_of(u);
    }

    std::vector<std::size_t> batch_sizes; // one entry per group commit
    int single_writes = 0;                // enqueue and ack outside group commits
    std::function<void()> before_commit;

private:
    RelayStore& m_inner;
};

RelayService::Options inline_group_commit() {
    RelayService::Options options;
    options.group_commit = true;
    options.commit_thread = false;
    return options;
}

// alice, carol and bob; alice and carol online, bob offline; the service writes through a
// CountingStore in group commits that the test triggers.
struct GroupCommit : RelayFixture {
    CountingStore counting{*store};
    TestUser alice = make_user("alice");
    TestUser bob = make_user("bob");
    TestUser carol = make_user("carol");
    Session alice_session{1};
    Session carol_session{2};
    // The frames each request was answered with, by request id, in the order they came.
    std::map<std::uint64_t, std::vector<wire::Envelope>> replies;
    std::vector<std::uint64_t> reply_order;

    GroupCommit() {
        service = std::make_unique<RelayService>(counting, clock, inline_group_commit());
        service->set_router(&router);
        register_offline(bob);
        REQUIRE(register_user(alice_session, alice)[0].has_auth_result());
        REQUIRE(register_user(carol_session, carol)[0].has_auth_result());
        router.pushes.clear();
    }

    ~GroupCommit() { service.reset(); } // before counting goes

    // Hands e over asynchronously; returns true if its answer waits for a commit.
    bool submit(Session& session, const wire::Envelope& e) {
        const std::uint64_t id = e.request_id();
        auto answered =
            service->handle(session, protocol::encode_envelope(e), [this, id](auto frames) {
                replies[id] = parse_all(frames);
                reply_order.push_back(id);
            });
        if (answered) {
            replies[id] = parse_all(*answered);
            reply_order.push_back(id);
        }
        return !answered;
    }

    wire::Envelope ack_request(std::vector<std::uint64_t> ids) {
        auto e = request(next_id++);
        for (auto id : ids)
            e.mutable_ack_request()->add_delivery_ids(id);
        return e;
    }

    std::vector<StoredEnvelope> bobs_mailbox() {
        auto queued = store->queued("bob", 1, 0, 1000);
        REQUIRE(queued);
        return *queued;
    }
};

} // namespace

TEST_CASE("a batch of sends from many connections commits once and every sender is answered only "
          "after the commit") {
    GroupCommit f;
    std::vector<std::uint64_t> ids;
    for (std::uint8_t i = 0; i < 20; ++i) {
        auto e = f.send_request("bob", message_id(i), "ciphertext " + std::to_string(i));
        ids.push_back(e.request_id());
        REQUIRE(f.submit(i % 2 ? f.carol_session : f.alice_session, e));
    }
    std::size_t answered_at_commit = 99;
    f.counting.before_commit = [&] { answered_at_commit = f.replies.size(); };
    CHECK(f.replies.empty());
    CHECK(f.router.pushes.size() == 20); // recipients do not wait for the disk

    CHECK(f.service->commit_pending() == 20);

    CHECK(answered_at_commit == 0);
    REQUIRE(f.counting.batch_sizes == std::vector<std::size_t>{20});
    CHECK(f.counting.single_writes == 0);
    CHECK(f.reply_order == ids);
    for (auto id : ids) {
        REQUIRE(f.replies[id].size() == 1);
        CHECK(f.replies[id][0].request_id() == id);
        CHECK(f.replies[id][0].has_send_result());
    }
    CHECK(f.router.pushes.size() == 20);
    CHECK(f.bobs_mailbox().size() == 20);
    CHECK(f.service->commit_pending() == 0);
}

TEST_CASE("online recipients get their envelopes before the commit and senders only after it",
          "[sqlite-only]") {
    GroupCommit f;
    const auto db = (f.dir.path() / "data" / "relay.db").string();
    veil::relay::SqliteDb reader(db); // sees only what was committed (WAL)
    std::vector<std::int64_t> committed_at_push;
    std::vector<std::size_t> answered_at_push;
    f.router.on_push = [&](const Push& p) {
        auto& q = reader.statement("SELECT COUNT(*) FROM mailbox WHERE delivery_id = ?");
        veil::relay::StatementUse use(q);
        q.bind(1, static_cast<std::int64_t>(p.deliver.deliver().delivery_id()));
        REQUIRE(q.step());
        committed_at_push.push_back(q.column_int64(0));
        answered_at_push.push_back(f.replies.size());
    };
    std::vector<std::uint64_t> ids;
    for (std::uint8_t i = 0; i < 5; ++i) {
        auto e = f.send_request("carol", message_id(i), "to carol " + std::to_string(i));
        ids.push_back(e.request_id());
        REQUIRE(f.submit(f.alice_session, e));
    }

    CHECK(f.service->commit_pending() == 5);

    REQUIRE(f.router.pushes.size() == 5);
    CHECK(committed_at_push == std::vector<std::int64_t>(5, 0));
    CHECK(answered_at_push == std::vector<std::size_t>(5, 0));
    for (std::size_t i = 0; i < 5; ++i) {
        CHECK(f.router.pushes[i].username == "carol");
        REQUIRE(f.replies[ids[i]].size() == 1);
        CHECK(f.replies[ids[i]][0].has_send_result());
    }
    auto carols = f.store->queued("carol", 1, 0, 100);
    REQUIRE(carols);
    CHECK(carols->size() == 5); // durable once the senders hear of it
}

TEST_CASE("the same message id twice in one batch is stored once and both sends succeed") {
    GroupCommit f;
    auto first = f.send_request("bob", message_id(7), "same");
    auto retry = f.send_request("bob", message_id(7), "same");
    auto conflict = f.send_request("bob", message_id(7), "different");
    REQUIRE(f.submit(f.alice_session, first));
    REQUIRE(f.submit(f.alice_session, retry));
    REQUIRE(f.submit(f.alice_session, conflict));

    CHECK(f.service->commit_pending() == 3);

    CHECK(f.counting.batch_sizes.size() == 1);
    REQUIRE(f.replies[first.request_id()][0].has_send_result());
    REQUIRE(f.replies[retry.request_id()][0].has_send_result());
    CHECK(f.replies[first.request_id()][0].send_result().server_timestamp_ms() ==
          f.replies[retry.request_id()][0].send_result().server_timestamp_ms());
    REQUIRE(f.replies[conflict.request_id()][0].has_error());
    CHECK(f.replies[conflict.request_id()][0].error().code() == wire::Error::CONFLICT);
    CHECK(f.router.pushes.size() == 1);
    CHECK(f.bobs_mailbox().size() == 1);
}

TEST_CASE("an online recipient's ack of a push lands in the send's batch and the envelope never "
          "stays in the mailbox") {
    GroupCommit f;
    Session bob_session(3);
    REQUIRE(f.auth(bob_session, f.bob).back().has_queue_drained());
    f.router.pushes.clear();

    auto send = f.send_request("bob", message_id(1), "acked before its commit");
    REQUIRE(f.submit(f.alice_session, send));
    // bob has it before it is durable, and acks it by the pushed delivery id.
    REQUIRE(f.router.pushes.size() == 1);
    auto ack = f.ack_request({f.router.pushes[0].deliver.deliver().delivery_id()});
    REQUIRE(f.submit(bob_session, ack));

    CHECK(f.service->commit_pending() == 2);

    CHECK(f.counting.batch_sizes == std::vector<std::size_t>{2});
    REQUIRE(f.replies[send.request_id()][0].has_send_result());
    CHECK(f.replies[ack.request_id()][0].has_ok());
    CHECK(f.bobs_mailbox().empty());
}

TEST_CASE("a storage failure mid-batch answers every item with UNAVAILABLE and stores nothing, "
          "and the retry gets a fresh delivery id",
          "[sqlite-only]") {
    GroupCommit f;
    f.router.pushes.clear();
    const auto db = (f.dir.path() / "data" / "relay.db").string();
    veil::relay::SqliteDb other(db);
    // The second envelope's insert fails inside the transaction, after the first one's.
    other.exec("CREATE TRIGGER fail_poison BEFORE INSERT ON mailbox"
               " WHEN NEW.ciphertext = CAST('poison' AS BLOB)"
               " BEGIN SELECT RAISE(ABORT, 'injected failure'); END");

    auto one = f.send_request("bob", message_id(1), "one");
    auto poison = f.send_request("bob", message_id(2), "poison");
    auto three = f.send_request("bob", message_id(3), "three");
    auto ack = f.ack_request({1});
    REQUIRE(f.submit(f.alice_session, one));
    REQUIRE(f.submit(f.carol_session, poison));
    REQUIRE(f.submit(f.alice_session, three));
    REQUIRE(f.submit(f.alice_session, ack));

    CHECK(f.service->commit_pending() == 4);

    for (const auto& e : {one, poison, three, ack}) {
        REQUIRE(f.replies[e.request_id()].size() == 1);
        REQUIRE(f.replies[e.request_id()][0].has_error());
        CHECK(f.replies[e.request_id()][0].error().code() == wire::Error::UNAVAILABLE);
    }
    // The three envelopes were pushed when they were queued (bob drops them by message id if
    // he sees the retries); none is stored.
    REQUIRE(f.router.pushes.size() == 3);
    CHECK(f.bobs_mailbox().empty());
    const auto failed_id = f.router.pushes[0].deliver.deliver().delivery_id();

    // Nothing of the batch reached the send log either: the retry is a new send, stored once
    // under a delivery id the failed batch never used, so an ack of the first push deletes
    // nothing of it.
    other.exec("DROP TRIGGER fail_poison");
    f.replies.clear();
    auto retry = one;
    retry.set_request_id(f.next_id++);
    REQUIRE(f.submit(f.alice_session, retry));
    CHECK(f.service->commit_pending() == 1);
    CHECK(f.replies[retry.request_id()][0].has_send_result());
    REQUIRE(f.router.pushes.size() == 4);
    const auto retry_id = f.router.pushes[3].deliver.deliver().delivery_id();
    CHECK(retry_id > failed_id);
    const auto mailbox = f.bobs_mailbox();
    REQUIRE(mailbox.size() == 1);
    CHECK(mailbox[0].delivery_id == retry_id);
}

TEST_CASE("requests other than sends and acks are answered at once under group commit") {
    GroupCommit f;
    auto status = request(f.next_id++);
    status.mutable_prekey_status_request();
    CHECK_FALSE(f.submit(f.alice_session, status));
    CHECK(f.replies[status.request_id()][0].has_prekey_status());

    // A send refused before it reaches the store needs no commit either.
    auto nobody = f.send_request("no such user!", message_id(1), "x");
    CHECK_FALSE(f.submit(f.alice_session, nobody));
    CHECK(f.replies[nobody.request_id()][0].error().code() == wire::Error::NOT_FOUND);
    CHECK(f.counting.batch_sizes.empty());
}

TEST_CASE("the synchronous handle writes each send in its own transaction, even with group "
          "commit on") {
    GroupCommit f;
    auto r = f.call(f.alice_session, f.send_request("bob", message_id(1), "hello"));
    REQUIRE(r.size() == 1);
    CHECK(r[0].has_send_result());
    CHECK(f.counting.single_writes == 1);
    CHECK(f.counting.batch_sizes.empty());
}

TEST_CASE("after stop_writes, queued writes are committed and new ones are refused with "
          "UNAVAILABLE") {
    GroupCommit f;
    auto queued = f.send_request("bob", message_id(1), "queued before the stop");
    REQUIRE(f.submit(f.alice_session, queued));
    f.service->stop_writes();
    CHECK(f.replies[queued.request_id()][0].has_send_result());

    auto late = f.send_request("bob", message_id(2), "after the stop");
    CHECK_FALSE(f.submit(f.alice_session, late));
    CHECK(f.replies[late.request_id()][0].error().code() == wire::Error::UNAVAILABLE);
    CHECK(f.bobs_mailbox().size() == 1);
}

TEST_CASE("a committer thread answers sends from many threads, each exactly once") {
    RelayService::Options options;
    options.group_commit = true;
    RelayFixture f(options);
    auto alice = f.make_user("alice");
    f.register_offline(alice);
    f.register_offline(f.make_user("bob"));
    constexpr int kThreads = 4;
    constexpr int kSends = 50;
    std::vector<Session> sessions;
    std::vector<std::vector<Bytes>> frames(kThreads);
    for (int t = 0; t < kThreads; ++t) {
        sessions.emplace_back(static_cast<std::uint64_t>(10 + t));
        REQUIRE(f.auth(sessions.back(), alice).back().has_queue_drained());
        for (int i = 0; i < kSends; ++i) {
            Bytes id = message_id(static_cast<std::uint8_t>(t));
            id[1] = static_cast<std::uint8_t>(i);
            frames[static_cast<std::size_t>(t)].push_back(
                protocol::encode_envelope(f.send_request("bob", id, "from a thread")));
        }
    }

    std::mutex mutex;
    std::condition_variable all_done;
    std::map<std::uint64_t, int> answers; // request id -> times answered
    int results = 0;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (const auto& frame : frames[static_cast<std::size_t>(t)]) {
                auto sync = f.service->handle(
                    sessions[static_cast<std::size_t>(t)], frame, [&](std::vector<Bytes> r) {
                        wire::Envelope e;
                        bool parsed = r.size() == 1 &&
                                      e.ParseFromArray(r[0].data(), static_cast<int>(r[0].size()));
                        std::lock_guard lock(mutex);
                        ++answers[e.request_id()];
                        results += parsed && e.has_send_result() ? 1 : 0;
                        all_done.notify_all();
                    });
                if (sync) {
                    std::lock_guard lock(mutex);
                    ++answers[0]; // never expected: sends go to the committer
                }
            }
        });
    for (auto& thread : threads)
        thread.join();
    {
        std::unique_lock lock(mutex);
        all_done.wait_for(lock, std::chrono::seconds(30),
                          [&] { return answers.size() == std::size_t{kThreads * kSends}; });
        CHECK(answers.size() == std::size_t{kThreads * kSends});
        CHECK(answers.count(0) == 0);
        CHECK(results == kThreads * kSends);
        for (const auto& [id, times] : answers)
            CHECK(times == 1);
    }
    f.service->stop_writes();
    auto queued = f.store->queued("bob", 1, 0, 1000);
    REQUIRE(queued);
    CHECK(queued->size() == std::size_t{kThreads * kSends});
    CHECK(f.router.pushes.size() == std::size_t{kThreads * kSends}); // from the committer only
}
