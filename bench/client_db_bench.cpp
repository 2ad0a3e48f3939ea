// B8, client database: the SQLCipher AccountStore of one account.
//
//   kdf_ms              Argon2id with the default KdfParams alone (derive_key).
//   open_ms             AccountStore::open of a profile made with the default KdfParams: what a
//                       person waits for after typing the passphrase (KDF + database).
//   open_ms_no_kdf      AccountStore::open of a profile made with the cheapest Argon2id cost
//                       (t=1, 8 KiB, well under a millisecond): the SQLCipher open alone, which
//                       the "opens in under 100 ms" target is about.
//   open_ms_large       the same cheap-KDF open of the database after the insert below.
//   insert_msgs_per_s   AccountStore::insert_message into 100 conversations, 1000 per
//                       Transaction. 300,000 messages by default, not 1 M: at about 10,000
//                       inserts/s on 2 cores, 1 M takes over 90 s a run, three runs too long for
//                       `make bench`. VEIL_BENCH_B8_MESSAGES=1000000 runs the full size. A safety
//                       time limit stops the insert early; "messages" says how many went in.
//   like_scan_ms        the search baseline: SELECT count(*) ... WHERE text LIKE '%word%' over
//                       every message. The store has no search yet (FTS4 is issue #6) and no API
//                       for it, so this query runs on a direct SQLCipher connection keyed the way
//                       AccountStore keys its own; "fts_ms" is null until FTS4 lands.
//   like_scan_ms_1m     like_scan_ms scaled linearly to 1 M messages (a full scan is linear in
//                       the rows), an estimate for comparing with the 1 M search target.
//   quick_check_ms      PRAGMA quick_check over the large database (what every app open runs,
//                       AccountStore::check_integrity), and integrity_check_ms, the full check
//                       that also matches every index against its table.
//   snapshot_ms         AccountStore::snapshot_if_older writing one snapshot of the large
//                       database (backup API copy, then open and quick_check of the copy).
//
// This binary links the client store (SQLCipher) and never plain SQLite (TOOLCHAIN.md).
#include "store/account_store.h"
#include "store/kdf_file.h"
#include "support/json_line.h"
#include "support/scratch_dir.h"
#include "support/stopwatch.h"
#include "support/workload.h"

#include <sqlite3.h>

#include <array>
#include <iostream>
#include <random>

