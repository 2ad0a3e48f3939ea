// Small conversions between wire messages and the engine's types, shared by the engine's
// source files.
#pragma once

#include "protocol/padding.h"
#include "store/account_store.h"
#include "util/result.h"
#include "util/secret_bytes.h"
#include "veil.pb.h"

#include <string>

namespace veil::engine::detail {

inline Bytes bytes_of(const std::string& s) {
    return Bytes(s.begin(), s.end());
}

// A relay Error as an engine error: its sentence, or a generic one.
inline Error relay_error(const wire::Error& e) {
    return make_error(Errc::refused,
                      e.message().empty() ? "the relay refused the request" : e.message());
}

// The Content inside a decrypted, padded plaintext; invalid_message when either is malformed.
inline Result<wire::Content> content_of(std::span<const std::uint8_t> padded) {
    auto unpadded = protocol::unpad(padded);
    wire::Content content;
    if (!unpadded || !content.ParseFromArray(unpadded->data(), static_cast<int>(unpadded->size())))
        return make_error(Errc::invalid_message, "the decrypted content is malformed");
    return content;
}

// The stored row of a DataMessage received now (received_at_ms) in conversation, from sender:
// incoming and received, or (ours, sent from another of our devices) outgoing, sent and synced.
inline store::MessageRow data_row(const wire::DataMessage& data, const std::string& conversation,
                                  const std::string& sender, bool ours, std::int64_t now_ms) {
    store::MessageRow row;
    row.peer = conversation;
    row.message_id = bytes_of(data.message_id());
    row.direction = ours ? store::Direction::outgoing : store::Direction::incoming;
    row.sender = sender;
    row.text = data.text();
    row.sent_at_ms = static_cast<std::int64_t>(data.sent_at_ms());
    row.received_at_ms = now_ms;
    row.status = ours ? store::MessageStatus::sent : store::MessageStatus::received;
    if (ours)
        row.kind = store::MessageKind::synced;
    return row;
}

// A file of a message as the wire carries it (the key included: a message, or our own link).
inline void attachment_to_wire(const store::AttachmentRow& a, wire::Attachment* out) {
    out->set_blob_id(a.blob_id);
    out->set_key(std::string(a.key.begin(), a.key.end()));
    out->set_digest(std::string(a.digest.begin(), a.digest.end()));
    out->set_size(a.size);
    out->set_blob_size(a.blob_size);
    out->set_file_name(a.file_name);
    out->set_content_type(a.content_type);
    if (!a.thumbnail.empty())
        out->set_thumbnail(std::string(a.thumbnail.begin(), a.thumbnail.end()));
}

// A file of a message from anyone, checked and cleaned, as a row in state remote (not yet
// fetched); invalid_message when malformed. Defined in engine_messaging.cpp.
Result<store::AttachmentRow> attachment_from_wire(const wire::Attachment& a, int index);

} // namespace veil::engine::detail
