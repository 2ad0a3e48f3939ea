// Fuzzes the relay's request path behind the frame codec: RelayService::handle, which parses each
// frame as an Envelope, checks version, request id and field limits (check_envelope and
// protocol::validate) and dispatches it against a real SqliteStore. Two accounts, alice and bob,
// are registered at start-up with real keys. Each input is a few frames (two bytes of length
// each, big endian, then the frame); the first byte says whether they arrive on a connection
// that authenticated as alice first (a real challenge and signature) or on a fresh one. Every
// answer must be a parsable Envelope. The database lives in a temporary folder that is made anew
// every 2,000 inputs and whenever alice can no longer sign in (a request removed her device).
#include "core/relay_service.h"
#include "core/sqlite_store.h"
#include "crypto/keys.h"
#include "crypto/signal_context.h"
#include "protocol/envelope_codec.h"
#include "util/clock.h"
#include "util/log.h"

#include <google/protobuf/stubs/logging.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

namespace {

using namespace veil;
using namespace veil::relay;
namespace fs = std::filesystem;

class NullRouter final : public Router {
public:
    void attach(const Session&) override {}
    void detach(const Session&) override {}
    void push(const std::string&, std::uint32_t, const wire::Envelope&) override {}
    void push_to_connection(std::uint64_t, const wire::Envelope&) override {}
    void push_transient(const std::string&, std::uint32_t, const wire::Envelope&) override {}
    void disconnect(const std::string&, std::uint32_t) override {}
};

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "fuzz_relay setup failed: %s\n", what);
    std::abort();
}

std::string str(const Bytes& b) {
    return std::string(b.begin(), b.end());
}

struct User {
    std::string name;
    crypto::GeneratedIdentity identity;
    crypto::GeneratedSignedPrekey signed_prekey;
    std::vector<crypto::GeneratedPrekey> prekeys;
};

class World {
public:
    World() {
        auto signal = crypto::SignalContext::create();
        if (!signal)
            die("signal context");
        m_signal = std::move(signal).value();
        m_alice = make_user("alice");
        m_bob = make_user("bob");
        reset();
    }
    ~World() { teardown(); }

    void count_input() {
        if (++m_inputs % 2000 == 0)
            reset();
    }

    RelayService& service() { return *m_service; }
    std::uint64_t next_connection() { return ++m_connection; }

    // A challenge and a signed auth request on session; false if the relay refuses it.
    bool sign_in(Session& session) {
        auto nonce = challenge(session);
        wire::Envelope e = envelope(2);
        auto* a = e.mutable_auth_request();
        a->set_username(m_alice.name);
        a->set_device_id(1);
        a->set_signature(str(sign(m_alice, RelayService::auth_message(nonce, m_alice.name, 1))));
        (void)m_service->handle(session, protocol::encode_envelope(e));
        return session.authenticated;
    }

    void reset() {
        teardown();
        char pattern[] = "/tmp/veil-fuzz-relay-XXXXXX";
        if (mkdtemp(pattern) == nullptr)
            die("mkdtemp");
        m_dir = pattern;
        auto store = SqliteStore::open(m_dir.string(), Durability::normal);
        if (!store)
            die("sqlite store");
        m_store = std::move(store).value();
        m_service = std::make_unique<RelayService>(*m_store, m_clock, RelayService::Options{});
        m_service->set_router(&m_router);
        register_user(m_alice);
        register_user(m_bob);
    }

private:
    static wire::Envelope envelope(std::uint64_t id) {
        wire::Envelope e;
        e.set_version(protocol::kProtocolVersion);
        e.set_request_id(id);
        return e;
    }

    User make_user(const std::string& name) {
        User u;
        u.name = name;
        auto identity = crypto::generate_identity(*m_signal);
        if (!identity)
            die("identity");
        u.identity = std::move(identity).value();
        auto spk =
            crypto::generate_signed_prekey(*m_signal, u.identity.key_pair, 1, m_clock.now_ms());
        if (!spk)
            die("signed prekey");
        u.signed_prekey = std::move(spk).value();
        auto otks = crypto::generate_prekeys(*m_signal, 1, 5);
        if (!otks)
            die("prekeys");
        u.prekeys = std::move(otks).value();
        return u;
    }

