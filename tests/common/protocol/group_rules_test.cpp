#include "protocol/envelope_codec.h"
#include "protocol/group_rules.h"

#include <catch2/catch.hpp>

#include <initializer_list>
#include <string>
#include <utility>

using namespace veil;
using namespace veil::protocol;

namespace {

const std::string kGroup(kGroupIdBytes, 'g');
const Bytes kHash(32, 0x42); // stands for SHA-256 of the previous state (the caller's job)

wire::GroupState state(std::uint64_t revision,
                       std::initializer_list<std::pair<const char*, bool>> members) {
    wire::GroupState s;
    s.set_group_id(kGroup);
    s.set_revision(revision);
    if (revision > 1)
        s.set_previous_hash(std::string(kHash.begin(), kHash.end()));
    for (const auto& [name, admin] : members) {
        auto* m = s.add_members();
        m->set_username(name);
        m->set_admin(admin);
    }
    return s;
}

std::string bytes_of(const wire::GroupState& s) {
    return s.SerializeAsString();
}

Errc code_of(const Status& st) {
    return st ? Errc::ok : st.error().code;
}

} // namespace

TEST_CASE("a well-formed group state parses, and malformed ones are refused with a reason") {
    auto good = state(1, {{"alice", true}, {"bob", false}});
    auto parsed = parse_group_state(bytes_of(good));
    REQUIRE(parsed);
    CHECK(parsed->members_size() == 2);

    CHECK(parse_group_state("").error().code == Errc::too_large);
    CHECK(parse_group_state("\xff\xff garbage").error().code == Errc::protocol);

    auto unsorted = state(1, {{"bob", true}, {"alice", false}});
    CHECK(parse_group_state(bytes_of(unsorted)).error().code == Errc::protocol);
    auto duplicate = state(1, {{"alice", true}, {"alice", false}});
    CHECK(parse_group_state(bytes_of(duplicate)).error().code == Errc::protocol);
    auto no_admin = state(1, {{"alice", false}, {"bob", false}});
    CHECK(parse_group_state(bytes_of(no_admin)).error().code == Errc::protocol);
    auto bad_name = state(1, {{"Alice!", true}});
    CHECK(parse_group_state(bytes_of(bad_name)).error().code == Errc::protocol);
    auto empty = state(1, {});
    CHECK(parse_group_state(bytes_of(empty)).error().code == Errc::protocol);
    auto short_id = good;
    short_id.set_group_id("short");
    CHECK(parse_group_state(bytes_of(short_id)).error().code == Errc::protocol);
    auto hash_at_one = good;
    hash_at_one.set_previous_hash(std::string(32, 'h'));
    CHECK(parse_group_state(bytes_of(hash_at_one)).error().code == Errc::protocol);
    auto no_hash_later = state(2, {{"alice", true}});
    no_hash_later.clear_previous_hash();
    CHECK(parse_group_state(bytes_of(no_hash_later)).error().code == Errc::protocol);
}

TEST_CASE("a group of 1024 members fits the limits and 1025 does not") {
    wire::GroupState s;
    s.set_group_id(kGroup);
    s.set_revision(1);
    for (int i = 0; i < 1025; ++i) {
        auto* m = s.add_members();
        // The longest names (32 bytes), sorted: the numbers all have four digits.
        m->set_username("member" + std::string(22, 'x') + std::to_string(1000 + i));
        m->set_admin(i == 0);
    }
    CHECK(parse_group_state(bytes_of(s)).error().code == Errc::protocol);
    s.mutable_members()->RemoveLast();
    const auto bytes = bytes_of(s);
    CHECK(bytes.size() <= kMaxGroupStateBytes);
    CHECK(parse_group_state(bytes));
}

TEST_CASE("only an admin member can create a group") {
    auto created = state(1, {{"alice", true}, {"bob", false}});
    CHECK(check_group_transition(std::nullopt, {}, created, "alice"));
    CHECK(code_of(check_group_transition(std::nullopt, {}, created, "bob")) == Errc::refused);
    CHECK(code_of(check_group_transition(std::nullopt, {}, created, "mallory")) == Errc::refused);
    auto later = state(2, {{"alice", true}});
    CHECK(code_of(check_group_transition(std::nullopt, {}, later, "alice")) == Errc::protocol);
}

