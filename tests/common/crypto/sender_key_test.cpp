// Sender keys (group messages) with real libsignal over in-memory stores. The distribution
// messages are handed over directly except in one test that carries them through a pairwise
// session, as the engine will.
#include "crypto/keys.h"
#include "crypto/sender_key.h"
#include "crypto/session.h"
#include "log_capture.h"
#include "protocol/limits.h"
#include "protocol/padding.h"
#include "support/memory_store.h"
#include "util/hex.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace veil;
using namespace veil::crypto;
using veil::crypto::testing::MemoryStore;

namespace {

static_assert(kMaxSenderKeyMessageBytes == protocol::kMaxCiphertextBytes,
              "a group message must fit the wire's ciphertext limit");

const Bytes kGroup = to_bytes("group-0123456789abcdef");

// One member device. Members are destroyed in reverse order, so the StoreContext goes before
// the store and the SignalContext.
struct Member {
    std::unique_ptr<SignalContext> signal;
    std::unique_ptr<MemoryStore> store;
    std::unique_ptr<StoreContext> context;
    ProtocolAddress address;

    SenderKeyName in(const Bytes& group) const { return SenderKeyName{group, address}; }
    SenderKeyName own() const { return in(kGroup); }
};

Member make_member(const std::string& name) {
    Member m;
    auto signal = SignalContext::create();
    REQUIRE(signal.ok());
    m.signal = std::move(signal).value();
    auto identity = generate_identity(*m.signal);
    REQUIRE(identity.ok());
    m.store =
        std::make_unique<MemoryStore>(std::move(identity->key_pair), identity->registration_id);
    auto context = StoreContext::create(*m.signal, *m.store);
    REQUIRE(context.ok());
    m.context = std::move(context).value();
    m.address = ProtocolAddress{name, 1};
    return m;
}

SecretBytes distribution(Member& sender, const Bytes& group = kGroup) {
    auto message = create_distribution_message(*sender.context, sender.in(group));
    INFO((message ? std::string() : message.error().message));
    REQUIRE(message.ok());
    return std::move(message).value();
}

// Hands sender's current distribution message to each receiver.
void distribute(Member& sender, std::vector<Member*> receivers, const Bytes& group = kGroup) {
    SecretBytes message = distribution(sender, group);
    for (Member* receiver : receivers) {
        auto st =
            process_distribution_message(*receiver->context, sender.in(group), message.view());
        INFO((st ? std::string() : st.error().message));
        REQUIRE(st.ok());
    }
}

Bytes send(Member& from, const std::string& text, const Bytes& group = kGroup) {
    auto ct = group_encrypt(*from.context, from.in(group), protocol::pad(to_bytes(text)));
    INFO((ct ? std::string() : ct.error().message));
    REQUIRE(ct.ok());
    return std::move(ct).value();
}

// Decrypts and unpads; the plaintext leaves SecretBytes only inside the test.
Result<std::string> receive(Member& to, const Member& from, const Bytes& ct,
                            const Bytes& group = kGroup) {
    auto padded = group_decrypt(*to.context, from.in(group), ct);
    if (!padded)
        return padded.error();
    auto content = protocol::unpad(padded->view());
    if (!content)
        return content.error();
    return to_string(*content);
}

Errc receive_error(Member& to, const Member& from, const Bytes& ct, const Bytes& group = kGroup) {
    auto result = group_decrypt(*to.context, from.in(group), ct);
    REQUIRE_FALSE(result.ok());
    return result.error().code;
}

Bytes prefix(std::span<const std::uint8_t> bytes, std::size_t n) {
    return Bytes(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
}

} // namespace

TEST_CASE("two members: a group message encrypted once decrypts for the other member") {
    Member alice = make_member("alice");
    Member bob = make_member("bob");
    distribute(alice, {&bob});
    CHECK(*has_sender_key(*alice.context, alice.own()));
    CHECK(*has_sender_key(*bob.context, alice.own()));

    for (int i = 0; i < 5; ++i) {
        auto text = "hello group " + std::to_string(i);
        CHECK(*receive(bob, alice, send(alice, text)) == text);
    }
}

TEST_CASE("three members: one ciphertext decrypts for every member and each sends with its own "
          "key") {
    Member alice = make_member("alice");
    Member bob = make_member("bob");
    Member carol = make_member("carol");
    distribute(alice, {&bob, &carol});
    distribute(bob, {&alice, &carol});
    distribute(carol, {&alice, &bob});

    Bytes from_alice = send(alice, "from alice");
    CHECK(*receive(bob, alice, from_alice) == "from alice");
    CHECK(*receive(carol, alice, from_alice) == "from alice");

    Bytes from_bob = send(bob, "from bob");
    CHECK(*receive(alice, bob, from_bob) == "from bob");
    CHECK(*receive(carol, bob, from_bob) == "from bob");

    Bytes from_carol = send(carol, "from carol");
    CHECK(*receive(alice, carol, from_carol) == "from carol");
    CHECK(*receive(bob, carol, from_carol) == "from carol");

    // A message is bound to its sender's key: under another sender's name it does not decrypt.
    CHECK(receive_error(carol, bob, from_alice) == Errc::no_session);
}

TEST_CASE("a distribution message carried inside a pairwise session sets up the group") {
    Member alice = make_member("alice");
    Member bob = make_member("bob");

    auto spk = generate_signed_prekey(*bob.signal, *bob.store->identity_key_pair(), 1, 1);
    REQUIRE(spk.ok());
    REQUIRE(bob.store->store_signed_prekey(spk->id, spk->record.view()).ok());
    PrekeyBundle bundle;
    bundle.registration_id = *bob.store->local_registration_id();
    bundle.identity_key = bob.store->identity_key_pair()->public_key;
    bundle.signed_prekey_id = spk->id;
    bundle.signed_prekey = spk->public_key;
    bundle.signed_prekey_signature = spk->signature;
    REQUIRE(process_bundle(*alice.context, bob.address, bundle).ok());

    SecretBytes skdm = distribution(alice);
    auto carried = encrypt(*alice.context, bob.address, protocol::pad(skdm.view()));
    REQUIRE(carried.ok());
    auto padded = decrypt(*bob.context, alice.address, *carried);
    REQUIRE(padded.ok());
    auto received = protocol::unpad(padded->view());
    REQUIRE(received.ok());
    REQUIRE(process_distribution_message(*bob.context, alice.own(), *received).ok());

    CHECK(*receive(bob, alice, send(alice, "over sender keys")) == "over sender keys");
}

TEST_CASE("a member who never got the distribution message cannot decrypt and is told so") {
    Member alice = make_member("alice");
    Member bob = make_member("bob");
    Member dave = make_member("dave");
    distribute(alice, {&bob});
    Bytes ct = send(alice, "members only");
    CHECK(*receive(bob, alice, ct) == "members only");

    Bytes before = dave.store->snapshot();
    auto result = group_decrypt(*dave.context, alice.own(), ct);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().code == Errc::no_session);
    CHECK(result.error().message.find("no sender key") != std::string::npos);
    CHECK_FALSE(*has_sender_key(*dave.context, alice.own()));
    CHECK(dave.store->snapshot() == before);
}

