#include "crypto/session.h"

#include "crypto/detail/signal_errors.h"
#include "crypto/detail/signal_handles.h"
#include "crypto/link.h"

#include <signal/curve.h>
#include <signal/protocol.h>
#include <signal/ratchet.h>
#include <signal/session_pre_key.h>
#include <signal/session_record.h>
#include <signal/session_state.h>

#include <optional>
#include <string>

namespace veil::crypto {
namespace {

using detail::map_error;
using detail::parse_error;

constexpr std::size_t kPublicKeySize = 33;

signal_protocol_address c_address(const ProtocolAddress& address) {
    return signal_protocol_address{address.name.c_str(), address.name.size(), address.device_id};
}

Result<detail::SignalPtr<ec_public_key>>
decode_key(SignalContext& context, std::span<const std::uint8_t> key, const char* which) {
    if (key.size() != kPublicKeySize)
        return make_error(Errc::invalid_argument, std::string(which) + " must be 33 bytes");
    ec_public_key* raw = nullptr;
    int rc = curve_decode_point(&raw, key.data(), key.size(), context.get());
    detail::SignalPtr<ec_public_key> decoded(raw);
    if (rc != 0 || !decoded)
        return make_error(Errc::invalid_argument, std::string(which) + " is malformed");
    return decoded;
}

struct BundleKeys {
    detail::SignalPtr<ec_public_key> identity;
    detail::SignalPtr<ec_public_key> signed_prekey;
    detail::SignalPtr<ec_public_key> prekey; // null when the bundle has no one-time prekey
};

Result<BundleKeys> decode_bundle(SignalContext& context, const PrekeyBundle& bundle) {
    BundleKeys keys;
    auto identity = decode_key(context, bundle.identity_key, "the identity key");
    if (!identity)
        return identity.error();
    keys.identity = std::move(identity).value();
    auto signed_prekey = decode_key(context, bundle.signed_prekey, "the signed prekey");
    if (!signed_prekey)
        return signed_prekey.error();
    keys.signed_prekey = std::move(signed_prekey).value();
    if (bundle.prekey_id) {
        auto prekey = decode_key(context, bundle.prekey, "the one-time prekey");
        if (!prekey)
            return prekey.error();
        keys.prekey = std::move(prekey).value();
    }
    if (bundle.signed_prekey_signature.empty())
        return make_error(Errc::invalid_argument, "the signed prekey has no signature");
    return keys;
}

Result<detail::SessionCipherPtr> make_cipher(StoreContext& store,
                                             const signal_protocol_address& address) {
    session_cipher* raw = nullptr;
    int rc = session_cipher_create(&raw, store.get(), &address, store.signal().get());
    detail::SessionCipherPtr cipher(raw);
    if (rc != 0)
        return map_error(store, rc, "cannot create a session cipher");
    return cipher;
}

// libsignal-protocol-c computes X25519 with whatever point a message names: a point of small
// order gives the all-zero shared secret, and libsignal goes on to derive chain and message
// keys from it (it learns nothing is wrong until the MAC fails, after a prekey message has
// already saved the sender's identity). So every key a received message carries is checked
// here, before libsignal sees the message. `which` names the key in the error.
Status refuse_low_order(const ec_public_key* key, const char* which) {
    signal_buffer* raw = nullptr;
    if (key == nullptr || ec_public_key_serialize(&raw, key) != 0)
        return make_error(Errc::invalid_message, std::string(which) + " is missing or malformed");
    detail::BufferPtr serialized(raw);
    if (is_low_order_point(
            {signal_buffer_data(serialized.get()), signal_buffer_len(serialized.get())}))
        return make_error(Errc::invalid_message,
                          std::string(which) + " is a curve point of small order");
    return {};
}

// libsignal's decrypt functions take ownership of nothing; the message is ours to release.
Result<SecretBytes> decrypt_prekey_message(StoreContext& store, session_cipher* cipher,
                                           std::span<const std::uint8_t> bytes) {
    pre_key_signal_message* raw = nullptr;
    int rc =
        pre_key_signal_message_deserialize(&raw, bytes.data(), bytes.size(), store.signal().get());
    detail::SignalPtr<pre_key_signal_message> message(raw);
    if (rc != 0)
        return parse_error(store, rc, "malformed prekey message");
    const signal_message* inner = pre_key_signal_message_get_signal_message(message.get());
    for (auto check :
         {refuse_low_order(pre_key_signal_message_get_base_key(message.get()),
                           "the prekey message's base key"),
          refuse_low_order(pre_key_signal_message_get_identity_key(message.get()),
                           "the prekey message's identity key"),
          refuse_low_order(inner ? signal_message_get_sender_ratchet_key(inner) : nullptr,
                           "the prekey message's ratchet key")})
        if (!check)
            return check.error();

    signal_buffer* plain_raw = nullptr;
    rc = session_cipher_decrypt_pre_key_signal_message(cipher, message.get(), nullptr, &plain_raw);
    detail::SecretBufferPtr plaintext(plain_raw);
    if (rc != 0)
        return map_error(store, rc, "cannot decrypt a prekey message");
    return detail::to_secret(plaintext.get());
}

Result<SecretBytes> decrypt_whisper_message(StoreContext& store, session_cipher* cipher,
                                            std::span<const std::uint8_t> bytes) {
    signal_message* raw = nullptr;
    int rc = signal_message_deserialize(&raw, bytes.data(), bytes.size(), store.signal().get());
    detail::SignalPtr<signal_message> message(raw);
    if (rc != 0)
        return parse_error(store, rc, "malformed message");
    if (auto check = refuse_low_order(signal_message_get_sender_ratchet_key(message.get()),
                                      "the message's ratchet key");
        !check)
        return check.error();

    signal_buffer* plain_raw = nullptr;
    rc = session_cipher_decrypt_signal_message(cipher, message.get(), nullptr, &plain_raw);
    detail::SecretBufferPtr plaintext(plain_raw);
    if (rc != 0)
        return map_error(store, rc, "cannot decrypt a message");
    return detail::to_secret(plaintext.get());
}

// A reader of just enough of the protobuf wire format to walk libsignal's stored session
// record (LocalStorageProtocol.proto): RecordStructure { currentSession = 1; repeated
// previousSessions = 2 }, SessionStructure { repeated receiverChains = 7 }, Chain { repeated
// messageKeys = 4 }. It reads lengths and tags only, never the key bytes themselves.
class WireReader {
public:
    explicit WireReader(std::span<const std::uint8_t> bytes)
        : m_bytes(bytes) {}

