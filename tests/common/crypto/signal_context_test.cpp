#include "crypto/keys.h"
#include "crypto/session.h"
#include "crypto/signal_context.h"
#include "log_capture.h"
#include "protocol/padding.h"
#include "support/memory_store.h"
#include "util/hex.h"

#include <catch2/catch.hpp>

#include <signal/signal_protocol.h>

using namespace veil;
using namespace veil::crypto;
using veil::crypto::testing::LogCapture;
using veil::crypto::testing::MemoryStore;

namespace {

std::unique_ptr<SignalContext> make_context() {
    auto context = SignalContext::create();
    REQUIRE(context.ok());
    return std::move(context).value();
}

std::unique_ptr<MemoryStore> make_store(SignalContext& signal) {
    auto identity = generate_identity(signal);
    REQUIRE(identity.ok());
    return std::make_unique<MemoryStore>(std::move(identity->key_pair), identity->registration_id);
}

} // namespace

TEST_CASE("a signal context has the provider installed and can be created many times") {
    for (int i = 0; i < 20; ++i) {
        auto context = make_context();
        REQUIRE(context->get() != nullptr);
        // Key generation exercises the provider's random and SHA-512 callbacks.
        CHECK(generate_identity(*context).ok());
    }
}

TEST_CASE("a store context reads and writes through the protocol store") {
    auto signal = make_context();
    auto store = make_store(*signal);
    auto context = StoreContext::create(*signal, *store);
    REQUIRE(context.ok());
    CHECK(&(*context)->signal() == signal.get());

    ProtocolAddress bob{"bob", 3};
    CHECK_FALSE(*has_session(**context, bob));
    REQUIRE(store->store_session(bob, to_bytes("opaque"), Bytes{}).ok());
    CHECK(*has_session(**context, bob));
}

TEST_CASE("libsignal's own log lines reach the crypto logger at debug only") {
    auto signal = make_context();
    auto store = make_store(*signal);
    auto context = StoreContext::create(*signal, *store);
    REQUIRE(context.ok());

    LogCapture log;
    // Bytes that are no signal message: libsignal logs why it refuses them.
    auto bogus = decrypt(**context, ProtocolAddress{"carol", 1},
                         Ciphertext{CiphertextType::prekey, to_bytes("not a message")});
    CHECK_FALSE(bogus.ok());
    auto result = encrypt(**context, ProtocolAddress{"carol", 1}, protocol::pad(to_bytes("x")));
    CHECK_FALSE(result.ok());
    REQUIRE(log.contains("libsignal: ")); // "Unknown version" from the deserializer

    for (const auto& line : log.lines()) {
        if (line.message.rfind("libsignal: ", 0) != 0)
            continue;
        CHECK(line.subsystem == "crypto");
        CHECK(line.level == log::Level::debug);
    }
}

TEST_CASE("a store error becomes SG_ERR_UNKNOWN for libsignal and is kept for the caller") {
    auto signal = make_context();
    auto store = make_store(*signal);
    auto context = StoreContext::create(*signal, *store);
    REQUIRE(context.ok());

    store->fail_writes = true;
    int rc = signal_protocol_pre_key_remove_key((*context)->get(), 7);
    CHECK(rc == SG_ERR_UNKNOWN);
    auto error = (*context)->take_store_error();
    REQUIRE(error);
    CHECK(error->code == Errc::database);
    CHECK_FALSE((*context)->take_store_error());
}
