// The audit's judgement of stored bytes: does a record or blob have the shape of the ciphertext
// Veil's clients write, and nothing that reads as plaintext? Each check returns nullopt when
// the bytes pass, or a reason naming what failed (never quoting the bytes).
//
// Mailbox rows and group payloads hold libsignal-protocol-c's serialized messages (see
// common/crypto/session.cpp and sender_key.cpp): one version byte (current version 3 in both
// nibbles: 0x33), a protobuf body whose fields have the message's numbers and wire types, and a
// trailer: an 8-byte MAC for a SignalMessage (CIPHERTEXT_WHISPER), none for a
// PreKeySignalMessage (CIPHERTEXT_PREKEY, whose field 4 holds a SignalMessage), a 64-byte
// signature for a SenderKeyMessage (CIPHERTEXT_SENDER_KEY). Records of type CIPHERTEXT_NONE
// (group changes, expiry notices, rows that reference a group payload) must be empty.
//
// Blobs are the attachment cipher's output (common/crypto/attachment.h): IV, AES-CBC blocks and
// a 32-byte MAC, so their size is 48 plus a multiple of 16; no file-format magic at the start;
// and high entropy.
//
// Either kind also fails when it holds a run of kMaxPrintableRun printable characters: random
// bytes make such a run vanishingly unlikely, text makes it certain.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>

namespace veil::relay {

inline constexpr std::size_t kMaxPrintableRun = 24;

std::optional<std::string> ciphertext_problem(std::uint32_t type,
                                              std::span<const std::uint8_t> bytes);

std::optional<std::string> blob_problem(const std::filesystem::path& file);

// The longest run of printable ASCII (and UTF-8 sequences of printable letters) in bytes.
std::size_t longest_printable_run(std::span<const std::uint8_t> bytes);

} // namespace veil::relay
