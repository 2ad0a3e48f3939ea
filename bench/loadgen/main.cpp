// veil-bench-relay: the load generator (epoll, one thread, non-blocking sockets to 127.0.0.1
// only) and the relay workloads B1-B5. `veil-bench-relay b2` runs B2 and prints its JSON line
// on stdout; notes go to stderr. Every workload starts and stops its own relay and is bounded
// in count and in time (bench/README.md).
#include "loadgen/event_loop.h"
#include "loadgen/relay_under_test.h"
#include "loadgen/workloads.h"
#include "support/workload.h"

#include <csignal>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
    using namespace veil::bench;
    const std::string which = argc > 1 ? argv[1] : "";
    quiet_logs();
    std::signal(SIGPIPE, SIG_IGN);
    note("file descriptor limit " + std::to_string(raise_fd_limit()));
    JsonLine (*workload)() = nullptr;
    if (which == "b1")
        workload = run_b1_idle_connections;
    else if (which == "b2")
        workload = run_b2_one_to_one;
    else if (which == "b2x")
        workload = run_b2_two_nodes;
    else if (which == "b3")
        workload = run_b3_fan_out;
    else if (which == "b4")
        workload = run_b4_offline_drain;
    else if (which == "b5")
        workload = run_b5_reconnect_storm;
    else if (which == "b9")
        workload = run_b9_client_catchup;
    else
        fail("usage: veil-bench-relay b1|b2|b2x|b3|b4|b5|b9");
    // B2x starts its own PostgreSQL and Redis for its two nodes.
    const std::string store = which == "b2x" ? "postgresql+redis" : relay_store_kind();
    std::cout << workload().text("store", store).str() << std::endl;
    return 0;
}
