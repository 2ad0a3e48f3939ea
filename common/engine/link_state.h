// Engine::LinkState: a link in progress, on either end (engine_link.cpp). Private to the
// engine; engine.cpp needs it complete only to destroy it.
#pragma once

#include "engine/engine.h"

#include "crypto/link.h"

#include <deque>
#include <optional>

namespace veil::engine {

struct Engine::LinkState {
    enum class Role { new_device, existing };
    // New device: opening -> hello -> account -> done -> history (with history).
    // Existing device: hello -> keys -> adding (DeviceAdd sent) -> history (boxes waiting for
    // their acks, then LinkHistoryEnd) -> finishing (waiting for LinkFinished).
    enum class Stage { opening, hello, account, keys, adding, done, history, finishing };
    Role role = Role::new_device;
    Stage stage = Stage::opening;
    Bytes channel;
    SecretBytes secret;
    crypto::LinkKeyPair ephemeral;
    std::optional<crypto::LinkKeys> keys;
    std::uint64_t sent = 0;
    std::uint64_t received = 0;
    bool share_history = false;
    std::uint64_t timer = 0;
    std::string username;
    std::uint32_t device_id = 0;
    std::size_t imported = 0;
    std::deque<wire::LinkContent> history; // existing device: boxes not sent yet
    std::uint32_t history_count = 0;       // existing device: messages in all boxes
};

} // namespace veil::engine
