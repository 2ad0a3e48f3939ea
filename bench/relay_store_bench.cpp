// B6, relay store: durable enqueue, then dequeue and delete, against the relay's SqliteStore
// (plain SQLite through Poco::Data, WAL, synchronous=FULL) in a scratch folder.
//
// Two durability settings, both with one fsync'd commit per transaction:
//   synchronous  what the relay does today: RelayStore::enqueue commits each send on its own,
//                and each delivery is acked (deleted) on its own, as the engine acks them.
//   batched      group commit: `batch` sends per transaction, and the drained page acked in one
//                RelayStore::ack call. RelayStore has no batched enqueue, so this enqueue runs
//                through a direct Poco::Data path that issues the same statements as
//                SqliteStore::enqueue inside one transaction per batch. It is the ceiling a
//                group-committing relay could reach, not something the relay does yet.
//
// This binary links the relay core (plain SQLite) and never SQLCipher (TOOLCHAIN.md).
#include "core/sqlite_store.h"
#include "support/json_line.h"
#include "support/scratch_dir.h"
#include "support/stopwatch.h"
#include "support/workload.h"

#include <Poco/Data/LOB.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>

#include <chrono>
#include <iostream>
#include <random>

namespace {

using namespace veil;
using namespace veil::bench;
using namespace Poco::Data::Keywords;
using Poco::Int64;
using Poco::Data::BLOB;

constexpr std::size_t kCiphertextBytes = 256; // the B2 payload size
constexpr std::size_t kDrainPage = 500;       // RelayService::Options::drain_batch

std::int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

Bytes random_bytes(std::mt19937_64& rng, std::size_t n) {
    Bytes out(n);
    for (auto& b : out)
        b = static_cast<std::uint8_t>(rng());
    return out;
}

Bytes counter_id(std::uint64_t n) {
    Bytes id(16, 0);
    for (int i = 0; i < 8; ++i)
        id[15 - i] = static_cast<std::uint8_t>(n >> (8 * i));
    return id;
}

void add_account(relay::SqliteStore& store, const std::string& name, std::mt19937_64& rng) {
    relay::NewAccount account;
    account.username = name;
    account.identity_key = random_bytes(rng, 33);
    account.registration_id = 1;
    account.signed_prekey = {1, random_bytes(rng, 33), random_bytes(rng, 64)};
    need(store.create_account(account, now_ms()), "creating account " + name);
}

// A fresh relay database with a sender (alice) and a recipient (bob), each with device 1.
std::unique_ptr<relay::SqliteStore> fresh_store(const std::filesystem::path& dir,
                                                std::mt19937_64& rng) {
    auto store = need(relay::SqliteStore::open(dir.string()), "opening the relay store");
    add_account(*store, "alice", rng);
    add_account(*store, "bob", rng);
    return store;
}

struct Workload {
    Bytes ciphertext;
    Bytes digest;
    long messages = 0;
    double time_limit_s = 0;
};

relay::NewEnvelope envelope(const Workload& w, std::uint64_t n) {
    return relay::NewEnvelope{"alice", 1, "bob", 1, counter_id(n), 1, w.ciphertext, w.digest};
}

struct Phase {
    long messages = 0;
    double enqueue_s = 0;
    double drain_s = 0;
};

// Reads bob's mailbox page by page and deletes what it read, one ack call per delivery or one
// per page. Returns how many envelopes it deleted.
long drain(relay::SqliteStore& store, bool ack_per_page) {
    long deleted = 0;
    std::uint64_t after = 0;
    for (;;) {
        auto page = need(store.queued("bob", 1, after, kDrainPage), "reading the mailbox");
        if (page.empty())
            return deleted;
        std::vector<std::uint64_t> ids;
        for (const auto& e : page)
            ids.push_back(e.delivery_id);
        after = ids.back();
        if (ack_per_page) {
            deleted += static_cast<long>(need(store.ack("bob", 1, ids), "acking a page"));
            continue;
        }
        for (std::uint64_t id : ids)
            deleted += static_cast<long>(
                need(store.ack("bob", 1, std::span<const std::uint64_t>(&id, 1)), "acking"));
    }
}

Phase synchronous(const std::filesystem::path& dir, const Workload& w, std::mt19937_64& rng) {
    auto store = fresh_store(dir, rng);
    Phase p;
    Stopwatch clock;
    while (p.messages < w.messages && clock.seconds() < w.time_limit_s) {
        auto outcome =
            need(store->enqueue(envelope(w, static_cast<std::uint64_t>(p.messages)), now_ms()),
                 "enqueueing");
        if (outcome.duplicate)
            fail("a fresh message id was taken for a retry");
        ++p.messages;
    }
    p.enqueue_s = clock.seconds();

    clock.restart();
    if (drain(*store, false) != p.messages)
        fail("the drain did not return every enqueued envelope");
    p.drain_s = clock.seconds();
    return p;
}

// The statements of SqliteStore::enqueue (idempotency check, device lookup, mailbox insert, send
// log insert), issued the same way through Poco::Data, `batch` of them per transaction.
void enqueue_direct(Poco::Data::Session& s, const relay::NewEnvelope& env, Int64 now_value) {
    std::string from = env.from_username;
    Int64 from_device = env.from_device_id;
    BLOB message_id(env.message_id.data(), env.message_id.size());
    std::vector<BLOB> digest;
    std::vector<Int64> delivery, ts;
    s << "SELECT digest, delivery_id, server_ts FROM sends"
         " WHERE from_username = ? AND from_device = ? AND message_id = ?",
        use(from), use(from_device), use(message_id), into(digest), into(delivery), into(ts), now;
    if (!digest.empty())
        fail("a fresh message id was taken for a retry");

    std::vector<Int64> device;
    std::string to = env.to_username;
    Int64 to_device = env.to_device_id;
    s << "SELECT d.id FROM devices d JOIN accounts a ON a.id = d.account_id"
         " WHERE a.username = ? AND d.device_id = ?",
        use(to), use(to_device), into(device), now;
    if (device.empty())
        fail("the recipient device is missing");

    Int64 type = env.type;
    BLOB ciphertext(env.ciphertext.data(), env.ciphertext.size());
    s << "INSERT INTO mailbox (device, from_username, from_device, message_id, type,"
         " ciphertext, server_ts) VALUES (?, ?, ?, ?, ?, ?, ?)",
        use(device[0]), use(from), use(from_device), use(message_id), use(type), use(ciphertext),
        use(now_value), now;
    Int64 delivery_id = 0;
    s << "SELECT last_insert_rowid()", into(delivery_id), now;
    BLOB digest_blob(env.content_digest.data(), env.content_digest.size());
    s << "INSERT INTO sends (from_username, from_device, message_id, digest, delivery_id,"
         " server_ts) VALUES (?, ?, ?, ?, ?, ?)",
        use(from), use(from_device), use(message_id), use(digest_blob), use(delivery_id),
        use(now_value), now;
}

Phase batched(const std::filesystem::path& dir, const Workload& w, long batch,
              std::mt19937_64& rng) {
    fresh_store(dir, rng).reset(); // schema and accounts, then the store's connection closes
    Phase p;
    Stopwatch clock;
    try {
        Poco::Data::Session s("SQLite", (dir / "relay.db").string());
        // The settings SqliteStore::open applies to its own connection.
        s << "PRAGMA busy_timeout = 5000", now;
        s << "PRAGMA synchronous = FULL", now;
        s << "PRAGMA foreign_keys = ON", now;
        clock.restart();
        while (p.messages < w.messages && clock.seconds() < w.time_limit_s) {
            s << "BEGIN IMMEDIATE", now;
            Int64 now_value = now_ms();
            for (long i = 0; i < batch && p.messages < w.messages; ++i, ++p.messages)
                enqueue_direct(s, envelope(w, static_cast<std::uint64_t>(p.messages)), now_value);
            s << "COMMIT", now;
        }
        p.enqueue_s = clock.seconds();
    } catch (const std::exception& e) {
        fail(std::string("batched enqueue: ") + e.what());
    }

    auto store = need(relay::SqliteStore::open(dir.string()), "reopening the relay store");
    clock.restart();
    if (drain(*store, true) != p.messages)
        fail("the drain did not return every enqueued envelope");
    p.drain_s = clock.seconds();
    return p;
}

double rate(long n, double seconds) {
    return seconds > 0 ? static_cast<double>(n) / seconds : 0;
}

} // namespace

