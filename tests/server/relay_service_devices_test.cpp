// The relay's side of multi-device accounts (veil.proto, "Devices and linking"): adding, listing
// and removing devices, device numbers never reused, sends that must name exactly the devices
// there are, prekey bundles per device, group sends to the sender's own devices, and link
// channels with expiry by the service's clock. Real SqliteStore files and real signatures.
#include "relay_fixture.h"

#include "core/sqlite_db.h"
#include "protocol/group_rules.h"

#include <openssl/evp.h>

#include <map>
#include <set>

using namespace veil;
using namespace veil::relay;
using namespace veil::relay::test;

namespace {

using DeviceIds = std::vector<std::uint32_t>;
using DeviceKey = std::pair<std::string, std::uint32_t>;

wire::Error::Code error_code(const wire::Envelope& e) {
    INFO((e.has_error() ? e.error().message() : std::string("not an error")));
    REQUIRE(e.has_error());
    return e.error().code();
}

std::string sha256(const std::string& data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    REQUIRE(EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) == 1);
    return std::string(reinterpret_cast<const char*>(digest), size);
}

DeviceIds ids_of(const google::protobuf::RepeatedField<std::uint32_t>& ids) {
    return DeviceIds(ids.begin(), ids.end());
}

// Accounts whose devices each authenticate with a key of their own, as linked clients do; every
// device that connected stays online on its own session.
struct Devices : RelayFixture {
    explicit Devices(RelayService::Options options = {})
        : RelayFixture(options) {}

    std::map<std::string, TestUser> users;                // the accounts' identity keys
    std::map<DeviceKey, crypto::GeneratedIdentity> keys;  // each device's own key
    std::map<DeviceKey, std::unique_ptr<Session>> online; // a session per connected device

    crypto::GeneratedIdentity new_key() {
        auto key = crypto::generate_identity(*signal);
        REQUIRE(key);
        return std::move(key.value());
    }

    // Registers name with device 1 holding a device key of its own; online unless told not to.
    void create(const std::string& name, bool stay_online = true) {
        users.emplace(name, make_user(name, 3));
        keys.emplace(DeviceKey{name, 1}, new_key());
        auto session = std::make_unique<Session>(next_connection++);
        auto e = register_request(users.at(name), challenge(*session), {},
                                  keys.at({name, 1}).key_pair.public_key);
        e.mutable_register_request()->set_device_name("sealed name 1");
        auto r = call(*session, e);
        REQUIRE(r[0].has_auth_result());
        if (stay_online)
            online[{name, 1}] = std::move(session);
        else
            service->close(*session);
    }

    wire::Envelope add_request(const std::string& name, const crypto::GeneratedIdentity& key,
                               const TestUser& signer, unsigned prekeys = 2) {
        auto spk = crypto::generate_signed_prekey(*signal, signer.identity.key_pair, 7, 0);
        REQUIRE(spk);
        auto e = request(next_id++);
        auto* d = e.mutable_device_add_request();
        d->set_device_key(to_str(key.key_pair.public_key));
        d->set_registration_id(key.registration_id);
        d->mutable_signed_prekey()->set_id(spk->id);
        d->mutable_signed_prekey()->set_public_key(to_str(spk->public_key));
        d->mutable_signed_prekey()->set_signature(to_str(spk->signature));
        if (prekeys > 0) {
            auto otks = crypto::generate_prekeys(*signal, 100, prekeys);
            REQUIRE(otks);
            for (const auto& k : *otks) {
                auto* otk = d->add_one_time_prekeys();
                otk->set_id(k.id);
                otk->set_public_key(to_str(k.public_key));
            }
        }
        d->set_name("sealed name of " + name);
        return e;
    }

    // Adds a device to name's account through its online device via; returns the new id.
    std::uint32_t add(const std::string& name, std::uint32_t via = 1) {
        auto key = new_key();
        auto r = as(name, via, add_request(name, key, users.at(name)));
        REQUIRE(r.size() == 1);
        INFO((r[0].has_error() ? r[0].error().message() : ""));
        REQUIRE(r[0].has_device_added());
        const std::uint32_t id = r[0].device_added().device_id();
        keys.emplace(DeviceKey{name, id}, std::move(key));
        return id;
    }

    wire::Envelope device_auth_request(const std::string& name, std::uint32_t id,
                                       const Bytes& nonce, const SecretBytes& private_key) {
        auto e = request(next_id++);
        auto* a = e.mutable_auth_request();
        a->set_username(name);
        a->set_device_id(id);
        auto sig = crypto::sign(*signal, private_key, RelayService::auth_message(nonce, name, id));
        REQUIRE(sig);
        a->set_signature(to_str(*sig));
        return e;
    }

    // Authenticates (name, id) with its own key on session.
    std::vector<wire::Envelope> auth_as(Session& session, const std::string& name,
                                        std::uint32_t id) {
        return call(session, device_auth_request(name, id, challenge(session),
                                                 keys.at({name, id}).key_pair.private_key));
    }

    // Connects (name, id) on a session of its own, which stays online.
    std::vector<wire::Envelope> connect(const std::string& name, std::uint32_t id) {
        auto session = std::make_unique<Session>(next_connection++);
        auto r = auth_as(*session, name, id);
        if (!r.empty() && r[0].has_auth_result())
            online[{name, id}] = std::move(session);
        return r;
    }

    std::vector<wire::Envelope> as(const std::string& name, std::uint32_t id,
                                   const wire::Envelope& e) {
        return call(*online.at({name, id}), e);
    }

    std::vector<wire::Envelope> remove(const std::string& name, std::uint32_t via,
                                       std::uint32_t id) {
        auto e = request(next_id++);
        e.mutable_device_remove_request()->set_device_id(id);
        return as(name, via, e);
    }

    wire::Envelope list(const std::string& name, std::uint32_t via, const std::string& whose) {
        auto e = request(next_id++);
        e.mutable_device_list_request()->set_username(whose);
        auto r = as(name, via, e);
        REQUIRE(r.size() == 1);
        return r[0];
    }

