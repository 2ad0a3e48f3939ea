// The limits and deadlines of the relay's WebSocket transport. The defaults are the product's;
// tests shorten the deadlines through hidden command line options.
#pragma once

#include "protocol/limits.h"

#include <chrono>
#include <cstddef>

namespace veil::relay::transport {

struct TransportOptions {
    // Reactor threads; 0 means one per core (at least one).
    std::size_t reactors = 0;
    // The largest WebSocket message a client may send (one Envelope).
    std::size_t max_message_bytes = protocol::kMaxFrameBytes;
    // Bytes a connection may have waiting to be written. Live pushes beyond it close the
    // connection with 1008 (the envelopes stay in the mailbox); responses beyond it pause
    // reading from that client until half of it is written.
    std::size_t max_outgoing_bytes = 4 * 1024 * 1024;
    // With nothing received for a third of this, the relay pings; for all of it, it closes.
    std::chrono::milliseconds idle_timeout{90'000};
    // A frame, or a fragmented message, must be complete this long after it began.
    std::chrono::milliseconds frame_timeout{10'000};
    // After sending a close frame, how long the relay waits for it to be written and for the
    // peer to close before it drops the socket.
    std::chrono::milliseconds close_linger{5'000};
    // The TLS handshake (on a TLS listener) and the HTTP upgrade request together must be done
    // this long after the connection was accepted.
    std::chrono::milliseconds upgrade_timeout{10'000};
    // A blob upload or download must average at least this many bytes a second (on top of one
    // frame_timeout), so that a client trickling bytes cannot hold a connection for ever.
    std::size_t min_transfer_bytes_per_second = 16 * 1024;
    // At shutdown, how long clients get to receive their going-away close frames.
    std::chrono::milliseconds shutdown_grace{2'000};
};

} // namespace veil::relay::transport