namespace {

using namespace veil;
using namespace veil::bench;
namespace fs = std::filesystem;

constexpr store::KdfParams kCheapKdf{1, 8, 1};
constexpr long kPeers = 100;
constexpr long kTransactionSize = 1000;
// One message in kNeedleEvery carries the word the search looks for.
constexpr long kNeedleEvery = 10'000;
constexpr const char* kNeedle = "quokka";

SecretBytes passphrase() {
    return SecretBytes::from_string("correct horse battery staple");
}

double kdf_ms() {
    std::vector<double> sample;
    const Bytes salt(store::kSaltBytes, 7);
    for (int i = 0; i < 3; ++i) {
        Stopwatch clock;
        need(store::derive_key(passphrase(), salt, store::KdfParams{}), "deriving a key");
        sample.push_back(clock.milliseconds());
    }
    return median(sample);
}

// The median time of `times` AccountStore::open calls on an existing profile.
double open_ms(const fs::path& profile, int times) {
    std::vector<double> sample;
    for (int i = 0; i < times; ++i) {
        Stopwatch clock;
        auto store = need(store::AccountStore::open(profile, passphrase()), "opening");
        sample.push_back(clock.milliseconds());
    }
    return median(sample);
}

double open_ms_fresh(const fs::path& profile, const store::KdfParams& kdf, int times) {
    need(store::AccountStore::create(profile, passphrase(), kdf), "creating a profile").reset();
    return open_ms(profile, times);
}

// Chat-like text: 5 to 15 words from a small vocabulary.
std::string message_text(std::mt19937_64& rng, bool needle) {
    static const std::array<const char*, 24> words = {
        "hello", "see",    "you",  "tomorrow", "at",    "the",     "station", "thanks",
        "for",   "dinner", "did",  "get",      "my",    "message", "running", "late",
        "call",  "me",     "when", "free",     "photo", "looks",   "great",   "ok"};
    std::string text;
    const auto n = 5 + rng() % 11;
    for (std::uint64_t i = 0; i < n; ++i) {
        if (!text.empty())
            text += ' ';
        text += words[rng() % words.size()];
    }
    if (needle)
        text += std::string(" ") + kNeedle;
    return text;
}

store::MessageRow message(std::mt19937_64& rng, long n) {
    store::MessageRow row;
    row.peer = "peer-" + std::to_string(n % kPeers);
    row.message_id.assign(16, 0);
    for (int i = 0; i < 8; ++i)
        row.message_id[15 - static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(n >> (8 * i));
    row.direction = n % 2 == 0 ? store::Direction::incoming : store::Direction::outgoing;
    row.sender = row.direction == store::Direction::incoming ? row.peer : "me";
    row.text = message_text(rng, n % kNeedleEvery == 0);
    row.sent_at_ms = 1'700'000'000'000 + n;
    row.received_at_ms = row.sent_at_ms + 5;
    row.status = row.direction == store::Direction::incoming ? store::MessageStatus::received
                                                             : store::MessageStatus::delivered;
    return row;
}

struct Inserted {
    long messages = 0;
    double seconds = 0;
};

Inserted insert_messages(store::AccountStore& store, long limit, double seconds) {
    std::mt19937_64 rng(8);
    Inserted done;
    Stopwatch clock;
    while (done.messages < limit && clock.seconds() < seconds) {
        store::AccountStore::Transaction tx(store);
        need(tx.begun(), "beginning a transaction");
        for (long i = 0; i < kTransactionSize && done.messages < limit; ++i, ++done.messages)
            need(store.insert_message(message(rng, done.messages)), "inserting a message");
        need(tx.commit(), "committing messages");
    }
    done.seconds = clock.seconds();
    return done;
}

struct CloseDb {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct FinalizeStmt {
    void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};

// A direct SQLCipher connection to the profile's database, keyed like AccountStore keys its
// own: Argon2id from the kdf file, handed to sqlite3_key as a raw x'<hex>' key.
std::unique_ptr<sqlite3, CloseDb> open_direct(const fs::path& profile) {
    auto kdf = need(store::read_kdf_file(profile / "kdf"), "reading the kdf file");
    auto key = need(store::derive_key(passphrase(), kdf.salt, kdf.params), "deriving the key");
    static const char digits[] = "0123456789abcdef";
    SecretBytes text(3 + 2 * key.size());
    auto* out = text.data();
    *out++ = 'x';
    *out++ = '\'';
    for (auto b : key.view()) {
        *out++ = static_cast<std::uint8_t>(digits[b >> 4]);
        *out++ = static_cast<std::uint8_t>(digits[b & 0xf]);
    }
    *out = '\'';

    sqlite3* raw = nullptr;
    int rc =
        sqlite3_open_v2((profile / "account.db").c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr);
    std::unique_ptr<sqlite3, CloseDb> db(raw);
    if (rc != SQLITE_OK)
        fail("opening the database directly failed");
    if (sqlite3_key(db.get(), text.data(), static_cast<int>(text.size())) != SQLITE_OK ||
        sqlite3_exec(db.get(), "PRAGMA cipher_page_size = 4096;", nullptr, nullptr, nullptr) !=
            SQLITE_OK)
        fail("keying the direct connection failed");
    return db;
}

// Runs the LIKE scan `times` times; returns the median milliseconds and checks the hit count.
double like_scan_ms(const fs::path& profile, long messages, int times) {
    auto db = open_direct(profile);
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db.get(), "SELECT count(*) FROM messages WHERE text LIKE ?1", -1, &raw,
                           nullptr) != SQLITE_OK)
        fail(std::string("preparing the scan: ") + sqlite3_errmsg(db.get()));
    std::unique_ptr<sqlite3_stmt, FinalizeStmt> stmt(raw);
    const std::string pattern = std::string("%") + kNeedle + "%";
    sqlite3_bind_text(stmt.get(), 1, pattern.c_str(), -1, SQLITE_TRANSIENT);

    const long expected = (messages + kNeedleEvery - 1) / kNeedleEvery;
    std::vector<double> sample;
    for (int i = 0; i < times; ++i) {
        Stopwatch clock;
        if (sqlite3_step(stmt.get()) != SQLITE_ROW)
            fail(std::string("running the scan: ") + sqlite3_errmsg(db.get()));
        const long hits = static_cast<long>(sqlite3_column_int64(stmt.get(), 0));
        sample.push_back(clock.milliseconds());
        sqlite3_reset(stmt.get());
        if (hits != expected)
            fail("the scan found " + std::to_string(hits) + " messages, expected " +
                 std::to_string(expected));
    }
    return median(sample);
}

// The median milliseconds of `times` runs of a check pragma, which must answer "ok".
double check_ms(const fs::path& profile, const char* pragma, int times) {
    auto db = open_direct(profile);
    std::vector<double> sample;
    for (int i = 0; i < times; ++i) {
        sqlite3_stmt* raw = nullptr;
        Stopwatch clock;
        if (sqlite3_prepare_v2(db.get(), pragma, -1, &raw, nullptr) != SQLITE_OK)
            fail(std::string("preparing the check: ") + sqlite3_errmsg(db.get()));
        std::unique_ptr<sqlite3_stmt, FinalizeStmt> stmt(raw);
        if (sqlite3_step(stmt.get()) != SQLITE_ROW)
            fail(std::string("running the check: ") + sqlite3_errmsg(db.get()));
        const auto* text = sqlite3_column_text(stmt.get(), 0);
        sample.push_back(clock.milliseconds());
        if (!text || std::string(reinterpret_cast<const char*>(text)) != "ok")
            fail("the intact database failed its check");
    }
    return median(sample);
}

// The median milliseconds of `times` snapshots of the profile (each into an empty folder).
double snapshot_ms(const fs::path& profile, int times) {
    std::vector<double> sample;
    auto store = need(store::AccountStore::open(profile, passphrase()), "opening");
    for (int i = 0; i < times; ++i) {
        fs::remove_all(profile / "snapshots");
        Stopwatch clock;
        if (!need(store->snapshot_if_older(1, 1), "writing a snapshot"))
            fail("no snapshot was written");
        sample.push_back(clock.milliseconds());
    }
    return median(sample);
}

double file_mib(const fs::path& file) {
    std::error_code ec;
    auto size = fs::file_size(file, ec);
    return ec ? 0 : static_cast<double>(size) / (1024.0 * 1024.0);
}

} // namespace

