// Connection: one client inside a reactor, from the accepted socket on. It owns the socket
// (non-blocking), Veil's strict frame decoder, the client's Session and its outgoing queue, and
// turns socket events into RelayService calls and frames to write.
//
// It first reads the HTTP request head (at most kMaxUpgradeRequestBytes) and answers it
// (upgrade_answer): a valid WebSocket upgrade gets the 101 and frames follow; anything else is
// answered and closed. /v1/blobs/ requests (blob_http.h) move attachments instead: a PUT's body
// is written to the BlobStore's temp file chunk by chunk as it arrives and answered once it is
// durable; a GET's file is read a chunk at a time as the socket takes it, so neither holds more
// than a chunk in memory. A body that makes no progress for TransportOptions::frame_timeout is
// cut (408 for an upload). A connection accepted on a TLS listener does the TLS handshake first
// (non-blocking, over the same fd) and then everything through SSL_read/SSL_write. The handshake
// and the request together must finish within TransportOptions::upgrade_timeout.
//
// Thread: every method runs on the owning reactor's thread; the reactor asks wanted_events()
// and next_deadline() after each call and destroys the connection once finished().
//
// Ordering: responses go out in request order. A send or an ack may be answered later, from the
// service's committer, through the reactor's inbox (on_reply); frames of later requests wait
// behind it. Responses of a handle() call are queued before anything pushed later, and a push
// whose delivery id the drain after authentication already carried (Session::drained_up_to),
// or will carry in a later page (Session::drain_pending), is dropped. Both follow from pushes
// reaching the connection only through the reactor's inbox, after the handle() that may have
// attached the session has returned (authentication is always answered at once, and nothing can be
// awaiting an answer before it).
#pragma once

#include "transport/blob_http.h"
#include "transport/transport_options.h"

#include "core/blob_store.h"

#include "core/relay_service.h"
#include "protocol/ws_codec.h"

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

using SSL = struct ssl_st;

namespace veil::relay::transport {

class Connection {
public:
    using Clock = std::chrono::steady_clock;
    using TimePoint = Clock::time_point;

    // Hands a late answer (the frames for reply number seq) back to the owning reactor, from any
    // thread; the reactor then calls on_reply() if the connection still exists.
    using PostReply = std::function<void(std::uint64_t seq, std::vector<Bytes> frames)>;

    // Takes ownership of fd, which must be a connected, non-blocking stream socket, and of tls,
    // a server TLS session on fd whose handshake has not begun, if the connection is TLS.
    Connection(std::uint64_t id, int fd, RelayService& service, const TransportOptions& options,
               PostReply post_reply, TimePoint now, SSL* tls = nullptr);
    ~Connection(); // closes the socket
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    std::uint64_t id() const { return m_session.connection_id; }
    int fd() const { return m_fd; }
    Session& session() { return m_session; }

    // Bytes received for this connection: decoded, handled, answered.
    void on_input(std::span<const std::uint8_t> bytes, TimePoint now);
    // The socket is readable; scratch is the reactor's read buffer.
    void on_readable(std::span<std::uint8_t> scratch, TimePoint now);
    void on_writable(TimePoint now);
    // The socket reported an error or a hang-up.
    void on_error();
    // A Deliver frame (a complete WebSocket frame) pushed by the router.
    void push(std::uint64_t delivery_id, const std::shared_ptr<const Bytes>& frame, TimePoint now);
    // Deliver frames (complete WebSocket frames) read from the mailbox on another relay's
    // wake-up, with their delivery ids (Router::push_stored): those the connection was handed or
    // its device acked (Session::delivered, acked) are skipped, and none while the drain is
    // pending (its pages carry them). complete: the ids are the whole mailbox as read, so acked
    // ids missing from them are committed and forgotten.
    void push_stored(const std::vector<std::uint64_t>& delivery_ids,
                     const std::vector<std::shared_ptr<const Bytes>>& frames, bool complete,
                     TimePoint now);
    // A frame (a complete WebSocket frame) for this connection, authenticated or not, such as
    // a link channel's message. The drain's rules do not apply to it, but the limit on unread
    // pushes does: a connection that lets too many pile up is closed.
    void send_frame(const std::shared_ptr<const Bytes>& frame, TimePoint now);
    // Its device was removed: closes the connection once the answers it awaits are written.
    void disconnect(TimePoint now);
    // The late answer to reply number seq (see PostReply).
    void on_reply(std::uint64_t seq, std::vector<Bytes> frames, TimePoint now);
    // A deadline may have passed.
    void on_timer(TimePoint now);
    // Server shutdown: close with 1001.
    void go_away(TimePoint now);

