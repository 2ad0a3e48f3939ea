#include "store/account_store.h"

#include <argon2.h>

namespace veil::store {

Result<SecretBytes> derive_key(const SecretBytes& passphrase, std::span<const std::uint8_t> salt,
                               const KdfParams& params) {
    SecretBytes key(32);
    int rc = argon2id_hash_raw(params.t_cost, params.m_cost_kib, params.parallelism,
                               passphrase.empty() ? nullptr : passphrase.data(), passphrase.size(),
                               salt.data(), salt.size(), key.data(), key.size());
    if (rc != ARGON2_OK) {
        // The message names the failure class only; it never depends on the passphrase.
        Errc code = rc == ARGON2_MEMORY_ALLOCATION_ERROR ? Errc::internal : Errc::invalid_argument;
        return make_error(code, std::string("Argon2id key derivation failed: ") +
                                    argon2_error_message(rc));
    }
    return key;
}

} // namespace veil::store
