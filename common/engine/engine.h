// Engine: the client. It owns the account's protocol state machine over a Transport: register
// or authenticate, upload and refill prekeys, fetch bundles, encrypt and queue outgoing
// messages (retrying until the relay acks them), decrypt and store incoming ones, and emit
// events for a UI. Single-threaded: call it only on the transport's thread.
//
// Durability: an outgoing message is stored (pending, then as ciphertext in the outbox) before
// anything is sent, and retried with the same id after reconnects. An incoming message is
// decrypted, stored and its delivery receipt queued in one transaction before it is acked.
//
// Groups (veil.proto, "Groups"; the implementation is in engine_groups.cpp): membership lives in
// signed GroupChanges that the engine verifies with the identity keys it holds (trust on first
// use, as for 1:1) and the shared rules of protocol/group_rules.h before it believes them; a
// change that fails is refused with a warning and a system line, and the stored group stays as
// it was. Group messages are encrypted once with our sender key (crypto/sender_key.h), which is
// first sent 1:1 to every member device that lacks it; whenever someone leaves or is removed,
// every member drops its own sender key and the departed members' ones, so the next message
// carries a fresh key to the remaining members only. Group sends are durable like 1:1 sends
// (store::GroupOutboxItem) and wait until the mailbox queued before authentication has been
// processed, so changes that arrived while we were offline are applied first. Deliveries of a
// group are processed strictly in order; one that needs a missing change or an unknown signer's
// identity key holds the rest of that group until the relay answers.
#pragma once

#include "crypto/safety_number.h"
#include "crypto/signal_context.h"
#include "engine/blob_transport.h"
#include "engine/transport.h"
#include "store/account_store.h"
#include "util/clock.h"
#include "util/result.h"
#include "veil.pb.h"

#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace veil::engine {

enum class State {
    offline, // not connected; will reconnect with backoff if started
    connecting,
    authenticating, // registering or signing the challenge
    ready,          // authenticated; sending and receiving
    failed,         // a permanent error (e.g. username taken, auth refused); see on_error
    // The message store found damage in its file while open (store::AccountStore::damaged):
    // the engine disconnected and stays stopped, acknowledges nothing more to the relay (what
    // it holds for us waits there) and writes nothing. on_error said so with kStoreDamaged.
    // The person closes the profile and restores it from a snapshot.
    damaged,
};
const char* state_name(State state);

// The sentence on_error carries when the engine stops on a damaged store (State::damaged).
inline constexpr const char* kStoreDamaged =
    "the message store is damaged, so Veil stopped receiving and writes nothing more to it; "
    "restore it from a snapshot";

class EngineObserver {
public:
    virtual ~EngineObserver() = default;
    virtual void on_state(State) {}
    // A new message row (incoming, a placeholder for an undecryptable one, or our own outgoing).
    virtual void on_message(const store::MessageRow&) {}
    // An outgoing message changed status (sent, delivered).
    virtual void on_status(std::span<const std::uint8_t> /*message_id*/, store::MessageStatus) {}
    // Every envelope queued before authentication has been processed.
    virtual void on_queue_drained() {}
    // Nothing is in flight any more: every request answered (acks included), nothing pending
    // or in the outbox. Emitted when the engine becomes settled, not on every frame.
    virtual void on_settled() {}
    // An error for the person: permanent (state failed) or about one action.
    virtual void on_error(const Error&) {}
    // A group's stored state changed (created, members, admins, name or description, we left or
    // were removed): read it again from the store (AccountStore::group, group_members).
    virtual void on_group_changed(std::span<const std::uint8_t> /*group_id*/) {}
    // Something about a group was refused, with a sentence for the person: a change without a
    // valid admin signature, a member the relay added on its own, a message from a non-member,
    // a message replayed from another group. The group's state is unchanged. A system line with
    // the same sentence is stored in the group's conversation (when the group is known).
    virtual void on_group_warning(std::span<const std::uint8_t> /*group_id*/,
                                  const std::string& /*sentence*/) {}
    // The relay refused a membership change of ours (not allowed, stale, unknown member); it
    // was not made. Also reported through on_error.
    virtual void on_group_change_failed(std::span<const std::uint8_t> /*group_id*/,
                                        const Error& /*why*/) {}
    // The relay could not queue a group message for these members (they have no device).
    virtual void on_group_unreachable(std::span<const std::uint8_t> /*message_id*/,
                                      const std::vector<std::string>& /*members*/) {}

