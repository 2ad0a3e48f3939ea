#include "crypto/keys.h"
#include "crypto/session.h"
#include "log_capture.h"
#include "protocol/limits.h"
#include "protocol/padding.h"
#include "support/memory_store.h"
#include "util/hex.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace veil;
using namespace veil::crypto;
using veil::crypto::testing::MemoryStore;

namespace {

// One account: its own libsignal context, in-memory store and published bundle. Members are
// destroyed in reverse order, so the StoreContext goes before the store and the SignalContext.
struct Party {
    std::unique_ptr<SignalContext> signal;
    std::unique_ptr<MemoryStore> store;
    std::unique_ptr<StoreContext> context;
    ProtocolAddress address;
    PrekeyBundle bundle;
    IdentityKeyPair identity;
};

Party make_party(const std::string& name, unsigned prekeys = 3) {
    Party p;
    auto signal = SignalContext::create();
    REQUIRE(signal.ok());
    p.signal = std::move(signal).value();

    auto identity = generate_identity(*p.signal);
    REQUIRE(identity.ok());
    p.identity =
        IdentityKeyPair{identity->key_pair.public_key, identity->key_pair.private_key.clone()};
    p.store =
        std::make_unique<MemoryStore>(std::move(identity->key_pair), identity->registration_id);
    auto context = StoreContext::create(*p.signal, *p.store);
    REQUIRE(context.ok());
    p.context = std::move(context).value();
    p.address = ProtocolAddress{name, 1};

    auto spk = generate_signed_prekey(*p.signal, p.identity, 1, 1'700'000'000'000);
    REQUIRE(spk.ok());
    REQUIRE(p.store->store_signed_prekey(spk->id, spk->record.view()).ok());
    auto otks = generate_prekeys(*p.signal, 1, prekeys);
    REQUIRE(otks.ok());
    for (auto& k : *otks)
        REQUIRE(p.store->store_prekey(k.id, k.record.view()).ok());

    p.bundle.registration_id = identity->registration_id;
    p.bundle.device_id = 1;
    p.bundle.identity_key = p.identity.public_key;
    p.bundle.signed_prekey_id = spk->id;
    p.bundle.signed_prekey = spk->public_key;
    p.bundle.signed_prekey_signature = spk->signature;
    if (prekeys > 0) {
        p.bundle.prekey_id = (*otks)[0].id;
        p.bundle.prekey = (*otks)[0].public_key;
    }
    return p;
}

Ciphertext send(Party& from, const Party& to, const std::string& text) {
    auto ct = encrypt(*from.context, to.address, protocol::pad(to_bytes(text)));
    REQUIRE(ct.ok());
    return std::move(ct).value();
}

// Decrypts and unpads; the plaintext leaves SecretBytes only inside the test.
Result<std::string> receive(Party& to, const Party& from, const Ciphertext& ct) {
    auto padded = decrypt(*to.context, from.address, ct);
    if (!padded)
        return padded.error();
    auto content = protocol::unpad(padded->view());
    if (!content)
        return content.error();
    return to_string(*content);
}

void connect(Party& alice, Party& bob) {
    REQUIRE(process_bundle(*alice.context, bob.address, bob.bundle).ok());
}

// Where one protobuf field's value lies inside bytes[begin, end).
struct Field {
    std::size_t offset = 0;
    std::size_t length = 0;
};

std::uint64_t read_varint(const Bytes& b, std::size_t& at) {
    std::uint64_t value = 0;
    for (int shift = 0; at < b.size() && shift < 64; shift += 7) {
        std::uint8_t byte = b[at++];
        value |= std::uint64_t(byte & 0x7f) << shift;
        if (!(byte & 0x80))
            break;
    }
    return value;
}

std::optional<Field> find_field(const Bytes& b, std::size_t begin, std::size_t end,
                                unsigned number) {
    std::size_t at = begin;
    while (at < end) {
        std::uint64_t tag = read_varint(b, at);
        std::size_t start = at;
        std::size_t length = 0;
        if ((tag & 7) == 0) {
            read_varint(b, at);
            length = at - start;
        } else if ((tag & 7) == 2) {
            length = static_cast<std::size_t>(read_varint(b, at));
            start = at;
            at += length;
        } else {
            return std::nullopt;
        }
        if ((tag >> 3) == number)
            return Field{start, length};
    }
    return std::nullopt;
}

// The signal message inside a ciphertext: all of it for WHISPER, field 4 of a PREKEY message.
Field signal_message(const Ciphertext& ct) {
    if (ct.type == CiphertextType::whisper)
        return Field{0, ct.bytes.size()};
    auto inner = find_field(ct.bytes, 1, ct.bytes.size(), 4);
    REQUIRE(inner);
    return *inner;
}

enum class Tamper { body, mac, counter, ratchet_key };

// A signal message is a version byte, a protobuf (ratchet key 1, counter 2, previous counter 3,
// ciphertext 4) and an 8-byte MAC over everything before it.
Ciphertext tampered(Ciphertext ct, Tamper where) {
    Field msg = signal_message(ct);
    std::size_t proto_end = msg.offset + msg.length - 8;
    switch (where) {
    case Tamper::mac: ct.bytes[msg.offset + msg.length - 1] ^= 0x01; break;
    case Tamper::body: {
        auto body = find_field(ct.bytes, msg.offset + 1, proto_end, 4);
        REQUIRE(body);
        ct.bytes[body->offset + body->length / 2] ^= 0x10;
        break;
    }
    case Tamper::counter: {
        auto counter = find_field(ct.bytes, msg.offset + 1, proto_end, 2);
        REQUIRE(counter);
        ct.bytes[counter->offset] ^= 0x01;
        break;
    }
    case Tamper::ratchet_key: {
        // The last byte of the 33-byte key (0x05 and 32 bytes of the point).
        auto key = find_field(ct.bytes, msg.offset + 1, proto_end, 1);
        REQUIRE(key);
        REQUIRE(key->length == 33);
        ct.bytes[key->offset + key->length - 1] ^= 0x01;
        break;
    }
    }
    return ct;
}

} // namespace

