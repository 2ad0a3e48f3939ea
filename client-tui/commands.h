// Parsing what the person typed on the input line: a message, or a command such as "/add bob".
// A line that starts with "//" is a message that starts with "/". Plain C++.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace veil::tui {

struct Command {
    enum class Kind {
        none,           // an empty or all-blank line: nothing to do
        message,        // argument: the text to send, unchanged
        add,            // argument: the contact's name
        open,           // argument: the contact's name
        full,           // show long messages of the open conversation in full (toggle)
        group_create,   // argument: the group's name; names: its first members
        group_add,      // names: members to add to the open group
        group_remove,   // names: members to remove from the open group
        group_leave,    // leave the open group
        group_members,  // show the open group's members
        group_promote,  // names: one member of the open group to make an admin
        group_demote,   // names: one admin of the open group to make a member
        group_rename,   // argument: the open group's new name (spaces allowed)
        group_describe, // argument: the open group's new description
        group_picture,  // argument: the path of the open group's new picture; empty: remove it
        devices,        // list this account's devices
        device_remove,  // argument: the device number to unlink
        link,           // argument: the code another device shows; history: copy conversations
        search,         // argument: the words to look for in every conversation, as typed
        block,          // argument: the name to block (their messages are dropped unseen)
        unblock,        // argument: the name to unblock
        blocked,        // list the blocked names
        notify,         // argument: all|sender|none|off|on, or empty to show the setting
        // Messages of the open conversation, named by the reference each line shows (#12).
        reply,          // ref; argument: the text of the reply
        react,          // ref; argument: one emoji, or empty to take our reaction back
        edit,           // ref; argument: the new text
        delete_message, // ref: delete one of ours for everyone
        resend,         // ref: send again one of ours that expired undelivered or failed
        timer,          // seconds: the open conversation's disappearing timer (0: off)
        read_receipts,  // argument: on|off, or empty to show the setting
        verify,         // verify: what to do with the open conversation's safety number
        encryption,     // argument: empty (show who holds keys), restart (1:1) or renew (group)
        file,           // argument: the path of a file to send, as typed
        save,           // ref, index (0-based, -1: the only file); argument: a path or empty
        find,           // argument: words to find in the open conversation's scrollback
        set,            // names: a setting and its value, or the setting alone, or nothing
        keys,           // show the key bindings
        help,
        quit,
        invalid, // argument: a sentence for the status line
    };
    Kind kind = Kind::none;
    std::string argument;
    std::vector<std::string> names;
    bool history = false;      // /link --history
    int ref = 0;               // a message reference as the conversation pane shows it
    int index = -1;            // /save: which file of the message, 0-based; -1 when not given
    std::uint32_t seconds = 0; // /timer
    enum class Verify { show, accept, clear, mark };
    Verify verify = Verify::show;
};

// "off", "30s", "5m", "1h", "1d", "1w" (any count of one unit) as seconds; false otherwise.
bool parse_timer(std::string_view text, std::uint32_t& seconds);

Command parse_command(std::string_view line);

// The lines /help shows.
const char* help_text();

} // namespace veil::tui
