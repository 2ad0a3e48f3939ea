#include "session_bridge.h"

#include "display_text.h"
#include "util/log.h"

#include <QTimer>

namespace veil::desktop {
namespace {

constexpr const char* kLog = "ui";

QByteArray to_qbytes(std::span<const std::uint8_t> bytes) {
    return QByteArray(reinterpret_cast<const char*>(bytes.data()),
                      static_cast<qsizetype>(bytes.size()));
}

} // namespace

// The engine's observer on the worker thread: every event is copied into values and handed to
// the bridge's own EngineObserver methods on the GUI thread, for the generation it was made for.
class SessionBridge::Relay final : public engine::EngineObserver {
public:
    Relay(SessionBridge& bridge, quint64 generation)
        : m_bridge(bridge)
        , m_generation(generation) {}

    void on_state(engine::State state) override {
        gui([state](SessionBridge& b) { b.on_state(state); });
    }
    void on_message(const store::MessageRow& row) override {
        gui([row](SessionBridge& b) { b.on_message(row); });
    }
    void on_status(std::span<const std::uint8_t> message_id, store::MessageStatus status) override {
        gui([id = Bytes(message_id.begin(), message_id.end()), status](SessionBridge& b) {
            b.on_status(id, status);
        });
    }
    void on_queue_drained() override {
        gui([](SessionBridge& b) { b.on_queue_drained(); });
    }
    void on_settled() override {
        gui([](SessionBridge& b) { b.on_settled(); });
    }
    void on_error(const Error& error) override {
        gui([error](SessionBridge& b) { b.on_error(error); });
    }
    void on_group_changed(std::span<const std::uint8_t> group_id) override {
        gui([id = Bytes(group_id.begin(), group_id.end())](SessionBridge& b) {
            b.on_group_changed(id);
        });
    }
    void on_group_change_failed(std::span<const std::uint8_t> group_id, const Error& why) override {
        gui([id = Bytes(group_id.begin(), group_id.end()), why](SessionBridge& b) {
            b.on_group_change_failed(id, why);
        });
    }
    void on_group_warning(std::span<const std::uint8_t> group_id,
                          const std::string& sentence) override {
        gui([id = Bytes(group_id.begin(), group_id.end()), sentence](SessionBridge& b) {
            b.on_group_warning(id, sentence);
        });
    }
    void on_group_unreachable(std::span<const std::uint8_t> message_id,
                              const std::vector<std::string>& members) override {
        gui([id = Bytes(message_id.begin(), message_id.end()), members](SessionBridge& b) {
            b.on_group_unreachable(id, members);
        });
    }
    void on_link_code(const std::string& text, const std::string& qr_payload,
                      std::int64_t expires_at_ms) override {
        gui([text, qr_payload, expires_at_ms](SessionBridge& b) {
            b.on_link_code(text, qr_payload, expires_at_ms);
        });
    }
    void on_linked(const std::string& username, std::uint32_t device_id) override {
        gui([username, device_id](SessionBridge& b) { b.on_linked(username, device_id); });
    }
    void on_history_imported(std::size_t messages) override {
        gui([messages](SessionBridge& b) { b.on_history_imported(messages); });
    }
    void on_devices_changed() override {
        gui([](SessionBridge& b) { b.on_devices_changed(); });
    }
    void on_read_elsewhere(const std::string& conversation) override {
        gui([conversation](SessionBridge& b) { b.on_read_elsewhere(conversation); });
    }
    void on_unlinked() override {
        gui([](SessionBridge& b) { b.on_unlinked(); });
    }
    void on_message_changed(const store::MessageRow& row) override {
        gui([row](SessionBridge& b) { b.on_message_changed(row); });
    }
    void on_messages_removed(const std::string& conversation,
                             const std::vector<std::int64_t>& row_ids) override {
        gui([conversation, row_ids](SessionBridge& b) {
            b.on_messages_removed(conversation, row_ids);
        });
    }
    void on_typing(const std::string& conversation, const std::string& who, bool typing) override {
        gui([conversation, who, typing](SessionBridge& b) {
            b.on_typing(conversation, who, typing);
        });
    }
    void on_transfer(std::int64_t row_id, int index, std::uint64_t done,
                     std::uint64_t total) override {
        gui([row_id, index, done, total](SessionBridge& b) {
            b.on_transfer(row_id, index, done, total);
        });
    }
    void on_identity_changed(const std::string& peer) override {
        gui([peer](SessionBridge& b) { b.on_identity_changed(peer); });
    }

private:
    void gui(std::function<void(SessionBridge&)> fn) {
        SessionBridge* bridge = &m_bridge;
        m_bridge.to_gui(m_generation, [bridge, fn = std::move(fn)] { fn(*bridge); });
    }

