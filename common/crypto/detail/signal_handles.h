// RAII owners for every libsignal-protocol-c handle used by the crypto module. This is the one
// place where raw reference counting happens: SIGNAL_UNREF and signal_type_unref, the buffer
// frees and the *_free functions are only ever called from the deleters below.
//
// Internal to common/crypto; other modules see only the C++ types in the crypto headers.
#pragma once

#include "util/secret_bytes.h"

#include <signal/fingerprint.h>
#include <signal/group_cipher.h>
#include <signal/group_session_builder.h>
#include <signal/key_helper.h>
#include <signal/session_builder.h>
#include <signal/session_cipher.h>
#include <signal/signal_protocol.h>

#include <cstdint>
#include <memory>
#include <span>

namespace veil::crypto::detail {

// Drops one reference to any refcounted libsignal object (keys, records, messages, bundles).
struct SignalUnref {
    template <typename T>
    void operator()(T* object) const {
        if (object)
            signal_type_unref(reinterpret_cast<signal_type_base*>(object));
    }
};

template <typename T>
using SignalPtr = std::unique_ptr<T, SignalUnref>;

// Adds a reference and returns a new owner of it (for objects handed out by a getter).
template <typename T>
SignalPtr<T> signal_ref(T* object) {
    if (object)
        signal_type_ref(reinterpret_cast<signal_type_base*>(object));
    return SignalPtr<T>(object);
}

// Buffers that hold public data.
struct BufferFree {
    void operator()(signal_buffer* buffer) const { signal_buffer_free(buffer); }
};
using BufferPtr = std::unique_ptr<signal_buffer, BufferFree>;

// Buffers that may hold secrets (private keys, plaintext): zeroed before they are freed.
struct SecretBufferFree {
    void operator()(signal_buffer* buffer) const { signal_buffer_bzero_free(buffer); }
};
using SecretBufferPtr = std::unique_ptr<signal_buffer, SecretBufferFree>;

struct SessionBuilderFree {
    void operator()(session_builder* builder) const { session_builder_free(builder); }
};
using SessionBuilderPtr = std::unique_ptr<session_builder, SessionBuilderFree>;

struct SessionCipherFree {
    void operator()(session_cipher* cipher) const { session_cipher_free(cipher); }
};
using SessionCipherPtr = std::unique_ptr<session_cipher, SessionCipherFree>;

struct GroupSessionBuilderFree {
    void operator()(group_session_builder* builder) const { group_session_builder_free(builder); }
};
using GroupSessionBuilderPtr = std::unique_ptr<group_session_builder, GroupSessionBuilderFree>;

struct GroupCipherFree {
    void operator()(group_cipher* cipher) const { group_cipher_free(cipher); }
};
using GroupCipherPtr = std::unique_ptr<group_cipher, GroupCipherFree>;

struct FingerprintGeneratorFree {
    void operator()(fingerprint_generator* generator) const {
        fingerprint_generator_free(generator);
    }
};
using FingerprintGeneratorPtr = std::unique_ptr<fingerprint_generator, FingerprintGeneratorFree>;

struct PrekeyListFree {
    void operator()(signal_protocol_key_helper_pre_key_list_node* head) const {
        signal_protocol_key_helper_key_list_free(head);
    }
};
using PrekeyListPtr = std::unique_ptr<signal_protocol_key_helper_pre_key_list_node, PrekeyListFree>;

// Every libsignal message type (sender_key_message, sender_key_distribution_message, ...) starts
// with a ciphertext_message, which holds its serialized form; libsignal's own callers use this
// cast to reach it. The returned message is borrowed from object.
template <typename T>
const ciphertext_message* as_ciphertext_message(const T* object) {
    return reinterpret_cast<const ciphertext_message*>(object);
}

// Views and copies of a buffer's bytes.
inline std::span<const std::uint8_t> view(const signal_buffer* buffer) {
    if (!buffer)
        return {};
    return {signal_buffer_const_data(buffer), signal_buffer_len(buffer)};
}

inline Bytes to_bytes(const signal_buffer* buffer) {
    auto bytes = view(buffer);
    return Bytes(bytes.begin(), bytes.end());
}

inline SecretBytes to_secret(const signal_buffer* buffer) {
    auto bytes = view(buffer);
    return SecretBytes(bytes.data(), bytes.size());
}

// libsignal rejects null data pointers in places even when the length is zero.
inline const std::uint8_t* data_or_empty(std::span<const std::uint8_t> bytes) {
    static const std::uint8_t empty = 0;
    return bytes.empty() ? &empty : bytes.data();
}

} // namespace veil::crypto::detail
