// libsignal result codes mapped onto Errc, shared by the session and sender key functions.
// Internal to common/crypto.
#pragma once

#include "crypto/signal_context.h"
#include "util/result.h"

#include <signal/signal_protocol.h>

#include <string>

namespace veil::crypto::detail {

// Maps a libsignal code onto Errc, preferring the store's own error when a store callback is
// what failed (libsignal reports every store failure as SG_ERR_UNKNOWN).
inline Error map_error(StoreContext& store, int code, const char* what) {
    if (auto store_error = store.take_store_error())
        return *store_error;
    std::string message = std::string(what) + " (libsignal " + std::to_string(code) + ")";
    switch (code) {
    case SG_ERR_DUPLICATE_MESSAGE: return make_error(Errc::duplicate_message, message);
    case SG_ERR_INVALID_MESSAGE:
    case SG_ERR_INVALID_KEY:
    case SG_ERR_INVALID_KEY_ID:
    case SG_ERR_INVALID_MAC:
    case SG_ERR_INVALID_VERSION:
    case SG_ERR_LEGACY_MESSAGE:
    case SG_ERR_INVALID_PROTO_BUF: return make_error(Errc::invalid_message, message);
    case SG_ERR_UNTRUSTED_IDENTITY: return make_error(Errc::untrusted_identity, message);
    case SG_ERR_NO_SESSION: return make_error(Errc::no_session, message);
    default: return make_error(Errc::crypto, message);
    }
}

// Deserialising bytes from the network fails only because they are malformed, whatever code
// libsignal picks (a one-byte message gives SG_ERR_INVAL), unless memory ran out.
inline Error parse_error(StoreContext& store, int code, const char* what) {
    if (code == SG_ERR_NOMEM)
        return map_error(store, code, what);
    return make_error(Errc::invalid_message,
                      std::string(what) + " (libsignal " + std::to_string(code) + ")");
}

} // namespace veil::crypto::detail
