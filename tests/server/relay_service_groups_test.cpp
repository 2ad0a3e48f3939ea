// The relay's side of groups (veil.proto, "Groups"): signed membership changes checked against
// the stored state and the signer's registered key, group sends stored once and fanned out to
// every other member's devices, fetches for members and former members. Real SqliteStore files
// and real signatures.
#include "relay_fixture.h"

#include "core/sqlite_db.h"
#include "protocol/group_rules.h"

#include <openssl/evp.h>

#include <set>

using namespace veil;
using namespace veil::relay;
using namespace veil::relay::test;

namespace {

using Members = std::vector<std::pair<std::string, bool>>; // (username, admin), sorted

std::span<const std::uint8_t> as_span(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

wire::Error::Code error_code(const wire::Envelope& e) {
    REQUIRE(e.has_error());
    return e.error().code();
}

std::string sha256(const std::string& data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    REQUIRE(EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) == 1);
    return std::string(reinterpret_cast<const char*>(digest), size);
}

std::string revision_bytes(std::uint64_t revision) {
    std::string out;
    for (int shift = 56; shift >= 0; shift -= 8)
        out.push_back(static_cast<char>(revision >> shift));
    return out;
}

// Users registered on the relay, each online on its own session unless registered offline, and
// one group they build change by change with real signatures.
struct Groups : RelayFixture {
    explicit Groups(RelayService::Options options = {})
        : RelayFixture(options) {}

    std::map<std::string, TestUser> users;
    std::map<std::string, std::unique_ptr<Session>> sessions;
    std::string group_id = std::string(protocol::kGroupIdBytes, 'G');
    std::string current_state; // the last state accepted, serialized
    std::uint64_t revision = 0;
    bool async = false; // requests go through the group commit (and commit_pending)

    void online(const std::string& name) {
        users.emplace(name, make_user(name, 0));
        sessions[name] = std::make_unique<Session>(next_connection++);
        REQUIRE(register_user(*sessions[name], users.at(name))[0].has_auth_result());
    }
    void offline(const std::string& name) {
        users.emplace(name, make_user(name, 0));
        register_offline(users.at(name));
    }

    std::vector<wire::Envelope> as(const std::string& name, const wire::Envelope& e) {
        if (!async)
            return call(*sessions.at(name), e);
        std::optional<std::vector<Bytes>> answer;
        auto direct = service->handle(*sessions.at(name), protocol::encode_envelope(e),
                                      [&](std::vector<Bytes> frames) { answer = frames; });
        if (direct)
            return parse_all(*direct);
        while (!answer && service->commit_pending() > 0) {
        }
        REQUIRE(answer);
        return parse_all(*answer);
    }

    std::string state(std::uint64_t rev, const Members& members, const std::string& previous) {
        wire::GroupState s;
        s.set_group_id(group_id);
        s.set_revision(rev);
        for (const auto& [name, admin] : members) {
            auto* m = s.add_members();
            m->set_username(name);
            m->set_admin(admin);
        }
        if (rev > 1)
            s.set_previous_hash(sha256(previous));
        return s.SerializeAsString();
    }

    // A change to the next revision after the current one, signed by signer's own key.
    wire::Envelope change(const std::string& signer, const Members& members) {
        return change_at(revision + 1, signer, members, current_state, users.at(signer));
    }
    wire::Envelope change_at(std::uint64_t rev, const std::string& signer, const Members& members,
                             const std::string& previous, const TestUser& key) {
        auto e = request(next_id++);
        auto* c = e.mutable_group_update_request()->mutable_change();
        c->set_state(state(rev, members, previous));
        c->set_signer(signer);
        c->set_signature(to_str(sign(key, protocol::group_signed_bytes(c->state()))));
        return e;
    }

    // Sends a change as signer and requires it to be accepted.
    void apply(const std::string& signer, const Members& members) {
        auto e = change(signer, members);
        auto r = as(signer, e);
        REQUIRE(r.size() == 1);
        INFO((r[0].has_error() ? r[0].error().message() : ""));
        REQUIRE(r[0].has_group_update_result());
        CHECK(r[0].group_update_result().revision() == revision + 1);
        ++revision;
        current_state = e.group_update_request().change().state();
    }

