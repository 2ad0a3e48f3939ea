// The relay's storage backends as the store tests see them: each opens its RelayStore on storage
// of its own (a temporary folder, or a fresh PostgreSQL database on the test server), reopens it
// on the same storage, counts rows with SQL both dialects read, and can make the next send-log
// insert fail (for rollback tests). Store tests run once per backend (TEMPLATE_TEST_CASE).
#pragma once

#include "support/postgres_test_db.h"
#include "support/temp_dir.h"

#include "core/pg_db.h"
#include "core/postgres_admin.h"
#include "core/postgres_store.h"
#include "core/sqlite_admin.h"
#include "core/sqlite_db.h"
#include "core/sqlite_store.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <memory>
#include <string>

namespace veil::relay::test {

struct SqliteBackend {
    veil::test::TempDir dir;
    std::filesystem::path data = dir.path() / "data";

    std::unique_ptr<RelayStore> open() {
        auto store = SqliteStore::open(data.string());
        REQUIRE(store);
        return std::move(store.value());
    }
    // The operator's view of the same storage (open() first: it creates the store).
    std::unique_ptr<RelayAdmin> open_admin() {
        auto admin = SqliteAdmin::open(data.string());
        REQUIRE(admin);
        return std::move(admin.value());
    }
    std::int64_t count(const std::string& sql) {
        SqliteDb db((data / "relay.db").string());
        return db.query_int64(sql.c_str());
    }
    // Inserts into the send log of a digest of 32 zero bytes fail until heal().
    void break_sends() {
        SqliteDb db((data / "relay.db").string());
        db.exec("CREATE TRIGGER fail_sends BEFORE INSERT ON sends"
                " WHEN NEW.digest = zeroblob(32) BEGIN SELECT RAISE(ABORT, 'injected'); END");
    }
    void heal() {
        SqliteDb db((data / "relay.db").string());
        db.exec("DROP TRIGGER fail_sends");
    }
};

struct PostgresBackend {
    veil::test::PostgresTestDb db;

    std::unique_ptr<RelayStore> open() {
        auto store = PostgresStore::open(db.conninfo());
        INFO((store ? "" : store.error().message));
        REQUIRE(store);
        return std::move(store.value());
    }
    std::unique_ptr<RelayAdmin> open_admin() {
        auto admin = PostgresAdmin::open(db.conninfo());
        INFO((admin ? "" : admin.error().message));
        REQUIRE(admin);
        return std::move(admin.value());
    }
    std::int64_t count(const std::string& sql) { return db.query_int64(sql); }
    void break_sends() {
        db.exec("CREATE FUNCTION fail_sends() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                " IF NEW.digest = decode(repeat('00', 32), 'hex') THEN"
                " RAISE EXCEPTION 'injected'; END IF; RETURN NEW; END $$");
        db.exec("CREATE TRIGGER fail_sends BEFORE INSERT ON sends FOR EACH ROW"
                " EXECUTE FUNCTION fail_sends()");
    }
    void heal() { db.exec("DROP TRIGGER fail_sends ON sends"); }
};

} // namespace veil::relay::test
