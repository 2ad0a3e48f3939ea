// SecretBytes keeps key material on locked pages (no swap) and wipes it; locking is best effort.
#include "util/secret_bytes.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <linux/capability.h>
#include <string>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

using veil::SecretBytes;

namespace {

// VmLck of this process in bytes, as the kernel counts it.
std::size_t kernel_locked_bytes() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmLck:", 0) == 0)
            return std::stoul(line.substr(6)) * 1024;
    return 0;
}

// Drops CAP_IPC_LOCK from the effective set (root ignores RLIMIT_MEMLOCK otherwise).
bool drop_ipc_lock() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (::syscall(SYS_capget, &header, data) != 0)
        return false;
    data[CAP_IPC_LOCK / 32].effective &= ~(1u << (CAP_IPC_LOCK % 32));
    return ::syscall(SYS_capset, &header, data) == 0;
}

} // namespace

TEST_CASE("a secret's pages are locked in memory while it lives and unlocked when it goes",
          "[mlock]") {
    const std::size_t before = SecretBytes::locked_bytes();
    const std::size_t kernel_before = kernel_locked_bytes();
    {
        SecretBytes key(256 * 1024);
        CHECK(SecretBytes::locked_bytes() >= before + 256 * 1024);
        CHECK(kernel_locked_bytes() >= kernel_before + 256 * 1024);
        SecretBytes moved = std::move(key); // the buffer, and its lock, move along
        CHECK(SecretBytes::locked_bytes() >= before + 256 * 1024);
    }
    CHECK(SecretBytes::locked_bytes() == before);
    CHECK(kernel_locked_bytes() == kernel_before);
}

TEST_CASE("a page two secrets share stays locked until the last of them is wiped") {
    const std::size_t before = SecretBytes::locked_bytes();
    auto a = std::make_unique<SecretBytes>(SecretBytes::from_string("first key"));
    SecretBytes b = SecretBytes::from_string("second key");
    a.reset();
    // Whether or not a and b shared a page, b's page is still locked.
    CHECK(SecretBytes::locked_bytes() > before);
    CHECK(std::memcmp(b.data(), "second key", b.size()) == 0);
    b.wipe();
    CHECK(b.empty());
    CHECK(SecretBytes::locked_bytes() == before);
}

TEST_CASE("with RLIMIT_MEMLOCK at 0 a secret still works, unlocked", "[mlock]") {
    // In a child: the limit and the dropped capability must not reach the other tests.
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        rlimit none{0, 0};
        if (!drop_ipc_lock() || ::setrlimit(RLIMIT_MEMLOCK, &none) != 0)
            ::_exit(2);
        const std::size_t before = SecretBytes::locked_bytes();
        SecretBytes key = SecretBytes::from_string("a key that cannot be locked");
        SecretBytes big(64 * 1024);
        big.data()[100] = 7;
        bool works = std::memcmp(key.data(), "a key that cannot be locked", key.size()) == 0 &&
                     big.data()[100] == 7;
        bool unlocked = SecretBytes::locked_bytes() == before;
        ::_exit(works && unlocked ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}