    // ---- Devices (engine_devices.cpp, engine_link.cpp).
    // On a device being linked (start_link): the code to show, as text to type and as the
    // payload of a QR code, and when it stops working (our clock).
    virtual void on_link_code(const std::string& /*text*/, const std::string& /*qr_payload*/,
                              std::int64_t /*expires_at_ms*/) {}
    // A link finished. On the new device: it is now device_id of username and authenticates as
    // it. On the existing device: it added device_id to our account.
    virtual void on_linked(const std::string& /*username*/, std::uint32_t /*device_id*/) {}
    // The new device: messages copied from the linking device (history, opt-in).
    virtual void on_history_imported(std::size_t /*messages*/) {}
    // Our account's devices changed (one added or removed, here or on another device).
    virtual void on_devices_changed() {}
    // Another device of ours read a conversation: its unread count is now 0.
    virtual void on_read_elsewhere(const std::string& /*conversation*/) {}
    // This device was unlinked from the account by another device: the engine has stopped
    // (state failed) and the profile can do nothing more.
    virtual void on_unlinked() {}

    // ---- Everyday messaging (engine_messaging.cpp).
    // A stored message changed: edited, deleted for everyone, a reaction, an attachment's state.
    // The row is read again from the store, reactions and attachments included.
    virtual void on_message_changed(const store::MessageRow&) {}
    // Messages disappeared (their timer ran out): they are gone from the store.
    virtual void on_messages_removed(const std::string& /*conversation*/,
                                     const std::vector<std::int64_t>& /*row_ids*/) {}
    // Someone started or stopped typing in a conversation. A UI stops showing it by itself
    // after kTypingTimeoutMs without news.
    virtual void on_typing(const std::string& /*conversation*/, const std::string& /*who*/,
                           bool /*typing*/) {}
    // An attachment moves: bytes done of total, for an upload (ours) or a download.
    virtual void on_transfer(std::int64_t /*row_id*/, int /*index*/, std::uint64_t /*done*/,
                             std::uint64_t /*total*/) {}
    // A contact's identity key changed; a notice is in the conversation. With
    // trust.needs_accept, nothing is sent to them until accept_new_identity.
    virtual void on_identity_changed(const std::string& /*peer*/) {}
};

// A disappearing timer for people: "off", "30 seconds", "1 hour", "1 week".
std::string describe_timer(std::uint32_t seconds);

// A file name from anyone, safe to show and to save under: valid UTF-8, no folders, no control,
// bidi or invisible format characters, no leading dots, at most 200 bytes (the extension kept);
// "file" when nothing is left.
std::string clean_file_name(const std::string& raw);
// Whether text is one emoji-like reaction: short, visible, not plain ASCII words.
bool valid_reaction(const std::string& emoji);

// How long a typing indicator lasts without a fresh one.
inline constexpr std::int64_t kTypingTimeoutMs = 15000;

// One device of our account, as the relay lists it (name opened with our identity key).
struct DeviceInfo {
    std::uint32_t device_id = 0;
    std::string name; // empty when none was given or it cannot be opened
    std::int64_t created_ms = 0;
    std::int64_t last_seen_ms = 0;
    bool current = false; // the device this engine runs on
};

struct EngineOptions {
    std::uint32_t prekey_batch = 100;        // one-time prekeys generated at a time
    std::uint32_t prekey_low_watermark = 20; // refill when the relay has fewer than this
    std::uint32_t request_timeout_ms = 15000;
    std::uint32_t backoff_initial_ms = 500;
    std::uint32_t backoff_max_ms = 30000;
    bool send_delivery_receipts = true;
    // Where attachment blobs live (encrypted) on this device; empty: attachments unavailable.
    std::filesystem::path attachments_dir;
};

// A message, named by its sender and wire id.
struct MessageRef {
    std::string sender;
    Bytes message_id;
};

// What send() sends: text, optionally a reply to another message of the conversation, and files.
struct Outgoing {
    std::string text;
    std::optional<MessageRef> reply_to;
    std::vector<std::filesystem::path> files;
    // Optional previews of the files, by position (missing or empty: none): small JPEGs the app
    // made (an image's picture, at most protocol::kMaxThumbnailBytes), sent inside the message.
    std::vector<Bytes> thumbnails;
};

// A contact's safety number: 60 digits in 12 groups of 5 (both sides see the same), the bytes
// a QR code carries, and what we hold about the contact's key.
struct SafetyNumber {
    std::string number;
    Bytes qr_payload;
    store::AccountStore::Trust trust;
};

