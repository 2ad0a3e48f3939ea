// Scripting end to end (issue 8): `veil listen --json` as an event stream, `veil daemon` as a
// JSON-RPC 2.0 server on a Unix socket driven by a small client in this file, bad requests to
// the daemon, clean stops on signals, and help for every verb. Real relay, real `veil`
// processes, waits on output lines (never sleeps).
#include "cli_harness.h"
#include "rpc_client.h"

#include <catch2/catch.hpp>

#include <cerrno>
#include <chrono>
#include <optional>
#include <poll.h>
#include <regex>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

using namespace veil::test::e2e;
using veil::test::TempDir;

namespace {

// The line of out that holds every needle (empty when none).
std::string line_with_all(const std::string& out, const std::vector<std::string>& needles) {
    std::size_t start = 0;
    while (start < out.size()) {
        std::size_t end = out.find('\n', start);
        if (end == std::string::npos)
            end = out.size();
        std::string line = out.substr(start, end - start);
        bool all = true;
        for (const auto& n : needles)
            all = all && line.find(n) != std::string::npos;
        if (all)
            return line;
        start = end + 1;
    }
    return {};
}

// Waits until a running veil printed a line holding every needle; returns it (empty on timeout
// or when the process ended without it). Polls its output file.
std::string wait_for_line(veil::test::Process& p, const std::vector<std::string>& needles,
                          std::chrono::milliseconds timeout = 30s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        std::string line = line_with_all(p.out(), needles);
        if (!line.empty())
            return line;
        if (std::chrono::steady_clock::now() >= deadline || !p.running())
            return {};
        std::this_thread::sleep_for(50ms);
    }
}

std::string message_id_in(const std::string& line) {
    std::smatch m;
    if (!std::regex_search(line, m, std::regex(R"re("id":"([0-9a-f]{32})")re")))
        return {};
    return m[1].str();
}

std::unique_ptr<veil::test::Process> start_daemon(const Client& c) {
    auto daemon = c.start({"daemon"});
    REQUIRE(daemon->wait_for_output("veil: daemon ready", 30s, true));
    return daemon;
}

} // namespace

TEST_CASE("listen --json streams a message, its receipts, typing, a group change and an edit, "
          "acks them and stops cleanly on SIGTERM") {
    TempDir dir("veil-listen");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");

    // Alice writes first, so that her listener has a message of hers whose receipts come back.
    auto hello = alice.run({"send", "bob", "are you there, listener?"});
    REQUIRE(hello.code == 0);
    const std::string hello_id = first_line(hello.out);
    REQUIRE(hello_id.size() == 32);

    auto listen = alice.start({"listen", "--json"});
    REQUIRE(listen->wait_for_output("veil: listening", 30s, true));

    auto sent = bob.run({"send", "alice", "hello from bob to the listener"});
    INFO(sent.err);
    REQUIRE(sent.code == 0);
    const std::string bob_id = first_line(sent.out);
    std::string line = wait_for_line(*listen, {"hello from bob to the listener"});
    REQUIRE(!line.empty());
    CHECK(message_id_in(line) == bob_id);
    CHECK(line.find(R"("from":"bob")") != std::string::npos);
    CHECK(line.find(R"("outgoing":false)") != std::string::npos);

    // Bob fetches alice's message (a delivery receipt) and reads it (a read receipt).
    REQUIRE(bob.run({"receive"}).code == 0);
    CHECK(!wait_for_line(*listen, {R"("event":"status")", hello_id, R"("status":"delivered")"})
               .empty());
    REQUIRE(bob.run({"read", "alice"}).code == 0);
    CHECK(!wait_for_line(*listen, {R"("event":"status")", hello_id, R"("status":"read")"}).empty());

    REQUIRE(bob.run({"typing", "alice"}).code == 0);
    line = wait_for_line(*listen, {R"("event":"typing")"});
    CHECK(line.find(R"("from":"bob")") != std::string::npos);
    CHECK(line.find(R"("typing":true)") != std::string::npos);

    auto created = bob.run({"group", "create", "listeners", "--members", "alice"});
    INFO(created.err);
    REQUIRE(created.code == 0);
    const std::string group_id = first_line(created.out);
    line = wait_for_line(*listen, {R"("event":"group")", group_id, R"("name":"listeners")"});
    REQUIRE(!line.empty());
    REQUIRE(bob.run({"group", "promote", "listeners", "alice"}).code == 0);
    line = wait_for_line(*listen, {R"("event":"group")", R"("promoted":["alice"])"});
    REQUIRE(!line.empty());
    CHECK(line.find(group_id) != std::string::npos);
    CHECK(line.find(R"({"name":"alice","admin":true})") != std::string::npos);

    REQUIRE(bob.run({"edit", bob_id, "hello from bob, edited"}).code == 0);
    line = wait_for_line(*listen, {R"("event":"changed")", "hello from bob, edited"});
    REQUIRE(!line.empty());
    CHECK(message_id_in(line) == bob_id);
    CHECK(line.find(R"("edited":true)") != std::string::npos);

    listen->signal(SIGTERM);
    auto code = listen->wait(20s);
    REQUIRE(code);
    CHECK(*code == 0);
    // Everything the listener printed was acked: a later receive has none of it.
    auto after = alice.run({"receive", "--json"});
    REQUIRE(after.code == 0);
    CHECK(after.out.find("hello from bob") == std::string::npos);
}

