// ProfileLock: an exclusive advisory lock (flock) on profile_dir/lock, so that one process at
// a time has a profile open. Two processes on one profile would encrypt the same queued
// message twice with different ratchet states. The kernel drops the lock if the process dies.
#pragma once

#include "util/result.h"

#include <filesystem>

namespace veil::store {

class ProfileLock {
public:
    // Fails at once with Errc::busy if another process holds the lock.
    static Result<ProfileLock> acquire(const std::filesystem::path& profile_dir);
    ProfileLock(ProfileLock&& other) noexcept;
    ProfileLock& operator=(ProfileLock&& other) noexcept;
    ProfileLock(const ProfileLock&) = delete;
    ProfileLock& operator=(const ProfileLock&) = delete;
    ~ProfileLock();

private:
    explicit ProfileLock(int fd)
        : m_fd(fd) {}
    int m_fd = -1;
};

} // namespace veil::store
