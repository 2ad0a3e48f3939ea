// Issue #4 against the real relay binary: a group of 1024 members created with one signed
// change, then group messages that the relay stores once each and fans out to every other
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

constexpr std::size_t kMembers = protocol::kMaxGroupMembers;
constexpr std::size_t kCiphertextBytes = 64 * 1024;

std::string member_name(std::size_t index) {
    return "m" + std::to_string(index);
}

// Message k of a test: its id ends in k, its 64 KiB ciphertext is one byte repeated, so that a
// delivery of one message with another's content is told apart.
std::string message_id(std::size_t k) {
    std::string id(protocol::kMessageIdBytes, 'M');
    id[id.size() - 2] = static_cast<char>('A' + k / 26);
    id[id.size() - 1] = static_cast<char>('a' + k % 26);
    return id;
}

std::string ciphertext(std::size_t k) {
    return std::string(kCiphertextBytes, static_cast<char>(k + 1));
}

struct Member {
    enum class Phase { upgrading, challenged, registering, ready, barrier, done };
    Peer peer;
    Phase phase = Phase::upgrading;
    std::size_t changes = 0;             // Delivers carrying the group change
    std::vector<std::uint32_t> messages; // Delivers of each group message, intact
    std::size_t foreign = 0;             // anything else delivered
    std::size_t errors = 0;
    std::vector<wire::Envelope> answers; // the group update and send answers (member 0)
};

std::uint64_t file_size_or_zero(const std::filesystem::path& path) {
    std::error_code ec;
    auto size = std::filesystem::file_size(path, ec);
    return ec ? 0 : size;
}

// A relay with kMembers connected and registered accounts, all in one group that member 0
// created as its admin. Nothing is ever acked: the relay keeps every delivery, so that its
// database shows what the fan-out stored.
class GroupOfMaxSize {
public:
    explicit GroupOfMaxSize(std::size_t message_count)
        : m_dir("veil-group")
        , m_relay(m_dir.path())
        , m_shared(keys.make_user("shared", 0)) {
        for (std::size_t k = 0; k < message_count; ++k) {
            m_ids.push_back(message_id(k));
            m_ciphertexts.push_back(ciphertext(k));
        }
        for (std::size_t i = 0; i < kMembers; ++i) {
            members.push_back(std::make_unique<Member>());
            members.back()->messages.assign(message_count, 0);
        }
    }

    RelayProcess& relay() { return m_relay; }
    const std::filesystem::path& dir() const { return m_dir.path(); }
    std::size_t ended() const { return m_ended; }
    const std::string& first_end() const { return m_first_end; }

    // Runs the loop until done() or the deadline; returns false on the deadline.
    bool run_until(const std::function<bool()>& done, Deadline deadline);

    void connect_all() {
        INFO("first connection end: " << m_first_end);
        REQUIRE(run_until([&] { return m_ready == kMembers || m_ended > 0; }, after(120s)));
        REQUIRE(m_ready == kMembers);
    }

    void create_group();

    // Queues group message k from member 0.
    void send_message(std::size_t k) {
        auto send = request(keys.next_id++);
        auto* s = send.mutable_group_send_request();
        s->set_group_id(m_group_id);
        s->set_message_id(m_ids[k]);
        s->set_revision(1);
        s->set_ciphertext(m_ciphertexts[k]);
        send_from_first(send);
    }

    // How many members other than the sender have message k.
    std::size_t reached(std::size_t k) const {
        std::size_t n = 0;
        for (std::size_t i = 1; i < kMembers; ++i)
            n += members[i]->messages[k] > 0 ? 1 : 0;
        return n;
    }

    // A ping round trip on every connection: a duplicate pushed for anyone would come first.
    void barrier() {
        for (std::size_t i = 0; i < kMembers; ++i) {
            members[i]->phase = Member::Phase::barrier;
            members[i]->peer.queue_frame(ws::Opcode::ping, to_bytes("barrier"));
            members[i]->peer.flush();
            m_loop.settle(members[i]->peer, i);
        }
        REQUIRE(run_until(
            [&] {
                if (m_ended > 0)
                    return true;
                for (const auto& m : members)
                    if (m->phase != Member::Phase::done)
                        return false;
                return true;
            },
            after(60s)));
    }

