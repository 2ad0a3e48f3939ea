// Issue #3: the relay under many concurrent authenticated clients, a drain far larger than the
// outgoing limit, and one device connected twice. Every client is a non-blocking socket driven
// from this thread (one epoll set, or poll for a single socket); every wait has a deadline and
// every barrier is a round trip, never a sleep.
#include "server/relay_fixture.h"
#include "server/transport/wire_client.h"
#include "server/transport/wire_login.h"
#include "server/transport/wire_peer.h"

#include "core/sqlite_store.h"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <map>
#include <netinet/in.h>
#include <poll.h>
#include <set>
#include <sstream>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace veil;
using namespace veil::relay;
using namespace veil::relay::test;
namespace ws = veil::protocol::ws;

namespace {

std::string account_name(std::size_t index) {
    return "c" + std::to_string(index);
}

// The id of message `seq` from account `sender`: both recoverable from the bytes.
Bytes message_id_of(std::uint32_t sender, std::uint32_t seq) {
    Bytes id(protocol::kMessageIdBytes, 0xC3);
    for (int i = 0; i < 4; ++i) {
        id[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(sender >> (8 * i));
        id[static_cast<std::size_t>(4 + i)] = static_cast<std::uint8_t>(seq >> (8 * i));
    }
    return id;
}

std::uint32_t read_le32(const std::string& bytes, std::size_t at) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i)
        v |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(bytes[at + i])) << (8 * i);
    return v;
}

// Opaque bytes (256 unless told) that differ for every (sender, seq).
std::string ciphertext_of(std::uint32_t sender, std::uint32_t seq, std::size_t size = 256) {
    std::string c(size, '\0');
    for (std::size_t i = 0; i < c.size(); ++i)
        c[i] = static_cast<char>((sender * 131u + seq * 17u + i * 7u) & 0xFF);
    return c;
}

wire::Envelope ack_of(RelayFixture& keys, const std::vector<std::uint64_t>& ids) {
    auto ack = request(keys.next_id++);
    for (auto id : ids)
        ack.mutable_ack_request()->add_delivery_ids(id);
    return ack;
}

// Stops the relay with SIGTERM, requires a clean exit, and returns how many envelopes are still
// queued for each of the given devices, read from the relay's own database.
std::map<std::string, std::size_t> queued_after_stop(RelayProcess& relay, const TempDir& dir,
                                                     const std::vector<std::string>& names) {
    relay.process().signal(SIGTERM);
    REQUIRE(relay.process().wait(30s) == 0);
    auto opened = SqliteStore::open((dir.path() / "relay").string());
    REQUIRE(opened);
    std::map<std::string, std::size_t> left;
    for (const auto& name : names) {
        auto queued = opened.value()->queued(name, 1, 0, 1000);
        REQUIRE(queued);
        if (!queued->empty())
            left[name] = queued->size();
    }
    return left;
}

// One of the 2,000 clients of the concurrency test.
struct Client {
    enum class Phase { upgrading, challenged, registering, ready, barrier1, barrier2, done };
    Peer peer;
    Phase phase = Phase::upgrading;
    std::uint32_t index = 0;
    std::uint32_t send_results = 0;
    std::uint32_t errors = 0;
    std::vector<std::uint32_t> seen;             // per seq of the partner: deliveries seen
    std::uint32_t foreign = 0;                   // deliveries not from the partner, or altered
    std::map<std::uint64_t, std::size_t> acking; // ack request id -> delivery ids in it
    std::uint32_t acked = 0;
    std::set<std::uint64_t> delivery_ids;
};

} // namespace

