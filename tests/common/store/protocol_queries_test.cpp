// AccountStore as libsignal's stores: sessions, prekeys, identities, sender keys and the prekey
// id counter.
#include "crypto/sender_key.h"
#include "crypto/signal_context.h"
#include "store/account_store.h"
#include "store_fixture.h"

#include <catch2/catch.hpp>

using namespace veil;
using namespace veil::store;
using namespace veil::store::test;

namespace {

bool same(const SecretBytes& secret, const Bytes& bytes) {
    return Bytes(secret.view().begin(), secret.view().end()) == bytes;
}

} // namespace

TEST_CASE("sessions round-trip per address", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    crypto::ProtocolAddress bob1{"bob", 1};
    crypto::ProtocolAddress bob2{"bob", 2};
    CHECK_FALSE(store->load_session(bob1).value().has_value());

    REQUIRE(store->store_session(bob1, to_bytes("record one"), to_bytes("user one")).ok());
    REQUIRE(store->store_session(bob2, to_bytes("record two"), Bytes()).ok());
    REQUIRE(store->store_session({"carol", 1}, to_bytes("carol's"), Bytes()).ok());
    REQUIRE(store->store_session(bob1, to_bytes("record one v2"), to_bytes("user one")).ok());

    auto loaded = store->load_session(bob1).value();
    REQUIRE(loaded.has_value());
    CHECK(loaded->record == to_bytes("record one v2"));
    CHECK(loaded->user_record == to_bytes("user one"));
    CHECK(store->load_session(bob2).value()->user_record.empty());
    CHECK(store->session_devices("bob").value() == std::vector<std::int32_t>{1, 2});
    CHECK(store->contains_session(bob2).value());

    REQUIRE(store->delete_session(bob2).ok());
    CHECK_FALSE(store->contains_session(bob2).value());
    REQUIRE(store->delete_all_sessions("bob").ok());
    CHECK(store->session_devices("bob").value().empty());
    CHECK(store->contains_session({"carol", 1}).value());
}

TEST_CASE("one-time and signed prekeys round-trip and are removed", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    CHECK_FALSE(store->load_prekey(5).value().has_value());
    REQUIRE(store->store_prekey(5, to_bytes("prekey five")).ok());
    REQUIRE(store->store_prekey(0xFFFFFE, to_bytes("prekey max")).ok());
    REQUIRE(store->store_signed_prekey(5, to_bytes("signed five")).ok());

    CHECK(same(*store->load_prekey(5).value(), to_bytes("prekey five")));
    CHECK(same(*store->load_prekey(0xFFFFFE).value(), to_bytes("prekey max")));
    CHECK(same(*store->load_signed_prekey(5).value(), to_bytes("signed five")));
    CHECK(store->contains_prekey(5).value());
    CHECK(store->contains_signed_prekey(5).value());
    CHECK_FALSE(store->contains_signed_prekey(6).value());

    REQUIRE(store->remove_prekey(5).ok());
    CHECK_FALSE(store->contains_prekey(5).value());
    CHECK(store->contains_signed_prekey(5).value());
    REQUIRE(store->remove_signed_prekey(5).ok());
    CHECK_FALSE(store->load_signed_prekey(5).value().has_value());
}

TEST_CASE("the identity key pair and registration id are kept", "[store]") {
    TempProfile profile;
    {
        auto store = create_store(profile);
        CHECK_FALSE(store->has_identity().value());
        CHECK(store->identity_key_pair().error().code == Errc::not_found);
        CHECK(store->local_registration_id().error().code == Errc::not_found);
        Bytes private_key(32, 0x11);
        crypto::IdentityKeyPair pair{Bytes(33, 0x05), SecretBytes(private_key.data(), 32)};
        REQUIRE(store->set_identity(pair, 4242).ok());
    }
    auto store = open_store(profile);
    CHECK(store->has_identity().value());
    auto pair = store->identity_key_pair();
    REQUIRE(pair.ok());
    CHECK(pair->public_key == Bytes(33, 0x05));
    CHECK(same(pair->private_key, Bytes(32, 0x11)));
    CHECK(store->local_registration_id().value() == 4242);
}

