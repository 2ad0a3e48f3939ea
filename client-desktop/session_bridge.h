// SessionBridge: the desktop app's one link to the core. It owns the ClientSession (store,
// Signal context, transport, engine) of the open profile, is the engine's observer, and
// re-emits the engine's events as Qt signals for models and views.
//
// Threads (issue 7: the UI never blocks): the ClientSession lives on a worker QThread the bridge
// owns. The engine, the QWebSocket, every decrypt and encrypt and every write to the account
// database run there; so do the Argon2id derivations of open, create and change_passphrase.
// The GUI thread talks to it in two ways only:
//  - post() and call() queue a job on the worker and return at once; call() hands the job's
//    result to a callback on the GUI thread.
//  - read() queues a read on a second thread, the reader, which owns a second, read-only
//    connection to the same database (AccountStore::open_reader, opened with the key the
//    worker derived): a page of messages, the conversation list, a contact's trust. It sees
//    every write the worker has committed, and it does not wait for the worker: a slow send
//    does not delay opening a conversation. Its answer comes to a callback on the GUI thread.
// No SQLCipher call runs on the GUI thread while a profile is open (the tests check it with
// store::set_store_use_hook). What the window needs at once (the username, the relay, the
// device name, the read-receipts setting, the database key for a keyring) is read on the
// worker when the profile opens and kept here.
// Engine events reach the GUI as queued calls carrying copies; the signals below are emitted on
// the GUI thread. An event or a result that arrives after close() (or for a profile since
// replaced) is dropped.
//
// Everything here is called from the GUI thread, except the EngineObserver methods, which tests
// may call directly to stand in for the engine (they run where they are called).
#pragma once

#include "engine/engine.h"
#include "qt/client_session.h"
#include "store/account_store.h"
#include "util/result.h"
#include "util/secret_bytes.h"

#include <QByteArray>
#include <QCoreApplication>
#include <QEventLoop>
#include <QObject>
#include <QPointer>
#include <QString>
#include <QStringList>
#include <QThread>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace veil::desktop {

class SessionBridge final : public QObject, public engine::EngineObserver {
    Q_OBJECT
public:
    // A job for the worker thread, on the open profile's session.
    using Job = std::function<void(qt::ClientSession&)>;
    // The outcome of an asynchronous operation, on the GUI thread.
    using Done = std::function<void(Status)>;

    explicit SessionBridge(QObject* parent = nullptr);
    // Closes the profile (waiting for the worker to stop).
    ~SessionBridge() override;
    SessionBridge(const SessionBridge&) = delete;
    SessionBridge& operator=(const SessionBridge&) = delete;

    // ---- Opening and closing. Each operation below runs on the worker and reports through
    // done on the GUI thread; opened() is emitted just before a successful done. done is not
    // called when the bridge is closed or destroyed first. The overloads without done wait for
    // the outcome in a local event loop (the GUI keeps painting): for tests and benchmarks
    // only; the app, its start dialog and its --script options use the forms with done.

