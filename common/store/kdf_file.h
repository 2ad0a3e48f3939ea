// The profile's kdf file: how the database key is derived from the passphrase. It holds a
// version line, the Argon2id parameters and the 16-byte salt in hex; none of it is secret.
//
//     veil-kdf 1
//     argon2id t=3 m=65536 p=1
//     salt 00112233445566778899aabbccddeeff
#pragma once

#include "store/account_store.h"
#include "util/result.h"

#include <filesystem>

namespace veil::store {

inline constexpr std::size_t kSaltBytes = 16;

struct KdfFile {
    KdfParams params;
    Bytes salt;
};

// Checks parameters against the bounds read_kdf_file enforces (Errc::invalid_argument).
Status check_kdf_params(const KdfParams& params);

// Writes the file with mode 0600 and fsyncs it and its folder (through a temporary file and a
// rename, so that a crash never leaves half a file).
Status write_kdf_file(const std::filesystem::path& file, const KdfFile& kdf);
// Renames from over to and fsyncs the folder: once it returns, to holds from's content even
// after a crash; before that, to holds either its old or its new content, never a mix.
Status replace_kdf_file(const std::filesystem::path& from, const std::filesystem::path& to);
// Reads and checks the file: an unknown version, a malformed line or parameters outside sane
// bounds (which could make Argon2id allocate without limit) fail with Errc::corrupt.
Result<KdfFile> read_kdf_file(const std::filesystem::path& file);

} // namespace veil::store