TEST_CASE("after a rotation the removed member cannot decrypt new messages even holding the "
          "ciphertext") {
    Member alice = make_member("alice");
    Member bob = make_member("bob");
    Member carol = make_member("carol");
    distribute(alice, {&bob, &carol});
    distribute(carol, {&alice, &bob});
    SecretBytes old_key = distribution(alice);

    Bytes before_removal = send(alice, "carol can read this");
    CHECK(*receive(carol, alice, before_removal) == "carol can read this");
    Bytes late = send(alice, "sent before the rotation, delivered after");

    // Carol is removed: Alice starts a new sender key and gives it to Bob only; both forget
    // Carol's key.
    REQUIRE(drop_sender_key(*alice.context, alice.own()).ok());
    CHECK_FALSE(*has_sender_key(*alice.context, alice.own()));
    SecretBytes new_key = distribution(alice);
    CHECK(to_hex(new_key.view()) != to_hex(old_key.view()));
    REQUIRE(process_distribution_message(*bob.context, alice.own(), new_key.view()).ok());
    REQUIRE(drop_sender_key(*alice.context, carol.own()).ok());
    REQUIRE(drop_sender_key(*bob.context, carol.own()).ok());

    Bytes after_removal = send(alice, "carol must not read this");
    CHECK(*receive(bob, alice, after_removal) == "carol must not read this");

    Bytes carol_before = carol.store->snapshot();
    auto result = group_decrypt(*carol.context, alice.own(), after_removal);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().code == Errc::no_session);
    CHECK(result.error().message.find("key id") != std::string::npos);
    CHECK(carol.store->snapshot() == carol_before);

    // Bob still holds the old key next to the new one, so a message sent just before the
    // rotation still decrypts for him.
    CHECK(*receive(bob, alice, late) == "sent before the rotation, delivered after");

    // Carol's messages are no longer accepted by the remaining members.
    Bytes from_carol = send(carol, "still here?");
    CHECK(receive_error(alice, carol, from_carol) == Errc::no_session);
    CHECK(receive_error(bob, carol, from_carol) == Errc::no_session);
}