    wire::Envelope group_send(std::uint8_t id, const std::string& ciphertext,
                              std::uint64_t rev = 0) {
        auto e = request(next_id++);
        auto* s = e.mutable_group_send_request();
        s->set_group_id(group_id);
        s->set_message_id(to_str(message_id(id)));
        s->set_revision(rev ? rev : revision);
        s->set_ciphertext(ciphertext);
        return e;
    }

    wire::Envelope fetch(std::uint64_t after) {
        auto e = request(next_id++);
        e.mutable_group_fetch_request()->set_group_id(group_id);
        e.mutable_group_fetch_request()->set_after_revision(after);
        return e;
    }

    std::vector<Push> pushes_to(const std::string& name) {
        std::vector<Push> out;
        for (const auto& p : router.pushes)
            if (p.username == name)
                out.push_back(p);
        return out;
    }

    std::vector<StoredEnvelope> mailbox(const std::string& name) {
        auto queued = store->queued(name, 1, 0, 1000);
        REQUIRE(queued);
        return *queued;
    }
};

} // namespace

TEST_CASE("creating a group delivers the signed change to every member online or offline") {
    Groups f;
    f.online("alice");
    f.online("bob");
    f.offline("carol");
    f.router.pushes.clear();

    auto e = f.change("alice", {{"alice", true}, {"bob", false}, {"carol", false}});
    auto r = f.as("alice", e);
    REQUIRE(r.size() == 1);
    REQUIRE(r[0].has_group_update_result());
    CHECK(r[0].group_update_result().revision() == 1);

    const auto& sent = e.group_update_request().change();
    for (const char* name : {"alice", "bob"}) {
        auto pushes = f.pushes_to(name);
        REQUIRE(pushes.size() == 1);
        const auto& d = pushes[0].deliver.deliver();
        CHECK(d.type() == wire::CIPHERTEXT_NONE);
        CHECK(d.from_username() == "alice");
        CHECK(d.message_id() == revision_bytes(1));
        CHECK(d.group_id() == f.group_id);
        CHECK(d.group_change().state() == sent.state());
        CHECK(d.group_change().signer() == "alice");
        CHECK(d.group_change().signature() == sent.signature());
        CHECK(d.ciphertext().empty());
    }

    // carol gets it from her mailbox when she connects.
    Session carol(77);
    auto drained = f.auth(carol, f.users.at("carol"));
    REQUIRE(drained.size() == 3);
    REQUIRE(drained[1].has_deliver());
    const auto& d = drained[1].deliver();
    CHECK(d.type() == wire::CIPHERTEXT_NONE);
    CHECK(d.from_username() == "alice");
    CHECK(d.message_id() == revision_bytes(1));
    CHECK(d.group_id() == f.group_id);
    CHECK(d.group_change().state() == sent.state());
    CHECK(d.group_change().signature() == sent.signature());
    CHECK(drained[2].has_queue_drained());
}

TEST_CASE("admins add and remove members and the removed member learns it was removed") {
    Groups f;
    for (const char* name : {"alice", "bob", "carol", "dave"})
        f.online(name);
    f.apply("alice", {{"alice", true}, {"bob", false}, {"carol", false}});
    f.apply("alice", {{"alice", true}, {"bob", false}, {"carol", false}, {"dave", false}});
    CHECK(f.pushes_to("dave").size() == 1);

    f.router.pushes.clear();
    f.apply("alice", {{"alice", true}, {"bob", false}, {"dave", false}});
    for (const char* name : {"alice", "bob", "carol", "dave"}) {
        auto pushes = f.pushes_to(name);
        REQUIRE(pushes.size() == 1);
        CHECK(pushes[0].deliver.deliver().message_id() == revision_bytes(3));
    }
}

