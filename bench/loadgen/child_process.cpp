#include "loadgen/child_process.h"

#include "support/workload.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <regex>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace veil::bench {

namespace {

std::vector<pid_t>& running() {
    static std::vector<pid_t> pids;
    return pids;
}

void kill_running() {
    for (pid_t pid : running())
        ::kill(pid, SIGKILL);
}

void track(pid_t pid) {
    // The list is made before the handler is registered, so that it is destroyed after the
    // handler runs at exit (the reverse order): made later, it was gone by then, and a relay
    // of a workload that failed outlived it.
    auto& pids = running();
    static bool installed = false;
    if (!installed) {
        std::atexit(kill_running);
        installed = true;
    }
    pids.push_back(pid);
}

void untrack(pid_t pid) {
    auto& pids = running();
    pids.erase(std::remove(pids.begin(), pids.end(), pid), pids.end());
}

// Reads the child's stdout until a line names the port or the deadline passes; what it read
// stays in out.
std::uint16_t read_port(int fd, std::chrono::seconds timeout, std::string& out) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const std::regex pattern(R"(listening on 127\.0\.0\.1:([0-9]+))");
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0)
            continue;
        char buffer[512];
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n <= 0)
            return 0; // the child closed stdout: it exited
        out.append(buffer, static_cast<std::size_t>(n));
        std::smatch m;
        if (std::regex_search(out, m, pattern))
            return static_cast<std::uint16_t>(std::stoi(m[1].str()));
    }
    return 0;
}

} // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv, const std::filesystem::path& log_file) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0)
        fail(std::string("pipe: ") + std::strerror(errno));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_file.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    std::vector<char*> args;
    for (auto& a : argv)
        args.push_back(a.data());
    args.push_back(nullptr);
    int rc = ::posix_spawn(&m_pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    m_stdout = out[0];
    if (rc != 0)
        fail("cannot start " + argv[0] + ": " + std::strerror(rc));
    track(m_pid);
    std::string before;
    m_port = read_port(m_stdout, std::chrono::seconds(20), before);
    // The relay logs to stdout (docs/self-hosting.md): keep reading it into the log file for
    // as long as the child runs, or its log writes block once the pipe is full and stall it.
    m_drain = std::thread([fd = m_stdout, log_file, before] {
        std::ofstream log(log_file, std::ios::app | std::ios::binary);
        log << before;
        char buffer[4096];
        for (;;) {
            ssize_t n = ::read(fd, buffer, sizeof buffer);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break; // the child exited and closed its end
            log.write(buffer, n);
            log.flush();
        }
    });
    if (m_port == 0) {
        stop();
        fail(argv[0] + " did not report its port; its log is in " + log_file.string());
    }
}

ChildProcess::~ChildProcess() {
    stop();
    if (m_drain.joinable())
        m_drain.join();
    if (m_stdout >= 0)
        ::close(m_stdout);
}

long ChildProcess::status_field(const std::string& field) const {
    std::ifstream in("/proc/" + std::to_string(m_pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(field + ":", 0) == 0)
            return std::stol(line.substr(field.size() + 1));
    }
    return -1;
}

bool ChildProcess::alive() {
    if (m_reaped)
        return false;
    pid_t r = ::waitpid(m_pid, &m_status, WNOHANG);
    if (r == m_pid) {
        m_reaped = true;
        untrack(m_pid);
    }
    return !m_reaped;
}

int ChildProcess::stop() {
    if (m_pid <= 0 || !alive())
        return m_reaped ? m_status : -1;
    ::kill(m_pid, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (alive() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (alive()) {
        ::kill(m_pid, SIGKILL);
        ::waitpid(m_pid, &m_status, 0);
        m_reaped = true;
        untrack(m_pid);
    }
    return m_status;
}

std::string describe_status(int status) {
    if (WIFEXITED(status))
        return "exit " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return "signal " + std::to_string(WTERMSIG(status));
    return "unknown";
}

} // namespace veil::bench