    // Stops the relay (SIGTERM, so that its WAL is checkpointed or at least consistent) and
    // returns the path of its database.
    std::filesystem::path stop_relay() {
        members.clear();
        m_relay.process().signal(SIGTERM);
        REQUIRE(m_relay.process().wait(30s) == 0);
        return m_dir.path() / "relay" / "relay.db";
    }

    RelayFixture keys;
    std::vector<std::unique_ptr<Member>> members;

private:
    void on_envelope(std::size_t index, const wire::Envelope& e);
    void send_from_first(const wire::Envelope& e) {
        members[0]->peer.queue(e);
        members[0]->peer.flush();
        m_loop.settle(members[0]->peer, 0);
    }

    static constexpr std::size_t kHandshakeWindow = 128;
    TempDir m_dir;
    RelayProcess m_relay;
    // One identity signs for every account (each registration still signs the relay's fresh
    // nonce), so member 0's registered key is this one and signs the group change.
    TestUser m_shared;
    const std::string m_group_id = std::string(protocol::kGroupIdBytes, 'g');
    std::vector<std::string> m_ids;
    std::vector<std::string> m_ciphertexts;
    PeerLoop m_loop;
    std::size_t m_launched = 0, m_in_handshake = 0, m_ready = 0, m_ended = 0;
    std::string m_first_end;
};

void GroupOfMaxSize::on_envelope(std::size_t index, const wire::Envelope& e) {
    Member& m = *members[index];
    if (m.phase == Member::Phase::challenged) {
        REQUIRE(e.has_challenge());
        m_shared.username = member_name(index);
        m.peer.queue(keys.register_request(m_shared, to_bytes(e.challenge().nonce())));
        m.phase = Member::Phase::registering;
    } else if (m.phase == Member::Phase::registering) {
        if (e.has_auth_result())
            return;
        REQUIRE(e.has_queue_drained());
        m.phase = Member::Phase::ready;
        --m_in_handshake;
        ++m_ready;
    } else if (e.has_deliver()) {
        const auto& d = e.deliver();
        const auto k = std::find(m_ids.begin(), m_ids.end(), d.message_id()) - m_ids.begin();
        if (d.has_group_change() && d.type() == wire::CIPHERTEXT_NONE &&
            d.group_id() == m_group_id && d.from_username() == member_name(0))
            ++m.changes;
        else if (d.type() == wire::CIPHERTEXT_SENDER_KEY && d.group_id() == m_group_id &&
                 k < std::ssize(m_ids) && d.ciphertext() == m_ciphertexts[std::size_t(k)] &&
                 d.from_username() == member_name(0))
            ++m.messages[std::size_t(k)];
        else
            ++m.foreign;
    } else if (e.has_error()) {
        ++m.errors;
        m.answers.push_back(e);
    } else if (e.has_group_update_result() || e.has_group_send_result()) {
        m.answers.push_back(e);
    }
}

bool GroupOfMaxSize::run_until(const std::function<bool()>& done, Deadline deadline) {
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        while (m_launched < kMembers && m_in_handshake < kHandshakeWindow) {
            members[m_launched]->peer.start(m_relay.port());
            m_loop.add(members[m_launched]->peer, m_launched);
            ++m_launched;
            ++m_in_handshake;
        }
        for (std::size_t index : m_loop.wait()) {
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
                if (m_first_end.empty())
                    m_first_end = member_name(index) + ": " + m.peer.end_reason();
                ++m_ended;
                m_loop.remove(m.peer, index);
                continue;
            }
            m.peer.flush();
            m_loop.settle(m.peer, index);
        }
    }
    return true;
}

