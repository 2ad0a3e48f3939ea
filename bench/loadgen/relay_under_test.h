// RelayUnderTest: a fresh veil-relay for one workload, started as the product runs it
// (`--listen 127.0.0.1:0 --data <scratch>`, default options and log level) in its own scratch
// folder, and stopped (SIGTERM) when the workload ends. Its log goes to relay.log in that folder.
//
// With VEIL_BENCH_RELAY_POSTGRES set to a libpq key=value string of a PostgreSQL superuser
// (scripts/bench.sh sets it for VEIL_BENCH_STORE=postgresql), the relay keeps its store in a
// fresh database made for it with psql (`--store`) and dropped when it stops; attachments stay
// in the scratch folder.
#pragma once

#include "loadgen/child_process.h"
#include "support/scratch_dir.h"

#include <memory>
#include <string>
#include <vector>

namespace veil::bench {

class RelayUnderTest {
public:
    // floor: start the raw floor (bench/raw_floor) instead of veil-relay. extra: more options
    // for veil-relay (a shared store and Redis for several nodes); with a --store of its own
    // there, VEIL_BENCH_RELAY_POSTGRES makes no database.
    explicit RelayUnderTest(const std::string& name, bool floor = false,
                            const std::vector<std::string>& extra = {});
    ~RelayUnderTest();
    RelayUnderTest(const RelayUnderTest&) = delete;
    RelayUnderTest& operator=(const RelayUnderTest&) = delete;

    std::uint16_t port() const { return m_process->port(); }
    ChildProcess& process() { return *m_process; }
    // Stops the relay and describes a crash, or returns an empty string for a clean exit.
    std::string stop_and_check();
    // The last lines of the relay's log, for a failure note.
    std::string log_tail(std::size_t lines = 5) const;

private:
    void drop_database();

    ScratchDir m_dir;
    std::unique_ptr<ChildProcess> m_process;
    std::string m_pg_server;   // the superuser connection string, or empty for SQLite
    std::string m_pg_database; // this relay's database while it exists
};

// "postgresql" when VEIL_BENCH_RELAY_POSTGRES is set, else "sqlite": the store B1-B5 measure.
std::string relay_store_kind();

} // namespace veil::bench
