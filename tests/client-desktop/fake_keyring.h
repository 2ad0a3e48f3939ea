// A Keyring in memory for the desktop tests: it can hold entries, be absent (no service) or
// fail every call, and counts what was asked of it.
#pragma once

#include "keyring.h"

#include <QMap>

namespace veil::desktop::test {

class FakeKeyring final : public Keyring {
public:
    enum class Mode { working, absent, failing };
    Mode mode = Mode::working;
    QMap<QString, Bytes> entries;
    int reads = 0;
    int writes = 0;
    int removes = 0;

    Answer read(const QString& entry, SecretBytes& key) override {
        ++reads;
        if (Answer down = status(); down.outcome != Outcome::ok)
            return down;
        if (!entries.contains(entry))
            return {Outcome::not_found, {}};
        const Bytes& bytes = entries[entry];
        key = SecretBytes(bytes.data(), bytes.size());
        return {Outcome::ok, {}};
    }
    Answer write(const QString& entry, const SecretBytes& key) override {
        ++writes;
        if (Answer down = status(); down.outcome != Outcome::ok)
            return down;
        entries[entry] = Bytes(key.view().begin(), key.view().end());
        return {Outcome::ok, {}};
    }
    Answer remove(const QString& entry) override {
        ++removes;
        if (Answer down = status(); down.outcome != Outcome::ok)
            return down;
        entries.remove(entry);
        return {Outcome::ok, {}};
    }

private:
    Answer status() const {
        switch (mode) {
        case Mode::absent: return {Outcome::unavailable, QStringLiteral("no Secret Service")};
        case Mode::failing: return {Outcome::failed, QStringLiteral("the keyring is locked")};
        case Mode::working: break;
        }
        return {Outcome::ok, {}};
    }
};

} // namespace veil::desktop::test
