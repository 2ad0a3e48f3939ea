// MailboxCommitter: the relay's mailbox write path as group commits. Sends, acks, group sends
// and group changes from every connection are queued to it; it takes what is queued (up to
// max_batch items), applies it with one RelayStore::write_mailbox call (one transaction, one fsync)
// and then completes each item, in order, with its outcome or with the error that rolled the whole
// batch back. While one commit waits for the disk, the next batch gathers, so the batch grows with
// the load and an idle relay commits a lone item at once.
//
// Thread: submit() and pending() are safe from any thread. Completions run on the committer's
// thread (or, without start(), on the thread calling commit_batch()); they must not block for
// long and must not call submit() on the same committer from inside commit_batch().
#pragma once

#include "core/storage.h"

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace veil::relay {

class MailboxCommitter {
public:
    // Called once per item, after its batch committed (or failed): write is the item's own.
    using Done =
        std::function<void(const MailboxWrite& write, const Result<MailboxWriteOutcome>& outcome)>;

    struct Options {
        std::size_t max_batch = 1000; // items per transaction
    };

    // store must outlive the committer.
    MailboxCommitter(RelayStore& store, Options options);
    ~MailboxCommitter(); // stop()s
    MailboxCommitter(const MailboxCommitter&) = delete;
    MailboxCommitter& operator=(const MailboxCommitter&) = delete;

    // Starts the committer's thread. Without it, items wait for commit_batch() (tests).
    void start();

    // Queues one write. False, with done never called, once stop() has begun. prepare, if
    // given, runs under the queue's lock just before the write joins the queue, so that what it
    // assigns (a delivery id) follows the queue's order, which is the commit order.
    using Prepare = std::function<void(MailboxWrite& write)>;
    bool submit(MailboxWrite write, Done done, const Prepare& prepare = {});

    // Returns once every write submitted before the call has been committed (or has failed) and
    // completed. Without the thread, commits them on the calling thread.
    void wait_for_submitted();

    // Commits up to max_batch queued items on the calling thread and completes them. Returns how
    // many items it completed. For tests that run without the thread.
    std::size_t commit_batch();

    // Refuses new items, commits and completes every item already queued, then joins the thread.
    // Idempotent.
    void stop();

    std::size_t pending() const;

private:
    struct Item {
        MailboxWrite write;
        Done done;
    };

    void run();
    std::size_t commit(std::deque<Item>& batch);

    RelayStore& m_store;
    Options m_options;

    mutable std::mutex m_mutex;
    std::condition_variable m_wake;
    std::deque<Item> m_queue;           // guarded by m_mutex
    bool m_stopping = false;            // guarded by m_mutex
    std::uint64_t m_submitted = 0;      // writes ever queued, guarded by m_mutex
    std::uint64_t m_completed = 0;      // writes ever completed, in queue order, guarded by m_mutex
    std::condition_variable m_progress; // m_completed grew

    std::mutex m_commit_mutex; // one batch at a time, in queue order
    std::thread m_thread;
};

} // namespace veil::relay