    // Creates a new profile in profile_dir with fresh keys; nothing is sent until start().
    // device_name is how the account's device list names this device (may be empty).
    // Errors: invalid_argument (username rules, empty passphrase), already_exists, io, database.
    // A profile that could not be made whole is removed again.
    void create_profile(const std::filesystem::path& profile_dir, const SecretBytes& passphrase,
                        const std::string& username, const std::string& relay_url,
                        const std::string& device_name, Done done);
    Status create_profile(const std::filesystem::path& profile_dir, const SecretBytes& passphrase,
                          const std::string& username, const std::string& relay_url,
                          const std::string& device_name = {});
    // Creates a new profile in profile_dir that will become a device of an existing account
    // (ClientSession::create_for_link); start_link() then announces its code (linkCode). Until
    // linked it is removed by discard_created_profile() like a created one.
    // Errors: as create_profile; invalid_argument for a device name over 64 bytes.
    void create_link_profile(const std::filesystem::path& profile_dir,
                             const SecretBytes& passphrase, const std::string& relay_url,
                             const std::string& device_name, Done done);
    Status create_link_profile(const std::filesystem::path& profile_dir,
                               const SecretBytes& passphrase, const std::string& relay_url,
                               const std::string& device_name);
    // Opens an existing profile. relay_url, when not empty, replaces the stored address.
    // Errors: not_found, wrong_passphrase, corrupt, database, busy (open in another process).
    void open_profile(const std::filesystem::path& profile_dir, const SecretBytes& passphrase,
                      const std::string& relay_url, Done done);
    Status open_profile(const std::filesystem::path& profile_dir, const SecretBytes& passphrase,
                        const std::string& relay_url);
    // Opens an existing profile with its raw database key (as a keyring keeps it).
    // Errors: as open_profile; wrong_passphrase when the key no longer opens it.
    void open_profile_with_key(const std::filesystem::path& profile_dir, const SecretBytes& key,
                               const std::string& relay_url, Done done);
    Status open_profile_with_key(const std::filesystem::path& profile_dir, const SecretBytes& key,
                                 const std::string& relay_url);
    // AccountStore::change_passphrase on the open profile (kdf: the Argon2id cost; keep the
    // default outside tests). Errors: wrong_passphrase (old one not right), invalid_argument.
    // The read connection is away until done runs (the change needs the database to itself):
    // reads asked for meanwhile are held and run after, and so are engine events.
    void change_passphrase(const SecretBytes& old_passphrase, const SecretBytes& new_passphrase,
                           const store::KdfParams& kdf, Done done);
    Status change_passphrase(const SecretBytes& old_passphrase, const SecretBytes& new_passphrase,
                             const store::KdfParams& kdf = store::KdfParams{});
    // Connects, then registers (a created profile) or authenticates, reconnecting until close().
    // done (may be empty) gets Engine::start's outcome; the rest arrives as signals.
    void start(Done done);
    Status start();
    // Engine::start_link on the profile from create_link_profile.
    void start_link(Done done);
    Status start_link();
    // Stops the engine on the worker, waits for the worker thread to end, then closes the read
    // connection. Safe to call when nothing is open. Must not be called from a slot that runs
    // inside a local event loop of this bridge's waiting overloads; use close_later() there.
    void close();
    // close() from the event loop, for slots that must not close the session themselves.
    void close_later();
    // Closes a profile made by create_profile() in this run and removes its files, for a
    // registration that failed. The folder goes too if this run created it and it is then empty.
    void discard_created_profile();

    // ---- Work on the worker thread.

    // Queues job on the worker; it runs after every job posted before it, and not at all when
    // the profile is closed first. Never waits. The job must not touch GUI objects; it reaches
    // the GUI through call()'s callback or the engine's events.
    void post(Job job);
    // Queues job on the worker and hands its result to done on the GUI thread, unless receiver
    // (may be null: the bridge alone decides) is destroyed or the profile closed first.
    template <typename F, typename D>
    void call(F job, QObject* receiver, D done);
    // Wraps fn so that calling the result on the worker runs fn with copies of the same values
    // on the GUI thread (dropped after close()): for the engine's completion handlers.
    template <typename... Args>
    std::function<void(Args...)> on_gui(std::function<void(Args...)> fn);
    // ---- Reads on the reader thread.

    // Queues fn (T(store::AccountStore&)) on the reader thread and hands its result to done on
    // the GUI thread, always queued (never from inside read()), unless receiver (may be null:
    // the bridge alone decides) is destroyed or the profile is closed or opened again first.
    // Reads run in the order they were asked for, independently of the worker's jobs. While a
    // passphrase change holds the database they wait and run once it is done. fn must not
    // touch GUI objects; nothing is done when no profile is open.
    template <typename F, typename D>
    void read(F fn, QObject* receiver, D done);
    // Whether reads run now (a profile is open and no passphrase change holds the database).
    bool reads_ready() const { return m_reader_ready; }

    // Runs job on the worker and blocks the GUI thread until it returns its result; no other
    // event is processed meanwhile. The engine events the job caused are delivered before it
    // returns. The profile must be open. For tests only (setting up a store, reading what the
    // worker holds): the app's actions never wait for the worker; they post() or call().
    template <typename F>
    auto run_blocking_for_tests(F job) -> std::invoke_result_t<F, qt::ClientSession&>;
    // Waits in a local event loop until every job and read posted so far has run and every
    // event and result they sent has been delivered here, including jobs and reads those
    // deliveries posted. For tests and scripted runs; never used by the app itself.
    void wait_idle();

