#include "restore_dialog.h"

#include "display_text.h"
#include "store/account_store.h"
#include "store/snapshot_restore.h"
#include "util/log.h"

#include <QDateTime>
#include <QDialogButtonBox>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QLocale>
#include <QPushButton>
#include <QThread>
#include <QVBoxLayout>

#include <algorithm>
#include <memory>

namespace veil::desktop {

namespace {

constexpr const char* kLog = "ui";

QLabel* wrapped(const QString& text) {
    auto* label = new QLabel(text);
    label->setTextFormat(Qt::PlainText);
    label->setWordWrap(true);
    return label;
}

QString age(std::int64_t ms, std::int64_t now_ms) {
    // Whole units, rounded down; written out for one and for more (no "(s)" without a
    // translation loaded).
    const auto minutes = static_cast<int>(std::max<std::int64_t>(0, (now_ms - ms) / 60'000));
    if (minutes < 1)
        return RestoreDialog::tr("just now");
    if (minutes < 60)
        return minutes == 1 ? RestoreDialog::tr("1 minute ago")
                            : RestoreDialog::tr("%1 minutes ago").arg(minutes);
    if (minutes < 24 * 60)
        return minutes / 60 == 1 ? RestoreDialog::tr("1 hour ago")
                                 : RestoreDialog::tr("%1 hours ago").arg(minutes / 60);
    const int days = minutes / (24 * 60);
    return days == 1 ? RestoreDialog::tr("1 day ago") : RestoreDialog::tr("%1 days ago").arg(days);
}

} // namespace

QString RestoreDialog::describe(std::int64_t ms, std::int64_t now_ms) {
    const QDateTime when = QDateTime::fromMSecsSinceEpoch(ms);
    return QStringLiteral("%1  ·  %2")
        .arg(QLocale().toString(when, QStringLiteral("ddd d MMM yyyy, HH:mm")), age(ms, now_ms));
}

RestoreDialog::RestoreDialog(const std::filesystem::path& profile_dir, Reason reason,
                             const QString& what, QWidget* parent)
    : QDialog(parent)
    , m_profile_dir(profile_dir)
    , m_snapshots(store::AccountStore::snapshots(profile_dir)) {
    setWindowTitle(tr("Restore from a snapshot"));
    setAccessibleName(tr("Restore from a snapshot"));
    auto* layout = new QVBoxLayout(this);

    QString intro;
    switch (reason) {
    case Reason::damaged:
        intro = tr("Veil could not open this profile: %1\n\nVeil keeps encrypted snapshots of the "
                   "profile, copied at most once a day when it opens it. Restoring one opens the "
                   "profile again.")
                    .arg(what);
        break;
    case Reason::stopped:
        intro = tr("Veil found damage in this profile's database while using it and stopped: "
                   "%1\n\nNothing more was written to the damaged file. Veil keeps encrypted "
                   "snapshots of the profile, copied at most once a day when it opens it. "
                   "Restoring one opens the profile again.")
                    .arg(what);
        break;
    case Reason::chosen:
        intro = tr("Restoring a snapshot replaces this profile's messages and keys on this device "
                   "with the copy Veil made when it opened the profile on that day.");
        break;
    }
    // What is true of the engine and the relay: a message leaves the relay once this device
    // has it, so what arrived after the snapshot cannot be fetched again; what is still queued
    // for this device arrives as usual; sessions that moved on show failures until restarted.
    QString lost =
        tr("Messages sent and received on this device after the snapshot are lost here: the relay "
           "deletes each message once this device has received it, so it cannot send them again "
           "(your other linked devices still have them). Messages still waiting on the relay "
           "arrive as usual. If a contact's messages then cannot be decrypted, use \u201cStart new "
           "session\u201d in that conversation's Encryption view.\n\nThe current database file is "
           "kept in the profile folder as account.db.damaged-\u2026; nothing is deleted.");
    m_explanation = wrapped(intro + QStringLiteral("\n\n") + lost);
    layout->addWidget(m_explanation);

    m_list = new QListWidget;
    m_list->setAccessibleName(tr("Snapshots"));
    const std::int64_t now_ms = QDateTime::currentMSecsSinceEpoch();
    for (const auto& snapshot : m_snapshots) {
        auto ms = store::snapshot_time_ms(snapshot);
        m_list->addItem(describe(ms.value_or(0), now_ms));
    }
    if (!m_snapshots.empty())
        m_list->setCurrentRow(0);
    m_list->setMaximumHeight(m_list->sizeHintForRow(0) * 4 + m_list->frameWidth() * 2 + 4);
    layout->addWidget(m_list);

    m_passphrase_label = wrapped(tr("Passphrase:"));
    m_passphrase_field = new QLineEdit;
    m_passphrase_field->setEchoMode(QLineEdit::Password);
    m_passphrase_field->setAccessibleName(tr("Passphrase"));
    layout->addWidget(m_passphrase_label);
    layout->addWidget(m_passphrase_field);

    m_message = wrapped(QString());
    m_message->setAccessibleName(tr("Restore status"));
    m_message->hide();
    layout->addWidget(m_message);

    m_buttons = new QDialogButtonBox(QDialogButtonBox::Cancel);
    QPushButton* restore_button = m_buttons->addButton(tr("Restore"), QDialogButtonBox::AcceptRole);
    restore_button->setEnabled(!m_snapshots.empty());
    connect(m_buttons, &QDialogButtonBox::accepted, this, &RestoreDialog::restore);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &RestoreDialog::reject);
    layout->addWidget(m_buttons);
    if (m_snapshots.empty())
        show_error(tr("This profile has no snapshot yet: Veil writes the first one the first "
                      "time it opens the profile after creating it."));
    setMinimumWidth(fontMetrics().averageCharWidth() * 70);
}

RestoreDialog::~RestoreDialog() {
    if (m_thread)
        m_thread->wait();
}

void RestoreDialog::set_passphrase(SecretBytes passphrase) {
    m_passphrase = std::move(passphrase);
    m_have_passphrase = true;
    m_passphrase_label->hide();
    m_passphrase_field->hide();
}

QString RestoreDialog::error_text() const {
    return m_message->isHidden() ? QString() : m_message->text();
}

QString RestoreDialog::explanation() const {
    return m_explanation->text();
}

void RestoreDialog::show_error(const QString& text) {
    m_message->setText(text);
    m_message->setVisible(!text.isEmpty());
}

void RestoreDialog::reject() {
    if (busy())
        return;
    QDialog::reject();
}

void RestoreDialog::restore() {
    const int row = m_list->currentRow();
    if (busy() || row < 0 || row >= static_cast<int>(m_snapshots.size()))
        return;
    if (!m_have_passphrase) {
        QByteArray utf8 = m_passphrase_field->text().toUtf8();
        m_passphrase = SecretBytes(reinterpret_cast<const std::uint8_t*>(utf8.constData()),
                                   static_cast<std::size_t>(utf8.size()));
        utf8.fill('\0');
        if (m_passphrase.empty()) {
            show_error(tr("Type the profile's passphrase."));
            return;
        }
    }
    if (m_before)
        m_before();
    show_error(tr("Restoring…"));
    m_buttons->setEnabled(false);
    m_list->setEnabled(false);
    m_passphrase_field->setEnabled(false);
    setCursor(Qt::BusyCursor);

    // The Argon2id derivation and the copy take a while: not on this thread. The job works on
    // its own copies, so that closing the dialog meanwhile leaves it nothing dangling.
    struct Job {
        std::filesystem::path dir;
        std::filesystem::path chosen;
        SecretBytes passphrase;
        QString error;
        std::filesystem::path used;
    };
    auto job = std::make_shared<Job>();
    job->dir = m_profile_dir;
    job->chosen = m_snapshots[static_cast<std::size_t>(row)];
    job->passphrase = m_passphrase.clone();
    m_thread = QThread::create([job] {
        auto restored = store::restore_chosen_snapshot(
            job->dir, job->passphrase, QDateTime::currentMSecsSinceEpoch(), job->chosen);
        job->passphrase.wipe();
        if (restored)
            job->used = restored.value();
        else
            job->error = restored.error().code == Errc::not_found
                             ? tr("This snapshot does not open with this passphrase, or it is "
                                  "damaged too. Try the passphrase again or an older snapshot.")
                         : restored.error().code == Errc::busy
                             ? tr("The profile is open in another Veil window or program; close "
                                  "it first.")
                             : plain_error(restored.error());
    });
    m_thread->setParent(this);
    connect(m_thread, &QThread::finished, this, [this, job] { finished(job->error, job->used); });
    log::info(kLog, "restoring the profile from a snapshot");
    m_thread->start();
}

void RestoreDialog::finished(const QString& error, const std::filesystem::path& used) {
    m_thread->deleteLater();
    m_thread = nullptr;
    unsetCursor();
    m_buttons->setEnabled(true);
    m_list->setEnabled(true);
    m_passphrase_field->setEnabled(true);
    if (!error.isEmpty()) {
        log::warn(kLog, "a snapshot could not be restored");
        // The passphrase given may be what failed: from now on it is asked for.
        m_passphrase.wipe();
        m_have_passphrase = false;
        m_passphrase_field->clear();
        m_passphrase_label->show();
        m_passphrase_field->show();
        show_error(error);
        return;
    }
    m_passphrase_field->clear();
    m_restored_from = used;
    show_error(QString());
    accept();
}

} // namespace veil::desktop
