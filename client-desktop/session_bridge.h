// SessionBridge: the desktop app's one link to the core. It owns the ClientSession (store,
// Signal context, transport, engine) of the open profile, is the engine's observer, and
// re-emits the engine's events as Qt signals for models and views.
//
// Thread: the GUI thread, which also runs the transport (issue 7 moves crypto off it).
// Re-entrancy: signals are emitted from inside engine calls. A slot may call the engine and the
// store, but must not close the session; use close_later() for that.
#pragma once

#include "engine/engine.h"
#include "qt/client_session.h"
#include "store/account_store.h"
#include "util/result.h"
#include "util/secret_bytes.h"

#include <QByteArray>
#include <QObject>
#include <QString>
#include <QStringList>

#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace veil::desktop {

class SessionBridge final : public QObject, public engine::EngineObserver {
    Q_OBJECT
public:
    explicit SessionBridge(QObject* parent = nullptr);
    ~SessionBridge() override;
    SessionBridge(const SessionBridge&) = delete;
    SessionBridge& operator=(const SessionBridge&) = delete;

    // Creates a new profile in profile_dir with fresh keys; nothing is sent until start().
    // device_name is how the account's device list names this device (may be empty).
    // Errors: invalid_argument (username rules, empty passphrase), already_exists, io, database.
    // A profile that could not be made whole is removed again.
    Status create_profile(const std::filesystem::path& profile_dir, const SecretBytes& passphrase,
                          const std::string& username, const std::string& relay_url,
                          const std::string& device_name = {});
    // Creates a new profile in profile_dir that will become a device of an existing account
    // (ClientSession::create_for_link); start_link() then announces its code (linkCode). Until
    // linked it is removed by discard_created_profile() like a created one.
    // Errors: as create_profile; invalid_argument for a device name over 64 bytes.
    Status create_link_profile(const std::filesystem::path& profile_dir,
                               const SecretBytes& passphrase, const std::string& relay_url,
                               const std::string& device_name);
    // Engine::start_link on the profile from create_link_profile.
    Status start_link();
    // Opens an existing profile. relay_url, when not empty, replaces the stored address.
    // Errors: not_found, wrong_passphrase, corrupt, database.
    Status open_profile(const std::filesystem::path& profile_dir, const SecretBytes& passphrase,
                        const std::string& relay_url);
    // Opens an existing profile with its raw database key (as a keyring keeps it).
    // Errors: as open_profile; wrong_passphrase when the key no longer opens it.
    Status open_profile_with_key(const std::filesystem::path& profile_dir, const SecretBytes& key,
                                 const std::string& relay_url);
    // AccountStore::change_passphrase on the open profile (kdf: the Argon2id cost; keep the
    // default outside tests). Errors: wrong_passphrase (old one not right), invalid_argument.
    Status change_passphrase(const SecretBytes& old_passphrase, const SecretBytes& new_passphrase,
                             const store::KdfParams& kdf = store::KdfParams{});
    // Connects, then registers (a created profile) or authenticates, reconnecting until close().
    Status start();
    // Stops the engine and closes the store. Safe to call when nothing is open.
    void close();
    // close() from the event loop, for slots that run inside an engine callback.
    void close_later();
    // Closes a profile made by create_profile() in this run and removes its files, for a
    // registration that failed. The folder goes too if this run created it and it is then empty.
    void discard_created_profile();

    bool is_open() const { return m_session != nullptr; }
    const std::filesystem::path& profile_dir() const { return m_profile_dir; }
    engine::State state() const { return m_state; }
    QString username() const;
    QString relay_url() const;
    // The last error the engine reported since the profile was opened.
    const std::optional<Error>& last_error() const { return m_last_error; }
    // This device was unlinked from its account by another device (unlinked()).
    bool is_unlinked() const { return m_unlinked; }
    // After a link finished on this new device: how it was linked, for the main window
    // ("Linked as device 2 of alice. 14 messages copied."); empty otherwise.
    QString link_summary() const;

    // The open profile's store and engine; only while is_open().
    store::AccountStore& store() { return m_session->store(); }
    engine::Engine& engine() { return m_session->engine(); }

