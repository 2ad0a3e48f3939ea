#include "transport/self_signed.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>

namespace veil::relay::transport {
namespace {

namespace fs = std::filesystem;

struct Free {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
    void operator()(X509* p) const { X509_free(p); }
    void operator()(BIO* p) const { BIO_free(p); }
    void operator()(BIGNUM* p) const { BN_free(p); }
    void operator()(FILE* p) const { std::fclose(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, Free>;

// Ten years: the certificate is pinned, not checked against a CA, and replacing it means every
// client has to be told the new fingerprint.
constexpr long kValiditySeconds = 10L * 365 * 24 * 60 * 60;

Error failed(const std::string& what) {
    ERR_clear_error();
    return make_error(Errc::crypto, "cannot make the self-signed TLS certificate: " + what);
}

Result<Owned<X509>> make_certificate(EVP_PKEY* key) {
    Owned<X509> cert(X509_new());
    if (!cert || X509_set_version(cert.get(), 2) != 1)
        return failed("X509_new");
    unsigned char serial[16];
    if (RAND_bytes(serial, sizeof serial) != 1)
        return failed("no random serial number");
    serial[0] &= 0x7f; // a positive serial
    Owned<BIGNUM> bn(BN_bin2bn(serial, sizeof serial, nullptr));
    if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())))
        return failed("serial number");
    // An hour back, for clients whose clock is a little behind.
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), kValiditySeconds);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("veil-relay"), -1, -1, 0);
    if (X509_set_issuer_name(cert.get(), name) != 1 || X509_set_pubkey(cert.get(), key) != 1)
        return failed("subject");
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
    for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:FALSE"},
                              std::pair{NID_key_usage, "critical,digitalSignature"},
                              std::pair{NID_ext_key_usage, "serverAuth"}}) {
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
        bool added = ext && X509_add_ext(cert.get(), ext, -1) == 1;
        X509_EXTENSION_free(ext);
        if (!added)
            return failed("extensions");
    }
    if (X509_sign(cert.get(), key, EVP_sha256()) <= 0)
        return failed("signing");
    return cert;
}

// Writes through a new file made with the given mode, fsync'd before it is closed.
template <typename Write>
Status write_file(const fs::path& path, mode_t mode, Write write) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return make_error(Errc::io, "cannot write " + path.string() + ": " + std::strerror(errno));
    ::fchmod(fd, mode); // O_CREAT leaves an existing temporary file's mode as it was
    Owned<FILE> file(::fdopen(fd, "w"));
    if (!file) {
        ::close(fd);
        return make_error(Errc::io, "cannot write " + path.string());
    }
    bool ok = write(file.get()) == 1 && std::fflush(file.get()) == 0 && ::fsync(fd) == 0;
    if (!ok) {
        ERR_clear_error();
        return make_error(Errc::io, "cannot write " + path.string());
    }
    return {};
}

Status generate(const SelfSignedFiles& files) {
    Owned<EVP_PKEY> key(EVP_EC_gen("P-256"));
    if (!key)
        return failed("no EC P-256 key");
    auto cert = make_certificate(key.get());
    if (!cert)
        return cert.error();
    fs::path key_tmp = files.key + ".tmp";
    fs::path cert_tmp = files.cert + ".tmp";
    VEIL_TRY(write_file(key_tmp, 0600, [&](FILE* f) {
        return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    }));
    VEIL_TRY(write_file(cert_tmp, 0644, [&](FILE* f) { return PEM_write_X509(f, cert->get()); }));
    std::error_code ec;
    fs::rename(key_tmp, files.key, ec);
    if (!ec)
        fs::rename(cert_tmp, files.cert, ec);
    if (ec)
        return make_error(Errc::io, "cannot store the self-signed TLS certificate in " +
                                        fs::path(files.cert).parent_path().string() + ": " +
                                        ec.message());
    return {};
}

} // namespace

SelfSignedFiles self_signed_files(const std::string& data_dir) {
    fs::path dir = fs::path(data_dir) / "tls";
    return SelfSignedFiles{(dir / "relay.crt").string(), (dir / "relay.key").string(), false};
}

Result<SelfSignedFiles> ensure_self_signed(const std::string& data_dir) {
    SelfSignedFiles files = self_signed_files(data_dir);
    std::error_code ec;
    if (fs::exists(files.cert, ec)) {
        if (!fs::exists(files.key, ec))
            return make_error(Errc::not_found,
                              "the self-signed TLS certificate " + files.cert +
                                  " has lost its key " + files.key +
                                  "; restore the key, or remove the certificate to make a new "
                                  "one (clients then need the new fingerprint)");
        return files;
    }
    fs::create_directories(fs::path(files.cert).parent_path(), ec);
    if (ec)
        return make_error(Errc::io, "cannot create " + fs::path(files.cert).parent_path().string() +
                                        ": " + ec.message());
    fs::permissions(fs::path(files.cert).parent_path(), fs::perms::owner_all,
                    fs::perm_options::replace, ec);
    VEIL_TRY(generate(files));
    files.created = true;
    return files;
}

Result<std::string> certificate_fingerprint(const std::string& cert_path) {
    Owned<BIO> bio(BIO_new_file(cert_path.c_str(), "r"));
    Owned<X509> cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!cert) {
        ERR_clear_error();
        return make_error(Errc::not_found, "cannot read the TLS certificate " + cert_path);
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (X509_digest(cert.get(), EVP_sha256(), digest, &length) != 1)
        return failed("digest of " + cert_path);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "sha256:";
    for (unsigned int i = 0; i < length; ++i) {
        out += kHex[digest[i] >> 4];
        out += kHex[digest[i] & 0xf];
    }
    return out;
}

} // namespace veil::relay::transport
