// ProtocolStore: the C++ face of libsignal's session, prekey, signed prekey, identity and sender
// key stores.
// The store module implements it on SQLCipher; tests implement it in memory. StoreContext (in
// signal_context.h) adapts it to libsignal's C callbacks, so no other module touches them.
//
// Every method may fail with an Error; the adapter turns that into SG_ERR_UNKNOWN so that the
// libsignal call in progress fails and the caller's transaction rolls back.
#pragma once

#include "util/result.h"
#include "util/secret_bytes.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace veil::crypto {

struct ProtocolAddress {
    std::string name;
    std::int32_t device_id = 1;
};

// Serialized libsignal keys: public is the 33-byte ec_public_key form, private the 32-byte one.
struct IdentityKeyPair {
    Bytes public_key;
    SecretBytes private_key;
};

// A sender key's place: one group and one sending device. libsignal keys its sender key store
// by this (group id, sender name, device id) tuple. The group id is opaque bytes.
struct SenderKeyName {
    Bytes group_id;
    ProtocolAddress sender;
};

struct SessionRecordBytes {
    Bytes record;
    Bytes user_record;
};

class ProtocolStore {
public:
    virtual ~ProtocolStore() = default;

    // Sessions. load_session returns nullopt when there is none.
    virtual Result<std::optional<SessionRecordBytes>> load_session(const ProtocolAddress& a) = 0;
    virtual Result<std::vector<std::int32_t>> session_devices(const std::string& name) = 0;
    virtual Status store_session(const ProtocolAddress& a, std::span<const std::uint8_t> record,
                                 std::span<const std::uint8_t> user_record) = 0;
    virtual Result<bool> contains_session(const ProtocolAddress& a) = 0;
    virtual Status delete_session(const ProtocolAddress& a) = 0;
    virtual Status delete_all_sessions(const std::string& name) = 0;

    // One-time prekeys (serialized session_pre_key records, which hold private keys).
    virtual Result<std::optional<SecretBytes>> load_prekey(std::uint32_t id) = 0;
    virtual Status store_prekey(std::uint32_t id, std::span<const std::uint8_t> record) = 0;
    virtual Result<bool> contains_prekey(std::uint32_t id) = 0;
    virtual Status remove_prekey(std::uint32_t id) = 0;

    // Signed prekeys (serialized session_signed_pre_key records).
    virtual Result<std::optional<SecretBytes>> load_signed_prekey(std::uint32_t id) = 0;
    virtual Status store_signed_prekey(std::uint32_t id, std::span<const std::uint8_t> record) = 0;
    virtual Result<bool> contains_signed_prekey(std::uint32_t id) = 0;
    virtual Status remove_signed_prekey(std::uint32_t id) = 0;

    // Identity. save_identity with an empty key removes the stored one.
    virtual Result<IdentityKeyPair> identity_key_pair() = 0;
    virtual Result<std::uint32_t> local_registration_id() = 0;
    virtual Status save_identity(const ProtocolAddress& a, std::span<const std::uint8_t> key) = 0;
    virtual Result<bool> is_trusted_identity(const ProtocolAddress& a,
                                             std::span<const std::uint8_t> key) = 0;

    // Sender keys (serialized sender_key_record: chain keys, and for our own sender key the
    // private signing key). load_sender_key returns nullopt when there is none. libsignal never
    // deletes a sender key; delete_sender_key is for rotation and removed members (sender_key.h)
    // and succeeds when there is nothing to delete.
    virtual Result<std::optional<SecretBytes>> load_sender_key(const SenderKeyName& n) = 0;
    virtual Status store_sender_key(const SenderKeyName& n,
                                    std::span<const std::uint8_t> record) = 0;
    virtual Status delete_sender_key(const SenderKeyName& n) = 0;
};

} // namespace veil::crypto
