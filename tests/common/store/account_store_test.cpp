// The account database as a file: creation, opening, wrong passphrases, damage, encryption at
// rest and which SQLite the process links.
#include "store/account_store.h"
#include "store_fixture.h"

#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <map>
#include <memory>
#include <sys/stat.h>

using namespace veil;
using namespace veil::store;
using namespace veil::store::test;

namespace {

std::map<std::string, std::string> snapshot(const std::filesystem::path& dir) {
    std::map<std::string, std::string> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        files[entry.path().filename().string()] = read_file(entry.path());
    return files;
}

unsigned mode_of(const std::filesystem::path& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 0777;
}

// Fills the database with enough rows that it spans many pages.
void fill(AccountStore& store) {
    AccountStore::Transaction tx(store);
    REQUIRE(tx.begun().ok());
    for (int i = 0; i < 200; ++i) {
        auto row = incoming("peer" + std::to_string(i % 7), static_cast<std::uint8_t>(i),
                            std::string(180, static_cast<char>('a' + i % 26)), 1000 + i);
        row.message_id[0] = static_cast<std::uint8_t>(i >> 8);
        REQUIRE(store.insert_message(row).ok());
        REQUIRE(store.add_contact("contact" + std::to_string(i), i).ok());
    }
    REQUIRE(tx.commit().ok());
}

// Opens the damaged profile and reads everything; returns the first error, if any. Any
// outcome but a crash or a wrong answer is acceptable as long as the damage is reported.
std::optional<Error> open_and_read_all(const TempProfile& profile) {
    auto store = AccountStore::open(profile.dir(), passphrase());
    if (!store)
        return store.error();
    auto& s = *store.value();
    for (int i = 0; i < 7; ++i) {
        auto rows = s.messages("peer" + std::to_string(i), 1000);
        if (!rows)
            return rows.error();
    }
    if (auto c = s.contacts(); !c)
        return c.error();
    if (auto c = s.conversations(); !c)
        return c.error();
    if (auto st = s.check_integrity(); !st)
        return st.error();
    return std::nullopt;
}

} // namespace

TEST_CASE("a created profile opens again with the same passphrase", "[store]") {
    TempProfile profile;
    {
        auto store = create_store(profile);
        AccountInfo info{"alice", "wss://relay.example", 3, true};
        REQUIRE(store->set_account(info).ok());
    }
    REQUIRE(AccountStore::exists(profile.dir()));
    auto store = open_store(profile);
    auto info = store->account();
    REQUIRE(info.ok());
    CHECK(info->username == "alice");
    CHECK(info->relay_url == "wss://relay.example");
    CHECK(info->device_id == 3);
    CHECK(info->registered);
}

TEST_CASE("a new account has no account info yet", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    auto info = store->account();
    REQUIRE_FALSE(info.ok());
    CHECK(info.error().code == Errc::not_found);
}

TEST_CASE("create refuses an existing profile and an empty passphrase", "[store]") {
    TempProfile profile;
    auto empty = AccountStore::create(profile.dir(), SecretBytes(), fast_kdf());
    REQUIRE_FALSE(empty.ok());
    CHECK(empty.error().code == Errc::invalid_argument);
    CHECK_FALSE(AccountStore::exists(profile.dir()));

    auto store = create_store(profile);
    store.reset();
    auto again = AccountStore::create(profile.dir(), passphrase(), fast_kdf());
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().code == Errc::already_exists);
    CHECK(open_store(profile) != nullptr);
}

TEST_CASE("opening a folder without a profile fails with not_found", "[store]") {
    TempProfile profile;
    auto store = AccountStore::open(profile.dir(), passphrase());
    REQUIRE_FALSE(store.ok());
    CHECK(store.error().code == Errc::not_found);
    CHECK_FALSE(AccountStore::exists(profile.dir()));
}

TEST_CASE("the profile folder is private and the kdf file records cost and salt", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    CHECK(mode_of(profile.dir()) == 0700);
    CHECK(mode_of(profile.db()) == 0600);
    CHECK(mode_of(profile.dir() / "kdf") == 0600);

    auto kdf = read_file(profile.dir() / "kdf");
    CHECK(kdf.rfind("veil-kdf 1\nargon2id t=1 m=64 p=1\nsalt ", 0) == 0);
    CHECK(kdf.size() == std::string("veil-kdf 1\nargon2id t=1 m=64 p=1\nsalt \n").size() + 32);
}

TEST_CASE("two profiles get different salts", "[store]") {
    TempProfile a, b;
    create_store(a);
    create_store(b);
    CHECK(read_file(a.dir() / "kdf") != read_file(b.dir() / "kdf"));
}

