#include "core/mailbox_committer.h"

#include "core/relay_metrics.h"
#include "util/log.h"

#include <chrono>
#include <exception>
#include <string>
#include <utility>
#include <vector>

namespace veil::relay {
namespace {

constexpr std::string_view kLog = "relay.store";

} // namespace

MailboxCommitter::MailboxCommitter(RelayStore& store, Options options)
    : m_store(store)
    , m_options(options) {
    if (m_options.max_batch == 0)
        m_options.max_batch = 1;
}

MailboxCommitter::~MailboxCommitter() {
    stop();
}

void MailboxCommitter::start() {
    m_thread = std::thread([this] { run(); });
}

bool MailboxCommitter::submit(MailboxWrite write, Done done, const Prepare& prepare) {
    {
        std::lock_guard lock(m_mutex);
        if (m_stopping)
            return false;
        if (prepare)
            prepare(write);
        m_queue.push_back(Item{std::move(write), std::move(done)});
        ++m_submitted;
    }
    m_wake.notify_one();
    return true;
}

void MailboxCommitter::wait_for_submitted() {
    std::unique_lock lock(m_mutex);
    const std::uint64_t ticket = m_submitted;
    if (!m_thread.joinable()) {
        lock.unlock();
        for (;;) {
            {
                std::lock_guard check(m_mutex);
                if (m_completed >= ticket)
                    return;
            }
            if (commit_batch() == 0)
                return;
        }
    }
    m_progress.wait(lock, [&] { return m_completed >= ticket; });
}

std::size_t MailboxCommitter::pending() const {
    std::lock_guard lock(m_mutex);
    return m_queue.size();
}

std::size_t MailboxCommitter::commit_batch() {
    // The commit lock is taken before the queue lock, so that two callers commit their batches
    // in the order they took them from the queue.
    std::lock_guard commit_lock(m_commit_mutex);
    std::deque<Item> batch;
    {
        std::lock_guard lock(m_mutex);
        while (!m_queue.empty() && batch.size() < m_options.max_batch) {
            batch.push_back(std::move(m_queue.front()));
            m_queue.pop_front();
        }
    }
    return commit(batch);
}

void MailboxCommitter::stop() {
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_all();
    if (m_thread.joinable())
        m_thread.join();
    // Items queued without a thread (or after it ended) are still completed.
    while (commit_batch() > 0) {
    }
}

void MailboxCommitter::run() {
    for (;;) {
        {
            std::unique_lock lock(m_mutex);
            m_wake.wait(lock, [this] { return m_stopping || !m_queue.empty(); });
            if (m_queue.empty())
                return; // stopping, and everything queued is done
        }
        commit_batch();
    }
}

std::size_t MailboxCommitter::commit(std::deque<Item>& batch) {
    if (batch.empty())
        return 0;
    std::vector<MailboxWrite> writes;
    writes.reserve(batch.size());
    for (auto& item : batch)
        writes.push_back(std::move(item.write));

    const auto started = std::chrono::steady_clock::now();
    auto outcomes = m_store.write_mailbox(writes);
    relay_metrics().store_commit.observe(std::chrono::steady_clock::now() - started);
    if (outcomes && outcomes->size() != writes.size())
        outcomes = make_error(Errc::database, "the store answered a batch with a wrong count");
    if (!outcomes)
        log::warn(kLog, "a batch of " + std::to_string(writes.size()) +
                            " mailbox writes failed: " + outcomes.error().message);

    for (std::size_t i = 0; i < batch.size(); ++i) {
        try {
            if (outcomes)
                batch[i].done(writes[i], (*outcomes)[i]);
            else
                batch[i].done(writes[i], outcomes.error());
        } catch (const std::exception& e) {
            // One item's completion must not cost the others theirs.
            log::error(kLog, std::string("completing a mailbox write failed: ") + e.what());
        }
    }
    {
        std::lock_guard lock(m_mutex);
        m_completed += batch.size();
    }
    m_progress.notify_all();
    return batch.size();
}

} // namespace veil::relay