TEST_CASE("a member who is not an admin may not change the members") {
    Groups f;
    for (const char* name : {"alice", "bob", "carol"})
        f.online(name);
    f.apply("alice", {{"alice", true}, {"bob", false}});
    f.router.pushes.clear();

    auto r = f.as("bob", f.change("bob", {{"alice", true}, {"bob", false}, {"carol", false}}));
    REQUIRE(r.size() == 1);
    CHECK(error_code(r[0]) == wire::Error::FORBIDDEN);
    // Nor may someone outside the group, nor may bob make himself an admin.
    r = f.as("carol", f.change("carol", {{"alice", true}, {"bob", false}, {"carol", true}}));
    CHECK(error_code(r[0]) == wire::Error::FORBIDDEN);
    r = f.as("bob", f.change("bob", {{"alice", true}, {"bob", true}}));
    CHECK(error_code(r[0]) == wire::Error::FORBIDDEN);
    CHECK(f.router.pushes.empty());
    CHECK(f.store->find_group(as_span(f.group_id)).value()->revision == 1);
}

TEST_CASE("a member may leave on their own and an admin may promote another") {
    Groups f;
    for (const char* name : {"alice", "bob", "carol"})
        f.online(name);
    f.apply("alice", {{"alice", true}, {"bob", false}, {"carol", false}});
    f.apply("bob", {{"alice", true}, {"carol", false}});                  // bob leaves
    f.apply("alice", {{"alice", true}, {"carol", true}});                 // carol becomes an admin
    f.apply("carol", {{"alice", true}, {"bob", false}, {"carol", true}}); // and adds bob back
    f.apply("alice", {{"bob", false}, {"carol", true}}); // an admin leaves, another remains
}

TEST_CASE("a change whose signature does not verify with the signer's key is refused") {
    Groups f;
    f.online("alice");
    f.online("mallory");
    const Members members{{"alice", true}, {"mallory", false}};

    // Signed by mallory's key in alice's name.
    auto forged = f.change_at(1, "alice", members, "", f.users.at("mallory"));
    auto r = f.as("mallory", forged);
    REQUIRE(r.size() == 1);
    CHECK(error_code(r[0]) == wire::Error::FORBIDDEN);

    // A valid signature over other bytes.
    auto tampered = f.change("alice", members);
    auto* c = tampered.mutable_group_update_request()->mutable_change();
    c->set_state(f.state(1, {{"alice", true}, {"mallory", true}}, ""));
    r = f.as("mallory", tampered);
    CHECK(error_code(r[0]) == wire::Error::FORBIDDEN);

    // A signer without an account.
    auto unknown = f.change_at(1, "nobody", members, "", f.users.at("alice"));
    r = f.as("alice", unknown);
    CHECK(error_code(r[0]) == wire::Error::FORBIDDEN);

    CHECK_FALSE(f.store->find_group(as_span(f.group_id)).value().has_value());
}

TEST_CASE("stale and skipped revisions are refused with STALE_REVISION and a second creation "
          "with CONFLICT") {
    Groups f;
    f.online("alice");
    f.online("bob");
    f.apply("alice", {{"alice", true}});
    const std::string first = f.current_state;
    auto second = f.change("alice", {{"alice", true}, {"bob", false}});
    REQUIRE(f.as("alice", second)[0].has_group_update_result());

    // The same change again is answered as before, with nothing delivered twice.
    f.router.pushes.clear();
    auto again = f.as("alice", second);
    REQUIRE(again[0].has_group_update_result());
    CHECK(again[0].group_update_result().revision() == 2);
    CHECK(f.router.pushes.empty());

    // Another change at revision 2 (built on revision 1) is stale.
    auto r = f.as("alice", f.change_at(2, "alice", {{"alice", true}}, first, f.users.at("alice")));
    CHECK(error_code(r[0]) == wire::Error::STALE_REVISION);
    // A change that skips revision 3.
    r = f.as("alice",
             f.change_at(4, "alice", {{"alice", true}},
                         second.group_update_request().change().state(), f.users.at("alice")));
    CHECK(error_code(r[0]) == wire::Error::STALE_REVISION);
    // Revision 1 of the same id, as another creation.
    r = f.as("bob", f.change_at(1, "bob", {{"bob", true}}, "", f.users.at("bob")));
    CHECK(error_code(r[0]) == wire::Error::CONFLICT);
    CHECK(f.store->find_group(as_span(f.group_id)).value()->revision == 2);
}