    // A send whose copies say whom they are for, so that tests can check who got which.
    static std::string copy_text(const std::string& to, std::uint32_t device) {
        return "copy for " + to + " " + std::to_string(device);
    }
    wire::Envelope send(const std::string& from, const std::string& to, std::uint8_t id,
                        const DeviceIds& to_devices, const DeviceIds& own = {}, bool sync = false) {
        auto e = request(next_id++);
        auto* s = e.mutable_send_request();
        s->set_message_id(to_str(message_id(id)));
        s->set_to_username(to);
        s->set_sync(sync);
        for (std::uint32_t d : to_devices) {
            auto* c = s->add_to_devices();
            c->set_device_id(d);
            c->set_type(wire::CIPHERTEXT_PREKEY);
            c->set_ciphertext(copy_text(to, d));
        }
        for (std::uint32_t d : own) {
            auto* c = s->add_own_devices();
            c->set_device_id(d);
            c->set_type(wire::CIPHERTEXT_WHISPER);
            c->set_ciphertext(copy_text(from, d));
        }
        return e;
    }

    std::vector<StoredEnvelope> mailbox(const std::string& name, std::uint32_t id) {
        auto queued = store->queued(name, id, 0, 1000);
        REQUIRE(queued);
        return *queued;
    }

    std::vector<Push> pushes_to(const std::string& name, std::uint32_t id) {
        std::vector<Push> out;
        for (const auto& p : router.pushes)
            if (p.username == name && p.device_id == id)
                out.push_back(p);
        return out;
    }
};

// The mismatch entry for username in a MISMATCHED_DEVICES error, or fails.
wire::DeviceMismatch mismatch_of(const wire::Envelope& e, const std::string& username) {
    REQUIRE(error_code(e) == wire::Error::MISMATCHED_DEVICES);
    for (const auto& m : e.error().mismatches())
        if (m.username() == username)
            return m;
    FAIL("no mismatch for " + username);
    return {};
}

} // namespace

// ---- Adding, listing, removing -------------------------------------------------------------

TEST_CASE("a device added to an account gets the next number and authenticates with its own "
          "key") {
    Devices f;
    f.create("alice");
    const std::uint32_t second = f.add("alice");
    CHECK(second == 2);

    auto r = f.connect("alice", 2);
    REQUIRE(r.size() == 2);
    REQUIRE(r[0].has_auth_result());
    CHECK(r[0].auth_result().device_id() == 2);
    CHECK(r[0].auth_result().one_time_prekeys_left() == 2);
    CHECK(r[1].has_queue_drained());

    // The account's identity key is no device's auth key once devices have keys of their own.
    Session s(500);
    auto wrong =
        f.call(s, f.device_auth_request("alice", 2, f.challenge(s),
                                        f.users.at("alice").identity.key_pair.private_key));
    CHECK(error_code(wrong[0]) == wire::Error::AUTH_FAILED);
    Session s1(501);
    CHECK(error_code(f.auth(s1, f.users.at("alice"))[0]) == wire::Error::AUTH_FAILED);
}

TEST_CASE("a registration whose device key was swapped on the way is refused") {
    Devices f;
    f.users.emplace("alice", f.make_user("alice", 1));
    auto own = f.new_key();
    auto theirs = f.new_key();
    Session session(600);
    // Signed over alice's own device key; someone in between put theirs in its place.
    auto e =
        f.register_request(f.users.at("alice"), f.challenge(session), {}, own.key_pair.public_key);
    e.mutable_register_request()->set_device_key(to_str(theirs.key_pair.public_key));
    auto r = f.call(session, e);
    CHECK(error_code(r[0]) == wire::Error::AUTH_FAILED);
    Session again(601);
    CHECK(f.call(again, f.register_request(f.users.at("alice"), f.challenge(again), {},
                                           own.key_pair.public_key))[0]
              .has_auth_result());
}

TEST_CASE("keys that are points of small order are refused in a device add and a prekey upload") {
    Devices f;
    f.create("alice");
    std::string low_order(33, '\0');
    low_order[0] = 0x05; // u = 0, a point of order 4
    auto add = f.add_request("alice", f.new_key(), f.users.at("alice"));
    add.mutable_device_add_request()->mutable_one_time_prekeys(0)->set_public_key(low_order);
    auto r = f.as("alice", 1, add);
    CHECK(error_code(r[0]) == wire::Error::BAD_REQUEST);
    CHECK(r[0].error().message().find("Curve25519") != std::string::npos);
    CHECK(f.list("alice", 1, "").device_list().devices_size() == 1);

    auto upload = request(f.next_id++);
    auto* otk = upload.mutable_prekey_upload()->add_one_time_prekeys();
    otk->set_id(500);
    otk->set_public_key(low_order);
    CHECK(error_code(f.as("alice", 1, upload)[0]) == wire::Error::BAD_REQUEST);
}

TEST_CASE("a new device's signed prekey must be signed by the account's identity key") {
    Devices f;
    f.create("alice");
    f.create("mallory");
    auto key = f.new_key();
    auto r = f.as("alice", 1, f.add_request("alice", key, f.users.at("mallory")));
    CHECK(error_code(r[0]) == wire::Error::BAD_REQUEST);
    CHECK(f.list("alice", 1, "").device_list().devices_size() == 1);
}

TEST_CASE("an account lists its own devices with names and times, others see ids only") {
    Devices f;
    f.create("alice");
    f.create("bob");
    f.clock.advance(1000);
    const auto added_at = f.clock.now_ms();
    f.add("alice");

    auto own = f.list("alice", 1, "");
    REQUIRE(own.has_device_list());
    CHECK(own.device_list().username() == "alice");
    REQUIRE(own.device_list().devices_size() == 2);
    const auto& first = own.device_list().devices(0);
    const auto& second = own.device_list().devices(1);
    CHECK(first.device_id() == 1);
    CHECK(first.registration_id() == f.users.at("alice").identity.registration_id);
    CHECK(first.name() == "sealed name 1");
    CHECK(second.device_id() == 2);
    CHECK(second.registration_id() == f.keys.at({"alice", 2}).registration_id);
    CHECK(second.name() == "sealed name of alice");
    CHECK(second.created_ms() == static_cast<std::uint64_t>(added_at));

    // Naming one's own account is the same as naming none.
    CHECK(f.list("alice", 1, "alice").device_list().devices(1).name() == "sealed name of alice");

    auto other = f.list("bob", 1, "alice");
    REQUIRE(other.has_device_list());
    CHECK(other.device_list().username() == "alice");
    REQUIRE(other.device_list().devices_size() == 2);
    for (const auto& d : other.device_list().devices()) {
        CHECK(d.registration_id() != 0);
        CHECK(d.name().empty());
        CHECK(d.created_ms() == 0);
        CHECK(d.last_seen_ms() == 0);
    }

    CHECK(error_code(f.list("bob", 1, "nobody")) == wire::Error::NOT_FOUND);
    CHECK(error_code(f.list("bob", 1, "Not A Name")) == wire::Error::NOT_FOUND);
}