int main() {
    quiet_logs();
    Poco::Data::SQLite::Connector::registerConnector();
    std::mt19937_64 rng(6);
    Workload w;
    w.ciphertext = random_bytes(rng, kCiphertextBytes);
    w.digest = random_bytes(rng, 32);
    w.messages = env_count("VEIL_BENCH_B6_MESSAGES", 50'000);
    w.time_limit_s = static_cast<double>(env_count("VEIL_BENCH_B6_SECONDS", 8));
    const long batch = env_count("VEIL_BENCH_B6_BATCH", 1000);

    ScratchDir scratch("veil-bench-b6");
    Phase sync = synchronous(scratch.path() / "sync", w, rng);
    note("B6 synchronous: " + std::to_string(sync.messages) + " messages, enqueue " +
         std::to_string(sync.enqueue_s) + " s, drain " + std::to_string(sync.drain_s) + " s");
    Phase group = batched(scratch.path() / "batched", w, batch, rng);
    note("B6 batched (direct path, " + std::to_string(batch) +
         " per commit): " + std::to_string(group.messages) + " messages, enqueue " +
         std::to_string(group.enqueue_s) + " s, drain " + std::to_string(group.drain_s) + " s");

    JsonLine line("B6");
    line.number("sync_msgs_per_s", rate(sync.messages, sync.enqueue_s + sync.drain_s))
        .number("sync_enqueue_per_s", rate(sync.messages, sync.enqueue_s))
        .number("sync_drain_per_s", rate(sync.messages, sync.drain_s))
        .integer("sync_messages", sync.messages)
        .number("batched_msgs_per_s", rate(group.messages, group.enqueue_s + group.drain_s))
        .number("batched_enqueue_per_s", rate(group.messages, group.enqueue_s))
        .number("batched_drain_per_s", rate(group.messages, group.drain_s))
        .integer("batched_messages", group.messages)
        .integer("batch", batch)
        .text("batched_enqueue_path", "direct Poco::Data, SqliteStore's statements; "
                                      "RelayStore has no batched enqueue");
    std::cout << line.str() << std::endl;
    return 0;
}
