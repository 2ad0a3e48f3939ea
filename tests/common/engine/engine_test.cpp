// The engine with real crypto and real SQLCipher stores over a scripted fake relay.
#include "engine_fixture.h"

#include "crypto/keys.h"
#include "store/database.h"
#include "support/file_damage.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>

using namespace veil;
using namespace veil::test;

TEST_CASE("a registered client uploads its identity, signed prekey and 100 one-time prekeys") {
    FakeRelay relay;
    Client alice(relay, "alice");
    start(relay, alice);
    REQUIRE(relay.accounts.count("alice"));
    const auto& reg = relay.accounts["alice"].registration;
    CHECK(reg.identity_key().size() == 33);
    CHECK(reg.one_time_prekeys_size() == 100);
    CHECK(alice.store->account()->registered);
}

TEST_CASE_METHOD(AliceAndBob,
                 "two engines exchange messages both ways and the sender sees it delivered") {

    auto id = alice.engine->send_text("bob", "hello bob");
    REQUIRE(id.ok());
    relay.pump();
    REQUIRE(bob.recorder.incoming().size() == 1);
    CHECK(bob.recorder.incoming()[0].text == "hello bob");
    CHECK(bob.recorder.incoming()[0].sender == "alice");

    // Bob's delivery receipt reached Alice: sent, then delivered.
    auto row = alice.store->find_outgoing(id.value());
    REQUIRE(row.ok());
    REQUIRE(row.value().has_value());
    CHECK(row.value()->status == store::MessageStatus::delivered);

    REQUIRE(bob.engine->send_text("alice", "hi alice").ok());
    relay.pump();
    REQUIRE(alice.recorder.incoming().size() == 1);
    CHECK(alice.recorder.incoming()[0].text == "hi alice");
    CHECK(relay.mailboxes["alice"].empty());
    CHECK(relay.mailboxes["bob"].empty());
}

TEST_CASE("a message written while offline is sent once the engine connects") {
    FakeRelay relay;
    Client alice(relay, "alice");
    Client bob(relay, "bob");
    start(relay, bob);
    start(relay, alice);
    alice.transport.drop_connection();
    relay.pump();
    REQUIRE(alice.engine->send_text("bob", "written offline").ok());
    relay.pump();
    CHECK(bob.recorder.incoming().empty());
    alice.transport.fire_timers(); // the reconnect backoff elapses
    relay.pump();
    REQUIRE(bob.recorder.incoming().size() == 1);
    CHECK(bob.recorder.incoming()[0].text == "written offline");
    CHECK(alice.engine->idle_outgoing());
}

TEST_CASE("messages queued on the relay while the recipient was offline arrive on start") {
    FakeRelay relay;
    Client alice(relay, "alice");
    Client bob(relay, "bob");
    start(relay, bob);
    bob.engine->stop();
    relay.pump();
    start(relay, alice);
    REQUIRE(alice.engine->send_text("bob", "one").ok());
    REQUIRE(alice.engine->send_text("bob", "two").ok());
    relay.pump();
    CHECK(relay.mailboxes["bob"].size() == 2);
    int drained_before = bob.recorder.drained;
    start(relay, bob);
    REQUIRE(bob.recorder.incoming().size() == 2);
    CHECK(bob.recorder.incoming()[0].text == "one");
    CHECK(bob.recorder.incoming()[1].text == "two");
    CHECK(bob.recorder.drained == drained_before + 1);
    CHECK(relay.mailboxes["bob"].empty());
}

