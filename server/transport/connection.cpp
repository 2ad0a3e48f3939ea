#include "transport/connection.h"

#include "transport/websocket_upgrade.h"
#include "util/log.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <cerrno>
#include <netinet/in.h>
#include <string>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <unordered_set>

namespace veil::relay::transport {
namespace {

namespace ws = protocol::ws;

constexpr std::string_view kLog = "net";
constexpr std::size_t kMaxIovecs = 64;
// Requests of one connection awaiting a late answer before the relay stops reading from it.
constexpr std::size_t kMaxAwaited = 1024;
// Request bytes a connection may have waiting in the committer's queue before it is read no
// further: requests are counted too, but 1,024 sends of 256 KiB would park 256 MiB.
constexpr std::size_t kMaxAwaitedBytes = 8 * 1024 * 1024;
// A blob is sent in chunks of this size, at most kBlobChunksQueued of them waiting at once.
constexpr std::size_t kBlobChunk = 64 * 1024;
constexpr std::size_t kBlobChunksQueued = 4;

// An answer to HEAD carries no body.
std::string_view not_found_body(const BlobRequest& request) {
    return request.method == BlobRequest::Method::head ? "" : "not found\n";
}

std::string describe(std::uint64_t id, std::uint16_t code, std::string_view reason) {
    return "connection " + std::to_string(id) + " closing with " + std::to_string(code) + ": " +
           std::string(reason);
}

// The client's IP address, for limits per address; empty when the socket cannot tell.
std::string peer_address(int fd) {
    sockaddr_storage address{};
    socklen_t size = sizeof address;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0)
        return {};
    char text[INET6_ADDRSTRLEN] = {};
    const void* raw = nullptr;
    if (address.ss_family == AF_INET)
        raw = &reinterpret_cast<const sockaddr_in*>(&address)->sin_addr;
    else if (address.ss_family == AF_INET6)
        raw = &reinterpret_cast<const sockaddr_in6*>(&address)->sin6_addr;
    if (!raw || !::inet_ntop(address.ss_family, raw, text, sizeof text))
        return {};
    return text;
}

} // namespace

Connection::Connection(std::uint64_t id, int fd, RelayService& service,
                       const TransportOptions& options, PostReply post_reply, TimePoint now,
                       SSL* tls)
    : m_fd(fd)
    , m_session(id)
    , m_service(service)
    , m_options(options)
    , m_decoder(ws::Role::server, options.max_message_bytes)
    , m_post_reply(std::move(post_reply))
    , m_last_received(now)
    , m_tls(tls)
    , m_upgrade_deadline(now + options.upgrade_timeout) {
    m_state = m_tls ? State::tls_handshake : State::http_request;
    m_session.paged_drain = true;
    m_session.peer_address = peer_address(fd);
}

Connection::~Connection() {
    if (m_blob_fd >= 0)
        ::close(m_blob_fd);
    if (m_tls)
        SSL_free(m_tls);
    ::close(m_fd);
}

void Connection::tls_handshake() {
    ERR_clear_error();
    const int result = SSL_do_handshake(m_tls);
    if (result == 1) {
        m_state = State::http_request;
        return;
    }
    switch (SSL_get_error(m_tls, result)) {
    case SSL_ERROR_WANT_READ: m_handshake_events = EPOLLIN; return;
    case SSL_ERROR_WANT_WRITE: m_handshake_events = EPOLLOUT; return;
    default:
        // Not TLS (a plaintext client), an unacceptable version, or a reset.
        log::debug(kLog, "connection " + std::to_string(id()) + ": TLS handshake failed");
        ERR_clear_error();
        m_state = State::done;
        return;
    }
}

bool Connection::tls_read_failed(int result) {
    switch (SSL_get_error(m_tls, result)) {
    case SSL_ERROR_WANT_READ: return true;
    case SSL_ERROR_WANT_WRITE: m_tls_read_wants_write = true; return true;
    default:
        // close_notify, EOF, a reset or a TLS error: the peer is gone.
        ERR_clear_error();
        m_state = State::done;
        return false;
    }
}

