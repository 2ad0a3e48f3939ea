// Keyring: where "Remember on this computer" keeps a profile's database key, so that later runs
// open the profile without asking for the passphrase. What is kept is the raw 32-byte key that
// Argon2id derived from the passphrase (AccountStore::database_key()), never the passphrase:
// it opens this profile's database and nothing else, and it stops working when the passphrase
// changes. SystemKeyring is the desktop's Secret Service / KWallet through QtKeychain; tests put
// a fake in its place.
//
// An absent or failing keyring loses nothing: the person types the passphrase as before, and
// the dialogs say why they had to.
//
// Thread: the GUI thread. read(), write() and remove() block until the keyring answers
// (SystemKeyring runs a local event loop meanwhile); read_later() does not wait: the start
// dialog's path at startup uses it, so that the window paints and can be closed meanwhile.
#pragma once

#include "util/secret_bytes.h"

#include <QObject>
#include <QString>

#include <filesystem>
#include <functional>

namespace veil::desktop {

class Keyring {
public:
    enum class Outcome {
        ok,
        not_found,   // nothing is stored for this profile
        unavailable, // no keyring service on this desktop
        failed,      // the service refused or failed (message says how)
    };
    struct Answer {
        Outcome outcome = Outcome::failed;
        QString message; // the keyring's own words on unavailable and failed
    };

    virtual ~Keyring() = default;
    // key is set on ok.
    virtual Answer read(const QString& entry, SecretBytes& key) = 0;
    // read() without waiting: done gets the answer and (on ok) the key later, from the event
    // loop of context's thread (never from inside the call), unless context is destroyed
    // first. This default asks read() from the event loop.
    using ReadDone = std::function<void(const Answer& answer, SecretBytes key)>;
    virtual void read_later(const QString& entry, QObject* context, ReadDone done);
    virtual Answer write(const QString& entry, const SecretBytes& key) = 0;
    // Removing an entry that is not there is ok.
    virtual Answer remove(const QString& entry) = 0;
};

// The entry of a profile: one per profile folder (its absolute path).
QString keyring_entry(const std::filesystem::path& profile_dir);

// A sentence for the person when the keyring could not be used ("…; type your passphrase.").
QString keyring_problem(const Keyring::Answer& answer);

class SystemKeyring final : public Keyring {
public:
    Answer read(const QString& entry, SecretBytes& key) override;
    // A QtKeychain job whose finished signal answers.
    void read_later(const QString& entry, QObject* context, ReadDone done) override;
    Answer write(const QString& entry, const SecretBytes& key) override;
    Answer remove(const QString& entry) override;
};

} // namespace veil::desktop
