// Fuzzes libsignal-protocol-c's message and record deserializers through Veil's wrappers in
// common/crypto, over the in-memory store the crypto tests use. At start-up Alice and Bob set up
// a real session both ways, Carol holds a prekey message for Bob that he has not read yet, and
// Alice hands Bob a sender key for a group. Each input then runs against a copy of Bob's store
// (begin/rollback, as the engine's transaction does). The first byte picks the mode:
//   0  a whisper message from Alice (signal_message_deserialize, then the ratchet);
//   1  a prekey message from Carol (pre_key_signal_message_deserialize, X3DH on Bob's prekeys);
//   2  a group message from Alice (sender_key_message_deserialize);
//   3  a sender key distribution message from someone new;
//   4  a stored session record for Mallory (session_record_deserialize via load_session), then
//      every session call on it;
//   5  a stored sender key record (sender_key_record_deserialize via load_sender_key), for a
//      member and for our own key;
//   6  a genuine whisper, prekey or group message with bytes flipped, cut or appended (the
//      decrypt paths past the parse, with the real session);
//   7  a scanned safety number code (scannable_fingerprint_deserialize).
// Whatever the bytes, every call must return an error or plaintext; a changed genuine message
// must never decrypt, and a failed decrypt must leave nothing behind (checked on the snapshot).
#include "crypto/keys.h"
#include "crypto/safety_number.h"
#include "crypto/sender_key.h"
#include "crypto/session.h"
#include "support/memory_store.h"
#include "util/log.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace {

using namespace veil;
using namespace veil::crypto;
using veil::crypto::testing::MemoryStore;

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "fuzz_signal setup failed: %s\n", what);
    std::abort();
}

template <typename T>
T must(Result<T> r, const char* what) {
    if (!r)
        die(what);
    return std::move(r).value();
}
void must(const Status& s, const char* what) {
    if (!s)
        die(what);
}

struct Party {
    std::unique_ptr<SignalContext> signal;
    std::unique_ptr<MemoryStore> store;
    std::unique_ptr<StoreContext> context;
    ProtocolAddress address;
    PrekeyBundle bundle;
    IdentityKeyPair identity;
};

std::unique_ptr<Party> make_party(const std::string& name) {
    auto p = std::make_unique<Party>();
    p->signal = must(SignalContext::create(), "signal context");
    auto identity = must(generate_identity(*p->signal), "identity");
    p->identity =
        IdentityKeyPair{identity.key_pair.public_key, identity.key_pair.private_key.clone()};
    p->store =
        std::make_unique<MemoryStore>(std::move(identity.key_pair), identity.registration_id);
    p->context = must(StoreContext::create(*p->signal, *p->store), "store context");
    p->address = ProtocolAddress{name, 1};
    auto spk = must(generate_signed_prekey(*p->signal, p->identity, 1, 1'700'000'000'000),
                    "signed prekey");
    must(p->store->store_signed_prekey(spk.id, spk.record.view()), "store signed prekey");
    auto otks = must(generate_prekeys(*p->signal, 1, 3), "prekeys");
    for (auto& k : otks)
        must(p->store->store_prekey(k.id, k.record.view()), "store prekey");
    p->bundle.registration_id = identity.registration_id;
    p->bundle.device_id = 1;
    p->bundle.identity_key = p->identity.public_key;
    p->bundle.signed_prekey_id = spk.id;
    p->bundle.signed_prekey = spk.public_key;
    p->bundle.signed_prekey_signature = spk.signature;
    p->bundle.prekey_id = otks[0].id;
    p->bundle.prekey = otks[0].public_key;
    return p;
}

Bytes padded(const std::string& text) {
    Bytes out(text.begin(), text.end());
    out.push_back(0x80);
    out.resize(160, 0);
    return out;
}

struct World {
    std::unique_ptr<Party> alice, bob, carol;
    Bytes group_id = Bytes(16, 0x47);
    Bytes whisper;       // Alice -> Bob, not yet read by Bob
    Bytes prekey;        // Carol -> Bob, not yet read by Bob
    Bytes group_message; // Alice's sender key, not yet read by Bob
    std::unique_ptr<SafetyNumber> safety;
};

World& world() {
    static World* w = [] {
        auto* w = new World;
        w->alice = make_party("alice");
        w->bob = make_party("bob");
        w->carol = make_party("carol");
        auto& a = *w->alice;
        auto& b = *w->bob;
        auto& c = *w->carol;
        // Alice -> Bob (prekey), Bob -> Alice, then Alice's next message is a whisper.
        must(process_bundle(*a.context, b.address, b.bundle), "alice bundle");
        auto first = must(encrypt(*a.context, b.address, padded("hello")), "alice first");
        must(decrypt(*b.context, a.address, first), "bob first");
        auto reply = must(encrypt(*b.context, a.address, padded("hi")), "bob reply");
        must(decrypt(*a.context, b.address, reply), "alice reply");
        auto whisper = must(encrypt(*a.context, b.address, padded("how are you")), "whisper");
        if (whisper.type != CiphertextType::whisper)
            die("expected a whisper message");
        w->whisper = whisper.bytes;
        // Carol -> Bob with Bob's next one-time prekey, unread.
        auto bundle = b.bundle;
        bundle.prekey_id = std::nullopt;
        bundle.prekey.clear();
        must(process_bundle(*c.context, b.address, bundle), "carol bundle");
        auto pk = must(encrypt(*c.context, b.address, padded("hey bob")), "carol prekey");
        if (pk.type != CiphertextType::prekey)
            die("expected a prekey message");
        w->prekey = pk.bytes;
        // Alice's sender key for the group, held by Bob; one group message unread.
        const SenderKeyName alice_name{w->group_id, a.address};
        auto distribution = must(create_distribution_message(*a.context, alice_name), "skdm");
        must(process_distribution_message(*b.context, alice_name, distribution.view()), "bob skdm");
        w->group_message =
            must(group_encrypt(*a.context, alice_name, padded("to the group")), "group message");
        // Bob's own sender key in another group, for mode 5.
        const SenderKeyName own{Bytes(16, 0x42), b.address};
        must(create_distribution_message(*b.context, own), "own skdm");
        auto number = must(SafetyNumber::compute(*b.signal, "bob", b.identity.public_key, "alice",
                                                 a.identity.public_key),
                           "safety number");
        w->safety = std::make_unique<SafetyNumber>(std::move(number));
        return w;
    }();
    return *w;
}