void Connection::read_request(std::span<std::uint8_t> scratch, TimePoint now) {
    do {
        const std::size_t room = kMaxUpgradeRequestBytes + 1 - m_request.size();
        const int want = static_cast<int>(std::min(scratch.size(), room));
        int n = 0;
        if (m_tls) {
            ERR_clear_error();
            n = SSL_read(m_tls, scratch.data(), want);
            if (n <= 0) {
                tls_read_failed(n);
                return;
            }
        } else {
            const ssize_t got = ::recv(m_fd, scratch.data(), static_cast<std::size_t>(want), 0);
            if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                return;
            if (got <= 0) {
                m_state = State::done; // EOF or a reset before the request was complete
                return;
            }
            n = static_cast<int>(got);
        }
        const std::size_t searched = m_request.size() >= 3 ? m_request.size() - 3 : 0;
        m_request.append(reinterpret_cast<const char*>(scratch.data()),
                         static_cast<std::size_t>(n));
        const std::size_t end = m_request.find("\r\n\r\n", searched);
        if (end != std::string::npos && end + 4 <= kMaxUpgradeRequestBytes) {
            answer_request(end + 4, now);
            return;
        }
        if (m_request.size() > kMaxUpgradeRequestBytes) {
            log::debug(kLog, "connection " + std::to_string(id()) + ": upgrade request too large");
            m_state = State::done;
            return;
        }
    } while (m_tls && SSL_pending(m_tls) > 0);
}

void Connection::answer_request(std::size_t head_end, TimePoint now) {
    if (auto blob = parse_blob_request(std::string_view(m_request).substr(0, head_end))) {
        answer_blob(*blob, head_end, now);
        return;
    }
    auto answer = upgrade_answer(std::string_view(m_request).substr(0, head_end));
    const auto* begin = reinterpret_cast<const std::uint8_t*>(answer.response.data());
    queue(std::make_shared<const Bytes>(begin, begin + answer.response.size()), false);
    if (!answer.upgraded) {
        // Answered (400, 404 or /healthz); close once it is written.
        m_state = State::closing;
        m_close_deadline = now + m_options.close_linger;
        m_request.clear();
        flush();
        return;
    }
    m_state = State::open;
    m_last_received = now;
    // Bytes of a client that did not wait for the 101.
    const std::string early = m_request.substr(head_end);
    m_request.clear();
    m_request.shrink_to_fit();
    if (early.empty()) {
        flush();
        return;
    }
    const auto* e = reinterpret_cast<const std::uint8_t*>(early.data());
    on_input(std::span<const std::uint8_t>(e, early.size()), now);
}

void Connection::answer_http(int status, std::string_view body, TimePoint now) {
    const std::string answer = blob_answer(status, body);
    const auto* begin = reinterpret_cast<const std::uint8_t*>(answer.data());
    queue(std::make_shared<const Bytes>(begin, begin + answer.size()), false);
    m_upload.reset(); // an unfinished upload leaves nothing behind
    m_state = State::closing;
    m_close_deadline = now + m_options.close_linger;
    m_request.clear();
    m_request.shrink_to_fit();
    flush();
}

void Connection::answer_blob(const BlobRequest& request, std::size_t head_end, TimePoint now) {
    if (!m_service.blobs() || !BlobStore::valid_id(request.blob_id)) {
        answer_http(404, not_found_body(request), now);
        return;
    }
    switch (request.method) {
    case BlobRequest::Method::put: begin_upload(request, head_end, now); return;
    case BlobRequest::Method::get:
    case BlobRequest::Method::head: begin_download(request, now); return;
    case BlobRequest::Method::other: answer_http(405, "method not allowed\n", now); return;
    }
}

