#include "util/result.h"

namespace veil {

const char* errc_name(Errc code) {
    switch (code) {
    case Errc::ok: return "ok";
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::not_found: return "not_found";
    case Errc::already_exists: return "already_exists";
    case Errc::io: return "io";
    case Errc::database: return "database";
    case Errc::wrong_passphrase: return "wrong_passphrase";
    case Errc::corrupt: return "corrupt";
    case Errc::crypto: return "crypto";
    case Errc::untrusted_identity: return "untrusted_identity";
    case Errc::duplicate_message: return "duplicate_message";
    case Errc::invalid_message: return "invalid_message";
    case Errc::no_session: return "no_session";
    case Errc::protocol: return "protocol";
    case Errc::too_large: return "too_large";
    case Errc::timeout: return "timeout";
    case Errc::disconnected: return "disconnected";
    case Errc::refused: return "refused";
    case Errc::busy: return "busy";
    case Errc::internal: return "internal";
    }
    return "unknown";
}

} // namespace veil
