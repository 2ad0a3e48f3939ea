// Keeping key material out of core files: every Veil program calls this first thing in main.
#pragma once

namespace veil {

// Sets RLIMIT_CORE to 0 (no core file) and marks the process not dumpable (prctl
// PR_SET_DUMPABLE 0), which also keeps a crash handler such as systemd-coredump or apport from
// capturing its memory and other processes of the same user from attaching to it with ptrace.
// Returns false if either call failed; the program goes on all the same, as there is nothing
// better to do (both calls only ever lower what the process may do, so they do not fail on
// Linux in practice).
bool disable_core_dumps();

} // namespace veil
