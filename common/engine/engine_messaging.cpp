// Engine: everyday messaging. Replies, mentions, reactions, edits, deletions for everyone,
// disappearing timers, typing indicators, read receipts, messages that expired undelivered,
// and identity key changes. Every action is a DataMessage (or Receipt, or Typing) inside the
// encryption; the relay sees only another ciphertext.
#include "engine/engine.h"

#include "engine/wire_util.h"

#include "crypto/provider.h"
#include "crypto/session.h"
#include "protocol/envelope_codec.h"
#include "protocol/limits.h"
#include "protocol/padding.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/unicode.h"

#include <algorithm>
#include <cctype>
#include <map>

namespace veil::engine {

using detail::bytes_of;

namespace {

constexpr const char* kLog = "engine";
constexpr std::size_t kMaxQuoteBytes = 200;
constexpr std::size_t kMaxMentions = 64;
constexpr std::int64_t kTypingResendMs = 5000;
// Typing indicators go 1:1 to each member, so only in groups up to this size.
constexpr std::size_t kMaxTypingGroupMembers = 256;
// A device's sending chain this long gets no more transient messages (see send_transient).
constexpr std::uint32_t kMaxTransientChainIndex = 1000;
constexpr std::uint32_t kMaxSweepDelayMs = 60 * 60 * 1000;
constexpr const char* kReadReceiptsSetting = "read_receipts";
// Ids one delivery receipt carries at most (16 bytes each, so about 18 KiB of content).
constexpr std::size_t kMaxIdsPerReceipt = 1000;

// The start of text, at most max bytes, cut at a character boundary.
std::string utf8_prefix(const std::string& text, std::size_t max) {
    if (text.size() <= max)
        return text;
    std::size_t end = max;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
        --end;
    return text.substr(0, end) + "\xE2\x80\xA6"; // …
}

// Usernames written as @name in text.
std::vector<std::string> mentions_in(const std::string& text) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '@' || (i > 0 && !std::isspace(static_cast<unsigned char>(text[i - 1])) &&
                               text[i - 1] != '(')) {
            continue;
        }
        std::size_t end = i + 1;
        while (end < text.size() && (std::islower(static_cast<unsigned char>(text[end])) ||
                                     std::isdigit(static_cast<unsigned char>(text[end])) ||
                                     text[end] == '_' || text[end] == '.' || text[end] == '-'))
            ++end;
        std::string name = text.substr(i + 1, end - i - 1);
        while (!name.empty() && (name.back() == '.' || name.back() == '-'))
            name.pop_back(); // "@bob." ends a sentence
        if (protocol::valid_username(name) && std::find(out.begin(), out.end(), name) == out.end())
            out.push_back(name);
    }
    return out;
}

// The Content of an action on the conversation (a reaction, an edit, a deletion, a timer): its
// own message id and time; the caller adds what it does.
wire::Content action_content(const Bytes& id, std::int64_t now) {
    wire::Content content;
    content.mutable_data()->set_message_id(to_string(id));
    content.mutable_data()->set_sent_at_ms(static_cast<std::uint64_t>(now));
    return content;
}