TEST_CASE("a change naming a member without an account is refused with NOT_FOUND") {
    Groups f;
    f.online("alice");
    auto r = f.as("alice", f.change("alice", {{"alice", true}, {"ghost", false}}));
    REQUIRE(r.size() == 1);
    CHECK(error_code(r[0]) == wire::Error::NOT_FOUND);
    CHECK_FALSE(f.store->find_group(as_span(f.group_id)).value().has_value());
}

TEST_CASE("a group send reaches every other member's device once and is stored once") {
    Groups f;
    f.online("alice");
    f.online("bob");
    f.offline("carol");
    f.offline("dave");
    f.apply("alice", {{"alice", true}, {"bob", false}, {"carol", false}, {"dave", false}});
    f.router.pushes.clear();

    auto r = f.as("alice", f.group_send(1, "sender key message"));
    REQUIRE(r.size() == 1);
    REQUIRE(r[0].has_group_send_result());
    CHECK(r[0].group_send_result().server_timestamp_ms() == std::uint64_t(f.clock.now_ms()));
    CHECK(r[0].group_send_result().unreachable().empty());

    // Pushed to every other member's device (offline ones have no connection, the router
    // drops those), never to the sender.
    std::set<std::string> pushed;
    for (const auto& p : f.router.pushes) {
        pushed.insert(p.username);
        const auto& d = p.deliver.deliver();
        CHECK(d.type() == wire::CIPHERTEXT_SENDER_KEY);
        CHECK(d.group_id() == f.group_id);
        CHECK(d.ciphertext() == "sender key message");
        CHECK(d.from_username() == "alice");
        CHECK(d.message_id() == to_str(message_id(1)));
    }
    CHECK(pushed == std::set<std::string>{"bob", "carol", "dave"});
    CHECK(f.pushes_to("bob").size() == 1);

    for (const char* name : {"carol", "dave"}) {
        auto queued = f.mailbox(name);
        REQUIRE(queued.size() == 2); // the creation, then the message
        CHECK(queued[1].ciphertext == to_bytes("sender key message"));
        CHECK(queued[1].group_id == to_bytes(f.group_id));
        CHECK(queued[1].type == std::uint32_t{wire::CIPHERTEXT_SENDER_KEY});
    }
    CHECK(f.mailbox("alice").size() == 1); // the creation only
    CHECK(f.count("SELECT COUNT(*) FROM payloads") == 1);
    CHECK(f.count("SELECT COUNT(*) FROM mailbox WHERE payload IS NOT NULL") == 3);
    CHECK(f.count("SELECT COALESCE(SUM(length(ciphertext)), 0) FROM mailbox") == 0);
}

TEST_CASE("a group send names the members who have no device as unreachable") {
    Groups f;
    f.online("alice");
    f.offline("bob");
    f.offline("erin");
    f.apply("alice", {{"alice", true}, {"bob", false}, {"erin", false}});
    {
        // erin's only device goes (as an unlinked device would).
        f.exec("DELETE FROM mailbox WHERE device IN (SELECT d.id FROM devices d JOIN accounts a"
               " ON a.id = d.account_id WHERE a.username = 'erin')");
        f.exec("DELETE FROM devices WHERE account_id ="
               " (SELECT id FROM accounts WHERE username = 'erin')");
    }
    auto r = f.as("alice", f.group_send(1, "hello"));
    REQUIRE(r[0].has_group_send_result());
    REQUIRE(r[0].group_send_result().unreachable_size() == 1);
    CHECK(r[0].group_send_result().unreachable(0) == "erin");
    CHECK(f.mailbox("bob").size() == 2);
}

TEST_CASE("a group send from someone who is not a member is refused with FORBIDDEN") {
    Groups f;
    f.online("alice");
    f.online("mallory");
    f.apply("alice", {{"alice", true}});
    f.router.pushes.clear();
    auto r = f.as("mallory", f.group_send(1, "let me in"));
    REQUIRE(r.size() == 1);
    CHECK(error_code(r[0]) == wire::Error::FORBIDDEN);
    // A group that does not exist looks the same.
    f.group_id = std::string(protocol::kGroupIdBytes, 'X');
    r = f.as("mallory", f.group_send(2, "anyone?"));
    CHECK(error_code(r[0]) == wire::Error::FORBIDDEN);
    CHECK(f.router.pushes.empty());
    CHECK(f.count("SELECT COUNT(*) FROM payloads") == 0);
}

