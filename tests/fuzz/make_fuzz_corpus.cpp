// Writes the fuzz targets' seed corpus: real encoded examples, made with Veil's own encoders and
// libsignal, in the input layout each target reads (its first byte picks a mode where it has
// modes). Run it after a wire or record format change and commit what it writes:
//   build-asan/tests/fuzz/make_fuzz_corpus tests/fuzz/corpus
// Files are named after what they hold; rerunning replaces them (keys and ids are random).
#include "crypto/keys.h"
#include "crypto/link.h"
#include "crypto/safety_number.h"
#include "crypto/sender_key.h"
#include "crypto/session.h"
#include "protocol/envelope_codec.h"
#include "protocol/padding.h"
#include "protocol/ws_codec.h"
#include "store/kdf_file.h"
#include "support/memory_store.h"
#include "util/hex.h"

#include <openssl/sha.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace veil;
using namespace veil::crypto;
namespace fs = std::filesystem;
namespace ws = veil::protocol::ws;

fs::path g_root;

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "make_fuzz_corpus: %s\n", what.c_str());
    std::exit(1);
}
template <typename T>
T must(Result<T> r, const char* what) {
    if (!r)
        die(std::string(what) + ": " + r.error().message);
    return std::move(r).value();
}
void must(const Status& s, const char* what) {
    if (!s)
        die(std::string(what) + ": " + s.error().message);
}