bool valid_blob_id(const std::string& id) {
    if (id.size() != protocol::kBlobIdHexChars)
        return false;
    return std::all_of(id.begin(), id.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

} // namespace

Result<store::AttachmentRow> detail::attachment_from_wire(const wire::Attachment& a, int index) {
    if (!valid_blob_id(a.blob_id()) || a.key().size() != 64 || a.digest().size() != 32 ||
        a.blob_size() == 0 || a.size() >= a.blob_size())
        return make_error(Errc::invalid_message, "a file in the message is malformed");
    store::AttachmentRow out;
    out.index = index;
    out.blob_id = a.blob_id();
    out.key = bytes_of(a.key());
    out.digest = bytes_of(a.digest());
    out.size = a.size();
    out.blob_size = a.blob_size();
    out.file_name = clean_file_name(a.file_name());
    out.content_type = utf8_prefix(unicode::sanitize(a.content_type()), 100);
    out.state = store::AttachmentState::remote;
    // An oversized preview is dropped; the file itself still comes.
    if (a.thumbnail().size() <= protocol::kMaxThumbnailBytes)
        out.thumbnail = bytes_of(a.thumbnail());
    return out;
}

std::string clean_file_name(const std::string& raw) {
    std::string name = unicode::sanitize(raw);
    auto slash = name.find_last_of("/\\");
    if (slash != std::string::npos)
        name = name.substr(slash + 1);
    std::string out;
    for (std::size_t i = 0; i < name.size();) {
        char32_t cp = 0;
        std::size_t length = unicode::next(name, i, cp);
        if (cp >= 0x20 && cp != 0x7F && !unicode::needs_visible_mark(cp))
            out.append(name, i, length);
        i += length;
    }
    while (!out.empty() && (out.front() == '.' || out.front() == ' '))
        out.erase(out.begin());
    constexpr std::size_t kMax = 200; // room for a temporary suffix under NAME_MAX (255)
    if (out.size() > kMax) {
        std::string ext;
        auto dot = out.find_last_of('.');
        if (dot != std::string::npos && out.size() - dot <= 16)
            ext = out.substr(dot);
        std::size_t end = kMax - ext.size();
        while (end > 0 && (static_cast<unsigned char>(out[end]) & 0xC0) == 0x80)
            --end;
        out = out.substr(0, end) + ext;
    }
    return out.empty() ? std::string("file") : out;
}

bool valid_reaction(const std::string& emoji) {
    if (emoji.empty() || emoji.size() > protocol::kMaxReactionBytes ||
        unicode::sanitize(emoji) != emoji)
        return false;
    bool pictographic = false;
    for (std::size_t i = 0; i < emoji.size();) {
        char32_t cp = 0;
        i += unicode::next(emoji, i, cp);
        if (cp < 0x80) {
            // Keycaps (1️⃣, #️⃣, *️⃣) start with an ASCII digit, '#' or '*'; nothing
            // else ASCII.
            if (!(cp >= '0' && cp <= '9') && cp != '#' && cp != '*')
                return false;
        } else if (unicode::needs_visible_mark(cp)) {
            return false;
        } else {
            pictographic = true;
        }
    }
    return pictographic;
}

std::string describe_timer(std::uint32_t seconds) {
    if (seconds == 0)
        return "off";
    struct Unit {
        std::uint32_t seconds;
        const char* name;
    };
    for (Unit u : {Unit{7 * 86400, "week"}, Unit{86400, "day"}, Unit{3600, "hour"},
                   Unit{60, "minute"}, Unit{1, "second"}}) {
        if (seconds % u.seconds == 0) {
            std::uint32_t n = seconds / u.seconds;
            return std::to_string(n) + " " + u.name + (n == 1 ? "" : "s");
        }
    }
    return std::to_string(seconds) + " seconds";
}

// ---- checks shared by every action -----------------------------------------------------------

Status Engine::check_conversation(const std::string& conversation) {
    if (m_username.empty())
        VEIL_TRY(load_account());
    if (store::is_group_conversation(conversation)) {
        auto id = store::group_id_of(conversation);
        if (!id || id->size() != protocol::kGroupIdBytes)
            return make_error(Errc::invalid_argument, "that is not a conversation");
        auto stored = m_store.group(id.value());
        if (!stored)
            return stored.error();
        if (!stored.value())
            return make_error(Errc::not_found, "no such group");
        if (stored.value()->has_left)
            return make_error(Errc::refused, "you are no longer a member of this group");
        // As in 1:1: a verified member whose key changed stops the group's sending until the
        // person accepts the new key (the message would otherwise wait unseen for it).
        auto others = other_members(conversation);
        if (!others)
            return others.error();
        for (const auto& name : others.value()) {
            auto trust = m_store.trust(name);
            if (!trust)
                return trust.error();
            if (trust->needs_accept)
                return make_error(Errc::untrusted_identity,
                                  name +
                                      "'s safety number changed; compare it and accept the "
                                      "new key before writing to this group (veil verify " +
                                      name + " --accept)");
        }
        return {};
    }
    if (!protocol::valid_username(conversation))
        return make_error(Errc::invalid_argument, "'" + conversation + "' is not a valid username");
    if (conversation == m_username)
        return make_error(Errc::invalid_argument, "you cannot send a message to yourself");
    auto is_blocked = m_store.is_blocked(conversation);
    if (!is_blocked)
        return is_blocked.error();
    if (is_blocked.value())
        return make_error(Errc::refused,
                          conversation + " is blocked; unblock them to write to them");
    auto trust = m_store.trust(conversation);
    if (!trust)
        return trust.error();
    if (trust->needs_accept)
        return make_error(Errc::untrusted_identity,
                          conversation +
                              "'s safety number changed; compare it and accept the "
                              "new key before sending (veil verify " +
                              conversation + " --accept)");
    return {};
}

Status Engine::queue_for(const std::string& conversation, const Bytes& message_id,
                         const wire::Content& content) {
    if (store::is_group_conversation(conversation)) {
        auto id = store::group_id_of(conversation);
        if (!id)
            return make_error(Errc::invalid_argument, "that is not a conversation");
        return queue_group_content(*id, message_id, content);
    }
    auto is_contact = m_store.is_contact(conversation);
    if (!is_contact)
        return is_contact.error();
    if (!is_contact.value())
        VEIL_TRY(m_store.add_contact(conversation, m_clock.now_ms()));
    return queue_content(conversation, message_id, content, /*sync=*/true);
}

Status Engine::add_line(const std::string& conversation, const std::string& text,
                        Effects& effects) {
    store::MessageRow row;
    row.peer = conversation;
    row.message_id = crypto::random_bytes(protocol::kMessageIdBytes);
    row.direction = store::Direction::incoming;
    row.sender = store::kSystemSender;
    row.text = text;
    row.sent_at_ms = m_clock.now_ms();
    row.received_at_ms = row.sent_at_ms;
    row.status = store::MessageStatus::received;
    row.kind = store::MessageKind::system;
    auto id = m_store.insert_message(row);
    if (!id)
        return id.error();
    row.id = id.value();
    effects.rows.push_back(row);
    return {};
}

// ---- sending ---------------------------------------------------------------------------------

Result<Bytes> Engine::send(const std::string& conversation, const Outgoing& message) {
    VEIL_TRY(check_conversation(conversation));
    const std::string& text = message.text;
    if (text.empty() && message.files.empty())
        return make_error(Errc::invalid_argument, "the message is empty");
    if (text.size() > protocol::kMaxPlaintextBytes)
        return make_error(Errc::too_large, "the message is longer than 64 KiB");
    if (unicode::sanitize(text) != text)
        return make_error(Errc::invalid_argument, "the message is not valid UTF-8 text");
    if (message.files.size() > protocol::kMaxAttachmentsPerMessage)
        return make_error(Errc::invalid_argument, "a message carries at most 10 files");
    if (message.thumbnails.size() > message.files.size())
        return make_error(Errc::invalid_argument, "there are more previews than files");
    for (const auto& thumbnail : message.thumbnails)
        if (thumbnail.size() > protocol::kMaxThumbnailBytes)
            return make_error(Errc::too_large, "a file's preview is larger than 5 KiB");
    const bool group = store::is_group_conversation(conversation);

    Bytes message_id = crypto::random_bytes(protocol::kMessageIdBytes);
    std::int64_t now = m_clock.now_ms();
    auto timer = m_store.expire_timer(conversation);
    if (!timer)
        return timer.error();

    store::MessageRow row;
    row.peer = conversation;
    row.message_id = message_id;
    row.direction = store::Direction::outgoing;
    row.sender = m_username;
    row.text = text;
    row.sent_at_ms = now;
    row.received_at_ms = now;
    row.status = store::MessageStatus::queued;
    row.expire_timer_s = timer.value();
    row.expires_at_ms = timer.value() ? now + std::int64_t{timer.value()} * 1000 : 0;
    if (message.reply_to) {
        auto target = m_store.find_message(message.reply_to->sender, message.reply_to->message_id);
        if (!target)
            return target.error();
        if (!target.value() || target.value()->peer != conversation ||
            target.value()->kind == store::MessageKind::system)
            return make_error(Errc::not_found, "the message to reply to is not in this "
                                               "conversation");
        if (target.value()->deleted)
            return make_error(Errc::invalid_argument, "that message was deleted");
        row.quote = store::Quote{target.value()->message_id, target.value()->sender,
                                 utf8_prefix(target.value()->text, kMaxQuoteBytes)};
    }
    std::vector<std::string> recipients; // a group's members but us, who owe receipts
    if (group) {
        auto others = other_members(conversation);
        if (!others)
            return others.error();
        recipients = std::move(others.value());
        for (const auto& name : mentions_in(text))
            if (std::find(recipients.begin(), recipients.end(), name) != recipients.end())
                row.mentions.push_back(name);
    }
    if (!message.files.empty())
        VEIL_TRY(prepare_files(message.files, row.attachments));
    for (std::size_t i = 0; i < message.thumbnails.size(); ++i)
        row.attachments[i].thumbnail = message.thumbnails[i];

    wire::Content content;
    auto* data = content.mutable_data();
    data->set_message_id(to_string(message_id));
    data->set_text(text);
    data->set_sent_at_ms(static_cast<std::uint64_t>(now));
    data->set_expire_timer_s(timer.value());
    for (const auto& m : row.mentions)
        data->add_mentions(m);
    if (row.quote) {
        data->mutable_quote()->set_message_id(to_string(row.quote->message_id));
        data->mutable_quote()->set_author(row.quote->author);
        data->mutable_quote()->set_text(row.quote->text);
    }
    {
        store::AccountStore::Transaction tx(m_store);
        VEIL_TRY(tx.begun());
        auto inserted = m_store.insert_message(row);
        if (!inserted)
            return inserted.error();
        row.id = inserted.value();
        VEIL_TRY(m_store.expect_receipts(row.id, recipients));
        // With files the message waits for their uploads (pump_uploads queues it).
        if (row.attachments.empty())
            VEIL_TRY(queue_for(conversation, message_id, content));
        VEIL_TRY(tx.commit());
    }
    m_observer.on_message(row);
    if (row.expires_at_ms)
        schedule_expiry();
    if (!row.attachments.empty())
        pump_uploads();
    pump_outgoing();
    return message_id;
}

Status Engine::react(const std::string& conversation, const MessageRef& target,
                     const std::string& emoji) {
    VEIL_TRY(check_conversation(conversation));
    if (!emoji.empty() && !valid_reaction(emoji))
        return make_error(Errc::invalid_argument, "a reaction is one emoji");
    auto row = m_store.find_message(target.sender, target.message_id);
    if (!row)
        return row.error();
    if (!row.value() || row.value()->peer != conversation ||
        row.value()->kind == store::MessageKind::system || row.value()->deleted)
        return make_error(Errc::not_found, "that message is not in this conversation");
    Bytes id = crypto::random_bytes(protocol::kMessageIdBytes);
    wire::Content content = action_content(id, m_clock.now_ms());
    auto* data = content.mutable_data();
    auto* r = data->mutable_reaction();
    r->set_target_id(to_string(target.message_id));
    r->set_target_author(target.sender);
    r->set_emoji(emoji);
    r->set_remove(emoji.empty());
    {
        store::AccountStore::Transaction tx(m_store);
        VEIL_TRY(tx.begun());
        VEIL_TRY(m_store.set_reaction(row.value()->id, m_username, emoji, m_clock.now_ms()));
        VEIL_TRY(queue_for(conversation, id, content));
        VEIL_TRY(tx.commit());
    }
    Effects effects;
    effects.changed.push_back(row.value()->id);
    announce(effects);
    pump_outgoing();
    return {};
}

namespace {

Status own_recent(const std::optional<store::MessageRow>& row, const std::string& conversation,
                  std::int64_t now) {
    if (!row || row->peer != conversation || row->direction != store::Direction::outgoing)
        return make_error(Errc::not_found, "that is not one of your messages in this "
                                           "conversation");
    if (row->deleted)
        return make_error(Errc::refused, "that message was deleted");
    if (now - row->sent_at_ms > protocol::kEditWindowMs)
        return make_error(Errc::refused, "messages can be edited or deleted for everyone only "
                                         "within 24 hours of sending");
    return {};
}

} // namespace

Status Engine::edit(const std::string& conversation, std::span<const std::uint8_t> message_id,
                    const std::string& text) {
    VEIL_TRY(check_conversation(conversation));
    if (text.empty())
        return make_error(Errc::invalid_argument, "the new text is empty");
    if (text.size() > protocol::kMaxPlaintextBytes)
        return make_error(Errc::too_large, "the message is longer than 64 KiB");
    if (unicode::sanitize(text) != text)
        return make_error(Errc::invalid_argument, "the message is not valid UTF-8 text");
    auto row = m_store.find_message(m_username, message_id);
    if (!row)
        return row.error();
    std::int64_t now = m_clock.now_ms();
    VEIL_TRY(own_recent(row.value(), conversation, now));
    Bytes id = crypto::random_bytes(protocol::kMessageIdBytes);
    wire::Content content = action_content(id, now);
    auto* data = content.mutable_data();
    data->mutable_edit()->set_target_id(to_string(message_id));
    data->mutable_edit()->set_text(text);
    {
        store::AccountStore::Transaction tx(m_store);
        VEIL_TRY(tx.begun());
        VEIL_TRY(m_store.edit_message(row.value()->id, text, now));
        VEIL_TRY(queue_for(conversation, id, content));
        VEIL_TRY(tx.commit());
    }
    Effects effects;
    effects.changed.push_back(row.value()->id);
    announce(effects);
    pump_outgoing();
    return {};
}

Status Engine::delete_for_everyone(const std::string& conversation,
                                   std::span<const std::uint8_t> message_id) {
    VEIL_TRY(check_conversation(conversation));
    auto row = m_store.find_message(m_username, message_id);
    if (!row)
        return row.error();
    std::int64_t now = m_clock.now_ms();
    VEIL_TRY(own_recent(row.value(), conversation, now));
    Bytes id = crypto::random_bytes(protocol::kMessageIdBytes);
    wire::Content content = action_content(id, now);
    auto* data = content.mutable_data();
    data->mutable_remove()->set_target_id(to_string(message_id));
    std::vector<std::string> files;
    {
        store::AccountStore::Transaction tx(m_store);
        VEIL_TRY(tx.begun());
        auto removed = m_store.delete_for_everyone(row.value()->id);
        if (!removed)
            return removed.error();
        files = std::move(removed.value());
        VEIL_TRY(queue_for(conversation, id, content));
        VEIL_TRY(tx.commit());
    }
    for (const auto& f : files) {
        std::error_code ec;
        std::filesystem::remove(f, ec);
    }
    Effects effects;
    effects.changed.push_back(row.value()->id);
    announce(effects);
    pump_outgoing();
    return {};
}

Status Engine::set_disappearing(const std::string& conversation, std::uint32_t seconds) {
    VEIL_TRY(check_conversation(conversation));
    if (seconds > protocol::kMaxExpireTimerSeconds)
        return make_error(Errc::invalid_argument, "a disappearing timer is at most 4 weeks");
    auto current = m_store.expire_timer(conversation);
    if (!current)
        return current.error();
    if (current.value() == seconds)
        return {};
    Bytes id = crypto::random_bytes(protocol::kMessageIdBytes);
    wire::Content content = action_content(id, m_clock.now_ms());
    auto* data = content.mutable_data();
    data->set_expire_timer_s(seconds);
    data->set_timer_update(true);
    Effects effects;
    {
        store::AccountStore::Transaction tx(m_store);
        VEIL_TRY(tx.begun());
        VEIL_TRY(m_store.set_expire_timer(conversation, seconds));
        VEIL_TRY(add_line(conversation,
                          seconds ? "You set disappearing messages to " + describe_timer(seconds)
                                  : std::string("You turned off disappearing messages"),
                          effects));
        VEIL_TRY(queue_for(conversation, id, content));
        VEIL_TRY(tx.commit());
    }
    announce(effects);
    pump_outgoing();
    return {};
}

Result<std::uint32_t> Engine::disappearing(const std::string& conversation) {
    return m_store.expire_timer(conversation);
}

void Engine::set_typing(const std::string& conversation, bool typing, bool force) {
    if (m_state != State::ready || conversation == m_username)
        return;
    const bool group = store::is_group_conversation(conversation);
    if (!group && !protocol::valid_username(conversation))
        return;
    std::int64_t now = m_clock.now_ms();
    auto last = m_typing_sent.find(conversation);
    if (typing) {
        if (last != m_typing_sent.end() && now - last->second < kTypingResendMs)
            return;
        m_typing_sent[conversation] = now;
    } else {
        if (last == m_typing_sent.end() && !force)
            return;
        if (last != m_typing_sent.end())
            m_typing_sent.erase(last);
    }
    wire::Content content;
    content.mutable_typing()->set_action(typing ? wire::Typing::STARTED : wire::Typing::STOPPED);
    content.mutable_typing()->set_at_ms(static_cast<std::uint64_t>(now));
    std::vector<std::string> people;
    if (group) {
        // A group's typing goes 1:1 to each member, so it never advances the sender key chain
        // of the group (a member offline for long would fall too far behind it).
        auto id = store::group_id_of(conversation);
        if (!id || id->size() != protocol::kGroupIdBytes)
            return;
        auto stored = m_store.group(id.value());
        auto others = other_members(conversation);
        if (!stored || !stored.value() || stored.value()->has_left || !others ||
            others->size() >= kMaxTypingGroupMembers)
            return;
        content.mutable_typing()->set_group_id(to_string(id.value()));
        people = std::move(others.value());
    } else {
        auto blocked = m_store.is_blocked(conversation);
        if (!blocked || blocked.value())
            return;
        people.push_back(conversation);
    }
    Bytes plain = bytes_of(content.SerializeAsString());
    for (const auto& person : people)
        send_transient(person, plain);
}

void Engine::send_transient(const std::string& username, const Bytes& plain) {
    auto devices = m_store.known_devices(username);
    if (!devices || !devices.value())
        return;
    wire::Envelope e;
    auto* s = e.mutable_send_request();
    s->set_message_id(to_string(crypto::random_bytes(protocol::kMessageIdBytes)));
    s->set_to_username(username);
    s->set_transient(true);
    store::AccountStore::Transaction tx(m_store);
    if (!tx.begun())
        return;
    for (auto device : *devices.value()) {
        // Only devices we already have a session with: a transient message never fetches keys.
        // The relay drops it for a device that is offline, and every drop is a step that
        // device's next message must skip; a receiver refuses more than 2,000 (libsignal), so
        // a chain that long gets no more transient messages until the device answers.
        crypto::ProtocolAddress address{username, device};
        auto index = crypto::sending_chain_index(*m_store_context, address);
        if (!index || index.value() >= kMaxTransientChainIndex)
            continue;
        auto ct = crypto::encrypt(*m_store_context, address, protocol::pad(plain));
        if (!ct)
            return;
        auto* copy = s->add_to_devices();
        copy->set_device_id(static_cast<std::uint32_t>(device));
        copy->set_type(ct->type == crypto::CiphertextType::prekey ? wire::CIPHERTEXT_PREKEY
                                                                  : wire::CIPHERTEXT_WHISPER);
        copy->set_ciphertext(to_string(ct->bytes));
    }
    if (s->to_devices().empty() || !tx.commit())
        return;
    request(std::move(e), [](const wire::Envelope&) {}); // best effort: nothing to retry
}

Status Engine::set_read_receipts(bool on) {
    return m_store.set_setting(kReadReceiptsSetting, on ? "on" : "off");
}

bool Engine::read_receipts() {
    auto value = m_store.setting(kReadReceiptsSetting);
    return !value || value.value() != "off";
}

Result<Bytes> Engine::resend(std::span<const std::uint8_t> message_id) {
    if (m_username.empty())
        VEIL_TRY(load_account());
    auto row = m_store.find_message(m_username, message_id);
    if (!row)
        return row.error();
    if (!row.value() || row.value()->direction != store::Direction::outgoing ||
        row.value()->kind == store::MessageKind::system)
        return make_error(Errc::not_found, "that is not one of your messages");
    if (row.value()->status != store::MessageStatus::expired &&
        row.value()->status != store::MessageStatus::failed)
        return make_error(Errc::refused, "only a message that expired or failed can be sent "
                                         "again");
    if (!row.value()->attachments.empty())
        return make_error(Errc::refused, "a message with files cannot be sent again; send the "
                                         "files anew");
    Outgoing again;
    again.text = row.value()->text;
    if (row.value()->quote)
        again.reply_to = MessageRef{row.value()->quote->author, row.value()->quote->message_id};
    auto sent = send(row.value()->peer, again);
    if (!sent && again.reply_to) {
        again.reply_to.reset(); // the quoted message may have gone
        return send(row.value()->peer, again);
    }
    return sent;
}

// ---- receiving -------------------------------------------------------------------------------

Status Engine::apply_data(const std::string& conversation, const std::string& sender, bool ours,
                          const wire::DataMessage& data, std::int64_t server_ts, Effects& effects) {
    std::int64_t now = m_clock.now_ms();
    const bool group = store::is_group_conversation(conversation);
    if (data.timer_update()) {
        std::uint32_t seconds = std::min(data.expire_timer_s(), protocol::kMaxExpireTimerSeconds);
        auto current = m_store.expire_timer(conversation);
        if (!current)
            return current.error();
        if (current.value() == seconds)
            return {};
        VEIL_TRY(m_store.set_expire_timer(conversation, seconds));
        std::string who = ours ? std::string("You") : sender;
        return add_line(conversation,
                        seconds ? who + " set disappearing messages to " + describe_timer(seconds)
                                : who + " turned off disappearing messages",
                        effects);
    }
    if (data.has_reaction()) {
        const auto& r = data.reaction();
        if (!r.remove() && !valid_reaction(r.emoji()))
            return make_error(Errc::invalid_message, "a reaction is malformed");
        auto target = m_store.find_message(r.target_author(), bytes_of(r.target_id()));
        if (!target)
            return target.error();
        if (!target.value() || target.value()->peer != conversation || target.value()->deleted)
            return {}; // gone, or never here: nothing to react to
        VEIL_TRY(m_store.set_reaction(target.value()->id, sender, r.remove() ? "" : r.emoji(),
                                      static_cast<std::int64_t>(data.sent_at_ms())));
        effects.changed.push_back(target.value()->id);
        return {};
    }
    if (data.has_edit() || data.has_remove()) {
        Bytes target_id =
            bytes_of(data.has_edit() ? data.edit().target_id() : data.remove().target_id());
        // Only the author changes a message: the target is looked up under the sender.
        auto target = m_store.find_message(sender, target_id);
        if (!target)
            return target.error();
        if (!target.value() || target.value()->peer != conversation || target.value()->deleted)
            return {};
        auto age = static_cast<std::int64_t>(data.sent_at_ms()) - target.value()->sent_at_ms;
        if (age > protocol::kEditWindowMs) {
            log::info(kLog, "an edit or deletion after the time limit was ignored");
            return {};
        }
        if (data.has_edit()) {
            const std::string& text = data.edit().text();
            if (text.empty() || text.size() > protocol::kMaxPlaintextBytes ||
                unicode::sanitize(text) != text)
                return make_error(Errc::invalid_message, "an edit is malformed");
            VEIL_TRY(m_store.edit_message(target.value()->id, text,
                                          static_cast<std::int64_t>(data.sent_at_ms())));
        } else {
            auto files = m_store.delete_for_everyone(target.value()->id);
            if (!files)
                return files.error();
            for (const auto& f : files.value()) {
                std::error_code ec;
                std::filesystem::remove(f, ec);
            }
        }
        effects.changed.push_back(target.value()->id);
        return {};
    }

    // An ordinary message.
    if (data.text().size() > protocol::kMaxPlaintextBytes)
        return make_error(Errc::invalid_message, "the message is too long");
    auto known = m_store.has_message(sender, bytes_of(data.message_id()));
    if (!known)
        return known.error();
    if (known.value())
        return {};
    store::MessageRow row = detail::data_row(data, conversation, sender, ours, now);
    row.text = unicode::sanitize(row.text);
    std::uint32_t timer = std::min(data.expire_timer_s(), protocol::kMaxExpireTimerSeconds);
    if (timer) {
        // From when it was sent, so every device deletes it at about the same moment,
        // including one that was offline until after then: the later of the relay's time and
        // the sender's (a relay or sender clock far behind cannot make it vanish on arrival),
        // never later than now.
        std::int64_t base = std::min(
            now, std::max(server_ts, static_cast<std::int64_t>(std::min<std::uint64_t>(
                                         data.sent_at_ms(), static_cast<std::uint64_t>(now)))));
        row.expire_timer_s = timer;
        row.expires_at_ms = base + std::int64_t{timer} * 1000;
        if (row.expires_at_ms <= now)
            return {}; // its time ran out before it reached this device
    }
    if (data.has_quote() && data.quote().message_id().size() == protocol::kMessageIdBytes &&
        protocol::valid_username(data.quote().author())) {
        row.quote =
            store::Quote{bytes_of(data.quote().message_id()), data.quote().author(),
                         utf8_prefix(unicode::sanitize(data.quote().text()), kMaxQuoteBytes)};
        // Where we hold the original, it is what the quote shows: a sender cannot make a
        // message appear to say something else.
        auto original = m_store.find_message(row.quote->author, row.quote->message_id);
        if (!original)
            return original.error();
        if (original.value() && original.value()->peer == conversation)
            row.quote->text = original.value()->deleted
                                  ? std::string()
                                  : utf8_prefix(original.value()->text, kMaxQuoteBytes);
    }
    if (group)
        for (const auto& m : data.mentions())
            if (protocol::valid_username(m) && row.mentions.size() < kMaxMentions)
                row.mentions.push_back(m);
    if (static_cast<std::size_t>(data.attachments_size()) > protocol::kMaxAttachmentsPerMessage)
        return make_error(Errc::invalid_message, "a message carries too many files");
    int index = 0;
    for (const auto& a : data.attachments()) {
        auto file = detail::attachment_from_wire(a, index++);
        if (!file)
            return file.error();
        row.attachments.push_back(std::move(file.value()));
    }
    if (row.text.empty() && row.attachments.empty())
        return make_error(Errc::invalid_message, "the message is empty");
    auto id = m_store.insert_message(row);
    if (!id)
        return id.error();
    row.id = id.value();
    if (group && ours) {
        // Sent from another of our devices: its members' receipts reach this device too.
        auto recipients = other_members(conversation);
        if (!recipients)
            return recipients.error();
        VEIL_TRY(m_store.expect_receipts(row.id, recipients.value()));
    }
    for (auto& a : row.attachments)
        a.key.clear(); // rows handed to observers never carry keys
    effects.rows.push_back(row);
    return {};
}

Result<std::vector<std::string>> Engine::other_members(const std::string& conversation) {
    auto id = store::group_id_of(conversation);
    if (!id)
        return make_error(Errc::invalid_argument, "that is not a group conversation");
    auto members = m_store.group_members(id.value());
    if (!members)
        return members.error();
    std::vector<std::string> out;
    for (const auto& m : members.value())
        if (m.username != m_username)
            out.push_back(m.username);
    return out;
}

Status Engine::confirm_delivery(const std::string& sender, const std::string& message_id) {
    if (!m_options.send_delivery_receipts)
        return {};
    // A catch-up confirms thousands of messages from a few senders, faster than the relay takes
    // sends: the newest receipt to the sender that is not encrypted yet takes each new id (up to
    // kMaxIdsPerReceipt), so what waits to be sent stays one receipt per sender.
    auto last = m_store.last_pending_to(sender);
    if (!last)
        return last.error();
    if (last.value() && !last.value()->sync &&
        !m_in_flight.count(to_hex(last.value()->message_id))) {
        const auto& open = *last.value();
        wire::Content content;
        if (content.ParseFromArray(open.content.data(), static_cast<int>(open.content.size())) &&
            content.body_case() == wire::Content::kReceipt && !content.has_group() &&
            content.receipt().type() == wire::Receipt::DELIVERED &&
            static_cast<std::size_t>(content.receipt().message_ids_size()) < kMaxIdsPerReceipt) {
            auto copies = m_store.outbox_of(open.message_id);
            if (!copies)
                return copies.error();
            if (copies->empty()) {
                content.mutable_receipt()->add_message_ids(message_id);
                return m_store.set_pending_content(open.seq, bytes_of(content.SerializeAsString()));
            }
        }
    }
    wire::Content receipt;
    receipt.mutable_receipt()->set_type(wire::Receipt::DELIVERED);
    receipt.mutable_receipt()->add_message_ids(message_id);
    return queue_content(sender, crypto::random_bytes(protocol::kMessageIdBytes), receipt);
}

Status Engine::apply_receipt(const std::string& sender, const wire::Receipt& receipt,
                             Effects& effects) {
    auto next = receipt.type() == wire::Receipt::READ ? store::MessageStatus::read
                                                      : store::MessageStatus::delivered;
    for (const auto& raw : receipt.message_ids()) {
        Bytes mid = bytes_of(raw);
        auto row = m_store.find_outgoing(mid);
        if (!row)
            return row.error();
        if (!row.value())
            continue;
        // Only a recipient of a message may confirm it: the peer, or a member the group
        // message went to. A group message advances when every member has confirmed.
        const auto& r = *row.value();
        auto status = next;
        if (store::is_group_conversation(r.peer)) {
            auto lowest = m_store.record_receipt(r.id, sender, next, m_clock.now_ms());
            if (!lowest)
                return lowest.error();
            if (!lowest.value() || (lowest.value() != store::MessageStatus::delivered &&
                                    lowest.value() != store::MessageStatus::read))
                continue;
            status = *lowest.value();
        } else if (r.peer != sender) {
            continue;
        }
        bool advances = status == store::MessageStatus::read
                            ? r.status == store::MessageStatus::queued ||
                                  r.status == store::MessageStatus::sent ||
                                  r.status == store::MessageStatus::delivered ||
                                  r.status == store::MessageStatus::expired
                            : r.status == store::MessageStatus::queued ||
                                  r.status == store::MessageStatus::sent ||
                                  r.status == store::MessageStatus::expired;
        if (!advances)
            continue;
        VEIL_TRY(m_store.set_status(mid, status));
        effects.statuses.emplace_back(mid, status);
    }
    return {};
}

Status Engine::note_identity_changes(Effects& effects) {
    auto names = m_store.take_identity_notices();
    if (!names)
        return names.error();
    for (const auto& name : names.value()) {
        auto trust = m_store.trust(name);
        if (!trust)
            return trust.error();
        std::string line = "Your safety number with " + name +
                           " changed: they may have reinstalled Veil, or someone may be "
                           "intercepting. Compare safety numbers (veil verify " +
                           name + ").";
        if (trust->needs_accept)
            line += " Sending to them is paused until you accept the new key.";
        VEIL_TRY(add_line(name, line, effects));
        effects.identities_changed.push_back(name);
    }
    return {};
}

void Engine::handle_expired(const wire::Deliver& d) {
    const auto& notice = d.expired();
    Bytes mid = bytes_of(notice.message_id());
    auto row = m_store.find_outgoing(mid);
    if (!row) {
        report(row.error());
        return; // not acked: the relay sends it again
    }
    if (row.value() && (row.value()->status == store::MessageStatus::queued ||
                        row.value()->status == store::MessageStatus::sent)) {
        if (auto st = m_store.set_status(mid, store::MessageStatus::expired); !st) {
            report(st.error());
            return;
        }
        Effects effects;
        effects.statuses.emplace_back(mid, store::MessageStatus::expired);
        announce(effects);
    }
    if (d.delivery_id() != 0)
        ack(d.delivery_id());
}

// ---- disappearing ----------------------------------------------------------------------------

void Engine::schedule_expiry() {
    auto next = m_store.next_expiry();
    if (!next) {
        report(next.error());
        return;
    }
    if (!next.value()) {
        if (m_expiry_timer)
            m_transport.cancel_timer(m_expiry_timer);
        m_expiry_timer = 0;
        return;
    }
    if (m_expiry_timer && m_expiry_at == *next.value())
        return;
    if (m_expiry_timer)
        m_transport.cancel_timer(m_expiry_timer);
    std::int64_t delay = std::max<std::int64_t>(0, *next.value() - m_clock.now_ms());
    m_expiry_at = *next.value();
    m_expiry_timer = m_transport.start_timer(
        static_cast<std::uint32_t>(std::min<std::int64_t>(delay, kMaxSweepDelayMs)), [this] {
            m_expiry_timer = 0;
            sweep_expired();
        });
}

void Engine::sweep_expired() {
    auto expired = m_store.delete_expired(m_clock.now_ms());
    if (!expired) {
        report(expired.error());
        return;
    }
    for (const auto& f : expired->files) {
        std::error_code ec;
        std::filesystem::remove(f, ec);
    }
    std::map<std::string, std::vector<std::int64_t>> by_conversation;
    for (const auto& row : expired->messages)
        by_conversation[row.peer].push_back(row.id);
    for (const auto& [conversation, ids] : by_conversation) {
        store::AccountStore::EventRow e;
        e.kind = store::AccountStore::EventKind::disappeared;
        e.conversation = conversation;
        e.count = static_cast<int>(ids.size());
        if (auto st = m_store.log_event(e); !st)
            report(st.error());
        m_observer.on_messages_removed(conversation, ids);
    }
    schedule_expiry();
}

} // namespace veil::engine
