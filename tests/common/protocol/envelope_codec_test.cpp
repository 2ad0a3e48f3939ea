#include "protocol/envelope_codec.h"
#include "protocol/padding.h"

#include <catch2/catch.hpp>

#include <random>

using namespace veil;
using namespace veil::protocol;

namespace {

wire::Envelope sample_send() {
    wire::Envelope e;
    e.set_version(kProtocolVersion);
    e.set_request_id(7);
    auto* s = e.mutable_send_request();
    s->set_message_id(std::string(kMessageIdBytes, 'm'));
    s->set_to_username("bob");
    auto* copy = s->add_to_devices();
    copy->set_device_id(1);
    copy->set_type(wire::CIPHERTEXT_WHISPER);
    copy->set_ciphertext("opaque");
    return e;
}

wire::DeviceCiphertext* add_copy(google::protobuf::RepeatedPtrField<wire::DeviceCiphertext>* list,
                                 std::uint32_t device, std::size_t size = 6) {
    auto* copy = list->Add();
    copy->set_device_id(device);
    copy->set_type(wire::CIPHERTEXT_PREKEY);
    copy->set_ciphertext(std::string(size, 'c'));
    return copy;
}

wire::Envelope request_envelope() {
    wire::Envelope e;
    e.set_version(kProtocolVersion);
    e.set_request_id(9);
    return e;
}

void fill_signed_prekey(wire::SignedPrekey* spk) {
    spk->set_id(1);
    spk->set_public_key(std::string(kPublicKeyBytes, 'p'));
    spk->set_signature(std::string(kSignatureBytes, 's'));
}

wire::Envelope sample_device_add() {
    auto e = request_envelope();
    auto* d = e.mutable_device_add_request();
    d->set_device_key(std::string(kPublicKeyBytes, 'k'));
    d->set_registration_id(7);
    fill_signed_prekey(d->mutable_signed_prekey());
    auto* otk = d->add_one_time_prekeys();
    otk->set_id(1);
    otk->set_public_key(std::string(kPublicKeyBytes, 'o'));
    d->set_name(std::string(kMaxDeviceNameBytes, 'n'));
    return e;
}

wire::Envelope sample_register() {
    auto e = request_envelope();
    auto* r = e.mutable_register_request();
    r->set_username("alice");
    r->set_identity_key(std::string(kPublicKeyBytes, 'i'));
    fill_signed_prekey(r->mutable_signed_prekey());
    r->set_signature(std::string(kSignatureBytes, 's'));
    return e;
}

bool valid(const wire::Envelope& e) {
    return validate(e).ok();
}

Errc refusal(const wire::Envelope& e) {
    auto r = validate(e);
    REQUIRE_FALSE(r.ok());
    return r.error().code;
}

} // namespace

TEST_CASE("an encoded envelope decodes to the same envelope") {
    auto e = sample_send();
    auto decoded = decode_envelope(encode_envelope(e));
    REQUIRE(decoded.ok());
    CHECK(decoded->request_id() == 7);
    CHECK(decoded->send_request().to_username() == "bob");
    CHECK(decoded->send_request().to_devices(0).ciphertext() == "opaque");
}

TEST_CASE("random bytes into the envelope decoder give errors, never a crash") {
    std::mt19937 rng(12345);
    int accepted = 0;
    for (int i = 0; i < 20000; ++i) {
        Bytes frame(rng() % 512);
        for (auto& b : frame)
            b = static_cast<std::uint8_t>(rng());
        auto r = decode_envelope(frame);
        if (r.ok())
            ++accepted;
        else
            CHECK_FALSE(r.error().message.empty());
    }
    // Random bytes essentially never form a valid version-1 envelope with a valid body.
    CHECK(accepted < 20);
}

TEST_CASE("mutated valid envelopes decode or fail cleanly") {
    std::mt19937 rng(99);
    Bytes base = encode_envelope(sample_send());
    for (int i = 0; i < 20000; ++i) {
        Bytes frame = base;
        int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips; ++f)
            frame[rng() % frame.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        auto r = decode_envelope(frame);
        if (r.ok())
            CHECK(validate(r.value()).ok());
    }
}

TEST_CASE("an oversize frame is refused before parsing") {
    Bytes frame(kMaxFrameBytes + 1, 0);
    auto r = decode_envelope(frame);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::too_large);
}

TEST_CASE("an envelope of another protocol version is refused") {
    for (std::uint32_t version : {kProtocolVersion - 1, kProtocolVersion + 1}) {
        auto e = sample_send();
        e.set_version(version);
        auto r = decode_envelope(encode_envelope(e));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message.find("version") != std::string::npos);
    }
}

