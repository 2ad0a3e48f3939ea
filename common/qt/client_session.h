// ClientSession: what both apps need to run one account: the opened AccountStore, the
// SignalContext, a WsTransport and the Engine, owned together in the right order. Lives on
// the Qt thread that runs the event loop.
#pragma once

#include "crypto/signal_context.h"
#include "engine/engine.h"
#include "qt/blob_client.h"
#include "qt/ws_transport.h"
#include "store/account_store.h"
#include "util/clock.h"

#include <filesystem>
#include <memory>
#include <string>

namespace veil::qt {

class ClientSession {
public:
    // Creates a new profile and account (keys generated, not yet registered on the relay).
    static Result<std::unique_ptr<ClientSession>>
    create(const std::filesystem::path& profile, const SecretBytes& passphrase,
           const std::string& username, const std::string& relay_url,
           engine::EngineObserver& observer, const std::string& device_name = {});
    // Creates a new profile that will become a device of an existing account: no keys yet;
    // engine().start_link() shows the code for the other device.
    static Result<std::unique_ptr<ClientSession>>
    create_for_link(const std::filesystem::path& profile, const SecretBytes& passphrase,
                    const std::string& relay_url, const std::string& device_name,
                    engine::EngineObserver& observer);
    // Opens an existing profile. relay_url, when not empty, replaces the stored one.
    static Result<std::unique_ptr<ClientSession>> open(const std::filesystem::path& profile,
                                                       const SecretBytes& passphrase,
                                                       const std::string& relay_url,
                                                       engine::EngineObserver& observer);
    // Opens an existing profile with its raw database key (AccountStore::database_key(), as a
    // system keyring keeps it) instead of the passphrase. Errors as open(); wrong_passphrase
    // when the key no longer opens the profile.
    static Result<std::unique_ptr<ClientSession>>
    open_with_key(const std::filesystem::path& profile, const SecretBytes& key,
                  const std::string& relay_url, engine::EngineObserver& observer);
    ~ClientSession();

    engine::Engine& engine() { return *m_engine; }
    store::AccountStore& store() { return *m_store; }

private:
    ClientSession() = default;
    static Result<std::unique_ptr<ClientSession>> assemble(std::unique_ptr<store::AccountStore>,
                                                           const std::filesystem::path& profile,
                                                           engine::EngineObserver& observer);
    // The part of open() and open_with_key() after the store opened.
    static Result<std::unique_ptr<ClientSession>>
    finish_open(Result<std::unique_ptr<store::AccountStore>> store,
                const std::filesystem::path& profile, const std::string& relay_url,
                engine::EngineObserver& observer);
    SystemClock m_clock;
    std::unique_ptr<store::AccountStore> m_store;
    std::unique_ptr<crypto::SignalContext> m_context;
    std::unique_ptr<WsTransport> m_transport;
    std::unique_ptr<BlobClient> m_blobs;
    std::unique_ptr<engine::Engine> m_engine;
};

} // namespace veil::qt
