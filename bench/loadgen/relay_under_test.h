// RelayUnderTest: a fresh veil-relay for one workload, started as the product runs it
// (`--listen 127.0.0.1:0 --data <scratch>`, default options and log level) in its own scratch
// folder, and stopped (SIGTERM) when the workload ends. Its log goes to relay.log in that folder.
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
    // for veil-relay (a shared store and Redis for several nodes).
    explicit RelayUnderTest(const std::string& name, bool floor = false,
                            const std::vector<std::string>& extra = {});

    std::uint16_t port() const { return m_process->port(); }
    ChildProcess& process() { return *m_process; }
    // Stops the relay and describes a crash, or returns an empty string for a clean exit.
    std::string stop_and_check();
    // The last lines of the relay's log, for a failure note.
    std::string log_tail(std::size_t lines = 5) const;

private:
    ScratchDir m_dir;
    std::unique_ptr<ChildProcess> m_process;
};

} // namespace veil::bench
