#include "relay_config.h"

#include "redis_wakeups.h"

#include "protocol/envelope_codec.h"

#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/Util/PropertyFileConfiguration.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <set>

namespace veil::relay {
namespace {

Error bad(std::string message) {
    return make_error(Errc::invalid_argument, std::move(message));
}

std::optional<int> parse_days(const std::string& text) {
    int value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < 1 || value > 3650)
        return std::nullopt;
    return value;
}

// A whole number from min to max, or nullopt.
std::optional<std::int64_t> parse_number(const std::string& text, std::int64_t min,
                                         std::int64_t max) {
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max)
        return std::nullopt;
    return value;
}

constexpr std::int64_t kMinLinkTimeoutSeconds = 10;
constexpr std::int64_t kMaxLinkTimeoutSeconds = 86'400;

Status apply_link_timeout(RelayConfig& config, const std::string& text, const std::string& what) {
    auto seconds = parse_number(text, kMinLinkTimeoutSeconds, kMaxLinkTimeoutSeconds);
    if (!seconds)
        return bad(what + " needs a whole number of seconds from " +
                   std::to_string(kMinLinkTimeoutSeconds) + " to " +
                   std::to_string(kMaxLinkTimeoutSeconds));
    config.link_timeout_seconds = *seconds;
    return {};
}

constexpr std::int64_t kMaxAttachmentMib = 4096;

Status apply_attachment_limit(RelayConfig& config, const std::string& text,
                              const std::string& what) {
    auto mib = parse_number(text, 1, kMaxAttachmentMib);
    if (!mib)
        return bad(what + " needs a whole number of MiB from 1 to " +
                   std::to_string(kMaxAttachmentMib));
    config.max_attachment_mib = *mib;
    return {};
}

struct HiddenOption {
    const char* name;
    std::int64_t RelayConfig::*field;
    std::int64_t min;
    std::int64_t max;
};

