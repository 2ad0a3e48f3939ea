#include "crypto/signal_context.h"

#include "crypto/detail/signal_handles.h"
#include "crypto/provider.h"
#include "util/log.h"

#include <string>
#include <string_view>

namespace veil::crypto {

void detail::SignalContextFree::operator()(signal_context* context) const {
    signal_context_destroy(context);
}

void detail::StoreContextFree::operator()(signal_protocol_store_context* context) const {
    signal_protocol_store_context_destroy(context);
}

// Static trampolines for the context's lock and log callbacks; a friend of SignalContext.
struct SignalContextAccess {
    static void lock(void* user_data) { static_cast<SignalContext*>(user_data)->m_mutex.lock(); }
    static void unlock(void* user_data) {
        static_cast<SignalContext*>(user_data)->m_mutex.unlock();
    }

    // libsignal's own messages say why an operation failed ("Bad Mac!", "No valid sessions");
    // they never contain key material. They are forwarded at debug only, whatever their level,
    // because every failure they describe is also reported to the caller as an Error.
    static void log(int, const char* message, std::size_t len, void*) {
        if (log::level() > log::Level::debug)
            return;
        try {
            std::string line = "libsignal: ";
            line.append(message, len);
            log::debug("crypto", line);
        } catch (...) {
            // Logging must never throw into C code.
        }
    }
};

Result<std::unique_ptr<SignalContext>> SignalContext::create() {
    std::unique_ptr<SignalContext> self(new SignalContext());
    signal_context* raw = nullptr;
    if (signal_context_create(&raw, self.get()) != 0 || !raw)
        return make_error(Errc::crypto, "cannot create a libsignal context");
    self->m_context.reset(raw);

    VEIL_TRY(install_provider(raw));
    if (signal_context_set_locking_functions(raw, SignalContextAccess::lock,
                                             SignalContextAccess::unlock) != 0)
        return make_error(Errc::crypto, "cannot install libsignal locking callbacks");
    if (signal_context_set_log_function(raw, SignalContextAccess::log) != 0)
        return make_error(Errc::crypto, "cannot install the libsignal log callback");
    return self;
}

SignalContext::~SignalContext() = default;

// ---------------------------------------------------------------------------------------------
// Store callbacks: each one calls the ProtocolStore and turns its Error into SG_ERR_UNKNOWN so
// that the libsignal call in progress fails. The Error itself is kept for take_store_error().

struct StoreCallbacks {
    static StoreContext& self(void* user_data) { return *static_cast<StoreContext*>(user_data); }
    static ProtocolStore& store(void* user_data) { return self(user_data).m_store; }

    static int fail(void* user_data, Error error) {
        auto& slot = self(user_data).m_store_error;
        if (!slot)
            slot = std::move(error);
        return SG_ERR_UNKNOWN;
    }

    static int fail_exception(void* user_data) {
        try {
            return fail(user_data, make_error(Errc::internal, "the protocol store threw"));
        } catch (...) {
            return SG_ERR_UNKNOWN;
        }
    }

    static ProtocolAddress address(const signal_protocol_address* a) {
        return ProtocolAddress{std::string(a->name, a->name_len), a->device_id};
    }

    static SenderKeyName sender_key_name(const signal_protocol_sender_key_name* n) {
        const auto* group = reinterpret_cast<const std::uint8_t*>(n->group_id);
        return SenderKeyName{Bytes(group, group + n->group_id_len), address(&n->sender)};
    }

    static std::span<const std::uint8_t> bytes(const std::uint8_t* data, std::size_t len) {
        return data ? std::span<const std::uint8_t>(data, len) : std::span<const std::uint8_t>();
    }

    // Hands bytes to libsignal in a buffer it owns (it frees them with signal_buffer_free).
    static int give(signal_buffer** out, std::span<const std::uint8_t> data) {
        *out = signal_buffer_create(detail::data_or_empty(data), data.size());
        return *out ? 0 : SG_ERR_NOMEM;
    }

    static int status(void* user_data, const Status& s) {
        return s.ok() ? 0 : fail(user_data, s.error());
    }

    static int boolean(void* user_data, const Result<bool>& r) {
        if (!r)
            return fail(user_data, r.error());
        return *r ? 1 : 0;
    }

    // --- sessions ---

    static int load_session(signal_buffer** record, signal_buffer** user_record,
                            const signal_protocol_address* a, void* user_data) try {
        auto loaded = store(user_data).load_session(address(a));
        if (!loaded)
            return fail(user_data, loaded.error());
        if (!*loaded)
            return 0;
        if (int rc = give(record, (*loaded)->record); rc != 0)
            return rc;
        if (!(*loaded)->user_record.empty()) {
            if (int rc = give(user_record, (*loaded)->user_record); rc != 0) {
                detail::BufferPtr drop(*record);
                *record = nullptr;
                return rc;
            }
        }
        return 1;
    } catch (...) {
        return fail_exception(user_data);
    }