    bool finished() const { return m_state == State::done; }
    // EPOLLIN/EPOLLOUT as the connection needs them now.
    std::uint32_t wanted_events() const;
    // The next time on_timer() has something to do.
    TimePoint next_deadline() const;

private:
    enum class State {
        tls_handshake, // TLS only: the handshake is under way
        http_request,  // reading the HTTP upgrade request
        http_body,     // reading a blob upload's body into its temp file
        http_stream,   // writing a blob's bytes
        open,          // reading and handling frames
        closing, // a close frame is queued; waiting for it to be written and for the peer's EOF
        done,    // the reactor destroys the connection
    };

    struct OutFrame {
        std::shared_ptr<const Bytes> bytes;
        bool push = false;
    };

    void handle(protocol::ws::Event& event, TimePoint now);
    void handle_request(std::span<const std::uint8_t> payload);
    // Queues the answered replies at the front of m_replies, in order.
    void release_replies();
    void queue(std::shared_ptr<const Bytes> frame, bool push);
    void queue_frame(protocol::ws::Opcode opcode, std::span<const std::uint8_t> payload);
    void start_close(std::uint16_t code, std::string_view reason, TimePoint now);
    // Drops queued frames not yet begun, keeping the one partly written (frames stay whole).
    void drop_unstarted();
    // Writes what is queued, then queues further drain pages while there is room.
    void flush();
    // Writes what is queued, as far as the socket takes it.
    void write_out();
    // Drops `written` bytes from the front of the outgoing queue.
    void consume_written(std::size_t written);
    void tls_handshake();
    void read_request(std::span<std::uint8_t> scratch, TimePoint now);
    void answer_request(std::size_t head_end, TimePoint now);
    // Attachments (blob_http.h).
    void answer_blob(const BlobRequest& request, std::size_t head_end, TimePoint now);
    void begin_upload(const BlobRequest& request, std::size_t head_end, TimePoint now);
    void begin_download(const BlobRequest& request, TimePoint now);
    // When a transfer of bytes begun now must be done (min_transfer_bytes_per_second).
    TimePoint transfer_deadline(std::uint64_t bytes, TimePoint now) const;
    // Queues a complete HTTP answer and closes once it is written.
    void answer_http(int status, std::string_view body, TimePoint now);
    void read_body(std::span<std::uint8_t> scratch, TimePoint now);
    void consume_body(std::span<const std::uint8_t> bytes, TimePoint now);
    void finish_upload(TimePoint now);
    // Queues the blob's next chunk; false when there is none (then the connection closes).
    bool stream_chunk();
    void tls_read(std::span<std::uint8_t> scratch, TimePoint now);
    // Classifies a failed SSL_read: false if the connection is gone.
    bool tls_read_failed(int result);
    void note_frame_progress(bool completed_message, TimePoint now);

    int m_fd;
    Session m_session;
    RelayService& m_service;
    const TransportOptions& m_options;
    protocol::ws::Decoder m_decoder;
    State m_state = State::open;

    PostReply m_post_reply;
    // Answers not yet queued, in request order, from reply number m_replies_base on; an empty
    // entry still awaits its late answer. Empty when every request was answered.
    std::deque<std::optional<std::vector<Bytes>>> m_replies;
    std::uint64_t m_replies_base = 0;
    // The size of the request behind each slot of m_replies while it is unanswered (0 once
    // answered at once), and their sum: reading stops while too much waits on the committer.
    std::deque<std::size_t> m_reply_request_bytes;
    std::size_t m_awaited_bytes = 0;

    std::deque<OutFrame> m_out;
    std::size_t m_out_offset = 0; // bytes of m_out.front() already written
    std::size_t m_out_bytes = 0;
    std::size_t m_out_push_bytes = 0;
    bool m_reading_paused = false;
    bool m_write_shut = false;
    // disconnect() came while answers were awaited: close once they are written.
    bool m_disconnect_pending = false;

    TimePoint m_last_received;
    bool m_ping_sent = false;
    std::optional<TimePoint> m_frame_started;
    TimePoint m_close_deadline;

    SSL* m_tls = nullptr;
    TimePoint m_upgrade_deadline;
    std::uint32_t m_handshake_events = 0x001; // EPOLLIN
    std::string m_request;                    // the upgrade request read so far
    bool m_tls_write_pending = false;         // an SSL_write must be retried with the front frame
    bool m_tls_write_wants_read = false;
    bool m_tls_read_wants_write = false;

    // A blob upload under way (http_body), and a blob being sent (http_stream).
    std::optional<BlobUpload> m_upload;
    std::uint64_t m_body_left = 0;
    TimePoint m_body_deadline;     // the next byte, or the connection is stalled
    TimePoint m_transfer_deadline; // the whole blob, at the slowest rate allowed
    int m_blob_fd = -1;
    std::uint64_t m_blob_offset = 0;
    std::uint64_t m_blob_left = 0;
};

} // namespace veil::relay::transport
