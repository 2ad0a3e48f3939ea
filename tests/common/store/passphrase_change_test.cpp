// AccountStore::change_passphrase and open_with_key on real SQLCipher files, including changes
// interrupted at every step (store/passphrase_change.cpp explains the order).
#include "store_fixture.h"

#include "store/kdf_file.h"

#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

namespace veil::store::test {
namespace {

namespace fs = std::filesystem;

const SecretBytes& old_pass() {
    static const SecretBytes p = passphrase();
    return p;
}

const SecretBytes& new_pass() {
    static const SecretBytes p = passphrase("a new and longer passphrase");
    return p;
}

void add_contacts(AccountStore& store, int count) {
    AccountStore::Transaction tx(store);
    REQUIRE(tx.begun().ok());
    for (int i = 0; i < count; ++i)
        REQUIRE(store.add_contact("contact" + std::to_string(i), 1000 + i).ok());
    REQUIRE(tx.commit().ok());
}

std::size_t contact_count(AccountStore& store) {
    auto contacts = store.contacts();
    REQUIRE(contacts.ok());
    return contacts->size();
}

Errc open_error(const TempProfile& profile, const SecretBytes& pass) {
    auto store = AccountStore::open(profile.dir(), pass);
    REQUIRE_FALSE(store.ok());
    return store.error().code;
}

std::unique_ptr<AccountStore> open_with(const TempProfile& profile, const SecretBytes& pass) {
    auto store = AccountStore::open(profile.dir(), pass);
    INFO((store ? std::string() : store.error().message));
    REQUIRE(store.ok());
    return std::move(store.value());
}

} // namespace

TEST_CASE("after a passphrase change the old one fails, the new one opens and the data is intact",
          "[store]") {
    TempProfile profile;
    {
        auto store = create_store(profile);
        add_contacts(*store, 50);
        auto key_before = store->database_key();
        REQUIRE(store->change_passphrase(old_pass(), new_pass(), fast_kdf()).ok());
        auto key_after = store->database_key();
        CHECK(key_after.view().size() == 32);
        CHECK(!std::equal(key_before.view().begin(), key_before.view().end(),
                          key_after.view().begin()));
        // The open store goes on working under the new key.
        REQUIRE(store->add_contact("after", 5000).ok());
    }
    CHECK(open_error(profile, old_pass()) == Errc::wrong_passphrase);
    auto store = open_with(profile, new_pass());
    CHECK(contact_count(*store) == 51);
    CHECK(store->check_integrity().ok());
    CHECK_FALSE(fs::exists(profile.dir() / "kdf.next"));
    // The file stays encrypted: no SQLite header in clear.
    CHECK(read_file(profile.db()).substr(0, 15) != "SQLite format 3");
}

TEST_CASE("a passphrase change gives the kdf file a fresh salt", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    auto before = read_kdf_file(profile.dir() / "kdf");
    REQUIRE(before.ok());
    REQUIRE(store->change_passphrase(old_pass(), new_pass(), fast_kdf()).ok());
    auto after = read_kdf_file(profile.dir() / "kdf");
    REQUIRE(after.ok());
    CHECK(after->salt != before->salt);
}

TEST_CASE("a passphrase change needs the current passphrase and a non-empty new one", "[store]") {
    TempProfile profile;
    {
        auto store = create_store(profile);
        auto wrong = store->change_passphrase(passphrase("not it"), new_pass(), fast_kdf());
        REQUIRE_FALSE(wrong.ok());
        CHECK(wrong.error().code == Errc::wrong_passphrase);
        auto empty = store->change_passphrase(old_pass(), SecretBytes(), fast_kdf());
        REQUIRE_FALSE(empty.ok());
        CHECK(empty.error().code == Errc::invalid_argument);
        AccountStore::Transaction tx(*store);
        auto busy = store->change_passphrase(old_pass(), new_pass(), fast_kdf());
        REQUIRE_FALSE(busy.ok());
        CHECK(busy.error().code == Errc::busy);
    }
    CHECK_FALSE(fs::exists(profile.dir() / "kdf.next"));
    CHECK(open_error(profile, new_pass()) == Errc::wrong_passphrase);
    open_with(profile, old_pass());
}

TEST_CASE("the passphrase can change twice, and back", "[store]") {
    TempProfile profile;
    {
        auto store = create_store(profile);
        add_contacts(*store, 3);
        REQUIRE(store->change_passphrase(old_pass(), new_pass(), fast_kdf()).ok());
        REQUIRE(store->change_passphrase(new_pass(), old_pass(), fast_kdf()).ok());
    }
    CHECK(open_error(profile, new_pass()) == Errc::wrong_passphrase);
    CHECK(contact_count(*open_with(profile, old_pass())) == 3);
}

TEST_CASE("the database key opens the profile without the passphrase until it changes", "[store]") {
    TempProfile profile;
    SecretBytes key;
    {
        auto store = create_store(profile);
        add_contacts(*store, 2);
        key = store->database_key();
    }
    {
        auto store = AccountStore::open_with_key(profile.dir(), key);
        REQUIRE(store.ok());
        CHECK(contact_count(*store.value()) == 2);
        REQUIRE(store.value()->change_passphrase(old_pass(), new_pass(), fast_kdf()).ok());
    }
    auto stale = AccountStore::open_with_key(profile.dir(), key);
    REQUIRE_FALSE(stale.ok());
    CHECK(stale.error().code == Errc::wrong_passphrase);
    auto fresh_key = open_with(profile, new_pass())->database_key();
    auto again = AccountStore::open_with_key(profile.dir(), fresh_key);
    CHECK(again.ok());
}

TEST_CASE("a change interrupted before the re-encryption committed leaves the old passphrase, "
          "and its side file is dropped",
          "[store]") {
    TempProfile profile;
    {
        auto store = create_store(profile);
        add_contacts(*store, 5);
    }
    // What step 1 leaves: kdf.next with new parameters; the database still under the old key.
    KdfFile next{fast_kdf(), Bytes(kSaltBytes, 0x42)};
    REQUIRE(write_kdf_file(profile.dir() / "kdf.next", next).ok());

    CHECK(open_error(profile, new_pass()) == Errc::wrong_passphrase);
    CHECK(fs::exists(profile.dir() / "kdf.next"));
    CHECK(contact_count(*open_with(profile, old_pass())) == 5);
    CHECK_FALSE(fs::exists(profile.dir() / "kdf.next"));
}

TEST_CASE("a change interrupted after the re-encryption is finished by the next open with the "
          "new passphrase",
          "[store]") {
    TempProfile profile;
    std::string old_kdf;
    {
        auto store = create_store(profile);
        add_contacts(*store, 5);
        old_kdf = read_file(profile.dir() / "kdf");
        REQUIRE(store->change_passphrase(old_pass(), new_pass(), fast_kdf()).ok());
    }
    // What a crash between steps 2 and 3 leaves: the new parameters still in kdf.next and the
    // old ones in kdf, with the database under the new key.
    fs::rename(profile.dir() / "kdf", profile.dir() / "kdf.next");
    {
        std::ofstream out(profile.dir() / "kdf", std::ios::binary);
        out << old_kdf;
    }
    CHECK(open_error(profile, old_pass()) == Errc::wrong_passphrase);
    CHECK(fs::exists(profile.dir() / "kdf.next"));
    CHECK(contact_count(*open_with(profile, new_pass())) == 5);
    CHECK_FALSE(fs::exists(profile.dir() / "kdf.next"));
    // Settled: the kdf file alone now opens it.
    CHECK(contact_count(*open_with(profile, new_pass())) == 5);
}

// A real crash: a child process changes the passphrase of a database big enough that the
// re-encryption takes a while and is killed (SIGKILL) at a growing delay. Whatever moment the
// kill hits, exactly one passphrase opens the profile and every row is there.
TEST_CASE("a passphrase change killed at any moment leaves a profile that one of the two "
          "passphrases opens, whole",
          "[store][slow]") {
    constexpr int kRows = 3000;
    int old_seen = 0;
    int new_seen = 0;
    // -1: not killed, the change runs to its end (so both outcomes are seen on a slow machine).
    for (int delay_us : {0, 500, 2000, 5000, 10000, 20000, 40000, 80000, 160000, -1}) {
        TempProfile profile;
        {
            auto store = create_store(profile);
            add_contacts(*store, kRows);
        }
        pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            auto store = AccountStore::open(profile.dir(), old_pass());
            bool ok = store && store.value()->change_passphrase(old_pass(), new_pass(), fast_kdf());
            ::_exit(ok ? 0 : 1);
        }
        if (delay_us >= 0) {
            ::usleep(static_cast<useconds_t>(delay_us));
            ::kill(child, SIGKILL);
        }
        int status = 0;
        ::waitpid(child, &status, 0);
        if (delay_us < 0)
            REQUIRE((WIFEXITED(status) && WEXITSTATUS(status) == 0));

        INFO("killed after " << delay_us << " us");
        auto with_old = AccountStore::open(profile.dir(), old_pass());
        std::unique_ptr<AccountStore> store;
        if (with_old) {
            store = std::move(with_old.value());
            ++old_seen;
        } else {
            REQUIRE(with_old.error().code == Errc::wrong_passphrase);
            store = open_with(profile, new_pass());
            ++new_seen;
        }
        CHECK(contact_count(*store) == kRows);
        CHECK(store->check_integrity().ok());
        store.reset();
        // Whichever opened it, the leftover is settled and the other passphrase does not open.
        CHECK_FALSE(fs::exists(profile.dir() / "kdf.next"));
        CHECK(open_error(profile, with_old ? new_pass() : old_pass()) == Errc::wrong_passphrase);
    }
    // The delays span from "before anything" to "done".
    CHECK(old_seen > 0);
    CHECK(new_seen > 0);
}

} // namespace veil::store::test
