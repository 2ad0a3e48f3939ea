// ChildProcess: a relay under test (veil-relay or the raw floor), started by the load generator
// and always stopped by it. The child's stdout is read until it names its port ("listening on
// 127.0.0.1:PORT"); all its output (the relay logs to stdout) goes to a file in the scratch
// folder, copied there by a thread for as long as the child runs.
//
// Every child still running when the process exits (also through fail()) gets SIGKILL from an
// exit handler, so no relay outlives its workload.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

namespace veil::bench {

class ChildProcess {
public:
    // Starts argv and waits up to 20 s for the port; fails the workload if it never comes.
    ChildProcess(std::vector<std::string> argv, const std::filesystem::path& log_file);
    ~ChildProcess(); // stop()
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const { return m_pid; }
    std::uint16_t port() const { return m_port; }

    // A numeric field of /proc/PID/status in its own unit (kB for Vm*), or -1.
    long status_field(const std::string& field) const;
    long rss_kib() const { return status_field("VmRSS"); }
    long peak_rss_kib() const { return status_field("VmHWM"); }
    long threads() const { return status_field("Threads"); }
    // False once the child has exited (a crash shows here).
    bool alive();

    // SIGTERM, then SIGKILL after 10 s. Returns the exit status as waitpid gave it, or -1 if
    // the child was gone already.
    int stop();

private:
    pid_t m_pid = -1;
    int m_stdout = -1;
    std::thread m_drain; // copies stdout into the log until the child closes it
    std::uint16_t m_port = 0;
    bool m_reaped = false;
    int m_status = 0;
};

// Describes how a child ended ("exit 0", "signal 11"), for notes and the JSON line.
std::string describe_status(int status);

} // namespace veil::bench
