// Hard limits of wire protocol version 1. Both sides enforce them before allocating.
#pragma once

#include <cstddef>
#include <cstdint>

namespace veil::protocol {

inline constexpr std::uint32_t kProtocolVersion = 1;
inline constexpr std::size_t kMaxFrameBytes = 256 * 1024;      // one Envelope
inline constexpr std::size_t kMaxCiphertextBytes = 128 * 1024; // SendRequest.ciphertext
inline constexpr std::size_t kMaxPlaintextBytes = 64 * 1024;   // DataMessage.text
inline constexpr std::size_t kMaxUsernameBytes = 32;
inline constexpr std::size_t kMinUsernameBytes = 2;
inline constexpr std::size_t kMaxPrekeysPerUpload = 200;
inline constexpr std::size_t kMessageIdBytes = 16;
inline constexpr std::size_t kNonceBytes = 32;
inline constexpr std::size_t kPublicKeyBytes = 33;
inline constexpr std::size_t kSignatureBytes = 64;
inline constexpr std::size_t kMaxAcksPerRequest = 1000;
inline constexpr std::size_t kPaddingBlock = 160;
inline constexpr std::size_t kGroupIdBytes = 16;
inline constexpr std::size_t kMaxGroupMembers = 1024;
// A serialized GroupState of 1024 members with the longest usernames is about 37 KiB.
inline constexpr std::size_t kMaxGroupStateBytes = 48 * 1024;
// Changes per GroupChanges answer, so that one always fits in a frame; fetch again for more.
inline constexpr std::size_t kMaxGroupChangesPerFetch = 4;
inline constexpr std::size_t kMaxGroupAvatarBytes = 64 * 1024;
inline constexpr std::size_t kMaxGroupNameBytes = 200;
inline constexpr std::size_t kMaxGroupDescriptionBytes = 2000;

} // namespace veil::protocol