// What a conversation's encryption rests on, for an "encryption" view (engine_encryption.cpp):
// each other person (a 1:1 contact, or every group member but us) with what we hold about
// their identity key and each of their devices we know or hold a session with.
struct DeviceSecurity {
    std::int32_t device_id = 0;
    bool session = false;          // a 1:1 session with this device is stored
    bool holds_sender_key = false; // groups: it has been sent our current sender key
    // 1:1 messages from this device that we know were sent but have not received (a later one
    // of the same chain came first): lost or still on their way. See crypto::missing_messages
    // for what cannot be counted.
    std::uint32_t missing_messages = 0;
};
struct MemberSecurity {
    std::string username;
    bool identity_known = false; // we hold their identity key (a session began once)
    store::AccountStore::Trust trust;
    std::vector<DeviceSecurity> devices; // by device id
};
struct ConversationSecurity {
    bool group = false;
    std::vector<MemberSecurity> members; // by username
};

class Engine final : public TransportListener {
public:
    // Generates the identity into a new store; prekeys are made when registering.
    static Status create_account(store::AccountStore& store, crypto::SignalContext& context,
                                 const std::string& username, const std::string& relay_url);

    Engine(store::AccountStore& store, crypto::SignalContext& context, Transport& transport,
           const Clock& clock, EngineObserver& observer, EngineOptions options = {});
    ~Engine() override;
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // Connects and registers (first time) or authenticates, then keeps reconnecting with
    // exponential backoff and jitter until stop().
    Status start();
    void stop();
    State state() const { return m_state; }
    const std::string& username() const { return m_username; }

    Status add_contact(const std::string& name);
    // Blocks or unblocks an account: while blocked, its messages (1:1 and in groups) are
    // acknowledged to the relay and dropped, never stored, shown or confirmed with a receipt,
    // and we cannot write to it.
    Status set_blocked(const std::string& name, bool blocked);
    // Stores the message and queues it; returns its message id. Sent once the engine is ready
    // and a session exists (the bundle is fetched if needed).
    Result<Bytes> send_text(const std::string& peer, const std::string& text);
    // ---- Groups. group_id is the 16-byte id; names are usernames, never our own. Changes need
    // the engine ready (they are signed now and sent once: after a lost connection or a refusal
    // the person repeats them); each fails with invalid_argument for a malformed name, not_found
    // for an unknown group, refused when we may not make the change (not an admin, left) and
    // busy while another change of ours to the same group is waiting for the relay. A change is
    // stored, and announced with on_group_changed, once the relay has accepted it.

    // Creates a group: a random id, revision 1 with us as its only admin and `members`, signed
    // with our identity key. Once the relay accepts it, the name is stored and sent to the
    // members (GroupInfo). Returns the group id.
    Result<Bytes> create_group(const std::string& name, const std::vector<std::string>& members);
    Status add_group_members(std::span<const std::uint8_t> group_id,
                             const std::vector<std::string>& members);
    Status remove_group_members(std::span<const std::uint8_t> group_id,
                                const std::vector<std::string>& members);
    // Removes ourselves; the group becomes read-only (GroupRow::has_left).
    Status leave_group(std::span<const std::uint8_t> group_id);
    // Promotes (admin true) or demotes a member.
    Status set_group_admin(std::span<const std::uint8_t> group_id, const std::string& member,
                           bool admin);
    // Admins only: stores the name and description and sends them to the members.
    Status set_group_info(std::span<const std::uint8_t> group_id, const std::string& name,
                          const std::string& description);
    // Admins only: the group's picture, a PNG or JPEG of at most 64 KiB (empty removes it),
    // stored and sent to the members like the name.
    Status set_group_avatar(std::span<const std::uint8_t> group_id,
                            std::span<const std::uint8_t> image);
    // Stores the message in the group's conversation (store::group_conversation) and queues it;
    // returns its message id. Works offline; sent once connected and caught up.
    Result<Bytes> send_group_message(std::span<const std::uint8_t> group_id,
                                     const std::string& text);
    // What the store holds; the same as AccountStore::groups and group_members.
    Result<std::vector<store::GroupRow>> groups();
    Result<std::vector<store::GroupMemberRow>>
    group_members(std::span<const std::uint8_t> group_id);

    // ---- Devices. Each of our devices has its own sessions and keys but shares the account's
    // identity key; every 1:1 message goes to every device of its recipient and, as a sync
    // copy, to our other devices (veil.proto, SendRequest), so all devices show the same
    // conversations.