TEST_CASE("a listener killed with SIGKILL loses no message: what it printed last may come "
          "again, what came meanwhile comes next") {
    TempDir dir("veil-listen-kill");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");

    auto listen = alice.start({"listen", "--json"});
    REQUIRE(listen->wait_for_output("veil: listening", 30s, true));
    REQUIRE(bob.run({"send", "alice", "first, seen before the kill"}).code == 0);
    REQUIRE(!wait_for_line(*listen, {"first, seen before the kill"}).empty());
    listen->signal(SIGKILL);
    REQUIRE(listen->wait(10s));

    REQUIRE(bob.run({"send", "alice", "second, sent while nobody listened"}).code == 0);
    auto again = alice.start({"listen", "--json"});
    REQUIRE(!wait_for_line(*again, {"second, sent while nobody listened"}).empty());
    // Printed once by the second listener, whether or not the first line comes again.
    CHECK(count(again->out(), "second, sent while nobody listened") == 1);
    CHECK(count(again->out(), "first, seen before the kill") <= 1);
    again->signal(SIGINT);
    CHECK(again->wait(20s) == std::optional<int>(0));
}

TEST_CASE("a bot drives the daemon over its socket: it subscribes, gets a message, reacts and "
          "answers, and the daemon leaves with its socket on SIGTERM") {
    TempDir dir("veil-daemon");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");
    REQUIRE(alice.run({"contacts", "add", "bob"}).code == 0);

    auto daemon = start_daemon(alice);
    const auto socket = alice.profile / "veil.sock";
    struct stat st {};
    REQUIRE(::stat(socket.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 0777) == 0600);

    // The profile is the daemon's: other verbs and a second daemon say so at once.
    auto busy = alice.run({"contacts"});
    CHECK(busy.code == 3);
    CHECK(busy.err.find("daemon") != std::string::npos);
    auto second = alice.run({"daemon"});
    CHECK(second.code == 3);

    RpcClient bot(socket);
    std::string answer = bot.call(1, "subscribe");
    CHECK(answer.find(R"("result":{"subscribed":true})") != std::string::npos);
    answer = bot.call(2, "contacts");
    CHECK(answer.find(R"({"name":"bob","blocked":false})") != std::string::npos);

    auto ping = bob.run({"send", "alice", "ping for the bot"});
    REQUIRE(ping.code == 0);
    const std::string ping_id = first_line(ping.out);
    std::string event = bot.wait_for({R"("method":"event")", "ping for the bot"});
    REQUIRE(!event.empty());
    CHECK(message_id_in(event) == ping_id);

    answer = bot.call(3, "react", R"({"id":")" + ping_id + R"(","emoji":"👍"})");
    CHECK(answer.find(R"("result":{})") != std::string::npos);
    answer = bot.call(4, "send",
                      R"({"to":"bob","text":"pong from the bot","reply_to":")" + ping_id + "\"}");
    const std::string pong_id = message_id_in(answer);
    REQUIRE(pong_id.size() == 32);
    CHECK(!bot.wait_for({R"("event":"status")", pong_id, R"("status":"sent")"}).empty());

    answer = bot.call(5, "search", R"({"query":"ping bot"})");
    CHECK(message_id_in(answer) == ping_id);

    // Bob gets the answer (quoting his message) and the reaction; the bot sees it delivered.
    std::string bob_out;
    for (int i = 0; i < 5 && (bob_out.find("pong from the bot") == std::string::npos ||
                              bob_out.find("👍") == std::string::npos);
         ++i) {
        auto r = bob.run({"receive", "--json"});
        REQUIRE(r.code == 0);
        bob_out += r.out;
    }
    std::string pong = line_with_all(bob_out, {"pong from the bot"});
    REQUIRE(!pong.empty());
    CHECK(pong.find(R"("reply_to":{"id":")" + ping_id) != std::string::npos);
    CHECK(!line_with_all(bob_out, {R"("event":"changed")", R"("emoji":"👍")"}).empty());
    CHECK(!bot.wait_for({R"("event":"status")", pong_id, R"("status":"delivered")"}).empty());

    // Safety numbers, typing and read state over the socket.
    answer = bot.call(6, "verify", R"({"name":"bob"})");
    CHECK(std::regex_search(answer, std::regex(R"re("safety_number":"[0-9 ]{60,}")re")));
    CHECK(answer.find(R"("verified":false)") != std::string::npos);
    answer = bot.call(7, "verify", R"({"name":"bob","action":"mark"})");
    CHECK(answer.find(R"("verified":true)") != std::string::npos);
    CHECK(bot.call(8, "typing", R"({"to":"bob"})").find(R"("result":{})") != std::string::npos);
    CHECK(bot.call(9, "read", R"({"to":"bob"})").find(R"("result":{})") != std::string::npos);

    // Bob makes a group with the bot in it: the bot hears of it and writes to the group.
    auto created = bob.run({"group", "create", "crew", "--members", "alice"});
    INFO(created.err);
    REQUIRE(created.code == 0);
    const std::string group_id = first_line(created.out);
    event = bot.wait_for({R"("event":"group")", group_id, R"("name":"crew")"});
    REQUIRE(!event.empty());
    CHECK(event.find(R"({"name":"bob","admin":true})") != std::string::npos);
    answer = bot.call(10, "groups");
    CHECK(answer.find(R"("id":")" + group_id + R"(","name":"crew")") != std::string::npos);
    answer = bot.call(11, "send", R"({"group":"crew","text":"the bot greets the crew"})");
    const std::string crew_id = message_id_in(answer);
    REQUIRE(crew_id.size() == 32);
    CHECK(!bot.wait_for({R"("event":"status")", crew_id, R"("status":"sent")"}).empty());
    auto crew = bob.run({"receive", "--json"});
    REQUIRE(crew.code == 0);
    std::string greeting = line_with_all(crew.out, {"the bot greets the crew"});
    REQUIRE(!greeting.empty());
    CHECK(greeting.find(R"("group_id":")" + group_id) != std::string::npos);

    daemon->signal(SIGTERM);
    auto code = daemon->wait(20s);
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK(!std::filesystem::exists(socket));
    // The profile is free again.
    CHECK(alice.run({"contacts"}).code == 0);
}

TEST_CASE("bad requests to the daemon get JSON-RPC errors while a stalled client and many "
          "others are served, and a request left half-sent is given up on") {
    TempDir dir("veil-daemon-bad");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    auto daemon = start_daemon(alice);
    const auto socket = alice.profile / "veil.sock";

    // One connects and sends nothing; another sends half a request, then nothing.
    RpcClient silent(socket);
    RpcClient stalled(socket);
    stalled.write(R"({"jsonrpc":"2.0","id":1,"meth)");

    RpcClient c(socket);
    c.write("this is not json\n");
    CHECK(!c.wait_for({R"("id":null)", R"("code":-32700)"}).empty());
    c.write("[1,2,3]\n");
    CHECK(!c.wait_for({R"("code":-32600)"}).empty());
    c.write(R"({"jsonrpc":"2.0","id":7})"
            "\n");
    CHECK(!c.wait_for({R"("id":7)", R"("code":-32600)"}).empty());
    c.write(std::string(2 << 20, 'x') + "\n");
    CHECK(!c.wait_for({R"("code":-32600)", "1 MiB"}).empty());

    // Bytes that are no text at all, and JSON nested far deeper than any request.
    c.write(std::string("\xff\xfe\x00\x01{\"jsonrpc\"", 14) + "\n");
    CHECK(!c.wait_for({R"("code":-32700)"}).empty());
    c.write(std::string(100000, '[') + std::string(100000, ']') + "\n");
    CHECK(!c.wait_for({R"("id":null)", R"("error")"}).empty());
    c.write(R"({"jsonrpc":"2.0","id":{"a":1},"method":"contacts"})"
            "\n");
    CHECK(!c.wait_for({R"("code":-32600)"}).empty());

    CHECK(c.call(10, "launch_rockets").find(R"("code":-32601)") != std::string::npos);
    CHECK(c.call(11, "react", R"({"id":42,"emoji":"x"})").find(R"("code":-32602)") !=
          std::string::npos);
    CHECK(c.call(12, "edit", R"({"id":"00"})").find(R"("code":-32602)") != std::string::npos);
    CHECK(c.call(13, "contacts", R"([1])").find(R"("code":-32602)") != std::string::npos);
    CHECK(
        c.call(14, "send", R"({"to":"bob","text":"x","colour":"red"})").find(R"("code":-32602)") !=
        std::string::npos);
    CHECK(c.call(15, "send", R"({"to":"bob","group":"g","text":"x"})").find(R"("code":-32602)") !=
          std::string::npos);
    // Failures of the action itself carry the CLI's exit code for their class.
    CHECK(c.call(16, "edit", R"({"id":"not-an-id","text":"x"})").find(R"("code":2)") !=
          std::string::npos);
    CHECK(c.call(17, "delete", R"({"id":")" + std::string(32, '0') + "\"}").find(R"("code":1)") !=
          std::string::npos);
    CHECK(c.call(18, "read", R"({"group":"nobody's group"})").find(R"("code":1)") !=
          std::string::npos);
    // After all that, the same connection still works.
    CHECK(c.call(19, "groups").find(R"("result":[])") != std::string::npos);

    // Many clients at once, each answered, while the stalled one still holds its half line.
    std::vector<std::unique_ptr<RpcClient>> many;
    for (int i = 0; i < 20; ++i) {
        many.push_back(std::make_unique<RpcClient>(socket));
        many.back()->write(R"({"jsonrpc":"2.0","id":)" + std::to_string(100 + i) +
                           R"(,"method":"contacts"})"
                           "\n");
    }
    for (int i = 0; i < 20; ++i)
        CHECK(many[static_cast<std::size_t>(i)]
                  ->wait_for({"\"id\":" + std::to_string(100 + i) + ",", R"("result":[])"})
                  .size() > 0);

    // The silent one is served whenever it asks; the half request is given up on after its
    // deadline, with an error, and the connection closed.
    CHECK(!silent.call(1, "contacts").empty());
    CHECK(!stalled.wait_for({R"("code":-32600)", "took longer than 10 seconds"}, 30s).empty());
    CHECK(stalled.closed(5s));

    daemon->signal(SIGINT);
    auto code = daemon->wait(20s);
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK(!std::filesystem::exists(socket));
}

TEST_CASE("a daemon killed without cleaning up leaves a socket the next daemon replaces") {
    TempDir dir("veil-daemon-stale");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    const auto socket = alice.profile / "veil.sock";
    {
        auto daemon = start_daemon(alice);
        daemon->signal(SIGKILL);
        REQUIRE(daemon->wait(10s));
    }
    REQUIRE(std::filesystem::exists(socket));
    // Nobody answers there: verbs run, and a new daemon takes the path over.
    CHECK(alice.run({"contacts"}).code == 0);
    auto daemon = start_daemon(alice);
    RpcClient c(socket);
    CHECK(c.call(1, "contacts").find(R"("result":[])") != std::string::npos);
    daemon->signal(SIGTERM);
    CHECK(daemon->wait(20s) == std::optional<int>(0));
}

TEST_CASE("every verb has its own help, as veil VERB --help and veil help VERB") {
    TempDir dir("veil-help");
    Client nobody{dir.path(), dir.path() / "none", "ws://127.0.0.1:1", "unused"};
    auto all = veil::test::run({cli_bin(), "--help"}, {}, dir.path(), "veil");
    REQUIRE(all.code == 0);
    const std::vector<std::string> verbs = {
        "register",      "contacts", "block",   "unblock", "notify", "send",   "react",
        "edit",          "delete",   "resend",  "save",    "verify", "timer",  "read",
        "read-receipts", "typing",   "group",   "receive", "listen", "daemon", "bot",
        "search",        "link",     "devices", "help"};
    for (const auto& verb : verbs) {
        INFO(verb);
        CHECK(all.out.find("  " + verb) != std::string::npos);
        for (auto argv : {std::vector<std::string>{cli_bin(), verb, "--help"},
                          std::vector<std::string>{cli_bin(), "help", verb}}) {
            auto r = veil::test::run(argv, {}, dir.path(), "veil");
            CHECK(r.code == 0);
            CHECK(r.out.find("veil [OPTIONS] " + verb) != std::string::npos);
            CHECK(r.out.find("\n  " + verb) != std::string::npos);
        }
    }
    auto unknown = veil::test::run({cli_bin(), "help", "fly"}, {}, dir.path(), "veil");
    CHECK(unknown.code == 2);
    // Help opens nothing: no profile was made.
    CHECK(!std::filesystem::exists(nobody.profile));
}

TEST_CASE("the daemon listens where --socket says, and refuses a path too long for a socket") {
    TempDir dir("veil-daemon-path");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");

    auto too_long =
        alice.run({"daemon", "--socket", (dir.path() / std::string(200, 's')).string()});
    CHECK(too_long.code == 1);
    CHECK(too_long.err.find("too long") != std::string::npos);
    CHECK(alice.run({"contacts", "--socket", "x"}).code == 2);

    const auto socket = dir.path() / "bot.sock";
    auto daemon = alice.start({"daemon", "--socket", socket.string()});
    REQUIRE(daemon->wait_for_output("veil: daemon ready", 30s, true));
    RpcClient c(socket);
    CHECK(c.call(1, "contacts").find(R"("result":[])") != std::string::npos);
    daemon->signal(SIGTERM);
    CHECK(daemon->wait(20s) == std::optional<int>(0));
    CHECK(!std::filesystem::exists(socket));
}

TEST_CASE("a listener whose reader went away exits 1 and acks nothing it could not print") {
    TempDir dir("veil-listen-pipe");
    Relay relay(dir.path());
    Client alice = make_client(dir.path(), relay.url(), "alice");
    Client bob = make_client(dir.path(), relay.url(), "bob");
    REQUIRE(bob.run({"send", "alice", "for a reader that left"}).code == 0);

    // `true` reads nothing and exits: every write of the listener fails.
    std::vector<std::string> argv = {"/bin/bash", "-c", "set -o pipefail; \"$@\" | true", "bash"};
    for (auto& a : alice.argv({"listen", "--json"}))
        argv.push_back(a);
    auto r = veil::test::run(argv, alice.env(), dir.path(), "veil-pipe");
    CHECK(r.code == 1);
    CHECK(r.err.find("standard output is closed") != std::string::npos);

    auto got = alice.run({"receive", "--json"});
    REQUIRE(got.code == 0);
    CHECK(count(got.out, "for a reader that left") == 1);
}