TEST_CASE("Alice and Bob exchange prekey then whisper messages in both directions") {
    Party alice = make_party("alice");
    Party bob = make_party("bob");
    connect(alice, bob);
    CHECK(*has_session(*alice.context, bob.address));
    CHECK_FALSE(*has_session(*bob.context, alice.address));

    auto first = send(alice, bob, "hello bob");
    CHECK(first.type == CiphertextType::prekey);
    auto second = send(alice, bob, "are you there?");
    CHECK(second.type == CiphertextType::prekey);

    CHECK(*receive(bob, alice, first) == "hello bob");
    CHECK(*has_session(*bob.context, alice.address));
    CHECK(*receive(bob, alice, second) == "are you there?");

    auto reply = send(bob, alice, "hi alice");
    CHECK(reply.type == CiphertextType::whisper);
    CHECK(*receive(alice, bob, reply) == "hi alice");

    for (int round = 0; round < 3; ++round) {
        auto a = send(alice, bob, "ping " + std::to_string(round));
        CHECK(a.type == CiphertextType::whisper);
        CHECK(*receive(bob, alice, a) == "ping " + std::to_string(round));
        auto b = send(bob, alice, "pong " + std::to_string(round));
        CHECK(b.type == CiphertextType::whisper);
        CHECK(*receive(alice, bob, b) == "pong " + std::to_string(round));
    }
}

TEST_CASE("the one-time prekey is consumed when its prekey message is accepted") {
    Party alice = make_party("alice");
    Party bob = make_party("bob", 3);
    connect(alice, bob);
    REQUIRE(bob.store->prekey_count() == 3);
    CHECK(*receive(bob, alice, send(alice, bob, "hello")) == "hello");
    CHECK(bob.store->prekey_count() == 2);
    CHECK(bob.store->stored_identity(alice.address) == alice.identity.public_key);
}

TEST_CASE("a bundle without a one-time prekey still builds a working session") {
    Party alice = make_party("alice");
    Party bob = make_party("bob", 0);
    REQUIRE_FALSE(bob.bundle.prekey_id);
    connect(alice, bob);
    CHECK(*receive(bob, alice, send(alice, bob, "no one-time key")) == "no one-time key");
    CHECK(*receive(alice, bob, send(bob, alice, "fine")) == "fine");
}

TEST_CASE("padded ciphertexts of different short texts have the same length") {
    Party alice = make_party("alice");
    Party bob = make_party("bob");
    connect(alice, bob);
    CHECK(*receive(bob, alice, send(alice, bob, "x")) == "x");
    CHECK(*receive(alice, bob, send(bob, alice, "y")) == "y");
    auto shorter = send(alice, bob, "a");
    auto longer = send(alice, bob, std::string(protocol::kPaddingBlock - 1, 'b'));
    CHECK(shorter.bytes.size() == longer.bytes.size());
}

TEST_CASE("a bundle with a bad signed-prekey signature is refused and creates no session") {
    Party alice = make_party("alice");
    Party bob = make_party("bob");
    Bytes before = alice.store->snapshot();

    PrekeyBundle forged = bob.bundle;
    forged.signed_prekey_signature[10] ^= 0x04;
    auto status = process_bundle(*alice.context, bob.address, forged);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().code == Errc::crypto);
    CHECK_FALSE(*has_session(*alice.context, bob.address));
    CHECK(alice.store->snapshot() == before);

    auto encrypted = encrypt(*alice.context, bob.address, protocol::pad(to_bytes("hi")));
    REQUIRE_FALSE(encrypted.ok());
    CHECK(encrypted.error().code == Errc::no_session);
}

TEST_CASE("a bundle whose signed prekey was swapped for another key is refused") {
    Party alice = make_party("alice");
    Party bob = make_party("bob");
    Party mallory = make_party("mallory");
    PrekeyBundle forged = bob.bundle;
    forged.signed_prekey = mallory.bundle.signed_prekey;
    auto status = process_bundle(*alice.context, bob.address, forged);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().code == Errc::crypto);
    CHECK_FALSE(*has_session(*alice.context, bob.address));
}

