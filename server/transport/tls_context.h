// TlsContext: the relay's OpenSSL server context, from a PEM certificate chain and a PEM private
// key (tls_cert / tls_key in the config). TLS 1.2 or later; no renegotiation. Connections made
// from it are terminated inside the reactors (Connection), never on a thread of their own.
//
// load() fails with a sentence naming the file and OpenSSL's reason; nothing it reports
// contains key material.
#pragma once

#include <memory>
#include <string>

using SSL_CTX = struct ssl_ctx_st;
using SSL = struct ssl_st;

namespace veil::relay::transport {

class TlsContext {
public:
    // Throws std::runtime_error if the certificate or the key cannot be loaded or do not match.
    static std::shared_ptr<TlsContext> load(const std::string& cert_path,
                                            const std::string& key_path);
    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    // A server session for the connected socket fd, or nullptr (the caller closes fd).
    SSL* new_session(int fd) const;

private:
    explicit TlsContext(SSL_CTX* ctx)
        : m_ctx(ctx) {}

    SSL_CTX* m_ctx;
};

} // namespace veil::relay::transport
