// Hard limits of wire protocol version 2. Both sides enforce them before allocating.
#pragma once

#include <cstddef>
#include <cstdint>

namespace veil::protocol {

// 2: several devices per account (SendRequest per device copies, PrekeyBundles, device keys).
inline constexpr std::uint32_t kProtocolVersion = 2;
// One Envelope. A 1:1 send carries a copy per device of the recipient and of the sender
// (at most 2 * kMaxDevicesPerAccount - 1), each up to a padded 64 KiB text.
inline constexpr std::size_t kMaxFrameBytes = 1280 * 1024;
inline constexpr std::size_t kMaxCiphertextBytes = 128 * 1024; // one device's ciphertext
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
// Devices and linking.
inline constexpr std::size_t kMaxDevicesPerAccount = 8;
// A 1:1 send's copies together (SendRequest to_devices and own_devices).
inline constexpr std::size_t kMaxSendBytes = 1152 * 1024;
inline constexpr std::size_t kLinkChannelBytes = 5;
inline constexpr std::size_t kLinkSecretBytes = 10;
inline constexpr std::size_t kMaxLinkPayloadBytes = 512 * 1024;
inline constexpr std::size_t kMaxDeviceNameBytes = 256; // sealed, as the relay stores it
inline constexpr std::size_t kMaxDeviceNameChars = 64;  // in clear, as people type it
inline constexpr std::uint32_t kDefaultLinkTimeoutMs = 10 * 60 * 1000;

// Attachments (veil.proto, "Attachments"). The operator may lower or raise the limit.
inline constexpr std::uint64_t kDefaultMaxAttachmentBytes = 100ull * 1024 * 1024;
inline constexpr std::size_t kBlobIdHexChars = 32;
inline constexpr std::uint32_t kBlobTicketLifetimeMs = 10 * 60 * 1000;
inline constexpr std::size_t kMaxAttachmentsPerMessage = 10;
inline constexpr std::size_t kMaxFileNameBytes = 255;
// A file's preview inside the message (Attachment.thumbnail, a small JPEG the sender made): ten
// of them and 64 KiB of text still fit one device's ciphertext.
inline constexpr std::size_t kMaxThumbnailBytes = 5 * 1024;
// Everyday messaging (DataMessage): how long after sending a message may still be edited or
// deleted for everyone, the longest reaction, and the disappearing timers people can pick.
inline constexpr std::int64_t kEditWindowMs = 24LL * 60 * 60 * 1000;
inline constexpr std::size_t kMaxReactionBytes = 64; // the longest ZWJ sequences are ~45
inline constexpr std::uint32_t kMaxExpireTimerSeconds = 4 * 7 * 24 * 60 * 60;

} // namespace veil::protocol