TEST_CASE("a bundle with malformed keys is refused as an invalid argument") {
    Party alice = make_party("alice");
    Party bob = make_party("bob");
    PrekeyBundle broken = bob.bundle;
    SECTION("identity key of 32 bytes") {
        broken.identity_key.pop_back();
    }
    SECTION("signed prekey with a wrong type byte") {
        broken.signed_prekey[0] = 0x07;
    }
    SECTION("one-time prekey missing though its id is set") {
        broken.prekey.clear();
    }
    SECTION("no signature") {
        broken.signed_prekey_signature.clear();
    }
    auto status = process_bundle(*alice.context, bob.address, broken);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().code == Errc::invalid_argument);
    CHECK_FALSE(*has_session(*alice.context, bob.address));
}

TEST_CASE("a bundle from a changed identity is refused as untrusted") {
    Party alice = make_party("alice");
    Party bob = make_party("bob");
    Party bob_reinstalled = make_party("bob");
    connect(alice, bob);
    auto status = process_bundle(*alice.context, bob.address, bob_reinstalled.bundle);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().code == Errc::untrusted_identity);
}

TEST_CASE("a tampered whisper message is rejected and leaves every store unchanged") {
    Party alice = make_party("alice");
    Party bob = make_party("bob");
    connect(alice, bob);
    CHECK(*receive(bob, alice, send(alice, bob, "setup")) == "setup");
    CHECK(*receive(alice, bob, send(bob, alice, "ack")) == "ack");

    auto genuine = send(alice, bob, "the real message");
    REQUIRE(genuine.type == CiphertextType::whisper);
    Bytes bob_before = bob.store->snapshot();
    Bytes alice_before = alice.store->snapshot();

    auto where = GENERATE(Tamper::body, Tamper::mac, Tamper::counter, Tamper::ratchet_key);
    auto result = receive(bob, alice, tampered(genuine, where));
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().code == Errc::invalid_message);
    // A whisper message is rejected before libsignal writes anything, even without rollback.
    CHECK(bob.store->snapshot() == bob_before);
    CHECK(alice.store->snapshot() == alice_before);

    CHECK(*receive(bob, alice, genuine) == "the real message");
}

TEST_CASE("a tampered prekey message is rejected and a rolled-back transaction leaves every "
          "store unchanged") {
    Party alice = make_party("alice");
    Party bob = make_party("bob");
    connect(alice, bob);
    auto genuine = send(alice, bob, "first contact");
    REQUIRE(genuine.type == CiphertextType::prekey);
    Bytes before = bob.store->snapshot();
    auto where = GENERATE(Tamper::body, Tamper::mac, Tamper::counter);

    SECTION("without a transaction libsignal has already saved the sender's identity") {
        auto result = receive(bob, alice, tampered(genuine, where));
        REQUIRE_FALSE(result.ok());
        CHECK(result.error().code == Errc::invalid_message);
        CHECK(bob.store->snapshot() != before);
        CHECK(bob.store->stored_identity(alice.address) == alice.identity.public_key);
        CHECK_FALSE(*has_session(*bob.context, alice.address));
    }

    SECTION("inside a transaction that is rolled back nothing changes") {
        bob.store->begin();
        auto result = receive(bob, alice, tampered(genuine, where));
        REQUIRE_FALSE(result.ok());
        CHECK(result.error().code == Errc::invalid_message);
        bob.store->rollback();
        CHECK(bob.store->snapshot() == before);
        CHECK_FALSE(bob.store->stored_identity(alice.address));

        bob.store->begin();
        CHECK(*receive(bob, alice, genuine) == "first contact");
        bob.store->commit();
        CHECK(*has_session(*bob.context, alice.address));
    }
}

TEST_CASE("a replayed whisper message is rejected as a duplicate and changes nothing") {
    Party alice = make_party("alice");
    Party bob = make_party("bob");
    connect(alice, bob);
    CHECK(*receive(bob, alice, send(alice, bob, "setup")) == "setup");
    CHECK(*receive(alice, bob, send(bob, alice, "ack")) == "ack");

    auto message = send(alice, bob, "only once");
    CHECK(*receive(bob, alice, message) == "only once");
    Bytes before = bob.store->snapshot();
    auto replay = receive(bob, alice, message);
    REQUIRE_FALSE(replay.ok());
    CHECK(replay.error().code == Errc::duplicate_message);
    CHECK(bob.store->snapshot() == before);
}

// The first byte of a Signal message is its version: (message version << 4) | current version.
// libsignal-protocol-c speaks version 3; 2 and below are legacy, 4 and above unknown.
TEST_CASE("whisper and prekey messages of an old or unknown protocol version are rejected and "
          "change nothing") {
    const auto version =
        GENERATE(std::uint8_t{0x22}, std::uint8_t{0x11}, std::uint8_t{0x44}, std::uint8_t{0xff});
    CAPTURE(int(version));
    Party alice = make_party("alice");
    Party bob = make_party("bob");
    connect(alice, bob);
    auto first = send(alice, bob, "first contact");
    REQUIRE(first.type == CiphertextType::prekey);
    {
        Ciphertext other = first;
        other.bytes[0] = version;
        const Bytes before = bob.store->snapshot();
        bob.store->begin();
        auto result = receive(bob, alice, other);
        bob.store->rollback();
        REQUIRE_FALSE(result.ok());
        CHECK(result.error().code == Errc::invalid_message);
        CHECK(bob.store->snapshot() == before);
    }
    CHECK(*receive(bob, alice, first) == "first contact");
    CHECK(*receive(alice, bob, send(bob, alice, "ack")) == "ack");

    auto whisper = send(alice, bob, "on the ratchet");
    REQUIRE(whisper.type == CiphertextType::whisper);
    Ciphertext other = whisper;
    other.bytes[0] = version;
    const Bytes before = bob.store->snapshot();
    auto result = receive(bob, alice, other);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().code == Errc::invalid_message);
    CHECK(bob.store->snapshot() == before);
    CHECK(*receive(bob, alice, whisper) == "on the ratchet");
}