    bool done() const { return m_pos >= m_bytes.size(); }

    // The next field's number and, for a length-delimited field, its bytes; other fields are
    // skipped. False when the bytes are malformed.
    bool next(std::uint32_t& field, std::span<const std::uint8_t>& value) {
        std::uint64_t tag = 0;
        if (!varint(tag))
            return false;
        field = static_cast<std::uint32_t>(tag >> 3);
        value = {};
        std::uint64_t skip = 0;
        switch (tag & 7) {
        case 0: return varint(skip);
        case 1: return advance(8);
        case 5: return advance(4);
        case 2:
            if (!varint(skip) || skip > m_bytes.size() - m_pos)
                return false;
            value = m_bytes.subspan(m_pos, static_cast<std::size_t>(skip));
            return advance(static_cast<std::size_t>(skip));
        default: return false;
        }
    }

private:
    bool varint(std::uint64_t& out) {
        out = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (m_pos >= m_bytes.size())
                return false;
            std::uint8_t byte = m_bytes[m_pos++];
            out |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
            if ((byte & 0x80) == 0)
                return true;
        }
        return false;
    }

    bool advance(std::size_t n) {
        if (n > m_bytes.size() - m_pos)
            return false;
        m_pos += n;
        return true;
    }

    std::span<const std::uint8_t> m_bytes;
    std::size_t m_pos = 0;
};

// Counts the repeated field `field` inside each repeated field `outer` of message; nullopt
// when the bytes are malformed.
std::optional<std::uint32_t> count_nested(std::span<const std::uint8_t> message,
                                          std::uint32_t outer, std::uint32_t field) {
    std::uint32_t count = 0;
    WireReader reader(message);
    while (!reader.done()) {
        std::uint32_t number = 0;
        std::span<const std::uint8_t> value;
        if (!reader.next(number, value))
            return std::nullopt;
        if (number != outer)
            continue;
        WireReader inner(value);
        while (!inner.done()) {
            std::uint32_t inner_number = 0;
            std::span<const std::uint8_t> ignored;
            if (!inner.next(inner_number, ignored))
                return std::nullopt;
            if (inner_number == field)
                ++count;
        }
    }
    return count;
}

// The skipped message keys kept in a serialized RecordStructure, over all its sessions.
std::optional<std::uint32_t> kept_message_keys(std::span<const std::uint8_t> record) {
    constexpr std::uint32_t kCurrentSession = 1, kPreviousSessions = 2, kReceiverChains = 7,
                            kMessageKeys = 4;
    std::uint32_t total = 0;
    WireReader reader(record);
    while (!reader.done()) {
        std::uint32_t number = 0;
        std::span<const std::uint8_t> session;
        if (!reader.next(number, session))
            return std::nullopt;
        if (number != kCurrentSession && number != kPreviousSessions)
            continue;
        auto keys = count_nested(session, kReceiverChains, kMessageKeys);
        if (!keys)
            return std::nullopt;
        total += *keys;
    }
    return total;
}

} // namespace