TEST_CASE("admins change members and roles; members may only remove themselves") {
    const auto before = state(1, {{"alice", true}, {"bob", false}, {"carol", false}});

    auto add = state(2, {{"alice", true}, {"bob", false}, {"carol", false}, {"dave", false}});
    CHECK(check_group_transition(before, kHash, add, "alice"));
    CHECK(code_of(check_group_transition(before, kHash, add, "bob")) == Errc::refused);
    CHECK(code_of(check_group_transition(before, kHash, add, "dave")) == Errc::refused);

    auto promote = state(2, {{"alice", true}, {"bob", true}, {"carol", false}});
    CHECK(check_group_transition(before, kHash, promote, "alice"));
    CHECK(code_of(check_group_transition(before, kHash, promote, "bob")) == Errc::refused);

    auto bob_leaves = state(2, {{"alice", true}, {"carol", false}});
    CHECK(check_group_transition(before, kHash, bob_leaves, "bob"));
    CHECK(code_of(check_group_transition(before, kHash, bob_leaves, "carol")) == Errc::refused);
    CHECK(check_group_transition(before, kHash, bob_leaves, "alice")); // removed by an admin

    // Leaving while changing anything else is not leaving.
    auto leave_and_promote = state(2, {{"alice", true}, {"carol", true}});
    CHECK(code_of(check_group_transition(before, kHash, leave_and_promote, "bob")) ==
          Errc::refused);
}

TEST_CASE("a change must follow the current revision of the same group exactly") {
    const auto before = state(3, {{"alice", true}, {"bob", false}});
    auto next = state(4, {{"alice", true}});
    CHECK(check_group_transition(before, kHash, next, "alice"));

    auto replayed = state(3, {{"alice", true}});
    CHECK(code_of(check_group_transition(before, kHash, replayed, "alice")) ==
          Errc::already_exists);
    auto skipping = state(5, {{"alice", true}});
    CHECK(code_of(check_group_transition(before, kHash, skipping, "alice")) == Errc::protocol);
    const Bytes other_hash(32, 0x17);
    CHECK(code_of(check_group_transition(before, other_hash, next, "alice")) == Errc::protocol);
    auto other_group = next;
    other_group.set_group_id(std::string(kGroupIdBytes, 'o'));
    CHECK(code_of(check_group_transition(before, kHash, other_group, "alice")) == Errc::protocol);
}

TEST_CASE("the signed bytes are domain-separated from every other signature") {
    const auto bytes = group_signed_bytes("state");
    CHECK(std::string(bytes.begin(), bytes.end()) == "veil-group-v1state");
}

TEST_CASE("group requests are checked for sizes before anything else reads them") {
    wire::Envelope e;
    e.set_version(kProtocolVersion);
    e.set_request_id(1);
    auto* s = e.mutable_group_send_request();
    s->set_group_id(kGroup);
    s->set_message_id(std::string(kMessageIdBytes, 'm'));
    s->set_revision(1);
    s->set_ciphertext("opaque");
    CHECK(validate(e));
    s->set_group_id("short");
    CHECK_FALSE(validate(e));
    s->set_group_id(kGroup);
    s->set_revision(0);
    CHECK_FALSE(validate(e));
    s->set_revision(1);
    s->set_ciphertext(std::string(kMaxCiphertextBytes + 1, 'c'));
    CHECK(validate(e).error().code == Errc::too_large);

    wire::Envelope u;
    u.set_version(kProtocolVersion);
    u.set_request_id(2);
    auto* change = u.mutable_group_update_request()->mutable_change();
    change->set_state(bytes_of(state(1, {{"alice", true}})));
    change->set_signer("alice");
    change->set_signature(std::string(kSignatureBytes, 's'));
    CHECK(validate(u));
    change->set_signature("short");
    CHECK_FALSE(validate(u));
    change->set_signature(std::string(kSignatureBytes, 's'));
    change->set_state(std::string(kMaxGroupStateBytes + 1, 'x'));
    CHECK(validate(u).error().code == Errc::too_large);
}
