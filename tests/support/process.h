// Child processes for end-to-end tests: real binaries, stdout/stderr captured to files, waits
// bounded by deadlines (never bare sleeps).
#pragma once

#include "support/temp_dir.h"

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace veil::test {

class Process {
public:
    // Starts argv[0] with the extra environment variables; output goes to files in log_dir.
    Process(std::vector<std::string> argv, std::map<std::string, std::string> env,
            const std::filesystem::path& log_dir, const std::string& name,
            const std::string& stdin_text = {});
    ~Process(); // SIGKILLs the child if it is still running
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    pid_t pid() const { return m_pid; }
    std::string out() const;
    std::string err() const;
    // Waits for the process to exit; returns its exit code (or 128+signal), nullopt on timeout.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    void signal(int sig);
    // Waits until stdout (or stderr) contains text; false on timeout or exit without it.
    bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout,
                         bool in_stderr = false);
    bool running();

private:
    pid_t m_pid = -1;
    std::optional<int> m_status;
    std::filesystem::path m_out;
    std::filesystem::path m_err;
};

struct Run {
    int code = -1;
    std::string out;
    std::string err;
};

// Runs a command to completion (bounded by timeout; a hang fails the test with code -1).
Run run(std::vector<std::string> argv, std::map<std::string, std::string> env,
        const std::filesystem::path& log_dir, const std::string& name,
        const std::string& stdin_text = {},
        std::chrono::milliseconds timeout = std::chrono::seconds(60));

// True if needle occurs in any byte of any file under dir.
bool any_file_contains(const std::filesystem::path& dir, const std::string& needle);

std::string read_file(const std::filesystem::path& path);

} // namespace veil::test
