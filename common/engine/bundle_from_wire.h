// The crypto layer's view of a prekey bundle the relay sent, for the 1:1 pipeline and for
// fetching a group change signer's identity, both through Engine::start_session.
#pragma once

#include "crypto/session.h"
#include "veil.pb.h"

namespace veil::engine::detail {

inline crypto::PrekeyBundle bundle_from_wire(const wire::PrekeyBundle& b) {
    auto bytes = [](const std::string& s) { return Bytes(s.begin(), s.end()); };
    crypto::PrekeyBundle bundle;
    bundle.registration_id = b.registration_id();
    bundle.device_id = static_cast<std::int32_t>(b.device_id());
    bundle.identity_key = bytes(b.identity_key());
    bundle.signed_prekey_id = b.signed_prekey().id();
    bundle.signed_prekey = bytes(b.signed_prekey().public_key());
    bundle.signed_prekey_signature = bytes(b.signed_prekey().signature());
    if (b.has_one_time_prekey()) {
        bundle.prekey_id = b.one_time_prekey().id();
        bundle.prekey = bytes(b.one_time_prekey().public_key());
    }
    return bundle;
}

} // namespace veil::engine::detail