TEST_CASE("a changed identity key is accepted with a notice and pauses a verified contact",
          "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    crypto::ProtocolAddress bob{"bob", 1};
    const Bytes key = to_bytes("bob identity key");
    const Bytes other = to_bytes("mallory's key!!!");

    CHECK(store->is_trusted_identity(bob, key).value());
    REQUIRE(store->save_identity(bob, key).ok());
    CHECK(store->peer_identity(bob).value() == key);
    CHECK(store->take_identity_notices().value().empty());
    // Saving the same key again (another device of bob's) is no change.
    REQUIRE(store->save_identity({"bob", 2}, key).ok());
    CHECK(store->take_identity_notices().value().empty());

    // Unverified: a new key is trusted and replaces the old one for every device, with a
    // notice, and sending goes on.
    CHECK(store->is_trusted_identity(bob, other).value());
    REQUIRE(store->save_identity(bob, other).ok());
    CHECK(store->peer_identity({"bob", 2}).value() == other);
    CHECK(store->take_identity_notices().value() == std::vector<std::string>{"bob"});
    CHECK(store->take_identity_notices().value().empty());
    CHECK_FALSE(store->trust("bob").value().needs_accept);

    // Verified: a new key clears verified and must be accepted.
    REQUIRE(store->set_verified("bob", true).ok());
    CHECK(store->trust("bob").value().verified);
    REQUIRE(store->save_identity(bob, key).ok());
    auto trust = store->trust("bob").value();
    CHECK_FALSE(trust.verified);
    CHECK(trust.needs_accept);
    CHECK(trust.changed_at_ms > 0);
    CHECK(store->take_identity_notices().value() == std::vector<std::string>{"bob"});
    REQUIRE(store->accept_identity("bob").ok());
    CHECK_FALSE(store->trust("bob").value().needs_accept);

    // An empty key forgets the stored one.
    REQUIRE(store->save_identity(bob, Bytes()).ok());
    CHECK(store->is_trusted_identity(bob, other).value());
}

TEST_CASE("every protocol store callback works inside an open transaction", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    crypto::ProtocolAddress bob{"bob", 1};
    crypto::IdentityKeyPair pair{Bytes(33, 0x05), SecretBytes(Bytes(32, 0x22).data(), 32)};
    REQUIRE(store->set_identity(pair, 7).ok());

    AccountStore::Transaction tx(*store);
    REQUIRE(tx.begun().ok());
    CHECK(store->identity_key_pair().ok());
    CHECK(store->local_registration_id().value() == 7);
    CHECK(store->is_trusted_identity(bob, to_bytes("k")).value());
    REQUIRE(store->save_identity(bob, to_bytes("k")).ok());
    REQUIRE(store->store_session(bob, to_bytes("r"), to_bytes("u")).ok());
    CHECK(store->load_session(bob).value().has_value());
    CHECK(store->session_devices("bob").value().size() == 1);
    CHECK(store->contains_session(bob).value());
    REQUIRE(store->store_prekey(1, to_bytes("p")).ok());
    CHECK(store->load_prekey(1).value().has_value());
    CHECK(store->contains_prekey(1).value());
    REQUIRE(store->remove_prekey(1).ok());
    REQUIRE(store->store_signed_prekey(1, to_bytes("s")).ok());
    CHECK(store->load_signed_prekey(1).value().has_value());
    CHECK(store->contains_signed_prekey(1).value());
    REQUIRE(store->remove_signed_prekey(1).ok());
    REQUIRE(store->delete_session(bob).ok());
    REQUIRE(store->delete_all_sessions("bob").ok());
    crypto::SenderKeyName group_bob{to_bytes("g"), bob};
    REQUIRE(store->store_sender_key(group_bob, to_bytes("sk")).ok());
    CHECK(store->load_sender_key(group_bob).value().has_value());
    REQUIRE(store->delete_sender_key(group_bob).ok());
    REQUIRE(store->insert_message(incoming("bob", 1, "hi", 1)).ok());
    REQUIRE(store->mark_processed("bob", message_id(1), 1).ok());
    REQUIRE(tx.commit().ok());
    CHECK(store->is_trusted_identity(bob, to_bytes("k")).value());
    CHECK(store->peer_identity(bob).value() == to_bytes("k"));
}

