#include "transport/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <stdexcept>

namespace veil::relay::transport {
namespace {

// OpenSSL's reasons for the last failure (library and reason strings only), then clears them.
std::string openssl_reason() {
    std::string out;
    while (unsigned long code = ERR_get_error()) {
        char buffer[256];
        ERR_error_string_n(code, buffer, sizeof buffer);
        if (!out.empty())
            out += "; ";
        out += buffer;
    }
    return out.empty() ? std::string("unknown error") : out;
}

} // namespace

std::shared_ptr<TlsContext> TlsContext::load(const std::string& cert_path,
                                             const std::string& key_path) {
    ERR_clear_error();
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        throw std::runtime_error("cannot create a TLS context: " + openssl_reason());
    std::shared_ptr<TlsContext> context(new TlsContext(ctx));
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_path.c_str()) != 1)
        throw std::runtime_error("cannot load the TLS certificate " + cert_path + ": " +
                                 openssl_reason());
    const std::string mismatch =
        "the TLS key " + key_path + " does not match the certificate " + cert_path;
    if (SSL_CTX_use_PrivateKey_file(ctx, key_path.c_str(), SSL_FILETYPE_PEM) != 1) {
        const unsigned long last = ERR_peek_last_error();
        if (ERR_GET_LIB(last) == ERR_LIB_X509 &&
            ERR_GET_REASON(last) == X509_R_KEY_VALUES_MISMATCH) {
            ERR_clear_error();
            throw std::runtime_error(mismatch);
        }
        throw std::runtime_error("cannot load the TLS key " + key_path + ": " + openssl_reason());
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        throw std::runtime_error(mismatch);
    }
    return context;
}

TlsContext::~TlsContext() {
    SSL_CTX_free(m_ctx);
}

SSL* TlsContext::new_session(int fd) const {
    SSL* ssl = SSL_new(m_ctx);
    if (!ssl)
        return nullptr;
    if (SSL_set_fd(ssl, fd) != 1) {
        SSL_free(ssl);
        return nullptr;
    }
    SSL_set_accept_state(ssl);
    return ssl;
}

} // namespace veil::relay::transport