    Bytes sign(const User& u, const Bytes& data) {
        auto sig = crypto::sign(*m_signal, u.identity.key_pair.private_key, data);
        if (!sig)
            die("sign");
        return sig.value();
    }

    Bytes challenge(Session& session) {
        wire::Envelope e = envelope(1);
        e.mutable_challenge_request();
        auto frames = m_service->handle(session, protocol::encode_envelope(e));
        wire::Envelope answer;
        if (frames.size() != 1 ||
            !answer.ParseFromArray(frames[0].data(), static_cast<int>(frames[0].size())) ||
            !answer.has_challenge())
            die("challenge");
        return Bytes(answer.challenge().nonce().begin(), answer.challenge().nonce().end());
    }

    void register_user(const User& u) {
        Session session(next_connection());
        auto nonce = challenge(session);
        wire::Envelope e = envelope(2);
        auto* r = e.mutable_register_request();
        r->set_username(u.name);
        r->set_identity_key(str(u.identity.key_pair.public_key));
        r->set_registration_id(u.identity.registration_id);
        r->mutable_signed_prekey()->set_id(u.signed_prekey.id);
        r->mutable_signed_prekey()->set_public_key(str(u.signed_prekey.public_key));
        r->mutable_signed_prekey()->set_signature(str(u.signed_prekey.signature));
        for (const auto& k : u.prekeys) {
            auto* otk = r->add_one_time_prekeys();
            otk->set_id(k.id);
            otk->set_public_key(str(k.public_key));
        }
        r->set_signature(str(sign(u, RelayService::registration_message(nonce, u.name))));
        (void)m_service->handle(session, protocol::encode_envelope(e));
        if (!session.authenticated)
            die("register");
        m_service->close(session);
    }

    void teardown() {
        m_service.reset();
        m_store.reset();
        if (!m_dir.empty()) {
            std::error_code ec;
            fs::remove_all(m_dir, ec);
        }
    }

    ManualClock m_clock;
    NullRouter m_router;
    std::unique_ptr<crypto::SignalContext> m_signal;
    User m_alice, m_bob;
    fs::path m_dir;
    std::unique_ptr<SqliteStore> m_store;
    std::unique_ptr<RelayService> m_service;
    std::uint64_t m_connection = 0;
    std::uint64_t m_inputs = 0;
};

World& world() {
    static World* w = new World;
    return *w;
}

void check_answers(const std::vector<Bytes>& frames) {
    for (const auto& f : frames) {
        wire::Envelope e;
        if (!e.ParseFromArray(f.data(), static_cast<int>(f.size())))
            std::abort(); // the relay only ever answers with envelopes
        if (f.size() > protocol::kMaxFrameBytes)
            std::abort();
    }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    log::set_level(log::Level::off);
    // protobuf logs every string field that is not UTF-8; the fuzzer makes millions of them.
    google::protobuf::SetLogHandler(nullptr);
    (void)world();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1)
        return 0;
    World& w = world();
    w.count_input();
    Session session(w.next_connection());
    if ((data[0] & 1) && !w.sign_in(session)) {
        w.reset(); // alice's device is gone: start again with a fresh database
        w.service().close(session);
        return 0;
    }
    std::span<const std::uint8_t> rest(data + 1, size - 1);
    for (int frames = 0; frames < 8 && rest.size() >= 2; ++frames) {
        const std::size_t n = std::min<std::size_t>((rest[0] << 8) | rest[1], rest.size() - 2);
        check_answers(w.service().handle(session, rest.subspan(2, n)));
        rest = rest.subspan(2 + n);
    }
    w.service().close(session);
    return 0;
}
