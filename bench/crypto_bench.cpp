// B7, client crypto: Signal protocol encrypt+decrypt pairs and session setups, with two
// in-memory ProtocolStores (the crypto alone) and with two SQLCipher AccountStores (what a client
// pays, each encrypt and each decrypt in its own Transaction as the engine does; the engine also
// writes the message row and outbox in that transaction, which B7 leaves out).
//
//   pairs, one way    Alice sends, Bob decrypts: each message is a symmetric chain step.
//   pairs, ping-pong  the sender alternates, so every message starts a Diffie-Hellman ratchet
//                     step: the costly case of a conversation.
//   session setups    process_bundle (X3DH, signed prekey check) + encrypting the first message
//                     + decrypting that prekey message, each with a fresh one-time prekey.
//   sender keys       group messages (issue #4), in memory: Alice encrypts once per message
//                     (the cost is the same whatever the group size), then Bob, one member,
//                     decrypts them in order. Encrypts and decrypts are timed separately.
#include "crypto/keys.h"
#include "crypto/sender_key.h"
#include "crypto/session.h"
#include "protocol/padding.h"
#include "store/account_store.h"
#include "support/json_line.h"
#include "support/memory_store.h"
#include "support/scratch_dir.h"
#include "support/stopwatch.h"
#include "support/workload.h"

#include <algorithm>
#include <iostream>
#include <optional>
#include <vector>

