// B9: a client back after a month offline (QUALITY.md, "A month offline, then 100,000 messages
// from 50 peers and groups"): the relay holds real Signal messages for one real `veil` profile,
// from 50 peers and a few groups, and `veil receive` catches up. The case's full size, 100,000
// (about half a minute here, bench/README.md); VEIL_BENCH_B9_MESSAGES sets another. Figures: the
// time from its start to its exit with everything stored and acked, messages per second, and the
// client's peak resident memory (VmHWM, from wait4's ru_maxrss), checked against a bound that
// does not grow with the number of messages.
//
// The 50 peers are load-generator accounts (Signer's shared identity) with libsignal sessions in
// memory (tests/support/memory_store.h, as B7 uses): each fetches the profile's bundle once and
// encrypts its messages as the engine does (a padded wire::Content; prekey messages, since the
// profile never answers before the catch-up). The groups are real: `veil` admins create them
// with the profile as a member and their daemons send the group messages (sender keys).
// Correctness under a kill is the test's business (tests/integration/catchup_test.cpp).
#include "loadgen/connector.h"
#include "loadgen/relay_under_test.h"
#include "loadgen/stats.h"
#include "loadgen/workloads.h"
#include "support/json_line.h"
#include "support/memory_store.h"
#include "support/scratch_dir.h"
#include "support/workload.h"

#include "crypto/provider.h"
#include "crypto/session.h"
#include "engine/bundle_from_wire.h"
#include "protocol/limits.h"
#include "protocol/padding.h"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <sstream>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace veil::bench {

