#include "support/process.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace veil::test {

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

Process::Process(std::vector<std::string> argv, std::map<std::string, std::string> env,
                 const std::filesystem::path& log_dir, const std::string& name,
                 const std::string& stdin_text) {
    static int counter = 0;
    std::string tag = name + "-" + std::to_string(++counter);
    m_out = log_dir / (tag + ".out");
    m_err = log_dir / (tag + ".err");
    std::filesystem::path in_path = log_dir / (tag + ".in");
    {
        std::ofstream in(in_path, std::ios::binary);
        in << stdin_text;
    }

    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
        std::string s = *e;
        auto key = s.substr(0, s.find('='));
        if (!env.count(key))
            env_strings.push_back(s);
    }
    for (const auto& [k, v] : env)
        env_strings.push_back(k + "=" + v);

    m_pid = ::fork();
    if (m_pid < 0)
        throw std::runtime_error("fork failed");
    if (m_pid == 0) {
        int in_fd = ::open(in_path.c_str(), O_RDONLY);
        int out_fd = ::open(m_out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err_fd = ::open(m_err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ::dup2(in_fd, 0);
        ::dup2(out_fd, 1);
        ::dup2(err_fd, 2);
        ::setpgid(0, 0);
        std::vector<char*> args;
        for (auto& a : argv)
            args.push_back(a.data());
        args.push_back(nullptr);
        std::vector<char*> envp;
        for (auto& e : env_strings)
            envp.push_back(e.data());
        envp.push_back(nullptr);
        ::execve(args[0], args.data(), envp.data());
        ::_exit(127);
    }
}

Process::~Process() {
    if (running()) {
        ::kill(m_pid, SIGKILL);
        wait(std::chrono::seconds(10));
    }
}

std::string Process::out() const {
    return read_file(m_out);
}
std::string Process::err() const {
    return read_file(m_err);
}

bool Process::running() {
    if (m_status)
        return false;
    int status = 0;
    pid_t r = ::waitpid(m_pid, &status, WNOHANG);
    if (r == m_pid) {
        m_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return false;
    }
    return r == 0;
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running()) {
        if (std::chrono::steady_clock::now() > deadline)
            return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(10)); // polling, not a sync point
    }
    return m_status;
}

void Process::signal(int sig) {
    if (running())
        ::kill(m_pid, sig);
}

bool Process::wait_for_output(const std::string& text, std::chrono::milliseconds timeout,
                              bool in_stderr) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        std::string content = in_stderr ? err() : out();
        if (content.find(text) != std::string::npos)
            return true;
        if (!running()) {
            content = in_stderr ? err() : out();
            return content.find(text) != std::string::npos;
        }
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

Run run(std::vector<std::string> argv, std::map<std::string, std::string> env,
        const std::filesystem::path& log_dir, const std::string& name,
        const std::string& stdin_text, std::chrono::milliseconds timeout) {
    Process p(std::move(argv), std::move(env), log_dir, name, stdin_text);
    auto code = p.wait(timeout);
    Run r;
    r.code = code ? *code : -1;
    r.out = p.out();
    r.err = p.err();
    return r;
}

bool any_file_contains(const std::filesystem::path& dir, const std::string& needle) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
        if (!entry.is_regular_file())
            continue;
        if (read_file(entry.path()).find(needle) != std::string::npos)
            return true;
    }
    return false;
}

} // namespace veil::test
