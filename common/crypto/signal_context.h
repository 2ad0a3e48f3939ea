// SignalContext owns a libsignal signal_context with the OpenSSL provider and recursive-mutex
// locking installed. StoreContext owns a signal_protocol_store_context whose callbacks call a
// ProtocolStore. Both are created once per account and used from one thread at a time.
#pragma once

#include "crypto/protocol_store.h"
#include "util/result.h"

#include <memory>
#include <mutex>

struct signal_context;
struct signal_protocol_store_context;

namespace veil::crypto {

class SignalContext {
public:
    static Result<std::unique_ptr<SignalContext>> create();
    ~SignalContext();
    SignalContext(const SignalContext&) = delete;
    SignalContext& operator=(const SignalContext&) = delete;

    signal_context* get() const { return m_context; }

private:
    SignalContext() = default;
    signal_context* m_context = nullptr;
    std::recursive_mutex m_mutex;
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

    signal_protocol_store_context* get() const { return m_store_context; }
    SignalContext& signal() const { return m_signal; }

private:
    StoreContext(SignalContext& signal, ProtocolStore& store) : m_signal(signal), m_store(store) {}
    SignalContext& m_signal;
    ProtocolStore& m_store;
    signal_protocol_store_context* m_store_context = nullptr;
};

} // namespace veil::crypto
