// Senders built from the test's own parts, for integration tests that need many more accounts
// than `veil` profiles are cheap to make (each costs an Argon2id derivation at every run): an
// account registered on a real relay with real keys (RelayFixture's signing), its libsignal
// sessions in memory (MemoryStore), and a real WebSocket connection (WsClient). What it sends
// is what the engine sends: a padded wire::Content encrypted with libsignal, in a SendRequest to
// every device of the recipient. Single-threaded, like the tests that use it.
#pragma once

#include "server/relay_fixture.h"
#include "server/transport/wire_client.h"
#include "server/transport/wire_login.h"
#include "support/memory_store.h"

#include "crypto/provider.h"
#include "engine/bundle_from_wire.h"
#include "protocol/padding.h"

#include <catch2/catch.hpp>

#include <charconv>
#include <memory>
#include <string>
#include <vector>

namespace veil::test::e2e {

using relay::test::after;
using relay::test::RelayFixture;
using relay::test::TestUser;
using relay::test::WsClient;

// The port of a relay url such as ws://127.0.0.1:PORT.
inline std::uint16_t port_of(const std::string& url) {
    std::uint16_t port = 0;
    const auto colon = url.rfind(':');
    REQUIRE(colon != std::string::npos);
    auto [end, ec] = std::from_chars(url.data() + colon + 1, url.data() + url.size(), port);
    REQUIRE(ec == std::errc());
    return port;
}

class WireSender {
public:
    // Makes the account's keys; nothing is sent before register_on().
    WireSender(RelayFixture& keys, const std::string& username)
        : m_keys(keys)
        , m_user(keys.make_user(username, 0))
        , m_store(crypto::IdentityKeyPair{m_user.identity.key_pair.public_key,
                                          m_user.identity.key_pair.private_key.clone()},
                  m_user.identity.registration_id) {
        auto context = crypto::StoreContext::create(*keys.signal, m_store);
        REQUIRE(context);
        m_context = std::move(context.value());
    }
    // The StoreContext refers to the store: it goes first.
    ~WireSender() { m_context.reset(); }
    WireSender(const WireSender&) = delete;
    WireSender& operator=(const WireSender&) = delete;

    const std::string& username() const { return m_user.username; }

    // Connects, registers the account and stays logged in.
    void register_on(std::uint16_t port) {
        m_connection = std::make_unique<WsClient>(port);
        relay::test::log_in_over_wire(*m_connection, m_keys, m_user, true);
    }

    // Asks for the bundle of every device of `to` (each fetch takes one one-time prekey per
    // device); the answer is read by read_bundles(), so that many senders can ask at once.
    void ask_for_bundles(const std::string& to) {
        auto fetch = relay::test::request(m_keys.next_id++);
        fetch.mutable_prekey_fetch()->set_username(to);
        REQUIRE(m_connection->send_envelope(fetch));
    }
    wire::PrekeyBundles read_bundles() {
        auto answer = m_connection->next_envelope(after(std::chrono::seconds(30)));
        REQUIRE(answer);
        INFO("a prekey fetch was answered with body " << static_cast<int>(answer->body_case()));
        REQUIRE(answer->has_prekey_bundles());
        return answer->prekey_bundles();
    }

    // Starts a session with every device in bundles (of account `to`), the one later texts
    // go to.
    void start_sessions(const std::string& to, const wire::PrekeyBundles& bundles) {
        m_to = to;
        m_devices.clear();
        for (const auto& b : bundles.bundles()) {
            crypto::ProtocolAddress address{to, static_cast<std::int32_t>(b.device_id())};
            REQUIRE(
                crypto::process_bundle(*m_context, address, engine::detail::bundle_from_wire(b)));
            m_devices.push_back(address.device_id);
        }
    }

    // Queues one text message to every device of the sessions' account, as the engine sends
    // it (prekey messages until the recipient answers); the answer is read by read_sent().
    // sent_at_ms is the sender's clock as the message carries it.
    void queue_text(const std::string& text, std::uint64_t sent_at_ms = 1) {
        auto e = relay::test::request(m_keys.next_id++);
        auto* s = e.mutable_send_request();
        const Bytes id = crypto::random_bytes(protocol::kMessageIdBytes);
        s->set_message_id(relay::test::to_str(id));
        s->set_to_username(m_to);
        wire::Content content;
        content.mutable_data()->set_message_id(relay::test::to_str(id));
        content.mutable_data()->set_text(text);
        content.mutable_data()->set_sent_at_ms(sent_at_ms);
        const std::string serialized = content.SerializeAsString();
        const Bytes padded = protocol::pad(Bytes(serialized.begin(), serialized.end()));
        for (auto device : m_devices) {
            auto ct = crypto::encrypt(*m_context, crypto::ProtocolAddress{m_to, device}, padded);
            REQUIRE(ct);
            auto* copy = s->add_to_devices();
            copy->set_device_id(static_cast<std::uint32_t>(device));
            copy->set_type(ct->type == crypto::CiphertextType::prekey ? wire::CIPHERTEXT_PREKEY
                                                                      : wire::CIPHERTEXT_WHISPER);
            copy->set_ciphertext(relay::test::to_str(ct->bytes));
        }
        REQUIRE(m_connection->send_envelope(e));
    }
    void read_sent() {
        auto answer = m_connection->next_envelope(after(std::chrono::seconds(30)));
        REQUIRE(answer);
        INFO("a send was answered with body "
             << static_cast<int>(answer->body_case()) << (answer->has_error() ? ", error " : "")
             << (answer->has_error() ? answer->error().message() : std::string()));
        REQUIRE(answer->has_send_result());
    }

private:
    RelayFixture& m_keys;
    TestUser m_user;
    crypto::testing::MemoryStore m_store;
    std::unique_ptr<crypto::StoreContext> m_context;
    std::unique_ptr<WsClient> m_connection;
    std::string m_to;
    std::vector<std::int32_t> m_devices;
};

} // namespace veil::test::e2e