TEST_CASE("a replayed group message is rejected as a duplicate and changes nothing") {
    Member alice = make_member("alice");
    Member bob = make_member("bob");
    distribute(alice, {&bob});
    Bytes ct = send(alice, "only once");
    CHECK(*receive(bob, alice, ct) == "only once");
    Bytes before = bob.store->snapshot();
    CHECK(receive_error(bob, alice, ct) == Errc::duplicate_message);
    CHECK(bob.store->snapshot() == before);
}

TEST_CASE("group messages delivered out of order all decrypt once") {
    Member alice = make_member("alice");
    Member bob = make_member("bob");
    distribute(alice, {&bob});
    Bytes m0 = send(alice, "zero");
    Bytes m1 = send(alice, "one");
    Bytes m2 = send(alice, "two");
    CHECK(*receive(bob, alice, m2) == "two");
    CHECK(*receive(bob, alice, m0) == "zero");
    CHECK(*receive(bob, alice, m1) == "one");
    CHECK(receive_error(bob, alice, m1) == Errc::duplicate_message);
}

// libsignal-protocol-c refuses a sender key message more than 2000 iterations ahead of the
// receiving chain ("Over 2000 messages into the future!").
TEST_CASE("a group message more than 2000 ahead of the chain is rejected and one 2000 ahead "
          "decrypts") {
    Member alice = make_member("alice");
    Member bob = make_member("bob");
    distribute(alice, {&bob});
    std::vector<Bytes> sent;
    sent.reserve(2002);
    for (int i = 0; i <= 2001; ++i)
        sent.push_back(send(alice, "m"));

    Bytes before = bob.store->snapshot();
    CHECK(receive_error(bob, alice, sent[2001]) == Errc::invalid_message);
    CHECK(bob.store->snapshot() == before);
    CHECK(receive(bob, alice, sent[2000]).ok());
    CHECK(receive(bob, alice, sent[2001]).ok());
    CHECK(receive(bob, alice, sent[0]).ok());
}

TEST_CASE("a tampered group message is rejected as invalid and leaves the store unchanged") {
    Member alice = make_member("alice");
    Member bob = make_member("bob");
    distribute(alice, {&bob});
    Bytes genuine = send(alice, "the real message");
    Bytes before = bob.store->snapshot();

    // The message is a version byte, a protobuf (key id, iteration, ciphertext) and a 64-byte
    // signature over both; a flipped bit anywhere after the version byte must be caught.
    for (std::size_t at = 1; at < genuine.size(); ++at) {
        Bytes tampered = genuine;
        tampered[at] ^= 0x01;
        auto result = group_decrypt(*bob.context, alice.own(), tampered);
        REQUIRE_FALSE(result.ok());
        // Flipping a bit of the key id names a key Bob does not hold.
        INFO("byte " << at << ": " << result.error().message);
        CHECK((result.error().code == Errc::invalid_message ||
               result.error().code == Errc::no_session));
    }
    CHECK(bob.store->snapshot() == before);
    CHECK(*receive(bob, alice, genuine) == "the real message");
}