    static int session_devices(signal_int_list** sessions, const char* name, std::size_t name_len,
                               void* user_data) try {
        auto devices = store(user_data).session_devices(std::string(name, name_len));
        if (!devices)
            return fail(user_data, devices.error());
        signal_int_list* list = signal_int_list_alloc();
        if (!list)
            return SG_ERR_NOMEM;
        for (auto device : *devices) {
            if (signal_int_list_push_back(list, device) != 0) {
                signal_int_list_free(list);
                return SG_ERR_NOMEM;
            }
        }
        *sessions = list;
        return static_cast<int>(signal_int_list_size(list));
    } catch (...) {
        return fail_exception(user_data);
    }

    static int store_session(const signal_protocol_address* a, std::uint8_t* record,
                             std::size_t record_len, std::uint8_t* user_record,
                             std::size_t user_record_len, void* user_data) try {
        return status(user_data,
                      store(user_data).store_session(address(a), bytes(record, record_len),
                                                     bytes(user_record, user_record_len)));
    } catch (...) {
        return fail_exception(user_data);
    }

    static int contains_session(const signal_protocol_address* a, void* user_data) try {
        return boolean(user_data, store(user_data).contains_session(address(a)));
    } catch (...) {
        return fail_exception(user_data);
    }

    static int delete_session(const signal_protocol_address* a, void* user_data) try {
        return status(user_data, store(user_data).delete_session(address(a)));
    } catch (...) {
        return fail_exception(user_data);
    }

    static int delete_all_sessions(const char* name, std::size_t name_len, void* user_data) try {
        return status(user_data, store(user_data).delete_all_sessions(std::string(name, name_len)));
    } catch (...) {
        return fail_exception(user_data);
    }

    // --- one-time prekeys ---

    static int load_prekey(signal_buffer** record, std::uint32_t id, void* user_data) try {
        auto loaded = store(user_data).load_prekey(id);
        if (!loaded)
            return fail(user_data, loaded.error());
        if (!*loaded)
            return SG_ERR_INVALID_KEY_ID;
        return give(record, (*loaded)->view());
    } catch (...) {
        return fail_exception(user_data);
    }

    static int store_prekey(std::uint32_t id, std::uint8_t* record, std::size_t len,
                            void* user_data) try {
        return status(user_data, store(user_data).store_prekey(id, bytes(record, len)));
    } catch (...) {
        return fail_exception(user_data);
    }

    static int contains_prekey(std::uint32_t id, void* user_data) try {
        return boolean(user_data, store(user_data).contains_prekey(id));
    } catch (...) {
        return fail_exception(user_data);
    }

    static int remove_prekey(std::uint32_t id, void* user_data) try {
        return status(user_data, store(user_data).remove_prekey(id));
    } catch (...) {
        return fail_exception(user_data);
    }

    // --- signed prekeys ---

    static int load_signed_prekey(signal_buffer** record, std::uint32_t id, void* user_data) try {
        auto loaded = store(user_data).load_signed_prekey(id);
        if (!loaded)
            return fail(user_data, loaded.error());
        if (!*loaded)
            return SG_ERR_INVALID_KEY_ID;
        return give(record, (*loaded)->view());
    } catch (...) {
        return fail_exception(user_data);
    }

    static int store_signed_prekey(std::uint32_t id, std::uint8_t* record, std::size_t len,
                                   void* user_data) try {
        return status(user_data, store(user_data).store_signed_prekey(id, bytes(record, len)));
    } catch (...) {
        return fail_exception(user_data);
    }

    static int contains_signed_prekey(std::uint32_t id, void* user_data) try {
        return boolean(user_data, store(user_data).contains_signed_prekey(id));
    } catch (...) {
        return fail_exception(user_data);
    }

    static int remove_signed_prekey(std::uint32_t id, void* user_data) try {
        return status(user_data, store(user_data).remove_signed_prekey(id));
    } catch (...) {
        return fail_exception(user_data);
    }

    // --- identity ---

    static int identity_key_pair(signal_buffer** public_data, signal_buffer** private_data,
                                 void* user_data) try {
        auto pair = store(user_data).identity_key_pair();
        if (!pair)
            return fail(user_data, pair.error());
        if (int rc = give(public_data, pair->public_key); rc != 0)
            return rc;
        if (int rc = give(private_data, pair->private_key.view()); rc != 0) {
            detail::BufferPtr drop(*public_data);
            *public_data = nullptr;
            return rc;
        }
        return 0;
    } catch (...) {
        return fail_exception(user_data);
    }