    bool is_open() const { return m_open; }
    // An open, a create or a passphrase change is running on the worker.
    bool is_busy() const { return m_opening || m_changing_passphrase; }
    const std::filesystem::path& profile_dir() const { return m_profile_dir; }
    engine::State state() const { return m_state; }
    // The account's name and relay address, as read when the profile opened.
    QString username() const { return m_username; }
    QString relay_url() const { return m_relay_url; }
    // The last error the engine reported since the profile was opened.
    const std::optional<Error>& last_error() const { return m_last_error; }
    // This device was unlinked from its account by another device (unlinked()).
    bool is_unlinked() const { return m_unlinked; }
    // After a link finished on this new device: how it was linked, for the main window
    // ("Linked as device 2 of alice. 14 messages copied."); empty otherwise.
    QString link_summary() const;
    // The engine is showing a link code on this device (start_link() until linked or failed).
    bool linking() const { return m_linking_here && m_link_started; }
    // Whether this account sends read receipts (the engine's setting, as read when the profile
    // opened and after each set_read_receipts()).
    bool read_receipts() const { return m_read_receipts; }
    // Engine::set_read_receipts on the worker; done gets its outcome once read_receipts() says
    // what the engine holds now.
    void set_read_receipts(bool on, Done done);
    // This device's name in the account's device list (the "device_name" setting); empty when
    // none. Read when the profile opened.
    QString device_name() const { return m_device_name; }
    // The open profile's raw database key (AccountStore::database_key), for a keyring to
    // remember; empty when nothing is open. The key of now after a passphrase change.
    SecretBytes database_key() const { return m_database_key.clone(); }

    // For tests only: the reader's connection, after every read queued so far has run. The
    // GUI thread uses it while the reader thread is idle (only the GUI thread queues reads),
    // so it must not be kept across a turn of the event loop. Writes through it fail.
    store::AccountStore& store();

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
    class Relay;
    // What a finished open, create or change hands back from the worker.
    struct Opened;

    // Starts the worker thread if it is not running, with a fresh generation.
    void start_worker();
    // Runs fn on the worker thread, with the session (nullptr when none is open there).
    void on_worker(std::function<void(qt::ClientSession*)> fn);
    // Runs fn on the reader thread, with the read connection (nullptr when none is there);
    // held on this side while a passphrase change holds the database.
    void on_reader(std::function<void(store::AccountStore*)> fn);
    // Worker side: what the GUI keeps of an open profile (see above).
    struct Facts;
    static Facts read_facts(qt::ClientSession& session);
    void keep_facts(const Facts& facts);
    // Hands the read connection to the reader thread.
    void hand_to_reader(std::unique_ptr<store::AccountStore> reader);
    // From the worker: runs fn on the GUI thread if the profile of generation gen is still the
    // one here. Engine events (hold = true) wait while the read connection is away.
    void to_gui(quint64 gen, std::function<void()> fn, bool hold = true);
    // Opens a profile on the worker with open (given the engine's observer there), logging
    // opened on success: open_profile and open_profile_with_key differ only in those two.
    using OpenWith =
        std::function<Result<std::unique_ptr<qt::ClientSession>>(engine::EngineObserver&)>;
    void open_on_worker(const std::filesystem::path& profile_dir, OpenWith open, std::string opened,
                        Done done);
    // Worker side of every open and create: keeps the session, opens the read connection and
    // reports back; on failure cleanup runs on the worker first.
    void finish_open(quint64 gen, Result<std::unique_ptr<qt::ClientSession>> session,
                     const std::filesystem::path& dir, std::function<void()> cleanup,
                     std::function<void(Status)> done);
    void adopt(std::unique_ptr<store::AccountStore> reader, const Facts& facts,
               const std::filesystem::path& dir);
    // Runs an operation's asynchronous form and waits for it in a local event loop.
    Status wait_for(const std::function<void(Done)>& start_op);
    // After a failed create: removes what it left in dir, which held no profile before.
    static void remove_partial(const std::filesystem::path& dir, bool made_folder);

