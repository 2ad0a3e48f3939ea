#include "support/scratch_dir.h"

#include "support/workload.h"

#include <cerrno>
#include <cstring>
#include <stdlib.h>
#include <system_error>
#include <vector>

namespace veil::bench {

ScratchDir::ScratchDir(const std::string& prefix) {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (::mkdtemp(buffer.data()) == nullptr)
        fail(std::string("cannot create a scratch folder: ") + std::strerror(errno));
    m_path = buffer.data();
}

ScratchDir::~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
}

} // namespace veil::bench
