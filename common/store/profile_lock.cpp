#include "store/profile_lock.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace veil::store {

Result<ProfileLock> ProfileLock::acquire(const std::filesystem::path& profile_dir) {
    auto path = profile_dir / "lock";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return make_error(Errc::io, std::string("could not open the profile's lock file: ") +
                                        std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        ::close(fd);
        if (e == EWOULDBLOCK)
            return make_error(Errc::busy, "this profile is open in another Veil process");
        return make_error(Errc::io, std::string("could not lock the profile: ") + std::strerror(e));
    }
    return ProfileLock(fd);
}

ProfileLock::ProfileLock(ProfileLock&& other) noexcept
    : m_fd(other.m_fd) {
    other.m_fd = -1;
}

ProfileLock& ProfileLock::operator=(ProfileLock&& other) noexcept {
    if (this != &other) {
        if (m_fd >= 0)
            ::close(m_fd);
        m_fd = other.m_fd;
        other.m_fd = -1;
    }
    return *this;
}

ProfileLock::~ProfileLock() {
    if (m_fd >= 0)
        ::close(m_fd);
}

} // namespace veil::store
