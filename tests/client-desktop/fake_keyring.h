// A Keyring in memory for the desktop tests: it can hold entries, be absent (no service) or
// fail every call, and counts what was asked of it.
#pragma once

#include "keyring.h"

#include <QMap>
#include <QPointer>

#include <functional>
#include <vector>

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

    // With hold_reads, read_later() keeps its answer until release_reads(), as a keyring that
    // asks the person to unlock it does.
    bool hold_reads = false;
    void read_later(const QString& entry, QObject* context, ReadDone done) override {
        if (!hold_reads)
            return Keyring::read_later(entry, context, std::move(done));
        m_held.push_back([this, entry, guard = QPointer<QObject>(context), done] {
            if (guard)
                Keyring::read_later(entry, guard, done);
        });
    }
    void release_reads() {
        hold_reads = false;
        auto held = std::move(m_held);
        m_held.clear();
        for (auto& fn : held)
            fn();
    }

private:
    std::vector<std::function<void()>> m_held;

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