TEST_CASE("a tampered prekey message leaves every store unchanged and the next genuine message "
          "decrypts") {
    auto flip = GENERATE(as<std::string>{}, "body", "mac");
    FakeRelay relay;
    Client alice(relay, "alice");
    Client bob(relay, "bob");
    start(relay, alice);
    start(relay, bob);
    std::uint32_t prekey_id = relay.accounts["bob"].prekeys.front().id();

    relay.tamper = [&](wire::Deliver& d) {
        std::string c = d.ciphertext();
        std::size_t at = flip == "body" ? c.size() / 2 : c.size() - 1;
        c[at] = static_cast<char>(c[at] ^ 0x01);
        d.set_ciphertext(c);
    };
    REQUIRE(alice.engine->send_text("bob", "tampered on the way").ok());
    relay.pump();

    // A visible placeholder, and nothing of Alice's saved: no session, no identity, the
    // one-time prekey still there.
    REQUIRE(bob.recorder.incoming().size() == 1);
    CHECK(bob.recorder.incoming()[0].status == store::MessageStatus::failed);
    CHECK(bob.recorder.incoming()[0].text.find("could not decrypt") != std::string::npos);
    CHECK_FALSE(bob.store->contains_session({"alice", 1}).value());
    CHECK(bob.store->contains_prekey(prekey_id).value());
    Bytes other_key(33, 0x05);
    CHECK(bob.store->is_trusted_identity({"alice", 1}, other_key).value());
    CHECK(relay.mailboxes["bob"].empty()); // acked: the placeholder is shown, not retried

    relay.tamper = nullptr;
    REQUIRE(alice.engine->send_text("bob", "genuine").ok());
    relay.pump();
    REQUIRE(bob.recorder.incoming().size() == 2);
    CHECK(bob.recorder.incoming()[1].text == "genuine");
    CHECK(bob.recorder.incoming()[1].status == store::MessageStatus::received);
}

TEST_CASE_METHOD(AliceAndBob, "a redelivered message is shown once") {
    REQUIRE(alice.engine->send_text("bob", "only once").ok());
    relay.pump();
    REQUIRE(bob.recorder.incoming().size() == 1);

    // The relay delivers the same envelope again, as after a crash before the ack.
    FakeRelay::Stored again;
    again.delivery_id = 999;
    for (const auto& s : relay.sends) {
        if (s.to_username() != "bob")
            continue;
        again.deliver.set_message_id(s.message_id());
        again.deliver.set_from_username("alice");
        again.deliver.set_from_device_id(1);
        again.deliver.set_type(s.to_devices(0).type());
        again.deliver.set_ciphertext(s.to_devices(0).ciphertext());
    }
    relay.mailboxes["bob"].push_back(again);
    relay.push_mailbox("bob");
    relay.pump();
    CHECK(bob.recorder.incoming().size() == 1);
    auto rows = bob.store->messages("alice", 10);
    REQUIRE(rows.ok());
    CHECK(rows->size() == 1);
    CHECK(relay.mailboxes["bob"].empty());
}

TEST_CASE("one-time prekeys are replenished when the relay runs low, with fresh ids") {
    FakeRelay relay;
    Client alice(relay, "alice");
    start(relay, alice);
    auto first_batch = relay.accounts["alice"].registration.one_time_prekeys();
    alice.engine->stop();
    relay.pump();
    relay.report_prekeys_left = 5;
    start(relay, alice);
    REQUIRE(relay.uploads.size() == 1);
    CHECK(relay.uploads[0] == 100);
    std::set<std::uint32_t> ids;
    for (const auto& k : relay.accounts["alice"].prekeys)
        CHECK(ids.insert(k.id()).second); // no id reused
    CHECK(ids.size() == 200);
}