TEST_CASE("a device's last_seen_ms is the time it authenticated or disconnected last") {
    Devices f;
    f.create("alice");
    f.add("alice");
    f.clock.advance(5000);
    REQUIRE(f.connect("alice", 2)[0].has_auth_result());
    const auto connected = f.clock.now_ms();
    auto seen = [&] { return f.list("alice", 1, "").device_list().devices(1).last_seen_ms(); };
    CHECK(seen() == static_cast<std::uint64_t>(connected));

    f.clock.advance(7000);
    f.service->close(*f.online.at({"alice", 2}));
    CHECK(seen() == static_cast<std::uint64_t>(connected + 7000));

    // The service writes the times when told to, all in one go, and keeps showing them.
    auto stored = [&] { return f.store->list_devices("alice").value()->at(1).last_seen_ms; };
    CHECK(stored() == 0); // never connected, as far as the database knows
    REQUIRE(f.service->flush_last_seen());
    CHECK(stored() == connected + 7000);
    CHECK(seen() == static_cast<std::uint64_t>(connected + 7000));
    CHECK(f.service->flush_last_seen()); // nothing left to write
}

TEST_CASE("device numbers are never given out again, not even after a removal") {
    Devices f;
    f.create("alice");
    CHECK(f.add("alice") == 2);
    CHECK(f.add("alice") == 3);
    REQUIRE(f.remove("alice", 1, 3)[0].has_ok());
    CHECK(f.add("alice") == 4);
    REQUIRE(f.remove("alice", 1, 4)[0].has_ok());
    REQUIRE(f.remove("alice", 1, 2)[0].has_ok());
    CHECK(f.add("alice") == 5);

    // Also across reopening the store.
    f.service.reset();
    f.store.reset();
    auto reopened = f.open_store();
    auto added = reopened->add_device("alice", NewDevice{Bytes(33, 1), 9, {}, {}, {}}, 0);
    REQUIRE(added);
    CHECK(*added == 6);
}

TEST_CASE("an account has at most kMaxDevicesPerAccount active devices") {
    Devices f;
    f.create("alice");
    for (std::uint32_t i = 2; i <= protocol::kMaxDevicesPerAccount; ++i)
        CHECK(f.add("alice") == i);
    auto key = f.new_key();
    auto refused = f.as("alice", 1, f.add_request("alice", key, f.users.at("alice")));
    CHECK(error_code(refused[0]) == wire::Error::FORBIDDEN);
    CHECK(f.list("alice", 1, "").device_list().devices_size() ==
          static_cast<int>(protocol::kMaxDevicesPerAccount));

    // A removed device frees its place, not its number.
    REQUIRE(f.remove("alice", 1, 5)[0].has_ok());
    CHECK(f.add("alice") == protocol::kMaxDevicesPerAccount + 1);
}

TEST_CASE("removing a device refuses the last one and unknown or removed ones") {
    Devices f;
    f.create("alice");
    CHECK(error_code(f.remove("alice", 1, 1)[0]) == wire::Error::FORBIDDEN);
    CHECK(error_code(f.remove("alice", 1, 2)[0]) == wire::Error::NOT_FOUND);
    f.add("alice");
    REQUIRE(f.remove("alice", 1, 2)[0].has_ok());
    CHECK(error_code(f.remove("alice", 1, 2)[0]) == wire::Error::NOT_FOUND);
    CHECK(error_code(f.remove("alice", 1, 0)[0]) == wire::Error::NOT_FOUND);
    CHECK(f.router.disconnected.size() == 1);
}

TEST_CASE("a removed device is disconnected, refused on its open connection and at "
          "authentication") {
    Devices f;
    f.create("alice");
    f.add("alice");
    REQUIRE(f.connect("alice", 2)[0].has_auth_result());

    auto r = f.remove("alice", 1, 2);
    REQUIRE(r.size() == 1);
    CHECK(r[0].has_ok());
    REQUIRE(f.router.disconnected.size() == 1);
    CHECK(f.router.disconnected[0] == DeviceKey{"alice", 2});

    // Until the transport closes it, the removed device's connection gets nothing done.
    auto e = request(f.next_id++);
    e.mutable_prekey_status_request();
    CHECK(error_code(f.as("alice", 2, e)[0]) == wire::Error::DEVICE_REMOVED);
    CHECK(error_code(f.as("alice", 2, f.send("alice", "alice", 1, {1}))[0]) ==
          wire::Error::DEVICE_REMOVED);

    Session again(600);
    auto refused = f.auth_as(again, "alice", 2);
    REQUIRE(refused.size() == 1);
    CHECK(error_code(refused[0]) == wire::Error::DEVICE_REMOVED);
    CHECK(refused[0].error().message() == "This device was unlinked from its account.");
    CHECK_FALSE(again.authenticated);

    // Without its key, nobody learns that the device was removed.
    Session stranger(601);
    auto forged = f.call(stranger, f.device_auth_request("alice", 2, f.challenge(stranger),
                                                         f.new_key().key_pair.private_key));
    CHECK(error_code(forged[0]) == wire::Error::AUTH_FAILED);

    // The others go on.
    CHECK(f.list("alice", 1, "").device_list().devices_size() == 1);
}

TEST_CASE("a device may remove itself and is answered before it is disconnected") {
    Devices f;
    f.create("alice");
    f.add("alice");
    REQUIRE(f.connect("alice", 2)[0].has_auth_result());
    auto r = f.remove("alice", 2, 2);
    REQUIRE(r.size() == 1);
    CHECK(r[0].has_ok());
    REQUIRE(f.router.disconnected.size() == 1);
    CHECK(f.router.disconnected[0] == DeviceKey{"alice", 2});
}

