// A fresh folder under the system temp directory, removed with everything in it at the end of
// the test (kept when VEIL_KEEP_TEST_DIRS is set, for looking at a failure).
#pragma once

#include <filesystem>
#include <string>

namespace veil::test {

class TempDir {
public:
    explicit TempDir(const std::string& prefix = "veil-test");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return m_path; }

private:
    std::filesystem::path m_path;
};

} // namespace veil::test
