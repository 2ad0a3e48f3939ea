// A RelayService over a real SqliteStore in a temporary folder (or, with
// VEIL_TEST_RELAY_STORE=postgresql, a PostgresStore on a fresh database of the test server: ctest
// runs the service suites that way a second time), a ManualClock and a router that records
// pushes; plus clients that register and authenticate with real identity keys.
#pragma once

#include "support/postgres_test_db.h"
#include "support/temp_dir.h"

#include "core/pg_db.h"
#include "core/postgres_store.h"
#include "core/relay_service.h"
#include "core/sqlite_db.h"
#include "core/sqlite_store.h"
#include "crypto/keys.h"
#include "crypto/signal_context.h"
#include "protocol/envelope_codec.h"
#include "util/clock.h"
#include "util/hex.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

namespace veil::relay::test {

using veil::test::TempDir;

struct Push {
    std::string username;
    std::uint32_t device_id;
    wire::Envelope deliver;
};

class RecordingRouter final : public Router {
public:
    void attach(const Session& s) override { attached[s.connection_id] = s.username; }
    void detach(const Session& s) override { attached.erase(s.connection_id); }
    void push_to_connection(std::uint64_t connection_id, const wire::Envelope& e) override {
        std::lock_guard lock(mutex);
        connection_pushes.emplace_back(connection_id, e);
    }
    void push_transient(const std::string& username, std::uint32_t device_id,
                        const wire::Envelope& deliver) override {
        std::lock_guard lock(mutex);
        transient.push_back({username, device_id, deliver});
    }
    void disconnect(const std::string& username, std::uint32_t device_id) override {
        std::lock_guard lock(mutex);
        disconnected.emplace_back(username, device_id);
    }
    void push(const std::string& username, std::uint32_t device_id,
              const wire::Envelope& deliver) override {
        // The service pushes from whichever thread handed it the send.
        std::lock_guard lock(mutex);
        pushes.push_back({username, device_id, deliver});
        if (on_push)
            on_push(pushes.back());
    }

    std::map<std::uint64_t, std::string> attached;
    std::vector<Push> pushes;
    std::vector<Push> transient; // push_transient()
    std::vector<std::pair<std::uint64_t, wire::Envelope>> connection_pushes;
    std::vector<std::pair<std::string, std::uint32_t>> disconnected;
    std::function<void(const Push&)> on_push; // runs inside push(), for tests that look then
    std::mutex mutex;                         // guards pushes while threads push
};

inline std::string to_str(const Bytes& b) {
    return std::string(b.begin(), b.end());
}

inline wire::Envelope request(std::uint64_t id) {
    wire::Envelope e;
    e.set_version(protocol::kProtocolVersion);
    e.set_request_id(id);
    return e;
}

inline std::vector<wire::Envelope> parse_all(const std::vector<Bytes>& frames) {
    std::vector<wire::Envelope> out;
    for (const auto& f : frames) {
        wire::Envelope e;
        REQUIRE(e.ParseFromArray(f.data(), static_cast<int>(f.size())));
        out.push_back(std::move(e));
    }
    return out;
}

// A device with real keys, as a client would hold them.
struct TestUser {
    std::string username;
    crypto::GeneratedIdentity identity;
    crypto::GeneratedSignedPrekey signed_prekey;
    std::vector<crypto::GeneratedPrekey> prekeys;
};

inline bool service_on_postgres() {
    const char* store = std::getenv("VEIL_TEST_RELAY_STORE");
    return store && std::string(store) == "postgresql";
}

class RelayFixture {
public:
    explicit RelayFixture(RelayService::Options options = {}) {
        if (service_on_postgres())
            pg = std::make_unique<veil::test::PostgresTestDb>();
        store = open_store();
        service = std::make_unique<RelayService>(*store, clock, options);
        service->set_router(&router);
        auto ctx = crypto::SignalContext::create();
        REQUIRE(ctx);
        signal = std::move(ctx.value());
    }

    // A store on the fixture's storage (the same rows as store's).
    std::unique_ptr<RelayStore> open_store() {
        if (pg) {
            auto opened = PostgresStore::open(pg->conninfo());
            REQUIRE(opened);
            return std::move(opened.value());
        }
        auto opened = SqliteStore::open((dir.path() / "data").string());
        REQUIRE(opened);
        return std::move(opened.value());
    }

    // SQL both backends read, on the fixture's storage.
    std::int64_t count(const std::string& sql) {
        if (pg)
            return pg->query_int64(sql);
        SqliteDb db((dir.path() / "data" / "relay.db").string());
        return db.query_int64(sql.c_str());
    }
    void exec(const std::string& sql) {
        if (pg)
            return pg->exec(sql);
        SqliteDb db((dir.path() / "data" / "relay.db").string());
        db.exec(sql.c_str());
    }

