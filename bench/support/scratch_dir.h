// ScratchDir: a fresh folder under the system temp directory ($TMPDIR, else /tmp) that is
// removed with everything in it when the workload ends. Databases that measure durability must
// live on the disk under test, so point TMPDIR at it when /tmp is a tmpfs.
#pragma once

#include <filesystem>
#include <string>

namespace veil::bench {

class ScratchDir {
public:
    // Exits the process with a message on stderr if the folder cannot be made: a workload
    // without its folder has nothing to measure.
    explicit ScratchDir(const std::string& prefix);
    ~ScratchDir();
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;

    const std::filesystem::path& path() const { return m_path; }

private:
    std::filesystem::path m_path;
};

} // namespace veil::bench
