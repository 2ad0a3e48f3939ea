// Issue #4 against the real relay binary: a group of 1024 members created with one signed
// change, then one group message that the relay stores once and fans out to every other
// member's device. Lean clients (wire_peer.h) in this process, one epoll set; every barrier is a
// round trip, never a sleep.
#include "server/relay_fixture.h"
#include "server/transport/wire_client.h"
#include "server/transport/wire_peer.h"

#include "core/sqlite_db.h"
#include "protocol/group_rules.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <functional>

using namespace veil;
using namespace veil::relay;
using namespace veil::relay::test;

namespace {

std::string member_name(std::size_t index) {
    return "m" + std::to_string(index);
}

struct Member {
    enum class Phase { upgrading, challenged, registering, ready, barrier, done };
    Peer peer;
    Phase phase = Phase::upgrading;
    std::size_t changes = 0;  // Delivers carrying the group change
    std::size_t messages = 0; // Delivers carrying the group message, intact
    std::size_t foreign = 0;  // anything else delivered
    std::size_t errors = 0;
    std::optional<wire::Envelope> answer; // the group update or send answer (member 0)
};

std::uint64_t file_size_or_zero(const std::filesystem::path& path) {
    std::error_code ec;
    auto size = std::filesystem::file_size(path, ec);
    return ec ? 0 : size;
}

} // namespace