TEST_CASE("sender keys round-trip per group and sending device and are deleted", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    const Bytes group = {0x00, 0x01, 0xff, 0x00}; // binary, with zero bytes inside
    const Bytes other = to_bytes("other group");
    crypto::SenderKeyName alice1{group, {"alice", 1}};
    crypto::SenderKeyName alice2{group, {"alice", 2}};
    crypto::SenderKeyName alice1_other{other, {"alice", 1}};
    CHECK_FALSE(store->load_sender_key(alice1).value().has_value());
    CHECK(store->delete_sender_key(alice1).ok());

    REQUIRE(store->store_sender_key(alice1, to_bytes("record one")).ok());
    REQUIRE(store->store_sender_key(alice2, to_bytes("record two")).ok());
    REQUIRE(store->store_sender_key(alice1_other, to_bytes("other record")).ok());
    REQUIRE(store->store_sender_key(alice1, to_bytes("record one v2")).ok());
    CHECK(same(*store->load_sender_key(alice1).value(), to_bytes("record one v2")));
    CHECK(same(*store->load_sender_key(alice2).value(), to_bytes("record two")));
    CHECK(same(*store->load_sender_key(alice1_other).value(), to_bytes("other record")));
    // A group id that is a prefix of another is a different group.
    CHECK_FALSE(store->load_sender_key({Bytes{0x00, 0x01}, {"alice", 1}}).value().has_value());

    REQUIRE(store->delete_sender_key(alice1).ok());
    CHECK_FALSE(store->load_sender_key(alice1).value().has_value());
    CHECK(store->load_sender_key(alice2).value().has_value());
    CHECK(store->load_sender_key(alice1_other).value().has_value());
}

TEST_CASE("prekey ids are monotonic across a reopen and never 0", "[store]") {
    TempProfile profile;
    {
        auto store = create_store(profile);
        CHECK(store->reserve_prekey_ids(100).value() == 1);
        CHECK(store->reserve_prekey_ids(50).value() == 101);
    }
    auto store = open_store(profile);
    CHECK(store->reserve_prekey_ids(1).value() == 151);
    CHECK(store->reserve_prekey_ids(1).value() == 152);
    CHECK(store->reserve_prekey_ids(0).error().code == Errc::invalid_argument);
}

TEST_CASE("prekey ids wrap to 1 before a block would reach 0xFFFFFF", "[store]") {
    TempProfile profile;
    auto store = create_store(profile);
    CHECK(store->reserve_prekey_ids(0xFFFF00).value() == 1);
    // 0xFFFF01 .. 0xFFFFFE fits exactly; the next block starts over at 1.
    CHECK(store->reserve_prekey_ids(0xFE).value() == 0xFFFF01);
    CHECK(store->reserve_prekey_ids(10).value() == 1);
    CHECK(store->reserve_prekey_ids(0xFFFFF0).value() == 11);
    // A block that would cross the top wraps instead of being split.
    CHECK(store->reserve_prekey_ids(100).value() == 1);
}

// Sender keys through libsignal on SQLCipher files: what a group member keeps across restarts.
namespace {

// One device on its own profile. Members are destroyed in reverse order: the StoreContext
// before the AccountStore, both before the SignalContext.
struct Device {
    explicit Device(const TempProfile& p)
        : profile(p) {
        auto created = crypto::SignalContext::create();
        REQUIRE(created.ok());
        signal = std::move(created).value();
        store = create_store(profile);
        attach();
    }

