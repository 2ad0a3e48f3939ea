#include "loadgen/relay_under_test.h"

#include <cstdlib>
#include <deque>
#include <fstream>
#include <sys/wait.h>

namespace veil::bench {

namespace {

std::string binary(const char* env, const char* built) {
    const char* chosen = std::getenv(env);
    return chosen != nullptr && *chosen != '\0' ? chosen : built;
}

} // namespace

RelayUnderTest::RelayUnderTest(const std::string& name, bool floor,
                               const std::vector<std::string>& extra)
    : m_dir("veil-bench-" + name) {
    std::vector<std::string> argv;
    if (floor)
        argv = {binary("VEIL_BENCH_FLOOR", VEIL_BENCH_FLOOR_BIN), "--max-seconds", "300"};
    else
        argv = {binary("VEIL_BENCH_RELAY", VEIL_BENCH_RELAY_BIN), "--listen", "127.0.0.1:0",
                "--data", (m_dir.path() / "relay").string(),
                // The workloads measure throughput: one account sends far above a person's rate
                // limit and B4 queues 100,000 messages from one sender.
                "--no-limits"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    m_process = std::make_unique<ChildProcess>(argv, m_dir.path() / "relay.log");
}

std::string RelayUnderTest::stop_and_check() {
    if (!m_process->alive())
        return "the relay died during the workload (" + describe_status(m_process->stop()) +
               "); log: " + log_tail();
    int status = m_process->stop();
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return {};
    return "the relay ended badly at SIGTERM (" + describe_status(status) + ")";
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