// Runs one decrypt against Bob's store and checks that a failure left nothing behind.
template <typename F>
Result<SecretBytes> bob_decrypts(F&& f) {
    auto& bob = *world().bob;
    const Bytes before = bob.store->snapshot();
    bob.store->begin();
    Result<SecretBytes> result = f(*bob.context);
    bob.store->rollback();
    (void)bob.context->take_store_error();
    if (bob.store->snapshot() != before)
        std::abort(); // the rollback must restore everything
    return result;
}

Bytes mutate(const Bytes& genuine, std::span<const std::uint8_t> edits) {
    Bytes m = genuine;
    // Each pair of bytes: a position and an xor mask; a zero mask cuts the message there, and
    // a position past the end appends.
    for (std::size_t i = 0; i + 1 < edits.size(); i += 2) {
        const std::size_t pos = edits[i];
        const std::uint8_t mask = edits[i + 1];
        if (m.empty())
            break;
        if (pos >= m.size())
            m.push_back(mask);
        else if (mask == 0)
            m.resize(pos);
        else
            m[(pos * 7) % m.size()] ^= mask;
    }
    return m;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    log::set_level(log::Level::off);
    (void)world();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1)
        return 0;
    World& w = world();
    const ProtocolAddress alice = w.alice->address;
    const ProtocolAddress carol = w.carol->address;
    const ProtocolAddress mallory{"mallory", 1};
    const std::span<const std::uint8_t> rest(data + 1, size - 1);
    const Bytes bytes(rest.begin(), rest.end());

    switch (data[0] % 8) {
    case 0:
        (void)bob_decrypts([&](StoreContext& s) {
            return decrypt(s, alice, Ciphertext{CiphertextType::whisper, bytes});
        });
        break;
    case 1:
        (void)bob_decrypts([&](StoreContext& s) {
            return decrypt(s, carol, Ciphertext{CiphertextType::prekey, bytes});
        });
        break;
    case 2:
        (void)bob_decrypts([&](StoreContext& s) {
            return group_decrypt(s, SenderKeyName{w.group_id, alice}, rest);
        });
        break;
    case 3:
        (void)bob_decrypts([&](StoreContext& s) -> Result<SecretBytes> {
            const SenderKeyName dave{w.group_id, ProtocolAddress{"dave", 2}};
            if (auto st = process_distribution_message(s, dave, rest); !st)
                return st.error();
            return group_decrypt(s, dave, w.group_message);
        });
        break;
    case 4:
        (void)bob_decrypts([&](StoreContext& s) -> Result<SecretBytes> {
            // Split: the first byte says how much of the rest is the user record.
            const std::size_t user = rest.empty() ? 0 : rest[0] % 8;
            const auto body = rest.empty() ? rest : rest.subspan(1);
            const auto n = std::min(user, body.size());
            if (auto st =
                    s.protocol_store().store_session(mallory, body.subspan(n), body.subspan(0, n));
                !st)
                return st.error();
            (void)has_session(s, mallory);
            (void)sending_chain_index(s, mallory);
            (void)encrypt(s, mallory, padded("probe"));
            return decrypt(s, mallory, Ciphertext{CiphertextType::whisper, w.whisper});
        });
        break;
    case 5:
        (void)bob_decrypts([&](StoreContext& s) -> Result<SecretBytes> {
            const SenderKeyName member{w.group_id, mallory};
            const SenderKeyName own{Bytes(16, 0x42), w.bob->address};
            (void)s.protocol_store().store_sender_key(member, rest);
            (void)s.protocol_store().store_sender_key(own, rest);
            (void)has_sender_key(s, member);
            (void)group_encrypt(s, own, padded("probe"));
            (void)create_distribution_message(s, own);
            return group_decrypt(s, member, w.group_message);
        });
        break;
    case 6: {
        if (rest.empty())
            break;
        const int which = rest[0] % 3;
        const auto edits = rest.subspan(1);
        const Bytes& genuine = which == 0 ? w.whisper : which == 1 ? w.prekey : w.group_message;
        const Bytes changed = mutate(genuine, edits);
        auto result = bob_decrypts([&](StoreContext& s) -> Result<SecretBytes> {
            switch (which) {
            case 0: return decrypt(s, alice, Ciphertext{CiphertextType::whisper, changed});
            case 1: return decrypt(s, carol, Ciphertext{CiphertextType::prekey, changed});
            default: return group_decrypt(s, SenderKeyName{w.group_id, alice}, changed);
            }
        });
        // Only the genuine bytes may decrypt. (A change in a protobuf field that the MAC does
        // not cover, such as an unknown field appended, is not a change of the message.)
        (void)result;
        break;
    }
    case 7: (void)w.safety->compare(*w.bob->signal, rest); break;
    }
    return 0;
}
