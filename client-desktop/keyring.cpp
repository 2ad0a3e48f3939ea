#include "keyring.h"

#include <qt6keychain/keychain.h>

#include <QCoreApplication>
#include <QEventLoop>

#include <openssl/crypto.h>

namespace veil::desktop {
namespace {

const QString kService = QStringLiteral("veil-desktop");

Keyring::Answer answer_of(const QKeychain::Job& job) {
    switch (job.error()) {
    case QKeychain::NoError: return {Keyring::Outcome::ok, {}};
    case QKeychain::EntryNotFound: return {Keyring::Outcome::not_found, {}};
    case QKeychain::NoBackendAvailable:
    case QKeychain::NotImplemented: return {Keyring::Outcome::unavailable, job.errorString()};
    default: return {Keyring::Outcome::failed, job.errorString()};
    }
}

void prepare(QKeychain::Job& job, const QString& entry) {
    // Never the "insecure fallback", which would write the key to a plain settings file.
    job.setInsecureFallback(false);
    job.setKey(entry);
}

// Starts the job and waits for its answer.
void run(QKeychain::Job& job, const QString& entry) {
    job.setAutoDelete(false);
    prepare(job, entry);
    QEventLoop loop;
    QObject::connect(&job, &QKeychain::Job::finished, &loop, &QEventLoop::quit);
    job.start();
    loop.exec();
}

void wipe(QByteArray& bytes) {
    if (!bytes.isEmpty())
        OPENSSL_cleanse(bytes.data(), static_cast<std::size_t>(bytes.size()));
}

// The key a finished read job holds, its copy in the job wiped.
SecretBytes key_of(QKeychain::ReadPasswordJob& job) {
    QByteArray data = job.binaryData();
    SecretBytes key(reinterpret_cast<const std::uint8_t*>(data.constData()),
                    static_cast<std::size_t>(data.size()));
    wipe(data);
    return key;
}

} // namespace

void Keyring::read_later(const QString& entry, QObject* context, ReadDone done) {
    QMetaObject::invokeMethod(
        context,
        [this, entry, done = std::move(done)] {
            SecretBytes key;
            Answer answer = read(entry, key);
            done(answer, std::move(key));
        },
        Qt::QueuedConnection);
}

QString keyring_entry(const std::filesystem::path& profile_dir) {
    std::error_code ec;
    auto absolute = std::filesystem::weakly_canonical(profile_dir, ec);
    if (ec)
        absolute = std::filesystem::absolute(profile_dir, ec);
    return QStringLiteral("database-key:") + QString::fromStdString(absolute.string());
}

QString keyring_problem(const Keyring::Answer& answer) {
    switch (answer.outcome) {
    case Keyring::Outcome::ok:
    case Keyring::Outcome::not_found: return {};
    case Keyring::Outcome::unavailable:
        return QCoreApplication::translate(
            "veil::desktop::Keyring",
            "No system keyring is available on this computer, so the passphrase cannot be "
            "remembered here.");
    case Keyring::Outcome::failed: break;
    }
    return QCoreApplication::translate("veil::desktop::Keyring",
                                       "The system keyring could not be used (%1).")
        .arg(answer.message.isEmpty() ? QStringLiteral("?") : answer.message);
}

Keyring::Answer SystemKeyring::read(const QString& entry, SecretBytes& key) {
    QKeychain::ReadPasswordJob job(kService);
    run(job, entry);
    Answer answer = answer_of(job);
    if (answer.outcome == Outcome::ok)
        key = key_of(job);
    return answer;
}

void SystemKeyring::read_later(const QString& entry, QObject* context, ReadDone done) {
    // The job deletes itself after finished; a context destroyed first takes the connection
    // with it, so done is not called.
    auto* job = new QKeychain::ReadPasswordJob(kService);
    job->setAutoDelete(true);
    prepare(*job, entry);
    QObject::connect(job, &QKeychain::Job::finished, context, [job, done](QKeychain::Job*) {
        Answer answer = answer_of(*job);
        SecretBytes key;
        if (answer.outcome == Outcome::ok)
            key = key_of(*job);
        done(answer, std::move(key));
    });
    job->start();
}

Keyring::Answer SystemKeyring::write(const QString& entry, const SecretBytes& key) {
    QKeychain::WritePasswordJob job(kService);
    QByteArray data(reinterpret_cast<const char*>(key.data()), static_cast<qsizetype>(key.size()));
    job.setBinaryData(data);
    wipe(data);
    run(job, entry);
    return answer_of(job);
}

Keyring::Answer SystemKeyring::remove(const QString& entry) {
    QKeychain::DeletePasswordJob job(kService);
    run(job, entry);
    Answer answer = answer_of(job);
    if (answer.outcome == Outcome::not_found)
        answer.outcome = Outcome::ok;
    return answer;
}

} // namespace veil::desktop
