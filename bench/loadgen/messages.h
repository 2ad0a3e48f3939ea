// The envelopes the workloads send: SendRequests whose message id carries a sequence number (so
// that the receiving side finds the send time again, client-side), and batched AckRequests.
// The ciphertext is a pre-encrypted opaque payload: random bytes made once, which the relay
// stores and forwards without looking inside, exactly as it treats real Signal ciphertext.
#pragma once

#include "loadgen/relay_client.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace veil::bench {

// The 256-byte payload every B2-B4 message carries.
const Bytes& opaque_payload();

// A SendRequest from the client to (to, device 1) with message id = seq (8 bytes, little
// endian) followed by 8 bytes fixed for this process.
wire::Envelope send_request(std::uint64_t request_id, const std::string& to, std::uint64_t seq);

// The sequence number in a Deliver's message id, if it is one of ours.
std::optional<std::uint64_t> sequence_of(const wire::Deliver& deliver);

// Queues AckRequests for ids (at most 1000 per request, the protocol's cap) and clears ids;
// returns how many requests it queued. The caller flushes. With sent, appends each request's
// (request id, number of delivery ids) to it.
std::size_t queue_acks(RelayClient& client, std::vector<std::uint64_t>& ids,
                       std::vector<std::pair<std::uint64_t, std::size_t>>* sent = nullptr);

} // namespace veil::bench