TEST_CASE("2,000 concurrent clients each exchange messages with nothing lost or duplicated") {
    constexpr std::uint32_t kClients = 2000; // 1,000 pairs: client i talks to client i ^ 1
    constexpr std::uint32_t kMessages = 5;   // per client, to its partner
    constexpr std::size_t kHandshakeWindow = 128;

    TempDir dir("veil-conc");
    RelayProcess relay(dir.path());
    RelayFixture keys;
    // One identity signs for every account: each registration still carries a real signature
    // over the relay's fresh nonce, which the relay verifies.
    TestUser shared = keys.make_user("shared", 0);

    std::vector<std::unique_ptr<Client>> clients;
    for (std::uint32_t i = 0; i < kClients; ++i) {
        clients.push_back(std::make_unique<Client>());
        clients.back()->index = i;
        clients.back()->seen.assign(kMessages, 0);
    }
    PeerLoop loop;
    const auto started = std::chrono::steady_clock::now();
    const Deadline deadline = after(90s);

    std::size_t launched = 0;
    std::size_t in_handshake = 0;
    std::size_t ready = 0;
    std::size_t done = 0;
    std::size_t ended = 0;
    std::string first_end;
    bool traffic_started = false;
    double registered_seconds = 0;

    auto launch_more = [&] {
        while (launched < kClients && in_handshake < kHandshakeWindow) {
            Client& c = *clients[launched];
            c.peer.start(relay.port());
            loop.add(c.peer, launched);
            ++launched;
            ++in_handshake;
        }
    };

    auto start_traffic = [&](Client& c) {
        const std::uint32_t partner = c.index ^ 1u;
        for (std::uint32_t seq = 0; seq < kMessages; ++seq)
            c.peer.queue(keys.send_request(account_name(partner), message_id_of(c.index, seq),
                                           ciphertext_of(c.index, seq)));
    };

    auto traffic_complete = [&](const Client& c) {
        if (c.send_results + c.errors < kMessages || c.acked < kMessages)
            return false;
        for (auto n : c.seen)
            if (n == 0)
                return false;
        return true;
    };

    auto on_envelope = [&](Client& c, const wire::Envelope& e) {
        if (c.phase == Client::Phase::challenged) {
            REQUIRE(e.has_challenge());
            shared.username = account_name(c.index);
            c.peer.queue(keys.register_request(shared, to_bytes(e.challenge().nonce())));
            c.phase = Client::Phase::registering;
            return;
        }
        if (c.phase == Client::Phase::registering) {
            if (e.has_auth_result())
                return;
            INFO("registration of " << account_name(c.index) << " answered with body "
                                    << static_cast<int>(e.body_case()));
            REQUIRE(e.has_queue_drained());
            c.phase = Client::Phase::ready;
            --in_handshake;
            ++ready;
            return;
        }
        if (e.has_send_result()) {
            ++c.send_results;
        } else if (e.has_error()) {
            ++c.errors;
        } else if (e.has_deliver()) {
            const auto& d = e.deliver();
            const std::uint32_t partner = c.index ^ 1u;
            const std::uint32_t seq = d.message_id().size() == protocol::kMessageIdBytes
                                          ? read_le32(d.message_id(), 4)
                                          : kMessages;
            if (d.from_username() != account_name(partner) || d.from_device_id() != 1 ||
                seq >= kMessages || read_le32(d.message_id(), 0) != partner ||
                d.ciphertext() != ciphertext_of(partner, seq))
                ++c.foreign;
            else
                ++c.seen[seq];
            c.delivery_ids.insert(d.delivery_id());
            auto ack = ack_of(keys, {d.delivery_id()});
            c.acking[ack.request_id()] = 1;
            c.peer.queue(ack);
        } else if (e.has_ok()) {
            auto it = c.acking.find(e.request_id());
            if (it != c.acking.end()) {
                c.acked += static_cast<std::uint32_t>(it->second);
                c.acking.erase(it);
            }
        }
    };

    launch_more();
    while (done + ended < kClients && std::chrono::steady_clock::now() < deadline) {
        for (std::size_t index : loop.wait()) {
            Client& c = *clients[index];
            Peer& p = c.peer;
            p.flush();
            const bool was_upgraded = p.upgraded();
            p.read_once();
            if (!was_upgraded && p.upgraded()) {
                auto challenge = request(keys.next_id++);
                challenge.mutable_challenge_request();
                p.queue(challenge);
                c.phase = Client::Phase::challenged;
            }
            std::vector<wire::Envelope> envelopes;
            envelopes.swap(p.envelopes);
            for (const auto& e : envelopes)
                on_envelope(c, e);
            if ((c.phase == Client::Phase::ready) && traffic_complete(c)) {
                // A barrier: two ping round trips. Every push for this client was posted to
                // its reactor before its partner's last SendResult; the second ping is read
                // after that reactor took its inbox, so any duplicate would precede pong 2.
                c.phase = Client::Phase::barrier1;
                p.queue_frame(ws::Opcode::ping, to_bytes("barrier1"));
            }
            for (const auto& pong : p.pongs) {
                if (c.phase == Client::Phase::barrier1 && pong == "barrier1") {
                    c.phase = Client::Phase::barrier2;
                    p.queue_frame(ws::Opcode::ping, to_bytes("barrier2"));
                } else if (c.phase == Client::Phase::barrier2 && pong == "barrier2") {
                    c.phase = Client::Phase::done;
                    ++done;
                }
            }
            p.pongs.clear();
            if (p.ended()) {
                if (first_end.empty())
                    first_end = account_name(c.index) + ": " + p.end_reason();
                ++ended;
                loop.remove(p, index);
                continue;
            }
            p.flush();
            loop.settle(p, index);
        }
        if (!traffic_started) {
            launch_more();
            if (ready == kClients) {
                // Every account exists and is online: all clients send at once.
                traffic_started = true;
                registered_seconds =
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                        .count();
                for (std::size_t i = 0; i < kClients; ++i) {
                    start_traffic(*clients[i]);
                    clients[i]->peer.flush();
                    loop.settle(clients[i]->peer, i);
                }
            }
        }
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    std::uint64_t results = 0, errors = 0, delivered = 0, duplicates = 0, foreign = 0, acked = 0;
    std::size_t missing = 0;
    for (const auto& c : clients) {
        results += c->send_results;
        errors += c->errors;
        foreign += c->foreign;
        acked += c->acked;
        for (auto n : c->seen) {
            delivered += n > 0 ? 1 : 0;
            duplicates += n > 1 ? n - 1 : 0;
            missing += n == 0 ? 1 : 0;
        }
    }
    INFO("after " << seconds << " s (registration took " << registered_seconds << " s): " << ready
                  << " registered, " << done << " done, " << ended << " ended (first: " << first_end
                  << "), " << results << " SendResults, " << errors << " errors, " << delivered
                  << " delivered, " << duplicates << " duplicates, " << foreign << " foreign, "
                  << acked << " acked");
    CHECK(ready == kClients);
    CHECK(ended == 0);
    CHECK(done == kClients);
    CHECK(errors == 0);
    CHECK(results == std::uint64_t{kClients} * kMessages);
    CHECK(missing == 0);
    CHECK(duplicates == 0);
    CHECK(foreign == 0);
    CHECK(acked == std::uint64_t{kClients} * kMessages);
    for (const auto& c : clients)
        CHECK(c->delivery_ids.size() == kMessages); // one delivery id per message, none resent

    std::vector<std::string> names;
    for (std::uint32_t i = 0; i < kClients; ++i)
        names.push_back(account_name(i));
    clients.clear(); // the clients hang up before the relay stops
    auto left = queued_after_stop(relay, dir, names);
    INFO(left.size() << " mailboxes still hold envelopes");
    CHECK(left.empty());
}

// Regression guard for a bug fixed at 17:43 on 4 December 2026 in
// server/transport/connection.cpp: after a large drain the relay stopped reading the client's
// acks. The drain after authentication comes back whole from RelayService::handle(), so the
// connection's outgoing queue jumps far past --max-outgoing-bytes and the connection pauses
// reading its client until the queue has shrunk to half the limit (Connection::flush). If
// reading never resumes, every Deliver and QueueDrained still arrive, but no ack is read: none
// is answered and the mailbox is never emptied. So this test requires an Ok for every ack, an
// open connection (a ping round trip at the end) and an empty mailbox afterwards. Checked by
// mutation: with the resume in Connection::flush removed, it fails with no ack answered.
TEST_CASE("a drain larger than the outgoing limit followed by acks completes") {
    // The kernel's send buffer alone takes up to tcp_wmem's maximum (4 MiB by default) of the
    // drain, and only what it cannot take stays in the connection's own queue. So the drain is
    // made larger than twice that maximum: at least 5,000 x 2 KiB (10 MiB, 150 times the
    // 64 KiB limit), more where tcp_wmem allows more.
    constexpr std::size_t kSize = 2048;
    std::size_t wmem_max = 4 * 1024 * 1024;
    {
        std::istringstream wmem(veil::test::read_file("/proc/sys/net/ipv4/tcp_wmem"));
        std::size_t low = 0, initial = 0, high = 0;
        if (wmem >> low >> initial >> high)
            wmem_max = high;
    }
    const auto kQueued =
        static_cast<std::uint32_t>(std::max<std::size_t>(5000, 2 * wmem_max / kSize + 1000));
    TempDir dir("veil-conc");
    // One sender fills the mailbox far faster than its account may send: no limits here.
    RelayProcess relay(dir.path(), {"--max-outgoing-bytes", "65536", "--no-limits"});
    RelayFixture keys;
    TestUser alice = keys.make_user("alice", 0);
    TestUser bob = keys.make_user("bob", 0);

    {
        WsClient b(relay.port());
        log_in_over_wire(b, keys, bob); // then bob goes offline
    }
    WsClient a(relay.port());
    log_in_over_wire(a, keys, alice);
    // Alice fills bob's mailbox, 250 sends in flight at a time.
    for (std::uint32_t first = 0; first < kQueued; first += 250) {
        const std::uint32_t end = std::min(first + 250, kQueued);
        for (std::uint32_t seq = first; seq < end; ++seq)
            REQUIRE(a.send_envelope(
                keys.send_request("bob", message_id_of(0, seq), ciphertext_of(0, seq, kSize))));
        for (std::uint32_t seq = first; seq < end; ++seq) {
            auto result = a.next_envelope(after(20s));
            REQUIRE(result);
            REQUIRE(result->has_send_result());
        }
    }

    // Bob comes back with a small receive window and reads at most 4 KiB at a time, acking
    // each Deliver on its own as soon as it is decoded.
    Peer peer;
    peer.start(relay.port(), 4096);
    enum class Phase { upgrading, challenged, authenticating, draining } phase = Phase::upgrading;
    std::vector<std::uint32_t> seen(kQueued, 0);
    std::uint32_t foreign = 0, errors = 0, acked = 0;
    bool auth_ok = false, queue_drained = false;
    std::map<std::uint64_t, std::size_t> acking;
    const Deadline deadline = after(30s);
    while (acked < kQueued && !peer.ended() && std::chrono::steady_clock::now() < deadline) {
        pollfd p{peer.fd(), static_cast<short>(POLLIN | (peer.wants_write() ? POLLOUT : 0)), 0};
        if (::poll(&p, 1, 100) <= 0)
            continue;
        peer.flush();
        peer.read_once(4096);
        if (phase == Phase::upgrading && peer.upgraded()) {
            auto challenge = request(keys.next_id++);
            challenge.mutable_challenge_request();
            peer.queue(challenge);
            phase = Phase::challenged;
        }
        std::vector<wire::Envelope> envelopes;
        envelopes.swap(peer.envelopes);
        for (const auto& e : envelopes) {
            if (phase == Phase::challenged) {
                REQUIRE(e.has_challenge());
                peer.queue(keys.auth_request(bob, to_bytes(e.challenge().nonce())));
                phase = Phase::authenticating;
            } else if (e.has_auth_result()) {
                auth_ok = true;
                phase = Phase::draining;
            } else if (e.has_deliver()) {
                const auto& d = e.deliver();
                const std::uint32_t seq = read_le32(d.message_id(), 4);
                if (d.from_username() != "alice" || seq >= kQueued ||
                    d.ciphertext() != ciphertext_of(0, seq, kSize))
                    ++foreign;
                else
                    ++seen[seq];
                auto ack = ack_of(keys, {d.delivery_id()});
                acking[ack.request_id()] = 1;
                peer.queue(ack);
            } else if (e.has_queue_drained()) {
                queue_drained = true;
            } else if (e.has_ok()) {
                auto it = acking.find(e.request_id());
                if (it != acking.end()) {
                    acked += static_cast<std::uint32_t>(it->second);
                    acking.erase(it);
                }
            } else if (e.has_error()) {
                ++errors;
            }
        }
        peer.flush();
    }

    std::uint32_t delivered = 0, duplicates = 0;
    for (auto n : seen) {
        delivered += n > 0 ? 1 : 0;
        duplicates += n > 1 ? n - 1 : 0;
    }
    INFO("delivered " << delivered << ", duplicates " << duplicates << ", acks answered " << acked
                      << ", QueueDrained " << queue_drained
                      << ", connection ended: " << (peer.ended() ? peer.end_reason() : "no"));
    CHECK(auth_ok);
    CHECK(!peer.ended());
    CHECK(delivered == kQueued);
    CHECK(duplicates == 0);
    CHECK(foreign == 0);
    CHECK(errors == 0);
    CHECK(queue_drained);
    CHECK(acked == kQueued);

    // Still open and answering: a ping round trip after the drain.
    peer.queue_frame(ws::Opcode::ping, to_bytes("after"));
    const Deadline pong_deadline = after(10s);
    while (peer.pongs.empty() && !peer.ended() &&
           std::chrono::steady_clock::now() < pong_deadline) {
        pollfd p{peer.fd(), static_cast<short>(POLLIN | (peer.wants_write() ? POLLOUT : 0)), 0};
        if (::poll(&p, 1, 100) > 0) {
            peer.flush();
            peer.read_once();
        }
    }
    CHECK(peer.pongs == std::vector<std::string>{"after"});

    auto left = queued_after_stop(relay, dir, {"bob"});
    CHECK(left.empty());
}

// Router::push (server/core/relay_service.h) sends a Deliver "to each of its connections that
// is online", and ReactorPool keeps every connection authenticated as the device: so each
// connection gets every push, once, and an ack from either removes the envelope.
TEST_CASE("the same device connected twice gets every push once on each of its connections") {
    constexpr std::uint32_t kMessages = 40;
    TempDir dir("veil-conc");
    RelayProcess relay(dir.path());
    RelayFixture keys;
    TestUser alice = keys.make_user("alice", 0);
    TestUser bob = keys.make_user("bob", 0);

    // Nothing is queued before each login, so each ends with an immediate QueueDrained.
    WsClient a(relay.port());
    WsClient first(relay.port());
    WsClient second(relay.port());
    log_in_over_wire(a, keys, alice, true);
    log_in_over_wire(first, keys, bob, true);
    log_in_over_wire(second, keys, bob, false);

    for (std::uint32_t seq = 0; seq < kMessages; ++seq) {
        REQUIRE(a.send_envelope(
            keys.send_request("bob", message_id_of(0, seq), ciphertext_of(0, seq))));
        auto result = a.next_envelope(after(10s));
        REQUIRE(result);
        REQUIRE(result->has_send_result());
    }

    // Each connection: exactly kMessages Delivers, each message once, in order; then a ping
    // round trip finds nothing more behind them.
    for (WsClient* connection : {&first, &second}) {
        std::vector<std::uint64_t> delivery_ids;
        for (std::uint32_t seq = 0; seq < kMessages; ++seq) {
            auto deliver = connection->next_envelope(after(10s));
            REQUIRE(deliver);
            REQUIRE(deliver->has_deliver());
            CHECK(deliver->deliver().message_id() == to_str(message_id_of(0, seq)));
            CHECK(deliver->deliver().ciphertext() == ciphertext_of(0, seq));
            delivery_ids.push_back(deliver->deliver().delivery_id());
        }
        CHECK(std::set<std::uint64_t>(delivery_ids.begin(), delivery_ids.end()).size() ==
              kMessages);
        REQUIRE(connection->send_frame(ws::Opcode::ping, to_bytes("end")));
        auto next = connection->next_event(after(10s));
        REQUIRE(next);
        CHECK(next->opcode == ws::Opcode::pong);
        if (connection == &first) {
            // The first connection acks everything; the second then has nothing to ack.
            REQUIRE(connection->send_envelope(ack_of(keys, delivery_ids)));
            auto ok = connection->next_envelope(after(10s));
            REQUIRE(ok);
            CHECK(ok->has_ok());
        }
    }

    // A third connection as bob finds the mailbox empty.
    WsClient third(relay.port());
    log_in_over_wire(third, keys, bob, false);
}