TEST_CASE("a removed device loses its mailbox and prekeys and nothing new is queued for it") {
    Devices f;
    f.create("alice");
    f.create("bob");
    f.add("bob");
    f.service->close(*f.online.at({"bob", 1}));
    REQUIRE(f.as("alice", 1, f.send("alice", "bob", 1, {1, 2}))[0].has_send_result());
    REQUIRE(f.mailbox("bob", 2).size() == 1);

    Session bob1(700);
    REQUIRE(f.auth_as(bob1, "bob", 1)[0].has_auth_result());
    auto e = request(f.next_id++);
    e.mutable_device_remove_request()->set_device_id(2);
    REQUIRE(f.call(bob1, e)[0].has_ok());

    CHECK(f.count("SELECT COUNT(*) FROM mailbox m JOIN devices d ON d.id = m.device"
                  " WHERE d.device_id = 2 AND d.account_id ="
                  " (SELECT id FROM accounts WHERE username = 'bob')") == 0);
    CHECK(f.count("SELECT COUNT(*) FROM one_time_prekeys k JOIN devices d ON d.id = k.device"
                  " WHERE d.device_id = 2 AND d.account_id ="
                  " (SELECT id FROM accounts WHERE username = 'bob')") == 0);
    CHECK(f.mailbox("bob", 1).size() == 1); // the other device keeps its copy

    // A send still naming it is refused as stale; the right one reaches device 1 only.
    auto stale = f.as("alice", 1, f.send("alice", "bob", 2, {1, 2}));
    auto m = mismatch_of(stale[0], "bob");
    CHECK(ids_of(m.stale()) == DeviceIds{2});
    CHECK(m.missing().empty());
    REQUIRE(f.as("alice", 1, f.send("alice", "bob", 2, {1}))[0].has_send_result());
    CHECK(f.count("SELECT COUNT(*) FROM mailbox m JOIN devices d ON d.id = m.device"
                  " WHERE d.removed_ms IS NOT NULL") == 0);
}

// ---- 1:1 sends to every device -------------------------------------------------------------

TEST_CASE("a send to every device of the recipient and, with sync, the sender's other devices "
          "stores one copy for each") {
    Devices f;
    f.create("alice");
    f.add("alice");
    f.add("alice");
    f.create("bob");
    f.add("bob");
    REQUIRE(f.connect("bob", 2)[0].has_auth_result());
    REQUIRE(f.connect("alice", 3)[0].has_auth_result());
    f.service->close(*f.online.at({"bob", 1}));
    f.router.pushes.clear();

    auto r = f.as("alice", 1, f.send("alice", "bob", 1, {2, 1}, {3, 2}, true));
    REQUIRE(r.size() == 1);
    REQUIRE(r[0].has_send_result());

    for (const auto& [name, id] :
         std::vector<DeviceKey>{{"bob", 1}, {"bob", 2}, {"alice", 2}, {"alice", 3}}) {
        INFO(name << " " << id);
        auto queued = f.mailbox(name, id);
        REQUIRE(queued.size() == 1);
        CHECK(to_str(queued[0].ciphertext) == Devices::copy_text(name, id));
        CHECK(queued[0].from_username == "alice");
        CHECK(queued[0].from_device_id == 1);
        CHECK(queued[0].message_id == message_id(1));
    }
    CHECK(f.mailbox("alice", 1).empty());

    // Online devices get their own copy pushed, each under its own delivery id.
    auto to_bob = f.pushes_to("bob", 2);
    auto to_alice = f.pushes_to("alice", 3);
    REQUIRE(to_bob.size() == 1);
    REQUIRE(to_alice.size() == 1);
    CHECK(to_bob[0].deliver.deliver().ciphertext() == Devices::copy_text("bob", 2));
    CHECK(to_bob[0].deliver.deliver().type() == wire::CIPHERTEXT_PREKEY);
    CHECK(to_alice[0].deliver.deliver().ciphertext() == Devices::copy_text("alice", 3));
    CHECK(to_alice[0].deliver.deliver().type() == wire::CIPHERTEXT_WHISPER);
    CHECK(to_bob[0].deliver.deliver().delivery_id() != to_alice[0].deliver.deliver().delivery_id());
    CHECK(f.router.pushes.size() == 4); // bob 1 and alice 2 are registered as pushes too
}

TEST_CASE("a send naming the recipient's devices wrongly is refused with the missing and stale "
          "ones, and stores nothing") {
    Devices f;
    f.create("alice");
    f.create("bob");
    f.add("bob");
    f.add("bob");
    REQUIRE(f.remove("bob", 1, 2)[0].has_ok()); // bob has 1 and 3

    auto r = f.as("alice", 1, f.send("alice", "bob", 1, {1, 2, 4}));
    REQUIRE(r.size() == 1);
    auto m = mismatch_of(r[0], "bob");
    CHECK(ids_of(m.missing()) == DeviceIds{3});
    CHECK(ids_of(m.stale()) == DeviceIds{2, 4});
    CHECK(r[0].error().mismatches_size() == 1);
    CHECK_FALSE(r[0].error().message().empty());

    CHECK(f.count("SELECT COUNT(*) FROM mailbox") == 0);
    CHECK(f.count("SELECT COUNT(*) FROM sends") == 0);

    // The client fixes its view and sends again under the same message id.
    auto again = f.as("alice", 1, f.send("alice", "bob", 1, {3, 1}));
    REQUIRE(again[0].has_send_result());
    CHECK(f.mailbox("bob", 1).size() == 1);
    CHECK(f.mailbox("bob", 3).size() == 1);
}