    static int registration_id(void* user_data, std::uint32_t* id) try {
        auto loaded = store(user_data).local_registration_id();
        if (!loaded)
            return fail(user_data, loaded.error());
        *id = *loaded;
        return 0;
    } catch (...) {
        return fail_exception(user_data);
    }

    static int save_identity(const signal_protocol_address* a, std::uint8_t* key, std::size_t len,
                             void* user_data) try {
        return status(user_data, store(user_data).save_identity(address(a), bytes(key, len)));
    } catch (...) {
        return fail_exception(user_data);
    }

    static int is_trusted_identity(const signal_protocol_address* a, std::uint8_t* key,
                                   std::size_t len, void* user_data) try {
        return boolean(user_data,
                       store(user_data).is_trusted_identity(address(a), bytes(key, len)));
    } catch (...) {
        return fail_exception(user_data);
    }

    // --- sender keys ---

    static int load_sender_key(signal_buffer** record, signal_buffer** /*user_record*/,
                               const signal_protocol_sender_key_name* n, void* user_data) try {
        auto loaded = store(user_data).load_sender_key(sender_key_name(n));
        if (!loaded)
            return fail(user_data, loaded.error());
        if (!*loaded)
            return 0;
        if (int rc = give(record, (*loaded)->view()); rc != 0)
            return rc;
        return 1;
    } catch (...) {
        return fail_exception(user_data);
    }

    // Veil never attaches a user record to a sender key record, so there is none to keep; one
    // appearing would mean a libsignal change this adapter does not know about.
    static int store_sender_key(const signal_protocol_sender_key_name* n, std::uint8_t* record,
                                std::size_t record_len, std::uint8_t*, std::size_t user_record_len,
                                void* user_data) try {
        if (user_record_len != 0)
            return fail(user_data, make_error(Errc::internal,
                                              "a sender key came with a user record to store"));
        return status(user_data, store(user_data).store_sender_key(sender_key_name(n),
                                                                   bytes(record, record_len)));
    } catch (...) {
        return fail_exception(user_data);
    }

    // The ProtocolStore is owned elsewhere; libsignal must not free anything through it.
    static void destroy(void*) {}

    static Status install(StoreContext& self) {
        signal_protocol_store_context* raw = self.m_store_context.get();
        void* user_data = &self;

        signal_protocol_session_store sessions{
            load_session,   session_devices,     store_session, contains_session,
            delete_session, delete_all_sessions, destroy,       user_data};
        signal_protocol_pre_key_store prekeys{load_prekey,   store_prekey, contains_prekey,
                                              remove_prekey, destroy,      user_data};
        signal_protocol_signed_pre_key_store signed_prekeys{load_signed_prekey,
                                                            store_signed_prekey,
                                                            contains_signed_prekey,
                                                            remove_signed_prekey,
                                                            destroy,
                                                            user_data};
        signal_protocol_identity_key_store identity{identity_key_pair, registration_id,
                                                    save_identity,     is_trusted_identity,
                                                    destroy,           user_data};
        signal_protocol_sender_key_store sender_keys{store_sender_key, load_sender_key, destroy,
                                                     user_data};

        if (signal_protocol_store_context_set_session_store(raw, &sessions) != 0 ||
            signal_protocol_store_context_set_pre_key_store(raw, &prekeys) != 0 ||
            signal_protocol_store_context_set_signed_pre_key_store(raw, &signed_prekeys) != 0 ||
            signal_protocol_store_context_set_identity_key_store(raw, &identity) != 0 ||
            signal_protocol_store_context_set_sender_key_store(raw, &sender_keys) != 0)
            return make_error(Errc::crypto, "cannot install the protocol store callbacks");
        return {};
    }
};

Result<std::unique_ptr<StoreContext>> StoreContext::create(SignalContext& context,
                                                           ProtocolStore& store) {
    std::unique_ptr<StoreContext> self(new StoreContext(context, store));
    signal_protocol_store_context* raw = nullptr;
    if (signal_protocol_store_context_create(&raw, context.get()) != 0 || !raw)
        return make_error(Errc::crypto, "cannot create a libsignal store context");
    self->m_store_context.reset(raw);
    VEIL_TRY(StoreCallbacks::install(*self));
    return self;
}

StoreContext::~StoreContext() = default;

std::optional<Error> StoreContext::take_store_error() {
    std::optional<Error> error = std::move(m_store_error);
    m_store_error.reset();
    return error;
}

} // namespace veil::crypto