    // Prepares a profile (a new store, no account yet) to become a device of an existing
    // account: start_link() then shows a code for the other device. device_name is how the
    // account's device list will name it.
    static Status create_link_profile(store::AccountStore& store, const std::string& relay_url,
                                      const std::string& device_name);
    // On a profile from create_link_profile: connects, opens a link channel and announces its
    // code (on_link_code), then waits for an existing device to enter it. Once linked the
    // account is stored (on_linked) and the engine goes on as after start(). The code works
    // once and expires (on_error and state failed: run it again).
    Status start_link();
    // On a ready device: links the device that shows `code`. With share_history, recent
    // conversations are copied to it (encrypted end to end). Answered with on_linked or
    // on_error; fails at once with invalid_argument for a code with a typo.
    Status accept_link(const std::string& code, bool share_history);
    bool linking() const { return m_link != nullptr; }

    using DevicesHandler = std::function<void(Result<std::vector<DeviceInfo>>)>;
    using DoneHandler = std::function<void(Status)>;
    // Our account's devices, from the relay (needs the engine ready).
    void list_devices(DevicesHandler handler);
    // Unlinks one of our devices (not the last): the relay closes it and refuses it from then
    // on; our other devices are told, and every sender key it held is replaced.
    void remove_device(std::uint32_t device_id, DoneHandler handler);
    std::uint32_t device_id() const { return m_device_id; }
    // Marks a conversation read here and on our other devices.
    Status mark_read(const std::string& conversation);

    // ---- Everyday messaging (engine_messaging.cpp). conversation: a username (1:1) or
    // store::group_conversation(group_id). Everything travels inside the encryption; each
    // action works offline and is sent once connected.

    // Sends text, a reply (reply_to quotes a message of the conversation) and files (each
    // encrypted with a fresh key and uploaded before the message goes). @name in a group's text
    // mentions that member. Carries the conversation's disappearing timer. Returns the message
    // id. Fails with untrusted_identity while a verified contact's new key awaits acceptance.
    Result<Bytes> send(const std::string& conversation, const Outgoing& message);
    // Our reaction to a message (one per person: a new one replaces it; "" takes it back).
    Status react(const std::string& conversation, const MessageRef& target,
                 const std::string& emoji);
    // Edits or deletes for everyone a message of ours, within protocol::kEditWindowMs.
    Status edit(const std::string& conversation, std::span<const std::uint8_t> message_id,
                const std::string& text);
    Status delete_for_everyone(const std::string& conversation,
                               std::span<const std::uint8_t> message_id);
    // The conversation's disappearing timer (0: off, at most protocol::kMaxExpireTimerSeconds):
    // stored, announced in the conversation and sent to every member. Every message sent
    // afterwards disappears from every device that timer after it was sent.
    Status set_disappearing(const std::string& conversation, std::uint32_t seconds);
    Result<std::uint32_t> disappearing(const std::string& conversation);
    // Tells a conversation's other side (a group's members, in groups of up to 256) that we
    // are typing (or stopped); sent only to their devices online now that we hold a session
    // with, never stored. Repeated calls are cheap (one send per few s). force: send even what
    // this engine believes the other side knows already (a headless `typing --stop` runs in a
    // new process).
    void set_typing(const std::string& conversation, bool typing, bool force = false);
    // Whether mark_read tells senders that we read their messages (default on).
    Status set_read_receipts(bool on);
    bool read_receipts();
    // Sends again, under a new id, a message of ours that expired undelivered or failed.
    Result<Bytes> resend(std::span<const std::uint8_t> message_id);
    // Fetches an attachment's blob from the relay into attachments_dir (progress through
    // on_transfer; the row changes to ready). Needs the engine connected.
    void download(std::int64_t row_id, int index, DoneHandler done);
    // Decrypts a ready attachment into `to` (digest and MAC checked first).
    Status save_attachment(std::int64_t row_id, int index, const std::filesystem::path& to);
    void set_blob_transport(BlobTransport* blobs) { m_blobs = blobs; }
    // Deletes every message whose disappearing timer ran out (rows, search entries, reactions,
    // attachment files), announces it, and schedules the next sweep. start() runs it; apps call
    // it on opening a profile, so that nothing expired can be read before the engine starts.
    void sweep_expired();

    // Safety numbers and verification.
    Result<SafetyNumber> safety_number(const std::string& peer);
    Status set_verified(const std::string& peer, bool verified);
    // Compares a QR payload scanned from the peer's screen: true (and verified) on a match.
    Result<bool> verify_scanned(const std::string& peer, std::span<const std::uint8_t> scanned);
    // Accepts a contact's changed identity key, so that sending resumes.
    Status accept_new_identity(const std::string& peer);

