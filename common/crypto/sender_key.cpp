#include "crypto/sender_key.h"

#include "crypto/detail/signal_errors.h"
#include "crypto/detail/signal_handles.h"

#include <signal/protocol.h>
#include <signal/sender_key_record.h>
#include <signal/sender_key_state.h>

#include <string>

namespace veil::crypto {
namespace {

using detail::map_error;
using detail::parse_error;

constexpr std::size_t kChainKeySize = 32;

// The C form of a SenderKeyName. A group cipher keeps a pointer to it for its whole life, and
// libsignal logs the group id and sender name with %s, so both are held here NUL-terminated
// (std::string's buffer always is). It points into itself and therefore never moves.
struct CSenderKeyName {
    explicit CSenderKeyName(const SenderKeyName& name)
        : group(reinterpret_cast<const char*>(name.group_id.data()), name.group_id.size())
        , sender(name.sender.name) {
        c.group_id = group.c_str();
        c.group_id_len = group.size();
        c.sender = signal_protocol_address{sender.c_str(), sender.size(), name.sender.device_id};
    }
    CSenderKeyName(const CSenderKeyName&) = delete;
    CSenderKeyName& operator=(const CSenderKeyName&) = delete;

    std::string group;
    std::string sender;
    signal_protocol_sender_key_name c{};
};

Status check_name(const SenderKeyName& name) {
    if (name.group_id.empty() || name.group_id.size() > kMaxGroupIdBytes)
        return make_error(Errc::invalid_argument,
                          "a group id must be 1 to " + std::to_string(kMaxGroupIdBytes) + " bytes");
    if (name.sender.name.empty())
        return make_error(Errc::invalid_argument, "a sender key needs a sender name");
    return {};
}

// A sender key record as libsignal reads it through the store (an empty one when none is
// stored).
Result<detail::SignalPtr<sender_key_record>> load_record(StoreContext& store,
                                                         const CSenderKeyName& name) {
    sender_key_record* raw = nullptr;
    int rc = signal_protocol_sender_key_load_key(store.get(), &raw, &name.c);
    detail::SignalPtr<sender_key_record> record(raw);
    if (rc < 0 || !record)
        return map_error(store, rc, "cannot load a sender key");
    return record;
}

// Whether the record under name holds a sender key with key_id.
Result<bool> holds_key_id(StoreContext& store, const CSenderKeyName& name, std::uint32_t key_id) {
    auto record = load_record(store, name);
    if (!record)
        return record.error();
    if (sender_key_record_is_empty(record->get()))
        return false;
    sender_key_state* state = nullptr; // borrowed from the record
    return sender_key_record_get_sender_key_state_by_id(record->get(), &state, key_id) == 0;
}

enum class Holder { nobody, us, member };

// Whose sender key is stored under name: only ours carry the private signing key.
Result<Holder> key_holder(StoreContext& store, const CSenderKeyName& name) {
    auto record = load_record(store, name);
    if (!record)
        return record.error();
    sender_key_state* state = nullptr; // borrowed from the record
    if (sender_key_record_is_empty(record->get()) ||
        sender_key_record_get_sender_key_state(record->get(), &state) != 0)
        return Holder::nobody;
    return sender_key_state_get_signing_key_private(state) ? Holder::us : Holder::member;
}

Result<detail::SignalPtr<sender_key_distribution_message>>
parse_distribution_message(StoreContext& store, std::span<const std::uint8_t> bytes) {
    if (bytes.empty())
        return make_error(Errc::invalid_message, "empty sender key distribution message");
    if (bytes.size() > kMaxDistributionMessageBytes)
        return make_error(Errc::too_large, "sender key distribution message too large");
    sender_key_distribution_message* raw = nullptr;
    int rc = sender_key_distribution_message_deserialize(&raw, bytes.data(), bytes.size(),
                                                         store.signal().get());
    detail::SignalPtr<sender_key_distribution_message> message(raw);
    if (rc != 0 || !message)
        return parse_error(store, rc, "malformed sender key distribution message");
    // libsignal accepts a chain key of any length and would derive message keys from it.
    if (detail::view(sender_key_distribution_message_get_chain_key(message.get())).size() !=
        kChainKeySize)
        return make_error(Errc::invalid_message,
                          "a sender key distribution message needs a 32-byte chain key");
    return message;
}

Result<detail::GroupCipherPtr> make_group_cipher(StoreContext& store, const CSenderKeyName& name) {
    group_cipher* raw = nullptr;
    int rc = group_cipher_create(&raw, store.get(), &name.c, store.signal().get());
    detail::GroupCipherPtr cipher(raw);
    if (rc != 0 || !cipher)
        return map_error(store, rc, "cannot create a group cipher");
    return cipher;
}

Result<detail::GroupSessionBuilderPtr> make_group_builder(StoreContext& store) {
    group_session_builder* raw = nullptr;
    int rc = group_session_builder_create(&raw, store.get(), store.signal().get());
    detail::GroupSessionBuilderPtr builder(raw);
    if (rc != 0 || !builder)
        return map_error(store, rc, "cannot create a group session builder");
    return builder;
}

// libsignal turns an unknown key id into SG_ERR_INVALID_MESSAGE, the same code as a bad
// signature. A key id we never received is told apart here: it means a missing distribution
// message, which the caller can ask for, not a forgery.
Error decrypt_error(StoreContext& store, const CSenderKeyName& name, sender_key_message* message,
                    int code) {
    if (auto store_error = store.take_store_error())
        return *store_error;
    if (code == SG_ERR_NO_SESSION)
        return make_error(Errc::no_session, "no sender key from this sender in this group");
    if (code == SG_ERR_INVALID_MESSAGE) {
        auto held = holds_key_id(store, name, sender_key_message_get_key_id(message));
        if (!held)
            return held.error();
        if (!*held)
            return make_error(Errc::no_session,
                              "no sender key with this message's key id from this sender");
    }
    return map_error(store, code, "cannot decrypt a group message");
}

} // namespace

Result<SecretBytes> create_distribution_message(StoreContext& store, const SenderKeyName& own) {
    VEIL_TRY(check_name(own));
    store.take_store_error();
    CSenderKeyName name(own);
    auto holder = key_holder(store, name);
    if (!holder)
        return holder.error();
    if (*holder == Holder::member)
        // libsignal would hand out the received key, which we cannot sign with.
        return make_error(Errc::invalid_argument,
                          "the sender key stored under our name is a received one");
    auto builder = make_group_builder(store);
    if (!builder)
        return builder.error();

    sender_key_distribution_message* raw = nullptr;
    int rc = group_session_builder_create_session(builder->get(), &raw, &name.c);
    detail::SignalPtr<sender_key_distribution_message> message(raw);
    if (rc != 0 || !message)
        return map_error(store, rc, "cannot create a sender key");
    // The serialized buffer belongs to the message; copy it out as the secret it is.
    return detail::to_secret(
        ciphertext_message_get_serialized(detail::as_ciphertext_message(message.get())));
}

Status process_distribution_message(StoreContext& store, const SenderKeyName& sender,
                                    std::span<const std::uint8_t> message) {
    VEIL_TRY(check_name(sender));
    store.take_store_error();
    auto parsed = parse_distribution_message(store, message);
    if (!parsed)
        return parsed.error();

    CSenderKeyName name(sender);
    auto holder = key_holder(store, name);
    if (!holder)
        return holder.error();
    if (*holder == Holder::us)
        // Adding a received key in front of ours would make every later encrypt fail.
        return make_error(Errc::invalid_argument,
                          "a distribution message cannot replace a sender key of our own");
    auto held = holds_key_id(store, name, sender_key_distribution_message_get_id(parsed->get()));
    if (!held)
        return held.error();
    if (*held)
        return {};

    auto builder = make_group_builder(store);
    if (!builder)
        return builder.error();
    int rc = group_session_builder_process_session(builder->get(), &name.c, parsed->get());
    if (rc != 0)
        return map_error(store, rc, "cannot store a received sender key");
    return {};
}

Result<bool> has_sender_key(StoreContext& store, const SenderKeyName& name) {
    VEIL_TRY(check_name(name));
    auto record = store.protocol_store().load_sender_key(name);
    if (!record)
        return record.error();
    return record->has_value();
}

Result<Bytes> group_encrypt(StoreContext& store, const SenderKeyName& own,
                            std::span<const std::uint8_t> padded_plaintext) {
    VEIL_TRY(check_name(own));
    if (padded_plaintext.size() > kMaxGroupPlaintextBytes)
        return make_error(Errc::too_large, "a group message this large cannot be sent");
    store.take_store_error();
    CSenderKeyName name(own);
    auto cipher = make_group_cipher(store, name);
    if (!cipher)
        return cipher.error();

    ciphertext_message* raw = nullptr;
    int rc = group_cipher_encrypt(cipher->get(), detail::data_or_empty(padded_plaintext),
                                  padded_plaintext.size(), &raw);
    detail::SignalPtr<ciphertext_message> message(raw);
    if (rc != 0 || !message) {
        if (auto store_error = store.take_store_error())
            return *store_error;
        if (rc == SG_ERR_NO_SESSION)
            return make_error(Errc::no_session, "no sender key of ours for this group");
        if (rc == SG_ERR_INVALID_KEY)
            return make_error(Errc::crypto, "the sender key stored under our name is not ours");
        return map_error(store, rc, "cannot encrypt a group message");
    }
    if (ciphertext_message_get_type(message.get()) != CIPHERTEXT_SENDERKEY_TYPE)
        return make_error(Errc::crypto, "libsignal produced an unexpected message type");
    return detail::to_bytes(ciphertext_message_get_serialized(message.get()));
}

Result<SecretBytes> group_decrypt(StoreContext& store, const SenderKeyName& sender,
                                  std::span<const std::uint8_t> message) {
    VEIL_TRY(check_name(sender));
    if (message.empty())
        return make_error(Errc::invalid_message, "empty group message");
    if (message.size() > kMaxSenderKeyMessageBytes)
        return make_error(Errc::too_large, "group message too large");
    store.take_store_error();

    sender_key_message* raw = nullptr;
    int rc =
        sender_key_message_deserialize(&raw, message.data(), message.size(), store.signal().get());
    detail::SignalPtr<sender_key_message> parsed(raw);
    if (rc != 0 || !parsed)
        return parse_error(store, rc, "malformed group message");

    CSenderKeyName name(sender);
    auto cipher = make_group_cipher(store, name);
    if (!cipher)
        return cipher.error();
    signal_buffer* plain_raw = nullptr;
    rc = group_cipher_decrypt(cipher->get(), parsed.get(), nullptr, &plain_raw);
    detail::SecretBufferPtr plaintext(plain_raw);
    if (rc != 0)
        return decrypt_error(store, name, parsed.get(), rc);
    return detail::to_secret(plaintext.get());
}

Status drop_sender_key(StoreContext& store, const SenderKeyName& name) {
    VEIL_TRY(check_name(name));
    return store.protocol_store().delete_sender_key(name);
}

} // namespace veil::crypto