// Before, the count came only with AuthResult: a device online while new contacts used up its
// one-time prekeys went on without them (bundles with the signed prekey only) until it
// reconnected.
TEST_CASE("a device online while new contacts take its one-time prekeys refills them without "
          "reconnecting") {
    FakeRelay relay;
    Client alice(relay, "alice");
    start(relay, alice);
    // Others fetched 85 of alice's 100 bundles and never wrote.
    auto& held = relay.accounts["alice"].prekeys;
    held.erase(held.begin(), held.begin() + 85);
    std::set<std::uint32_t> handed_out;
    for (const auto& k : relay.accounts["alice"].registration.one_time_prekeys())
        handed_out.insert(k.id());

    Client bob(relay, "bob");
    start(relay, bob);
    REQUIRE(bob.engine->send_text("alice", "hello from a new contact").ok());
    relay.pump();
    REQUIRE(alice.recorder.incoming().size() == 1);
    CHECK(alice.engine->state() == engine::State::ready);
    CHECK(relay.prekey_status_requests == 1);
    REQUIRE(relay.uploads == std::vector<std::size_t>{100});
    CHECK(held.size() == 114);
    for (std::size_t i = 14; i < held.size(); ++i)
        CHECK(handed_out.count(held[i].id()) == 0); // fresh ids only

    // A message on the session that now exists asks nothing more.
    REQUIRE(alice.engine->send_text("bob", "welcome").ok());
    relay.pump();
    REQUIRE(bob.engine->send_text("alice", "thanks").ok());
    relay.pump();
    CHECK(relay.prekey_status_requests == 1);
}

TEST_CASE("sending to an unknown user marks the message failed with a clear error") {
    FakeRelay relay;
    Client alice(relay, "alice");
    start(relay, alice);
    auto id = alice.engine->send_text("nobody", "hello?");
    REQUIRE(id.ok());
    relay.pump();
    REQUIRE_FALSE(alice.recorder.errors.empty());
    CHECK(alice.recorder.errors.back().message.find("nobody") != std::string::npos);
    CHECK(alice.store->find_outgoing(id.value()).value()->status == store::MessageStatus::failed);
    CHECK(alice.engine->idle_outgoing());
}

TEST_CASE("invalid usernames and empty or oversize texts are refused before anything is stored") {
    FakeRelay relay;
    Client alice(relay, "alice");
    CHECK(alice.engine->send_text("Bad Name", "x").error().code == Errc::invalid_argument);
    CHECK(alice.engine->send_text("bob", "").error().code == Errc::invalid_argument);
    CHECK(alice.engine->send_text("bob", std::string(70000, 'x')).error().code == Errc::too_large);
    CHECK(alice.engine->idle_outgoing());
}

TEST_CASE_METHOD(
    AliceAndBob,
    "a send the relay never answers times out, and the engine reconnects and resends it "
    "once") {
    int swallowed = 0;
    relay.swallow = [&](const wire::Envelope& e) {
        if (!e.has_send_request() || swallowed > 0)
            return false;
        ++swallowed;
        return true;
    };
    REQUIRE(alice.engine->send_text("bob", "eventually").ok());
    relay.pump();
    CHECK(swallowed == 1);
    CHECK(bob.recorder.incoming().empty());
    CHECK_FALSE(alice.engine->idle_outgoing());

    alice.transport.fire_timers(); // the request times out: the connection is dropped
    CHECK(alice.engine->state() == engine::State::offline);
    alice.transport.fire_timers(); // the reconnect backoff elapses
    relay.pump();
    REQUIRE(bob.recorder.incoming().size() == 1);
    CHECK(bob.recorder.incoming()[0].text == "eventually");
    CHECK(alice.engine->idle_outgoing());
}

