// The event stream shared by `receive`, `listen` and the daemon's `subscribe`: new messages and
// changes to stored messages, read from the store after cursors kept in the profile, and live
// events (typing, groups, identities, devices) as the engine reports them. The JSON shape of
// every line is documented in docs/scripting.md and veil(1).
#pragma once

#include "cli_support.h"

#include "store/account_store.h"

#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace veil::tui {

class EventFeed {
public:
    // Hands a batch of lines (without their newlines) on, and returns true once they are out of
    // this process's buffers (stdout flushed, written to a socket). The cursors move only after
    // the sink returned true, so a reader that dies never misses a message: the last batch may
    // come again after a restart, never the opposite.
    using Sink = std::function<bool(const std::vector<std::string>& lines)>;

    // json: one JSON object per line; otherwise the text lines of `receive` (messages and
    // changes; the live events are left out). The store must outlive the feed.
    EventFeed(store::AccountStore& store, bool json, Sink sink);

    // Every message stored after the message cursor, then every change after the event cursor
    // (edits, reactions, deletions, statuses, disappearances). The cursors are shared with
    // every other run on this profile (receive, listen, the daemon).
    void catch_up();

    // Live events, printed at once (JSON only; nothing is stored for them, so a reader that is
    // not running misses them). Each one first catches up, so lines stay in order.
    void typing(const std::string& conversation, const std::string& who, bool typing);
    // A message of ours reached the relay. Other statuses are logged in the store and come
    // through catch_up; this one is not, so it is live only.
    void sent(std::span<const std::uint8_t> message_id);
    void group_changed(std::span<const std::uint8_t> group_id);
    void group_warning(std::span<const std::uint8_t> group_id, const std::string& sentence);
    void identity_changed(const std::string& peer);
    void devices_changed();
    void read_elsewhere(const std::string& conversation);

private:
    struct GroupSnapshot {
        std::string name;
        std::map<std::string, bool> members; // username -> admin
        bool left = false;
    };
    // One batch each; true when it was printed and acked and more may follow.
    bool print_messages();
    bool print_changes();
    void live(const std::string& line);
    std::string text_line(const store::MessageRow& row);
    std::string changed_line(const store::MessageRow& row);
    std::optional<GroupSnapshot> snapshot(std::span<const std::uint8_t> group_id);

    store::AccountStore& m_store;
    bool m_json;
    Sink m_sink;
    std::map<Bytes, GroupSnapshot> m_groups; // as last reported, to tell what changed
};

// A Runner that feeds an EventFeed with what the engine reports, once the mailbox queued
// before connecting has been processed (before that, messages would come out of order).
class FeedRunner : public Runner {
public:
    using Runner::Runner;
    EventFeed* feed = nullptr;
    bool drained = false;

    void on_queue_drained() override {
        drained = true;
        feed->catch_up();
    }
    void on_message(const store::MessageRow&) override { caught_up(); }
    void on_message_changed(const store::MessageRow&) override { caught_up(); }
    void on_status(std::span<const std::uint8_t> id, store::MessageStatus status) override {
        if (drained && status == store::MessageStatus::sent)
            feed->sent(id);
        else
            caught_up();
    }
    void on_messages_removed(const std::string&, const std::vector<std::int64_t>&) override {
        caught_up();
    }
    void on_typing(const std::string& conversation, const std::string& who, bool typing) override {
        // Typing from before this run is stale.
        if (drained)
            feed->typing(conversation, who, typing);
    }
    void on_group_changed(std::span<const std::uint8_t> id) override {
        if (drained)
            feed->group_changed(id);
    }
    void on_group_warning(std::span<const std::uint8_t> id, const std::string& sentence) override {
        if (drained)
            feed->group_warning(id, sentence);
    }
    void on_identity_changed(const std::string& peer) override {
        if (drained)
            feed->identity_changed(peer);
    }
    void on_devices_changed() override {
        if (drained)
            feed->devices_changed();
    }
    void on_read_elsewhere(const std::string& conversation) override {
        if (drained)
            feed->read_elsewhere(conversation);
    }

private:
    void caught_up() {
        if (drained)
            feed->catch_up();
    }
};

} // namespace veil::tui
