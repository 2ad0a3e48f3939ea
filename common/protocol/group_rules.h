// The rules of group membership changes (veil.proto, "Groups"), as plain logic shared by the
// relay, which enforces them before it stores a change, and the clients, which enforce them again
// before they believe one. Hashing and signature checks are the caller's (crypto): a change is
// valid when its signature by the signer's identity key over group_signed_bytes(state) verifies
// AND check_group_transition accepts it.
#pragma once

#include "util/result.h"
#include "util/secret_bytes.h"
#include "veil.pb.h"

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace veil::protocol {

// The domain-separated bytes a GroupChange's signature covers: "veil-group-v1" || state.
Bytes group_signed_bytes(std::string_view state);

// Parses and checks a serialized GroupState on its own: a 16-byte id, revision >= 1, no previous
// hash at revision 1 and a 32-byte one after, 1 to 1024 valid usernames sorted and unique, at
// least one admin. Errc::protocol (or too_large) with a sentence otherwise.
Result<wire::GroupState> parse_group_state(std::string_view bytes);

// Whether signer may move the group from previous to next. previous is nullopt for a creation
// (revision 1); previous_state_hash is SHA-256 of the previous change's state bytes. Rules:
// - the same group id; next.revision == previous.revision + 1 and next.previous_hash ==
//   previous_state_hash (or revision 1 with no previous for a creation);
// - creation: the signer is an admin member of next;
// - otherwise: the signer is an admin of previous, or a member of previous whose change only
//   removes themselves (leaving; an admin leaving must leave another admin behind).
// Errors: Errc::refused (the signer may not make this change; the message says why),
// Errc::already_exists (next.revision is not past previous: a stale or replayed change),
// Errc::protocol (anything else malformed: another group, a skipped revision, a wrong hash).
Status check_group_transition(const std::optional<wire::GroupState>& previous,
                              std::span<const std::uint8_t> previous_state_hash,
                              const wire::GroupState& next, std::string_view signer);

// The member entry of username in state, or nullptr.
const wire::GroupMember* find_member(const wire::GroupState& state, std::string_view username);

} // namespace veil::protocol
