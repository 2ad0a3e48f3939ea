// The relay's log line, one per event, on stdout (where systemd's journal or a container
// runtime collects it):
//
//   2026-12-05T06:10:36.123Z INFO relay.auth event=auth_failed key=value ...
//
// timestamp (UTC, milliseconds), level (DEBUG, INFO, WARN, ERROR), component (the logger's
// subsystem: relay, relay.auth, relay.routing, relay.store, relay.admin, net), then the event:
// messages written as "event=NAME key=value ..." pass as they are; the older sentence-style
// messages become event=note text="...", quoted with \" and \\ escaped and control characters
// dropped, so that every line splits the same way. No message content, key, passphrase or whole
// frame is ever logged, at any level (STYLE.md 8): ids, sizes, counts and reasons only.
#pragma once

#include "util/log.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace veil::relay {

// The sink above, for log::set_sink. Thread-safe; each line is written and flushed whole.
log::Sink relay_log_sink();

// One line in that format (without the newline), for tests and the sink.
std::string format_log_line(std::int64_t unix_ms, log::Level level, std::string_view component,
                            std::string_view message);

} // namespace veil::relay