    void attach() {
        auto created = crypto::StoreContext::create(*signal, *store);
        REQUIRE(created.ok());
        context = std::move(created).value();
    }

    void reopen() {
        context.reset();
        store.reset();
        store = open_store(profile);
        attach();
    }

    const TempProfile& profile;
    std::unique_ptr<crypto::SignalContext> signal;
    std::unique_ptr<AccountStore> store;
    std::unique_ptr<crypto::StoreContext> context;
};

const crypto::SenderKeyName kAliceInGroup{to_bytes("group-1"), {"alice", 1}};

Bytes group_send(Device& alice, const std::string& text) {
    auto ct = crypto::group_encrypt(*alice.context, kAliceInGroup, to_bytes(text));
    REQUIRE(ct.ok());
    return std::move(ct).value();
}

Result<std::string> group_receive(Device& bob, const Bytes& ct) {
    auto plain = crypto::group_decrypt(*bob.context, kAliceInGroup, ct);
    if (!plain)
        return plain.error();
    return to_string(plain->view());
}

void give_key(Device& alice, Device& bob) {
    auto skdm = crypto::create_distribution_message(*alice.context, kAliceInGroup);
    REQUIRE(skdm.ok());
    REQUIRE(crypto::process_distribution_message(*bob.context, kAliceInGroup, skdm->view()).ok());
}

} // namespace

TEST_CASE("sender keys survive closing and reopening both databases", "[store]") {
    TempProfile alice_profile;
    TempProfile bob_profile;
    Device alice(alice_profile);
    Device bob(bob_profile);
    give_key(alice, bob);
    Bytes m0 = group_send(alice, "before the restart");

    alice.reopen();
    bob.reopen();
    // Alice sends on with the key Bob already holds, rather than making a new one.
    Bytes m1 = group_send(alice, "after the restart");
    CHECK(*group_receive(bob, m0) == "before the restart");
    bob.reopen();
    CHECK(*group_receive(bob, m1) == "after the restart");
    auto replay = group_receive(bob, m0);
    REQUIRE_FALSE(replay.ok());
    CHECK(replay.error().code == Errc::duplicate_message);
}

TEST_CASE("a group decrypt rolled back with its transaction can be done again", "[store]") {
    TempProfile alice_profile;
    TempProfile bob_profile;
    Device alice(alice_profile);
    Device bob(bob_profile);
    give_key(alice, bob);
    Bytes ct = group_send(alice, "once");
    {
        AccountStore::Transaction tx(*bob.store);
        REQUIRE(tx.begun().ok());
        CHECK(*group_receive(bob, ct) == "once");
    }
    {
        AccountStore::Transaction tx(*bob.store);
        REQUIRE(tx.begun().ok());
        CHECK(*group_receive(bob, ct) == "once");
        REQUIRE(tx.commit().ok());
    }
    CHECK(group_receive(bob, ct).error().code == Errc::duplicate_message);
}

TEST_CASE("a dropped sender key stays dropped after a reopen and a new one replaces ours",
          "[store]") {
    TempProfile alice_profile;
    TempProfile bob_profile;
    Device alice(alice_profile);
    Device bob(bob_profile);
    give_key(alice, bob);
    Bytes old_message = group_send(alice, "old key");

    REQUIRE(crypto::drop_sender_key(*bob.context, kAliceInGroup).ok());
    REQUIRE(crypto::drop_sender_key(*alice.context, kAliceInGroup).ok());
    alice.reopen();
    bob.reopen();
    CHECK_FALSE(*crypto::has_sender_key(*bob.context, kAliceInGroup));
    CHECK_FALSE(*crypto::has_sender_key(*alice.context, kAliceInGroup));
    CHECK(group_receive(bob, old_message).error().code == Errc::no_session);

    give_key(alice, bob);
    CHECK(*group_receive(bob, group_send(alice, "new key")) == "new key");
    CHECK(group_receive(bob, old_message).error().code == Errc::no_session);
}
