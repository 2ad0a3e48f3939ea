#include "crypto/provider.h"

#include "crypto/detail/openssl_handles.h"
#include "crypto/detail/signal_handles.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <memory>

namespace veil::crypto {
namespace {

constexpr std::size_t kBlockSize = 16;
constexpr std::size_t kHmacSha256Size = 32;

using detail::EvpCipherCtxPtr;
using detail::EvpMacCtxPtr;
using detail::EvpMdCtxPtr;

enum class Mode { cbc_pkcs7, ctr };

Error crypto_error(const char* what) {
    return make_error(Errc::crypto, what);
}

// OpenSSL's length parameters are int; libsignal's are size_t.
bool fits_int(std::size_t n) {
    return n <= static_cast<std::size_t>(std::numeric_limits<int>::max() - kBlockSize);
}

bool hmac_update(EVP_MAC_CTX* ctx, std::span<const std::uint8_t> data) {
    return data.empty() || EVP_MAC_update(ctx, data.data(), data.size()) == 1;
}

Result<Bytes> hmac_finish(EVP_MAC_CTX* ctx) {
    Bytes out(kHmacSha256Size);
    std::size_t written = 0;
    if (EVP_MAC_final(ctx, out.data(), &written, out.size()) != 1 || written != out.size())
        return crypto_error("HMAC-SHA256 finalisation failed");
    return out;
}

Result<EvpMdCtxPtr> sha512_start() {
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha512(), nullptr) != 1)
        return crypto_error("SHA-512 initialisation failed");
    return ctx;
}

// Finishes a digest and re-initialises the context, as libsignal reuses it after final.
Result<Bytes> sha512_finish(EVP_MD_CTX* ctx) {
    Bytes out(EVP_MAX_MD_SIZE);
    unsigned int written = 0;
    if (EVP_DigestFinal_ex(ctx, out.data(), &written) != 1)
        return crypto_error("SHA-512 finalisation failed");
    if (EVP_DigestInit_ex(ctx, EVP_sha512(), nullptr) != 1)
        return crypto_error("SHA-512 re-initialisation failed");
    out.resize(written);
    return out;
}

const EVP_CIPHER* aes_cipher(Mode mode, std::size_t key_size) {
    switch (key_size) {
    case 16: return mode == Mode::ctr ? EVP_aes_128_ctr() : EVP_aes_128_cbc();
    case 24: return mode == Mode::ctr ? EVP_aes_192_ctr() : EVP_aes_192_cbc();
    case 32: return mode == Mode::ctr ? EVP_aes_256_ctr() : EVP_aes_256_cbc();
    default: return nullptr;
    }
}

// One AES pass. The output lives in SecretBytes because the provider also decrypts message
// keys and plaintext for libsignal; temporaries are wiped when they go out of scope.
Result<SecretBytes> aes_run(Mode mode, bool encrypting, std::span<const std::uint8_t> key,
                            std::span<const std::uint8_t> iv, std::span<const std::uint8_t> input) {
    const EVP_CIPHER* cipher = aes_cipher(mode, key.size());
    if (!cipher)
        return make_error(Errc::invalid_argument, "AES key must be 16, 24 or 32 bytes");
    if (iv.size() != kBlockSize)
        return make_error(Errc::invalid_argument, "AES iv must be 16 bytes");
    if (!fits_int(input.size()))
        return make_error(Errc::too_large, "AES input is too large");

    EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    if (!ctx || EVP_CipherInit_ex(ctx.get(), cipher, nullptr, key.data(), iv.data(),
                                  encrypting ? 1 : 0) != 1)
        return crypto_error("AES initialisation failed");
    EVP_CIPHER_CTX_set_padding(ctx.get(), mode == Mode::cbc_pkcs7 ? 1 : 0);

    SecretBytes out(input.size() + kBlockSize);
    int written = 0;
    if (!input.empty() && EVP_CipherUpdate(ctx.get(), out.data(), &written, input.data(),
                                           static_cast<int>(input.size())) != 1)
        return crypto_error("AES update failed");
    int final_written = 0;
    if (EVP_CipherFinal_ex(ctx.get(), out.data() + written, &final_written) != 1)
        return crypto_error(encrypting ? "AES finalisation failed" : "AES padding is invalid");

    SecretBytes result(out.data(), static_cast<std::size_t>(written + final_written));
    return result;
}