TEST_CASE("garbage, empty, truncated and oversized group messages give clear errors") {
    Member alice = make_member("alice");
    Member bob = make_member("bob");
    distribute(alice, {&bob});
    Bytes genuine = send(alice, "hello");
    Bytes before = bob.store->snapshot();

    for (std::size_t n = 0; n < genuine.size(); ++n) {
        INFO("prefix of " << n << " bytes");
        CHECK(receive_error(bob, alice, prefix(genuine, n)) == Errc::invalid_message);
    }
    for (const Bytes& garbage : {Bytes{0x33}, Bytes{0x33, 0x08}, to_bytes("not a group message"),
                                 Bytes(200, 0x00), Bytes(200, 0xff)}) {
        CHECK(receive_error(bob, alice, garbage) == Errc::invalid_message);
    }
    Bytes wrong_version = genuine;
    wrong_version[0] = 0x22;
    CHECK(receive_error(bob, alice, wrong_version) == Errc::invalid_message);
    CHECK(receive_error(bob, alice, Bytes(kMaxSenderKeyMessageBytes + 1, 0x33)) == Errc::too_large);

    CHECK(bob.store->snapshot() == before);
    CHECK(*receive(bob, alice, genuine) == "hello");
}

TEST_CASE("garbage, empty, truncated and oversized distribution messages give clear errors") {
    Member alice = make_member("alice");
    Member bob = make_member("bob");
    SecretBytes genuine = distribution(alice);
    Bytes before = bob.store->snapshot();

    auto refused = [&](std::span<const std::uint8_t> bytes) {
        auto st = process_distribution_message(*bob.context, alice.own(), bytes);
        REQUIRE_FALSE(st.ok());
        return st.error().code;
    };
    for (std::size_t n = 0; n < genuine.size(); ++n) {
        INFO("prefix of " << n << " bytes");
        CHECK(refused(prefix(genuine.view(), n)) == Errc::invalid_message);
    }
    for (const Bytes& garbage :
         {Bytes{0x33}, to_bytes("not a distribution message"), Bytes(90, 0x00), Bytes(90, 0xff)}) {
        CHECK(refused(garbage) == Errc::invalid_message);
    }
    Bytes wrong_version(genuine.view().begin(), genuine.view().end());
    wrong_version[0] = 0x22;
    CHECK(refused(wrong_version) == Errc::invalid_message);
    CHECK(refused(Bytes(kMaxDistributionMessageBytes + 1, 0x33)) == Errc::too_large);
    CHECK(bob.store->snapshot() == before);
    CHECK_FALSE(*has_sender_key(*bob.context, alice.own()));

    REQUIRE(process_distribution_message(*bob.context, alice.own(), genuine.view()).ok());
    CHECK(*receive(bob, alice, send(alice, "after the garbage")) == "after the garbage");
}

TEST_CASE("a distribution message with a chain key of the wrong length is refused") {
    Member alice = make_member("alice");
    Member bob = make_member("bob");
    SecretBytes genuine = distribution(alice);
    // After the version byte: field 1 (key id) and field 2 (iteration) as varints, then field 3
    // (the chain key): tag 0x1a, a one-byte length 0x20 and 32 bytes. Shortening the chain key
    // by one byte keeps the protobuf well formed.
    Bytes bytes(genuine.view().begin(), genuine.view().end());
    std::size_t at = 1;
    for (std::uint8_t tag : {std::uint8_t{0x08}, std::uint8_t{0x10}}) {
        REQUIRE(bytes.at(at) == tag);
        ++at;
        while (bytes.at(at) & 0x80)
            ++at;
        ++at;
    }
    REQUIRE(bytes.at(at) == 0x1a);
    REQUIRE(bytes.at(at + 1) == 0x20);
    bytes[at + 1] = 0x1f;
    bytes.erase(bytes.begin() + static_cast<std::ptrdiff_t>(at + 2));

    auto st = process_distribution_message(*bob.context, alice.own(), bytes);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().code == Errc::invalid_message);
    CHECK_FALSE(*has_sender_key(*bob.context, alice.own()));
}

