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

SessionBridge::SessionBridge(QObject* parent)
    : QObject(parent) {}

SessionBridge::~SessionBridge() {
    // Receivers may already be gone while the window tears down; the engine's last "offline"
    // is of no use to anyone now.
    blockSignals(true);
    close();
}

Status SessionBridge::create_profile(const std::filesystem::path& profile_dir,
                                     const SecretBytes& passphrase, const std::string& username,
                                     const std::string& relay_url, const std::string& device_name) {
    if (m_session)
        return make_error(Errc::invalid_argument, "a profile is open already");
    std::error_code ec;
    bool folder_existed = std::filesystem::exists(profile_dir, ec);
    bool had_profile = store::AccountStore::exists(profile_dir);
    auto session =
        qt::ClientSession::create(profile_dir, passphrase, username, relay_url, *this, device_name);
    if (!session) {
        if (!had_profile)
            remove_partial(profile_dir, !folder_existed);
        return session.error();
    }
    adopt(std::move(session.value()), profile_dir);
    m_created_here = true;
    m_made_folder = !folder_existed;
    log::info(kLog, "created a profile");
    return {};
}

Status SessionBridge::create_link_profile(const std::filesystem::path& profile_dir,
                                          const SecretBytes& passphrase,
                                          const std::string& relay_url,
                                          const std::string& device_name) {
    if (m_session)
        return make_error(Errc::invalid_argument, "a profile is open already");
    std::error_code ec;
    bool folder_existed = std::filesystem::exists(profile_dir, ec);
    bool had_profile = store::AccountStore::exists(profile_dir);
    auto session =
        qt::ClientSession::create_for_link(profile_dir, passphrase, relay_url, device_name, *this);
    if (!session) {
        // The store may have been made before the device name was refused.
        if (!had_profile)
            remove_partial(profile_dir, !folder_existed);
        return session.error();
    }
    adopt(std::move(session.value()), profile_dir);
    m_created_here = true;
    m_made_folder = !folder_existed;
    m_linking_here = true;
    log::info(kLog, "created a profile to link");
    return {};
}

Status SessionBridge::start_link() {
    if (!m_session)
        return make_error(Errc::invalid_argument, "no profile is open");
    return m_session->engine().start_link();
}

void SessionBridge::remove_partial(const std::filesystem::path& dir, bool made_folder) {
    std::error_code ec;
    store::AccountStore::remove_profile(dir);
    if (made_folder)
        std::filesystem::remove(dir, ec); // only when empty
}

Status SessionBridge::open_profile(const std::filesystem::path& profile_dir,
                                   const SecretBytes& passphrase, const std::string& relay_url) {
    if (m_session)
        return make_error(Errc::invalid_argument, "a profile is open already");
    auto session = qt::ClientSession::open(profile_dir, passphrase, relay_url, *this);
    if (!session)
        return session.error();
    adopt(std::move(session.value()), profile_dir);
    log::info(kLog, "opened a profile");
    return {};
}

Status SessionBridge::open_profile_with_key(const std::filesystem::path& profile_dir,
                                            const SecretBytes& key, const std::string& relay_url) {
    if (m_session)
        return make_error(Errc::invalid_argument, "a profile is open already");
    auto session = qt::ClientSession::open_with_key(profile_dir, key, relay_url, *this);
    if (!session)
        return session.error();
    adopt(std::move(session.value()), profile_dir);
    log::info(kLog, "opened a profile with its remembered key");
    return {};
}

Status SessionBridge::change_passphrase(const SecretBytes& old_passphrase,
                                        const SecretBytes& new_passphrase,
                                        const store::KdfParams& kdf) {
    if (!m_session)
        return make_error(Errc::invalid_argument, "no profile is open");
    return m_session->store().change_passphrase(old_passphrase, new_passphrase, kdf);
}

void SessionBridge::adopt(std::unique_ptr<qt::ClientSession> session,
                          const std::filesystem::path& dir) {
    m_session = std::move(session);
    m_profile_dir = dir;
    m_last_error.reset();
    m_created_here = false;
    m_made_folder = false;
    m_linking_here = false;
    m_unlinked = false;
    m_linked_as.clear();
    m_history_copied = 0;
    emit opened();
}

Status SessionBridge::start() {
    if (!m_session)
        return make_error(Errc::invalid_argument, "no profile is open");
    return m_session->engine().start();
}

void SessionBridge::close() {
    if (!m_session)
        return;
    m_session->engine().stop();
    m_session.reset();
    m_state = engine::State::offline;
    log::info(kLog, "closed the profile");
    emit closed();
}

void SessionBridge::close_later() {
    QTimer::singleShot(0, this, [this] { close(); });
}

void SessionBridge::discard_created_profile() {
    if (!m_session || !m_created_here)
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

QString SessionBridge::username() const {
    if (!m_session)
        return QString();
    if (!m_session->engine().username().empty())
        return QString::fromStdString(m_session->engine().username());
    auto account = m_session->store().account();
    return account ? QString::fromStdString(account->username) : QString();
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

QString SessionBridge::relay_url() const {
    if (!m_session)
        return QString();
    auto account = m_session->store().account();
    return account ? QString::fromStdString(account->relay_url) : QString();
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
