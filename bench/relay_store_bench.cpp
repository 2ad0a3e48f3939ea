// B6, relay store: durable enqueue, then dequeue and delete, against the relay's SqliteStore
// (plain SQLite through the C API with cached statements, WAL) in a scratch folder, always through
// RelayStore.
//
//   synchronous   the relay without group commit: RelayStore::enqueue commits each send in its own
//                 transaction, and each delivery is acked (deleted) on its own, as the engine acks
//                 them. Durability::full (synchronous=FULL), one fsync per commit.
//   group commit  what the relay's MailboxCommitter does under load: `batch` sends per
//                 RelayStore::write_mailbox call (one transaction, one commit), and each drained
//                 page acked by one write_mailbox call. Measured at Durability::full and at
//                 Durability::normal (WAL synchronous=NORMAL, fsync at checkpoints only).
//
// With VEIL_BENCH_B6_POSTGRES set to a libpq connection string of a PostgreSQL server (its
// superuser; scripts/bench.sh starts a throwaway one with scripts/test-postgres.sh), the same
// three phases run again against PostgresStore, each in a fresh database, reported with the
// prefix pg_. Durability::full is synchronous_commit on, normal is off.
//
// This binary links the relay core (plain SQLite) and never SQLCipher (TOOLCHAIN.md).
#include "core/pg_db.h"
#include "core/postgres_store.h"
#include "core/sqlite_store.h"
#include "support/json_line.h"
#include "support/scratch_dir.h"
#include "support/stopwatch.h"
#include "support/workload.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace {

using namespace veil;
using namespace veil::bench;

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

void add_account(relay::RelayStore& store, const std::string& name, std::mt19937_64& rng) {
    relay::NewAccount account;
    account.username = name;
    account.identity_key = random_bytes(rng, 33);
    account.registration_id = 1;
    account.signed_prekey = {1, random_bytes(rng, 33), random_bytes(rng, 64)};
    need(store.create_account(account, now_ms()), "creating account " + name);
}

// Where a phase keeps its store: a SQLite folder, or (postgres non-empty) a fresh database of
// that name on the server.
struct Place {
    std::filesystem::path dir;
    std::string postgres; // the server's connection string, empty for SQLite
    std::string database;
};

// The server's connection string with another database name.
std::string with_database(const std::string& conninfo, const std::string& name) {
    return conninfo + " dbname=" + name; // a later keyword wins in libpq
}

// A fresh relay database with a sender (alice) and a recipient (bob), each with device 1.
std::unique_ptr<relay::RelayStore> fresh_store(const Place& place, relay::Durability durability,
                                               std::mt19937_64& rng) {
    std::unique_ptr<relay::RelayStore> store;
    if (place.postgres.empty()) {
        store = need(relay::SqliteStore::open(place.dir.string(), durability),
                     "opening the relay store");
    } else {
        try {
            relay::PgDb admin(place.postgres);
            admin.exec("DROP DATABASE IF EXISTS " + place.database);
            admin.exec("CREATE DATABASE " + place.database);
        } catch (const std::exception& e) {
            fail(std::string("creating a PostgreSQL database: ") + e.what());
        }
        store = need(
            relay::PostgresStore::open(with_database(place.postgres, place.database), durability),
            "opening the PostgreSQL store");
    }
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
    return relay::NewEnvelope{"alice",
                              1,
                              "bob",
                              false,
                              counter_id(n),
                              w.digest,
                              {relay::EnvelopeCopy{"bob", 1, 1, w.ciphertext, 0}}};
}

struct Phase {
    long messages = 0;
    double enqueue_s = 0;
    double drain_s = 0;
};

enum class AckMode {
    per_delivery,   // one RelayStore::ack call (one transaction) per delivery
    page_per_write, // one RelayStore::write_mailbox call with one ack of the whole page
};

// Reads bob's mailbox page by page and deletes what it read. Returns how many envelopes it
// deleted.
long drain(relay::RelayStore& store, AckMode mode) {
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
        if (mode == AckMode::page_per_write) {
            const std::size_t page_size = ids.size();
            const relay::MailboxWrite write{relay::MailboxAck{"bob", 1, std::move(ids)}, now_ms()};
            auto outcomes =
                need(store.write_mailbox(std::span<const relay::MailboxWrite>(&write, 1)),
                     "acking a page");
            const auto* acked = outcomes.size() == 1 ? std::get_if<1>(&outcomes[0]) : nullptr;
            if (acked == nullptr)
                fail("write_mailbox did not answer the ack with an ack outcome");
            const std::size_t n = need(*acked, "acking a page");
            if (n != page_size)
                fail("an ack deleted fewer deliveries than the page held");
            deleted += static_cast<long>(n);
            continue;
        }
        for (std::uint64_t id : ids)
            deleted += static_cast<long>(
                need(store.ack("bob", 1, std::span<const std::uint64_t>(&id, 1)), "acking"));
    }
}