Status process_bundle(StoreContext& store, const ProtocolAddress& address,
                      const PrekeyBundle& bundle) {
    auto keys = decode_bundle(store.signal(), bundle);
    if (!keys)
        return keys.error();

    session_pre_key_bundle* bundle_raw = nullptr;
    int rc = session_pre_key_bundle_create(
        &bundle_raw, bundle.registration_id, bundle.device_id, bundle.prekey_id.value_or(0),
        keys->prekey.get(), bundle.signed_prekey_id, keys->signed_prekey.get(),
        bundle.signed_prekey_signature.data(), bundle.signed_prekey_signature.size(),
        keys->identity.get());
    detail::SignalPtr<session_pre_key_bundle> c_bundle(bundle_raw);
    if (rc != 0)
        return make_error(Errc::invalid_argument, "the prekey bundle is malformed");

    store.take_store_error();
    auto c_addr = c_address(address);
    session_builder* builder_raw = nullptr;
    rc = session_builder_create(&builder_raw, store.get(), &c_addr, store.signal().get());
    detail::SessionBuilderPtr builder(builder_raw);
    if (rc != 0)
        return map_error(store, rc, "cannot create a session builder");

    rc = session_builder_process_pre_key_bundle(builder.get(), c_bundle.get());
    if (rc == SG_ERR_INVALID_KEY)
        // libsignal reports a bad signed-prekey signature as an invalid key; session.h
        // promises Errc::crypto for it, as it means the bundle was forged or corrupted.
        return make_error(Errc::crypto, "the signed prekey signature does not verify");
    if (rc != 0)
        return map_error(store, rc, "cannot build a session from the bundle");
    return {};
}

Result<bool> has_session(StoreContext& store, const ProtocolAddress& address) {
    store.take_store_error();
    auto c_addr = c_address(address);
    int rc = signal_protocol_session_contains_session(store.get(), &c_addr);
    if (auto store_error = store.take_store_error())
        return *store_error;
    if (rc < 0)
        return map_error(store, rc, "cannot look up a session");
    return rc == 1;
}

