// SignalContext owns a libsignal signal_context with the OpenSSL provider and recursive-mutex
// locking installed. StoreContext owns a signal_protocol_store_context whose callbacks call a
// ProtocolStore. Both are created once per account and used from one thread at a time.
//
// Lifetime: a StoreContext refers to its SignalContext and its ProtocolStore; both must outlive
// it. Destroy every StoreContext before its SignalContext.
#pragma once

#include "crypto/protocol_store.h"
#include "util/result.h"

#include <memory>
#include <mutex>
#include <optional>

struct signal_context;
struct signal_protocol_store_context;

namespace veil::crypto {

namespace detail {
struct SignalContextFree {
    void operator()(signal_context* context) const;
};
struct StoreContextFree {
    void operator()(signal_protocol_store_context* context) const;
};
} // namespace detail

class SignalContext {
public:
    static Result<std::unique_ptr<SignalContext>> create();
    ~SignalContext();
    SignalContext(const SignalContext&) = delete;
    SignalContext& operator=(const SignalContext&) = delete;

    signal_context* get() const { return m_context.get(); }

private:
    SignalContext() = default;
    std::recursive_mutex m_mutex; // declared first: libsignal may lock it while being destroyed
    std::unique_ptr<signal_context, detail::SignalContextFree> m_context;
    friend struct SignalContextAccess;
};

class StoreContext {
public:
    // store must outlive the StoreContext.
    static Result<std::unique_ptr<StoreContext>> create(SignalContext& context,
                                                        ProtocolStore& store);
    ~StoreContext();
    StoreContext(const StoreContext&) = delete;
    StoreContext& operator=(const StoreContext&) = delete;

    signal_protocol_store_context* get() const { return m_store_context.get(); }
    SignalContext& signal() const { return m_signal; }
    // The store behind the callbacks, for the few operations libsignal has no call for
    // (deleting a sender key).
    ProtocolStore& protocol_store() const { return m_store; }

    // The first Error a ProtocolStore method returned since the last call, if any. libsignal
    // only sees SG_ERR_UNKNOWN; the session functions use this to report the store's own
    // error (for example Errc::database) instead of a generic crypto failure.
    std::optional<Error> take_store_error();

private:
    StoreContext(SignalContext& signal, ProtocolStore& store)
        : m_signal(signal)
        , m_store(store) {}
    SignalContext& m_signal;
    ProtocolStore& m_store;
    std::unique_ptr<signal_protocol_store_context, detail::StoreContextFree> m_store_context;
    std::optional<Error> m_store_error;
    friend struct StoreCallbacks;
};

} // namespace veil::crypto