Bytes to_public(const SecretBytes& secret) {
    return Bytes(secret.view().begin(), secret.view().end());
}

// --- libsignal callbacks. None may let an exception cross into C. ---

int provider_random(std::uint8_t* data, std::size_t len, void*) {
    return random_bytes(std::span<std::uint8_t>(data, len)).ok() ? 0 : SG_ERR_UNKNOWN;
}

int provider_hmac_init(void** context, const std::uint8_t* key, std::size_t key_len, void*) try {
    auto ctx = detail::hmac_sha256_start({key, key_len});
    if (!ctx)
        return SG_ERR_UNKNOWN;
    *context = std::move(ctx).value().release();
    return 0;
} catch (...) {
    return SG_ERR_NOMEM;
}

int provider_hmac_update(void* context, const std::uint8_t* data, std::size_t len, void*) {
    return hmac_update(static_cast<EVP_MAC_CTX*>(context), {data, len}) ? 0 : SG_ERR_UNKNOWN;
}

int provider_hmac_final(void* context, signal_buffer** output, void*) try {
    auto mac = hmac_finish(static_cast<EVP_MAC_CTX*>(context));
    if (!mac)
        return SG_ERR_UNKNOWN;
    *output = signal_buffer_create(mac->data(), mac->size());
    return *output ? 0 : SG_ERR_NOMEM;
} catch (...) {
    return SG_ERR_NOMEM;
}

void provider_hmac_cleanup(void* context, void*) {
    EvpMacCtxPtr owned(static_cast<EVP_MAC_CTX*>(context)); // freed on return
}

int provider_sha512_init(void** context, void*) try {
    auto ctx = sha512_start();
    if (!ctx)
        return SG_ERR_UNKNOWN;
    *context = std::move(ctx).value().release();
    return 0;
} catch (...) {
    return SG_ERR_NOMEM;
}

int provider_sha512_update(void* context, const std::uint8_t* data, std::size_t len, void*) {
    if (len == 0)
        return 0;
    return EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(context), data, len) == 1 ? 0 : SG_ERR_UNKNOWN;
}

int provider_sha512_final(void* context, signal_buffer** output, void*) try {
    auto digest = sha512_finish(static_cast<EVP_MD_CTX*>(context));
    if (!digest)
        return SG_ERR_UNKNOWN;
    *output = signal_buffer_create(digest->data(), digest->size());
    return *output ? 0 : SG_ERR_NOMEM;
} catch (...) {
    return SG_ERR_NOMEM;
}

void provider_sha512_cleanup(void* context, void*) {
    EvpMdCtxPtr owned(static_cast<EVP_MD_CTX*>(context)); // freed on return
}

int provider_cipher(bool encrypting, signal_buffer** output, int cipher, const std::uint8_t* key,
                    std::size_t key_len, const std::uint8_t* iv, std::size_t iv_len,
                    const std::uint8_t* input, std::size_t input_len) try {
    Mode mode;
    if (cipher == SG_CIPHER_AES_CBC_PKCS5)
        mode = Mode::cbc_pkcs7;
    else if (cipher == SG_CIPHER_AES_CTR_NOPADDING)
        mode = Mode::ctr;
    else
        return SG_ERR_INVAL;
    auto result = aes_run(mode, encrypting, {key, key_len}, {iv, iv_len}, {input, input_len});
    if (!result)
        return result.error().code == Errc::invalid_argument ? SG_ERR_INVAL : SG_ERR_UNKNOWN;
    *output = signal_buffer_create(result->data(), result->size());
    return *output ? 0 : SG_ERR_NOMEM;
} catch (...) {
    return SG_ERR_NOMEM;
}

int provider_encrypt(signal_buffer** output, int cipher, const std::uint8_t* key,
                     std::size_t key_len, const std::uint8_t* iv, std::size_t iv_len,
                     const std::uint8_t* plaintext, std::size_t plaintext_len, void*) {
    return provider_cipher(true, output, cipher, key, key_len, iv, iv_len, plaintext,
                           plaintext_len);
}

int provider_decrypt(signal_buffer** output, int cipher, const std::uint8_t* key,
                     std::size_t key_len, const std::uint8_t* iv, std::size_t iv_len,
                     const std::uint8_t* ciphertext, std::size_t ciphertext_len, void*) {
    return provider_cipher(false, output, cipher, key, key_len, iv, iv_len, ciphertext,
                           ciphertext_len);
}

} // namespace

