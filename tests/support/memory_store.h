// MemoryStore: an in-memory ProtocolStore for the crypto tests and the client crypto benchmark
// (bench/, B7). Identities are trusted on first use. snapshot() serialises the whole state
// deterministically so that tests can compare stores byte for byte; begin()/rollback()/commit()
// imitate the database transaction the engine wraps around each decrypt. fail_writes makes every
// write return Errc::database.
#pragma once

#include "crypto/protocol_store.h"

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

namespace veil::crypto::testing {

class MemoryStore final : public ProtocolStore {
public:
    MemoryStore(IdentityKeyPair identity, std::uint32_t registration_id)
        : m_identity(std::move(identity))
        , m_registration_id(registration_id) {}

    bool fail_writes = false;

    // --- transactions ---

    void begin() { m_saved = m_state.clone(); }
    void commit() { m_saved.reset(); }
    void rollback() {
        if (m_saved)
            m_state = std::move(*m_saved);
        m_saved.reset();
    }

    // Every table in a fixed order, each entry length-prefixed.
    Bytes snapshot() const {
        Bytes out;
        for (const auto& [key, value] : m_state.sessions) {
            append(out, key.first + "#" + std::to_string(key.second));
            append(out, value.record);
            append(out, value.user_record);
        }
        out.push_back('|');
        for (const auto& [id, record] : m_state.prekeys) {
            append(out, std::to_string(id));
            append(out, record);
        }
        out.push_back('|');
        for (const auto& [id, record] : m_state.signed_prekeys) {
            append(out, std::to_string(id));
            append(out, record);
        }
        out.push_back('|');
        for (const auto& [key, identity] : m_state.identities) {
            append(out, key.first + "#" + std::to_string(key.second));
            append(out, identity);
        }
        out.push_back('|');
        for (const auto& [key, record] : m_state.sender_keys) {
            append(out, std::get<0>(key));
            append(out, std::get<1>(key) + "#" + std::to_string(std::get<2>(key)));
            append(out, record);
        }
        return out;
    }

    std::optional<Bytes> stored_identity(const ProtocolAddress& a) const {
        auto it = m_state.identities.find(key(a));
        if (it == m_state.identities.end())
            return std::nullopt;
        return it->second;
    }
    std::size_t prekey_count() const { return m_state.prekeys.size(); }
    std::size_t sender_key_count() const { return m_state.sender_keys.size(); }

    // --- ProtocolStore ---

    Result<std::optional<SessionRecordBytes>> load_session(const ProtocolAddress& a) override {
        auto it = m_state.sessions.find(key(a));
        if (it == m_state.sessions.end())
            return std::optional<SessionRecordBytes>();
        return std::optional<SessionRecordBytes>(it->second);
    }
    Result<std::vector<std::int32_t>> session_devices(const std::string& name) override {
        std::vector<std::int32_t> out;
        for (const auto& [k, v] : m_state.sessions)
            if (k.first == name && k.second != 1)
                out.push_back(k.second);
        return out;
    }
    Status store_session(const ProtocolAddress& a, std::span<const std::uint8_t> record,
                         std::span<const std::uint8_t> user_record) override {
        VEIL_TRY(check_write());
        m_state.sessions[key(a)] = SessionRecordBytes{
            Bytes(record.begin(), record.end()), Bytes(user_record.begin(), user_record.end())};
        return {};
    }
    Result<bool> contains_session(const ProtocolAddress& a) override {
        return m_state.sessions.count(key(a)) != 0;
    }
    Status delete_session(const ProtocolAddress& a) override {
        VEIL_TRY(check_write());
        m_state.sessions.erase(key(a));
        return {};
    }
    Status delete_all_sessions(const std::string& name) override {
        VEIL_TRY(check_write());
        std::erase_if(m_state.sessions, [&](const auto& e) { return e.first.first == name; });
        return {};
    }

    Result<std::optional<SecretBytes>> load_prekey(std::uint32_t id) override {
        return load(m_state.prekeys, id);
    }
    Status store_prekey(std::uint32_t id, std::span<const std::uint8_t> record) override {
        VEIL_TRY(check_write());
        m_state.prekeys[id] = Bytes(record.begin(), record.end());
        return {};
    }
    Result<bool> contains_prekey(std::uint32_t id) override {
        return m_state.prekeys.count(id) != 0;
    }
    Status remove_prekey(std::uint32_t id) override {
        VEIL_TRY(check_write());
        m_state.prekeys.erase(id);
        return {};
    }

