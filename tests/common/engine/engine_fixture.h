// Shared by the engine suites: a client (real SQLCipher store in a temp folder, real libsignal,
// an Engine over a FakeTransport) and an observer that records everything the engine announces.
#pragma once

#include "engine/engine.h"
#include "fake_relay.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace veil::test {

inline std::filesystem::path temp_profile(const std::string& name) {
    static std::mt19937_64 rng{std::random_device{}()};
    return std::filesystem::temp_directory_path() /
           ("veil-engine-" + name + "-" + std::to_string(rng()));
}

class Recorder : public engine::EngineObserver {
public:
    std::vector<store::MessageRow> messages;
    std::vector<Error> errors;
    std::vector<store::MessageStatus> statuses;
    std::vector<std::pair<Bytes, std::string>> warnings;
    std::vector<Bytes> groups_changed;
    std::vector<std::vector<std::string>> unreachable;
    int drained = 0;
    engine::State state = engine::State::offline;

    void on_state(engine::State s) override { state = s; }
    void on_message(const store::MessageRow& row) override { messages.push_back(row); }
    void on_status(std::span<const std::uint8_t>, store::MessageStatus s) override {
        statuses.push_back(s);
    }
    void on_queue_drained() override { ++drained; }
    void on_error(const Error& e) override { errors.push_back(e); }
    void on_group_changed(std::span<const std::uint8_t> group_id) override {
        groups_changed.emplace_back(group_id.begin(), group_id.end());
    }
    void on_group_warning(std::span<const std::uint8_t> group_id,
                          const std::string& sentence) override {
        warnings.emplace_back(Bytes(group_id.begin(), group_id.end()), sentence);
    }
    void on_group_unreachable(std::span<const std::uint8_t>,
                              const std::vector<std::string>& members) override {
        unreachable.push_back(members);
    }
    void on_group_change_failed(std::span<const std::uint8_t> group_id, const Error&) override {
        changes_failed.emplace_back(group_id.begin(), group_id.end());
    }
    std::vector<Bytes> changes_failed;
    struct Typing {
        std::string conversation;
        std::string who;
        bool typing = false;
    };
    std::vector<Typing> typing;
    void on_typing(const std::string& conversation, const std::string& who, bool t) override {
        typing.push_back({conversation, who, t});
    }

    std::vector<store::MessageRow> incoming() const {
        std::vector<store::MessageRow> out;
        for (const auto& m : messages)
            if (m.direction == store::Direction::incoming && m.kind == store::MessageKind::normal)
                out.push_back(m);
        return out;
    }
};

struct Client {
    std::filesystem::path dir;
    std::string name;
    std::unique_ptr<store::AccountStore> store;
    std::unique_ptr<crypto::SignalContext> context;
    ManualClock clock;
    FakeTransport transport;
    Recorder recorder;
    std::unique_ptr<engine::Engine> engine;

    Client(FakeRelay& relay, const std::string& username)
        : dir(temp_profile(username))
        , name(username)
        , transport(relay) {
        store::KdfParams cheap{1, 1024, 1};
        auto s = store::AccountStore::create(dir, passphrase(), cheap);
        REQUIRE(s.ok());
        store = std::move(s.value());
        auto c = crypto::SignalContext::create();
        REQUIRE(c.ok());
        context = std::move(c.value());
        REQUIRE(engine::Engine::create_account(*store, *context, name, "ws://fake").ok());
        engine = std::make_unique<engine::Engine>(*store, *context, transport, clock, recorder);
    }
    ~Client() {
        engine.reset();
        store.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }

    SecretBytes passphrase() const { return SecretBytes::from_string("pw " + name); }

    // Closes the engine and the store, as when the app quits, and opens both again from disk.
    void reopen() {
        engine->stop();
        engine.reset();
        store.reset();
        auto s = store::AccountStore::open(dir, passphrase());
        REQUIRE(s.ok());
        store = std::move(s.value());
        engine = std::make_unique<engine::Engine>(*store, *context, transport, clock, recorder);
    }
};

inline void start(FakeRelay& relay, Client& c) {
    REQUIRE(c.engine->start().ok());
    relay.pump();
    REQUIRE(c.engine->state() == engine::State::ready);
}

// Where most engine tests begin: alice and bob registered on one fake relay and online
// (TEST_CASE_METHOD(AliceAndBob, ...)).
struct AliceAndBob {
    AliceAndBob() {
        start(relay, alice);
        start(relay, bob);
    }
    FakeRelay relay;
    Client alice{relay, "alice"};
    Client bob{relay, "bob"};
};

// The same with carol, registered and online too (TEST_CASE_METHOD(AliceBobAndCarol, ...)).
struct AliceBobAndCarol : AliceAndBob {
    AliceBobAndCarol() { start(relay, carol); }
    Client carol{relay, "carol"};
};

} // namespace veil::test