constexpr HiddenOption kHidden[] = {
    {"--upgrade-timeout-ms", &RelayConfig::upgrade_timeout_ms, 1, 3'600'000},
    {"--frame-timeout-ms", &RelayConfig::frame_timeout_ms, 1, 3'600'000},
    {"--min-transfer-rate", &RelayConfig::min_transfer_rate, 1, 1LL << 30},
    {"--idle-timeout-ms", &RelayConfig::idle_timeout_ms, 3, 86'400'000},
    {"--max-outgoing-bytes", &RelayConfig::max_outgoing_bytes, 1024, 1LL << 32},
    {"--reactors", &RelayConfig::reactors, 1, 256},
    {"--group-commit", &RelayConfig::group_commit, 0, 1},
    {"--link-timeout-ms", &RelayConfig::link_timeout_ms, 1, 86'400'000},
    {"--retention-ms", &RelayConfig::retention_ms, 1, 86'400'000},
    {"--purge-interval-ms", &RelayConfig::purge_interval_ms, 10, 600'000},
    {"--metrics-cache-ms", &RelayConfig::metrics_cache_ms, 0, 600'000},
};

// Rate limits and quotas: the same name in the file (limit) and on the command line (--limit
// with '-' for '_').
struct LimitOption {
    const char* key;
    std::int64_t RelayConfig::*field;
};

constexpr LimitOption kLimits[] = {
    {"rate_account_per_second", &RelayConfig::rate_account_per_second},
    {"rate_account_burst", &RelayConfig::rate_account_burst},
    {"rate_auth_per_second", &RelayConfig::rate_auth_per_second},
    {"rate_auth_burst", &RelayConfig::rate_auth_burst},
    {"rate_connect_per_second", &RelayConfig::rate_connect_per_second},
    {"rate_connect_burst", &RelayConfig::rate_connect_burst},
    {"quota_queued_per_device", &RelayConfig::quota_queued_per_device},
    {"quota_queued_per_sender", &RelayConfig::quota_queued_per_sender},
};
constexpr std::int64_t kMaxLimit = 1'000'000'000;

std::string flag_of(const char* key) {
    std::string flag = std::string("--") + key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    return flag;
}

const LimitOption* find_limit(const std::string& arg) {
    for (const auto& option : kLimits)
        if (arg == flag_of(option.key))
            return &option;
    return nullptr;
}

Status apply_limit(RelayConfig& config, const LimitOption& option, const std::string& text,
                   const std::string& what) {
    auto n = parse_number(text, 0, kMaxLimit);
    if (!n)
        return bad(what + " needs a whole number from 0 (off) to " + std::to_string(kMaxLimit));
    config.*(option.field) = *n;
    return {};
}

void no_limits(RelayConfig& config) {
    for (const auto& option : kLimits)
        config.*(option.field) = 0;
}

const HiddenOption* find_hidden(const std::string& arg) {
    for (const auto& option : kHidden)
        if (arg == option.name)
            return &option;
    return nullptr;
}

Status apply_level(RelayConfig& config, const std::string& name) {
    auto level = log::parse_level(name, log::Level::off);
    if (level == log::Level::off && name != "off")
        return bad("unknown log level '" + name + "' (use debug, info, warn or error)");
    config.log_level = level;
    return {};
}

Status apply_durability(RelayConfig& config, const std::string& name) {
    if (name == "full")
        config.durability = Durability::full;
    else if (name == "normal")
        config.durability = Durability::normal;
    else
        return bad("unknown durability '" + name + "' (use full or normal)");
    return {};
}

Status apply_tls(RelayConfig& config, const std::string& mode) {
    if (mode != "off" && mode != "auto")
        return bad("unknown tls mode '" + mode + "' (use off or auto)");
    config.tls_auto = mode == "auto";
    return {};
}

// The Redis poll intervals: the same name in the file and on the command line, as limits.
struct PollOption {
    const char* key;
    std::int64_t RelayConfig::*field;
    std::int64_t min;
};

constexpr PollOption kRedisPolls[] = {
    {"redis_poll_ms", &RelayConfig::redis_poll_ms, 50},
    {"redis_idle_poll_ms", &RelayConfig::redis_idle_poll_ms, 0},
    {"redis_backoff_max_ms", &RelayConfig::redis_backoff_max_ms, 50},
};
constexpr std::int64_t kMaxPollMs = 3'600'000;

const PollOption* find_poll(const std::string& arg) {
    for (const auto& option : kRedisPolls)
        if (arg == flag_of(option.key))
            return &option;
    return nullptr;
}

Status apply_poll(RelayConfig& config, const PollOption& option, const std::string& text,
                  const std::string& what) {
    auto n = parse_number(text, option.min, kMaxPollMs);
    if (!n)
        return bad(what + " needs a whole number of milliseconds from " +
                   std::to_string(option.min) + " to " + std::to_string(kMaxPollMs));
    config.*(option.field) = *n;
    return {};
}

// The keys a config file may hold; anything else is a typo that would silently leave a setting
// at its default (an "invite_onyl = true" relay open to everyone).
bool known_key(const std::string& key) {
    static const std::set<std::string> kKeys = {"listen",
                                                "data",
                                                "store",
                                                "invite_only",
                                                "tls",
                                                "tls_cert",
                                                "tls_key",
                                                "admin_listen",
                                                "rate_limit_loopback",
                                                "retention_days",
                                                "link_timeout_seconds",
                                                "max_attachment_mib",
                                                "log_level",
                                                "durability",
                                                "redis",
                                                "redis_poll_ms",
                                                "redis_idle_poll_ms",
                                                "redis_backoff_max_ms"};
    if (kKeys.count(key))
        return true;
    for (const auto& option : kLimits)
        if (key == option.key)
            return true;
    return false;
}

Status apply_file(RelayConfig& config, const std::string& path) {
    try {
        Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> file(
            new Poco::Util::PropertyFileConfiguration(path));
        Poco::Util::AbstractConfiguration::Keys keys;
        file->keys(keys);
        for (const auto& key : keys)
            if (!known_key(key))
                return bad("unknown setting \"" + key + "\" in " + path +
                           " (a typo? the settings are listed in the packaged relay.conf and in "
                           "docs/self-hosting.md)");
        config.listen = file->getString("listen", config.listen);
        config.data_dir = file->getString("data", config.data_dir);
        config.store = file->getString("store", config.store);
        config.redis = file->getString("redis", config.redis);
        for (const auto& option : kRedisPolls)
            if (file->hasProperty(option.key))
                VEIL_TRY(apply_poll(config, option, file->getString(option.key),
                                    std::string(option.key) + " in " + path));
        config.invite_only = file->getBool("invite_only", config.invite_only);
        config.tls_cert = file->getString("tls_cert", config.tls_cert);
        config.tls_key = file->getString("tls_key", config.tls_key);
        config.admin_listen = file->getString("admin_listen", config.admin_listen);
        config.rate_limit_loopback =
            file->getBool("rate_limit_loopback", config.rate_limit_loopback);
        for (const auto& option : kLimits)
            if (file->hasProperty(option.key))
                VEIL_TRY(apply_limit(config, option, file->getString(option.key),
                                     std::string(option.key) + " in " + path));
        if (file->hasProperty("retention_days")) {
            auto days = parse_days(file->getString("retention_days"));
            if (!days)
                return bad("retention_days in " + path + " must be a whole number of days");
            config.retention_days = *days;
        }
        if (file->hasProperty("link_timeout_seconds"))
            VEIL_TRY(apply_link_timeout(config, file->getString("link_timeout_seconds"),
                                        "link_timeout_seconds in " + path));
        if (file->hasProperty("max_attachment_mib"))
            VEIL_TRY(apply_attachment_limit(config, file->getString("max_attachment_mib"),
                                            "max_attachment_mib in " + path));
        if (file->hasProperty("tls"))
            VEIL_TRY(apply_tls(config, file->getString("tls")));
        if (file->hasProperty("log_level"))
            VEIL_TRY(apply_level(config, file->getString("log_level")));
        if (file->hasProperty("durability"))
            VEIL_TRY(apply_durability(config, file->getString("durability")));
        return {};
    } catch (const Poco::Exception& e) {
        return bad("cannot read the config file " + path + ": " + e.displayText());
    }
}

// Finds --config first, so that the command line overrides the file whatever the order.
Result<std::optional<std::string>> find_config_file(const std::vector<std::string>& args) {
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] != "--config")
            continue;
        if (i + 1 >= args.size())
            return bad("--config needs a file name");
        return std::optional<std::string>(args[i + 1]);
    }
    return std::optional<std::string>{};
}

} // namespace