TEST_CASE("a replayed prekey message is rejected as a duplicate") {
    Party alice = make_party("alice");
    Party bob = make_party("bob");
    connect(alice, bob);
    auto message = send(alice, bob, "hello once");
    CHECK(*receive(bob, alice, message) == "hello once");
    auto replay = receive(bob, alice, message);
    REQUIRE_FALSE(replay.ok());
    CHECK(replay.error().code == Errc::duplicate_message);
}

TEST_CASE("messages delivered out of order within the skip window all decrypt") {
    Party alice = make_party("alice");
    Party bob = make_party("bob");
    connect(alice, bob);
    CHECK(*receive(bob, alice, send(alice, bob, "setup")) == "setup");
    CHECK(*receive(alice, bob, send(bob, alice, "ack")) == "ack");
    auto m0 = send(alice, bob, "zero");
    auto m1 = send(alice, bob, "one");
    auto m2 = send(alice, bob, "two");
    CHECK(*receive(bob, alice, m2) == "two");
    CHECK(*receive(bob, alice, m0) == "zero");
    CHECK(*receive(bob, alice, m1) == "one");
}

namespace {

// One message of the shuffled conversation below.
struct InFlight {
    int turn = 0;    // the sender's chain: turn t is Alice's when t is even
    int counter = 0; // its place in the chain (each turn starts a new chain at 0)
    Ciphertext ct;
    std::string text;
};

// What the receiver of a run of turns has been given, as libsignal will remember it: the chains
// in the order their first message arrived, the last five of them (libsignal-protocol-c keeps
// five receiving chains per session), and for each the counters delivered.
struct ReceiverModel {
    std::vector<int> chains;
    std::map<int, std::set<int>> delivered;

    void deliver(const InFlight& m) {
        if (std::find(chains.begin(), chains.end(), m.turn) == chains.end())
            chains.push_back(m.turn);
        delivered[m.turn].insert(m.counter);
    }

    // Messages counted past but not received, on the chains libsignal still holds.
    std::uint32_t gaps() const {
        std::uint32_t n = 0;
        std::size_t first = chains.size() > 5 ? chains.size() - 5 : 0;
        for (std::size_t i = first; i < chains.size(); ++i) {
            const auto& got = delivered.at(chains[i]);
            int top = *got.rbegin();
            n += static_cast<std::uint32_t>(top + 1) - static_cast<std::uint32_t>(got.size());
        }
        return n;
    }
};

} // namespace