    // Worker side: touched on the worker thread only (set up before it starts, torn down after
    // it ends).
    QThread m_thread;
    std::unique_ptr<QObject> m_context; // lives on m_thread; jobs are queued to it
    std::unique_ptr<Relay> m_relay;     // the engine's observer there
    std::unique_ptr<qt::ClientSession> m_session;

    // Reader side: touched on the reader thread only, like the worker side.
    QThread m_reader_thread;
    std::unique_ptr<QObject> m_reader_context; // lives on m_reader_thread
    std::unique_ptr<store::AccountStore> m_reader;

    // GUI side.
    bool m_reader_ready = false; // reads run now (else they wait in m_held_reads)
    std::vector<std::function<void()>> m_held_reads;
    quint64 m_generation = 0; // changes with every open and close; stale deliveries are dropped
    quint64 m_posted = 0;     // jobs and reads posted, for wait_idle()
    QString m_username;
    QString m_relay_url;
    QString m_device_name;
    bool m_read_receipts = true;
    SecretBytes m_database_key;
    bool m_open = false;
    bool m_opening = false;
    bool m_changing_passphrase = false;
    std::vector<std::function<void()>> m_held; // events that came while the reader was away
    std::filesystem::path m_profile_dir;
    engine::State m_state = engine::State::offline;
    std::optional<Error> m_last_error;
    bool m_created_here = false; // create_profile() made this profile in this run
    bool m_made_folder = false;  // ...and the folder did not exist before
    bool m_linking_here = false; // ...by create_link_profile(), and not linked yet
    bool m_link_started = false;
    bool m_unlinked = false;
    QString m_linked_as; // "device 2 of alice", once linked here
    std::size_t m_history_copied = 0;
};

template <typename F, typename D>
void SessionBridge::call(F job, QObject* receiver, D done) {
    using T = std::invoke_result_t<F, qt::ClientSession&>;
    QPointer<QObject> guard(receiver);
    const bool guarded = receiver != nullptr;
    quint64 gen = m_generation;
    ++m_posted;
    on_worker([this, gen, guard, guarded, job, done](qt::ClientSession* session) {
        if (!session)
            return;
        auto result = std::make_shared<T>(job(*session));
        to_gui(gen, [guard, guarded, done, result] {
            if (!guarded || guard)
                done(*result);
        });
    });
}

template <typename F, typename D>
void SessionBridge::read(F fn, QObject* receiver, D done) {
    using T = std::invoke_result_t<F, store::AccountStore&>;
    if (!m_open)
        return;
    QPointer<QObject> guard(receiver);
    const bool guarded = receiver != nullptr;
    quint64 gen = m_generation;
    ++m_posted;
    on_reader([this, gen, guard, guarded, fn, done](store::AccountStore* db) {
        if (!db)
            return;
        auto result = std::make_shared<T>(fn(*db));
        to_gui(
            gen,
            [guard, guarded, done, result] {
                if (!guarded || guard)
                    done(*result);
            },
            false);
    });
}

template <typename... Args>
std::function<void(Args...)> SessionBridge::on_gui(std::function<void(Args...)> fn) {
    quint64 gen = m_generation;
    return [this, gen, fn](Args... args) { to_gui(gen, [fn, args...] { fn(args...); }); };
}

template <typename F>
auto SessionBridge::run_blocking_for_tests(F job) -> std::invoke_result_t<F, qt::ClientSession&> {
    using T = std::invoke_result_t<F, qt::ClientSession&>;
    ++m_posted;
    if constexpr (std::is_void_v<T>) {
        QMetaObject::invokeMethod(
            m_context.get(), [&] { job(*m_session); }, Qt::BlockingQueuedConnection);
        QCoreApplication::sendPostedEvents(this, QEvent::MetaCall);
    } else {
        std::optional<T> result;
        QMetaObject::invokeMethod(
            m_context.get(), [&] { result.emplace(job(*m_session)); },
            Qt::BlockingQueuedConnection);
        QCoreApplication::sendPostedEvents(this, QEvent::MetaCall);
        return std::move(*result);
    }
}

} // namespace veil::desktop