namespace {

using namespace veil;
using namespace veil::bench;
using namespace veil::crypto;

// One account. Members are destroyed in reverse order: the StoreContext before the store, the
// store before the SignalContext.
struct Party {
    std::unique_ptr<SignalContext> signal;
    std::unique_ptr<ProtocolStore> store;
    store::AccountStore* database =
        nullptr; // the store again when it is SQLCipher, for Transactions
    std::unique_ptr<StoreContext> context;
    IdentityKeyPair identity;
    std::uint32_t registration_id = 0;
    std::uint32_t signed_prekey_id = 1;
    Bytes signed_prekey;
    Bytes signed_prekey_signature;
    std::vector<GeneratedPrekey> prekeys; // public halves handed out one per session setup
};

// Runs body inside a Transaction when the party's store is a database, as the engine does.
template <typename Body>
void in_transaction(Party& p, Body&& body) {
    if (p.database == nullptr) {
        body();
        return;
    }
    store::AccountStore::Transaction tx(*p.database);
    need(tx.begun(), "beginning a transaction");
    body();
    need(tx.commit(), "committing a transaction");
}

// The Argon2id cost is not what B7 measures (B8 is), so the databases use the cheapest one.
constexpr store::KdfParams kCheapKdf{1, 8, 1};

Party make_party(const std::optional<std::filesystem::path>& profile, unsigned prekeys) {
    Party p;
    p.signal = need(SignalContext::create(), "creating a signal context");
    auto identity = need(generate_identity(*p.signal), "generating an identity");
    p.identity =
        IdentityKeyPair{identity.key_pair.public_key, identity.key_pair.private_key.clone()};
    p.registration_id = identity.registration_id;
    if (profile) {
        auto db = need(
            store::AccountStore::create(*profile, SecretBytes::from_string("bench"), kCheapKdf),
            "creating an account database");
        need(db->set_identity(identity.key_pair, identity.registration_id), "storing identity");
        p.database = db.get();
        p.store = std::move(db);
    } else {
        p.store = std::make_unique<testing::MemoryStore>(std::move(identity.key_pair),
                                                         identity.registration_id);
    }
    p.context = need(StoreContext::create(*p.signal, *p.store), "creating a store context");

    auto spk =
        need(generate_signed_prekey(*p.signal, p.identity, p.signed_prekey_id, 1'700'000'000'000),
             "generating a signed prekey");
    p.signed_prekey = spk.public_key;
    p.signed_prekey_signature = spk.signature;
    p.prekeys = need(generate_prekeys(*p.signal, 1, prekeys), "generating prekeys");
    in_transaction(p, [&] {
        need(p.store->store_signed_prekey(spk.id, spk.record.view()), "storing a signed prekey");
        for (const auto& k : p.prekeys)
            need(p.store->store_prekey(k.id, k.record.view()), "storing a prekey");
    });
    return p;
}

PrekeyBundle bundle(const Party& p, std::size_t prekey_index) {
    PrekeyBundle b;
    b.registration_id = p.registration_id;
    b.device_id = 1;
    b.identity_key = p.identity.public_key;
    b.signed_prekey_id = p.signed_prekey_id;
    b.signed_prekey = p.signed_prekey;
    b.signed_prekey_signature = p.signed_prekey_signature;
    b.prekey_id = p.prekeys.at(prekey_index).id;
    b.prekey = p.prekeys.at(prekey_index).public_key;
    return b;
}

// A 100-byte chat message, padded the way the engine pads content.
const Bytes& plaintext() {
    static const Bytes padded = protocol::pad(Bytes(100, 'x'));
    return padded;
}

void send(Party& from, Party& to, const ProtocolAddress& to_address,
          const ProtocolAddress& from_address) {
    Ciphertext ct;
    in_transaction(
        from, [&] { ct = need(encrypt(*from.context, to_address, plaintext()), "encrypting"); });
    in_transaction(to, [&] {
        auto plain = need(decrypt(*to.context, from_address, ct), "decrypting");
        if (!std::equal(plain.view().begin(), plain.view().end(), plaintext().begin(),
                        plaintext().end()))
            fail("a decrypted message differs from what was sent");
    });
}

const ProtocolAddress kAlice{"alice", 1};
const ProtocolAddress kBob{"bob", 1};

struct Limits {
    long count = 0;
    double seconds = 0;
};

// Pairs per second between a and b, after a first round trip that confirms the session (until
// then every message carries the prekey header).
double pairs_per_s(Party& alice, Party& bob, bool ping_pong, Limits limits) {
    need(process_bundle(*alice.context, kBob, bundle(bob, 0)), "processing Bob's bundle");
    send(alice, bob, kBob, kAlice);
    send(bob, alice, kAlice, kBob);

    long done = 0;
    Stopwatch clock;
    while (done < limits.count && clock.seconds() < limits.seconds) {
        if (ping_pong && done % 2 == 1)
            send(bob, alice, kAlice, kBob);
        else
            send(alice, bob, kBob, kAlice);
        ++done;
    }
    return static_cast<double>(done) / clock.seconds();
}

// Session setups per second: Alice builds a session to a new address from a bundle with a fresh
// one-time prekey of Bob's, sends, and Bob decrypts the prekey message from a new sender.
double setups_per_s(Party& alice, Party& bob, Limits limits) {
    long done = 0;
    const long available = static_cast<long>(bob.prekeys.size());
    Stopwatch clock;
    while (done < std::min(limits.count, available) && clock.seconds() < limits.seconds) {
        const std::string n = std::to_string(done);
        const ProtocolAddress to{"bob-" + n, 1};
        const ProtocolAddress from{"alice-" + n, 1};
        in_transaction(alice, [&] {
            need(process_bundle(*alice.context, to, bundle(bob, static_cast<std::size_t>(done))),
                 "processing a bundle");
        });
        send(alice, bob, to, from);
        ++done;
    }
    return static_cast<double>(done) / clock.seconds();
}

struct Figures {
    double one_way = 0;
    double ping_pong = 0;
    double setups = 0;
};

// Fresh parties for each measurement, so that one does not inherit the other's sessions.
Figures measure(const std::optional<std::filesystem::path>& dir, Limits pairs, Limits setups) {
    auto profile = [&](const std::string& name) -> std::optional<std::filesystem::path> {
        if (!dir)
            return std::nullopt;
        return *dir / name;
    };
    Figures f;
    {
        Party alice = make_party(profile("one-way-alice"), 1);
        Party bob = make_party(profile("one-way-bob"), 1);
        f.one_way = pairs_per_s(alice, bob, false, pairs);
    }
    {
        Party alice = make_party(profile("ping-pong-alice"), 1);
        Party bob = make_party(profile("ping-pong-bob"), 1);
        f.ping_pong = pairs_per_s(alice, bob, true, pairs);
    }
    {
        Party alice = make_party(profile("setup-alice"), 1);
        Party bob = make_party(profile("setup-bob"), static_cast<unsigned>(setups.count));
        f.setups = setups_per_s(alice, bob, setups);
    }
    return f;
}

struct SenderKeyFigures {
    double encrypt = 0;
    double decrypt = 0;
};

SenderKeyFigures sender_key_per_s(Limits limits) {
    Party alice = make_party(std::nullopt, 1);
    Party bob = make_party(std::nullopt, 1);
    const SenderKeyName alice_in_group{Bytes(16, 0x42), kAlice};
    auto distribution =
        need(create_distribution_message(*alice.context, alice_in_group), "creating a sender key");
    need(process_distribution_message(*bob.context, alice_in_group, distribution.view()),
         "processing a sender key distribution message");

    std::vector<Bytes> sent;
    sent.reserve(static_cast<std::size_t>(limits.count));
    Stopwatch encrypt_clock;
    while (static_cast<long>(sent.size()) < limits.count &&
           encrypt_clock.seconds() < limits.seconds)
        sent.push_back(
            need(group_encrypt(*alice.context, alice_in_group, plaintext()), "group encrypting"));
    const double encrypt_seconds = encrypt_clock.seconds();

    std::size_t decrypted = 0;
    Stopwatch decrypt_clock;
    for (const Bytes& ct : sent) {
        if (decrypt_clock.seconds() >= limits.seconds)
            break;
        auto plain = need(group_decrypt(*bob.context, alice_in_group, ct), "group decrypting");
        if (!std::equal(plain.view().begin(), plain.view().end(), plaintext().begin(),
                        plaintext().end()))
            fail("a decrypted group message differs from what was sent");
        ++decrypted;
    }
    const double decrypt_seconds = decrypt_clock.seconds();
    return SenderKeyFigures{static_cast<double>(sent.size()) / encrypt_seconds,
                            static_cast<double>(decrypted) / decrypt_seconds};
}

} // namespace