TEST_CASE("a group of 1024 members gets one message on every other member's device exactly "
          "once and the relay stores it once") {
    constexpr std::size_t kMembers = protocol::kMaxGroupMembers;
    constexpr std::size_t kHandshakeWindow = 128;
    constexpr std::size_t kCiphertextBytes = 64 * 1024;
    const std::string group_id(protocol::kGroupIdBytes, 'g');
    const std::string ciphertext(kCiphertextBytes, 'c');
    const std::string message_id(protocol::kMessageIdBytes, 'M');

    TempDir dir("veil-group");
    RelayProcess relay(dir.path());
    RelayFixture keys;
    // One identity signs for every account (each registration still signs the relay's fresh
    // nonce), so member 0's registered key is this one and signs the group change.
    TestUser shared = keys.make_user("shared", 0);

    std::vector<std::unique_ptr<Member>> members;
    for (std::size_t i = 0; i < kMembers; ++i)
        members.push_back(std::make_unique<Member>());
    PeerLoop loop;
    std::size_t launched = 0, in_handshake = 0, ready = 0, ended = 0;
    std::string first_end;

    auto on_envelope = [&](std::size_t index, const wire::Envelope& e) {
        Member& m = *members[index];
        if (m.phase == Member::Phase::challenged) {
            REQUIRE(e.has_challenge());
            shared.username = member_name(index);
            m.peer.queue(keys.register_request(shared, to_bytes(e.challenge().nonce())));
            m.phase = Member::Phase::registering;
        } else if (m.phase == Member::Phase::registering) {
            if (e.has_auth_result())
                return;
            REQUIRE(e.has_queue_drained());
            m.phase = Member::Phase::ready;
            --in_handshake;
            ++ready;
        } else if (e.has_deliver()) {
            const auto& d = e.deliver();
            if (d.has_group_change() && d.type() == wire::CIPHERTEXT_NONE &&
                d.group_id() == group_id && d.from_username() == member_name(0))
                ++m.changes;
            else if (d.type() == wire::CIPHERTEXT_SENDER_KEY && d.group_id() == group_id &&
                     d.message_id() == message_id && d.ciphertext() == ciphertext &&
                     d.from_username() == member_name(0))
                ++m.messages;
            else
                ++m.foreign;
            // Nothing is acked: the relay keeps every delivery, so that its database shows
            // what the fan-out stored.
        } else if (e.has_error()) {
            ++m.errors;
            m.answer = e;
        } else if (e.has_group_update_result() || e.has_group_send_result()) {
            m.answer = e;
        }
    };

    // Runs the loop until done() or the deadline; returns false on the deadline.
    auto run_until = [&](const std::function<bool()>& done, Deadline deadline) {
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline)
                return false;
            while (launched < kMembers && in_handshake < kHandshakeWindow) {
                members[launched]->peer.start(relay.port());
                loop.add(members[launched]->peer, launched);
                ++launched;
                ++in_handshake;
            }
            for (std::size_t index : loop.wait()) {
                Member& m = *members[index];
                m.peer.flush();
                const bool was_upgraded = m.peer.upgraded();
                m.peer.read_once();
                if (!was_upgraded && m.peer.upgraded()) {
                    auto challenge = request(keys.next_id++);
                    challenge.mutable_challenge_request();
                    m.peer.queue(challenge);
                    m.phase = Member::Phase::challenged;
                }
                std::vector<wire::Envelope> envelopes;
                envelopes.swap(m.peer.envelopes);
                for (const auto& e : envelopes)
                    on_envelope(index, e);
                for (const auto& pong : m.peer.pongs)
                    if (m.phase == Member::Phase::barrier && pong == "barrier")
                        m.phase = Member::Phase::done;
                m.peer.pongs.clear();
                if (m.peer.ended()) {
                    if (first_end.empty())
                        first_end = member_name(index) + ": " + m.peer.end_reason();
                    ++ended;
                    loop.remove(m.peer, index);
                    continue;
                }
                m.peer.flush();
                loop.settle(m.peer, index);
            }
        }
        return true;
    };
    auto send_from_first = [&](const wire::Envelope& e) {
        members[0]->answer.reset();
        members[0]->peer.queue(e);
        members[0]->peer.flush();
        loop.settle(members[0]->peer, 0);
    };

    INFO("first connection end: " << first_end);
    REQUIRE(run_until([&] { return ready == kMembers || ended > 0; }, after(120s)));
    REQUIRE(ready == kMembers);

    // Member 0 creates the group of all 1024, as its admin.
    wire::GroupState state;
    state.set_group_id(group_id);
    state.set_revision(1);
    std::vector<std::string> names;
    for (std::size_t i = 0; i < kMembers; ++i)
        names.push_back(member_name(i));
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
        auto* entry = state.add_members();
        entry->set_username(name);
        entry->set_admin(name == member_name(0));
    }
    auto update = request(keys.next_id++);
    auto* change = update.mutable_group_update_request()->mutable_change();
    change->set_state(state.SerializeAsString());
    change->set_signer(member_name(0));
    change->set_signature(to_str(keys.sign(shared, protocol::group_signed_bytes(change->state()))));
    send_from_first(update);
    auto every_member_has = [&](auto count) {
        for (const auto& m : members)
            if (count(*m) == 0)
                return false;
        return true;
    };
    REQUIRE(run_until(
        [&] {
            return ended > 0 || (members[0]->answer &&
                                 every_member_has([](const Member& m) { return m.changes; }));
        },
        after(60s)));
    REQUIRE(members[0]->answer);
    INFO("answer to the change: " << members[0]->answer->ShortDebugString().substr(0, 200));
    REQUIRE(members[0]->answer->has_group_update_result());

    // One group message from member 0, 64 KiB, to the other 1023.
    auto send = request(keys.next_id++);
    auto* s = send.mutable_group_send_request();
    s->set_group_id(group_id);
    s->set_message_id(message_id);
    s->set_revision(1);
    s->set_ciphertext(ciphertext);
    send_from_first(send);
    REQUIRE(run_until(
        [&] {
            if (ended > 0 || !members[0]->answer)
                return ended > 0;
            for (std::size_t i = 1; i < kMembers; ++i)
                if (members[i]->messages == 0)
                    return false;
            return true;
        },
        after(60s)));
    REQUIRE(members[0]->answer->has_group_send_result());
    CHECK(members[0]->answer->group_send_result().unreachable().empty());

    // A ping round trip on every connection: a duplicate pushed for anyone would come first.
    for (std::size_t i = 0; i < kMembers; ++i) {
        members[i]->phase = Member::Phase::barrier;
        members[i]->peer.queue_frame(ws::Opcode::ping, to_bytes("barrier"));
        members[i]->peer.flush();
        loop.settle(members[i]->peer, i);
    }
    REQUIRE(run_until(
        [&] {
            if (ended > 0)
                return true;
            for (const auto& m : members)
                if (m->phase != Member::Phase::done)
                    return false;
            return true;
        },
        after(60s)));

    std::size_t changes = 0, messages = 0, foreign = 0, errors = 0, twice = 0;
    for (const auto& m : members) {
        changes += m->changes;
        messages += m->messages;
        foreign += m->foreign;
        errors += m->errors;
        twice += (m->messages > 1 || m->changes > 1) ? 1 : 0;
    }
    CHECK(ended == 0);
    CHECK(errors == 0);
    CHECK(foreign == 0);
    CHECK(twice == 0);
    CHECK(changes == kMembers);       // the change went to every member, its signer too
    CHECK(members[0]->messages == 0); // never back to the sender
    CHECK(messages == kMembers - 1);  // and to every other member's device once

    // The relay's database: one payload of 64 KiB, 1023 mailbox rows that reference it and
    // carry no ciphertext, and a file far smaller than 1023 copies would make.
    members.clear();
    relay.process().signal(SIGTERM);
    REQUIRE(relay.process().wait(30s) == 0);
    const auto path = dir.path() / "relay" / "relay.db";
    const std::uint64_t bytes = file_size_or_zero(path) + file_size_or_zero(path.string() + "-wal");
    SqliteDb db(path.string());
    CHECK(db.query_int64("SELECT COUNT(*) FROM payloads") == 1);
    CHECK(db.query_int64("SELECT SUM(length(ciphertext)) FROM payloads") ==
          std::int64_t{kCiphertextBytes});
    CHECK(db.query_int64("SELECT COUNT(*) FROM mailbox WHERE payload IS NOT NULL") ==
          std::int64_t{kMembers - 1});
    CHECK(db.query_int64("SELECT SUM(length(ciphertext)) FROM mailbox") == 0);
    INFO("relay.db and its WAL hold " << bytes << " bytes");
    CHECK(bytes < 16 * kCiphertextBytes); // 1023 copies would be 64 MiB
}
