#include "loadgen/messages.h"

#include "crypto/provider.h"
#include "protocol/limits.h"

#include <algorithm>
#include <cstring>

namespace veil::bench {

namespace {

constexpr std::size_t kPayloadBytes = 256;

const Bytes& id_suffix() {
    static const Bytes suffix = crypto::random_bytes(8);
    return suffix;
}

} // namespace

const Bytes& opaque_payload() {
    static const Bytes payload = crypto::random_bytes(kPayloadBytes);
    return payload;
}

wire::Envelope send_request(std::uint64_t request_id, const std::string& to, std::uint64_t seq) {
    wire::Envelope e;
    e.set_version(protocol::kProtocolVersion);
    e.set_request_id(request_id);
    auto* s = e.mutable_send_request();
    std::uint8_t id[protocol::kMessageIdBytes];
    for (int i = 0; i < 8; ++i)
        id[i] = static_cast<std::uint8_t>(seq >> (8 * i));
    std::memcpy(id + 8, id_suffix().data(), 8);
    s->set_message_id(id, sizeof id);
    s->set_to_username(to);
    // Every bench account has one device.
    auto* copy = s->add_to_devices();
    copy->set_device_id(1);
    copy->set_type(wire::CIPHERTEXT_WHISPER);
    copy->set_ciphertext(opaque_payload().data(), opaque_payload().size());
    return e;
}

std::optional<std::uint64_t> sequence_of(const wire::Deliver& deliver) {
    const std::string& id = deliver.message_id();
    if (id.size() != protocol::kMessageIdBytes ||
        std::memcmp(id.data() + 8, id_suffix().data(), 8) != 0)
        return std::nullopt;
    std::uint64_t seq = 0;
    for (int i = 0; i < 8; ++i)
        seq |= std::uint64_t{static_cast<std::uint8_t>(id[static_cast<std::size_t>(i)])} << (8 * i);
    return seq;
}

std::size_t queue_acks(RelayClient& client, std::vector<std::uint64_t>& ids,
                       std::vector<std::pair<std::uint64_t, std::size_t>>* sent) {
    std::size_t requests = 0;
    for (std::size_t at = 0; at < ids.size(); at += protocol::kMaxAcksPerRequest) {
        const std::size_t end = std::min(ids.size(), at + protocol::kMaxAcksPerRequest);
        wire::Envelope e;
        e.set_version(protocol::kProtocolVersion);
        e.set_request_id(client.next_request_id());
        auto* ack = e.mutable_ack_request();
        for (std::size_t i = at; i < end; ++i)
            ack->add_delivery_ids(ids[i]);
        client.queue(e);
        if (sent != nullptr)
            sent->emplace_back(e.request_id(), end - at);
        ++requests;
    }
    ids.clear();
    return requests;
}

} // namespace veil::bench