Result<StoreLocation> parse_store(const std::string& text, const std::string& data_dir) {
    if (text == "sqlite")
        return StoreLocation{StoreLocation::Kind::sqlite, data_dir};
    if (text.rfind("sqlite:", 0) == 0)
        return StoreLocation{StoreLocation::Kind::sqlite, text.substr(7)};
    if (text.rfind("postgresql://", 0) == 0 || text.rfind("postgres://", 0) == 0 ||
        text.find('=') != std::string::npos)
        return StoreLocation{StoreLocation::Kind::postgresql, text};
    // The setting is not repeated: a mistyped connection string may hold a password.
    return bad("unknown store setting (use sqlite, or a PostgreSQL database as "
               "postgresql://USER@HOST:PORT/DB)");
}

const char* usage() {
    return "usage: veil-relay --listen HOST:PORT --data DIR [--config FILE] [--invite-only]\n"
           "                  [--retention-days N] [--durability full|normal]\n"
           "                  [--log-level debug|info|warn|error]\n"
           "                  [--tls-cert FILE --tls-key FILE] [--tls off|auto]\n"
           "                  [--link-timeout-seconds N] [--max-attachment-mib N]\n"
           "                  [--admin-listen HOST:PORT|none]\n"
           "                  [--store sqlite|postgresql://USER@HOST:PORT/DB]\n"
           "                  [--redis redis://HOST:PORT [--redis-poll-ms N]\n"
           "                   [--redis-idle-poll-ms N] [--redis-backoff-max-ms N]]\n"
           "       veil-relay invite create --data DIR [--config FILE] [--store STORE]\n"
           "       veil-relay admin help | COMMAND ... --data DIR [--config FILE] [--store STORE]\n"
           "       veil-relay account delete NAME --data DIR [--config FILE] [--store STORE]\n"
           "       veil-relay tls fingerprint --data DIR [--config FILE]\n"
           "       veil-relay migrate --from sqlite:DIR --to postgresql://USER@HOST:PORT/DB\n"
           "                  [--replace-target]\n"
           "\n"
           "  --tls auto                serve wss:// with tls-cert/tls-key, or without them with\n"
           "                            a self-signed certificate made once in DATA/tls/\n"
           "  tls fingerprint           print the SHA-256 of the certificate in use, the pin\n"
           "                            clients add to the relay URL: wss://HOST:PORT#sha256:HEX\n"
           "  --store STORE             where accounts, keys and mailboxes live: sqlite (the\n"
           "                            default, DATA_DIR/relay.db) or a PostgreSQL database as a\n"
           "                            libpq URI or key=value string; blobs stay in DATA_DIR\n"
           "  --redis URL               several relays on one PostgreSQL store wake each other's\n"
           "                            clients through this Redis (PostgreSQL stores only);\n"
           "                            without Redis they poll every --redis-poll-ms (1000)\n"
           "                            and retry it after at most --redis-backoff-max-ms (5000)\n"
           "  --link-timeout-seconds N  seconds a new device's link code can be used\n"
           "                            (10 to 86400, default 600)\n"
           "  --max-attachment-mib N    the largest attachment the relay stores, in MiB\n"
           "                            (1 to 4096, default 100)\n"
           "  --no-limits               no rate limits or queue quotas (see relay_config.h\n"
           "                            and relay.conf.example for each one's option)\n"
           "  --admin-listen HOST:PORT  serve /healthz, /metrics and the admin commands of a\n"
           "                            running relay there (default none: off); loopback only\n"
           "\n"
           "  account delete NAME       with the relay stopped: delete NAME's account, devices,\n"
           "                            keys and waiting messages, so that the name can be\n"
           "                            registered again (a person who lost every device);\n"
           "                            their contacts see that their safety number changed\n"
           "  migrate                   with the relay stopped: copy its SQLite store (DIR is\n"
           "                            its data folder) into an empty PostgreSQL database,\n"
           "                            then start the relay with --store set to that database;\n"
           "                            --replace-target empties a target that holds data\n";
}