int main() {
    quiet_logs();
    const long limit = env_count("VEIL_BENCH_B8_MESSAGES", 300'000);
    const double seconds = static_cast<double>(env_count("VEIL_BENCH_B8_SECONDS", 120));
    ScratchDir scratch("veil-bench-b8");

    const double kdf = kdf_ms();
    const double open_default = open_ms_fresh(scratch.path() / "default-kdf", {}, 3);
    const double open_cheap = open_ms_fresh(scratch.path() / "cheap-kdf", kCheapKdf, 9);
    note("B8 open: Argon2id " + std::to_string(kdf) + " ms, open " + std::to_string(open_default) +
         " ms with it, " + std::to_string(open_cheap) + " ms without");

    const fs::path big = scratch.path() / "large";
    Inserted inserted;
    {
        auto store = need(store::AccountStore::create(big, passphrase(), kCheapKdf), "creating");
        inserted = insert_messages(*store, limit, seconds);
    }
    note("B8 insert: " + std::to_string(inserted.messages) + " messages in " +
         std::to_string(inserted.seconds) + " s, " + std::to_string(file_mib(big / "account.db")) +
         " MiB");
    const double open_large = open_ms(big, 3);
    const double scan = like_scan_ms(big, inserted.messages, 3);
    note("B8 search: LIKE scan " + std::to_string(scan) + " ms; FTS4 not implemented yet (#6)");
    const double quick = check_ms(big, "PRAGMA quick_check", 3);
    const double full = check_ms(big, "PRAGMA integrity_check", 3);
    const double snapshot = snapshot_ms(big, 3);
    note("B8 checks: quick_check " + std::to_string(quick) + " ms, integrity_check " +
         std::to_string(full) + " ms, snapshot " + std::to_string(snapshot) + " ms");

    JsonLine line("B8");
    line.number("kdf_ms", kdf)
        .number("open_ms", open_default)
        .number("open_ms_no_kdf", open_cheap)
        .number("open_ms_large", open_large)
        .number("insert_msgs_per_s", static_cast<double>(inserted.messages) / inserted.seconds)
        .integer("messages", inserted.messages)
        .number("db_mib", file_mib(big / "account.db"))
        .number("like_scan_ms", scan)
        .number("like_scan_ms_1m", scan * 1e6 / static_cast<double>(inserted.messages))
        .null("fts_ms")
        .number("quick_check_ms", quick)
        .number("integrity_check_ms", full)
        .number("snapshot_ms", snapshot);
    std::cout << line.str() << std::endl;
    return 0;
}
