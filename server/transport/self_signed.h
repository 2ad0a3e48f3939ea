// The relay's own self-signed TLS certificate (tls = auto without tls_cert/tls_key): an EC P-256
// key and a certificate for it, made once in DATA_DIR/tls/ and reused on every later start, so
// that the fingerprint clients pinned stays valid. Clients cannot check such a certificate
// against a CA; they accept it only when its SHA-256 matches the pin in their relay URL
// (wss://HOST:PORT#sha256:HEX, see common/qt/relay_pin.h).
//
// Errors are sentences naming the file; nothing reported contains key material.
#pragma once

#include "util/result.h"

#include <string>

namespace veil::relay::transport {

struct SelfSignedFiles {
    std::string cert; // PEM certificate, DATA_DIR/tls/relay.crt
    std::string key;  // PEM private key, DATA_DIR/tls/relay.key, mode 0600
    bool created = false;
};

// Where the self-signed certificate of data_dir lives, whether or not it exists yet.
SelfSignedFiles self_signed_files(const std::string& data_dir);

// Returns the existing certificate and key of data_dir, or makes them (key file 0600, written
// to temporary names and renamed, the certificate last) when the certificate does not exist.
// A certificate without its key is an error, never silently replaced: clients pinned it.
Result<SelfSignedFiles> ensure_self_signed(const std::string& data_dir);

// The SHA-256 of the certificate (DER) in the PEM file at cert_path, as "sha256:" and 64
// lowercase hex digits: the form clients take as a pin.
Result<std::string> certificate_fingerprint(const std::string& cert_path);

} // namespace veil::relay::transport
