// Pinning the relay's TLS certificate. A relay with a self-signed certificate (veil-relay with
// tls = auto) is reached at wss://HOST:PORT#sha256:HEX, HEX being the 64 hex digits that
// `veil-relay tls fingerprint` prints (colons between pairs allowed, any case). The pin rides
// in the relay URL, so both apps take it wherever they take the URL and store it in the profile
// with it; the fragment is never sent to the relay.
//
// A relay's certificate is accepted when it chains to a system CA as usual, or when the SHA-256
// of the relay's own certificate (DER) equals the pin; never otherwise. A mismatch, or an
// untrusted certificate without a pin, is refused with a sentence saying which.
#pragma once

#include "util/result.h"

#include <QByteArray>
#include <QList>
#include <QSslError>
#include <QUrl>

#include <string>

namespace veil::qt {

// The 32-byte pin of relay_url, empty when it has none. invalid_argument, with a sentence, when
// the URL has a fragment that is not a well-formed pin, or a pin on a ws:// (no TLS) URL.
Result<QByteArray> relay_pin(const std::string& relay_url);

// relay_url without its fragment: what is actually connected to.
QUrl relay_connect_url(const std::string& relay_url);

// "sha256:" and 64 lowercase hex digits, the form veil-relay prints.
std::string pin_text(const QByteArray& sha256);

// Empty when the TLS errors Qt reported may be ignored because every certificate they name is
// the pinned one; otherwise the sentence to report (the connection must then be refused).
std::string pinned_tls_refusal(const QList<QSslError>& errors, const QByteArray& pin);

} // namespace veil::qt
