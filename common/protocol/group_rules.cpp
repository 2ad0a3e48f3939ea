#include "protocol/group_rules.h"

#include "protocol/envelope_codec.h"
#include "protocol/limits.h"

#include <algorithm>

namespace veil::protocol {
namespace {

constexpr std::string_view kGroupSignaturePrefix = "veil-group-v1";

Error refused(std::string message) {
    return make_error(Errc::refused, std::move(message));
}

std::size_t admin_count(const wire::GroupState& state) {
    return static_cast<std::size_t>(std::count_if(state.members().begin(), state.members().end(),
                                                  [](const auto& m) { return m.admin(); }));
}

// next is previous without signer, every other entry unchanged.
bool only_removes(const wire::GroupState& previous, const wire::GroupState& next,
                  std::string_view signer) {
    if (next.members_size() + 1 != previous.members_size())
        return false;
    int j = 0;
    for (const auto& m : previous.members()) {
        if (m.username() == signer)
            continue;
        if (j >= next.members_size())
            return false;
        const auto& n = next.members(j++);
        if (n.username() != m.username() || n.admin() != m.admin())
            return false;
    }
    return j == next.members_size();
}

} // namespace

Bytes group_signed_bytes(std::string_view state) {
    Bytes out(kGroupSignaturePrefix.size() + state.size());
    auto next = std::copy(kGroupSignaturePrefix.begin(), kGroupSignaturePrefix.end(), out.begin());
    std::copy(state.begin(), state.end(), next);
    return out;
}

const wire::GroupMember* find_member(const wire::GroupState& state, std::string_view username) {
    // Members are sorted by username (parse_group_state checks it).
    auto it = std::lower_bound(
        state.members().begin(), state.members().end(), username,
        [](const wire::GroupMember& m, std::string_view name) { return m.username() < name; });
    if (it == state.members().end() || it->username() != username)
        return nullptr;
    return &*it;
}

Result<wire::GroupState> parse_group_state(std::string_view bytes) {
    if (bytes.empty() || bytes.size() > kMaxGroupStateBytes)
        return make_error(Errc::too_large, "group state is empty or too large");
    wire::GroupState state;
    if (!state.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
        return make_error(Errc::protocol, "group state is not valid");
    if (state.group_id().size() != kGroupIdBytes)
        return make_error(Errc::protocol, "group id must be 16 bytes");
    if (state.revision() == 0)
        return make_error(Errc::protocol, "group revision must be at least 1");
    if (state.revision() == 1 ? !state.previous_hash().empty() : state.previous_hash().size() != 32)
        return make_error(Errc::protocol, "group state has a malformed previous hash");
    if (state.members().empty() || state.members_size() > static_cast<int>(kMaxGroupMembers))
        return make_error(Errc::protocol, "a group has 1 to 1024 members");
    for (int i = 0; i < state.members_size(); ++i) {
        const auto& name = state.members(i).username();
        if (!valid_username(name))
            return make_error(Errc::protocol, "a group member's username is not valid");
        if (i > 0 && !(state.members(i - 1).username() < name))
            return make_error(Errc::protocol, "group members must be sorted and unique");
    }
    if (admin_count(state) == 0)
        return make_error(Errc::protocol, "a group needs at least one admin");
    return state;
}

Status check_group_transition(const std::optional<wire::GroupState>& previous,
                              std::span<const std::uint8_t> previous_state_hash,
                              const wire::GroupState& next, std::string_view signer) {
    if (!previous) {
        if (next.revision() != 1)
            return make_error(Errc::protocol, "a new group starts at revision 1");
        const auto* creator = find_member(next, signer);
        if (!creator || !creator->admin())
            return refused("the creator must be an admin of the new group");
        return {};
    }
    if (next.group_id() != previous->group_id())
        return make_error(Errc::protocol, "the change names another group");
    if (next.revision() <= previous->revision())
        return make_error(Errc::already_exists, "the group is already at this revision or later");
    if (next.revision() != previous->revision() + 1)
        return make_error(Errc::protocol, "the change skips revisions");
    if (next.previous_hash().size() != previous_state_hash.size() ||
        !std::equal(previous_state_hash.begin(), previous_state_hash.end(),
                    reinterpret_cast<const std::uint8_t*>(next.previous_hash().data())))
        return make_error(Errc::protocol, "the change does not follow the current revision");

    const auto* who = find_member(*previous, signer);
    if (!who)
        return refused("only members can change a group");
    if (who->admin())
        return {};
    if (only_removes(*previous, next, signer))
        return {}; // leaving
    return refused("only admins can change the members of a group");
}

} // namespace veil::protocol
