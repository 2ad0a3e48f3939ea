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
                                     const std::string& relay_url) {
    if (m_session)
        return make_error(Errc::invalid_argument, "a profile is open already");
    std::error_code ec;
    bool folder_existed = std::filesystem::exists(profile_dir, ec);
    auto session = qt::ClientSession::create(profile_dir, passphrase, username, relay_url, *this);
    if (!session)
        return session.error();
    adopt(std::move(session.value()), profile_dir);
    m_created_here = true;
    m_made_folder = !folder_existed;
    log::info(kLog, "created a profile");
    return {};
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

void SessionBridge::adopt(std::unique_ptr<qt::ClientSession> session,
                          const std::filesystem::path& dir) {
    m_session = std::move(session);
    m_profile_dir = dir;
    m_last_error.reset();
    m_created_here = false;
    m_made_folder = false;
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

} // namespace veil::desktop
