#include "core/sql_admin.h"

#include "util/hex.h"

namespace veil::relay {
namespace {

// Rows the audit scan reads per query.
constexpr std::int64_t kAuditPage = 1000;

Error failed(const char* what, const std::exception& e) {
    return make_error(Errc::database, std::string(what) + ": " + e.what());
}

} // namespace

std::int64_t SqlAdmin::count(std::string_view sql, SqlParams params) {
    std::int64_t n = 0;
    query(sql, params, [&](const SqlRow& r) {
        n = r.int64(0);
        return false;
    });
    return n;
}

bool SqlAdmin::account_exists(const std::string& username) {
    bool found = false;
    query("SELECT 1 FROM accounts WHERE username = $1", {username}, [&](const SqlRow&) {
        found = true;
        return false;
    });
    return found;
}

Status SqlAdmin::ping() {
    try {
        count("SELECT 1");
        return {};
    } catch (const std::exception& e) {
        return failed("querying the database", e);
    }
}

Result<std::int64_t> SqlAdmin::queued_count() {
    try {
        return count("SELECT count(*) FROM mailbox");
    } catch (const std::exception& e) {
        return failed("counting queued messages", e);
    }
}

Result<std::vector<QueueCount>> SqlAdmin::queue_of(const std::string& username) {
    try {
        std::vector<QueueCount> out;
        query("SELECT d.device_id, m.from_username, count(*) FROM accounts a"
              " JOIN devices d ON d.account_id = a.id JOIN mailbox m ON m.device = d.id"
              " WHERE a.username = $1 GROUP BY d.device_id, m.from_username",
              {username}, [&](const SqlRow& r) {
                  out.push_back(QueueCount{static_cast<std::uint32_t>(r.int64(0)), r.text(1),
                                           static_cast<std::size_t>(r.int64(2))});
                  return true;
              });
        return out;
    } catch (const std::exception& e) {
        return failed("counting a mailbox", e);
    }
}

Result<std::vector<AdminInvite>> SqlAdmin::invites() {
    try {
        std::vector<AdminInvite> out;
        query("SELECT code, created_ms, used_ms FROM invites ORDER BY created_ms", {},
              [&](const SqlRow& r) {
                  AdminInvite invite{r.text(0), r.int64(1), std::nullopt};
                  if (!r.is_null(2))
                      invite.used_ms = r.int64(2);
                  out.push_back(std::move(invite));
                  return true;
              });
        return out;
    } catch (const std::exception& e) {
        return failed("listing invites", e);
    }
}

Status SqlAdmin::revoke_invite(const std::string& code) {
    try {
        if (execute("DELETE FROM invites WHERE code = $1 AND used_ms IS NULL", {code}) == 0)
            return make_error(Errc::not_found, "no unused invite " + code);
        return {};
    } catch (const std::exception& e) {
        return failed("revoking an invite", e);
    }
}

Result<std::vector<AdminAccount>> SqlAdmin::accounts() {
    try {
        std::vector<AdminAccount> out;
        query(
            "SELECT a.username, a.created_ms,"
            " (SELECT count(*) FROM devices d WHERE d.account_id = a.id AND d.removed_ms IS NULL),"
            " (SELECT COALESCE(MAX(d.last_seen_ms), 0) FROM devices d WHERE d.account_id = a.id),"
            " EXISTS (SELECT 1 FROM account_flags f WHERE f.username = a.username)"
            " FROM accounts a ORDER BY a.username",
            {}, [&](const SqlRow& r) {
                out.push_back(AdminAccount{r.text(0), static_cast<std::size_t>(r.int64(2)),
                                           r.int64(1), r.int64(3), r.int64(4) != 0});
                return true;
            });
        return out;
    } catch (const std::exception& e) {
        return failed("listing accounts", e);
    }
}

Result<std::optional<std::vector<AdminDevice>>> SqlAdmin::devices(const std::string& username) {
    try {
        if (!account_exists(username))
            return std::optional<std::vector<AdminDevice>>{};
        std::vector<AdminDevice> out;
        query("SELECT d.device_id, d.created_ms, d.last_seen_ms, d.removed_ms,"
              " (SELECT count(*) FROM mailbox m WHERE m.device = d.id),"
              " (SELECT count(*) FROM one_time_prekeys p WHERE p.device = d.id)"
              " FROM devices d JOIN accounts a ON a.id = d.account_id WHERE a.username = $1"
              " ORDER BY d.device_id",
              {username}, [&](const SqlRow& r) {
                  AdminDevice device;
                  device.device_id = static_cast<std::uint32_t>(r.int64(0));
                  device.created_ms = r.int64(1);
                  device.last_seen_ms = r.int64(2);
                  if (!r.is_null(3))
                      device.removed_ms = r.int64(3);
                  device.queued = static_cast<std::size_t>(r.int64(4));
                  device.one_time_prekeys = static_cast<std::size_t>(r.int64(5));
                  out.push_back(device);
                  return true;
              });
        return std::optional<std::vector<AdminDevice>>(std::move(out));
    } catch (const std::exception& e) {
        return failed("listing devices", e);
    }
}

Status SqlAdmin::set_disabled(const std::string& username, bool disabled, std::int64_t now_ms) {
    try {
        if (!account_exists(username))
            return make_error(Errc::not_found, "no account named " + username);
        if (disabled)
            execute("INSERT INTO account_flags (username, disabled_ms) VALUES ($1, $2)"
                    " ON CONFLICT (username) DO NOTHING",
                    {username, now_ms});
        else
            execute("DELETE FROM account_flags WHERE username = $1", {username});
        return {};
    } catch (const std::exception& e) {
        return failed("changing an account", e);
    }
}

Result<std::vector<std::string>> SqlAdmin::disabled_accounts() {
    try {
        std::vector<std::string> out;
        query("SELECT username FROM account_flags ORDER BY username", {}, [&](const SqlRow& r) {
            out.push_back(r.text(0));
            return true;
        });
        return out;
    } catch (const std::exception& e) {
        return failed("listing disabled accounts", e);
    }
}

Result<AdminStats> SqlAdmin::stats(std::size_t top_n) {
    try {
        AdminStats s;
        auto number = [&](std::string_view sql) { return static_cast<std::size_t>(count(sql)); };
        s.accounts = number("SELECT count(*) FROM accounts");
        s.disabled_accounts = number("SELECT count(*) FROM account_flags");
        s.devices = number("SELECT count(*) FROM devices WHERE removed_ms IS NULL");
        s.groups = number("SELECT count(*) FROM groups");
        s.group_payloads = number("SELECT count(*) FROM payloads");
        s.queued = number("SELECT count(*) FROM mailbox");
        s.database_bytes = database_bytes();
        query("SELECT a.username, d.device_id, count(*) AS n FROM mailbox m"
              " JOIN devices d ON d.id = m.device JOIN accounts a ON a.id = d.account_id"
              " GROUP BY a.username, d.device_id ORDER BY n DESC, a.username, d.device_id"
              " LIMIT $1",
              {static_cast<std::int64_t>(top_n)}, [&](const SqlRow& r) {
                  s.top.push_back(MailboxDepth{r.text(0), static_cast<std::uint32_t>(r.int64(1)),
                                               static_cast<std::size_t>(r.int64(2))});
                  return true;
              });
        return s;
    } catch (const std::exception& e) {
        return failed("gathering statistics", e);
    }
}

// One page of mailbox rows with delivery ids above after; false when none was left or visit
// stopped the scan (stopped says which).
bool SqlAdmin::visit_mailbox_page(std::int64_t& after,
                                  const std::function<bool(const AuditRecord&)>& visit,
                                  bool& stopped) {
    bool any = false;
    query("SELECT m.delivery_id, a.username, d.device_id, m.type, m.ciphertext, m.server_ts,"
          " m.payload IS NOT NULL FROM mailbox m JOIN devices d ON d.id = m.device"
          " JOIN accounts a ON a.id = d.account_id WHERE m.delivery_id > $1"
          " ORDER BY m.delivery_id LIMIT $2",
          {after, kAuditPage}, [&](const SqlRow& r) {
              AuditRecord rec;
              rec.kind = AuditRecord::Kind::mailbox;
              rec.id = r.int64(0);
              rec.mailbox = r.text(1) + "/" + std::to_string(r.int64(2));
              rec.type = static_cast<std::uint32_t>(r.int64(3));
              rec.ciphertext = r.bytes(4);
              rec.stored_ms = r.int64(5);
              rec.references_payload = r.int64(6) != 0;
              any = true;
              after = rec.id;
              stopped = !visit(rec);
              return !stopped;
          });
    return any && !stopped;
}

bool SqlAdmin::visit_payload_page(std::int64_t& after,
                                  const std::function<bool(const AuditRecord&)>& visit,
                                  bool& stopped) {
    bool any = false;
    query("SELECT id, group_id, type, ciphertext, server_ts FROM payloads WHERE id > $1"
          " ORDER BY id LIMIT $2",
          {after, kAuditPage}, [&](const SqlRow& r) {
              AuditRecord rec;
              rec.kind = AuditRecord::Kind::group_payload;
              rec.id = r.int64(0);
              rec.mailbox = "group " + to_hex(r.bytes(1));
              rec.type = static_cast<std::uint32_t>(r.int64(2));
              rec.ciphertext = r.bytes(3);
              rec.stored_ms = r.int64(4);
              any = true;
              after = rec.id;
              stopped = !visit(rec);
              return !stopped;
          });
    return any && !stopped;
}

Status SqlAdmin::for_each_record(const std::function<bool(const AuditRecord&)>& visit) {
    try {
        begin_snapshot();
        struct End {
            SqlAdmin& admin;
            ~End() { admin.end_snapshot(); }
        } end{*this};
        bool stopped = false;
        for (std::int64_t after = 0; visit_mailbox_page(after, visit, stopped);) {
        }
        for (std::int64_t after = 0; !stopped && visit_payload_page(after, visit, stopped);) {
        }
        return {};
    } catch (const std::exception& e) {
        return failed("reading stored records", e);
    }
}

} // namespace veil::relay