TEST_CASE("a send with a malformed message id or oversize ciphertext is refused") {
    auto e = sample_send();
    e.mutable_send_request()->set_message_id("short");
    CHECK_FALSE(decode_envelope(encode_envelope(e)).ok());
    e = sample_send();
    e.mutable_send_request()->mutable_to_devices(0)->set_ciphertext(
        std::string(kMaxCiphertextBytes + 1, 'x'));
    CHECK_FALSE(decode_envelope(encode_envelope(e)).ok());
}

TEST_CASE("a send names at least one recipient device, each once, with a known type and a "
          "ciphertext") {
    auto e = sample_send();
    REQUIRE(valid(e));
    e.mutable_send_request()->clear_to_devices();
    CHECK(refusal(e) == Errc::protocol);

    e = sample_send();
    e.mutable_send_request()->mutable_to_devices(0)->set_device_id(0);
    CHECK(refusal(e) == Errc::protocol);

    e = sample_send();
    add_copy(e.mutable_send_request()->mutable_to_devices(), 1);
    CHECK(refusal(e) == Errc::protocol); // device 1 twice

    e = sample_send();
    e.mutable_send_request()->mutable_to_devices(0)->set_type(wire::CIPHERTEXT_SENDER_KEY);
    CHECK(refusal(e) == Errc::protocol);

    e = sample_send();
    e.mutable_send_request()->mutable_to_devices(0)->clear_ciphertext();
    CHECK_FALSE(valid(e));

    e = sample_send();
    e.mutable_send_request()->mutable_to_devices(0)->set_ciphertext(
        std::string(kMaxCiphertextBytes, 'x'));
    CHECK(valid(e));
}

TEST_CASE("copies for the sender's own devices come only with sync, each device once") {
    auto e = sample_send();
    auto* s = e.mutable_send_request();
    add_copy(s->mutable_own_devices(), 2);
    CHECK(refusal(e) == Errc::protocol);
    s->set_sync(true);
    CHECK(valid(e));
    add_copy(s->mutable_own_devices(), 2);
    CHECK(refusal(e) == Errc::protocol);

    // The same device id in both lists is fine: they are devices of two accounts.
    e = sample_send();
    e.mutable_send_request()->set_sync(true);
    add_copy(e.mutable_send_request()->mutable_own_devices(), 1);
    CHECK(valid(e));

    // sync without copies: the sender has no other device.
    e = sample_send();
    e.mutable_send_request()->set_sync(true);
    CHECK(valid(e));
}

TEST_CASE("a send holds at most two accounts' worth of devices and kMaxSendBytes in all") {
    auto e = sample_send();
    auto* s = e.mutable_send_request();
    s->set_sync(true);
    for (std::uint32_t d = 2; d <= kMaxDevicesPerAccount; ++d)
        add_copy(s->mutable_to_devices(), d);
    for (std::uint32_t d = 1; d <= kMaxDevicesPerAccount; ++d)
        add_copy(s->mutable_own_devices(), d);
    CHECK(valid(e));
    add_copy(s->mutable_own_devices(), kMaxDevicesPerAccount + 1);
    CHECK(refusal(e) == Errc::protocol);

    // Copies of the largest size pass one by one, but only kMaxSendBytes of them together.
    constexpr auto fitting = static_cast<std::uint32_t>(kMaxSendBytes / kMaxCiphertextBytes);
    static_assert(fitting < 2 * kMaxDevicesPerAccount);
    e = sample_send();
    s = e.mutable_send_request();
    s->mutable_to_devices(0)->set_ciphertext(std::string(kMaxCiphertextBytes, 'x'));
    for (std::uint32_t d = 2; d <= fitting + 1; ++d)
        add_copy(s->mutable_to_devices(), d, kMaxCiphertextBytes);
    CHECK(refusal(e) == Errc::too_large);
    s->mutable_to_devices()->RemoveLast();
    CHECK(valid(e));
}

TEST_CASE("a prekey fetch names at most kMaxDevicesPerAccount devices") {
    auto e = request_envelope();
    auto* f = e.mutable_prekey_fetch();
    f->set_username("bob");
    for (std::uint32_t d = 1; d <= kMaxDevicesPerAccount; ++d)
        f->add_device_ids(d);
    CHECK(valid(e));
    f->add_device_ids(kMaxDevicesPerAccount + 1);
    CHECK(refusal(e) == Errc::protocol);
}

TEST_CASE("a device add carries well-formed keys and a short sealed name") {
    CHECK(valid(sample_device_add()));
    auto e = sample_device_add();
    e.mutable_device_add_request()->set_device_key(std::string(32, 'k'));
    CHECK(refusal(e) == Errc::protocol);
    e = sample_device_add();
    e.mutable_device_add_request()->clear_signed_prekey();
    CHECK(refusal(e) == Errc::protocol);
    e = sample_device_add();
    e.mutable_device_add_request()->mutable_signed_prekey()->set_signature("short");
    CHECK(refusal(e) == Errc::protocol);
    e = sample_device_add();
    e.mutable_device_add_request()->mutable_one_time_prekeys(0)->set_public_key("x");
    CHECK(refusal(e) == Errc::protocol);
    e = sample_device_add();
    for (std::size_t i = 0; i < kMaxPrekeysPerUpload; ++i) {
        auto* otk = e.mutable_device_add_request()->add_one_time_prekeys();
        otk->set_public_key(std::string(kPublicKeyBytes, 'o'));
    }
    CHECK(refusal(e) == Errc::protocol);
    e = sample_device_add();
    e.mutable_device_add_request()->set_name(std::string(kMaxDeviceNameBytes + 1, 'n'));
    CHECK(refusal(e) == Errc::protocol);
}