TEST_CASE("a sync send must name exactly the sender's other devices, and no sync send any") {
    Devices f;
    f.create("alice");
    f.add("alice");
    f.add("alice");
    f.create("bob");

    // Without sync, own copies are malformed; with sync, every other device needs one.
    CHECK(error_code(f.as("alice", 1, f.send("alice", "bob", 1, {1}, {2}))[0]) ==
          wire::Error::BAD_REQUEST);
    auto missing = f.as("alice", 1, f.send("alice", "bob", 1, {1}, {2}, true));
    auto m = mismatch_of(missing[0], "alice");
    CHECK(ids_of(m.missing()) == DeviceIds{3});
    CHECK(m.stale().empty());
    CHECK(missing[0].error().mismatches_size() == 1); // bob's were right

    // The sending device itself, or one that never was, is stale.
    auto stale = f.as("alice", 1, f.send("alice", "bob", 1, {1}, {1, 2, 3, 9}, true));
    m = mismatch_of(stale[0], "alice");
    CHECK(ids_of(m.stale()) == DeviceIds{1, 9});
    CHECK(m.missing().empty());

    // Both accounts wrong at once: one entry each.
    auto both = f.as("alice", 1, f.send("alice", "bob", 1, {2}, {2}, true));
    CHECK(both[0].error().mismatches_size() == 2);
    CHECK(ids_of(mismatch_of(both[0], "bob").missing()) == DeviceIds{1});
    CHECK(ids_of(mismatch_of(both[0], "bob").stale()) == DeviceIds{2});
    CHECK(ids_of(mismatch_of(both[0], "alice").missing()) == DeviceIds{3});

    // A sender with no other device sends sync with no own copies.
    REQUIRE(f.as("bob", 1, f.send("bob", "alice", 1, {1, 2, 3}, {}, true))[0].has_send_result());
    CHECK(f.count("SELECT COUNT(*) FROM mailbox") == 3);
    REQUIRE(f.as("alice", 1, f.send("alice", "bob", 2, {1}, {2, 3}, true))[0].has_send_result());
}

TEST_CASE("a send to one's own account names the other devices, never the sending one, and no "
          "sync") {
    Devices f;
    f.create("alice");
    f.add("alice");
    f.add("alice");
    REQUIRE(f.connect("alice", 2)[0].has_auth_result());

    auto with_self = f.as("alice", 2, f.send("alice", "alice", 1, {1, 2, 3}));
    auto m = mismatch_of(with_self[0], "alice");
    CHECK(ids_of(m.stale()) == DeviceIds{2});
    CHECK(with_self[0].error().mismatches_size() == 1);

    auto short_of_one = f.as("alice", 2, f.send("alice", "alice", 1, {1}));
    CHECK(ids_of(mismatch_of(short_of_one[0], "alice").missing()) == DeviceIds{3});

    CHECK(error_code(f.as("alice", 2, f.send("alice", "alice", 1, {1, 3}, {}, true))[0]) ==
          wire::Error::BAD_REQUEST);

    REQUIRE(f.as("alice", 2, f.send("alice", "alice", 1, {3, 1}))[0].has_send_result());
    CHECK(f.mailbox("alice", 1).size() == 1);
    CHECK(f.mailbox("alice", 3).size() == 1);
    CHECK(f.mailbox("alice", 2).empty());
}

TEST_CASE("a send to an account that does not exist is NOT_FOUND") {
    Devices f;
    f.create("alice");
    CHECK(error_code(f.as("alice", 1, f.send("alice", "nobody", 1, {1}))[0]) ==
          wire::Error::NOT_FOUND);
    CHECK(error_code(f.as("alice", 1, f.send("alice", "Nobody!", 1, {1}))[0]) ==
          wire::Error::NOT_FOUND);
}

TEST_CASE("a retried multi-device send is stored once, even after the devices changed, and "
          "other content under its id is a CONFLICT") {
    Devices f;
    f.create("alice");
    f.add("alice");
    f.create("bob");
    f.add("bob");
    const auto request = f.send("alice", "bob", 1, {1, 2}, {2}, true);
    auto first = f.as("alice", 1, request);
    REQUIRE(first[0].has_send_result());
    const auto pushes = f.router.pushes.size();

    f.clock.advance(1000);
    auto again = f.as("alice", 1, request);
    REQUIRE(again[0].has_send_result());
    CHECK(again[0].send_result().server_timestamp_ms() ==
          first[0].send_result().server_timestamp_ms());
    CHECK(f.router.pushes.size() == pushes);

    // The copies in another order are the same content.
    REQUIRE(f.as("alice", 1, f.send("alice", "bob", 1, {2, 1}, {2}, true))[0].has_send_result());

    // A retry is recognised by the send log even once bob has another device.
    f.add("bob");
    REQUIRE(f.as("alice", 1, request)[0].has_send_result());
    CHECK(f.count("SELECT COUNT(*) FROM mailbox") == 3);

    auto other = f.send("alice", "bob", 1, {1, 2, 3}, {2}, true);
    CHECK(error_code(f.as("alice", 1, other)[0]) == wire::Error::CONFLICT);
    CHECK(f.count("SELECT COUNT(*) FROM mailbox") == 3);
}

TEST_CASE("with group commit, every copy is pushed before the commit and a device removed "
          "before it turns the send into MISMATCHED_DEVICES") {
    RelayService::Options options;
    options.group_commit = true;
    options.commit_thread = false;
    Devices f(options);
    f.create("alice");
    f.create("bob");
    f.add("bob");
    f.add("bob");
    REQUIRE(f.connect("bob", 2)[0].has_auth_result());
    f.router.pushes.clear();

    {
        std::optional<std::vector<Bytes>> answer;
        auto direct =
            f.service->handle(*f.online.at({"alice", 1}),
                              protocol::encode_envelope(f.send("alice", "bob", 1, {1, 2, 3})),
                              [&](std::vector<Bytes> frames) { answer = frames; });
        REQUIRE_FALSE(direct);
        REQUIRE(f.router.pushes.size() == 3);
        std::set<std::uint64_t> ids;
        for (const auto& p : f.router.pushes)
            ids.insert(p.deliver.deliver().delivery_id());
        CHECK(ids.size() == 3);
        CHECK(f.service->commit_pending() == 1);
        REQUIRE(answer);
        REQUIRE(parse_all(*answer)[0].has_send_result());
        // The copies are stored under the ids they were pushed with.
        CHECK(f.mailbox("bob", 2).at(0).delivery_id ==
              f.pushes_to("bob", 2).at(0).deliver.deliver().delivery_id());
    }

    // bob removes device 3 after alice's send passed its check, before its commit.
    std::optional<std::vector<Bytes>> answer;
    auto direct = f.service->handle(*f.online.at({"alice", 1}),
                                    protocol::encode_envelope(f.send("alice", "bob", 2, {1, 2, 3})),
                                    [&](std::vector<Bytes> frames) { answer = frames; });
    REQUIRE_FALSE(direct);
    REQUIRE(f.remove("bob", 1, 3)[0].has_ok());
    f.service->commit_pending();
    REQUIRE(answer);
    auto r = parse_all(*answer);
    CHECK(ids_of(mismatch_of(r[0], "bob").stale()) == DeviceIds{3});
    CHECK(f.mailbox("bob", 1).size() == 1); // only the first send
    CHECK(f.mailbox("bob", 2).size() == 1);
}