Phase synchronous(const Place& place, const Workload& w, std::mt19937_64& rng) {
    auto store = fresh_store(place, relay::Durability::full, rng);
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
    if (drain(*store, AckMode::per_delivery) != p.messages)
        fail("the drain did not return every enqueued envelope");
    p.drain_s = clock.seconds();
    return p;
}

// Group commit as the relay's MailboxCommitter does it: `batch` sends per RelayStore::write_mailbox
// call (one transaction, one commit), then each drained page acked by one write_mailbox call.
Phase group_commit(const Place& place, const Workload& w, long batch, relay::Durability durability,
                   std::mt19937_64& rng) {
    auto store = fresh_store(place, durability, rng);
    Phase p;
    std::vector<relay::MailboxWrite> writes;
    writes.reserve(static_cast<std::size_t>(batch));
    Stopwatch clock;
    while (p.messages < w.messages && clock.seconds() < w.time_limit_s) {
        writes.clear();
        const std::int64_t arrived = now_ms();
        for (long i = 0; i < batch && p.messages + i < w.messages; ++i)
            writes.push_back({envelope(w, static_cast<std::uint64_t>(p.messages + i)), arrived});
        auto outcomes = need(store->write_mailbox(writes), "writing a batch of sends");
        if (outcomes.size() != writes.size())
            fail("write_mailbox returned the wrong number of outcomes");
        for (const auto& outcome : outcomes) {
            const auto* sent = std::get_if<0>(&outcome);
            if (sent == nullptr)
                fail("write_mailbox answered a send with an ack outcome");
            if (!*sent)
                fail("enqueueing in a batch", sent->error());
            if (sent->value().duplicate)
                fail("a fresh message id was taken for a retry");
        }
        p.messages += static_cast<long>(writes.size());
    }
    p.enqueue_s = clock.seconds();

    clock.restart();
    if (drain(*store, AckMode::page_per_write) != p.messages)
        fail("the drain did not return every enqueued envelope");
    p.drain_s = clock.seconds();
    return p;
}

double rate(long n, double seconds) {
    return seconds > 0 ? static_cast<double>(n) / seconds : 0;
}

void note_phase(const std::string& name, const Phase& p) {
    note("B6 " + name + ": " + std::to_string(p.messages) + " messages, enqueue " +
         std::to_string(p.enqueue_s) + " s, drain " + std::to_string(p.drain_s) + " s");
}

void add_phase(JsonLine& line, const std::string& prefix, const std::string& suffix,
               const Phase& p) {
    line.number(prefix + "_msgs_per_s" + suffix, rate(p.messages, p.enqueue_s + p.drain_s))
        .number(prefix + "_enqueue_per_s" + suffix, rate(p.messages, p.enqueue_s))
        .number(prefix + "_drain_per_s" + suffix, rate(p.messages, p.drain_s))
        .integer(prefix + "_messages" + suffix, p.messages);
}

} // namespace

int main() {
    quiet_logs();
    std::mt19937_64 rng(6);
    Workload w;
    w.ciphertext = random_bytes(rng, kCiphertextBytes);
    w.digest = random_bytes(rng, 32);
    w.messages = env_count("VEIL_BENCH_B6_MESSAGES", 50'000);
    w.time_limit_s = static_cast<double>(env_count("VEIL_BENCH_B6_SECONDS", 8));
    const long batch = env_count("VEIL_BENCH_B6_BATCH", 1000);

    ScratchDir scratch("veil-bench-b6");
    JsonLine line("B6");
    const char* postgres = std::getenv("VEIL_BENCH_B6_POSTGRES");
    for (const std::string backend : {"", "pg_"}) {
        if (!backend.empty() && (!postgres || !*postgres))
            break;
        const std::string server = backend.empty() ? "" : postgres;
        const std::string label = backend.empty() ? "SQLite" : "PostgreSQL";
        const Phase sync =
            synchronous(Place{scratch.path() / "sync", server, "veil_bench_b6_sync"}, w, rng);
        note_phase(label + " synchronous (durability full)", sync);
        const Phase full =
            group_commit(Place{scratch.path() / "group-full", server, "veil_bench_b6_full"}, w,
                         batch, relay::Durability::full, rng);
        note_phase(label + " group commit (" + std::to_string(batch) +
                       " per write_mailbox, durability full)",
                   full);
        const Phase normal =
            group_commit(Place{scratch.path() / "group-normal", server, "veil_bench_b6_normal"}, w,
                         batch, relay::Durability::normal, rng);
        note_phase(label + " group commit (" + std::to_string(batch) +
                       " per write_mailbox, durability normal)",
                   normal);
        add_phase(line, backend + "sync", "", sync);
        add_phase(line, backend + "group", "_full", full);
        add_phase(line, backend + "group", "_normal", normal);
    }
    line.integer("batch", batch);
    std::cout << line.str() << std::endl;
    return 0;
}