TEST_CASE("500 messages over 20 ratchet turns, shuffled with 10% dropped, decrypt once each and "
          "the dropped ones are counted as missing") {
    const auto seed = GENERATE(1u, 2u, 3u);
    CAPTURE(seed);
    std::mt19937 rng(seed);
    Party alice = make_party("alice");
    Party bob = make_party("bob");
    connect(alice, bob);
    CHECK(*receive(bob, alice, send(alice, bob, "setup")) == "setup");
    CHECK(*receive(alice, bob, send(bob, alice, "ack")) == "ack");

    constexpr int kTurns = 20;
    constexpr int kPerTurn = 25;
    std::map<std::string, int> decrypted; // text -> times it decrypted
    std::vector<InFlight> delivered_all;
    std::vector<std::pair<int, InFlight>> late; // (the turn it is delivered in, the message)
    ReceiverModel at_bob;                       // what Bob has of Alice's chains
    ReceiverModel at_alice;
    int dropped = 0;

    auto deliver = [&](const InFlight& m) {
        const bool from_alice = m.turn % 2 == 0;
        Party& to = from_alice ? bob : alice;
        const Party& from = from_alice ? alice : bob;
        auto text = receive(to, from, m.ct);
        REQUIRE(text.ok());
        CHECK(*text == m.text);
        ++decrypted[*text];
        (from_alice ? at_bob : at_alice).deliver(m);
        delivered_all.push_back(m);
    };
    auto check_gaps = [&] {
        auto bob_missing = missing_messages(*bob.context, alice.address);
        auto alice_missing = missing_messages(*alice.context, bob.address);
        REQUIRE(bob_missing.ok());
        REQUIRE(alice_missing.ok());
        CHECK(*bob_missing == at_bob.gaps());
        CHECK(*alice_missing == at_alice.gaps());
    };

    for (int turn = 0; turn < kTurns; ++turn) {
        Party& from = turn % 2 == 0 ? alice : bob;
        const Party& to = turn % 2 == 0 ? bob : alice;
        std::vector<InFlight> batch;
        for (int i = 0; i < kPerTurn; ++i) {
            InFlight m;
            m.turn = turn;
            m.counter = i;
            m.text = "turn " + std::to_string(turn) + " message " + std::to_string(i);
            m.ct = send(from, to, m.text);
            batch.push_back(std::move(m));
        }
        std::shuffle(batch.begin(), batch.end(), rng);
        // Exactly 10% are lost: three of Alice's 25 and two of Bob's, 50 of the 500.
        const int lose = turn % 2 == 0 ? 3 : 2;
        dropped += lose;
        batch.erase(batch.begin(), batch.begin() + lose);
        // Four come late, one or two turns later, mixed with that turn's messages.
        std::uniform_int_distribution<int> later(1, 2);
        for (int i = 0; i < 4; ++i) {
            late.emplace_back(turn + later(rng), std::move(batch.back()));
            batch.pop_back();
        }
        for (auto it = late.begin(); it != late.end();) {
            if (it->first == turn) {
                batch.push_back(std::move(it->second));
                it = late.erase(it);
            } else {
                ++it;
            }
        }
        std::shuffle(batch.begin(), batch.end(), rng);
        for (const auto& m : batch)
            deliver(m);
        check_gaps();
    }
    std::shuffle(late.begin(), late.end(), rng);
    for (const auto& [when, m] : late)
        deliver(m);
    check_gaps();

    CHECK(dropped == 50);
    CHECK(delivered_all.size() == 450);
    CHECK(decrypted.size() == 450);
    for (const auto& [text, times] : decrypted)
        CHECK(times == 1);
    // Every delivered message again: none decrypts a second time and nothing changes. On the
    // chains libsignal still holds it is a duplicate; the chains it let go no longer
    // authenticate anything (invalid_message).
    const Bytes bob_before = bob.store->snapshot();
    const Bytes alice_before = alice.store->snapshot();
    for (const auto& m : delivered_all) {
        const bool from_alice = m.turn % 2 == 0;
        Party& to = from_alice ? bob : alice;
        const Party& from = from_alice ? alice : bob;
        const auto& chains = (from_alice ? at_bob : at_alice).chains;
        const bool held = std::find(chains.end() - 5, chains.end(), m.turn) != chains.end();
        auto again = receive(to, from, m.ct);
        REQUIRE_FALSE(again.ok());
        CAPTURE(m.turn, m.counter);
        CHECK(again.error().code == (held ? Errc::duplicate_message : Errc::invalid_message));
    }
    CHECK(bob.store->snapshot() == bob_before);
    CHECK(alice.store->snapshot() == alice_before);
    check_gaps();
    // The last turns' gaps are still there to show; older chains were let go by libsignal.
    CHECK(at_bob.gaps() + at_alice.gaps() > 0);
}

TEST_CASE("a session counts no missing messages when all arrived, and none without a session") {
    Party alice = make_party("alice");
    Party bob = make_party("bob");
    auto none = missing_messages(*bob.context, alice.address);
    REQUIRE(none.ok());
    CHECK(*none == 0);
    connect(alice, bob);
    auto m0 = send(alice, bob, "zero");
    auto m1 = send(alice, bob, "one");
    auto m2 = send(alice, bob, "two");
    CHECK(*receive(bob, alice, m2) == "two");
    CHECK(*missing_messages(*bob.context, alice.address) == 2);
    CHECK(*receive(bob, alice, m0) == "zero");
    CHECK(*missing_messages(*bob.context, alice.address) == 1);
    CHECK(*receive(bob, alice, m1) == "one");
    CHECK(*missing_messages(*bob.context, alice.address) == 0);
}

// libsignal-protocol-c keeps at most MAX_MESSAGE_KEYS = 2000 skipped keys per chain and refuses
// a counter more than 2000 ahead of the chain ("Over 2000 messages into the future!").
TEST_CASE("a message more than 2000 ahead in its chain is rejected and one 1999 ahead decrypts") {
    Party alice = make_party("alice");
    Party bob = make_party("bob");
    connect(alice, bob);
    CHECK(*receive(bob, alice, send(alice, bob, "setup")) == "setup");
    CHECK(*receive(alice, bob, send(bob, alice, "ack")) == "ack");

    // Alice's next sending chain starts at counter 0.
    std::vector<Ciphertext> sent;
    sent.reserve(2002);
    for (int i = 0; i <= 2001; ++i) {
        auto ct = encrypt(*alice.context, bob.address, protocol::pad(to_bytes("m")));
        REQUIRE(ct.ok());
        sent.push_back(std::move(ct).value());
    }

    Bytes before = bob.store->snapshot();
    {
        testing::LogCapture log;
        auto too_far = receive(bob, alice, sent[2001]); // 2001 messages skipped
        REQUIRE_FALSE(too_far.ok());
        CHECK(too_far.error().code == Errc::invalid_message);
        CHECK(log.contains("messages into the future"));
    }
    CHECK(bob.store->snapshot() == before);

    CHECK(receive(bob, alice, sent[1999]).ok()); // 1999 skipped
    // Now the chain stands at 2000, so the same message is within reach.
    CHECK(receive(bob, alice, sent[2001]).ok());
    CHECK(receive(bob, alice, sent[0]).ok());
}