    // ---- Encryption details and repairs (engine_encryption.cpp). Read from the store only.
    Result<ConversationSecurity> conversation_security(const std::string& conversation);
    // 1:1: fetches fresh prekey bundles for every device of peer and starts a new session with
    // each. libsignal keeps the old session state as a previous state, so messages already on
    // their way (either direction) still decrypt; the next message we send starts the new
    // session on their side. Needs the engine ready (disconnected otherwise).
    Status restart_sessions(const std::string& peer);
    // Group: drops our sender key for the group, so that the next message we send there carries
    // a brand new one to every member device (as after a removal). Works offline.
    Status renew_group_key(std::span<const std::uint8_t> group_id);

    // True when nothing is pending or waiting in the outbox, but what is held for a contact whose
    // changed key the person has not accepted yet (that waits for the person, not the relay).
    bool idle_outgoing();
    // Ready, with every request answered and nothing queued (see EngineObserver::on_settled).
    bool settled();

    // TransportListener
    void on_connected() override;
    void on_disconnected(const std::string& reason) override;
    void on_frame(std::span<const std::uint8_t> frame) override;

private:
    using ResponseHandler = std::function<void(const wire::Envelope&)>;

    Status load_account();
    void set_state(State state);
    void request(wire::Envelope envelope, ResponseHandler handler);
    // Starts request id's timeout: after request_timeout_ms without any frame from the relay,
    // the connection is closed; a frame in the meantime starts a new wait instead.
    std::uint64_t start_request_timer(std::uint64_t id);
    void fail_requests(const std::string& reason);
    void schedule_reconnect();

    void begin_register(const std::string& nonce);
    void begin_auth(const std::string& nonce);
    void on_authenticated(std::uint32_t prekeys_left);
    void refill_prekeys(std::uint32_t left);
    // Asks the relay how many one-time prekeys it still holds (and refills when low) after a
    // prekey message arrived while online: new contacts take them without us reconnecting.
    void check_prekeys();
    // Generates, stores and lists a batch of one-time prekeys; call inside a transaction.
    Status store_new_prekeys(google::protobuf::RepeatedPtrField<wire::OneTimePrekey>& out);

    // What one delivery changed, announced to the observer after its transaction commits.
    struct Effects {
        std::vector<store::MessageRow> rows;
        std::vector<std::pair<Bytes, store::MessageStatus>> statuses;
        std::vector<std::int64_t> changed; // row ids
        std::vector<std::tuple<std::string, std::string, bool>> typing;
        std::vector<std::string> identities_changed;
        std::vector<Bytes> groups_changed;
        std::vector<std::pair<Bytes, std::string>> warnings; // (group id, sentence)
        std::vector<std::string> read_elsewhere;             // conversations
        bool devices_changed = false;
    };
    void pump_outgoing();
    // The relay refused a send for now (RATE_LIMITED or UNAVAILABLE) and said when to retry:
    // pump_outgoing runs again then (with jitter), on this connection; nothing is dropped.
    // Without a retry-after the send waits for the next reconnect, as before.
    void schedule_retry(const wire::Error& error);
    // The 1:1 part of pump_outgoing (group sends call it for their key distributions).
    void pump_direct();
    // What one pending 1:1 message needs before it can go (engine_devices.cpp).
    enum class Readiness { ready, waiting, dropped };
    Readiness prepare_pending(const store::PendingItem& item);
    void send_pending(const store::PendingItem& item);
    // Outbox copies of messages from before schema 5, which have no pending row any more.
    void flush_legacy_outbox(const std::vector<store::PendingItem>& pending);
    void send_copies(const Bytes& message_id, const std::string& peer, bool sync,
                     std::optional<std::int64_t> pending_seq);
    // A pending message leaves the pipeline (accepted, refused, or needed by nobody).
    Status finish_pending(std::span<const std::uint8_t> message_id,
                          std::optional<std::int64_t> pending_seq);
    // Our message reached the relay: queued becomes sent, announced.
    void mark_sent(std::span<const std::uint8_t> message_id);
    // This device was unlinked: nothing queued will ever be sent; each message is marked failed.
    void fail_everything_queued();
    void on_send_refused(const Bytes& message_id, const std::string& peer,
                         std::optional<std::int64_t> pending_seq, const wire::Error& error);
    void fetch_device_list(const std::string& username);
    void fetch_bundles(const std::string& username, const std::vector<std::int32_t>& devices);
    // Begins a session with one device from its bundle (X3DH), refusing keys of small order;
    // for 1:1 sends and for learning a group change signer's identity. Call in a transaction.
    Status start_session(const std::string& username, const wire::PrekeyBundle& bundle);
    // The devices a username's list held and the relay no longer has: sessions, copies and
    // sender key holders go, and our sender key is renewed in every group they held it for.
    Status forget_device(const std::string& username, std::int32_t device_id);
    Status apply_device_list(const std::string& username, const std::vector<std::int32_t>& ids);
    // Our devices other than this one, or nullopt while the list is unknown.
    Result<std::optional<std::vector<std::int32_t>>> own_other_devices();
    // A message arrived from a device our list of its account lacks: ask for a fresh list.
    void note_sender_device(const std::string& username, std::int32_t device_id);
    void drop_pending_for(const std::string& peer);
    Status queue_content(const std::string& peer, const Bytes& message_id,
                         const wire::Content& content, bool sync = false);
    // Queues a sync message for our other devices (in the caller's transaction), unless we
    // know we have none.
    Status queue_sync(const wire::SyncMessage& sync);
    Status process_sync(const wire::Deliver& deliver, const wire::SyncMessage& sync,
                        Effects& effects);
    Bytes group_devices_digest(const std::vector<std::pair<std::string, std::int32_t>>& devices);
    // Every device a group message of ours must reach (members' and our other ones) as far as
    // we know them; unknown: members whose list we never learned.
    Result<std::vector<std::pair<std::string, std::int32_t>>>
    group_recipients(const store::GroupRow& group, std::set<std::string>* unknown);
    void on_group_devices_mismatch(const Bytes& message_id, const Bytes& group_id,
                                   const wire::Error& error);