TEST_CASE("a group send for an older revision is refused with STALE_REVISION") {
    Groups f;
    f.online("alice");
    f.online("bob");
    f.apply("alice", {{"alice", true}, {"bob", false}});
    f.apply("alice", {{"alice", true}, {"bob", true}});
    f.router.pushes.clear();
    auto r = f.as("bob", f.group_send(1, "old keys", 1));
    REQUIRE(r.size() == 1);
    CHECK(error_code(r[0]) == wire::Error::STALE_REVISION);
    r = f.as("bob", f.group_send(1, "too new", 3));
    CHECK(error_code(r[0]) == wire::Error::STALE_REVISION);
    CHECK(f.router.pushes.empty());
    // At the current revision it goes through, with the same message id.
    r = f.as("bob", f.group_send(1, "new keys", 2));
    CHECK(r[0].has_group_send_result());
}

TEST_CASE("a removed member gets the change that removed it and no later message") {
    Groups f;
    f.online("alice");
    f.online("bob");
    f.offline("carol");
    f.apply("alice", {{"alice", true}, {"bob", false}, {"carol", false}});
    f.apply("alice", {{"alice", true}, {"bob", false}}); // carol removed
    f.router.pushes.clear();
    REQUIRE(f.as("alice", f.group_send(1, "after carol left"))[0].has_group_send_result());
    CHECK(f.pushes_to("carol").empty());

    auto carols = f.mailbox("carol");
    REQUIRE(carols.size() == 2);
    REQUIRE(carols[1].change);
    CHECK(carols[1].change->revision == 2);
    CHECK(carols[1].message_id == to_bytes(revision_bytes(2)));

    // And her own sends are refused.
    Session carol(55);
    REQUIRE(f.auth(carol, f.users.at("carol"))[0].has_auth_result());
    f.sessions["carol"] = std::make_unique<Session>(std::move(carol));
    auto r = f.as("carol", f.group_send(2, "still here?"));
    CHECK(error_code(r[0]) == wire::Error::FORBIDDEN);
}

TEST_CASE("a retried group send is stored once and answered as the first time") {
    Groups f;
    f.online("alice");
    f.offline("bob");
    f.apply("alice", {{"alice", true}, {"bob", false}});
    auto first = f.as("alice", f.group_send(7, "once"));
    REQUIRE(first[0].has_group_send_result());
    f.clock.advance(1000);
    f.router.pushes.clear();

    auto retry = f.as("alice", f.group_send(7, "once"));
    REQUIRE(retry[0].has_group_send_result());
    CHECK(retry[0].group_send_result().server_timestamp_ms() ==
          first[0].group_send_result().server_timestamp_ms());
    CHECK(f.router.pushes.empty());
    CHECK(f.mailbox("bob").size() == 2);
    CHECK(f.count("SELECT COUNT(*) FROM payloads") == 1);

    // The same id for other content is a conflict.
    auto other = f.as("alice", f.group_send(7, "twice"));
    CHECK(error_code(other[0]) == wire::Error::CONFLICT);
}

TEST_CASE("members and former members fetch changes four at a time and others may not") {
    Groups f;
    for (const char* name : {"alice", "bob", "carol", "mallory"})
        f.online(name);
    f.apply("alice", {{"alice", true}, {"bob", false}, {"carol", false}});
    f.apply("alice", {{"alice", true}, {"carol", false}}); // bob removed at revision 2
    for (int i = 0; i < 4; ++i)
        f.apply("alice", {{"alice", true}, {"carol", i % 2 == 0}}); // revisions 3 to 6

    auto r = f.as("carol", f.fetch(0));
    REQUIRE(r[0].has_group_changes());
    REQUIRE(r[0].group_changes().changes_size() == 4);
    auto first = protocol::parse_group_state(r[0].group_changes().changes(0).state());
    REQUIRE(first);
    CHECK(first->revision() == 1);
    CHECK(r[0].group_changes().changes(0).signer() == "alice");
    r = f.as("carol", f.fetch(4));
    REQUIRE(r[0].group_changes().changes_size() == 2);
    CHECK(r[0].group_changes().changes(1).state() == f.current_state);
    r = f.as("carol", f.fetch(6));
    CHECK(r[0].group_changes().changes_size() == 0);

    // bob reads up to the change that removed him, nothing after it.
    r = f.as("bob", f.fetch(0));
    REQUIRE(r[0].has_group_changes());
    CHECK(r[0].group_changes().changes_size() == 2);
    r = f.as("bob", f.fetch(2));
    CHECK(r[0].group_changes().changes_size() == 0);

    r = f.as("mallory", f.fetch(0));
    CHECK(error_code(r[0]) == wire::Error::FORBIDDEN);
}