// The checks that need no body come first, so that a refused upload is answered before the
// client sends it: length (411, 400, 413), then the ticket (401, 400, 409).
void Connection::begin_upload(const BlobRequest& request, std::size_t head_end, TimePoint now) {
    BlobStore& blobs = *m_service.blobs();
    if (request.chunked || (!request.content_length && !request.bad_length)) {
        answer_http(411, "an upload needs a Content-Length and no Transfer-Encoding\n", now);
        return;
    }
    if (request.bad_length) {
        answer_http(400, "malformed Content-Length\n", now);
        return;
    }
    const std::uint64_t length = *request.content_length;
    if (length > blobs.max_bytes()) {
        answer_http(413, "larger than this relay accepts\n", now);
        return;
    }
    switch (blobs.claim(request.blob_id, request.token, length)) {
    case BlobStore::Claim::unauthorized:
        log::debug(kLog, "connection " + std::to_string(id()) + ": upload refused (token)");
        answer_http(401, "missing, unknown, used or expired upload token\n", now);
        return;
    case BlobStore::Claim::wrong_size:
        answer_http(400, "Content-Length differs from the ticket's size\n", now);
        return;
    case BlobStore::Claim::exists: answer_http(409, "the blob exists already\n", now); return;
    case BlobStore::Claim::accepted: break;
    }
    auto upload = blobs.begin_upload(request.blob_id);
    if (!upload) {
        answer_http(500, "the relay cannot store files now\n", now);
        return;
    }
    m_upload.emplace(std::move(upload.value()));
    m_body_left = length;
    m_body_deadline = now + m_options.frame_timeout;
    m_transfer_deadline = transfer_deadline(length, now);
    m_state = State::http_body;
    if (request.expect_continue) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        const auto* b = reinterpret_cast<const std::uint8_t*>(kContinue.data());
        queue(std::make_shared<const Bytes>(b, b + kContinue.size()), false);
    }
    // Body bytes that came with the head.
    const std::string early = m_request.substr(head_end);
    m_request.clear();
    m_request.shrink_to_fit();
    const auto* e = reinterpret_cast<const std::uint8_t*>(early.data());
    consume_body(std::span<const std::uint8_t>(e, early.size()), now);
    if (m_state == State::http_body)
        flush();
}

void Connection::consume_body(std::span<const std::uint8_t> bytes, TimePoint now) {
    if (m_state != State::http_body)
        return;
    // Bytes past Content-Length are not the upload's; the connection closes after the answer.
    const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), m_body_left));
    if (take > 0) {
        if (auto written = m_upload->write(bytes.first(take)); !written) {
            if (m_upload->disk_full())
                answer_http(507, "the relay's disk is full\n", now);
            else
                answer_http(500, "the relay cannot store files now\n", now);
            return;
        }
        m_body_left -= take;
        m_body_deadline = now + m_options.frame_timeout;
    }
    if (m_body_left == 0)
        finish_upload(now);
}

void Connection::finish_upload(TimePoint now) {
    auto stored = m_service.blobs()->finish(*m_upload);
    if (stored) {
        log::debug(kLog, "connection " + std::to_string(id()) + ": blob stored, " +
                             std::to_string(m_upload->written()) + " bytes");
        answer_http(201, "stored\n", now);
    } else if (stored.error().code == Errc::already_exists) {
        answer_http(409, "the blob exists already\n", now);
    } else if (m_upload->disk_full()) {
        answer_http(507, "the relay's disk is full\n", now);
    } else {
        answer_http(500, "the relay cannot store files now\n", now);
    }
}

void Connection::read_body(std::span<std::uint8_t> scratch, TimePoint now) {
    do {
        int n = 0;
        if (m_tls) {
            ERR_clear_error();
            n = SSL_read(m_tls, scratch.data(), static_cast<int>(scratch.size()));
            if (n <= 0) {
                tls_read_failed(n);
                return;
            }
        } else {
            const ssize_t got = ::recv(m_fd, scratch.data(), scratch.size(), 0);
            if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                return;
            if (got <= 0) {
                m_state = State::done; // the client gave up; the temp file goes with m_upload
                return;
            }
            n = static_cast<int>(got);
        }
        consume_body(scratch.first(static_cast<std::size_t>(n)), now);
    } while (m_state == State::http_body && m_tls && SSL_pending(m_tls) > 0);
}

