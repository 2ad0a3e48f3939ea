// The relay on PostgreSQL when the database goes away under it (issue 9): a real veil-relay
// process on a PostgreSQL server of the test's own (scripts/test-postgres.sh), restarted and
// stopped with pg_ctl while real WebSocket clients send. Requests while the database is down get
// a retryable UNAVAILABLE answer and the relay keeps running; it reconnects by itself; every send
// it acknowledged arrives exactly once.
#include "server/relay_fixture.h"
#include "server/transport/wire_client.h"
#include "server/transport/wire_login.h"
#include "support/postgres_test_db.h"
#include "support/process.h"
#include "support/temp_dir.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <map>

using namespace veil;
using namespace veil::relay;
using namespace veil::relay::test;
using namespace std::chrono_literals;

namespace {

// A PostgreSQL server of this test's own, so that restarting it disturbs no other test; stopped
// and deleted at the end.
class OwnPostgres {
public:
    explicit OwnPostgres(const std::filesystem::path& dir)
        : m_dir(dir) {
        control("start");
        std::ifstream in(m_dir / "conninfo");
        std::getline(in, m_server);
        REQUIRE(!m_server.empty());
        veil::test::postgres_admin_exec(m_server, "CREATE DATABASE veil_restart");
    }
    ~OwnPostgres() {
        veil::test::run({script(), "stop", m_dir.string()}, {}, m_dir.parent_path(), "pg");
    }
    OwnPostgres(const OwnPostgres&) = delete;
    OwnPostgres& operator=(const OwnPostgres&) = delete;

    std::string conninfo() const {
        return m_server.substr(0, m_server.find("dbname=")) + "dbname=veil_restart";
    }
    // restart (pg_ctl restart: every connection cut, back when it returns), pause or resume.
    void control(const std::string& command) {
        auto done =
            veil::test::run({script(), command, m_dir.string()}, {}, m_dir.parent_path(), "pg");
        INFO(done.err);
        REQUIRE(done.code == 0);
    }

private:
    static std::string script() {
        return std::string(VEIL_SOURCE_DIR) + "/scripts/test-postgres.sh";
    }
    std::filesystem::path m_dir;
    std::string m_server;
};

wire::Envelope next(WsClient& client) {
    auto e = client.next_envelope(after(20s));
    REQUIRE(e);
    return *e;
}

wire::Envelope send(WsClient& client, RelayFixture& keys, const std::string& to,
                    std::uint8_t id_fill) {
    REQUIRE(client.send_envelope(keys.send_request(to, message_id(id_fill), "opaque")));
    return next(client);
}

// Logs user in on a new connection and collects its queue: the message ids delivered, with how
// often each came, all acked.
std::map<Bytes, int> collect(std::uint16_t port, RelayFixture& keys, const TestUser& user) {
    WsClient client(port);
    auto challenge = request(keys.next_id++);
    challenge.mutable_challenge_request();
    REQUIRE(client.send_envelope(challenge));
    auto nonce = next(client);
    REQUIRE(nonce.has_challenge());
    REQUIRE(client.send_envelope(keys.auth_request(user, to_bytes(nonce.challenge().nonce()))));
    REQUIRE(next(client).has_auth_result());
    std::map<Bytes, int> seen;
    auto ack = request(keys.next_id++);
    for (auto e = next(client); !e.has_queue_drained(); e = next(client)) {
        REQUIRE(e.has_deliver());
        ++seen[to_bytes(e.deliver().message_id())];
        ack.mutable_ack_request()->add_delivery_ids(e.deliver().delivery_id());
    }
    if (!seen.empty()) {
        REQUIRE(client.send_envelope(ack));
        REQUIRE(next(client).has_ok());
    }
    return seen;
}

} // namespace

TEST_CASE("when PostgreSQL restarts or stops under the relay, sends in between get a retryable "
          "error, the relay reconnects by itself and every acknowledged send arrives once") {
    veil::test::TempDir dir("veil-pg-restart");
    OwnPostgres pg(dir.path() / "pg");
    RelayProcess relay(dir.path(), {"--store", pg.conninfo()});
    RelayFixture keys;
    const TestUser carol = keys.make_user("carol");
    {
        WsClient client(relay.port());
        log_in_over_wire(client, keys, carol);
    }
    const TestUser bob = keys.make_user("bob");
    WsClient bob_client(relay.port());
    log_in_over_wire(bob_client, keys, bob);

    REQUIRE(send(bob_client, keys, "carol", 1).has_send_result());

    // A restart cuts every connection the relay holds; the next send finds it reconnected.
    pg.control("restart");
    REQUIRE(send(bob_client, keys, "carol", 2).has_send_result());

    // While the server is down, a send is refused as retryable, and the relay stays up.
    pg.control("pause");
    auto refused = send(bob_client, keys, "carol", 3);
    REQUIRE(refused.has_error());
    CHECK(refused.error().code() == wire::Error::UNAVAILABLE);
    CHECK(refused.error().retry_after_ms() > 0);
    CHECK(refused.error().message().find("try again") != std::string::npos);
    CHECK(relay.process().running());

    // Back up: the retry of the refused send and a new one are stored, on the same socket.
    pg.control("resume");
    REQUIRE(send(bob_client, keys, "carol", 3).has_send_result());
    REQUIRE(send(bob_client, keys, "carol", 4).has_send_result());

    const auto seen = collect(relay.port(), keys, carol);
    CHECK(seen.size() == 4);
    for (std::uint8_t id = 1; id <= 4; ++id) {
        INFO("message " << int(id));
        CHECK(seen.count(message_id(id)) == 1);
        if (seen.count(message_id(id)))
            CHECK(seen.at(message_id(id)) == 1);
    }
    CHECK(collect(relay.port(), keys, carol).empty());
    const std::string logs = relay.process().out() + relay.process().err();
    CHECK(logs.find("event=store_reconnected store=postgresql") != std::string::npos);
}
