// ChatBackend: what the terminal app's model needs from the account: the engine's actions and
// the store's reads. tui.cpp implements it over a ClientSession; tests implement it in memory.
// Called on the event-loop thread only. Calls may re-enter the model through the engine's
// observer (send_text reports the new row before it returns).
#pragma once

#include "engine/engine.h"
#include "store/account_store.h"
#include "util/result.h"
#include "util/secret_bytes.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace veil::tui {

class ChatBackend {
public:
    virtual ~ChatBackend() = default;
    virtual Status add_contact(const std::string& name) = 0;
    virtual Result<Bytes> send_text(const std::string& peer, const std::string& text) = 0;
    virtual Result<std::vector<std::string>> contacts() = 0;
    virtual Result<std::vector<store::ConversationRow>> conversations() = 0;
    // The latest `limit` messages with peer, in any order (the model sorts them).
    virtual Result<std::vector<store::MessageRow>> messages(const std::string& peer, int limit) = 0;
    // Messages of every conversation holding every word of query, newest first, at most limit
    // (AccountStore::search: plain words, the last also as a prefix; no system lines).
    virtual Result<std::vector<store::MessageRow>> search(const std::string& query, int limit) = 0;
    // Marks peer's conversation read here and on our other devices (Engine::mark_read).
    virtual Status mark_read(const std::string& peer) = 0;

    // Groups (engine.h): changes are sent to the relay and stored once it accepts them.
    virtual Result<Bytes> create_group(const std::string& name,
                                       const std::vector<std::string>& members) = 0;
    virtual Status add_group_members(const Bytes& group_id,
                                     const std::vector<std::string>& members) = 0;
    virtual Status remove_group_members(const Bytes& group_id,
                                        const std::vector<std::string>& members) = 0;
    virtual Status leave_group(const Bytes& group_id) = 0;
    virtual Status set_group_admin(const Bytes& group_id, const std::string& member,
                                   bool admin) = 0;
    virtual Status set_group_info(const Bytes& group_id, const std::string& name,
                                  const std::string& description) = 0;
    // Admins only: a PNG or JPEG of at most protocol::kMaxGroupAvatarBytes; empty removes it.
    virtual Status set_group_avatar(const Bytes& group_id, const Bytes& image) = 0;
    virtual Result<Bytes> send_group_text(const Bytes& group_id, const std::string& text) = 0;
    virtual Result<std::vector<store::GroupRow>> groups() = 0;
    virtual Result<std::vector<store::GroupMemberRow>> group_members(const Bytes& group_id) = 0;

    // Blocking (Engine::set_blocked): a blocked account's messages are dropped unseen, and we
    // cannot write to it. blocked() lists the blocked names (AccountStore::blocked).
    virtual Status set_blocked(const std::string& name, bool blocked) = 0;
    virtual Result<std::vector<std::string>> blocked() = 0;
    // The profile's small settings (AccountStore::setting/set_setting); "" when unset.
    virtual Result<std::string> setting(const std::string& key) = 0;
    virtual Status set_setting(const std::string& key, const std::string& value) = 0;

    // Devices (engine.h). The handlers are called later, from the event loop, or at once when
    // the engine is not ready; they may outlive nothing but the backend.
    virtual void list_devices(engine::Engine::DevicesHandler handler) = 0;
    virtual void remove_device(std::uint32_t device_id, engine::Engine::DoneHandler handler) = 0;
    // Starts linking the device that shows code; answered by EngineObserver::on_linked or
    // on_error. Fails at once for a code with a typo or while not connected.
    virtual Status accept_link(const std::string& code, bool share_history) = 0;

    // Everyday messaging (engine.h). conversation: a username or a group conversation. Each
    // change is announced through the observer (on_message, on_message_changed) as well.
    virtual Result<Bytes> send(const std::string& conversation,
                               const engine::Outgoing& message) = 0;
    virtual Status react(const std::string& conversation, const engine::MessageRef& target,
                         const std::string& emoji) = 0;
    virtual Status edit(const std::string& conversation, const Bytes& message_id,
                        const std::string& text) = 0;
    virtual Status delete_for_everyone(const std::string& conversation,
                                       const Bytes& message_id) = 0;
    virtual Result<Bytes> resend(const Bytes& message_id) = 0;
    virtual Status set_disappearing(const std::string& conversation, std::uint32_t seconds) = 0;
    virtual Result<std::uint32_t> disappearing(const std::string& conversation) = 0;
    // Cheap to call on every key: the engine sends at most one indicator every few seconds.
    virtual void set_typing(const std::string& conversation, bool typing) = 0;
    virtual Status set_read_receipts(bool on) = 0;
    virtual bool read_receipts() = 0;
    // Attachments: download fetches the blob (progress through on_transfer, then the row
    // changes); done is called later from the event loop, or at once on an early failure.
    virtual void download(std::int64_t row_id, int index, engine::Engine::DoneHandler done) = 0;
    virtual Status save_attachment(std::int64_t row_id, int index,
                                   const std::filesystem::path& to) = 0;
    // Safety numbers and trust of a 1:1 contact.
    virtual Result<engine::SafetyNumber> safety_number(const std::string& peer) = 0;
    virtual Result<store::AccountStore::Trust> trust(const std::string& peer) = 0;
    virtual Status set_verified(const std::string& peer, bool verified) = 0;
    virtual Status accept_new_identity(const std::string& peer) = 0;
    // Who holds keys in a conversation, and the repairs (engine.h, "Encryption details").
    virtual Result<engine::ConversationSecurity>
    conversation_security(const std::string& conversation) = 0;
    virtual Status restart_sessions(const std::string& peer) = 0;
    virtual Status renew_group_key(std::span<const std::uint8_t> group_id) = 0;
};

} // namespace veil::tui