    // Our device name (setting "device_name") sealed for the relay; empty when unset.
    Bytes sealed_device_name();

    // Linking (engine_link.cpp).
    struct LinkState;
    void link_on_connected();
    void link_on_message(const wire::LinkMessage& message);
    void link_send(const wire::LinkContent& content);
    void link_send_hello(bool first);
    // Hands one payload to the relay for the other end of the channel.
    void link_relay(const wire::LinkPayload& payload, bool first);
    void link_fail(const std::string& sentence, bool tell_peer);
    void link_finish_new_device();
    // Existing device: reads the history into boxes (LinkState::history), sent one at a time.
    void link_export_history();
    void link_send_history();
    Status link_import_account(const wire::LinkAccount& account);
    Status link_import_history(const wire::LinkHistory& history);
    void link_add_device(const wire::LinkDeviceKeys& keys);

    void announce(const Effects& effects);

    // Groups (engine_groups.cpp).
    enum class ChangeOutcome { applied, stale, need_identity, need_history, refused };
    struct ChangeVerdict {
        ChangeOutcome outcome = ChangeOutcome::refused;
        std::string why;            // for refused: a sentence for the person
        std::string whom;           // for need_identity: the signer
        std::uint64_t revision = 0; // for applied
    };
    // Every delivery, in mailbox order (fetched group changes, with delivery id 0, go first):
    // while a group change waits for the relay (missing changes, a signer's identity key),
    // nothing behind it is processed, so a sender key or message that follows a change is never
    // judged against the state before it.
    struct Inbox {
        std::deque<wire::Deliver> queue;
        bool busy = false;     // a fetch the head needs is in flight
        bool draining = false; // drain_inbox is on the stack
        // Per group: our revision when its last history fetch completed (cleared when a change
        // applies), so a relay that cannot fill a gap gets the change refused, not refetched.
        std::map<Bytes, std::uint64_t> fetched_at;
        std::set<std::string> identities_tried;
        // Changes refused on this connection (state and signature), so that the relay's own
        // copy and its history do not each raise the same warning again.
        std::set<std::string> refused;
    };
    // Catch-up in batches: the deliveries of one socket read are queued (handle_deliver) and
    // handled together from a zero timer, at most kInboxBatch at a time before the event loop
    // gets to read the relay's answers again. Consecutive 1:1 deliveries share one store
    // transaction (each in a savepoint of it): one durable commit for the lot, and only then
    // their acks, announcements and the receipts they queued go out.
    static constexpr std::size_t kInboxBatch = 256;
    struct Batch {
        explicit Batch(store::AccountStore& store)
            : tx(store) {}
        store::AccountStore::Transaction tx;
        std::vector<std::uint64_t> acks;
        std::vector<Effects> effects;
        std::size_t committed = 0; // deliveries stored in it
    };
    std::unique_ptr<Batch> m_batch; // only while drain_inbox runs
    std::uint64_t m_drain_timer = 0;
    bool m_drained_waiting = false; // QueueDrained came behind deliveries not yet handled
    void begin_batch();
    void finish_batch();
    void schedule_drain();
    void on_queue_drained();
    // Observers hear of effects once they are durable: at once, or after the batch's commit.
    void announce_committed(Effects effects);
    Result<ChangeVerdict> check_change(const wire::GroupChange& change, Effects& effects);
    Status apply_change(const wire::GroupChange& change, const wire::GroupState& next,
                        const std::optional<store::GroupRow>& stored, Effects& effects);
    Status add_system_line(const Bytes& group_id, const std::string& text, Effects& effects);
    Status warn_group(const Bytes& group_id, const std::string& sentence, Effects& effects);
    void handle_direct(const wire::Deliver& deliver);
    void drain_inbox();
    // What became of the group delivery at the head of the inbox: done (ack it), waiting for
    // the relay (keep it at the head), or dropped unacked after a database error (the relay
    // sends it again after the next reconnect).
    enum class Step { done, wait, unacked };
    Step process_group_item(const wire::Deliver& deliver);
    // False after a database error: the delivery must not be acked.
    bool receive_group_message(const wire::Deliver& deliver);
    void fetch_group_history(const Bytes& group_id);
    void fetch_identity(const std::string& peer);
    Status process_group_content(const wire::Deliver& deliver, const wire::Content& content,
                                 Effects& effects);
    Result<std::optional<wire::GroupState>> current_state(std::span<const std::uint8_t> group_id);
    // Signs next, keeps it until the relay answers and sends it. name_on_accept: the name a
    // group we create gets once the relay has accepted it.
    // share_info: once applied, send the group's name to the members (new ones need it).
    Status propose_change(const Bytes& group_id, wire::GroupState next,
                          const std::string& name_on_accept, bool share_info);
    void send_group_change(const store::PendingGroupChange& pending);
    // After login: our changes the relay never answered go again.
    void resend_group_changes();
    // An outgoing message that will never be sent: stored as failed and announced.
    void mark_failed(std::span<const std::uint8_t> message_id);
    // The same for a group message, which also leaves the group outbox.
    void fail_group_send(std::span<const std::uint8_t> message_id);
    void name_created_group(const Bytes& group_id, const std::string& name);
    Status set_group_details(std::span<const std::uint8_t> group_id, const std::string& name,
                             const std::string& description, const std::optional<Bytes>& avatar);
    Status edit_members(std::span<const std::uint8_t> group_id,
                        const std::function<Status(wire::GroupState&)>& edit,
                        bool share_info = false);
    Status queue_group_content(const Bytes& group_id, const Bytes& message_id,
                               const wire::Content& content);
    void queue_group_info(const Bytes& group_id);
    void pump_group_sends();
    // Makes sure every member device holds our sender key; false while distribution messages
    // are still on their way (the group send must follow them).
    Result<bool> distribute_sender_key(const store::GroupRow& group,
                                       const std::set<std::string>& busy_peers);
    void send_group_item(const store::GroupOutboxItem& item);
    void handle_deliver(const wire::Deliver& deliver);
    Status process_content(const wire::Deliver& deliver, const wire::Content& content,
                           Effects& effects);
    void record_failure(const wire::Deliver& deliver, const Error& error);
    void ack(std::uint64_t delivery_id);