Status random_bytes(std::span<std::uint8_t> out) {
    // RAND_bytes takes an int length, so large requests are served in pieces.
    constexpr std::size_t kChunk = 1 << 20;
    for (std::size_t done = 0; done < out.size(); done += kChunk) {
        std::size_t n = std::min(kChunk, out.size() - done);
        if (RAND_bytes(out.data() + done, static_cast<int>(n)) != 1)
            return crypto_error("the OpenSSL random generator failed");
    }
    return {};
}

Bytes random_bytes(std::size_t count) {
    Bytes out(count);
    if (!random_bytes(std::span<std::uint8_t>(out)).ok())
        std::abort(); // Continuing without randomness would silently produce weak keys.
    return out;
}

Result<Bytes> hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data) {
    auto ctx = detail::hmac_sha256_start(key);
    if (!ctx)
        return ctx.error();
    if (!hmac_update(ctx->get(), data))
        return crypto_error("HMAC-SHA256 update failed");
    return hmac_finish(ctx->get());
}

Result<Bytes> sha512(std::span<const std::uint8_t> data) {
    auto ctx = sha512_start();
    if (!ctx)
        return ctx.error();
    if (!data.empty() && EVP_DigestUpdate(ctx->get(), data.data(), data.size()) != 1)
        return crypto_error("SHA-512 update failed");
    return sha512_finish(ctx->get());
}

Result<Bytes> sha256(std::span<const std::uint8_t> data) {
    Bytes out(32);
    unsigned int written = 0;
    if (EVP_Digest(data.data(), data.size(), out.data(), &written, EVP_sha256(), nullptr) != 1 ||
        written != out.size())
        return crypto_error("SHA-256 failed");
    return out;
}

Result<Bytes> aes_cbc_encrypt(std::span<const std::uint8_t> key, std::span<const std::uint8_t> iv,
                              std::span<const std::uint8_t> plaintext) {
    if (key.size() != 32)
        return make_error(Errc::invalid_argument, "AES-256-CBC key must be 32 bytes");
    auto out = aes_run(Mode::cbc_pkcs7, true, key, iv, plaintext);
    if (!out)
        return out.error();
    return to_public(*out);
}

Result<Bytes> aes_cbc_decrypt(std::span<const std::uint8_t> key, std::span<const std::uint8_t> iv,
                              std::span<const std::uint8_t> ciphertext) {
    if (key.size() != 32)
        return make_error(Errc::invalid_argument, "AES-256-CBC key must be 32 bytes");
    if (ciphertext.empty() || ciphertext.size() % kBlockSize != 0)
        return make_error(Errc::crypto, "AES-CBC ciphertext is not a whole number of blocks");
    auto out = aes_run(Mode::cbc_pkcs7, false, key, iv, ciphertext);
    if (!out)
        return out.error();
    return to_public(*out);
}

Result<Bytes> aes_ctr(std::span<const std::uint8_t> key, std::span<const std::uint8_t> iv,
                      std::span<const std::uint8_t> input) {
    auto out = aes_run(Mode::ctr, true, key, iv, input);
    if (!out)
        return out.error();
    return to_public(*out);
}

Status install_provider(signal_context* context) {
    signal_crypto_provider provider{};
    provider.random_func = provider_random;
    provider.hmac_sha256_init_func = provider_hmac_init;
    provider.hmac_sha256_update_func = provider_hmac_update;
    provider.hmac_sha256_final_func = provider_hmac_final;
    provider.hmac_sha256_cleanup_func = provider_hmac_cleanup;
    provider.sha512_digest_init_func = provider_sha512_init;
    provider.sha512_digest_update_func = provider_sha512_update;
    provider.sha512_digest_final_func = provider_sha512_final;
    provider.sha512_digest_cleanup_func = provider_sha512_cleanup;
    provider.encrypt_func = provider_encrypt;
    provider.decrypt_func = provider_decrypt;
    provider.user_data = nullptr;
    // libsignal copies the struct, so a stack value is enough.
    if (signal_context_set_crypto_provider(context, &provider) != 0)
        return crypto_error("libsignal refused the crypto provider");
    return {};
}

} // namespace veil::crypto