int main() {
    quiet_logs();
    const double seconds = static_cast<double>(env_count("VEIL_BENCH_B7_SECONDS", 3));
    const Limits memory_pairs{env_count("VEIL_BENCH_B7_PAIRS", 100'000), seconds};
    const Limits database_pairs{env_count("VEIL_BENCH_B7_DB_PAIRS", 20'000), seconds};
    const Limits setups{env_count("VEIL_BENCH_B7_SETUPS", 1'500), seconds};
    const Limits group_messages{env_count("VEIL_BENCH_B7_GROUP_MESSAGES", 100'000), seconds};

    Figures memory = measure(std::nullopt, memory_pairs, setups);
    note("B7 memory: " + std::to_string(memory.one_way) + " pairs/s one way, " +
         std::to_string(memory.ping_pong) + " ping-pong, " + std::to_string(memory.setups) +
         " setups/s");
    ScratchDir scratch("veil-bench-b7");
    Figures database = measure(scratch.path(), database_pairs, setups);
    note("B7 SQLCipher: " + std::to_string(database.one_way) + " pairs/s one way, " +
         std::to_string(database.ping_pong) + " ping-pong, " + std::to_string(database.setups) +
         " setups/s");
    SenderKeyFigures sender_keys = sender_key_per_s(group_messages);
    note("B7 sender keys: " + std::to_string(sender_keys.encrypt) + " encrypts/s, " +
         std::to_string(sender_keys.decrypt) + " decrypts/s");

    JsonLine line("B7");
    line.number("pairs_per_s_memory", memory.one_way)
        .number("pairs_per_s_memory_pingpong", memory.ping_pong)
        .number("pairs_per_s_sqlcipher", database.one_way)
        .number("pairs_per_s_sqlcipher_pingpong", database.ping_pong)
        .number("session_setups_per_s", memory.setups)
        .number("session_setups_per_s_sqlcipher", database.setups)
        .number("sender_key_encrypt_per_s", sender_keys.encrypt)
        .number("sender_key_decrypt_per_s", sender_keys.decrypt);
    std::cout << line.str() << std::endl;
    return 0;
}