TEST_CASE("the sending chain index counts messages since the peer last started a new chain") {
    Party alice = make_party("alice");
    Party bob = make_party("bob");
    Party carol = make_party("carol");
    auto none = sending_chain_index(*alice.context, bob.address);
    REQUIRE_FALSE(none.ok());
    CHECK(none.error().code == Errc::no_session);

    connect(alice, bob);
    CHECK(*sending_chain_index(*alice.context, bob.address) == 0);
    CHECK(*receive(bob, alice, send(alice, bob, "one")) == "one");
    send(alice, bob, "two");
    send(alice, bob, "three");
    CHECK(*sending_chain_index(*alice.context, bob.address) == 3);

    // Bob's reply carries a new ratchet key: Alice's next chain starts again at 0.
    CHECK(*receive(alice, bob, send(bob, alice, "reply")) == "reply");
    CHECK(*sending_chain_index(*alice.context, bob.address) == 0);
    send(alice, bob, "four");
    CHECK(*sending_chain_index(*alice.context, bob.address) == 1);
    // Bob sent one message on his current chain.
    CHECK(*sending_chain_index(*bob.context, alice.address) == 1);
    CHECK_FALSE(sending_chain_index(*alice.context, carol.address).ok());
}

TEST_CASE("a prekey message from a changed identity is refused as untrusted") {
    Party alice = make_party("alice");
    Party alice_reinstalled = make_party("alice");
    Party bob = make_party("bob");
    connect(alice, bob);
    CHECK(*receive(bob, alice, send(alice, bob, "original")) == "original");

    connect(alice_reinstalled, bob);
    auto result = receive(bob, alice_reinstalled, send(alice_reinstalled, bob, "it's me"));
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().code == Errc::untrusted_identity);
}

TEST_CASE("a prekey message with a new identity key and a corrupted body fails and leaves the "
          "identity, session and prekey stores unchanged") {
    Party alice = make_party("alice");
    Party alice_reinstalled = make_party("alice");
    Party bob = make_party("bob");
    connect(alice, bob);
    CHECK(*receive(bob, alice, send(alice, bob, "original")) == "original");
    // The reinstalled device builds on the signed prekey alone (bob's first one-time prekey was
    // used by the original session), so only the identity and the damage are new.
    PrekeyBundle signed_only = bob.bundle;
    signed_only.prekey_id.reset();
    signed_only.prekey.clear();
    REQUIRE(process_bundle(*alice_reinstalled.context, bob.address, signed_only).ok());
    auto forged = send(alice_reinstalled, bob, "it's me, new phone");
    REQUIRE(forged.type == CiphertextType::prekey);
    auto where = GENERATE(Tamper::body, Tamper::mac);
    const Bytes before = bob.store->snapshot();

    bob.store->begin();
    auto result = receive(bob, alice_reinstalled, tampered(forged, where));
    REQUIRE_FALSE(result.ok());
    CHECK((result.error().code == Errc::untrusted_identity ||
           result.error().code == Errc::invalid_message));
    bob.store->rollback();
    CHECK(bob.store->snapshot() == before);
    CHECK(bob.store->stored_identity(alice.address) == alice.identity.public_key);

    // The session with the original device goes on.
    CHECK(*receive(bob, alice, send(alice, bob, "still me")) == "still me");
}

TEST_CASE("a bundle without a signed-prekey signature is refused and creates no session") {
    Party alice = make_party("alice");
    Party bob = make_party("bob");
    const Bytes before = alice.store->snapshot();
    PrekeyBundle unsigned_bundle = bob.bundle;
    unsigned_bundle.signed_prekey_signature.clear();
    auto status = process_bundle(*alice.context, bob.address, unsigned_bundle);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().code == Errc::invalid_argument);
    CHECK(status.error().message.find("no signature") != std::string::npos);
    CHECK_FALSE(*has_session(*alice.context, bob.address));
    CHECK(alice.store->snapshot() == before);
}

TEST_CASE("a whisper message without a session is reported as no session") {
    Party alice = make_party("alice");
    Party bob = make_party("bob");
    Party carol = make_party("carol");
    connect(alice, bob);
    CHECK(*receive(bob, alice, send(alice, bob, "setup")) == "setup");
    auto whisper = send(bob, alice, "for alice");
    REQUIRE(whisper.type == CiphertextType::whisper);

    auto result = receive(carol, bob, whisper);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().code == Errc::no_session);

    auto encrypted = encrypt(*carol.context, bob.address, protocol::pad(to_bytes("hi")));
    REQUIRE_FALSE(encrypted.ok());
    CHECK(encrypted.error().code == Errc::no_session);
}

TEST_CASE("garbage, empty and truncated ciphertexts are rejected as invalid messages") {
    Party alice = make_party("alice");
    Party bob = make_party("bob");
    connect(alice, bob);
    auto genuine = send(alice, bob, "hello");
    Bytes before = bob.store->snapshot();

    for (auto type : {CiphertextType::prekey, CiphertextType::whisper}) {
        for (const Bytes& bytes : {Bytes{}, Bytes{0x33}, to_bytes("not a signal message at all"),
                                   Bytes(genuine.bytes.begin(), genuine.bytes.end() - 9)}) {
            auto result = decrypt(*bob.context, alice.address, Ciphertext{type, bytes});
            REQUIRE_FALSE(result.ok());
            CHECK(result.error().code == Errc::invalid_message);
        }
    }
    CHECK(bob.store->snapshot() == before);
    CHECK(*receive(bob, alice, genuine) == "hello");
}