// ---- Prekey bundles ------------------------------------------------------------------------

TEST_CASE("prekey bundles come per device, each one-time prekey once, and only of active "
          "devices") {
    Devices f;
    f.create("alice");
    f.create("bob");
    f.add("bob"); // 2 one-time prekeys
    f.add("bob");

    auto fetch = [&](const DeviceIds& ids) {
        auto e = request(f.next_id++);
        e.mutable_prekey_fetch()->set_username("bob");
        for (auto id : ids)
            e.mutable_prekey_fetch()->add_device_ids(id);
        auto r = f.as("alice", 1, e);
        REQUIRE(r.size() == 1);
        return r[0];
    };

    auto all = fetch({});
    REQUIRE(all.has_prekey_bundles());
    REQUIRE(all.prekey_bundles().bundles_size() == 3);
    std::map<std::uint32_t, std::set<std::uint32_t>> handed_out;
    for (const auto& b : all.prekey_bundles().bundles()) {
        CHECK(b.username() == "bob");
        CHECK(to_bytes(b.identity_key()) == f.users.at("bob").identity.key_pair.public_key);
        REQUIRE(b.has_one_time_prekey());
        handed_out[b.device_id()].insert(b.one_time_prekey().id());
    }
    CHECK(all.prekey_bundles().bundles(1).device_id() == 2);
    CHECK(all.prekey_bundles().bundles(1).registration_id() ==
          f.keys.at({"bob", 2}).registration_id);

    auto only_two = fetch({2});
    REQUIRE(only_two.prekey_bundles().bundles_size() == 1);
    const auto& b2 = only_two.prekey_bundles().bundles(0);
    CHECK(b2.device_id() == 2);
    REQUIRE(b2.has_one_time_prekey());
    CHECK(handed_out[2].insert(b2.one_time_prekey().id()).second); // never the same one twice
    // Device 2 had two: the third fetch finds none left.
    auto exhausted = fetch({2});
    CHECK_FALSE(exhausted.prekey_bundles().bundles(0).has_one_time_prekey());
    CHECK(exhausted.prekey_bundles().bundles(0).signed_prekey().public_key().size() == 33);

    REQUIRE(f.remove("bob", 1, 3)[0].has_ok());
    auto after = fetch({});
    REQUIRE(after.prekey_bundles().bundles_size() == 2);
    CHECK(after.prekey_bundles().bundles(0).device_id() == 1);
    CHECK(after.prekey_bundles().bundles(1).device_id() == 2);
    CHECK(fetch({2, 3, 7}).prekey_bundles().bundles_size() == 1);
    CHECK(error_code(fetch({3})) == wire::Error::NOT_FOUND);
    CHECK(error_code(fetch({9})) == wire::Error::NOT_FOUND);

    auto e = request(f.next_id++);
    e.mutable_prekey_fetch()->set_username("nobody");
    CHECK(error_code(f.as("alice", 1, e)[0]) == wire::Error::NOT_FOUND);
}

// ---- Groups --------------------------------------------------------------------------------

namespace {

// A group of alice (admin) and bob, created by alice's device 1.
struct DeviceGroup : Devices {
    std::string group_id = std::string(protocol::kGroupIdBytes, 'D');
    std::string state;

    void create_group(const std::vector<std::string>& members, std::uint32_t via = 1) {
        wire::GroupState s;
        s.set_group_id(group_id);
        s.set_revision(1);
        for (const auto& name : members) {
            auto* m = s.add_members();
            m->set_username(name);
            m->set_admin(name == "alice");
        }
        state = s.SerializeAsString();
        auto e = request(next_id++);
        auto* c = e.mutable_group_update_request()->mutable_change();
        c->set_state(state);
        c->set_signer("alice");
        c->set_signature(to_str(sign(users.at("alice"), protocol::group_signed_bytes(state))));
        auto r = as("alice", via, e);
        INFO((r[0].has_error() ? r[0].error().message() : ""));
        REQUIRE(r[0].has_group_update_result());
    }

    wire::Envelope group_send(std::uint8_t id, const std::string& digest) {
        auto e = request(next_id++);
        auto* s = e.mutable_group_send_request();
        s->set_group_id(group_id);
        s->set_message_id(to_str(message_id(id)));
        s->set_revision(1);
        s->set_ciphertext("sender key message");
        s->set_devices_digest(digest);
        return e;
    }

    static std::string digest_of(const std::vector<DeviceKey>& devices) {
        std::string input;
        for (const auto& [name, id] : devices) {
            input += name;
            input.push_back('\0');
            for (int shift = 24; shift >= 0; shift -= 8)
                input.push_back(static_cast<char>(id >> shift));
        }
        return sha256(input);
    }
};

} // namespace

TEST_CASE("a group message reaches every device of the other members and the sender's own "
          "other devices") {
    DeviceGroup f;
    f.create("alice");
    f.add("alice");
    f.create("bob");
    f.add("bob");
    f.create_group({"alice", "bob"});

    REQUIRE(f.as("alice", 1, f.group_send(1, ""))[0].has_group_send_result());
    for (const auto& [name, id] : std::vector<DeviceKey>{{"alice", 2}, {"bob", 1}, {"bob", 2}}) {
        INFO(name << " " << id);
        auto queued = f.mailbox(name, id);
        REQUIRE(queued.size() == 2); // the group's creation, then the message
        CHECK(queued[1].group_id == to_bytes(f.group_id));
        CHECK(to_str(queued[1].ciphertext) == "sender key message");
    }
    CHECK(f.mailbox("alice", 1).size() == 1); // the change only
}