    SessionBridge& m_bridge;
    quint64 m_generation;
};

// What the GUI keeps of an open profile, read on the worker (see the header).
struct SessionBridge::Facts {
    QString username;
    QString relay_url;
    QString device_name;
    bool read_receipts = true;
    std::shared_ptr<SecretBytes> database_key;
};

SessionBridge::Facts SessionBridge::read_facts(qt::ClientSession& session) {
    Facts facts;
    store::AccountStore& db = session.store();
    if (auto account = db.account(); account) {
        facts.username = QString::fromStdString(account->username);
        facts.relay_url = QString::fromStdString(account->relay_url);
    }
    if (auto name = db.setting("device_name"); name)
        facts.device_name = QString::fromStdString(name.value());
    facts.read_receipts = session.engine().read_receipts();
    facts.database_key = std::make_shared<SecretBytes>(db.database_key());
    return facts;
}

void SessionBridge::keep_facts(const Facts& facts) {
    m_username = facts.username;
    m_relay_url = facts.relay_url;
    m_device_name = facts.device_name;
    m_read_receipts = facts.read_receipts;
    m_database_key = facts.database_key ? facts.database_key->clone() : SecretBytes();
}

SessionBridge::SessionBridge(QObject* parent)
    : QObject(parent) {
    m_thread.setObjectName(QStringLiteral("veil-session"));
    m_reader_thread.setObjectName(QStringLiteral("veil-reader"));
}

SessionBridge::~SessionBridge() {
    // Receivers may already be gone while the window tears down.
    blockSignals(true);
    close();
}

void SessionBridge::start_worker() {
    ++m_generation;
    m_relay = std::make_unique<Relay>(*this, m_generation);
    if (!m_reader_thread.isRunning()) {
        m_reader_context = std::make_unique<QObject>();
        m_reader_context->moveToThread(&m_reader_thread);
        m_reader_thread.start();
    }
    if (m_thread.isRunning())
        return;
    m_context = std::make_unique<QObject>();
    m_context->moveToThread(&m_thread);
    m_thread.start();
}

void SessionBridge::on_worker(std::function<void(qt::ClientSession*)> fn) {
    if (!m_context)
        return;
    QMetaObject::invokeMethod(
        m_context.get(), [this, fn = std::move(fn)] { fn(m_session.get()); }, Qt::QueuedConnection);
}

void SessionBridge::on_reader(std::function<void(store::AccountStore*)> fn) {
    if (!m_reader_context)
        return;
    if (!m_reader_ready) {
        // A passphrase change holds the database: the read runs once the reader is back.
        m_held_reads.push_back([this, fn = std::move(fn)] { on_reader(fn); });
        return;
    }
    QMetaObject::invokeMethod(
        m_reader_context.get(), [this, fn = std::move(fn)] { fn(m_reader.get()); },
        Qt::QueuedConnection);
}

void SessionBridge::hand_to_reader(std::unique_ptr<store::AccountStore> reader) {
    auto handed = std::make_shared<std::unique_ptr<store::AccountStore>>(std::move(reader));
    QMetaObject::invokeMethod(
        m_reader_context.get(), [this, handed] { m_reader = std::move(*handed); },
        Qt::QueuedConnection);
}

store::AccountStore& SessionBridge::store() {
    // Every read queued before has run once this returns; only this thread queues reads.
    QMetaObject::invokeMethod(
        m_reader_context.get(), [] {}, Qt::BlockingQueuedConnection);
    return *m_reader;
}

void SessionBridge::to_gui(quint64 gen, std::function<void()> fn, bool hold) {
    // invokeMethod with the bridge as context: Qt drops the call if the bridge is gone.
    QMetaObject::invokeMethod(
        this,
        [this, gen, hold, fn = std::move(fn)] {
            if (gen != m_generation)
                return;
            if (hold && !m_reader_ready) {
                m_held.push_back(fn);
                return;
            }
            fn();
        },
        Qt::QueuedConnection);
}

void SessionBridge::post(Job job) {
    ++m_posted;
    on_worker([job = std::move(job)](qt::ClientSession* session) {
        if (session)
            job(*session);
    });
}

void SessionBridge::wait_idle() {
    // Each round trip runs after every job and read queued before it and delivers after every
    // event those sent; slots may post more, so repeat until a round posted nothing new and
    // the read connection did not come back meanwhile (its held reads then run).
    for (;;) {
        if (!m_context)
            return;
        const quint64 before = m_posted;
        const bool ready_before = m_reader_ready;
        auto finished = std::make_shared<int>(0);
        auto mark = [this, finished] {
            QMetaObject::invokeMethod(
                this, [finished] { ++*finished; }, Qt::QueuedConnection);
        };
        int rounds = 1;
        if (m_reader_ready) {
            on_worker([mark](qt::ClientSession*) { mark(); });
            QMetaObject::invokeMethod(m_reader_context.get(), mark, Qt::QueuedConnection);
            rounds = 2;
        } else if (m_changing_passphrase) {
            // The change reaches the worker through the reader thread: so does this round.
            QMetaObject::invokeMethod(
                m_reader_context.get(),
                [this, mark] { on_worker([mark](qt::ClientSession*) { mark(); }); },
                Qt::QueuedConnection);
        } else {
            on_worker([mark](qt::ClientSession*) { mark(); });
        }
        while (*finished < rounds && m_context)
            QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
        if (m_posted == before && m_reader_ready == ready_before)
            return;
    }
}

Status SessionBridge::wait_for(const std::function<void(Done)>& start_op) {
    auto outcome = std::make_shared<std::optional<Status>>();
    start_op([outcome](Status st) { *outcome = std::move(st); });
    while (!*outcome && (m_opening || m_changing_passphrase || m_context))
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
    if (!*outcome)
        return make_error(Errc::invalid_argument, "the profile was closed");
    return std::move(**outcome);
}

void SessionBridge::finish_open(quint64 gen, Result<std::unique_ptr<qt::ClientSession>> session,
                                const std::filesystem::path& dir, std::function<void()> cleanup,
                                std::function<void(Status)> done) {
    // Worker thread. The read connection is opened here too, with the key just derived, so
    // the GUI thread neither runs Argon2id nor waits for the first page's check.
    Result<std::unique_ptr<store::AccountStore>> reader =
        session ? store::AccountStore::open_reader(dir, session.value()->store().database_key())
                : Result<std::unique_ptr<store::AccountStore>>(session.error());
    if (!reader) {
        session = Result<std::unique_ptr<qt::ClientSession>>(reader.error());
        if (cleanup)
            cleanup();
        to_gui(
            gen,
            [this, done, error = reader.error()] {
                m_opening = false;
                done(error);
            },
            false);
        return;
    }
    m_session = std::move(session.value());
    auto handed = std::make_shared<std::unique_ptr<store::AccountStore>>(std::move(reader.value()));
    Facts facts = read_facts(*m_session);
    to_gui(
        gen,
        [this, done, handed, facts, dir] {
            m_opening = false;
            adopt(std::move(*handed), facts, dir);
            done(Status{});
        },
        false);
}

void SessionBridge::create_profile(const std::filesystem::path& profile_dir,
                                   const SecretBytes& passphrase, const std::string& username,
                                   const std::string& relay_url, const std::string& device_name,
                                   Done done) {
    if (m_open || m_opening)
        return done(make_error(Errc::invalid_argument, "a profile is open already"));
    std::error_code ec;
    bool folder_existed = std::filesystem::exists(profile_dir, ec);
    bool had_profile = store::AccountStore::exists(profile_dir);
    start_worker();
    m_opening = true;
    quint64 gen = m_generation;
    auto secret = std::make_shared<SecretBytes>(passphrase.clone());
    on_worker([=, this](qt::ClientSession*) {
        auto session = qt::ClientSession::create(profile_dir, *secret, username, relay_url,
                                                 *m_relay, device_name);
        auto cleanup = [=] {
            if (!had_profile)
                remove_partial(profile_dir, !folder_existed);
        };
        finish_open(gen, std::move(session), profile_dir, cleanup, [=, this](Status st) {
            if (st) {
                m_created_here = true;
                m_made_folder = !folder_existed;
                log::info(kLog, "created a profile");
            }
            done(st);
        });
    });
}

Status SessionBridge::create_profile(const std::filesystem::path& profile_dir,
                                     const SecretBytes& passphrase, const std::string& username,
                                     const std::string& relay_url, const std::string& device_name) {
    return wait_for([&](Done done) {
        create_profile(profile_dir, passphrase, username, relay_url, device_name, done);
    });
}

void SessionBridge::create_link_profile(const std::filesystem::path& profile_dir,
                                        const SecretBytes& passphrase, const std::string& relay_url,
                                        const std::string& device_name, Done done) {
    if (m_open || m_opening)
        return done(make_error(Errc::invalid_argument, "a profile is open already"));
    std::error_code ec;
    bool folder_existed = std::filesystem::exists(profile_dir, ec);
    bool had_profile = store::AccountStore::exists(profile_dir);
    start_worker();
    m_opening = true;
    quint64 gen = m_generation;
    auto secret = std::make_shared<SecretBytes>(passphrase.clone());
    on_worker([=, this](qt::ClientSession*) {
        auto session = qt::ClientSession::create_for_link(profile_dir, *secret, relay_url,
                                                          device_name, *m_relay);
        // The store may have been made before the device name was refused.
        auto cleanup = [=] {
            if (!had_profile)
                remove_partial(profile_dir, !folder_existed);
        };
        finish_open(gen, std::move(session), profile_dir, cleanup, [=, this](Status st) {
            if (st) {
                m_created_here = true;
                m_made_folder = !folder_existed;
                m_linking_here = true;
                log::info(kLog, "created a profile to link");
            }
            done(st);
        });
    });
}

Status SessionBridge::create_link_profile(const std::filesystem::path& profile_dir,
                                          const SecretBytes& passphrase,
                                          const std::string& relay_url,
                                          const std::string& device_name) {
    return wait_for([&](Done done) {
        create_link_profile(profile_dir, passphrase, relay_url, device_name, done);
    });
}

void SessionBridge::start_link(Done done) {
    if (!m_open)
        return done(make_error(Errc::invalid_argument, "no profile is open"));
    m_link_started = true;
    call([](qt::ClientSession& s) { return s.engine().start_link(); }, nullptr,
         [done](const Status& st) {
             if (done)
                 done(st);
         });
}

Status SessionBridge::start_link() {
    return wait_for([this](Done done) { start_link(done); });
}

void SessionBridge::remove_partial(const std::filesystem::path& dir, bool made_folder) {
    std::error_code ec;
    store::AccountStore::remove_profile(dir);
    if (made_folder)
        std::filesystem::remove(dir, ec); // only when empty
}

void SessionBridge::open_on_worker(const std::filesystem::path& profile_dir, OpenWith open,
                                   std::string opened, Done done) {
    if (m_open || m_opening)
        return done(make_error(Errc::invalid_argument, "a profile is open already"));
    start_worker();
    m_opening = true;
    quint64 gen = m_generation;
    on_worker([=, this](qt::ClientSession*) {
        finish_open(gen, open(*m_relay), profile_dir, {}, [done, opened](Status st) {
            if (st)
                log::info(kLog, opened);
            done(st);
        });
    });
}

void SessionBridge::open_profile(const std::filesystem::path& profile_dir,
                                 const SecretBytes& passphrase, const std::string& relay_url,
                                 Done done) {
    auto secret = std::make_shared<SecretBytes>(passphrase.clone());
    open_on_worker(
        profile_dir,
        [=](engine::EngineObserver& relay) {
            return qt::ClientSession::open(profile_dir, *secret, relay_url, relay);
        },
        "opened a profile", std::move(done));
}

Status SessionBridge::open_profile(const std::filesystem::path& profile_dir,
                                   const SecretBytes& passphrase, const std::string& relay_url) {
    return wait_for([&](Done done) { open_profile(profile_dir, passphrase, relay_url, done); });
}

void SessionBridge::open_profile_with_key(const std::filesystem::path& profile_dir,
                                          const SecretBytes& key, const std::string& relay_url,
                                          Done done) {
    auto secret = std::make_shared<SecretBytes>(key.clone());
    open_on_worker(
        profile_dir,
        [=](engine::EngineObserver& relay) {
            return qt::ClientSession::open_with_key(profile_dir, *secret, relay_url, relay);
        },
        "opened a profile with its remembered key", std::move(done));
}

Status SessionBridge::open_profile_with_key(const std::filesystem::path& profile_dir,
                                            const SecretBytes& key, const std::string& relay_url) {
    return wait_for([&](Done done) { open_profile_with_key(profile_dir, key, relay_url, done); });
}

void SessionBridge::change_passphrase(const SecretBytes& old_passphrase,
                                      const SecretBytes& new_passphrase,
                                      const store::KdfParams& kdf, Done done) {
    if (!m_open)
        return done(make_error(Errc::invalid_argument, "no profile is open"));
    if (m_changing_passphrase)
        return done(make_error(Errc::busy, "the passphrase is being changed already"));
    // The change turns write-ahead logging off for a moment, which needs the file to itself:
    // the read connection goes now and comes back under the new key.
    m_changing_passphrase = true;
    m_reader_ready = false;
    quint64 gen = m_generation;
    auto old_secret = std::make_shared<SecretBytes>(old_passphrase.clone());
    auto new_secret = std::make_shared<SecretBytes>(new_passphrase.clone());
    auto dir = m_profile_dir;
    auto change = [=, this](qt::ClientSession* session) {
        if (!session)
            return;
        Status st = session->store().change_passphrase(*old_secret, *new_secret, kdf);
        auto reader = store::AccountStore::open_reader(dir, session->store().database_key());
        Facts facts = read_facts(*session);
        const bool have_reader = reader.ok();
        const Error reader_error = have_reader ? Error{} : reader.error();
        if (have_reader)
            hand_to_reader(std::move(reader.value()));
        to_gui(
            gen,
            [this, st, have_reader, reader_error, facts, done] {
                m_changing_passphrase = false;
                if (!have_reader) {
                    // Without a read connection the views cannot go on; close cleanly.
                    log::warn(kLog, "the profile could not be read after a passphrase change");
                    close_later();
                    done(reader_error);
                    return;
                }
                keep_facts(facts);
                m_reader_ready = true;
                auto reads = std::move(m_held_reads);
                m_held_reads.clear();
                for (auto& fn : reads)
                    fn();
                auto held = std::move(m_held);
                m_held.clear();
                for (auto& fn : held)
                    fn();
                done(st);
            },
            false);
    };
    // The read connection closes on its own thread after the reads queued before; then the
    // worker changes the file.
    QMetaObject::invokeMethod(
        m_reader_context.get(),
        [this, change] {
            m_reader.reset();
            on_worker(change);
        },
        Qt::QueuedConnection);
}

Status SessionBridge::change_passphrase(const SecretBytes& old_passphrase,
                                        const SecretBytes& new_passphrase,
                                        const store::KdfParams& kdf) {
    return wait_for(
        [&](Done done) { change_passphrase(old_passphrase, new_passphrase, kdf, done); });
}

void SessionBridge::adopt(std::unique_ptr<store::AccountStore> reader, const Facts& facts,
                          const std::filesystem::path& dir) {
    hand_to_reader(std::move(reader));
    keep_facts(facts);
    m_reader_ready = true;
    m_open = true;
    m_profile_dir = dir;
    m_last_error.reset();
    m_created_here = false;
    m_made_folder = false;
    m_linking_here = false;
    m_link_started = false;
    m_unlinked = false;
    m_linked_as.clear();
    m_history_copied = 0;
    emit opened();
    // Events the engine sent while the profile was opening (expired messages swept).
    auto held = std::move(m_held);
    m_held.clear();
    for (auto& fn : held)
        fn();
}

void SessionBridge::set_read_receipts(bool on, Done done) {
    call(
        [on](qt::ClientSession& s) {
            Status st = s.engine().set_read_receipts(on);
            return std::make_pair(st, s.engine().read_receipts());
        },
        nullptr,
        [this, done](const std::pair<Status, bool>& answer) {
            m_read_receipts = answer.second;
            if (done)
                done(answer.first);
        });
}

void SessionBridge::start(Done done) {
    if (!m_open)
        return done(make_error(Errc::invalid_argument, "no profile is open"));
    call([](qt::ClientSession& s) { return s.engine().start(); }, nullptr,
         [done](const Status& st) {
             if (done)
                 done(st);
         });
}

Status SessionBridge::start() {
    return wait_for([this](Done done) { start(done); });
}

void SessionBridge::close() {
    if (!m_context)
        return;
    bool was_open = m_open;
    ++m_generation;
    m_open = false;
    m_opening = false;
    m_changing_passphrase = false;
    m_reader_ready = false;
    m_held.clear();
    m_held_reads.clear();
    // The read connection closes on its own thread, after the read running there; then that
    // thread ends. The engine stops and the session (QWebSocket included) is destroyed on the
    // thread it lives on; then that thread ends. This is the one place the GUI waits for them.
    // Each may still post to the other meanwhile (a passphrase change hands over the read
    // connection): such a job lands on a context whose thread has ended and goes with it, so
    // both contexts are destroyed only once both threads have ended.
    QMetaObject::invokeMethod(
        m_reader_context.get(),
        [this] {
            m_reader.reset();
            m_reader_context->moveToThread(nullptr);
            QThread::currentThread()->quit();
        },
        Qt::QueuedConnection);
    m_reader_thread.wait();
    QMetaObject::invokeMethod(
        m_context.get(),
        [this] {
            if (m_session)
                m_session->engine().stop();
            m_session.reset();
            m_context->moveToThread(nullptr);
            QThread::currentThread()->quit();
        },
        Qt::QueuedConnection);
    m_thread.wait();
    m_context.reset();
    m_reader_context.reset();
    m_reader.reset(); // a connection handed over after the reader thread ended
    m_relay.reset();
    m_username.clear();
    m_relay_url.clear();
    m_device_name.clear();
    m_read_receipts = true;
    m_database_key = SecretBytes();
    m_state = engine::State::offline;
    if (was_open) {
        log::info(kLog, "closed the profile");
        emit closed();
    }
}

void SessionBridge::close_later() {
    QTimer::singleShot(0, this, [this] { close(); });
}

void SessionBridge::discard_created_profile() {
    if (!m_open || !m_created_here)
        return;
    auto dir = m_profile_dir;
    bool made_folder = m_made_folder;
    close();
    std::error_code ec;
    std::filesystem::remove(dir / "veil-desktop.log", ec);
    store::AccountStore::remove_profile(dir);
    // remove() deletes a directory only when it is empty, so nothing else can go with it.
    if (made_folder)
        std::filesystem::remove(dir, ec);
    log::info(kLog, "removed a profile whose registration failed");
}

QString SessionBridge::link_summary() const {
    if (m_linked_as.isEmpty())
        return QString();
    QString text = tr("Linked as %1.").arg(m_linked_as);
    if (m_history_copied > 0)
        text += QLatin1Char(' ') + (m_history_copied == 1
                                        ? tr("1 message copied.")
                                        : tr("%1 messages copied.").arg(m_history_copied));
    return text;
}

void SessionBridge::on_state(engine::State state) {
    m_state = state;
    emit stateChanged(state);
}

void SessionBridge::on_message(const store::MessageRow& row) {
    emit messageAdded(row);
}

void SessionBridge::on_status(std::span<const std::uint8_t> message_id,
                              store::MessageStatus status) {
    emit statusChanged(to_qbytes(message_id), status);
}

void SessionBridge::on_queue_drained() {
    emit queueDrained();
}

void SessionBridge::on_settled() {
    emit settled();
}

void SessionBridge::on_error(const Error& error) {
    m_last_error = error;
    emit errorReported(plain_error(error));
}

void SessionBridge::on_group_changed(std::span<const std::uint8_t> group_id) {
    emit groupChanged(to_qbytes(group_id));
}

void SessionBridge::on_group_change_failed(std::span<const std::uint8_t> group_id,
                                           const Error& why) {
    emit groupChangeFailed(to_qbytes(group_id), plain_error(why));
}

void SessionBridge::on_group_warning(std::span<const std::uint8_t> group_id,
                                     const std::string& sentence) {
    emit groupWarning(to_qbytes(group_id), display_text(sentence));
}

void SessionBridge::on_group_unreachable(std::span<const std::uint8_t> message_id,
                                         const std::vector<std::string>& members) {
    QStringList names;
    for (const auto& m : members)
        names << display_text(m);
    emit groupUnreachable(to_qbytes(message_id), names);
}

void SessionBridge::on_link_code(const std::string& text, const std::string& qr_payload,
                                 std::int64_t expires_at_ms) {
    emit linkCode(QString::fromStdString(text), QString::fromStdString(qr_payload),
                  static_cast<qint64>(expires_at_ms));
}

void SessionBridge::on_linked(const std::string& username, std::uint32_t device_id) {
    // Only a new device (one with no account before) is "linked as"; an existing device that
    // added another one is still the device it was.
    if (m_linking_here) {
        m_linked_as = tr("device %1 of %2").arg(device_id).arg(display_text(username));
        m_username = QString::fromStdString(username); // the profile had none before
        // The profile holds the account now: it is no longer a failed creation to discard.
        m_linking_here = false;
        m_created_here = false;
    }
    emit linked(display_text(username), device_id);
}

void SessionBridge::on_history_imported(std::size_t messages) {
    m_history_copied = messages;
    emit historyImported(static_cast<qulonglong>(messages));
}

void SessionBridge::on_devices_changed() {
    emit devicesChanged();
}

void SessionBridge::on_read_elsewhere(const std::string& conversation) {
    emit readElsewhere(QString::fromStdString(conversation));
}

void SessionBridge::on_unlinked() {
    m_unlinked = true;
    log::warn(kLog, "this device was unlinked from its account");
    emit unlinked();
}

void SessionBridge::on_message_changed(const store::MessageRow& row) {
    emit messageChanged(row);
}

void SessionBridge::on_messages_removed(const std::string& conversation,
                                        const std::vector<std::int64_t>& row_ids) {
    QList<qint64> ids;
    ids.reserve(static_cast<qsizetype>(row_ids.size()));
    for (std::int64_t id : row_ids)
        ids << static_cast<qint64>(id);
    emit messagesRemoved(QString::fromStdString(conversation), ids);
}

void SessionBridge::on_typing(const std::string& conversation, const std::string& who,
                              bool typing) {
    emit typingChanged(QString::fromStdString(conversation), QString::fromStdString(who), typing);
}

void SessionBridge::on_transfer(std::int64_t row_id, int index, std::uint64_t done,
                                std::uint64_t total) {
    emit transferProgress(static_cast<qint64>(row_id), index, static_cast<quint64>(done),
                          static_cast<quint64>(total));
}

void SessionBridge::on_identity_changed(const std::string& peer) {
    log::info(kLog, "a contact's identity key changed");
    emit identityChanged(QString::fromStdString(peer));
}

} // namespace veil::desktop