TEST_CASE("a backlog that keeps the engine busy past the request timeout does not make it "
          "reconnect, and a relay silent for a whole timeout still does") {
    // The relay answers in order, behind the deliveries it pushed first: a client working
    // through a long backlog sees its ack's timer fire before it reads the answer. Here the
    // relay never answers the acks, and every delivery after the first ack is a frame the
    // client handled while that ack was waiting: each timer that fires then is the client's
    // backlog, not a dead relay.
    FakeRelay relay;
    Client alice(relay, "alice");
    Client bob(relay, "bob");
    start(relay, alice);
    start(relay, bob);
    bob.transport.drop_connection();
    relay.pump();
    constexpr int kBacklog = 20;
    for (int i = 0; i < kBacklog; ++i)
        REQUIRE(alice.engine->send_text("bob", "queued " + std::to_string(i)).ok());
    relay.pump();
    REQUIRE(relay.mailboxes["bob"].size() == kBacklog);

    int acks_swallowed = 0;
    relay.swallow = [&](const wire::Envelope& e) {
        if (!e.has_ack_request())
            return false;
        ++acks_swallowed;
        return true;
    };
    bob.transport.fire_timers(); // the reconnect backoff elapses
    relay.pump();
    REQUIRE(bob.engine->state() == engine::State::ready);
    REQUIRE(bob.recorder.incoming().size() == kBacklog);
    CHECK(acks_swallowed >= 1);

    bob.transport.fire_timers(); // the ack's timeout: frames came in since it was sent
    CHECK(bob.engine->state() == engine::State::ready);
    CHECK(bob.transport.connected());

    bob.transport.fire_timers(); // a whole timeout with nothing from the relay
    CHECK(bob.engine->state() == engine::State::offline);

    // After the reconnect the relay answers again: everything is acked, nothing is stored twice.
    relay.swallow = nullptr;
    bob.transport.fire_timers();
    relay.pump();
    CHECK(bob.engine->state() == engine::State::ready);
    CHECK(relay.mailboxes["bob"].empty());
    auto stored = bob.store->messages("alice", 1000);
    REQUIRE(stored.ok());
    CHECK(stored->size() == kBacklog);
}

TEST_CASE_METHOD(AliceAndBob,
                 "a backlog's 1:1 messages are acked together and never before they are durable") {
    bob.transport.drop_connection();
    relay.pump();
    constexpr int kBacklog = 30;
    for (int i = 0; i < kBacklog; ++i)
        REQUIRE(alice.engine->send_text("bob", "queued " + std::to_string(i)).ok());
    relay.pump();
    REQUIRE(relay.mailboxes["bob"].size() == kBacklog);

    // At each ack the relay sees, a second connection to bob's database file counts what is
    // committed: every acked delivery must be in it.
    std::vector<int> acked_per_request;
    int acked = 0;
    bool durable_before_ack = true;
    std::set<std::uint64_t> bobs; // delivery ids in bob's mailbox (alice acks receipts too)
    for (const auto& stored : relay.mailboxes["bob"])
        bobs.insert(stored.delivery_id);
    relay.swallow = [&](const wire::Envelope& e) {
        if (!e.has_ack_request() || e.ack_request().delivery_ids().empty() ||
            !bobs.count(e.ack_request().delivery_ids(0)))
            return false;
        acked += e.ack_request().delivery_ids_size();
        acked_per_request.push_back(e.ack_request().delivery_ids_size());
        // The profile lock keeps a second AccountStore out: a bare SQLCipher connection.
        auto reader = store::Database::open(bob.dir / "account.db", false);
        REQUIRE(reader.ok());
        REQUIRE(reader->key(bob.store->database_key()).ok());
        REQUIRE(reader->exec("PRAGMA cipher_page_size = 4096; PRAGMA kdf_iter = 64000;").ok());
        auto stored = reader->query_int("SELECT count(*) FROM messages WHERE peer = 'alice'");
        REQUIRE(stored.ok());
        if (stored.value() < acked)
            durable_before_ack = false;
        return false; // answered as usual
    };
    bob.transport.fire_timers(); // the reconnect backoff elapses
    relay.pump();
    relay.swallow = nullptr;
    REQUIRE(bob.recorder.incoming().size() == kBacklog);
    CHECK(relay.mailboxes["bob"].empty());
    CHECK(acked == kBacklog);
    CHECK(durable_before_ack);
    // Acks of a batch go together, not one request per message.
    CHECK(acked_per_request.size() < static_cast<std::size_t>(kBacklog) / 2);
}

namespace {

// The SendRequests bob made to each peer from index `from` of relay.sends on.
std::map<std::string, int> sends_by_peer(const FakeRelay& relay, std::size_t from) {
    std::map<std::string, int> out;
    for (std::size_t i = from; i < relay.sends.size(); ++i)
        ++out[relay.sends[i].to_username()];
    return out;
}

} // namespace