Result<RelayConfig> parse_config(const std::vector<std::string>& args) {
    RelayConfig config;
    std::size_t i = 0;
    if (args.size() >= 2 && args[0] == "invite" && args[1] == "create") {
        config.command = RelayConfig::Command::invite_create;
        i = 2;
    } else if (!args.empty() && args[0] == "migrate") {
        config.command = RelayConfig::Command::migrate;
        i = 1;
    } else if (args.size() >= 2 && args[0] == "account" && args[1] == "delete") {
        if (args.size() < 3 || !protocol::valid_username(args[2]))
            return bad("account delete needs the username of an account");
        config.command = RelayConfig::Command::account_delete;
        config.account = args[2];
        i = 3;
    } else if (args.size() >= 2 && args[0] == "tls" && args[1] == "fingerprint") {
        config.command = RelayConfig::Command::tls_fingerprint;
        i = 2;
    } else if (!args.empty() && args[0] == "admin") {
        // The command's own words come first, up to the first option.
        config.command = RelayConfig::Command::admin;
        for (i = 1; i < args.size() && args[i].rfind("--", 0) != 0; ++i)
            config.admin_args.push_back(args[i]);
    }

    auto file = find_config_file(args);
    if (!file)
        return file.error();
    if (*file)
        VEIL_TRY(apply_file(config, **file));

    for (; i < args.size(); ++i) {
        const std::string& arg = args[i];
        auto value = [&]() -> std::optional<std::string> {
            if (i + 1 >= args.size())
                return std::nullopt;
            return args[++i];
        };
        if (arg == "--help" || arg == "-h") {
            config.command = RelayConfig::Command::help;
        } else if (arg == "--invite-only") {
            config.invite_only = true;
        } else if (arg == "--rate-limit-loopback") {
            config.rate_limit_loopback = true;
        } else if (arg == "--no-limits") {
            no_limits(config);
        } else if (const LimitOption* limit = find_limit(arg)) {
            auto v = value();
            if (!v)
                return bad(arg + " needs a value");
            VEIL_TRY(apply_limit(config, *limit, *v, arg));
        } else if (const PollOption* poll = find_poll(arg)) {
            auto v = value();
            if (!v)
                return bad(arg + " needs a value");
            VEIL_TRY(apply_poll(config, *poll, *v, arg));
        } else if (arg == "--replace-target" && config.command == RelayConfig::Command::migrate) {
            config.replace_target = true;
        } else if ((arg == "--from" || arg == "--to") &&
                   config.command == RelayConfig::Command::migrate) {
            auto v = value();
            if (!v)
                return bad(arg + " needs a value");
            (arg == "--from" ? config.migrate_from : config.migrate_to) = *v;
        } else if (arg == "--listen" || arg == "--data" || arg == "--config" ||
                   arg == "--log-level" || arg == "--retention-days" || arg == "--durability" ||
                   arg == "--tls-cert" || arg == "--tls-key" || arg == "--link-timeout-seconds" ||
                   arg == "--max-attachment-mib" || arg == "--tls" || arg == "--admin-listen" ||
                   arg == "--store" || arg == "--redis") {
            auto v = value();
            if (!v)
                return bad(arg + " needs a value");
            if (arg == "--listen")
                config.listen = *v;
            else if (arg == "--data")
                config.data_dir = *v;
            else if (arg == "--admin-listen")
                config.admin_listen = *v;
            else if (arg == "--store")
                config.store = *v;
            else if (arg == "--redis")
                config.redis = *v;
            else if (arg == "--tls-cert")
                config.tls_cert = *v;
            else if (arg == "--tls-key")
                config.tls_key = *v;
            else if (arg == "--log-level")
                VEIL_TRY(apply_level(config, *v));
            else if (arg == "--tls")
                VEIL_TRY(apply_tls(config, *v));
            else if (arg == "--durability")
                VEIL_TRY(apply_durability(config, *v));
            else if (arg == "--link-timeout-seconds")
                VEIL_TRY(apply_link_timeout(config, *v, arg));
            else if (arg == "--max-attachment-mib")
                VEIL_TRY(apply_attachment_limit(config, *v, arg));
            else if (arg == "--retention-days") {
                auto days = parse_days(*v);
                if (!days)
                    return bad("--retention-days needs a whole number of days from 1 to 3650");
                config.retention_days = *days;
            }
        } else if (const HiddenOption* option = find_hidden(arg)) {
            auto v = value();
            auto number = v ? parse_number(*v, option->min, option->max) : std::nullopt;
            if (!number)
                return bad(arg + " needs a whole number from " + std::to_string(option->min) +
                           " to " + std::to_string(option->max));
            config.*(option->field) = *number;
        } else {
            return bad("unknown argument '" + arg + "'");
        }
    }
    if (config.command == RelayConfig::Command::migrate) {
        auto from = parse_store(config.migrate_from, {});
        auto to = parse_store(config.migrate_to, {});
        if (config.migrate_from.empty() || !from || from->kind != StoreLocation::Kind::sqlite ||
            from->where.empty())
            return bad("migrate needs --from sqlite:DIR, the data folder of the relay to move");
        if (!to || to->kind != StoreLocation::Kind::postgresql)
            return bad("migrate needs --to and a PostgreSQL database "
                       "(postgresql://USER@HOST:PORT/DB)");
        return config;
    }
    // admin checks its own arguments (admin help needs no data folder).
    if (config.command != RelayConfig::Command::help &&
        config.command != RelayConfig::Command::admin && config.data_dir.empty())
        return bad("--data DIR is required");
    auto store = parse_store(config.store, config.data_dir);
    if (!store)
        return store.error();
    if (!config.redis.empty()) {
        if (store->kind != StoreLocation::Kind::postgresql)
            return bad("redis needs a PostgreSQL store (--store postgresql://...): relays share "
                       "mailboxes only through a PostgreSQL database, and a SQLite relay is alone "
                       "with its clients");
        if (!RedisWakeups::parse_url(config.redis))
            return bad("redis needs redis://HOST:PORT, such as redis://127.0.0.1:6379");
    }
    if (config.tls_cert.empty() != config.tls_key.empty())
        return bad("tls_cert and tls_key go together: give both for wss://, or neither");
    return config;
}

} // namespace veil::relay