TEST_CASE("a distribution message for a key already held changes nothing and cannot rewind the "
          "chain") {
    Member alice = make_member("alice");
    Member bob = make_member("bob");
    SecretBytes first = distribution(alice);
    REQUIRE(process_distribution_message(*bob.context, alice.own(), first.view()).ok());
    Bytes m0 = send(alice, "zero");
    CHECK(*receive(bob, alice, m0) == "zero");

    Bytes before = bob.store->snapshot();
    REQUIRE(process_distribution_message(*bob.context, alice.own(), first.view()).ok());
    CHECK(bob.store->snapshot() == before);
    CHECK(receive_error(bob, alice, m0) == Errc::duplicate_message);

    // Asking again gives the same key at its current position, not a new key.
    SecretBytes again = distribution(alice);
    REQUIRE(process_distribution_message(*bob.context, alice.own(), again.view()).ok());
    CHECK(bob.store->snapshot() == before);
    CHECK(*receive(bob, alice, send(alice, "one")) == "one");
}

TEST_CASE("a member added later cannot read what was sent before it got the key") {
    Member alice = make_member("alice");
    Member bob = make_member("bob");
    Member erin = make_member("erin");
    distribute(alice, {&bob});
    Bytes earlier = send(alice, "before erin joined");
    distribute(alice, {&erin});
    Bytes later = send(alice, "after erin joined");

    CHECK(receive_error(erin, alice, earlier) == Errc::duplicate_message);
    CHECK(*receive(erin, alice, later) == "after erin joined");
    CHECK(*receive(bob, alice, earlier) == "before erin joined");
    CHECK(*receive(bob, alice, later) == "after erin joined");
}

TEST_CASE("sender keys are separate per group") {
    Member alice = make_member("alice");
    Member bob = make_member("bob");
    const Bytes other = to_bytes("another group");
    distribute(alice, {&bob});
    distribute(alice, {&bob}, other);

    Bytes ct = send(alice, "for the first group");
    CHECK(receive_error(bob, alice, ct, other) == Errc::no_session);
    CHECK(*receive(bob, alice, ct) == "for the first group");

    REQUIRE(drop_sender_key(*bob.context, alice.in(other)).ok());
    CHECK(*has_sender_key(*bob.context, alice.own()));
    CHECK_FALSE(*has_sender_key(*bob.context, alice.in(other)));
}

TEST_CASE("encrypting without a sender key of our own is reported as no session") {
    Member alice = make_member("alice");
    auto result = group_encrypt(*alice.context, alice.own(), protocol::pad(to_bytes("hi")));
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().code == Errc::no_session);
    CHECK_FALSE(*has_sender_key(*alice.context, alice.own()));
}

TEST_CASE("a received sender key never takes the place of our own") {
    Member alice = make_member("alice");
    Member mallory = make_member("mallory");
    SecretBytes foreign = distribution(mallory);

    SECTION("a distribution message under our own name is refused once we have a key") {
        distribution(alice);
        Bytes before = alice.store->snapshot();
        auto st = process_distribution_message(*alice.context, alice.own(), foreign.view());
        REQUIRE_FALSE(st.ok());
        CHECK(st.error().code == Errc::invalid_argument);
        CHECK(alice.store->snapshot() == before);
    }

    SECTION("a received key stored under our name is not handed out or used as ours") {
        REQUIRE(process_distribution_message(*alice.context, alice.own(), foreign.view()).ok());
        auto created = create_distribution_message(*alice.context, alice.own());
        REQUIRE_FALSE(created.ok());
        CHECK(created.error().code == Errc::invalid_argument);
        auto sent = group_encrypt(*alice.context, alice.own(), protocol::pad(to_bytes("hi")));
        REQUIRE_FALSE(sent.ok());
        CHECK(sent.error().code == Errc::crypto);
    }
}