TEST_CASE("a group send through the group commit is pushed when queued and answered once "
          "durable") {
    RelayService::Options options;
    options.group_commit = true;
    options.commit_thread = false;
    Groups f(options);
    f.online("alice");
    f.online("bob");
    f.async = true;
    f.apply("alice", {{"alice", true}, {"bob", false}});
    f.router.pushes.clear();

    // The group send and a 1:1 send queued behind it: both pushed at once, with delivery ids in
    // queue order, and neither answered nor stored before the commit.
    std::optional<std::vector<Bytes>> answer;
    auto direct = f.service->handle(*f.sessions.at("alice"),
                                    protocol::encode_envelope(f.group_send(1, "batched")),
                                    [&](std::vector<Bytes> frames) { answer = frames; });
    REQUIRE_FALSE(direct);
    auto direct_1to1 = f.service->handle(
        *f.sessions.at("alice"),
        protocol::encode_envelope(f.send_request("bob", message_id(9), "one to one")),
        [](std::vector<Bytes>) {});
    REQUIRE_FALSE(direct_1to1);
    CHECK_FALSE(answer);
    CHECK(f.count("SELECT COUNT(*) FROM payloads") == 0);
    auto bobs = f.pushes_to("bob");
    REQUIRE(bobs.size() == 2);
    CHECK(bobs[0].deliver.deliver().group_id() == f.group_id);
    CHECK(bobs[0].deliver.deliver().ciphertext() == "batched");
    CHECK(bobs[0].deliver.deliver().delivery_id() < bobs[1].deliver.deliver().delivery_id());

    // A retry while the first is still queued is not pushed again.
    std::optional<std::vector<Bytes>> retry_answer;
    REQUIRE_FALSE(f.service->handle(*f.sessions.at("alice"),
                                    protocol::encode_envelope(f.group_send(1, "batched")),
                                    [&](std::vector<Bytes> frames) { retry_answer = frames; }));
    CHECK(f.pushes_to("bob").size() == 2);

    CHECK(f.service->commit_pending() == 3);
    REQUIRE(answer);
    CHECK(parse_all(*answer)[0].has_group_send_result());
    REQUIRE(retry_answer);
    CHECK(parse_all(*retry_answer)[0].has_group_send_result());
    CHECK(f.count("SELECT COUNT(*) FROM payloads") == 1);
    CHECK(f.pushes_to("bob").size() == 2); // nothing more after the commit
    auto queued = f.mailbox("bob");
    REQUIRE(queued.size() == 3);
    CHECK(queued[1].delivery_id == bobs[0].deliver.deliver().delivery_id());
    CHECK(queued[2].delivery_id == bobs[1].deliver.deliver().delivery_id());
}

TEST_CASE("a group change through the group commit is pushed only once durable") {
    RelayService::Options options;
    options.group_commit = true;
    options.commit_thread = false;
    Groups f(options);
    f.online("alice");
    f.online("bob");
    f.router.pushes.clear();

    auto e = f.change("alice", {{"alice", true}, {"bob", false}});
    std::optional<std::vector<Bytes>> answer;
    REQUIRE_FALSE(f.service->handle(*f.sessions.at("alice"), protocol::encode_envelope(e),
                                    [&](std::vector<Bytes> frames) { answer = frames; }));
    CHECK(f.router.pushes.empty());
    CHECK_FALSE(answer);
    CHECK(f.service->commit_pending() == 1);
    REQUIRE(answer);
    CHECK(parse_all(*answer)[0].has_group_update_result());
    CHECK(f.pushes_to("alice").size() == 1);
    CHECK(f.pushes_to("bob").size() == 1);
}