    // EngineObserver
    void on_state(engine::State state) override;
    void on_message(const store::MessageRow& row) override;
    void on_status(std::span<const std::uint8_t> message_id, store::MessageStatus status) override;
    void on_queue_drained() override;
    void on_settled() override;
    void on_error(const Error& error) override;
    void on_group_changed(std::span<const std::uint8_t> group_id) override;
    void on_group_change_failed(std::span<const std::uint8_t> group_id, const Error& why) override;
    void on_group_warning(std::span<const std::uint8_t> group_id,
                          const std::string& sentence) override;
    void on_group_unreachable(std::span<const std::uint8_t> message_id,
                              const std::vector<std::string>& members) override;
    void on_link_code(const std::string& text, const std::string& qr_payload,
                      std::int64_t expires_at_ms) override;
    void on_linked(const std::string& username, std::uint32_t device_id) override;
    void on_history_imported(std::size_t messages) override;
    void on_devices_changed() override;
    void on_read_elsewhere(const std::string& conversation) override;
    void on_unlinked() override;
    void on_message_changed(const store::MessageRow& row) override;
    void on_messages_removed(const std::string& conversation,
                             const std::vector<std::int64_t>& row_ids) override;
    void on_typing(const std::string& conversation, const std::string& who, bool typing) override;
    void on_transfer(std::int64_t row_id, int index, std::uint64_t done,
                     std::uint64_t total) override;
    void on_identity_changed(const std::string& peer) override;

signals:
    void stateChanged(veil::engine::State state);
    void messageAdded(const veil::store::MessageRow& row);
    void statusChanged(const QByteArray& messageId, veil::store::MessageStatus status);
    void queueDrained();
    void settled();
    // A plain sentence (plain_error()) for the status bar or a dialog.
    void errorReported(const QString& text);
    // A group's stored state changed: read it again from the store.
    void groupChanged(const QByteArray& groupId);
    // Something about a group was refused; text is the engine's sentence through display_text()
    // (it names people and may quote a group name others chose).
    void groupWarning(const QByteArray& groupId, const QString& text);
    // The relay refused a membership change of ours to groupId; text says why (plain_error()).
    void groupChangeFailed(const QByteArray& groupId, const QString& text);
    // The relay could not queue the group message messageId for these members (display_text()).
    void groupUnreachable(const QByteArray& messageId, const QStringList& members);
    // Devices. On a new device being linked: the code to show (text and QR payload; they hold
    // the link's secret: show them, never log them) and when it expires (ms since the epoch).
    void linkCode(const QString& text, const QString& qrPayload, qint64 expiresAtMs);
    // A link finished: on the new device, it is now deviceId of username; on an existing one,
    // it added deviceId to the account. username is display_text().
    void linked(const QString& username, quint32 deviceId);
    // The new device: this many messages were copied from the linking device.
    void historyImported(qulonglong messages);
    // The account's devices changed: list them again.
    void devicesChanged();
    // Another device of ours read conversation: its unread count is now 0.
    void readElsewhere(const QString& conversation);
    // Another device unlinked this one: the engine has stopped for good.
    void unlinked();
    // Everyday messaging. A stored message changed (edited, deleted, a reaction, an
    // attachment's state): row is the store's fresh copy.
    void messageChanged(const veil::store::MessageRow& row);
    // Messages of conversation disappeared (their timer ran out) and are gone from the store.
    void messagesRemoved(const QString& conversation, const QList<qint64>& rowIds);
    // who started (typing) or stopped typing in conversation (a 1:1 one: who's name).
    void typingChanged(const QString& conversation, const QString& who, bool typing);
    // An attachment of row rowId moves: done bytes of total (upload or download).
    void transferProgress(qint64 rowId, int index, quint64 done, quint64 total);
    // peer's identity key changed; read AccountStore::trust(peer) for what that means.
    void identityChanged(const QString& peer);
    // A profile was created or opened (profile_dir() is set); closed() when it is closed.
    void opened();
    void closed();

private:
    void adopt(std::unique_ptr<qt::ClientSession> session, const std::filesystem::path& dir);
    // After a failed create: removes what it left in dir, which held no profile before.
    static void remove_partial(const std::filesystem::path& dir, bool made_folder);

    std::unique_ptr<qt::ClientSession> m_session;
    std::filesystem::path m_profile_dir;
    engine::State m_state = engine::State::offline;
    std::optional<Error> m_last_error;
    bool m_created_here = false; // create_profile() made this profile in this run
    bool m_made_folder = false;  // ...and the folder did not exist before
    bool m_linking_here = false; // ...by create_link_profile(), and not linked yet
    bool m_unlinked = false;
    QString m_linked_as; // "device 2 of alice", once linked here
    std::size_t m_history_copied = 0;
};

} // namespace veil::desktop