void GroupOfMaxSize::create_group() {
    wire::GroupState state;
    state.set_group_id(m_group_id);
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
    change->set_signature(
        to_str(keys.sign(m_shared, protocol::group_signed_bytes(change->state()))));
    send_from_first(update);
    REQUIRE(run_until(
        [&] {
            if (m_ended > 0)
                return true;
            if (members[0]->answers.empty())
                return false;
            for (const auto& m : members)
                if (m->changes == 0)
                    return false;
            return true;
        },
        after(60s)));
    INFO("first connection end: " << m_first_end);
    REQUIRE(m_ended == 0);
    REQUIRE(members[0]->answers.size() == 1);
    INFO("answer to the change: " << members[0]->answers[0].ShortDebugString().substr(0, 200));
    REQUIRE(members[0]->answers[0].has_group_update_result());
    members[0]->answers.clear();
}

} // namespace

TEST_CASE("a group of 1024 members gets one message on every other member's device exactly "
          "once and the relay stores it once") {
    GroupOfMaxSize group(1);
    group.connect_all();
    group.create_group();

    // One group message from member 0, 64 KiB, to the other 1023.
    group.send_message(0);
    auto& first = *group.members[0];
    REQUIRE(group.run_until(
        [&] {
            return group.ended() > 0 ||
                   (!first.answers.empty() && group.reached(0) == kMembers - 1);
        },
        after(60s)));
    INFO("first connection end: " << group.first_end());
    REQUIRE(first.answers.size() == 1);
    REQUIRE(first.answers[0].has_group_send_result());
    CHECK(first.answers[0].group_send_result().unreachable().empty());
    group.barrier();

    std::size_t changes = 0, messages = 0, foreign = 0, errors = 0, twice = 0;
    for (const auto& m : group.members) {
        changes += m->changes;
        messages += m->messages[0];
        foreign += m->foreign;
        errors += m->errors;
        twice += (m->messages[0] > 1 || m->changes > 1) ? 1 : 0;
    }
    CHECK(group.ended() == 0);
    CHECK(errors == 0);
    CHECK(foreign == 0);
    CHECK(twice == 0);
    CHECK(changes == kMembers);      // the change went to every member, its signer too
    CHECK(first.messages[0] == 0);   // never back to the sender
    CHECK(messages == kMembers - 1); // and to every other member's device once

    // The relay's database: one payload of 64 KiB, 1023 mailbox rows that reference it and
    // carry no ciphertext, and a file far smaller than 1023 copies would make.
    const auto path = group.stop_relay();
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

// QUALITY.md: "A 1024-member group sent 100 messages of 64 KiB: stored once each, not once per
// member." Member 0 keeps a few messages in flight, as a client sending a burst does, while the
// test reads every member's connection; 100 x 1023 deliveries of 64 KiB (6.4 GiB) cross
// loopback. Tagged [heavy]: the sanitizer tree leaves it out (tests/CMakeLists.txt).
TEST_CASE("a group of 1024 members sent 100 messages of 64 KiB has each stored once and on every "
          "other member's device once, in bounded relay memory",
          "[heavy]") {
    constexpr std::size_t kMessages = 100;
    // Messages sent but not yet on every member's device. The relay closes a connection whose
    // unsent pushes pass 4 MiB (max_outgoing_bytes), so a sender that fires all 100 at a reader
    // slower than the relay would see members cut; 8 x 64 KiB stays well below that.
    constexpr std::size_t kInFlight = 8;
    GroupOfMaxSize group(kMessages);
    group.connect_all();
    group.create_group();
    const long rss_before_kib = group.relay().rss_kib();

    auto& first = *group.members[0];
    std::size_t sent = 0;
    auto delivered_everywhere = [&](std::size_t k) { return group.reached(k) == kMembers - 1; };
    std::size_t complete = 0; // messages 0..complete-1 have reached every member
    REQUIRE(group.run_until(
        [&] {
            if (group.ended() > 0 || first.errors > 0)
                return true; // a refused send would never reach anyone: stop and say so
            while (complete < sent && delivered_everywhere(complete))
                ++complete;
            while (sent < kMessages && sent < complete + kInFlight)
                group.send_message(sent++);
            return complete == kMessages && first.answers.size() == kMessages;
        },
        after(300s)));
    INFO("first connection end: " << group.first_end());
    REQUIRE(group.ended() == 0);
    for (const auto& answer : first.answers)
        if (answer.has_error())
            FAIL_CHECK("a send was refused: " << answer.error().ShortDebugString());
    REQUIRE(first.errors == 0);
    std::size_t answered = 0;
    for (const auto& answer : first.answers) {
        CHECK(answer.has_group_send_result());
        if (answer.has_group_send_result()) {
            ++answered;
            CHECK(answer.group_send_result().unreachable().empty());
        }
    }
    CHECK(answered == kMessages);
    group.barrier();
    const long peak_kib = group.relay().peak_rss_kib();

    std::size_t foreign = 0, errors = 0, missing = 0, twice = 0, to_sender = 0;
    for (std::size_t i = 0; i < kMembers; ++i) {
        const Member& m = *group.members[i];
        foreign += m.foreign;
        errors += m.errors;
        for (std::size_t k = 0; k < kMessages; ++k) {
            if (i == 0) {
                to_sender += m.messages[k];
                continue;
            }
            missing += m.messages[k] == 0 ? 1 : 0;
            twice += m.messages[k] > 1 ? 1 : 0;
        }
    }
    CHECK(group.ended() == 0);
    CHECK(errors == 0);
    CHECK(foreign == 0);
    CHECK(to_sender == 0);
    CHECK(missing == 0);
    CHECK(twice == 0);

    // Bounded memory: each member's Deliver carries its own delivery id, so the relay frames
    // every copy separately, but it drops a copy once written and caps what waits per
    // connection. The peak therefore follows the window of messages in flight (at most
    // kInFlight x 1023 copies of 64 KiB, 511 MiB, plus 64 MiB for everything else), never the
    // 6.4 GiB of all deliveries. Measured on 2 busy cores: 82 to 130 MiB over the relay's size
    // with everyone connected, depending on how fast this test reads.
    INFO("relay RSS with all members connected " << rss_before_kib << " KiB, peak " << peak_kib
                                                 << " KiB");
    constexpr long kWindowKib = long{kInFlight} * (kMembers - 1) * (kCiphertextBytes / 1024);
    CHECK(peak_kib - rss_before_kib < kWindowKib + 64 * 1024);

    // The database: 100 payloads of 64 KiB, 100 x 1023 mailbox rows that reference them and
    // carry no ciphertext, each (device, message) once.
    const auto path = group.stop_relay();
    const std::uint64_t bytes = file_size_or_zero(path) + file_size_or_zero(path.string() + "-wal");
    SqliteDb db(path.string());
    CHECK(db.query_int64("SELECT COUNT(*) FROM payloads") == std::int64_t{kMessages});
    CHECK(db.query_int64("SELECT SUM(length(ciphertext)) FROM payloads") ==
          std::int64_t{kMessages * kCiphertextBytes});
    CHECK(db.query_int64("SELECT COUNT(*) FROM mailbox WHERE payload IS NOT NULL") ==
          std::int64_t{kMessages * (kMembers - 1)});
    CHECK(db.query_int64("SELECT COUNT(DISTINCT payload) FROM mailbox") == std::int64_t{kMessages});
    CHECK(db.query_int64("SELECT COUNT(*) FROM (SELECT 1 FROM mailbox WHERE payload IS NOT NULL"
                         " GROUP BY device, payload HAVING COUNT(*) > 1)") == 0);
    CHECK(db.query_int64("SELECT SUM(length(ciphertext)) FROM mailbox") == 0);
    INFO("relay.db and its WAL hold " << bytes << " bytes");
    // 6.4 MiB of payloads and 102,300 small rows that reference them (about 80 bytes each with
    // their indexes); one copy per member would be 6.4 GiB.
    CHECK(bytes < 4 * kMessages * kCiphertextBytes);
}