TEST_CASE("a catch-up confirms each sender's messages with one delivery receipt, not one per "
          "message") {
    FakeRelay relay;
    Client alice(relay, "alice");
    Client carol(relay, "carol");
    Client bob(relay, "bob");
    start(relay, alice);
    start(relay, carol);
    start(relay, bob);
    bob.transport.drop_connection();
    relay.pump();
    constexpr int kFromAlice = 40;
    std::vector<Bytes> alices;
    for (int i = 0; i < kFromAlice; ++i) {
        auto id = alice.engine->send_text("bob", "from alice " + std::to_string(i));
        REQUIRE(id.ok());
        alices.push_back(id.value());
    }
    std::vector<Bytes> carols;
    for (int i = 0; i < 3; ++i) {
        auto id = carol.engine->send_text("bob", "from carol " + std::to_string(i));
        REQUIRE(id.ok());
        carols.push_back(id.value());
    }
    relay.pump();
    REQUIRE(relay.mailboxes["bob"].size() == kFromAlice + 3);

    const std::size_t before = relay.sends.size();
    bob.transport.fire_timers(); // the reconnect backoff elapses: bob catches up
    relay.pump();
    REQUIRE(bob.recorder.incoming().size() == kFromAlice + 3);
    auto sent = sends_by_peer(relay, before);
    CHECK(sent["alice"] == 1);
    CHECK(sent["carol"] == 1);
    // The one receipt confirms every message it stands for.
    for (const auto& id : alices)
        CHECK(alice.store->find_outgoing(id)->value().status == store::MessageStatus::delivered);
    for (const auto& id : carols)
        CHECK(carol.store->find_outgoing(id)->value().status == store::MessageStatus::delivered);
    CHECK(bob.engine->idle_outgoing());
}

TEST_CASE_METHOD(
    AliceAndBob,
    "a delivery receipt already sent takes no more ids: a message confirmed after it gets "
    "a receipt of its own") {
    // Bob's receipts reach the relay and are never answered, so each stays in flight.
    int swallowed = 0;
    relay.swallow = [&](const wire::Envelope& e) {
        if (!e.has_send_request() || e.send_request().to_username() != "alice")
            return false;
        ++swallowed;
        return true;
    };
    auto first = alice.engine->send_text("bob", "first");
    REQUIRE(first.ok());
    relay.pump();
    REQUIRE(swallowed == 1);
    auto second = alice.engine->send_text("bob", "second");
    REQUIRE(second.ok());
    relay.pump();
    REQUIRE(bob.recorder.incoming().size() == 2);
    CHECK(swallowed == 2); // a second receipt: the first one's ciphertext is already out
    CHECK(alice.store->find_outgoing(first.value())->value().status == store::MessageStatus::sent);

    // The relay answers again: after the timeout and reconnect both receipts go, as they were.
    relay.swallow = nullptr;
    bob.transport.fire_timers(); // frames came in after the first receipt went: still waiting
    CHECK(bob.engine->state() == engine::State::ready);
    bob.transport.fire_timers(); // a whole timeout with nothing from the relay: dropped
    REQUIRE(bob.engine->state() == engine::State::offline);
    bob.transport.fire_timers(); // the reconnect backoff elapses
    relay.pump();
    CHECK(alice.store->find_outgoing(first.value())->value().status ==
          store::MessageStatus::delivered);
    CHECK(alice.store->find_outgoing(second.value())->value().status ==
          store::MessageStatus::delivered);
    CHECK(bob.engine->idle_outgoing());
}

