#include "cli_help.h"

#include <algorithm>

namespace veil::tui {
namespace {

struct VerbHelp {
    std::vector<std::string> names;
    const char* text;
};

const std::vector<VerbHelp>& verbs() {
    static const std::vector<VerbHelp> all = {
        {{"register"},
         "  register NAME            create a profile and register NAME on the relay (needs "
         "--relay)\n"},
        {{"contacts"},
         "  contacts                 list contacts\n"
         "  contacts add NAME        add a contact\n"},
        {{"block"}, "  block NAME               drop NAME's messages unseen and unconfirmed\n"},
        {{"unblock"}, "  unblock NAME             stop dropping NAME's messages\n"},
        {{"notify"},
         "  notify [all|sender|none|off|on]\n"
         "                           how the interactive apps announce new messages: sender and "
         "text\n"
         "                           (all, the default), sender only, none (just \"New "
         "message\"), or\n"
         "                           off; on turns them back on. Alone: prints the setting\n"},
        {{"send"},
         "  send NAME TEXT           send TEXT to NAME ('-' reads the text from standard input)\n"
         "  send --group GROUP TEXT  send TEXT to every member of GROUP\n"
         "  send NAME [TEXT] --file FILE [--file FILE...] [--reply ID]\n"
         "                           send files (encrypted here, then uploaded; progress on "
         "stderr),\n"
         "                           or a reply quoting message ID (also with --group GROUP)\n"},
        {{"react"},
         "  react ID EMOJI           react to message ID; react --remove ID takes it "
         "back\n"},
        {{"edit"},
         "  edit ID TEXT             change the text of your message ID (within 24 "
         "hours)\n"},
        {{"delete"},
         "  delete ID                delete your message ID for everyone (within 24 "
         "hours)\n"},
        {{"resend"},
         "  resend ID                send again your message ID that expired "
         "undelivered or failed\n"},
        {{"save"},
         "  save ID [DIR]            fetch and decrypt the files of message ID into DIR "
         "(default .),\n"
         "                           never over an existing file; prints each file's "
         "path\n"},
        {{"verify"},
         "  verify NAME [--mark|--clear|--accept] [--ascii]\n"
         "                           NAME's safety number and QR code; --mark: you compared it "
         "and it\n"
         "                           matches; --clear undoes that; --accept: accept NAME's new "
         "key\n"},
        {{"encryption"},
         "  encryption NAME [restart]  NAME's devices and whether a session with each is "
         "held;\n"
         "                           restart: start new sessions with every one of them\n"
         "  encryption --group GROUP [renew]\n"
         "                           the members' devices and who has your group key; renew: "
         "your\n"
         "                           next message carries a new group key\n"},
        {{"passphrase"},
         "  passphrase               re-encrypt the profile under a new passphrase "
         "(VEIL_NEW_PASSPHRASE,\n"
         "                           or asked twice); the current one as for every verb\n"},
        {{"restore-snapshot"},
         "  restore-snapshot         replace a damaged profile database by its newest snapshot "
         "that\n"
         "                           opens and checks whole (one is taken each day); the "
         "damaged\n"
         "                           file is kept aside as account.db.damaged-TIME\n"},
        {{"timer"},
         "  timer NAME DURATION      disappearing messages with NAME: off, 30s, 5m, 1h, "
         "1d, 1w (every\n"
         "                           device deletes them that long after sending); "
         "also --group GROUP\n"},
        {{"read"},
         "  read NAME                mark the conversation read (sends read receipts); "
         "also --group\n"},
        {{"read-receipts"},
         "  read-receipts [on|off]   whether reading sends read receipts "
         "(default on)\n"},
        {{"typing"},
         "  typing NAME|--group G [--stop]\n"
         "                           tell NAME's (or the group's members') online "
         "devices that you\n"
         "                           are typing (or stopped)\n"},
        {{"group"},
         "  group create GROUP [--members A,B,C]\n"
         "                           create a group with you as admin (prints its id)\n"
         "  group add GROUP NAME...  add members (admins only)\n"
         "  group remove GROUP NAME...\n"
         "                           remove members (admins only); they cannot read later "
         "messages\n"
         "  group promote GROUP NAME make NAME an admin (admins only); demote undoes it\n"
         "  group rename GROUP NEW   rename a group (admins only; only members see the name)\n"
         "  group describe GROUP TEXT\n"
         "                           set a group's description (admins only)\n"
         "  group picture GROUP FILE set a group's picture, PNG or JPEG up to 64 KiB ('' "
         "removes it)\n"
         "  group leave GROUP        leave a group\n"
         "  group list               your groups: id, name, member count\n"
         "  group members GROUP      a group's members and admins\n"
         "  (GROUP is a group's name, or its id when two groups share a name)\n"},
        {{"receive"},
         "  receive [--json] [--wait SECONDS]\n"
         "                           print new messages (one JSON line each with --json), ack "
         "them;\n"
         "                           with --wait, keep printing new ones for SECONDS. With "
         "--json,\n"
         "                           changes come as event lines: changed (edits, reactions, "
         "deletions),\n"
         "                           status (delivered, read, expired, failed), typing, "
         "disappeared\n"},
        {{"listen"},
         "  listen [--json]          print new messages and events as they come, until SIGINT "
         "or\n"
         "                           SIGTERM (then exit 0); with --json one JSON object per "
         "line:\n"
         "                           messages as receive --json prints them, and changed, "
         "status,\n"
         "                           typing, disappeared, group, group_warning, identity, "
         "devices and\n"
         "                           read_elsewhere events (see veil(1)). What it printed is "
         "acked\n"},
        {{"daemon"},
         "  daemon [--socket PATH]   keep the profile open and serve requests as JSON-RPC 2.0, "
         "one per\n"
         "                           line, on a Unix socket (default PROFILE/veil.sock, mode "
         "0600):\n"
         "                           send, react, edit, delete, read, search, contacts, groups, "
         "verify,\n"
         "                           typing, subscribe (see veil(1)). Until SIGINT or SIGTERM; "
         "while it\n"
         "                           runs, other verbs on the profile fail with exit 3\n"},
        {{"bot"},
         "  bot echo                 answer every message with an encrypted echo, until "
         "stopped\n"},
        {{"search"},
         "  search [--json] WORDS    messages of every conversation holding all the "
         "words, newest\n"
         "                           first (searched in the encrypted profile; exit 1 "
         "when none)\n"},
        {{"link"},
         "  link [--name NAME] [--ascii]\n"
         "                           make this new profile a device of an existing account: "
         "prints a\n"
         "                           one-time code (and a QR code) to enter on a device of the "
         "account\n"
         "                           (needs --relay); --ascii draws the QR code with plain "
         "characters\n"
         "  link accept CODE [--history]\n"
         "                           add the device showing CODE to your account; --history "
         "copies\n"
         "                           your recent conversations to it, encrypted end to end\n"},
        {{"devices"},
         "  devices                  your account's devices: number, name, added, "
         "last seen\n"
         "  devices remove ID        unlink a device: it can no longer send or "
         "receive\n"},
        {{"help"},
         "  help [VERB]              this help, or the help of one verb (also veil VERB "
         "--help)\n"},
    };
    return all;
}

const char* kOptions = R"(Options:
  --profile DIR            profile folder (default: $VEIL_PROFILE or ~/.local/share/veil/default)
  --relay URL              relay address, ws://HOST:PORT or wss://HOST:PORT, with
                           #sha256:HEX to pin a self-signed certificate (stored in the profile)
  --passphrase-file FILE   read the passphrase from FILE (else $VEIL_PASSPHRASE, else a prompt)
  --log-file FILE          where to log (default: PROFILE/veil.log)
  --timeout SECONDS        how long verbs wait for the relay (default 30)
  --open NAME              interactive: open the conversation with NAME first
  -h, --help               this help
)";

const char* kExitCodes = R"(
Exit codes: 0 ok, 1 failed, 2 usage, 3 profile (missing, wrong passphrase, damaged, or
served by a daemon), 4 relay unreachable, 5 refused by the relay. See veil(1).
)";

} // namespace

std::string usage_text() {
    std::string out = "usage: veil [OPTIONS] [VERB ...]\n\n"
                      "With no verb, opens the interactive terminal app on the profile.\n\n"
                      "Verbs:\n";
    for (const auto& v : verbs())
        out += v.text;
    return out + "\n" + kOptions + kExitCodes;
}

std::optional<std::string> verb_help(const std::string& verb) {
    for (const auto& v : verbs())
        if (std::find(v.names.begin(), v.names.end(), verb) != v.names.end())
            return "usage: veil [OPTIONS] " + verb + " ...\n\n" + v.text + "\n" + kOptions +
                   kExitCodes;
    return std::nullopt;
}

std::vector<std::string> verb_names() {
    std::vector<std::string> out;
    for (const auto& v : verbs())
        out.insert(out.end(), v.names.begin(), v.names.end());
    return out;
}

} // namespace veil::tui