TEST_CASE("a group change reaches every device of the signer and of the members") {
    DeviceGroup f;
    f.create("alice");
    f.add("alice");
    f.add("alice");
    f.create("bob");
    f.add("bob");
    REQUIRE(f.connect("alice", 2)[0].has_auth_result());
    f.router.pushes.clear();
    f.create_group({"alice", "bob"}, 2);
    for (const auto& key :
         std::vector<DeviceKey>{{"alice", 1}, {"alice", 2}, {"alice", 3}, {"bob", 1}, {"bob", 2}})
        CHECK(f.mailbox(key.first, key.second).size() == 1);
}

TEST_CASE("a group change still verifies once the signer's device 1 is removed") {
    DeviceGroup f;
    f.create("alice");
    f.add("alice");
    f.create("bob");
    REQUIRE(f.connect("alice", 2)[0].has_auth_result());
    REQUIRE(f.remove("alice", 2, 1)[0].has_ok());
    f.create_group({"alice", "bob"}, 2);
}

TEST_CASE("a group send's device digest must match the relay's recipients, else the relay "
          "lists them") {
    DeviceGroup f;
    f.create("alice");
    f.add("alice");
    f.add("alice");
    f.create("bob");
    f.add("bob");
    f.create("carol");
    f.create_group({"alice", "bob", "carol"});
    REQUIRE(f.remove("alice", 1, 2)[0].has_ok());

    // The sender's own other devices and every device of the others, sorted.
    const auto right = DeviceGroup::digest_of({{"alice", 3}, {"bob", 1}, {"bob", 2}, {"carol", 1}});
    const auto stale =
        DeviceGroup::digest_of({{"alice", 2}, {"alice", 3}, {"bob", 1}, {"bob", 2}, {"carol", 1}});

    auto refused = f.as("alice", 1, f.group_send(1, stale));
    REQUIRE(refused.size() == 1);
    REQUIRE(error_code(refused[0]) == wire::Error::MISMATCHED_DEVICES);
    const auto& listed = refused[0].error().group_devices();
    REQUIRE(listed.size() == 3);
    CHECK(listed[0].username() == "alice");
    CHECK(ids_of(listed[0].device_ids()) == DeviceIds{3});
    CHECK(listed[1].username() == "bob");
    CHECK(ids_of(listed[1].device_ids()) == DeviceIds{1, 2});
    CHECK(listed[2].username() == "carol");
    CHECK(ids_of(listed[2].device_ids()) == DeviceIds{1});
    CHECK(f.count("SELECT COUNT(*) FROM payloads") == 0);

    REQUIRE(f.as("alice", 1, f.group_send(1, right))[0].has_group_send_result());
    CHECK(f.count("SELECT COUNT(*) FROM payloads") == 1);
    CHECK(f.mailbox("alice", 3).size() == 2);
    CHECK(f.count("SELECT COUNT(*) FROM mailbox m JOIN devices d ON d.id = m.device"
                  " WHERE d.removed_ms IS NOT NULL") == 0);
}

// ---- Link channels -------------------------------------------------------------------------

namespace {

struct Links : Devices {
    explicit Links(RelayService::Options options = {})
        : Devices(options) {
        create("alice");
        add("alice");
        REQUIRE(connect("alice", 2)[0].has_auth_result());
    }

    Session fresh{next_connection++}; // the new device, not authenticated

    std::string open(Session& session) {
        auto e = request(next_id++);
        e.mutable_link_open_request();
        auto r = call(session, e);
        REQUIRE(r.size() == 1);
        INFO((r[0].has_error() ? r[0].error().message() : ""));
        REQUIRE(r[0].has_link_opened());
        return r[0].link_opened().channel();
    }

    wire::Envelope link_send(Session& session, const std::string& channel,
                             const std::string& payload, bool first) {
        auto e = request(next_id++);
        auto* l = e.mutable_link_send_request();
        l->set_channel(channel);
        l->set_payload(payload);
        l->set_first(first);
        auto r = call(session, e);
        REQUIRE(r.size() == 1);
        return r[0];
    }

    // The payloads pushed to connection, in order.
    std::vector<std::string> received(const Session& session) {
        std::vector<std::string> out;
        for (const auto& [connection, e] : router.connection_pushes) {
            if (connection != session.connection_id)
                continue;
            REQUIRE(e.has_link_message());
            CHECK(e.request_id() == 0);
            out.push_back(e.link_message().payload());
        }
        return out;
    }

    Session& device(std::uint32_t id) { return *online.at({"alice", id}); }
};

} // namespace

TEST_CASE("a link channel is opened by an unauthenticated connection only") {
    Links f;
    auto e = request(f.next_id++);
    e.mutable_link_open_request();
    auto r = f.call(f.fresh, e);
    REQUIRE(r[0].has_link_opened());
    CHECK(r[0].link_opened().channel().size() == protocol::kLinkChannelBytes);
    CHECK(r[0].link_opened().expires_in_ms() == protocol::kDefaultLinkTimeoutMs);

    CHECK(error_code(f.call(f.device(1), e)[0]) == wire::Error::ALREADY_AUTHENTICATED);
}

TEST_CASE("an authenticated device joins a link channel once and payloads pass both ways in "
          "order") {
    Links f;
    const auto channel = f.open(f.fresh);

    // The new device cannot talk into the channel before someone joined it.
    CHECK(error_code(f.link_send(f.fresh, channel, "early", false)) == wire::Error::NOT_FOUND);
    // Joining needs an authenticated device.
    Session stranger(f.next_connection++);
    CHECK(error_code(f.link_send(stranger, channel, "hi", true)) == wire::Error::NOT_AUTHENTICATED);

    CHECK(f.link_send(f.device(1), channel, "hello from 1", true).has_ok());
    CHECK(f.link_send(f.fresh, channel, "keys", false).has_ok());
    CHECK(f.link_send(f.device(1), channel, "account", false).has_ok());
    CHECK(f.link_send(f.device(1), channel, "history", false).has_ok());
    CHECK(f.received(f.fresh) == std::vector<std::string>{"hello from 1", "account", "history"});
    CHECK(f.received(f.device(1)) == std::vector<std::string>{"keys"});
    for (const auto& [connection, e] : f.router.connection_pushes)
        CHECK(e.link_message().channel() == channel);

    // A code works once: neither another device nor the same one joins again.
    CHECK(error_code(f.link_send(f.device(2), channel, "me too", true)) ==
          wire::Error::LINK_EXPIRED);
    CHECK(error_code(f.link_send(f.device(1), channel, "again", true)) ==
          wire::Error::LINK_EXPIRED);
    // A third connection cannot talk into it.
    auto third = f.link_send(f.device(2), channel, "sneak", false);
    CHECK(error_code(third) == wire::Error::LINK_EXPIRED);
    CHECK(third.error().message() == "This link code has expired or was already used.");
    CHECK(f.received(f.fresh).size() == 3);
}