TEST_CASE("a registration's device key is empty or 33 bytes and its device name short") {
    CHECK(valid(sample_register()));
    auto e = sample_register();
    e.mutable_register_request()->set_device_key(std::string(kPublicKeyBytes, 'd'));
    e.mutable_register_request()->set_device_name(std::string(kMaxDeviceNameBytes, 'n'));
    CHECK(valid(e));
    e.mutable_register_request()->set_device_key(std::string(kPublicKeyBytes + 1, 'd'));
    CHECK(refusal(e) == Errc::protocol);
    e = sample_register();
    e.mutable_register_request()->set_device_name(std::string(kMaxDeviceNameBytes + 1, 'n'));
    CHECK(refusal(e) == Errc::protocol);
}

TEST_CASE("a device list names a username of at most 32 bytes, or none") {
    auto e = request_envelope();
    e.mutable_device_list_request();
    CHECK(valid(e));
    e.mutable_device_list_request()->set_username(std::string(kMaxUsernameBytes, 'a'));
    CHECK(valid(e));
    e.mutable_device_list_request()->set_username(std::string(kMaxUsernameBytes + 1, 'a'));
    CHECK(refusal(e) == Errc::protocol);
}

TEST_CASE("a link send names a 5-byte channel and carries a payload of bounded size") {
    auto e = request_envelope();
    auto* l = e.mutable_link_send_request();
    l->set_channel(std::string(kLinkChannelBytes, 'c'));
    l->set_payload("hello");
    CHECK(valid(e));
    l->set_channel(std::string(kLinkChannelBytes + 1, 'c'));
    CHECK(refusal(e) == Errc::protocol);
    l->set_channel(std::string(kLinkChannelBytes, 'c'));
    l->clear_payload();
    CHECK_FALSE(valid(e));
    l->set_payload(std::string(kMaxLinkPayloadBytes + 1, 'p'));
    CHECK(refusal(e) == Errc::too_large);
    l->set_payload(std::string(kMaxLinkPayloadBytes, 'p'));
    CHECK(valid(e));
}

TEST_CASE("a group send's device digest is empty or 32 bytes") {
    auto e = request_envelope();
    auto* g = e.mutable_group_send_request();
    g->set_group_id(std::string(kGroupIdBytes, 'g'));
    g->set_message_id(std::string(kMessageIdBytes, 'm'));
    g->set_revision(1);
    g->set_ciphertext("opaque");
    CHECK(valid(e));
    g->set_devices_digest(std::string(32, 'd'));
    CHECK(valid(e));
    g->set_devices_digest(std::string(31, 'd'));
    CHECK(refusal(e) == Errc::protocol);
}

TEST_CASE("usernames are 2 to 32 lowercase letters, digits, '_', '.' or '-'") {
    CHECK(valid_username("alice"));
    CHECK(valid_username("a1"));
    CHECK(valid_username("bob.smith-2_x"));
    CHECK_FALSE(valid_username("a"));
    CHECK_FALSE(valid_username("Alice"));
    CHECK_FALSE(valid_username(".alice"));
    CHECK_FALSE(valid_username("al ice"));
    CHECK_FALSE(valid_username("al\x1b[2Jice"));
    CHECK_FALSE(valid_username(std::string(33, 'a')));
    CHECK(valid_username(std::string(32, 'a')));
}

TEST_CASE("padding hides the length within 160-byte buckets and round trips") {
    for (std::size_t n : {0u, 1u, 158u, 159u, 160u, 161u, 1000u}) {
        Bytes content(n, 0x42);
        Bytes padded = pad(content);
        CHECK(padded.size() % kPaddingBlock == 0);
        CHECK(padded.size() > n);
        auto back = unpad(padded);
        REQUIRE(back.ok());
        CHECK(back.value() == content);
    }
    CHECK(pad(Bytes(10)).size() == pad(Bytes(100)).size());
}

TEST_CASE("malformed padding is rejected") {
    CHECK_FALSE(unpad(Bytes{}).ok());
    CHECK_FALSE(unpad(Bytes(160, 0)).ok());
    Bytes no_marker(160, 0);
    no_marker[10] = 0x41;
    CHECK_FALSE(unpad(no_marker).ok());
    CHECK_FALSE(unpad(Bytes(100, 0x80)).ok());
}