TEST_CASE_METHOD(AliceAndBob,
                 "a delivery receipt the relay holds off keeps its content: a message confirmed "
                 "meanwhile gets a receipt of its own") {
    bool limited = true;
    int refused = 0;
    relay.refuse = [&](const wire::SendRequest& s) -> std::optional<wire::Error> {
        if (!limited || s.to_username() != "alice")
            return std::nullopt;
        ++refused;
        wire::Error error;
        error.set_code(wire::Error::RATE_LIMITED);
        error.set_message("slow down");
        error.set_retry_after_ms(1000);
        return error;
    };
    auto first = alice.engine->send_text("bob", "first");
    REQUIRE(first.ok());
    relay.pump();
    REQUIRE(refused == 1); // its receipt is encrypted and waits to be sent again
    auto second = alice.engine->send_text("bob", "second");
    REQUIRE(second.ok());
    relay.pump();
    REQUIRE(bob.recorder.incoming().size() == 2);

    // The relay takes sends again: each retry sends the next receipt, as it was encrypted.
    limited = false;
    for (int i = 0; i < 10 && !bob.engine->idle_outgoing(); ++i) {
        bob.transport.fire_timers();
        relay.pump();
    }
    CHECK(bob.engine->idle_outgoing());
    CHECK(alice.store->find_outgoing(first.value())->value().status ==
          store::MessageStatus::delivered);
    CHECK(alice.store->find_outgoing(second.value())->value().status ==
          store::MessageStatus::delivered);
}

TEST_CASE_METHOD(
    AliceAndBob,
    "a delivery receipt whose id the relay holds with other content goes again under a "
    "new id") {
    std::string refused_id;
    relay.refuse = [&](const wire::SendRequest& s) -> std::optional<wire::Error> {
        if (!refused_id.empty() || s.to_username() != "alice")
            return std::nullopt;
        refused_id = s.message_id();
        wire::Error error;
        error.set_code(wire::Error::CONFLICT);
        error.set_message("that message id was already used for different content");
        return error;
    };
    auto id = alice.engine->send_text("bob", "confirmed in the end");
    REQUIRE(id.ok());
    relay.pump();
    REQUIRE_FALSE(refused_id.empty());
    REQUIRE(relay.sends.size() >= 2);
    CHECK(relay.sends.back().to_username() == "alice");
    CHECK(relay.sends.back().message_id() != refused_id);
    CHECK(alice.store->find_outgoing(id.value())->value().status ==
          store::MessageStatus::delivered);
    CHECK(bob.engine->idle_outgoing());
}

TEST_CASE("a relay that accepts connections but never lets the client in gets growing waits") {
    FakeRelay relay;
    Client alice(relay, "alice");
    start(relay, alice);
    relay.swallow = [](const wire::Envelope& e) { return e.has_challenge_request(); };
    alice.transport.delays.clear();
    alice.transport.drop_connection();
    relay.pump();
    // Each round fires the pending timer: a reconnect wait, or the unanswered challenge's
    // timeout that drops the connection again.
    for (int round = 0; round < 6; ++round) {
        alice.transport.fire_timers();
        relay.pump();
    }
    engine::EngineOptions defaults;
    std::vector<std::uint32_t> waits;
    for (auto d : alice.transport.delays)
        if (d < defaults.request_timeout_ms)
            waits.push_back(d);
    REQUIRE(waits.size() >= 3);
    // Windows of 500, 1000 and 2000 ms, each wait drawn from the upper half: the third wait is
    // longer than any first wait could be.
    CHECK(waits[0] <= defaults.backoff_initial_ms);
    CHECK(waits[2] > defaults.backoff_initial_ms);
    CHECK(alice.engine->state() != engine::State::ready);
}

TEST_CASE_METHOD(AliceAndBob,
                 "a blocked sender's messages are acked and dropped unseen and unconfirmed, until "
                 "unblocked") {
    REQUIRE(bob.engine->send_text("alice", "before the block").ok());
    relay.pump();
    REQUIRE(alice.recorder.incoming().size() == 1);

    REQUIRE(alice.engine->set_blocked("bob", true).ok());
    auto id = bob.engine->send_text("alice", "while blocked");
    REQUIRE(id.ok());
    relay.pump();
    CHECK(alice.recorder.incoming().size() == 1);
    CHECK(relay.mailboxes["alice"].empty()); // acked, so the relay keeps nothing
    auto row = bob.store->find_outgoing(id.value());
    REQUIRE(row.ok());
    REQUIRE(row.value().has_value());
    CHECK(row.value()->status == store::MessageStatus::sent); // no delivery receipt
    CHECK(alice.store->messages("bob", 10).value().size() == 1);
    // Nor can alice write to bob while he is blocked.
    CHECK(alice.engine->send_text("bob", "hi?").error().code == Errc::refused);

    REQUIRE(alice.engine->set_blocked("bob", false).ok());
    REQUIRE(bob.engine->send_text("alice", "after the unblock").ok());
    relay.pump();
    REQUIRE(alice.recorder.incoming().size() == 2);
    CHECK(alice.recorder.incoming()[1].text == "after the unblock");
    CHECK(alice.engine->set_blocked("alice", true).error().code == Errc::invalid_argument);
}

