// veil-relay admin: a self-hoster's tools, run on the relay's host as the relay's user.
//
//   veil-relay admin help [COMMAND]
//   veil-relay admin invite create|list|revoke CODE
//   veil-relay admin accounts list
//   veil-relay admin account disable|enable NAME
//   veil-relay admin devices NAME
//   veil-relay admin stats [TOP_N]
//   veil-relay admin purge
//   veil-relay admin backup DEST
//   veil-relay admin restore SRC
//   veil-relay admin audit
// each with --data DIR [--config FILE] (the relay's own options; the rest of them are ignored).
//
// How a command reaches the relay: reads, invites, backup and audit work on the data folder
// directly, beside a running relay (SQLite's WAL and locking keep both consistent). Changes the
// running relay must apply itself (account disable/enable: its sockets close at once; purge: its
// delivery ids and pushes) go through its admin listener (admin_listener.h), found through
// DATA_DIR/admin.address and authorised by DATA_DIR/admin.token, which only the relay's user can
// read; when no relay holds the data folder's lock they change the store directly. restore
// refuses while a relay holds the folder.
//
// Exit codes: 0 done; 1 the command failed (a sentence on stderr; for audit: something stored
// looks like plaintext, each offending record named on stdout); 2 a usage error.
#pragma once

#include "relay_config.h"

namespace veil::relay {

int run_admin(const RelayConfig& config);

} // namespace veil::relay
