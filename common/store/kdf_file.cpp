#include "store/kdf_file.h"

#include "util/hex.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace veil::store {

namespace {

// Upper bounds that a file written by Veil never reaches; they stop a tampered file from
// making the open take hours or gigabytes.
constexpr std::uint32_t kMaxTCost = 64;
constexpr std::uint32_t kMaxMCostKib = 4 * 1024 * 1024;
constexpr std::uint32_t kMaxParallelism = 64;
constexpr std::size_t kMaxFileBytes = 4096;

Error io_error(std::string_view what) {
    return make_error(Errc::io, std::string(what) + ": " + std::strerror(errno));
}

bool parse_u32(std::string_view text, std::string_view prefix, std::uint32_t& out) {
    if (text.substr(0, prefix.size()) != prefix)
        return false;
    text.remove_prefix(prefix.size());
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size();
}

Result<KdfFile> parse(const std::string& content) {
    auto bad = [](const char* why) {
        return make_error(Errc::corrupt, std::string("the profile's kdf file is damaged: ") + why);
    };
    std::istringstream in(content);
    std::string version, algorithm, t, m, p, salt_word, salt_hex;
    if (!std::getline(in, version) || version != "veil-kdf 1")
        return bad("unknown version line");
    KdfFile kdf;
    if (!(in >> algorithm >> t >> m >> p) || algorithm != "argon2id" ||
        !parse_u32(t, "t=", kdf.params.t_cost) || !parse_u32(m, "m=", kdf.params.m_cost_kib) ||
        !parse_u32(p, "p=", kdf.params.parallelism))
        return bad("malformed parameter line");
    if (!check_kdf_params(kdf.params))
        return bad("parameters out of range");
    if (!(in >> salt_word >> salt_hex) || salt_word != "salt")
        return bad("malformed salt line");
    auto salt = from_hex(salt_hex);
    if (!salt || salt->size() != kSaltBytes)
        return bad("the salt is not 16 bytes of hex");
    kdf.salt = std::move(salt.value());
    std::string rest;
    if (in >> rest)
        return bad("unexpected trailing content");
    return kdf;
}

Status write_all(int fd, const std::string& text) {
    std::size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return io_error("could not write the kdf file");
        done += static_cast<std::size_t>(n);
    }
    return {};
}

// A rename is durable only once the folder holding it is flushed.
Status sync_parent(const std::filesystem::path& file) {
    auto dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return io_error("could not open the profile folder");
    int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0)
        return io_error("could not flush the profile folder");
    return {};
}

} // namespace

Status check_kdf_params(const KdfParams& params) {
    if (params.t_cost < 1 || params.t_cost > kMaxTCost || params.parallelism < 1 ||
        params.parallelism > kMaxParallelism || params.m_cost_kib < 8 * params.parallelism ||
        params.m_cost_kib > kMaxMCostKib)
        return make_error(Errc::invalid_argument, "Argon2id parameters are out of range");
    return {};
}

Status write_kdf_file(const std::filesystem::path& file, const KdfFile& kdf) {
    std::string text = "veil-kdf 1\nargon2id t=" + std::to_string(kdf.params.t_cost) +
                       " m=" + std::to_string(kdf.params.m_cost_kib) +
                       " p=" + std::to_string(kdf.params.parallelism) + "\nsalt " +
                       to_hex(kdf.salt) + "\n";
    auto tmp = file;
    tmp += ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return io_error("could not create the kdf file");
    Status st = write_all(fd, text);
    if (st && ::fsync(fd) != 0)
        st = io_error("could not flush the kdf file");
    ::close(fd);
    if (st && ::rename(tmp.c_str(), file.c_str()) != 0)
        st = io_error("could not put the kdf file in place");
    if (!st) {
        ::unlink(tmp.c_str());
        return st;
    }
    return sync_parent(file);
}

Status replace_kdf_file(const std::filesystem::path& from, const std::filesystem::path& to) {
    if (::rename(from.c_str(), to.c_str()) != 0)
        return io_error("could not put the kdf file in place");
    return sync_parent(to);
}

Result<KdfFile> read_kdf_file(const std::filesystem::path& file) {
    std::error_code ec;
    if (!std::filesystem::exists(file, ec))
        return make_error(Errc::corrupt, "the profile has a database but no kdf file");
    std::ifstream in(file, std::ios::binary);
    if (!in)
        return make_error(Errc::io, "could not read the kdf file");
    std::string content(kMaxFileBytes + 1, '\0');
    in.read(content.data(), static_cast<std::streamsize>(content.size()));
    if (in.bad())
        return io_error("could not read the kdf file");
    content.resize(static_cast<std::size_t>(in.gcount()));
    if (content.size() > kMaxFileBytes)
        return make_error(Errc::corrupt, "the profile's kdf file is damaged: too large");
    return parse(content);
}

} // namespace veil::store
