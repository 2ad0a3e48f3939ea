#include "qt/client_session.h"

#include "protocol/envelope_codec.h"
#include "util/log.h"

#include <chrono>

namespace veil::qt {
namespace {

constexpr const char* kLog = "store";
// A snapshot a day, the three newest kept (store/snapshots.cpp).
constexpr std::int64_t kSnapshotEveryMs = 24 * 3600 * 1000;
constexpr int kSnapshotsKept = 3;

} // namespace

Result<std::unique_ptr<ClientSession>>
ClientSession::assemble(std::unique_ptr<store::AccountStore> store,
                        const std::filesystem::path& profile, engine::EngineObserver& observer) {
    auto context = crypto::SignalContext::create();
    if (!context)
        return context.error();
    std::unique_ptr<ClientSession> session(new ClientSession());
    session->m_store = std::move(store);
    session->m_context = std::move(context.value());
    session->m_transport = std::make_unique<WsTransport>();
    session->m_blobs = std::make_unique<BlobClient>();
    engine::EngineOptions options;
    // Attachment blobs stay encrypted here; their keys live only inside the database.
    options.attachments_dir = profile / "attachments";
    session->m_engine = std::make_unique<engine::Engine>(*session->m_store, *session->m_context,
                                                         *session->m_transport, session->m_clock,
                                                         observer, options);
    session->m_engine->set_blob_transport(session->m_blobs.get());
    return session;
}

Result<std::unique_ptr<ClientSession>>
ClientSession::create(const std::filesystem::path& profile, const SecretBytes& passphrase,
                      const std::string& username, const std::string& relay_url,
                      engine::EngineObserver& observer, const std::string& device_name) {
    // Checked before anything is written, so a bad name leaves no half-made profile behind.
    if (!protocol::valid_username(username))
        return make_error(Errc::invalid_argument,
                          "usernames are 2 to 32 characters of a-z, 0-9, '_', '.' and '-'");
    auto store = store::AccountStore::create(profile, passphrase);
    if (!store)
        return store.error();
    auto session = assemble(std::move(store.value()), profile, observer);
    if (!session)
        return session.error();
    auto& s = *session.value();
    VEIL_TRY(engine::Engine::create_account(*s.m_store, *s.m_context, username, relay_url));
    if (!device_name.empty())
        VEIL_TRY(s.m_store->set_setting("device_name", device_name));
    return session;
}

Result<std::unique_ptr<ClientSession>>
ClientSession::create_for_link(const std::filesystem::path& profile, const SecretBytes& passphrase,
                               const std::string& relay_url, const std::string& device_name,
                               engine::EngineObserver& observer) {
    auto store = store::AccountStore::create(profile, passphrase);
    if (!store)
        return store.error();
    auto session = assemble(std::move(store.value()), profile, observer);
    if (!session)
        return session.error();
    VEIL_TRY(
        engine::Engine::create_link_profile(*session.value()->m_store, relay_url, device_name));
    return session;
}

Result<std::unique_ptr<ClientSession>> ClientSession::open(const std::filesystem::path& profile,
                                                           const SecretBytes& passphrase,
                                                           const std::string& relay_url,
                                                           engine::EngineObserver& observer) {
    return finish_open(store::AccountStore::open(profile, passphrase), profile, relay_url,
                       observer);
}

Result<std::unique_ptr<ClientSession>>
ClientSession::open_with_key(const std::filesystem::path& profile, const SecretBytes& key,
                             const std::string& relay_url, engine::EngineObserver& observer) {
    return finish_open(store::AccountStore::open_with_key(profile, key), profile, relay_url,
                       observer);
}

Result<std::unique_ptr<ClientSession>>
ClientSession::finish_open(Result<std::unique_ptr<store::AccountStore>> store,
                           const std::filesystem::path& profile, const std::string& relay_url,
                           engine::EngineObserver& observer) {
    if (!store)
        return store.error();
    // Damage in a page that nothing reads yet would otherwise go unnoticed until a write.
    VEIL_TRY(store.value()->check_integrity());
    // A whole, checked database: once a day it is copied, so that damage found later can be
    // undone (veil restore-snapshot). A failed copy costs the snapshot, not the session.
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    if (auto written = store.value()->snapshot_if_older(now_ms, kSnapshotEveryMs, kSnapshotsKept);
        !written)
        log::warn(kLog, "could not write a snapshot of the account database");
    if (!relay_url.empty()) {
        auto info = store.value()->account();
        if (!info)
            return info.error();
        if (info->relay_url != relay_url) {
            info->relay_url = relay_url;
            VEIL_TRY(store.value()->set_account(info.value()));
        }
    }
    auto session = assemble(std::move(store.value()), profile, observer);
    // Messages whose disappearing timer ran out while no app was open go before anything can
    // read them (a search, a listing), not only once the engine starts.
    if (session)
        session.value()->engine().sweep_expired();
    return session;
}

ClientSession::~ClientSession() {
    // The engine goes first: it detaches from the transport, which still exists.
    m_engine.reset();
    m_transport.reset();
}

} // namespace veil::qt