Connection::TimePoint Connection::transfer_deadline(std::uint64_t bytes, TimePoint now) const {
    const auto rate = std::max<std::uint64_t>(1, m_options.min_transfer_bytes_per_second);
    return now + m_options.frame_timeout + std::chrono::milliseconds(bytes * 1000 / rate);
}

void Connection::begin_download(const BlobRequest& request, TimePoint now) {
    auto file = m_service.blobs()->open_blob(request.blob_id);
    if (!file) {
        if (file.error().code == Errc::not_found)
            answer_http(404, not_found_body(request), now);
        else
            answer_http(500, "the relay cannot read files now\n", now);
        return;
    }
    const std::string head = blob_found_head(file->size);
    const auto* b = reinterpret_cast<const std::uint8_t*>(head.data());
    queue(std::make_shared<const Bytes>(b, b + head.size()), false);
    m_request.clear();
    m_request.shrink_to_fit();
    if (request.method == BlobRequest::Method::head || file->size == 0) {
        ::close(file->fd);
        m_state = State::closing;
        m_close_deadline = now + m_options.close_linger;
        flush();
        return;
    }
    m_blob_fd = file->fd;
    m_blob_offset = 0;
    m_blob_left = file->size;
    m_body_deadline = now + m_options.frame_timeout;
    m_transfer_deadline = transfer_deadline(file->size, now);
    m_state = State::http_stream;
    flush();
}

bool Connection::stream_chunk() {
    if (m_blob_left == 0) {
        ::close(m_blob_fd);
        m_blob_fd = -1;
        m_state = State::closing;
        m_close_deadline = Clock::now() + m_options.close_linger;
        return false;
    }
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(m_blob_left, kBlobChunk));
    auto chunk = std::make_shared<Bytes>(want);
    const ssize_t got = ::pread(m_blob_fd, chunk->data(), want, static_cast<off_t>(m_blob_offset));
    if (got <= 0) {
        // The file shrank or failed under us: the promised length cannot be kept.
        log::warn(kLog, "connection " + std::to_string(id()) + ": reading a blob failed");
        m_state = State::done;
        return false;
    }
    chunk->resize(static_cast<std::size_t>(got));
    m_blob_offset += static_cast<std::uint64_t>(got);
    m_blob_left -= static_cast<std::uint64_t>(got);
    queue(std::move(chunk), false);
    return true;
}

void Connection::tls_read(std::span<std::uint8_t> scratch, TimePoint now) {
    if (m_tls_write_wants_read)
        flush();
    // Bytes OpenSSL already holds are read at once: epoll does not report them again.
    do {
        if (m_state == State::done)
            return;
        ERR_clear_error();
        const int n = SSL_read(m_tls, scratch.data(), static_cast<int>(scratch.size()));
        if (n <= 0) {
            tls_read_failed(n);
            return;
        }
        on_input(scratch.first(static_cast<std::size_t>(n)), now);
    } while (SSL_pending(m_tls) > 0);
}

void Connection::on_input(std::span<const std::uint8_t> bytes, TimePoint now) {
    if (m_state != State::open)
        return; // after a close frame, input is read only to reach the peer's EOF
    m_last_received = now;
    m_ping_sent = false;

    std::vector<ws::Event> events;
    auto fed = m_decoder.feed(bytes, events);
    bool completed_message = false;
    for (auto& event : events) {
        if (m_state != State::open)
            break;
        completed_message |= event.opcode == ws::Opcode::binary || event.opcode == ws::Opcode::text;
        handle(event, now);
    }
    if (!fed && m_state == State::open) {
        const auto* violation = m_decoder.violation();
        start_close(violation->code, violation->reason, now);
    }
    note_frame_progress(completed_message, now);
    flush();
    // Responses are never dropped; a client that does not read them is simply no longer read
    // from until half of them are written (flush() resumes reading).
    if (m_state == State::open && m_out_bytes > m_options.max_outgoing_bytes)
        m_reading_paused = true;
}