namespace {

namespace fs = std::filesystem;

// Argon2id's memory (store::KdfParams' default m_cost, 64 MiB): every `veil` run touches it
// once when it opens the profile, whatever it does afterwards.
constexpr double kKdfMib = 64.0;
// What the catch-up may add on top, whatever the number of messages: the relay sends a mailbox
// in pages and waits for acks, and the engine handles at most one socket read (256 deliveries)
// at a time, so nothing should hold the backlog. SQLCipher's page cache (2,000 pages of 4 KiB by
// default), libsignal's sessions of 53 peers and the protobuf and Qt-free engine state fit in far
// less.
constexpr double kCatchUpMib = 64.0;

struct CliRun {
    int status = -1;
    double seconds = 0;
    double peak_mib = 0; // ru_maxrss of this child
};

// Runs the `veil` binary with argv (after the program name) for the profile, its output in
// out_file, and waits for it.
CliRun run_cli(const std::vector<std::string>& args, const std::string& passphrase,
               const fs::path& out_file) {
    std::vector<std::string> argv = {VEIL_BENCH_CLI_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    const TimePoint start = Clock::now();
    const pid_t pid = ::fork();
    if (pid < 0)
        fail("B9 could not fork");
    if (pid == 0) {
        const int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (out >= 0) {
            ::dup2(out, 1);
            ::dup2(out, 2);
        }
        ::setenv("VEIL_PASSPHRASE", passphrase.c_str(), 1);
        std::vector<char*> raw;
        for (auto& a : argv)
            raw.push_back(a.data());
        raw.push_back(nullptr);
        ::execv(raw[0], raw.data());
        ::_exit(127);
    }
    CliRun run;
    rusage usage{};
    while (::wait4(pid, &run.status, 0, &usage) < 0 && errno == EINTR) {
    }
    run.seconds = seconds_between(start, Clock::now());
    run.peak_mib = static_cast<double>(usage.ru_maxrss) / 1024.0;
    return run;
}

std::string read_text(const fs::path& file) {
    std::ifstream in(file);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::size_t count_of(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
        ++n;
    return n;
}

// A `veil` profile of this workload.
struct Profile {
    fs::path dir;
    std::string url;
    std::string name;

    std::string passphrase() const { return "b9 passphrase " + name; }
    CliRun run(std::vector<std::string> verb, const fs::path& out) const {
        std::vector<std::string> args = {"--profile", (dir / name).string(), "--relay",
                                         url,         "--timeout",           "600"};
        args.insert(args.end(), verb.begin(), verb.end());
        return run_cli(args, passphrase(), out);
    }
    void must(std::vector<std::string> verb) const {
        const fs::path out = dir / (name + ".out");
        auto r = run(verb, out);
        if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0)
            fail("B9: veil " + verb.front() + " for " + name + " failed: " + read_text(out));
    }
};

// One peer: fetches the profile's bundle, then keeps `window` sends in flight until `total`
// messages are stored.
class PeerWriter final : public RelayListener {
public:
    PeerWriter(RelayClient& client, Signer& signer, std::string to, std::uint64_t total,
               std::size_t window)
        : m_client(client)
        , m_store(signer.identity_pair(), signer.registration_id())
        , m_context(need(crypto::StoreContext::create(signer.context(), m_store), "B9 store"))
        , m_to(std::move(to))
        , m_total(total)
        , m_window(window) {
        client.set_listener(*this);
    }
    ~PeerWriter() override { m_context.reset(); }

    void start() {
        wire::Envelope fetch;
        fetch.set_version(protocol::kProtocolVersion);
        fetch.set_request_id(m_client.next_request_id());
        fetch.mutable_prekey_fetch()->set_username(m_to);
        m_client.send(fetch);
    }
    bool done() const { return m_stored + m_errors >= m_total || m_closed; }
    std::uint64_t stored() const { return m_stored; }
    std::uint64_t errors() const { return m_errors; }

    void on_ready(RelayClient&) override {}
    void on_envelope(RelayClient&, const wire::Envelope& e) override {
        if (e.has_prekey_bundles()) {
            start_session(e.prekey_bundles());
            for (std::size_t i = 0; i < m_window; ++i)
                send_next();
            m_client.flush();
            return;
        }
        if (e.has_send_result())
            ++m_stored;
        else if (e.has_error())
            ++m_errors;
        else
            return;
        send_next();
    }
    void on_closed(RelayClient&, std::string_view) override { m_closed = true; }

private:
    void start_session(const wire::PrekeyBundles& bundles) {
        if (bundles.bundles_size() != 1)
            fail("B9: the profile should have one device");
        m_device = static_cast<std::int32_t>(bundles.bundles(0).device_id());
        need(crypto::process_bundle(*m_context, {m_to, m_device},
                                    engine::detail::bundle_from_wire(bundles.bundles(0))),
             "B9 session from the bundle");
    }

    void send_next() {
        if (m_next >= m_total)
            return;
        const Bytes id = crypto::random_bytes(protocol::kMessageIdBytes);
        const std::string id_text(id.begin(), id.end());
        wire::Content content;
        content.mutable_data()->set_message_id(id_text);
        content.mutable_data()->set_text(m_client.username() + " n" + std::to_string(m_next) +
                                         " kilo");
        content.mutable_data()->set_sent_at_ms(1'000 + m_next);
        const std::string plain = content.SerializeAsString();
        auto ct = need(crypto::encrypt(*m_context, {m_to, m_device},
                                       protocol::pad(Bytes(plain.begin(), plain.end()))),
                       "B9 encrypt");
        wire::Envelope e;
        e.set_version(protocol::kProtocolVersion);
        e.set_request_id(m_client.next_request_id());
        auto* s = e.mutable_send_request();
        s->set_message_id(id_text);
        s->set_to_username(m_to);
        auto* copy = s->add_to_devices();
        copy->set_device_id(static_cast<std::uint32_t>(m_device));
        copy->set_type(ct.type == crypto::CiphertextType::prekey ? wire::CIPHERTEXT_PREKEY
                                                                 : wire::CIPHERTEXT_WHISPER);
        copy->set_ciphertext(std::string(ct.bytes.begin(), ct.bytes.end()));
        m_client.queue(e);
        ++m_next;
    }

    RelayClient& m_client;
    crypto::testing::MemoryStore m_store;
    std::unique_ptr<crypto::StoreContext> m_context;
    std::string m_to;
    std::int32_t m_device = 1;
    std::uint64_t m_total;
    std::size_t m_window;
    std::uint64_t m_next = 0;
    std::uint64_t m_stored = 0;
    std::uint64_t m_errors = 0;
    bool m_closed = false;
};

// A `veil daemon`'s JSON-RPC socket: one request per line, answers and events one per line.
class Rpc {
public:
    explicit Rpc(const fs::path& socket_path, TimePoint deadline) {
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        const std::string path = socket_path.string();
        std::copy(path.begin(), path.end(), addr.sun_path);
        // The daemon makes its socket once it has opened the profile (an Argon2id away).
        while (Clock::now() < deadline) {
            m_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (::connect(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0)
                return;
            ::close(m_fd);
            m_fd = -1;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        fail("B9: the daemon's socket never opened");
    }
    ~Rpc() {
        if (m_fd >= 0)
            ::close(m_fd);
    }
    void send(int id, const std::string& method, const std::string& params) {
        const std::string line = R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
                                 R"(,"method":")" + method + "\"" +
                                 (params.empty() ? "" : ",\"params\":" + params) + "}\n";
        if (::send(m_fd, line.data(), line.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(line.size()))
            fail("B9: the daemon's socket refused a request");
    }
    // Reads until `needle` has come `times` times in everything read, or the deadline.
    bool wait_count(const std::string& needle, std::size_t times, TimePoint deadline) {
        while (count_of(m_seen, needle) < times) {
            pollfd p{m_fd, POLLIN, 0};
            if (Clock::now() >= deadline)
                return false;
            if (::poll(&p, 1, 100) <= 0)
                continue;
            char chunk[65536];
            const ssize_t n = ::recv(m_fd, chunk, sizeof chunk, 0);
            if (n <= 0)
                return false;
            m_seen.append(chunk, static_cast<std::size_t>(n));
        }
        return true;
    }

private:
    int m_fd = -1;
    std::string m_seen;
};

// The admin's daemon sends `count` messages to its group; returns once all are on the relay.
void write_in_group(const Profile& admin, const std::string& group, long count) {
    std::vector<std::string> argv = {
        VEIL_BENCH_CLI_BIN, "--profile", (admin.dir / admin.name).string(),
        "--relay",          admin.url,   "daemon"};
    const pid_t pid = ::fork();
    if (pid == 0) {
        const int out = ::open((admin.dir / (admin.name + ".daemon")).c_str(),
                               O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (out >= 0) {
            ::dup2(out, 1);
            ::dup2(out, 2);
        }
        ::setenv("VEIL_PASSPHRASE", admin.passphrase().c_str(), 1);
        std::vector<char*> raw;
        for (auto& a : argv)
            raw.push_back(a.data());
        raw.push_back(nullptr);
        ::execv(raw[0], raw.data());
        ::_exit(127);
    }
    const TimePoint deadline = Clock::now() + std::chrono::seconds(300);
    bool all_sent = false;
    {
        Rpc rpc(admin.dir / admin.name / "veil.sock", deadline);
        rpc.send(1, "subscribe", "");
        for (long m = 0; m < count; ++m)
            rpc.send(static_cast<int>(10 + m), "send",
                     R"({"group":")" + group + R"(","text":")" + group + " n" + std::to_string(m) +
                         R"( kilo"})");
        all_sent = rpc.wait_count(R"("status":"sent")", static_cast<std::size_t>(count), deadline);
    }
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!all_sent)
        fail("B9: " + admin.name + "'s daemon did not send its group messages in time");
}

// The 1:1 part: `peers` accounts register, fetch the profile's bundle and write `per_peer` each.
std::uint64_t write_from_peers(std::uint16_t port, const std::string& to, std::size_t peers,
                               std::uint64_t per_peer) {
    EventLoop loop;
    Signer signer;
    Connector connector(loop, port, signer, "b9p");
    std::vector<std::unique_ptr<RelayClient>> clients;
    auto registered = connector.run(clients, peers, RelayClient::Goal::register_account, 64, true,
                                    Clock::now() + std::chrono::seconds(120));
    if (registered.ready < peers)
        fail("B9 could not register its peers: " + registered.first_error);
    std::vector<std::unique_ptr<PeerWriter>> writers;
    for (auto& c : clients) {
        writers.push_back(std::make_unique<PeerWriter>(*c, signer, to, per_peer, 32));
        writers.back()->start();
    }
    const TimePoint deadline = Clock::now() + std::chrono::seconds(600);
    auto all_done = [&] {
        return std::all_of(writers.begin(), writers.end(), [](auto& w) { return w->done(); });
    };
    while (!all_done() && Clock::now() < deadline)
        loop.poll(until(deadline));
    std::uint64_t stored = 0, errors = 0;
    for (auto& w : writers) {
        stored += w->stored();
        errors += w->errors();
    }
    if (errors > 0)
        note("B9: " + std::to_string(errors) + " sends were refused");
    for (auto& c : clients)
        c->close(); // the peers go offline: the receipts to come wait in their mailboxes
    return stored;
}

} // namespace

JsonLine run_b9_client_catchup() {
    const auto messages = env_count("VEIL_BENCH_B9_MESSAGES", 100000);
    const auto peers = static_cast<std::size_t>(env_count("VEIL_BENCH_B9_PEERS", 50));
    const auto groups = env_count("VEIL_BENCH_B9_GROUPS", 3);
    const auto per_group = env_count("VEIL_BENCH_B9_PER_GROUP", 500);
    const auto per_peer =
        static_cast<std::uint64_t>((messages - groups * per_group) / static_cast<long>(peers));
    JsonLine line("B9");

    RelayUnderTest relay("b9");
    ScratchDir scratch("veil-b9");
    const std::string url = "ws://127.0.0.1:" + std::to_string(relay.port());
    Profile bob{scratch.path(), url, "bob"};
    bob.must({"register", "bob"});
    std::vector<Profile> admins;
    for (long g = 0; g < groups; ++g) {
        admins.push_back(Profile{scratch.path(), url, "admin" + std::to_string(g)});
        admins.back().must({"register", admins.back().name});
        admins.back().must({"group", "create", "crowd" + std::to_string(g), "--members", "bob"});
    }

    const TimePoint fill_start = Clock::now();
    const std::uint64_t direct = write_from_peers(relay.port(), "bob", peers, per_peer);
    for (long g = 0; g < groups; ++g)
        write_in_group(admins[static_cast<std::size_t>(g)], "crowd" + std::to_string(g), per_group);
    const double fill_seconds = seconds_between(fill_start, Clock::now());
    const std::uint64_t queued = direct + static_cast<std::uint64_t>(groups * per_group);
    note("B9: queued " + std::to_string(queued) + " messages (" + std::to_string(direct) +
         " from " + std::to_string(peers) + " peers) in " + std::to_string(fill_seconds) + " s");

    const fs::path out = scratch.path() / "catchup.jsonl";
    const CliRun caught_up = bob.run({"receive", "--json"}, out);
    const std::string printed = read_text(out); // stdout and stderr
    const std::size_t stored = count_of(printed, " kilo\"");
    // The client says so on stderr each time it loses the connection and retries.
    const std::size_t reconnects = count_of(printed, "lost the connection to the relay");
    // Why: the engine's log in the profile names each request it gave up waiting for.
    const std::size_t timeouts = count_of(read_text(scratch.path() / "bob" / "veil.log"),
                                          "did not answer a request in time");
    const bool clean = WIFEXITED(caught_up.status) && WEXITSTATUS(caught_up.status) == 0;
    const double bound = kKdfMib + kCatchUpMib;
    note("B9: caught up on " + std::to_string(stored) + " in " + std::to_string(caught_up.seconds) +
         " s, peak RSS " + std::to_string(caught_up.peak_mib) + " MiB (bound " +
         std::to_string(bound) + ")");

    line.integer("messages", static_cast<std::int64_t>(queued))
        .integer("peers", static_cast<std::int64_t>(peers))
        .integer("groups", groups)
        .number("fill_msgs_per_s", static_cast<double>(queued) / fill_seconds)
        .integer("caught_up", static_cast<std::int64_t>(stored))
        .text("client_exit", clean ? "clean" : describe_status(caught_up.status))
        .integer("client_reconnects", static_cast<std::int64_t>(reconnects))
        .integer("client_request_timeouts", static_cast<std::int64_t>(timeouts))
        .number("catch_up_s", caught_up.seconds)
        .number("catch_up_msgs_per_s", static_cast<double>(stored) / caught_up.seconds)
        .number("client_peak_rss_mib", caught_up.peak_mib)
        .number("client_rss_bound_mib", bound)
        .text("client_rss_within_bound", caught_up.peak_mib <= bound ? "yes" : "no");
    std::string ended = relay.stop_and_check();
    line.text("relay_exit", ended.empty() ? "clean" : ended);
    return line;
}

} // namespace veil::bench