TEST_CASE("a store that fails to write makes decrypt fail with the store's error") {
    Party alice = make_party("alice");
    Party bob = make_party("bob");
    connect(alice, bob);
    auto message = send(alice, bob, "hello");
    Bytes before = bob.store->snapshot();

    bob.store->begin();
    bob.store->fail_writes = true;
    auto result = receive(bob, alice, message);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().code == Errc::database);
    bob.store->rollback();
    CHECK(bob.store->snapshot() == before);

    bob.store->fail_writes = false;
    CHECK(*receive(bob, alice, message) == "hello");
}

TEST_CASE("a stored session whose sending chain has no key is reported as corrupt, not followed") {
    // Found by tests/fuzz/fuzz_signal (corpus/signal/4_damaged_sender_chain): a session record
    // naming a sending chain without its chain key made libsignal return a null key that
    // sending_chain_index and encrypt then dereferenced.
    Party alice = make_party("alice");
    const ProtocolAddress mallory{"mallory", 1};
    auto record = from_hex(
        "0acf02080312210526d18f9d3a3af8b245b54a20238a3bfb3c1366d60a162dd5d0f8c88d417694751a2105bc"
        "36266e4da98f68b76509d401607bd7f0cb62f7430402b43118f9d66b90a33a22208df0ceff014be709e04dce"
        "f292f3d020b45925427ad27ad1e6536eafd8f7d2602800326b0a21fbf290804700dc159b7f08e7cc3037fde4"
        "2d0729938471ca9e913e287361d0832e122060d3a420135dc1356314b20cbf9660ec733b2eb8b834a558ba68"
        "204660167d721a2408011220f81cf264d95913f4de4c8140bc041bed61385267f68c8e12ad373ac761a3d08f"
        "3a490a210511fd4f4b10bf39fc7068333114c798fcad0c8cabb369bc69be3423bcfecd0e0b1a240801122058"
        "08abfb13b6ea8319ad44a338e577d8d115cf51e601c09cfe51383ed246647c50d72058cb3c60006a21059279"
        "cb604e6481c359e90312ee19a861d686c757ee91833baa52a9c2b86f8f7a");
    REQUIRE(record.ok());
    REQUIRE(alice.store->store_session(mallory, *record, {}).ok());

    auto index = sending_chain_index(*alice.context, mallory);
    REQUIRE_FALSE(index.ok());
    CHECK(index.error().code == Errc::corrupt);

    auto sent = encrypt(*alice.context, mallory, protocol::pad(to_bytes("hello")));
    REQUIRE_FALSE(sent.ok());
    CHECK(sent.error().code == Errc::corrupt);
}

namespace {

std::size_t varint_size(std::uint64_t value) {
    std::size_t size = 1;
    for (; value >= 0x80; value >>= 7)
        ++size;
    return size;
}

// bytes with the value of a length-delimited field replaced (its length prefix re-encoded).
Bytes with_value(const Bytes& bytes, Field field, const Bytes& value) {
    Bytes out(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(
                                                 field.offset - varint_size(field.length)));
    for (std::uint64_t size = value.size();; size >>= 7) {
        out.push_back(static_cast<std::uint8_t>((size & 0x7f) | (size >= 0x80 ? 0x80 : 0)));
        if (size < 0x80)
            break;
    }
    out.insert(out.end(), value.begin(), value.end());
    out.insert(out.end(), bytes.begin() + static_cast<std::ptrdiff_t>(field.offset + field.length),
               bytes.end());
    return out;
}

// A signal message (version byte, protobuf, 8-byte MAC) with its ratchet key (field 1)
// replaced. The MAC is kept: whoever forges such a message cannot compute it either.
Bytes with_ratchet_key(const Bytes& message, const Bytes& key) {
    auto field = find_field(message, 1, message.size() - 8, 1);
    REQUIRE(field);
    REQUIRE(field->length == 33);
    return with_value(message, *field, key);
}

enum class PrekeyMessageKey { base = 2, identity = 3, ratchet = 4 };

// A prekey message (version byte, then PreKeySignalMessage: base key 2, identity key 3, signal
// message 4) with one of its keys replaced.
Ciphertext with_prekey_message_key(Ciphertext ct, PrekeyMessageKey which, const Bytes& key) {
    REQUIRE(ct.type == CiphertextType::prekey);
    if (which == PrekeyMessageKey::ratchet) {
        Field inner = signal_message(ct);
        Bytes message(ct.bytes.begin() + static_cast<std::ptrdiff_t>(inner.offset),
                      ct.bytes.begin() + static_cast<std::ptrdiff_t>(inner.offset + inner.length));
        ct.bytes = with_value(ct.bytes, inner, with_ratchet_key(message, key));
        return ct;
    }
    auto field = find_field(ct.bytes, 1, ct.bytes.size(), static_cast<unsigned>(which));
    REQUIRE(field);
    REQUIRE(field->length == 33);
    ct.bytes = with_value(ct.bytes, *field, key);
    return ct;
}

// Curve25519 points of small order (orders 1, 2, 4 and 8, and the non-canonical encodings
// p - 1, p and p + 1), in libsignal's 33-byte form, plus 0 and 1 with the top bit set, which
// X25519 ignores (RFC 7748, section 5).
std::vector<Bytes> small_order_points() {
    std::vector<Bytes> points;
    for (const char* u : {
             "0000000000000000000000000000000000000000000000000000000000000000",
             "0100000000000000000000000000000000000000000000000000000000000000",
             "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
             "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
             "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
             "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
             "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
             "0000000000000000000000000000000000000000000000000000000000000080",
             "0100000000000000000000000000000000000000000000000000000000000080",
         }) {
        auto point = from_hex(std::string("05") + u);
        REQUIRE(point.ok());
        points.push_back(std::move(point).value());
    }
    return points;
}

// Keys libsignal cannot decode: a wrong type byte, and 32 and 34 bytes.
std::vector<Bytes> malformed_points(const Bytes& genuine) {
    Bytes wrong_type = genuine;
    wrong_type[0] = 0x04;
    Bytes shorter(genuine.begin(), genuine.end() - 1);
    Bytes longer = genuine;
    longer.push_back(0x42);
    return {wrong_type, shorter, longer};
}

} // namespace

