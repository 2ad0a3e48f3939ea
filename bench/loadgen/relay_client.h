// RelayClient: one load-generator connection to veil-relay over a non-blocking socket to
// 127.0.0.1. It sends the HTTP upgrade, speaks WebSocket through Veil's own codec (client role,
// masked frames) and carries protobuf envelopes. Right after the upgrade it asks for a
// challenge and either registers its account (device 1, no one-time prekeys) or authenticates
// as it, with a real signature from the Signer.
//
// Thread and lifetime: everything runs on the EventLoop's thread. Listener callbacks run inside
// EventLoop::poll(); a listener may call send(), flush() and close() there but must not destroy
// the client: destroy clients between polls (the loop may still hold an event for them).
#pragma once

#include "loadgen/event_loop.h"
#include "loadgen/signer.h"

#include "protocol/ws_codec.h"
#include "veil.pb.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace veil::bench {

class RelayClient;

class RelayListener {
public:
    virtual ~RelayListener() = default;
    // AuthResult arrived: the connection is authenticated (after a registration too).
    virtual void on_ready(RelayClient& client) = 0;
    // Any envelope after on_ready: responses, Deliver and QueueDrained pushes.
    virtual void on_envelope(RelayClient& client, const wire::Envelope& envelope) = 0;
    // Every envelope of one read has been handed over (a good moment to send batched acks).
    virtual void on_batch_end(RelayClient&) {}
    // The connection ended or failed; why is a short sentence. Called at most once.
    virtual void on_closed(RelayClient& client, std::string_view why) = 0;
};

class RelayClient final : public Pollable {
public:
    enum class Goal { register_account, authenticate };
    enum class State { connecting, upgrading, handshaking, ready, closed };

    // tag is the workload's index for this client. Nothing happens until start().
    RelayClient(EventLoop& loop, std::uint16_t port, Signer& signer, std::string username,
                Goal goal, RelayListener& listener, std::size_t tag);
    ~RelayClient() override;
    RelayClient(const RelayClient&) = delete;
    RelayClient& operator=(const RelayClient&) = delete;

    // Starts the non-blocking connect. False (and closed, without on_closed) if the socket
    // cannot even be created or the connect fails at once.
    bool start();

    // Queues one envelope as a masked binary frame; send() also writes it now.
    void queue(const wire::Envelope& envelope);
    void send(const wire::Envelope& envelope);
    void flush();
    // Ends the connection at once (no close handshake); no on_closed follows.
    void close();

    // Hands the client's callbacks to another listener (a workload taking over from Connector).
    void set_listener(RelayListener& listener) { m_listener = &listener; }
    std::uint64_t next_request_id() { return ++m_last_request_id; }
    State state() const { return m_state; }
    std::size_t tag() const { return m_tag; }
    const std::string& username() const { return m_username; }
    std::size_t unwritten_bytes() const { return m_out.size() - m_out_offset; }

    void on_events(std::uint32_t events) override;

private:
    void on_connected();
    void on_readable();
    void on_upgrade_bytes(std::span<const std::uint8_t> bytes);
    void on_frames(std::span<const std::uint8_t> bytes);
    void on_envelope(const wire::Envelope& envelope);
    void on_challenge(const wire::Envelope& envelope);
    void queue_raw(std::span<const std::uint8_t> bytes);
    void update_interest();
    void fail(std::string_view why);

    EventLoop& m_loop;
    std::uint16_t m_port;
    Signer& m_signer;
    std::string m_username;
    Goal m_goal;
    RelayListener* m_listener;
    std::size_t m_tag;

    int m_fd = -1;
    State m_state = State::connecting;
    std::uint32_t m_interest = 0;
    protocol::ws::Decoder m_decoder;
    std::vector<protocol::ws::Event> m_events;
    std::string m_head; // the upgrade response so far
    Bytes m_out;
    std::size_t m_out_offset = 0;
    std::uint64_t m_last_request_id = 0;
    std::uint32_t m_mask_state;
};

} // namespace veil::bench
