// A fresh PostgreSQL database for one test, on the throwaway server that ctest's `postgres`
// fixture runs (scripts/test-postgres.sh). The server's connection string is read from
// $VEIL_TEST_PG_DIR/conninfo (default: the build's pg-test folder, VEIL_TEST_PG_DIR). Without a
// server the test fails with a sentence saying how to start one: it is never skipped.
#pragma once

#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <unistd.h>

namespace veil::test {

inline std::string postgres_server_dir() {
    const char* dir = std::getenv("VEIL_TEST_PG_DIR");
#ifdef VEIL_TEST_PG_DIR
    return dir && *dir ? dir : VEIL_TEST_PG_DIR;
#else
    return dir ? dir : "";
#endif
}

// The key=value fields of the server's connection string (host, port, user).
inline std::string postgres_server_conninfo() {
    const std::string dir = postgres_server_dir();
    std::ifstream in(dir + "/conninfo");
    std::string line;
    if (!std::getline(in, line) || line.empty())
        FAIL("no test PostgreSQL server: run the test through ctest (fixture `postgres`), or "
             "start one with scripts/test-postgres.sh start "
             << (dir.empty() ? "DIR" : dir) << " and set VEIL_TEST_PG_DIR");
    return line;
}

// Runs one SQL command on the server as its superuser; FAILs with PostgreSQL's message.
inline void postgres_admin_exec(const std::string& conninfo, const std::string& sql) {
    std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(conninfo.c_str()), &PQfinish);
    INFO(PQerrorMessage(conn.get()));
    REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
    std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(conn.get(), sql.c_str()), &PQclear);
    INFO(PQresultErrorMessage(r.get()));
    REQUIRE(PQresultStatus(r.get()) == PGRES_COMMAND_OK);
}

// A database of its own, created empty and dropped at the end (with any connections to it).
class PostgresTestDb {
public:
    PostgresTestDb() {
        static std::atomic<int> counter{0};
        std::random_device random;
        m_name = "veil_test_" + std::to_string(::getpid()) + "_" + std::to_string(++counter) + "_" +
                 std::to_string(random() % 1000000);
        m_server = postgres_server_conninfo();
        postgres_admin_exec(m_server, "CREATE DATABASE " + m_name);
        m_conninfo = m_server;
        auto at = m_conninfo.find("dbname=");
        m_conninfo = m_conninfo.substr(0, at) + "dbname=" + m_name;
    }
    ~PostgresTestDb() {
        std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(m_server.c_str()), &PQfinish);
        if (PQstatus(conn.get()) == CONNECTION_OK)
            PQclear(PQexec(conn.get(),
                           ("DROP DATABASE IF EXISTS " + m_name + " WITH (FORCE)").c_str()));
    }
    PostgresTestDb(const PostgresTestDb&) = delete;
    PostgresTestDb& operator=(const PostgresTestDb&) = delete;

    // key=value form, for libpq and --store.
    const std::string& conninfo() const { return m_conninfo; }
    const std::string& name() const { return m_name; }

    // The first column of the first row of a query, as a number (0 for NULL).
    long long query_int64(const std::string& sql) const {
        std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(m_conninfo.c_str()),
                                                          &PQfinish);
        REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
        std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(conn.get(), sql.c_str()), &PQclear);
        INFO(sql << ": " << PQresultErrorMessage(r.get()));
        REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
        REQUIRE(PQntuples(r.get()) >= 1);
        return PQgetisnull(r.get(), 0, 0) ? 0 : std::atoll(PQgetvalue(r.get(), 0, 0));
    }

    void exec(const std::string& sql) const { postgres_admin_exec(m_conninfo, sql); }

private:
    std::string m_name;
    std::string m_server;
    std::string m_conninfo;
};

} // namespace veil::test