TEST_CASE("a whisper message whose ratchet key is a point of small order or malformed is "
          "refused before use and the session goes on") {
    Party alice = make_party("alice");
    Party bob = make_party("bob");
    connect(alice, bob);
    CHECK(*receive(bob, alice, send(alice, bob, "setup")) == "setup");
    CHECK(*receive(alice, bob, send(bob, alice, "ack")) == "ack");
    // A new ratchet turn: the genuine message carries a ratchet key bob has not seen, so bob
    // would compute a fresh DH with whatever key the message names.
    auto genuine = send(alice, bob, "the real message");
    REQUIRE(genuine.type == CiphertextType::whisper);
    const Bytes before = bob.store->snapshot();

    for (const Bytes& point : small_order_points()) {
        CAPTURE(to_hex(point));
        auto result =
            receive(bob, alice, {CiphertextType::whisper, with_ratchet_key(genuine.bytes, point)});
        REQUIRE_FALSE(result.ok());
        CHECK(result.error().code == Errc::invalid_message);
        CHECK(result.error().message ==
              "the message's ratchet key is a curve point of small order");
        CHECK(bob.store->snapshot() == before);
    }
    auto key = find_field(genuine.bytes, 1, genuine.bytes.size() - 8, 1);
    REQUIRE(key);
    const Bytes genuine_key(genuine.bytes.begin() + static_cast<std::ptrdiff_t>(key->offset),
                            genuine.bytes.begin() +
                                static_cast<std::ptrdiff_t>(key->offset + key->length));
    for (const Bytes& malformed : malformed_points(genuine_key)) {
        CAPTURE(to_hex(malformed));
        auto result = receive(
            bob, alice, {CiphertextType::whisper, with_ratchet_key(genuine.bytes, malformed)});
        REQUIRE_FALSE(result.ok());
        CHECK(result.error().code == Errc::invalid_message);
        CHECK(bob.store->snapshot() == before);
    }

    CHECK(*receive(bob, alice, genuine) == "the real message");
    CHECK(*receive(alice, bob, send(bob, alice, "and back")) == "and back");
}

TEST_CASE("a prekey message whose base, identity or ratchet key is a point of small order or "
          "malformed is refused before use and stores nothing") {
    Party alice = make_party("alice");
    Party bob = make_party("bob");
    connect(alice, bob);
    auto genuine = send(alice, bob, "first contact");
    REQUIRE(genuine.type == CiphertextType::prekey);
    const Bytes before = bob.store->snapshot();
    const auto which =
        GENERATE(PrekeyMessageKey::base, PrekeyMessageKey::identity, PrekeyMessageKey::ratchet);
    CAPTURE(static_cast<int>(which));
    const std::string name = which == PrekeyMessageKey::base       ? "base key"
                             : which == PrekeyMessageKey::identity ? "identity key"
                                                                   : "ratchet key";

    // No transaction around these: the refusal comes before libsignal could save the sender's
    // identity, use the one-time prekey or build a session, so there is nothing to roll back.
    for (const Bytes& point : small_order_points()) {
        CAPTURE(to_hex(point));
        auto result = receive(bob, alice, with_prekey_message_key(genuine, which, point));
        REQUIRE_FALSE(result.ok());
        CHECK(result.error().code == Errc::invalid_message);
        CHECK(result.error().message ==
              "the prekey message's " + name + " is a curve point of small order");
        CHECK(bob.store->snapshot() == before);
        CHECK_FALSE(bob.store->stored_identity(alice.address));
        CHECK_FALSE(*has_session(*bob.context, alice.address));
    }
    Bytes genuine_key =
        which == PrekeyMessageKey::identity ? alice.identity.public_key : small_order_points()[0];
    genuine_key[32] = 0x11; // any 33 bytes serve: only the shape is wrong below
    for (const Bytes& malformed : malformed_points(genuine_key)) {
        CAPTURE(to_hex(malformed));
        auto result = receive(bob, alice, with_prekey_message_key(genuine, which, malformed));
        REQUIRE_FALSE(result.ok());
        CHECK(result.error().code == Errc::invalid_message);
        CHECK(bob.store->snapshot() == before);
    }

    CHECK(*receive(bob, alice, genuine) == "first contact");
    CHECK(*has_session(*bob.context, alice.address));
    CHECK(*receive(alice, bob, send(bob, alice, "ack")) == "ack");
}