void write(const std::string& target, const std::string& name, std::span<const std::uint8_t> b) {
    const fs::path dir = g_root / target;
    fs::create_directories(dir);
    std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    if (!out)
        die("cannot write " + (dir / name).string());
}
void write(const std::string& target, const std::string& name, const std::string& text) {
    write(target, name, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}
Bytes with_mode(std::uint8_t mode, std::span<const std::uint8_t> b) {
    Bytes out{mode};
    out.insert(out.end(), b.begin(), b.end());
    return out;
}
Bytes with_mode(std::uint8_t mode, const std::string& s) {
    return with_mode(mode, std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}
std::string fill(std::size_t n, char c) {
    return std::string(n, c);
}

// ---- envelopes ----------------------------------------------------------------------------

wire::Envelope envelope(std::uint64_t id) {
    wire::Envelope e;
    e.set_version(protocol::kProtocolVersion);
    e.set_request_id(id);
    return e;
}

void envelopes() {
    // The relay target reads a mode byte (1: signed in first) and frames of two length bytes.
    auto put = [](const std::string& name, const wire::Envelope& e) {
        const Bytes frame = protocol::encode_envelope(e);
        write("envelope", name, frame);
        for (std::uint8_t mode : {0, 1}) {
            Bytes relay{mode, static_cast<std::uint8_t>(frame.size() >> 8),
                        static_cast<std::uint8_t>(frame.size())};
            relay.insert(relay.end(), frame.begin(), frame.end());
            write("relay", name + (mode ? "_signed_in" : "_fresh"), relay);
        }
    };
    {
        auto e = envelope(1);
        e.mutable_challenge_request();
        put("challenge_request", e);
    }
    {
        auto e = envelope(2);
        auto* r = e.mutable_register_request();
        r->set_username("alice");
        r->set_identity_key(fill(33, '\x05'));
        r->set_registration_id(1234);
        r->mutable_signed_prekey()->set_id(1);
        r->mutable_signed_prekey()->set_public_key(fill(33, '\x05'));
        r->mutable_signed_prekey()->set_signature(fill(64, 's'));
        for (int i = 1; i <= 3; ++i) {
            auto* k = r->add_one_time_prekeys();
            k->set_id(static_cast<std::uint32_t>(i));
            k->set_public_key(fill(33, '\x05'));
        }
        r->set_signature(fill(64, 'S'));
        r->set_device_key(fill(33, '\x05'));
        r->set_device_name(fill(60, 'n'));
        put("register_request", e);
    }
    {
        auto e = envelope(3);
        auto* a = e.mutable_auth_request();
        a->set_username("alice");
        a->set_device_id(1);
        a->set_signature(fill(64, 'S'));
        put("auth_request", e);
    }
    {
        auto e = envelope(4);
        auto* s = e.mutable_send_request();
        s->set_message_id(fill(16, 'm'));
        s->set_to_username("bob");
        for (std::uint32_t d = 1; d <= 2; ++d) {
            auto* c = s->add_to_devices();
            c->set_device_id(d);
            c->set_type(d == 1 ? wire::CIPHERTEXT_WHISPER : wire::CIPHERTEXT_PREKEY);
            c->set_ciphertext(fill(200, 'c'));
        }
        s->set_sync(true);
        auto* own = s->add_own_devices();
        own->set_device_id(2);
        own->set_type(wire::CIPHERTEXT_WHISPER);
        own->set_ciphertext(fill(200, 'o'));
        put("send_request", e);
    }
    {
        auto e = envelope(5);
        auto* a = e.mutable_ack_request();
        for (std::uint64_t i = 1; i <= 5; ++i)
            a->add_delivery_ids(i);
        put("ack_request", e);
    }
    {
        auto e = envelope(6);
        auto* f = e.mutable_prekey_fetch();
        f->set_username("bob");
        f->add_device_ids(1);
        f->add_device_ids(2);
        put("prekey_fetch", e);
    }
    {
        auto e = envelope(7);
        wire::GroupState state;
        state.set_group_id(fill(16, 'g'));
        state.set_revision(1);
        auto* m = state.add_members();
        m->set_username("alice");
        m->set_admin(true);
        state.add_members()->set_username("bob");
        auto* c = e.mutable_group_update_request()->mutable_change();
        c->set_state(state.SerializeAsString());
        c->set_signer("alice");
        c->set_signature(fill(64, 'S'));
        put("group_update_request", e);
    }
    {
        auto e = envelope(8);
        auto* g = e.mutable_group_send_request();
        g->set_group_id(fill(16, 'g'));
        g->set_message_id(fill(16, 'm'));
        g->set_revision(3);
        g->set_ciphertext(fill(300, 'c'));
        g->set_devices_digest(fill(32, 'd'));
        put("group_send_request", e);
    }
    {
        auto e = envelope(9);
        auto* l = e.mutable_link_send_request();
        l->set_channel(fill(5, 'l'));
        l->set_payload(fill(80, 'p'));
        put("link_send_request", e);
    }
    {
        auto e = envelope(0);
        auto* d = e.mutable_deliver();
        d->set_delivery_id(42);
        d->set_message_id(fill(16, 'm'));
        d->set_from_username("alice");
        d->set_from_device_id(1);
        d->set_type(wire::CIPHERTEXT_WHISPER);
        d->set_ciphertext(fill(200, 'c'));
        d->set_server_timestamp_ms(1'700'000'000'000);
        put("deliver", e);
    }
    {
        auto e = protocol::make_error_envelope(10, wire::Error::RATE_LIMITED, "slow down", 1500);
        put("error", e);
    }
    {
        auto e = envelope(11);
        e.mutable_device_add_request()->set_device_key(fill(33, '\x05'));
        e.mutable_device_add_request()->mutable_signed_prekey()->set_public_key(fill(33, 'k'));
        e.mutable_device_add_request()->mutable_signed_prekey()->set_signature(fill(64, 's'));
        put("device_add_request", e);
    }
    put("ok", protocol::make_ok_envelope(12));
}

// ---- WebSocket frames ----------------------------------------------------------------------

void frames() {
    const std::uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    auto span_of = [](const std::string& s) {
        return std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
    };
    // Layout: mode byte (bit 0 role: 0 server decodes masked client frames; bits 1-3 cap), a
    // chunk count, the chunk sizes, then the stream.
    auto put = [&](const std::string& name, std::uint8_t mode, Bytes chunks, const Bytes& stream) {
        Bytes out{mode, static_cast<std::uint8_t>(chunks.size())};
        out.insert(out.end(), chunks.begin(), chunks.end());
        out.insert(out.end(), stream.begin(), stream.end());
        write("ws_codec", name, out);
    };
    auto client = [&](ws::Opcode op, const std::string& payload) {
        return ws::encode_frame(ws::Role::client, op, span_of(payload), mask);
    };
    auto server = [&](ws::Opcode op, const std::string& payload) {
        return ws::encode_frame(ws::Role::server, op, span_of(payload));
    };
    auto cat = [](std::initializer_list<Bytes> parts) {
        Bytes out;
        for (const auto& p : parts)
            out.insert(out.end(), p.begin(), p.end());
        return out;
    };
    const std::uint8_t cap_64k = 5 << 1, cap_1000 = 4 << 1, cap_125 = 2 << 1;
    put("server_binary", cap_64k, {}, client(ws::Opcode::binary, "hello relay"));
    put("server_binary_chunked", cap_64k, {0, 1, 2, 6}, client(ws::Opcode::binary, fill(300, 'x')));
    put("server_ping_close", cap_64k, {3},
        cat({client(ws::Opcode::ping, "p"), client(ws::Opcode::pong, ""),
             ws::encode_close(ws::Role::client, ws::close_normal, "bye")}));
    // A fragmented message with a ping between the fragments.
    Bytes first = client(ws::Opcode::binary, fill(10, 'a'));
    first[0] &= 0x7f; // clear FIN
    Bytes middle = client(ws::Opcode::continuation, fill(10, 'b'));
    middle[0] &= 0x7f;
    put("server_fragmented", cap_1000, {4, 9},
        cat({first, client(ws::Opcode::ping, "x"), middle,
             client(ws::Opcode::continuation, fill(10, 'c'))}));
    put("server_16bit_length", cap_1000, {}, client(ws::Opcode::binary, fill(200, 'l')));
    // 64-bit lengths: the start of a 70,000-byte frame, and a header announcing 2^63-1 bytes.
    Bytes big = client(ws::Opcode::binary, fill(70000, 'L'));
    big.resize(14 + 100);
    put("server_64bit_length", 6 << 1, {255}, big);
    put("server_huge_length", 6 << 1, {},
        Bytes{0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 0});
    put("server_over_cap", cap_125, {}, client(ws::Opcode::binary, fill(126, 'o')));
    put("server_unmasked", cap_64k, {}, server(ws::Opcode::binary, "unmasked"));
    put("server_text", cap_64k, {}, client(ws::Opcode::text, "caf\xc3\xa9"));
    put("client_binary", cap_64k | 1, {1}, server(ws::Opcode::binary, fill(150, 's')));
    put("client_close", cap_64k | 1, {}, ws::encode_close(ws::Role::server, 1009, "too big"));
}

// ---- HTTP upgrade --------------------------------------------------------------------------

void upgrades() {
    write("upgrade", "upgrade_ok",
          "GET /v1/ws HTTP/1.1\r\nHost: relay.example\r\nUpgrade: websocket\r\n"
          "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          "Sec-WebSocket-Version: 13\r\n\r\n");
    write("upgrade", "upgrade_bad_version",
          "GET /v1/ws HTTP/1.1\r\nHost: r\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n");
    write("upgrade", "healthz", "GET /healthz HTTP/1.1\r\nHost: r\r\n\r\n");
    write("upgrade", "not_found", "POST /other HTTP/1.0\r\nContent-Length: 3\r\n\r\n");
    write("upgrade", "blob_put",
          "PUT /v1/blobs/0123456789abcdef0123456789abcdef HTTP/1.1\r\nHost: r\r\n"
          "Authorization: Veil abcdefabcdef\r\nContent-Length: 1024\r\nExpect: 100-continue\r\n"
          "\r\n");
    write("upgrade", "blob_get",
          "GET /v1/blobs/0123456789abcdef0123456789abcdef HTTP/1.1\r\nHost: r\r\n\r\n");
    write("upgrade", "blob_chunked",
          "PUT /v1/blobs/00 HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n"
          "Content-Length: 2\r\n\r\n");
    write("upgrade", "encoded_word",
          "GET /v1/ws HTTP/1.1\r\nX-Name: =?UTF-8?B?w6k=?= =?ISO-8859-1?Q?caf=E9?=\r\n"
          "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    write("upgrade", "folded_header",
          "GET /v1/ws HTTP/1.1\r\nUpgrade:\r\n websocket\r\nConnection: Upgrade\r\n\r\n");
}

// ---- stored records ------------------------------------------------------------------------

void records() {
    wire::GroupState state;
    state.set_group_id(fill(16, 'g'));
    state.set_revision(2);
    state.set_previous_hash(fill(32, 'h'));
    for (const char* name : {"alice", "bob", "carol"}) {
        auto* m = state.add_members();
        m->set_username(name);
        m->set_admin(std::string(name) == "alice");
    }
    const std::string state_bytes = state.SerializeAsString();
    wire::GroupChange change;
    change.set_state(state_bytes);
    change.set_signer("alice");
    change.set_signature(fill(64, 'S'));
    write("records", "0_group_change", with_mode(0, change.SerializeAsString()));
    write("records", "1_group_state", with_mode(1, state_bytes));
    state.set_revision(1);
    state.clear_previous_hash();
    write("records", "1_group_state_created", with_mode(1, state.SerializeAsString()));

    wire::Content content;
    auto* d = content.mutable_data();
    d->set_message_id(fill(16, 'm'));
    d->set_text("see you at 8 \xf0\x9f\x91\x8b");
    d->set_sent_at_ms(1'700'000'000'000);
    d->mutable_quote()->set_message_id(fill(16, 'q'));
    d->add_mentions("bob");
    d->set_expire_timer_s(3600);
    content.mutable_group()->set_group_id(fill(16, 'g'));
    content.mutable_group()->set_revision(2);
    const std::string content_bytes = content.SerializeAsString();
    write("records", "2_content", with_mode(2, content_bytes));
    const auto padded = protocol::pad(std::span(
        reinterpret_cast<const std::uint8_t*>(content_bytes.data()), content_bytes.size()));
    write("records", "2_padded_content", with_mode(2, padded));

    write("records", "3_kdf_file",
          with_mode(3, "veil-kdf 1\nargon2id t=3 m=65536 p=1\n"
                       "salt 00112233445566778899aabbccddeeff\n"));

    const Bytes channel(protocol::kLinkChannelBytes, 0x5a);
    const SecretBytes secret = new_link_secret();
    write("records", "4_link_code", with_mode(4, format_link_code(channel, secret)));
    write("records", "4_link_uri", with_mode(4, link_code_uri(channel, secret)));

    wire::LinkPayload hello;
    hello.set_hello(fill(32, 'k'));
    write("records", "5_link_hello", with_mode(5, hello.SerializeAsString()));
    wire::LinkContent account;
    auto* a = account.mutable_account();
    a->set_username("alice");
    a->set_identity_public(fill(33, '\x05'));
    a->set_identity_private(fill(32, 'p'));
    auto* contact = a->add_contacts();
    contact->set_username("bob");
    contact->set_identity_key(fill(33, '\x05'));
    auto* g = a->add_groups();
    *g->mutable_latest() = change;
    g->set_name("climbing");
    write("records", "5_link_account", with_mode(5, account.SerializeAsString()));
    wire::LinkContent history;
    auto* h = history.mutable_history()->add_messages();
    h->set_conversation("bob");
    h->set_message_id(fill(16, 'm'));
    h->set_sender("bob");
    h->set_text("an old message");
    h->set_sent_at_ms(1'600'000'000'000);
    write("records", "5_link_history", with_mode(5, history.SerializeAsString()));
}

// ---- libsignal messages and records --------------------------------------------------------

struct Party {
    std::unique_ptr<SignalContext> signal;
    std::unique_ptr<testing::MemoryStore> store;
    std::unique_ptr<StoreContext> context;
    ProtocolAddress address;
    PrekeyBundle bundle;
    IdentityKeyPair identity;
};

std::unique_ptr<Party> make_party(const std::string& name) {
    auto p = std::make_unique<Party>();
    p->signal = must(SignalContext::create(), "signal context");
    auto identity = must(generate_identity(*p->signal), "identity");
    p->identity =
        IdentityKeyPair{identity.key_pair.public_key, identity.key_pair.private_key.clone()};
    p->store = std::make_unique<testing::MemoryStore>(std::move(identity.key_pair),
                                                      identity.registration_id);
    p->context = must(StoreContext::create(*p->signal, *p->store), "store context");
    p->address = ProtocolAddress{name, 1};
    auto spk = must(generate_signed_prekey(*p->signal, p->identity, 1, 1'700'000'000'000),
                    "signed prekey");
    must(p->store->store_signed_prekey(spk.id, spk.record.view()), "store signed prekey");
    auto otks = must(generate_prekeys(*p->signal, 1, 2), "prekeys");
    for (auto& k : otks)
        must(p->store->store_prekey(k.id, k.record.view()), "store prekey");
    p->bundle = PrekeyBundle{identity.registration_id,
                             1,
                             p->identity.public_key,
                             spk.id,
                             spk.public_key,
                             spk.signature,
                             otks[0].id,
                             otks[0].public_key};
    return p;
}

void signal_messages() {
    auto alice = make_party("alice");
    auto bob = make_party("bob");
    const Bytes body = protocol::pad(to_bytes(std::string("hello")));
    must(process_bundle(*alice->context, bob->address, bob->bundle), "bundle");
    auto prekey = must(encrypt(*alice->context, bob->address, body), "prekey message");
    write("signal", "1_prekey_message", with_mode(1, prekey.bytes));
    must(decrypt(*bob->context, alice->address, prekey), "decrypt prekey");
    auto reply = must(encrypt(*bob->context, alice->address, body), "reply");
    must(decrypt(*alice->context, bob->address, reply), "decrypt reply");
    auto whisper = must(encrypt(*alice->context, bob->address, body), "whisper");
    write("signal", "0_whisper_message", with_mode(0, whisper.bytes));

    auto session = must(bob->store->load_session(alice->address), "load session");
    if (!session)
        die("no session stored");
    Bytes record{0};
    record.insert(record.end(), session->record.begin(), session->record.end());
    write("signal", "4_session_record", with_mode(4, record));

    const SenderKeyName name{Bytes(16, 0x47), alice->address};
    auto distribution = must(create_distribution_message(*alice->context, name), "skdm");
    write("signal", "3_distribution_message", with_mode(3, distribution.view()));
    must(process_distribution_message(*bob->context, name, distribution.view()), "process skdm");
    auto group = must(group_encrypt(*alice->context, name, body), "group message");
    write("signal", "2_sender_key_message", with_mode(2, group));
    auto sender_key = must(alice->store->load_sender_key(name), "load own sender key");
    if (!sender_key)
        die("no sender key stored");
    write("signal", "5_sender_key_record_own", with_mode(5, sender_key->view()));
    auto held = must(bob->store->load_sender_key(name), "load held sender key");
    write("signal", "5_sender_key_record_held", with_mode(5, held->view()));

    // Mode 6: edits on the fuzzer's own genuine messages (which = 0 whisper, 1 prekey, 2 group).
    write("signal", "6_whisper_unchanged", Bytes{6, 0});
    write("signal", "6_prekey_flip", Bytes{6, 1, 3, 0x01, 40, 0x80});
    write("signal", "6_group_cut", Bytes{6, 2, 20, 0x00});

    auto number = must(SafetyNumber::compute(*bob->signal, "bob", bob->identity.public_key, "alice",
                                             alice->identity.public_key),
                       "safety number");
    write("signal", "7_safety_number", with_mode(7, number.scannable()));
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: make_fuzz_corpus CORPUS_DIR\n");
        return 2;
    }
    g_root = argv[1];
    envelopes();
    frames();
    upgrades();
    records();
    signal_messages();
    return 0;
}