TEST_CASE("malformed sender key names are refused as invalid arguments") {
    Member alice = make_member("alice");
    SenderKeyName bad = alice.own();
    SECTION("empty group id") {
        bad.group_id.clear();
    }
    SECTION("group id over the limit") {
        bad.group_id = Bytes(kMaxGroupIdBytes + 1, 0x41);
    }
    SECTION("no sender name") {
        bad.sender.name.clear();
    }
    auto padded = protocol::pad(to_bytes("x"));
    CHECK(create_distribution_message(*alice.context, bad).error().code == Errc::invalid_argument);
    CHECK(process_distribution_message(*alice.context, bad, Bytes(10, 1)).error().code ==
          Errc::invalid_argument);
    CHECK(has_sender_key(*alice.context, bad).error().code == Errc::invalid_argument);
    CHECK(group_encrypt(*alice.context, bad, padded).error().code == Errc::invalid_argument);
    CHECK(group_decrypt(*alice.context, bad, Bytes(10, 1)).error().code == Errc::invalid_argument);
    CHECK(drop_sender_key(*alice.context, bad).error().code == Errc::invalid_argument);
}

TEST_CASE("a binary group id of the largest size works and libsignal logs stay at debug") {
    Member alice = make_member("alice");
    Member bob = make_member("bob");
    const Bytes group(kMaxGroupIdBytes, 0xff);
    testing::LogCapture log;
    distribute(alice, {&bob}, group);
    Bytes ct = send(alice, "binary id", group);
    // Dave has no key: libsignal logs the sender key name, group id included, that it could not
    // find.
    Member dave = make_member("dave");
    CHECK(receive_error(dave, alice, ct, group) == Errc::no_session);
    CHECK(log.contains("No sender key for"));
    CHECK(*receive(bob, alice, ct, group) == "binary id");
    for (const auto& line : log.lines()) {
        if (line.message.rfind("libsignal: ", 0) == 0)
            CHECK(line.level == log::Level::debug);
    }
}

TEST_CASE("the largest group plaintext fits the wire limit and a larger one is refused") {
    Member alice = make_member("alice");
    Member bob = make_member("bob");
    distribute(alice, {&bob});
    Bytes largest(kMaxGroupPlaintextBytes, 0x61);
    auto ct = group_encrypt(*alice.context, alice.own(), largest);
    REQUIRE(ct.ok());
    CHECK(ct->size() <= kMaxSenderKeyMessageBytes);
    auto plain = group_decrypt(*bob.context, alice.own(), *ct);
    REQUIRE(plain.ok());
    CHECK(plain->size() == largest.size());

    // The padded form of the largest chat text is well within it.
    CHECK(protocol::pad(Bytes(protocol::kMaxPlaintextBytes, 0x61)).size() <=
          kMaxGroupPlaintextBytes);
    auto too_large = group_encrypt(*alice.context, alice.own(), Bytes(largest.size() + 1, 0x61));
    REQUIRE_FALSE(too_large.ok());
    CHECK(too_large.error().code == Errc::too_large);
}

TEST_CASE("a store that fails to write makes group decrypt fail with the store's error") {
    Member alice = make_member("alice");
    Member bob = make_member("bob");
    distribute(alice, {&bob});
    Bytes ct = send(alice, "hello");
    Bytes before = bob.store->snapshot();

    bob.store->begin();
    bob.store->fail_writes = true;
    auto result = group_decrypt(*bob.context, alice.own(), ct);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().code == Errc::database);
    bob.store->rollback();
    CHECK(bob.store->snapshot() == before);

    bob.store->fail_writes = false;
    CHECK(*receive(bob, alice, ct) == "hello");

    alice.store->fail_writes = true;
    auto sent = group_encrypt(*alice.context, alice.own(), protocol::pad(to_bytes("x")));
    REQUIRE_FALSE(sent.ok());
    CHECK(sent.error().code == Errc::database);
    auto dropped = drop_sender_key(*alice.context, alice.own());
    REQUIRE_FALSE(dropped.ok());
    CHECK(dropped.error().code == Errc::database);
}