    std::vector<wire::Envelope> call(Session& session, const wire::Envelope& e) {
        return parse_all(service->handle(session, protocol::encode_envelope(e)));
    }

    Bytes challenge(Session& session) {
        auto e = request(next_id++);
        e.mutable_challenge_request();
        auto r = call(session, e);
        REQUIRE(r.size() == 1);
        REQUIRE(r[0].has_challenge());
        return to_bytes(r[0].challenge().nonce());
    }

    TestUser make_user(const std::string& name, unsigned prekeys = 3) {
        TestUser u;
        u.username = name;
        auto identity = crypto::generate_identity(*signal);
        REQUIRE(identity);
        u.identity = std::move(identity.value());
        auto spk = crypto::generate_signed_prekey(*signal, u.identity.key_pair, 1, clock.now_ms());
        REQUIRE(spk);
        u.signed_prekey = std::move(spk.value());
        if (prekeys > 0) {
            auto otks = crypto::generate_prekeys(*signal, 1, prekeys);
            REQUIRE(otks);
            u.prekeys = std::move(otks.value());
        }
        return u;
    }

    Bytes sign(const TestUser& u, const Bytes& data) {
        auto sig = crypto::sign(*signal, u.identity.key_pair.private_key, data);
        REQUIRE(sig);
        return sig.value();
    }

    // device_key: device 1's own key, covered by the signature (none: the identity key).
    wire::Envelope register_request(const TestUser& u, const Bytes& nonce,
                                    const std::string& invite = {}, const Bytes& device_key = {}) {
        auto e = request(next_id++);
        auto* r = e.mutable_register_request();
        r->set_username(u.username);
        r->set_identity_key(to_str(u.identity.key_pair.public_key));
        r->set_registration_id(u.identity.registration_id);
        r->mutable_signed_prekey()->set_id(u.signed_prekey.id);
        r->mutable_signed_prekey()->set_public_key(to_str(u.signed_prekey.public_key));
        r->mutable_signed_prekey()->set_signature(to_str(u.signed_prekey.signature));
        for (const auto& k : u.prekeys) {
            auto* otk = r->add_one_time_prekeys();
            otk->set_id(k.id);
            otk->set_public_key(to_str(k.public_key));
        }
        r->set_invite_code(invite);
        r->set_device_key(to_str(device_key));
        r->set_signature(
            to_str(sign(u, RelayService::registration_message(nonce, u.username, device_key))));
        return e;
    }

    // Registers u on session; returns every response frame.
    std::vector<wire::Envelope> register_user(Session& session, const TestUser& u,
                                              const std::string& invite = {}) {
        return call(session, register_request(u, challenge(session), invite));
    }

    wire::Envelope auth_request(const TestUser& u, const Bytes& nonce, std::uint32_t device = 1) {
        auto e = request(next_id++);
        auto* a = e.mutable_auth_request();
        a->set_username(u.username);
        a->set_device_id(device);
        a->set_signature(to_str(sign(u, RelayService::auth_message(nonce, u.username, device))));
        return e;
    }

    std::vector<wire::Envelope> auth(Session& session, const TestUser& u) {
        return call(session, auth_request(u, challenge(session)));
    }

    // Registers on a throwaway connection, so that u is offline afterwards.
    void register_offline(const TestUser& u) {
        Session s(next_connection++);
        auto r = register_user(s, u);
        REQUIRE(!r.empty());
        REQUIRE(r[0].has_auth_result());
        service->close(s);
    }

    wire::Envelope send_request(const std::string& to, const Bytes& message_id,
                                const std::string& ciphertext) {
        auto e = request(next_id++);
        auto* s = e.mutable_send_request();
        s->set_message_id(to_str(message_id));
        s->set_to_username(to);
        auto* copy = s->add_to_devices();
        copy->set_device_id(1);
        copy->set_type(wire::CIPHERTEXT_WHISPER);
        copy->set_ciphertext(ciphertext);
        return e;
    }

    TempDir dir;
    ManualClock clock;
    std::unique_ptr<veil::test::PostgresTestDb> pg; // set on the PostgreSQL pass
    std::unique_ptr<RelayStore> store;
    RecordingRouter router;
    std::unique_ptr<RelayService> service;
    std::unique_ptr<crypto::SignalContext> signal;
    std::uint64_t next_id = 1;
    std::uint64_t next_connection = 1000;
};

inline Bytes message_id(std::uint8_t fill) {
    return Bytes(protocol::kMessageIdBytes, fill);
}

} // namespace veil::relay::test