namespace {

std::string file_bytes(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

} // namespace

TEST_CASE_METHOD(
    AliceAndBob,
    "a store found damaged while open stops the engine in the damaged state, once, and "
    "what arrives stays on the relay unacked") {
    for (int i = 0; i < 200; ++i)
        REQUIRE(alice.engine
                    ->send_text("bob", "before " + std::to_string(i) + " " + std::string(200, 'x'))
                    .ok());
    relay.pump();
    REQUIRE(bob.recorder.incoming().size() == 200);
    bob.reopen(); // the log is checkpointed: every page is in account.db
    start(relay, bob);
    const std::size_t errors_before = bob.recorder.errors.size();

    REQUIRE(veil::test::damage_pages_in_place(bob.dir / "account.db", 8));
    const std::string damaged = file_bytes(bob.dir / "account.db");
    // The app reads the conversation; the store finds the damage.
    auto read = bob.store->messages("alice", 1000);
    REQUIRE_FALSE(read.ok());
    CHECK(read.error().code == Errc::corrupt);
    REQUIRE(bob.store->damaged());

    REQUIRE(alice.engine->send_text("bob", "after the damage").ok());
    REQUIRE(alice.engine->send_text("bob", "and another").ok());
    relay.pump();
    CHECK(bob.engine->state() == engine::State::damaged);
    CHECK(bob.recorder.state == engine::State::damaged);
    // Told once, in the one sentence the apps show.
    REQUIRE(bob.recorder.errors.size() == errors_before + 1);
    CHECK(bob.recorder.errors.back().code == Errc::corrupt);
    CHECK(bob.recorder.errors.back().message == engine::kStoreDamaged);
    // Nothing acked: the relay keeps both for after the restore; nothing written to the file.
    CHECK(relay.mailboxes["bob"].size() == 2);
    CHECK(file_bytes(bob.dir / "account.db") == damaged);
    // It stays stopped: no reconnect, and start() refuses.
    relay.pump();
    CHECK(bob.engine->state() == engine::State::damaged);
    auto restarted = bob.engine->start();
    REQUIRE_FALSE(restarted.ok());
    CHECK(restarted.error().message == engine::kStoreDamaged);
}

TEST_CASE("clients that lose the relay together come back at spread-out times within the first "
          "backoff window") {
    FakeRelay relay;
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < 20; ++i) {
        clients.push_back(std::make_unique<Client>(relay, "user" + std::to_string(i)));
        start(relay, *clients.back());
    }
    engine::EngineOptions defaults;
    std::set<std::uint32_t> waits;
    for (auto& c : clients) {
        c->transport.delays.clear();
        c->transport.drop_connection();
    }
    relay.pump();
    for (auto& c : clients) {
        REQUIRE_FALSE(c->transport.delays.empty());
        const std::uint32_t wait = c->transport.delays.front();
        // The upper half of the first window: never at once, never later than the window.
        CHECK(wait >= defaults.backoff_initial_ms / 2);
        CHECK(wait <= defaults.backoff_initial_ms);
        waits.insert(wait);
    }
    // Twenty draws from a window of a few hundred milliseconds: not one shared moment.
    CHECK(waits.size() >= 10);
    for (auto& c : clients) {
        c->transport.fire_timers();
        relay.pump();
        CHECK(c->engine->state() == engine::State::ready);
    }
}