// A frame deadline runs from the moment a frame (or a fragmented message) began. A read that
// completes a data message and ends inside another frame began that frame itself.
void Connection::note_frame_progress(bool completed_message, TimePoint now) {
    if (!m_decoder.mid_frame())
        m_frame_started.reset();
    else if (!m_frame_started || completed_message)
        m_frame_started = now;
}

void Connection::on_readable(std::span<std::uint8_t> scratch, TimePoint now) {
    if (m_state == State::tls_handshake) {
        tls_handshake();
        if (m_state != State::http_request)
            return;
    }
    if (m_state == State::http_request) {
        read_request(scratch, now);
        return;
    }
    if (m_state == State::http_body) {
        read_body(scratch, now);
        return;
    }
    if (m_tls) {
        tls_read(scratch, now);
        return;
    }
    ssize_t n = ::recv(m_fd, scratch.data(), scratch.size(), 0);
    if (n > 0) {
        on_input(scratch.first(static_cast<std::size_t>(n)), now);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    // EOF or a reset: the peer is gone, whatever was still queued for it.
    m_state = State::done;
}

void Connection::on_writable(TimePoint now) {
    if (m_state == State::tls_handshake) {
        tls_handshake();
        return;
    }
    // A read that needed to write is retried when the socket is next readable.
    m_tls_read_wants_write = false;
    if (m_state == State::http_stream)
        m_body_deadline = now + m_options.frame_timeout; // the client is reading
    flush();
}

void Connection::on_error() {
    m_state = State::done;
}

void Connection::handle(ws::Event& event, TimePoint now) {
    switch (event.opcode) {
    case ws::Opcode::binary: handle_request(event.payload); return;
    case ws::Opcode::text:
        start_close(ws::close_unsupported_data, "binary messages only", now);
        return;
    case ws::Opcode::ping: queue_frame(ws::Opcode::pong, event.payload); return;
    case ws::Opcode::pong: return;
    case ws::Opcode::close: {
        // Echo the peer's code (RFC 6455 section 5.5.1); a close without one gets 1000.
        const std::uint16_t code =
            event.close_code == 1005 ? std::uint16_t{ws::close_normal} : event.close_code;
        start_close(code, "", now);
        return;
    }
    case ws::Opcode::continuation: return; // the decoder never emits it
    }
}

// Sends, acks and group writes may be answered later, from the service's committer; the other
// requests (authentication, prekeys) still run here, on the reactor thread. Their reads (device
// lookups, prekey counts, the drain) use the store's read-only connection and never wait for a
// commit; their writes (registration, prekey uploads and the one-time prekey a bundle fetch
// consumes) share the writer with the committer, so under load they wait for the commit in
// progress, a few milliseconds. Authentication also waits for the sends queued before it to commit
// (RelayService::authenticate).
void Connection::handle_request(std::span<const std::uint8_t> payload) {
    const std::uint64_t seq = m_replies_base + m_replies.size();
    auto answered =
        m_service.handle(m_session, payload, [post = m_post_reply, seq](std::vector<Bytes> frames) {
            post(seq, std::move(frames));
        });
    if (answered && m_replies.empty()) {
        for (auto& response : *answered)
            queue_frame(ws::Opcode::binary, response);
        return;
    }
    const std::size_t waiting = answered ? 0 : payload.size();
    m_replies.push_back(std::move(answered));
    m_reply_request_bytes.push_back(waiting);
    m_awaited_bytes += waiting;
}

void Connection::on_reply(std::uint64_t seq, std::vector<Bytes> frames, TimePoint now) {
    if (seq < m_replies_base || seq - m_replies_base >= m_replies.size())
        return;
    m_replies[seq - m_replies_base] = std::move(frames);
    release_replies();
    if (m_disconnect_pending && m_replies.empty()) {
        m_disconnect_pending = false;
        start_close(ws::close_policy_violation, "device removed", now);
    }
    flush();
}

void Connection::release_replies() {
    while (!m_replies.empty() && m_replies.front()) {
        // After a close frame nothing more may be sent; the answers are dropped.
        if (m_state == State::open)
            for (auto& response : *m_replies.front())
                queue_frame(ws::Opcode::binary, response);
        m_replies.pop_front();
        m_awaited_bytes -= m_reply_request_bytes.front();
        m_reply_request_bytes.pop_front();
        ++m_replies_base;
    }
}

void Connection::push(std::uint64_t delivery_id, const std::shared_ptr<const Bytes>& frame,
                      TimePoint now) {
    if (m_state != State::open || !m_session.authenticated)
        return;
    if (m_session.drain_pending)
        return; // a later page of the drain after authentication will carry it
    if (m_session.track_deliveries) {
        // Relays on one database take delivery ids from blocks of their own, so an id below the
        // drain's last one may well be new: only the ids handed over count.
        if (m_session.was_acked(delivery_id) || !m_session.delivered.insert(delivery_id).second)
            return;
    } else if (delivery_id <= m_session.drained_up_to) {
        return; // the drain after authentication carried it
    }
    if (m_out_push_bytes + frame->size() > m_options.max_outgoing_bytes) {
        // The envelope stays in the mailbox until acked, so closing loses nothing: the client
        // gets it again from the drain when it reconnects.
        log::warn(kLog, "connection " + std::to_string(id()) + " reads too slowly; closing it");
        drop_unstarted();
        start_close(ws::close_policy_violation, "reading too slowly", now);
        flush();
        return;
    }
    queue(frame, true);
    flush();
}

void Connection::push_stored(const std::vector<std::uint64_t>& delivery_ids,
                             const std::vector<std::shared_ptr<const Bytes>>& frames, bool complete,
                             TimePoint now) {
    if (m_state != State::open || !m_session.authenticated || m_session.drain_pending)
        return;
    if (complete && (!m_session.acked.empty() || !m_session.acked_before.empty())) {
        std::unordered_set<std::uint64_t> queued(delivery_ids.begin(), delivery_ids.end());
        std::erase_if(m_session.acked, [&](std::uint64_t id) { return !queued.count(id); });
        std::erase_if(m_session.acked_before, [&](std::uint64_t id) { return !queued.count(id); });
    }
    for (std::size_t i = 0; i < delivery_ids.size() && i < frames.size(); ++i) {
        const std::uint64_t id = delivery_ids[i];
        if (m_session.was_acked(id) || !m_session.delivered.insert(id).second)
            continue;
        if (m_out_push_bytes + frames[i]->size() > m_options.max_outgoing_bytes) {
            // As push(): the envelope stays in the mailbox; the drain brings it after a reconnect.
            log::warn(kLog,
                      "connection " + std::to_string(this->id()) + " reads too slowly; closing it");
            drop_unstarted();
            start_close(ws::close_policy_violation, "reading too slowly", now);
            break;
        }
        queue(frames[i], true);
    }
    flush();
}

void Connection::send_frame(const std::shared_ptr<const Bytes>& frame, TimePoint now) {
    if (m_state != State::open)
        return;
    // Counted with the pushes: the other end of a link must not park unbounded bytes here.
    if (m_out_push_bytes + frame->size() > m_options.max_outgoing_bytes) {
        log::warn(kLog, "connection " + std::to_string(id()) + " reads too slowly; closing it");
        drop_unstarted();
        start_close(ws::close_policy_violation, "reading too slowly", now);
        flush();
        return;
    }
    queue(frame, true);
    flush();
}

void Connection::disconnect(TimePoint now) {
    if (m_state != State::open)
        return;
    // Requests read after the removal are refused by the service (DEVICE_REMOVED); what it
    // answered before, the Ok of a device that removed itself among them, goes out first.
    if (!m_replies.empty()) {
        m_disconnect_pending = true;
        return;
    }
    start_close(ws::close_policy_violation, "device removed", now);
    flush();
}

void Connection::on_timer(TimePoint now) {
    if (m_state == State::tls_handshake || m_state == State::http_request) {
        if (now >= m_upgrade_deadline) {
            log::debug(kLog, "connection " + std::to_string(id()) +
                                 ": the upgrade missed its deadline; connection cut");
            m_state = State::done;
        }
        return;
    }
    if (m_state == State::closing) {
        if (now >= m_close_deadline)
            m_state = State::done;
        return;
    }
    if (m_state == State::http_body && now >= std::min(m_body_deadline, m_transfer_deadline)) {
        log::debug(kLog, "connection " + std::to_string(id()) + ": upload stalled; cut");
        answer_http(
            408, now >= m_body_deadline ? "the upload stalled\n" : "the upload is too slow\n", now);
        return;
    }
    if (m_state == State::http_stream && now >= std::min(m_body_deadline, m_transfer_deadline)) {
        log::debug(kLog, "connection " + std::to_string(id()) + ": download stalled; cut");
        m_state = State::done;
        return;
    }
    if (m_state != State::open)
        return;
    if (m_frame_started && now >= *m_frame_started + m_options.frame_timeout) {
        start_close(ws::close_policy_violation, "frame not completed in time", now);
    } else if (now >= m_last_received + m_options.idle_timeout) {
        start_close(ws::close_going_away, "idle", now);
    } else if (!m_ping_sent && now >= m_last_received + m_options.idle_timeout / 3) {
        queue_frame(ws::Opcode::ping, {});
        m_ping_sent = true;
    }
    flush();
}

void Connection::go_away(TimePoint now) {
    if (m_state == State::tls_handshake || m_state == State::http_request ||
        m_state == State::http_body || m_state == State::http_stream) {
        m_state = State::done; // not a WebSocket: nothing to say goodbye with
        return;
    }
    start_close(ws::close_going_away, "server shutting down", now);
    flush();
}

std::uint32_t Connection::wanted_events() const {
    if (m_state == State::tls_handshake)
        return m_handshake_events;
    std::uint32_t events = 0;
    if (m_state == State::http_request || m_state == State::http_body)
        events |= EPOLLIN;
    if (m_tls_write_wants_read)
        events |= EPOLLIN;
    if (m_tls_read_wants_write)
        events |= EPOLLOUT;
    if (m_state == State::closing ||
        (m_state == State::open && !m_reading_paused && m_replies.size() < kMaxAwaited &&
         m_awaited_bytes < kMaxAwaitedBytes))
        events |= EPOLLIN;
    if (!m_out.empty())
        events |= EPOLLOUT;
    return events;
}

Connection::TimePoint Connection::next_deadline() const {
    if (m_state == State::tls_handshake || m_state == State::http_request)
        return m_upgrade_deadline;
    if (m_state == State::closing)
        return m_close_deadline;
    if (m_state == State::http_body || m_state == State::http_stream)
        return std::min(m_body_deadline, m_transfer_deadline);
    if (m_state != State::open)
        return TimePoint::min();
    TimePoint next = m_ping_sent ? m_last_received + m_options.idle_timeout
                                 : m_last_received + m_options.idle_timeout / 3;
    if (m_frame_started)
        next = std::min(next, *m_frame_started + m_options.frame_timeout);
    return next;
}

void Connection::queue(std::shared_ptr<const Bytes> frame, bool push) {
    m_out_bytes += frame->size();
    if (push)
        m_out_push_bytes += frame->size();
    m_out.push_back(OutFrame{std::move(frame), push});
}

void Connection::queue_frame(ws::Opcode opcode, std::span<const std::uint8_t> payload) {
    queue(std::make_shared<const Bytes>(ws::encode_frame(ws::Role::server, opcode, payload)),
          false);
}

void Connection::start_close(std::uint16_t code, std::string_view reason, TimePoint now) {
    if (m_state != State::open)
        return;
    log::debug(kLog, describe(id(), code, reason));
    queue(std::make_shared<const Bytes>(ws::encode_close(ws::Role::server, code, reason)), false);
    m_state = State::closing;
    m_close_deadline = now + m_options.close_linger;
    m_reading_paused = false;
}

void Connection::drop_unstarted() {
    // A frame an SSL_write has begun must be offered again, whole.
    std::size_t keep = m_out_offset > 0 || m_tls_write_pending ? 1 : 0;
    while (m_out.size() > keep) {
        const OutFrame& last = m_out.back();
        m_out_bytes -= last.bytes->size();
        if (last.push)
            m_out_push_bytes -= last.bytes->size();
        m_out.pop_back();
    }
}

void Connection::consume_written(std::size_t written) {
    std::size_t left = written;
    while (left > 0) {
        const OutFrame& front = m_out.front();
        const std::size_t rest = front.bytes->size() - m_out_offset;
        if (left < rest) {
            m_out_offset += left;
            break;
        }
        left -= rest;
        m_out_bytes -= front.bytes->size();
        if (front.push)
            m_out_push_bytes -= front.bytes->size();
        m_out.pop_front();
        m_out_offset = 0;
    }
}

void Connection::flush() {
    write_out();
    // A blob goes out as the socket takes it: a few chunks queued at a time.
    while (m_state == State::http_stream && m_out_bytes < kBlobChunk * kBlobChunksQueued) {
        const bool more = stream_chunk();
        write_out();
        if (!more)
            break;
    }
    // The drain after authentication comes a page at a time, as the client reads: its memory is
    // bounded by the outgoing queue, not by the mailbox. A page waits for the answers before it
    // (the authentication's among them) to be queued.
    while (m_state == State::open && m_session.drain_pending && m_replies.empty() &&
           m_out_bytes < m_options.max_outgoing_bytes / 2) {
        auto page = m_service.continue_drain(m_session);
        if (page.empty())
            break;
        for (auto& frame : page)
            queue_frame(ws::Opcode::binary, frame);
        write_out();
    }
}

void Connection::write_out() {
    while (m_tls && !m_out.empty() && m_state != State::done) {
        const Bytes& bytes = *m_out.front().bytes;
        ERR_clear_error();
        const int n = SSL_write(m_tls, bytes.data() + m_out_offset,
                                static_cast<int>(bytes.size() - m_out_offset));
        if (n <= 0) {
            switch (SSL_get_error(m_tls, n)) {
            case SSL_ERROR_WANT_WRITE: m_tls_write_pending = true; return;
            case SSL_ERROR_WANT_READ:
                m_tls_write_pending = true;
                m_tls_write_wants_read = true;
                return;
            default:
                ERR_clear_error();
                m_state = State::done;
                return;
            }
        }
        m_tls_write_pending = false;
        m_tls_write_wants_read = false;
        consume_written(static_cast<std::size_t>(n));
    }
    while (!m_out.empty() && m_state != State::done) {
        iovec iov[kMaxIovecs];
        std::size_t count = 0;
        for (std::size_t i = 0; i < m_out.size() && count < kMaxIovecs; ++i, ++count) {
            const Bytes& bytes = *m_out[i].bytes;
            const std::size_t skip = i == 0 ? m_out_offset : 0;
            iov[count].iov_base = const_cast<std::uint8_t*>(bytes.data() + skip);
            iov[count].iov_len = bytes.size() - skip;
        }
        msghdr msg{};
        msg.msg_iov = iov;
        msg.msg_iovlen = count;
        ssize_t written = ::sendmsg(m_fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (written < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return;
            m_state = State::done; // reset or broken pipe: the peer is gone
            return;
        }
        consume_written(static_cast<std::size_t>(written));
    }
    if (m_reading_paused && m_out_bytes <= m_options.max_outgoing_bytes / 2)
        m_reading_paused = false;
    if (m_out.empty() && m_state == State::closing && !m_write_shut) {
        // The close frame is out: send FIN and wait for the peer's EOF (or the linger
        // deadline), so that the peer reads the close frame before the socket goes. Over TLS,
        // close_notify first (best effort; a full socket simply loses it).
        if (m_tls) {
            ERR_clear_error();
            SSL_shutdown(m_tls);
            ERR_clear_error();
        }
        ::shutdown(m_fd, SHUT_WR);
        m_write_shut = true;
    }
}

} // namespace veil::relay::transport
