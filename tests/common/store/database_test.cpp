// The SQLCipher wrapper, checked against a real profile: the key SQLCipher gets is the raw
// Argon2id output, and the page size must be set again on every open.
#define SQLITE_HAS_CODEC 1
#include "store/database.h"

#include "store/account_store.h"
#include "store/kdf_file.h"
#include "store_fixture.h"

#include <catch2/catch.hpp>

using namespace veil;
using namespace veil::store;
using namespace veil::store::test;

namespace {

SecretBytes profile_key(const TempProfile& profile) {
    auto kdf = read_kdf_file(profile.dir() / "kdf");
    REQUIRE(kdf.ok());
    CHECK(kdf->params.t_cost == fast_kdf().t_cost);
    CHECK(kdf->params.m_cost_kib == fast_kdf().m_cost_kib);
    auto key = derive_key(passphrase(), kdf->salt, kdf->params);
    REQUIRE(key.ok());
    return std::move(key.value());
}

} // namespace

TEST_CASE("the database key is the raw Argon2id output, not a SQLCipher passphrase", "[store]") {
    TempProfile profile;
    {
        auto store = create_store(profile);
        REQUIRE(store->add_contact("bob", 1).ok());
    }
    auto db = Database::open(profile.db(), false);
    REQUIRE(db.ok());
    REQUIRE(db->key(profile_key(profile)).ok());
    // With a raw key SQLCipher skips its own PBKDF2, so its iteration count cannot matter.
    REQUIRE(db->exec("PRAGMA cipher_page_size = 4096; PRAGMA kdf_iter = 1;").ok());
    REQUIRE(db->check_key().ok());
    CHECK(db->query_int("SELECT count(*) FROM contacts").value() == 1);
    CHECK(db->query_int("PRAGMA user_version").value() >= 1);
}

TEST_CASE("without the page size pragma the right key does not open the file", "[store]") {
    TempProfile profile;
    create_store(profile);
    auto db = Database::open(profile.db(), false);
    REQUIRE(db.ok());
    REQUIRE(db->key(profile_key(profile)).ok());
    auto st = db->check_key();
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().code == Errc::wrong_passphrase);
}

TEST_CASE("statements bind and read back every column type", "[store]") {
    TempProfile profile;
    create_store(profile);
    auto db = Database::open(profile.db(), false);
    REQUIRE(db.ok());
    REQUIRE(db->key(profile_key(profile)).ok());
    REQUIRE(db->exec("PRAGMA cipher_page_size = 4096;").ok());
    REQUIRE(db->exec("CREATE TEMP TABLE t (i, s, b, n)").ok());

    const Bytes blob{0, 1, 2, 0xff};
    auto insert = db->prepare("INSERT INTO t VALUES (?1, ?2, ?3, ?4)");
    REQUIRE(insert.ok());
    REQUIRE(insert->bind(1, std::int64_t{-5})
                .bind(2, "text")
                .bind_blob(3, blob)
                .bind_null(4)
                .run()
                .ok());
    auto select = db->prepare("SELECT i, s, b, n FROM t");
    REQUIRE(select.ok());
    REQUIRE(select->step().value());
    CHECK(select->column_int64(0) == -5);
    CHECK(select->column_text(1) == "text");
    CHECK(select->column_blob(2) == blob);
    CHECK(select->column_secret(2).size() == 4);
    CHECK(select->column_is_null(3));
    CHECK_FALSE(select->step().value());

    auto bad = db->prepare("SELECT * FROM no_such_table");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == Errc::database);
}