TEST_CASE("a wrong passphrase is refused and leaves the profile byte-identical", "[store]") {
    TempProfile profile;
    {
        auto store = create_store(profile);
        REQUIRE(store->add_contact("bob", 1).ok());
    }
    auto before = snapshot(profile.dir());
    REQUIRE(before.count("account.db") == 1);

    std::string long_passphrase(10'000, 'x');
    for (const auto& wrong :
         {std::string("correct horse battery stapler"), std::string(), long_passphrase}) {
        auto store = AccountStore::open(profile.dir(), SecretBytes::from_string(wrong));
        REQUIRE_FALSE(store.ok());
        CHECK(store.error().code == Errc::wrong_passphrase);
        CHECK(snapshot(profile.dir()) == before);
    }
    auto store = open_store(profile);
    CHECK(store->is_contact("bob").value());
}

TEST_CASE("the database file is encrypted and no planted plaintext reaches the disk", "[store]") {
    const std::string planted_text = "planted message text 7f3a9c0e";
    const std::string planted_contact = "planted-contact-b4d2e1";
    const std::string planted_setting = "planted setting value 55aa";
    TempProfile profile;
    auto store = create_store(profile);
    REQUIRE(store->add_contact(planted_contact, 1).ok());
    REQUIRE(store->insert_message(incoming(planted_contact, 1, planted_text, 10)).ok());
    PendingItem pending{0, message_id(2), planted_contact, to_bytes(planted_text)};
    REQUIRE(store->add_pending(pending).ok());
    REQUIRE(store->set_setting("cursor", planted_setting).ok());

    auto check_folder = [&] {
        auto files = snapshot(profile.dir());
        REQUIRE(files.count("account.db") == 1);
        CHECK(files["account.db"].rfind("SQLite format 3", 0) == std::string::npos);
        for (const auto& [name, content] : files) {
            INFO(name);
            CHECK(content.find(planted_text) == std::string::npos);
            CHECK(content.find(planted_contact) == std::string::npos);
            CHECK(content.find(planted_setting) == std::string::npos);
            CHECK(content.find("CREATE TABLE") == std::string::npos);
        }
        return files;
    };
    // While open the writes sit in the -wal file; after close they are checkpointed.
    auto open_files = check_folder();
    CHECK(open_files.count("account.db-wal") == 1);
    store.reset();
    check_folder();
}

TEST_CASE("a flipped byte in the middle of account.db is reported, not a crash", "[store]") {
    TempProfile profile;
    {
        auto store = create_store(profile);
        fill(*store);
    }
    auto content = read_file(profile.db());
    REQUIRE(content.size() >= 16 * 4096);
    content[content.size() / 2 + 123] ^= 0x01;
    write_file(profile.db(), content);

    auto error = open_and_read_all(profile);
    REQUIRE(error.has_value());
    INFO(error->message);
    CHECK((error->code == Errc::corrupt || error->code == Errc::wrong_passphrase));
}

TEST_CASE("a damaged first page reads as a wrong passphrase or corruption", "[store]") {
    TempProfile profile;
    create_store(profile);
    auto content = read_file(profile.db());
    content[100] ^= 0x40;
    write_file(profile.db(), content);
    auto store = AccountStore::open(profile.dir(), passphrase());
    REQUIRE_FALSE(store.ok());
    CHECK((store.error().code == Errc::corrupt || store.error().code == Errc::wrong_passphrase));
}

TEST_CASE("a truncated account.db is reported as damaged", "[store]") {
    TempProfile profile;
    {
        auto store = create_store(profile);
        fill(*store);
    }
    auto content = read_file(profile.db());
    const auto pages = content.size() / 4096;
    REQUIRE(pages >= 16);

    SECTION("cut in the middle of a page") {
        write_file(profile.db(), content.substr(0, content.size() / 2 + 1000));
        auto store = AccountStore::open(profile.dir(), passphrase());
        REQUIRE_FALSE(store.ok());
        CHECK(store.error().code == Errc::corrupt);
    }
    SECTION("cut at a page boundary") {
        write_file(profile.db(), content.substr(0, pages / 2 * 4096));
        auto error = open_and_read_all(profile);
        REQUIRE(error.has_value());
        INFO(error->message);
        CHECK((error->code == Errc::corrupt || error->code == Errc::wrong_passphrase));
    }
    SECTION("cut to nothing") {
        write_file(profile.db(), "");
        auto store = AccountStore::open(profile.dir(), passphrase());
        REQUIRE_FALSE(store.ok());
        CHECK(store.error().code == Errc::corrupt);
    }
}

TEST_CASE("a damaged or missing kdf file is reported as corrupt", "[store]") {
    TempProfile profile;
    create_store(profile);
    const auto kdf = profile.dir() / "kdf";
    SECTION("missing") {
        std::filesystem::remove(kdf);
    }
    SECTION("unknown version") {
        write_file(kdf, "veil-kdf 9\n");
    }
    SECTION("absurd memory cost") {
        write_file(kdf, "veil-kdf 1\nargon2id t=1 m=4294967295 p=1\nsalt "
                        "00112233445566778899aabbccddeeff\n");
    }
    SECTION("short salt") {
        write_file(kdf, "veil-kdf 1\nargon2id t=1 m=64 p=1\nsalt 0011\n");
    }
    auto store = AccountStore::open(profile.dir(), passphrase());
    REQUIRE_FALSE(store.ok());
    CHECK(store.error().code == Errc::corrupt);
}

TEST_CASE("an intact database passes the integrity check", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    fill(*store);
    CHECK(store->check_integrity().ok());
}

TEST_CASE("the test binary links SQLCipher and never plain SQLite", "[store]") {
    // ldd must be given the real path: "/proc/self/exe" read by ldd would be ldd's loader.
    auto self = std::filesystem::read_symlink("/proc/self/exe");
    std::string command = "ldd '" + self.string() + "'";
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
    REQUIRE(pipe);
    std::string output;
    std::array<char, 4096> buffer{};
    while (auto n = std::fread(buffer.data(), 1, buffer.size(), pipe.get()))
        output.append(buffer.data(), n);
    INFO(output);
    CHECK(output.find("libsqlcipher.so") != std::string::npos);
    CHECK(output.find("libsqlite3.so") == std::string::npos);
}

TEST_CASE("create ignores a write-ahead log left by a deleted database", "[store]") {
    TempProfile profile;
    {
        auto store = create_store(profile);
        REQUIRE(store->add_contact("old", 1).ok());
        // Copy the live log before close checkpoints and deletes it.
        std::filesystem::copy_file(profile.dir() / "account.db-wal", profile.dir() / "old-wal");
    }
    std::filesystem::remove(profile.db());
    std::filesystem::remove(profile.dir() / "kdf");
    std::filesystem::rename(profile.dir() / "old-wal", profile.dir() / "account.db-wal");

    auto store = create_store(profile);
    CHECK(store->contacts().value().empty());
    store.reset();
    CHECK(open_store(profile)->contacts().value().empty());
}

TEST_CASE("a profile open in one place is refused elsewhere as busy, and free again once closed") {
    TempProfile profile;
    auto first = create_store(profile);
    auto second = AccountStore::open(profile.dir(), passphrase());
    REQUIRE_FALSE(second.ok());
    CHECK(second.error().code == Errc::busy);
    first.reset();
    auto third = AccountStore::open(profile.dir(), passphrase());
    CHECK(third.ok());
}

TEST_CASE("a reader connection sees the writer's commits and cannot write", "[store]") {
    TempProfile profile;
    auto writer = create_store(profile);
    REQUIRE(writer->set_account(AccountInfo{"alice", "ws://127.0.0.1:1", 1, false}).ok());
    auto reader = AccountStore::open_reader(profile.dir(), writer->database_key());
    REQUIRE(reader.ok());
    auto& r = *reader.value();
    CHECK(r.messages("bob", 10).value().empty());

    // A write committed after the reader opened is visible to its next read.
    REQUIRE(writer->insert_message(incoming("bob", 1, "hello", 1000)).ok());
    auto rows = r.messages("bob", 10);
    REQUIRE(rows.ok());
    REQUIRE(rows->size() == 1);
    CHECK(rows->front().text == "hello");
    CHECK(r.unread("bob").value() == 1);

    // Every write through the reader is refused and changes nothing.
    auto refused = r.mark_read("bob");
    REQUIRE_FALSE(refused.ok());
    // SQLite answers SQLITE_READONLY, which the store reports as an io error.
    CHECK(refused.error().code == Errc::io);
    CHECK_FALSE(r.add_contact("carol", 5).ok());
    CHECK(writer->unread("bob").value() == 1);
    CHECK(writer->contacts().value().empty());

    // The writer keeps writing while the reader is open (WAL).
    REQUIRE(writer->mark_read("bob").ok());
    CHECK(r.unread("bob").value() == 0);
}

TEST_CASE("a reader connection refuses a wrong key and a missing profile", "[store]") {
    TempProfile profile;
    auto writer = create_store(profile);
    SecretBytes wrong(32);
    auto bad = AccountStore::open_reader(profile.dir(), wrong);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == Errc::wrong_passphrase);
    auto missing = AccountStore::open_reader(profile.dir() / "nothing", writer->database_key());
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == Errc::not_found);
}
