// Crash points: places where a test can make a real veil or veil-relay process die by SIGKILL,
// to check that nothing is lost or doubled by a crash at exactly that place.
//
// A crash point is inert unless the environment variable VEIL_CRASH_AT names it when the process
// starts: VEIL_CRASH_AT=NAME kills the process the first time it reaches NAME,
// VEIL_CRASH_AT=NAME:N the Nth time. Just before the kill one line, "veil: crash point NAME
// reached", goes to stderr, so a test can tell the planned death from any other. Unset, a point
// costs one load of a bool that never changes (read once, before main, from the environment).
//
// The points, in the order a message passes them:
//
//   relay.after_commit    the relay has committed a send (mailbox rows and send log) and has not
//                         answered the sender yet. The sender retries the same id after the
//                         restart: it must be stored and delivered once.
//   store.session_stored  a client's store has written a session record while libsignal
//                         decrypts (inside the decrypt's transaction, nothing committed).
//   client.decrypted      a client has the plaintext of a 1:1 message and has not inserted it
//                         (between the session store and the message insert).
//   client.committed      a client has committed a received message (session, message row,
//                         processed mark) and has not acked it to the relay yet.
//   relay.ack_received    the relay has an ack from a recipient device and has not deleted the
//                         acked deliveries yet: they come again after the restart.
//
// Thread: any. The count is shared by every thread of the process.
#pragma once

#include <string_view>

namespace veil::crash {

namespace detail {
// True when VEIL_CRASH_AT was set at start.
extern const bool g_armed;
void reached(std::string_view point);
} // namespace detail

// Counts a pass through point and kills the process with SIGKILL when VEIL_CRASH_AT names it
// and this is the pass it names. Does nothing (and never returns early) otherwise.
inline void point(std::string_view name) {
    if (detail::g_armed) [[unlikely]]
        detail::reached(name);
}

} // namespace veil::crash
