#include "loadgen/relay_under_test.h"

#include "support/workload.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

namespace veil::bench {

namespace {

std::string binary(const char* env, const char* built) {
    const char* chosen = std::getenv(env);
    return chosen != nullptr && *chosen != '\0' ? chosen : built;
}

// Runs psql with one SQL command against the server VEIL_BENCH_RELAY_POSTGRES names; true when
// it exits 0. psql is a child process so that the load generator itself links no database.
bool psql(const std::string& conninfo, const std::string& sql) {
    std::vector<std::string> argv = {"psql", "-X",     "-q", "-v", "ON_ERROR_STOP=1",
                                     "-d",   conninfo, "-c", sql};
    std::vector<char*> args;
    for (auto& a : argv)
        args.push_back(a.data());
    args.push_back(nullptr);
    pid_t pid = -1;
    if (::posix_spawnp(&pid, "psql", nullptr, nullptr, args.data(), environ) != 0)
        return false;
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid)
        return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

} // namespace

std::string relay_store_kind() {
    const char* pg = std::getenv("VEIL_BENCH_RELAY_POSTGRES");
    return pg != nullptr && *pg != '\0' ? "postgresql" : "sqlite";
}

RelayUnderTest::RelayUnderTest(const std::string& name, bool floor,
                               const std::vector<std::string>& extra)
    : m_dir("veil-bench-" + name) {
    std::vector<std::string> argv;
    if (floor)
        argv = {binary("VEIL_BENCH_FLOOR", VEIL_BENCH_FLOOR_BIN), "--max-seconds", "300"};
    else {
        argv = {binary("VEIL_BENCH_RELAY", VEIL_BENCH_RELAY_BIN), "--listen", "127.0.0.1:0",
                "--data", (m_dir.path() / "relay").string(),
                // The workloads measure throughput: one account sends far above a person's rate
                // limit and B4 queues 100,000 messages from one sender.
                "--no-limits"};
        const bool own_store = std::find(extra.begin(), extra.end(), "--store") != extra.end();
        if (relay_store_kind() == "postgresql" && !own_store) {
            static std::atomic<int> counter{0};
            m_pg_server = std::getenv("VEIL_BENCH_RELAY_POSTGRES");
            m_pg_database =
                "veil_bench_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
            if (!psql(m_pg_server, "CREATE DATABASE " + m_pg_database))
                fail("cannot create the PostgreSQL database " + m_pg_database +
                     " (VEIL_BENCH_RELAY_POSTGRES)");
            argv.push_back("--store");
            argv.push_back(m_pg_server + " dbname=" + m_pg_database);
        }
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    m_process = std::make_unique<ChildProcess>(argv, m_dir.path() / "relay.log");
}

RelayUnderTest::~RelayUnderTest() {
    m_process.reset();
    drop_database();
}

void RelayUnderTest::drop_database() {
    if (m_pg_database.empty())
        return;
    if (!psql(m_pg_server, "DROP DATABASE IF EXISTS " + m_pg_database + " WITH (FORCE)"))
        note("could not drop the PostgreSQL database " + m_pg_database);
    m_pg_database.clear();
}

std::string RelayUnderTest::stop_and_check() {
    if (!m_process->alive())
        return "the relay died during the workload (" + describe_status(m_process->stop()) +
               "); log: " + log_tail();
    int status = m_process->stop();
    drop_database();
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return {};
    return "the relay ended badly at SIGTERM (" + describe_status(status) + "); log: " + log_tail();
}

std::string RelayUnderTest::log_tail(std::size_t lines) const {
    std::ifstream in(m_dir.path() / "relay.log");
    std::deque<std::string> tail;
    std::string line;
    while (std::getline(in, line)) {
        tail.push_back(line);
        if (tail.size() > lines)
            tail.pop_front();
    }
    std::string out;
    for (const auto& l : tail)
        out += (out.empty() ? "" : " | ") + l;
    return out;
}

} // namespace veil::bench
