// The headless verbs of `veil`, for scripts. Each verb opens the profile, runs the engine on a
// Qt event loop until its work is done, and returns an exit code (see ExitCode).
#pragma once

#include "util/secret_bytes.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace veil::tui {

enum ExitCode : int {
    exit_ok = 0,
    exit_failure = 1,     // the action failed; the message says why
    exit_usage = 2,       // bad command line
    exit_profile = 3,     // no profile, wrong passphrase, damaged database
    exit_unreachable = 4, // the relay could not be reached in time
    exit_refused = 5,     // the relay refused (name taken, unknown user, auth failed)
};

struct GlobalOptions {
    std::filesystem::path profile;
    std::string relay_url; // empty: the profile's own
    std::filesystem::path passphrase_file;
    std::filesystem::path log_file; // default: <profile>/veil.log
    int timeout_s = 30;             // for verbs that wait for the relay
};

// Takes VEIL_PASSPHRASE and VEIL_NEW_PASSPHRASE out of the environment, once, first thing in
// main: each value is copied into a SecretBytes held by this module, its bytes in the
// environment are overwritten in place and the variable is unset. Children therefore inherit
// neither, and /proc/PID/environ, which shows the environment block the process started with
// as it now is in memory, shows the names followed by zero bytes instead of the secrets.
void take_secrets_from_environment();
// A secret taken from the environment: nullopt when the variable was not set (it may have been
// set but empty). take_* hands it over, leaving nullopt behind; put_* gives it back.
std::optional<SecretBytes> take_environment_passphrase();
void put_environment_passphrase(std::optional<SecretBytes> passphrase);
const std::optional<SecretBytes>& environment_new_passphrase();

// Reads the passphrase from VEIL_PASSPHRASE (as take_secrets_from_environment kept it),
// --passphrase-file, or (on a terminal) a prompt. confirm asks twice when prompting (for a new
// profile).
bool read_passphrase(const GlobalOptions& options, bool confirm, SecretBytes& out);

int cmd_register(const GlobalOptions& options, const std::string& name,
                 const std::string& device_name = {});
int cmd_contacts_add(const GlobalOptions& options, const std::string& name);
int cmd_contacts_list(const GlobalOptions& options);
// Blocks (or unblocks) name: its messages are dropped unseen and unconfirmed.
int cmd_block(const GlobalOptions& options, const std::string& name, bool blocked);
// Prints the notification setting of the profile: all, sender, none or off (notification.h).
// With word (all|sender|none|off|on) it changes the setting first, then prints it.
int cmd_notify(const GlobalOptions& options, const std::string& word);
int cmd_send(const GlobalOptions& options, const std::string& peer, const std::string& text);
int cmd_receive(const GlobalOptions& options, bool json, int wait_s);
// Prints events (JSON lines with json) until SIGINT or SIGTERM, then exits 0; see
// docs/scripting.md for the shapes.
int cmd_listen(const GlobalOptions& options, bool json);
// Serves the headless verbs as JSON-RPC 2.0 over a Unix socket (default PROFILE/veil.sock)
// until SIGINT or SIGTERM (cli_daemon.cpp).
int cmd_daemon(const GlobalOptions& options, const std::filesystem::path& socket);
int cmd_bot_echo(const GlobalOptions& options);
// Messages of every conversation holding all the words of query, newest first (one JSON line
// each with json); exit 1 when none.
int cmd_search(const GlobalOptions& options, const std::string& query, bool json);

// Everyday messaging (cli_messaging.cpp). ID: a message id as receive --json prints it. to is a
// username, or a group's name or id with group.
int cmd_send_rich(const GlobalOptions& options, const std::string& to, bool group,
                  const std::string& text, const std::vector<std::string>& files,
                  const std::string& reply);
int cmd_react(const GlobalOptions& options, const std::string& id, const std::string& emoji);
int cmd_edit(const GlobalOptions& options, const std::string& id, const std::string& text);
int cmd_delete(const GlobalOptions& options, const std::string& id);
int cmd_resend(const GlobalOptions& options, const std::string& id);
int cmd_timer(const GlobalOptions& options, const std::string& to, bool group,
              const std::string& duration);
int cmd_read(const GlobalOptions& options, const std::string& to, bool group);
int cmd_read_receipts(const GlobalOptions& options, const std::string& word);
int cmd_typing(const GlobalOptions& options, const std::string& to, bool group, bool typing);
// Each person's devices and sessions in a conversation, or (action) restart: new sessions with
// every device of NAME; renew: a new group key with the next message.
int cmd_encryption(const GlobalOptions& options, const std::string& to, bool group,
                   const std::string& action);
// Re-encrypts the profile under a new passphrase (VEIL_NEW_PASSPHRASE, or asked twice).
int cmd_passphrase(const GlobalOptions& options);
// Puts the newest good snapshot in place of a damaged account.db (store/snapshots.cpp).
int cmd_restore_snapshot(const GlobalOptions& options);
// Fetches and decrypts every file of a message into dir (default: the current folder).
int cmd_save(const GlobalOptions& options, const std::string& id, const std::string& dir);
// Prints the safety number (and QR code) of peer; action "mark", "clear" or "accept" first.
int cmd_verify(const GlobalOptions& options, const std::string& peer, const std::string& action,
               bool ascii);

// Devices (cli_devices.cpp). link: this new profile becomes a device of an existing account
// (prints a code and a QR code, waits until another device accepts it); link accept: this
// device adds the one showing code, copying recent history with share_history.
int cmd_link(const GlobalOptions& options, const std::string& device_name, bool ascii_qr);
int cmd_link_accept(const GlobalOptions& options, const std::string& code, bool share_history);
int cmd_devices_list(const GlobalOptions& options);
int cmd_devices_remove(const GlobalOptions& options, const std::string& id);

// Groups. NAME is a group's name, or its id in hex when two groups share a name.
int cmd_group_create(const GlobalOptions& options, const std::string& name,
                     const std::vector<std::string>& members);
// action: "add" or "remove" (members), "promote" or "demote" (one member: admin or not),
// "leave" (no members).
int cmd_group_change(const GlobalOptions& options, const std::string& action,
                     const std::string& name, const std::vector<std::string>& members);
// what: "name", "description" or "avatar" (value: a PNG or JPEG file, empty to remove); sent
// to the members (admins only).
int cmd_group_info(const GlobalOptions& options, const std::string& group, const std::string& what,
                   const std::string& value);
int cmd_group_list(const GlobalOptions& options);
int cmd_group_members(const GlobalOptions& options, const std::string& name);
int cmd_send_group(const GlobalOptions& options, const std::string& name, const std::string& text);

} // namespace veil::tui