    Result<std::optional<SecretBytes>> load_signed_prekey(std::uint32_t id) override {
        return load(m_state.signed_prekeys, id);
    }
    Status store_signed_prekey(std::uint32_t id, std::span<const std::uint8_t> record) override {
        VEIL_TRY(check_write());
        m_state.signed_prekeys[id] = Bytes(record.begin(), record.end());
        return {};
    }
    Result<bool> contains_signed_prekey(std::uint32_t id) override {
        return m_state.signed_prekeys.count(id) != 0;
    }
    Status remove_signed_prekey(std::uint32_t id) override {
        VEIL_TRY(check_write());
        m_state.signed_prekeys.erase(id);
        return {};
    }

    Result<IdentityKeyPair> identity_key_pair() override {
        return IdentityKeyPair{m_identity.public_key, m_identity.private_key.clone()};
    }
    Result<std::uint32_t> local_registration_id() override { return m_registration_id; }
    Status save_identity(const ProtocolAddress& a, std::span<const std::uint8_t> k) override {
        VEIL_TRY(check_write());
        if (k.empty())
            m_state.identities.erase(key(a));
        else
            m_state.identities[key(a)] = Bytes(k.begin(), k.end());
        return {};
    }
    Result<bool> is_trusted_identity(const ProtocolAddress& a,
                                     std::span<const std::uint8_t> k) override {
        auto it = m_state.identities.find(key(a));
        return it == m_state.identities.end() ||
               std::equal(it->second.begin(), it->second.end(), k.begin(), k.end());
    }

    Result<std::optional<SecretBytes>> load_sender_key(const SenderKeyName& n) override {
        auto it = m_state.sender_keys.find(key(n));
        if (it == m_state.sender_keys.end())
            return std::optional<SecretBytes>();
        return std::optional<SecretBytes>(SecretBytes(it->second.data(), it->second.size()));
    }
    Status store_sender_key(const SenderKeyName& n, std::span<const std::uint8_t> record) override {
        VEIL_TRY(check_write());
        m_state.sender_keys[key(n)] = Bytes(record.begin(), record.end());
        return {};
    }
    Status delete_sender_key(const SenderKeyName& n) override {
        VEIL_TRY(check_write());
        m_state.sender_keys.erase(key(n));
        return {};
    }

private:
    using Key = std::pair<std::string, std::int32_t>;
    using SenderKeyKey = std::tuple<Bytes, std::string, std::int32_t>;

    // Records are kept as plain Bytes here: this store exists only in tests and benchmarks.
    struct State {
        std::map<Key, SessionRecordBytes> sessions;
        std::map<std::uint32_t, Bytes> prekeys;
        std::map<std::uint32_t, Bytes> signed_prekeys;
        std::map<Key, Bytes> identities;
        std::map<SenderKeyKey, Bytes> sender_keys;

        State clone() const { return *this; }
    };

    static Key key(const ProtocolAddress& a) { return {a.name, a.device_id}; }
    static SenderKeyKey key(const SenderKeyName& n) {
        return {n.group_id, n.sender.name, n.sender.device_id};
    }

    static void append(Bytes& out, std::span<const std::uint8_t> bytes) {
        auto n = static_cast<std::uint32_t>(bytes.size());
        for (int shift = 24; shift >= 0; shift -= 8)
            out.push_back(static_cast<std::uint8_t>(n >> shift));
        out.insert(out.end(), bytes.begin(), bytes.end());
    }
    static void append(Bytes& out, const std::string& text) {
        append(out, std::span<const std::uint8_t>(
                        reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    }

    static Result<std::optional<SecretBytes>> load(const std::map<std::uint32_t, Bytes>& table,
                                                   std::uint32_t id) {
        auto it = table.find(id);
        if (it == table.end())
            return std::optional<SecretBytes>();
        return std::optional<SecretBytes>(SecretBytes(it->second.data(), it->second.size()));
    }

    Status check_write() const {
        if (fail_writes)
            return make_error(Errc::database, "injected write failure");
        return {};
    }

    IdentityKeyPair m_identity;
    std::uint32_t m_registration_id;
    State m_state;
    std::optional<State> m_saved;
};

} // namespace veil::crypto::testing