    // Everyday messaging (engine_messaging.cpp).
    // A DataMessage of conversation from sender (ours: sent by us, from another device or, for
    // groups, echoed), received at server_ts: a message, or a reaction, edit, deletion or timer.
    Status apply_data(const std::string& conversation, const std::string& sender, bool ours,
                      const wire::DataMessage& data, std::int64_t server_ts, Effects& effects);
    Status apply_receipt(const std::string& sender, const wire::Receipt& receipt, Effects& effects);
    // Encrypts plain (a serialized Content) for each device of username we hold a session with
    // and sends it transient: online devices only, never stored, never retried.
    void send_transient(const std::string& username, const Bytes& plain);
    // A group conversation's members but us (its recipients), by name.
    Result<std::vector<std::string>> other_members(const std::string& conversation);
    // Queues a delivery receipt for a message we stored (unless receipts are turned off).
    Status confirm_delivery(const std::string& sender, const std::string& message_id);
    // Queues the receipt of pending row pending_seq again under a new id (the relay refused its
    // id with CONFLICT); anything else that row holds is left alone.
    Status resend_receipt(const std::string& peer, std::int64_t pending_seq);
    Status add_line(const std::string& conversation, const std::string& text, Effects& effects);
    Status note_identity_changes(Effects& effects);
    // Queues content for a conversation (1:1 with sync copies, or the group).
    Status queue_for(const std::string& conversation, const Bytes& message_id,
                     const wire::Content& content);
    Status check_conversation(const std::string& conversation);
    void handle_expired(const wire::Deliver& deliver);
    void schedule_expiry();
    // Uploads of our attachments, and the message that waits for them.
    void pump_uploads();
    // The libsignal fingerprint of our identity key and the one we hold for peer.
    Result<crypto::SafetyNumber> fingerprint(const std::string& peer);
    // Encrypts files for a message of ours into attachments_dir (engine_attachments.cpp).
    Status prepare_files(const std::vector<std::filesystem::path>& files,
                         std::vector<store::AttachmentRow>& out);
    void upload_attachment(std::int64_t row_id, int index);
    Status queue_uploaded(const store::MessageRow& row);
    void report(const Error& error);
    // Once the store has found damage in its file, stops the engine for good (State::damaged)
    // and tells the observer once. True when the store is damaged.
    bool stop_if_store_damaged();
    // After a 1:1 message from peer failed to decrypt with error: on a profile restored from a
    // snapshot (store::AccountStore::restored_at_ms), starts new sessions with peer's devices
    // (restart_sessions) once per peer and restore, and tells the person in the conversation.
    // The peer is told too, end to end: a SessionRestarted content queued once the new sessions
    // exist (queue_restart_notice, from fetch_bundles).
    void heal_after_restore(const std::string& peer, const Error& error);
    // Queues the SessionRestarted notice for peer if a heal left one due, in the caller's
    // transaction, and marks it sent.
    Status queue_restart_notice(const std::string& peer);
    // A peer's SessionRestarted: one system line in its conversation (none from our own
    // account, in a group or from a blocked sender).
    Status note_session_restarted(const std::string& sender, const wire::Content& content,
                                  Effects& effects);
    void check_settled();
    void flush_acks();

