#include "support/temp_dir.h"

#include <cstdlib>
#include <stdexcept>
#include <unistd.h>

namespace veil::test {

TempDir::TempDir(const std::string& prefix) {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (!::mkdtemp(pattern.data()))
        throw std::runtime_error("cannot create a temporary folder");
    m_path = pattern;
}

TempDir::~TempDir() {
    if (std::getenv("VEIL_KEEP_TEST_DIRS"))
        return;
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
}

} // namespace veil::test
