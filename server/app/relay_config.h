// The relay's settings, from defaults, then an optional properties file (--config), then the
// command line, each overriding the one before.
//
//   veil-relay --listen HOST:PORT --data DIR [--config FILE] [--invite-only]
//              [--retention-days N] [--log-level debug|info|warn|error]
//   veil-relay invite create --data DIR [--config FILE]
//
// The properties file (Poco::Util's format, "key = value" lines) takes the same keys: listen,
// data, invite_only, retention_days, log_level.
#pragma once

#include "util/log.h"
#include "util/result.h"

#include <string>
#include <vector>

namespace veil::relay {

struct RelayConfig {
    enum class Command { serve, invite_create, help };

    Command command = Command::serve;
    std::string listen = "127.0.0.1:8443";
    std::string data_dir;
    bool invite_only = false;
    int retention_days = 30;
    log::Level log_level = log::Level::info;
};

// Parses argv (without argv[0]). Errors carry a sentence for the person at the terminal.
Result<RelayConfig> parse_config(const std::vector<std::string>& args);

const char* usage();

} // namespace veil::relay
