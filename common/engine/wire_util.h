// Small conversions between wire messages and the engine's types, shared by the engine's
// source files.
#pragma once

#include "util/result.h"
#include "util/secret_bytes.h"
#include "veil.pb.h"

#include <string>

namespace veil::engine::detail {

inline Bytes bytes_of(const std::string& s) {
    return Bytes(s.begin(), s.end());
}

// A relay Error as an engine error: its sentence, or a generic one.
inline Error relay_error(const wire::Error& e) {
    return make_error(Errc::refused,
                      e.message().empty() ? "the relay refused the request" : e.message());
}

} // namespace veil::engine::detail
