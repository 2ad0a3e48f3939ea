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
// This binary links the relay core (plain SQLite) and never SQLCipher (TOOLCHAIN.md).
#include "core/sqlite_store.h"
#include "support/json_line.h"
#include "support/scratch_dir.h"
#include "support/stopwatch.h"
#include "support/workload.h"

#include <chrono>
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

void add_account(relay::SqliteStore& store, const std::string& name, std::mt19937_64& rng) {
    relay::NewAccount account;
    account.username = name;
    account.identity_key = random_bytes(rng, 33);
    account.registration_id = 1;
    account.signed_prekey = {1, random_bytes(rng, 33), random_bytes(rng, 64)};
    need(store.create_account(account, now_ms()), "creating account " + name);
}

// A fresh relay database with a sender (alice) and a recipient (bob), each with device 1.
std::unique_ptr<relay::SqliteStore>
fresh_store(const std::filesystem::path& dir, relay::Durability durability, std::mt19937_64& rng) {
    auto store =
        need(relay::SqliteStore::open(dir.string(), durability), "opening the relay store");
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
long drain(relay::SqliteStore& store, AckMode mode) {
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

Phase synchronous(const std::filesystem::path& dir, const Workload& w, std::mt19937_64& rng) {
    auto store = fresh_store(dir, relay::Durability::full, rng);
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
Phase group_commit(const std::filesystem::path& dir, const Workload& w, long batch,
                   relay::Durability durability, std::mt19937_64& rng) {
    auto store = fresh_store(dir, durability, rng);
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
    const Phase sync = synchronous(scratch.path() / "sync", w, rng);
    note_phase("synchronous (durability full)", sync);
    const Phase full =
        group_commit(scratch.path() / "group-full", w, batch, relay::Durability::full, rng);
    note_phase("group commit (" + std::to_string(batch) + " per write_mailbox, durability full)",
               full);
    const Phase normal =
        group_commit(scratch.path() / "group-normal", w, batch, relay::Durability::normal, rng);
    note_phase("group commit (" + std::to_string(batch) + " per write_mailbox, durability normal)",
               normal);

    JsonLine line("B6");
    add_phase(line, "sync", "", sync);
    add_phase(line, "group", "_full", full);
    add_phase(line, "group", "_normal", normal);
    line.integer("batch", batch);
    std::cout << line.str() << std::endl;
    return 0;
}