Result<std::uint32_t> sending_chain_index(StoreContext& store, const ProtocolAddress& address) {
    store.take_store_error();
    auto c_addr = c_address(address);
    session_record* raw = nullptr;
    int rc = signal_protocol_session_load_session(store.get(), &raw, &c_addr);
    detail::SignalPtr<session_record> record(raw);
    if (auto store_error = store.take_store_error())
        return *store_error;
    if (rc < 0)
        return map_error(store, rc, "cannot load a session");
    session_state* state = record ? session_record_get_state(record.get()) : nullptr;
    if (!state || !session_state_has_sender_chain(state))
        return make_error(Errc::no_session, "no session with this address");
    // A damaged stored record can name a sending chain without its key; libsignal then hands
    // back null, and both this call and session_cipher_encrypt would dereference it.
    const ratchet_chain_key* chain_key = session_state_get_sender_chain_key(state);
    if (chain_key == nullptr)
        return make_error(Errc::corrupt, "the stored session has no sending chain key");
    return ratchet_chain_key_get_index(chain_key);
}

Result<std::uint32_t> missing_messages(StoreContext& store, const ProtocolAddress& address) {
    store.take_store_error();
    auto c_addr = c_address(address);
    session_record* raw = nullptr;
    int rc = signal_protocol_session_load_session(store.get(), &raw, &c_addr);
    detail::SignalPtr<session_record> record(raw);
    if (auto store_error = store.take_store_error())
        return *store_error;
    if (rc < 0)
        return map_error(store, rc, "cannot load a session");
    if (!record)
        return 0U;
    // The serialized record holds the session's keys: it is wiped when it goes.
    signal_buffer* buffer_raw = nullptr;
    if (session_record_serialize(&buffer_raw, record.get()) != 0)
        return make_error(Errc::corrupt, "the stored session cannot be serialized");
    detail::SecretBufferPtr buffer(buffer_raw);
    auto keys =
        kept_message_keys({signal_buffer_data(buffer.get()), signal_buffer_len(buffer.get())});
    if (!keys)
        return make_error(Errc::corrupt, "the stored session is malformed");
    return *keys;
}

Result<Ciphertext> encrypt(StoreContext& store, const ProtocolAddress& address,
                           std::span<const std::uint8_t> padded_plaintext) {
    // libsignal does not report a missing session cleanly from encrypt, and crashes on a stored
    // session whose sending chain has no key: ask first (no_session, corrupt).
    if (auto chain = sending_chain_index(store, address); !chain)
        return chain.error();

    auto c_addr = c_address(address);
    auto cipher = make_cipher(store, c_addr);
    if (!cipher)
        return cipher.error();

    ciphertext_message* raw = nullptr;
    int rc = session_cipher_encrypt(cipher->get(), detail::data_or_empty(padded_plaintext),
                                    padded_plaintext.size(), &raw);
    detail::SignalPtr<ciphertext_message> message(raw);
    if (rc != 0)
        return map_error(store, rc, "cannot encrypt a message");

    Ciphertext out;
    int type = ciphertext_message_get_type(message.get());
    if (type == CIPHERTEXT_PREKEY_TYPE)
        out.type = CiphertextType::prekey;
    else if (type == CIPHERTEXT_SIGNAL_TYPE)
        out.type = CiphertextType::whisper;
    else
        return make_error(Errc::crypto, "libsignal produced an unexpected message type");
    // The serialized buffer belongs to the message; copy it out.
    out.bytes = detail::to_bytes(ciphertext_message_get_serialized(message.get()));
    return out;
}

Result<SecretBytes> decrypt(StoreContext& store, const ProtocolAddress& address,
                            const Ciphertext& ciphertext) {
    if (ciphertext.bytes.empty())
        return make_error(Errc::invalid_message, "empty message");
    store.take_store_error();
    auto c_addr = c_address(address);
    auto cipher = make_cipher(store, c_addr);
    if (!cipher)
        return cipher.error();

    switch (ciphertext.type) {
    case CiphertextType::prekey:
        return decrypt_prekey_message(store, cipher->get(), ciphertext.bytes);
    case CiphertextType::whisper:
        return decrypt_whisper_message(store, cipher->get(), ciphertext.bytes);
    }
    return make_error(Errc::invalid_message, "unknown message type");
}

} // namespace veil::crypto