TEST_CASE("a link channel nobody joined expires after the link timeout, by the relay's clock") {
    RelayService::Options options;
    options.link_timeout_ms = 60'000;
    Links f(options);
    const auto channel = f.open(f.fresh);
    f.clock.advance(60'000);
    CHECK(error_code(f.link_send(f.device(1), channel, "late", true)) == wire::Error::LINK_EXPIRED);

    Session other(f.next_connection++);
    const auto second = f.open(other);
    f.clock.advance(59'999);
    CHECK(f.link_send(f.device(1), second, "in time", true).has_ok());
}

TEST_CASE("an unknown link channel is LINK_EXPIRED") {
    Links f;
    CHECK(error_code(f.link_send(f.device(1), "\x01\x02\x03\x04\x05", "x", true)) ==
          wire::Error::LINK_EXPIRED);
    CHECK(error_code(f.link_send(f.device(1), "\x01\x02\x03\x04\x05", "x", false)) ==
          wire::Error::LINK_EXPIRED);
}

TEST_CASE("a link channel dies with either end's connection") {
    Links f;
    // The new device gives up before anyone joined: the code is gone.
    const auto unjoined = f.open(f.fresh);
    f.service->close(f.fresh);
    CHECK(error_code(f.link_send(f.device(1), unjoined, "hi", true)) == wire::Error::LINK_EXPIRED);

    // After the join, the remaining end learns that the other is gone.
    Session newcomer(f.next_connection++);
    const auto joined = f.open(newcomer);
    REQUIRE(f.link_send(f.device(1), joined, "hi", true).has_ok());
    f.service->close(newcomer);
    CHECK(error_code(f.link_send(f.device(1), joined, "still there?", false)) ==
          wire::Error::NOT_FOUND);

    Session third(f.next_connection++);
    const auto channel = f.open(third);
    REQUIRE(f.link_send(f.device(2), channel, "hi", true).has_ok());
    f.router.connection_pushes.clear();
    f.service->close(f.device(2));
    CHECK(error_code(f.link_send(third, channel, "keys", false)) == wire::Error::NOT_FOUND);
    // ... and is told at once, so that it stops waiting.
    REQUIRE(f.router.connection_pushes.size() == 1);
    CHECK(f.router.connection_pushes[0].first == third.connection_id);
    const auto& notice = f.router.connection_pushes[0].second.link_message();
    CHECK(notice.closed());
    CHECK(notice.payload().empty());
    CHECK(notice.channel() == channel);
    f.service->close(third);
}

TEST_CASE("a new link open replaces the connection's earlier channel") {
    Links f;
    const auto first = f.open(f.fresh);
    const auto second = f.open(f.fresh);
    CHECK(first != second);
    CHECK(error_code(f.link_send(f.device(1), first, "hi", true)) == wire::Error::LINK_EXPIRED);
    CHECK(f.link_send(f.device(1), second, "hi", true).has_ok());
}

TEST_CASE("the relay holds a bounded number of link channels and frees expired ones") {
    RelayService::Options options;
    options.max_link_channels = 2;
    options.link_timeout_ms = 1000;
    Links f(options);
    Session a(f.next_connection++), b(f.next_connection++), c(f.next_connection++);
    f.open(a);
    f.open(b);
    auto e = request(f.next_id++);
    e.mutable_link_open_request();
    auto refused = f.call(c, e);
    CHECK(error_code(refused[0]) == wire::Error::RATE_LIMITED);
    CHECK(refused[0].error().retry_after_ms() > 0);

    f.clock.advance(1000);
    f.open(c);
}

TEST_CASE("one address cannot hold every link channel: others can still open theirs") {
    RelayService::Options options;
    options.max_link_channels_per_address = 3;
    options.link_timeout_ms = 1000;
    Links f(options);
    std::vector<std::unique_ptr<Session>> flood;
    for (int i = 0; i < 3; ++i) {
        flood.push_back(std::make_unique<Session>(f.next_connection++));
        flood.back()->peer_address = "192.0.2.7";
        f.open(*flood.back());
    }
    Session one_more(f.next_connection++);
    one_more.peer_address = "192.0.2.7";
    auto e = request(f.next_id++);
    e.mutable_link_open_request();
    auto refused = f.call(one_more, e);
    CHECK(error_code(refused[0]) == wire::Error::RATE_LIMITED);
    CHECK(refused[0].error().message().find("this address") != std::string::npos);

    Session elsewhere(f.next_connection++);
    elsewhere.peer_address = "198.51.100.4";
    f.open(elsewhere);
    // A channel that goes frees its place.
    f.service->close(*flood.front());
    f.open(one_more);
}

TEST_CASE("a link channel's ends are connections: a new device that authenticates keeps its "
          "channel") {
    Links f;
    const auto channel = f.open(f.fresh);
    REQUIRE(f.link_send(f.device(1), channel, "account", true).has_ok());
    // The new device, added as device 3, logs in on the same connection and history follows.
    const std::uint32_t added = f.add("alice");
    REQUIRE(f.auth_as(f.fresh, "alice", added)[0].has_auth_result());
    CHECK(f.link_send(f.device(1), channel, "history", false).has_ok());
    CHECK(f.link_send(f.fresh, channel, "thanks", false).has_ok());
    CHECK(f.received(f.fresh) == std::vector<std::string>{"account", "history"});
}