    store::AccountStore& m_store;
    crypto::SignalContext& m_context;
    Transport& m_transport;
    const Clock& m_clock;
    EngineObserver& m_observer;
    EngineOptions m_options;
    std::unique_ptr<crypto::StoreContext> m_store_context;

    std::string m_username;
    std::string m_relay_url;
    bool m_registered = false;
    bool m_started = false;
    State m_state = State::offline;
    std::uint64_t m_next_request_id = 1;
    struct PendingRequest {
        ResponseHandler handler;
        std::uint64_t timer = 0; // the request's timeout
    };
    std::map<std::uint64_t, PendingRequest> m_pending_requests;
    std::uint64_t m_frames_handled = 0; // every frame from the relay, for liveness
    std::set<std::string> m_fetching;   // peers whose bundle is being fetched
    std::set<std::string> m_in_flight;  // hex message ids sent and not yet acked
    // The relay refused a send as RATE_LIMITED: until the queue is empty, one 1:1 send at a time
    // is in flight, so that a backlog does not come back as a burst of refusals each retry.
    bool m_throttled = false;
    std::uint32_t m_throttle_ms = 0; // the relay's last retry-after: the pace while throttled
    std::uint32_t m_backoff_ms = 0;
    bool m_outage_reported = false;
    bool m_was_settled = false;
    std::vector<std::uint64_t> m_acks_waiting; // delivery ids processed, not yet acked
    bool m_ack_in_flight = false;
    std::uint64_t m_reconnect_timer = 0;
    std::uint64_t m_retry_timer = 0; // schedule_retry's
    std::uint32_t m_device_id = 1;
    bool m_drained = false; // the mailbox queued before authentication has been processed
    bool m_prekey_message_seen = false; // a prekey message was processed since the last check
    bool m_prekey_check_in_flight = false;
    Inbox m_inbox;
    std::set<std::string> m_group_in_flight; // hex message ids of group sends not yet answered
    std::set<Bytes> m_group_updates;         // groups with a change of ours awaiting the relay
    std::map<std::string, std::uint64_t> m_stale_at; // hex message id -> revision refused at
    // What to do once a change of ours applies, by (group, revision).
    struct AfterApply {
        std::string name;        // a group we created: its name
        bool share_info = false; // send the name to the members (new ones need it)
    };
    std::map<std::pair<Bytes, std::uint64_t>, AfterApply> m_after_apply;

    // Devices.
    std::set<std::string> m_listing;         // usernames whose device list is being fetched
    std::map<std::string, int> m_mismatches; // hex message id -> device mismatches in a row
    std::unique_ptr<LinkState> m_link;       // a link in progress (either side)

    // Everyday messaging.
    BlobTransport* m_blobs = nullptr;
    std::uint64_t m_expiry_timer = 0;
    std::int64_t m_expiry_at = 0;
    std::map<std::string, std::int64_t> m_typing_sent;    // conversation -> last STARTED sent
    std::set<std::pair<std::int64_t, int>> m_uploading;   // (row id, index) in flight
    std::set<std::pair<std::int64_t, int>> m_downloading; // (row id, index) in flight
};

} // namespace veil::engine
