// RAII owners for the OpenSSL 3 EVP handles of the crypto provider and the attachment cipher,
// and the HMAC-SHA256 and SHA-256 set-up they share. Internal to common/crypto.
#pragma once

#include "util/result.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstdint>
#include <memory>
#include <span>

namespace veil::crypto::detail {

struct EvpMacFree {
    void operator()(EVP_MAC* mac) const { EVP_MAC_free(mac); }
};
struct EvpMacCtxFree {
    void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};
struct EvpMdCtxFree {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct EvpCipherCtxFree {
    // EVP_CIPHER_CTX_free also cleanses the expanded key schedule.
    void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using EvpMacCtxPtr = std::unique_ptr<EVP_MAC_CTX, EvpMacCtxFree>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxFree>;
using EvpCipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, EvpCipherCtxFree>;

// An HMAC-SHA256 context keyed with key, ready for updates.
inline Result<EvpMacCtxPtr> hmac_sha256_start(std::span<const std::uint8_t> key) {
    // Fetched once per process; fetching is thread-safe and the result is immutable.
    static const std::unique_ptr<EVP_MAC, EvpMacFree> hmac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
    if (!hmac)
        return make_error(Errc::crypto, "HMAC is not available from OpenSSL");
    EvpMacCtxPtr ctx(EVP_MAC_CTX_new(hmac.get()));
    if (!ctx)
        return make_error(Errc::crypto, "cannot allocate an HMAC context");
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    // OpenSSL reads a null key as "keep the previous key"; an empty key must be an empty key.
    static const std::uint8_t no_key = 0;
    const std::uint8_t* key_data = key.empty() ? &no_key : key.data();
    if (EVP_MAC_init(ctx.get(), key_data, key.size(), params) != 1)
        return make_error(Errc::crypto, "HMAC-SHA256 initialisation failed");
    return ctx;
}

// A SHA-256 context ready for updates.
inline Result<EvpMdCtxPtr> sha256_start() {
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
        return make_error(Errc::crypto, "SHA-256 initialisation failed");
    return ctx;
}

} // namespace veil::crypto::detail
