#include "core/sqlite_admin.h"

#include "core/sqlite_db.h"
#include "util/hex.h"

#include <filesystem>

namespace veil::relay {
namespace {

Error failed(const char* what, const std::exception& e) {
    return make_error(Errc::database, std::string(what) + ": " + e.what());
}

std::string quoted(const std::string& text) {
    std::string out = "'";
    for (char c : text) {
        out += c;
        if (c == '\'')
            out += '\'';
    }
    return out + "'";
}

} // namespace

SqliteAdmin::SqliteAdmin(std::unique_ptr<SqliteDb> db)
    : m_db(std::move(db)) {}

SqliteAdmin::~SqliteAdmin() = default;

Result<std::unique_ptr<SqliteAdmin>> SqliteAdmin::open(const std::string& data_dir) {
    const auto path = std::filesystem::path(data_dir) / "relay.db";
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        return make_error(Errc::not_found, data_dir + " holds no relay database");
    try {
        auto db = std::make_unique<SqliteDb>(path.string());
        db->exec("CREATE TABLE IF NOT EXISTS account_flags (username TEXT PRIMARY KEY,"
                 " disabled_ms INTEGER NOT NULL) WITHOUT ROWID");
        return std::unique_ptr<SqliteAdmin>(new SqliteAdmin(std::move(db)));
    } catch (const std::exception& e) {
        return failed("opening the database", e);
    }
}

Status SqliteAdmin::ping() {
    try {
        m_db->query_int64("SELECT count(*) FROM sqlite_master");
        return {};
    } catch (const std::exception& e) {
        return failed("querying the database", e);
    }
}

Result<std::int64_t> SqliteAdmin::queued_count() {
    try {
        return m_db->query_int64("SELECT count(*) FROM mailbox");
    } catch (const std::exception& e) {
        return failed("counting queued messages", e);
    }
}

Result<std::vector<QueueCount>> SqliteAdmin::queue_of(const std::string& username) {
    try {
        std::vector<QueueCount> out;
        StatementUse q(m_db->statement(
            "SELECT d.device_id, m.from_username, count(*) FROM accounts a"
            " JOIN devices d ON d.account_id = a.id JOIN mailbox m ON m.device = d.id"
            " WHERE a.username = ?1 GROUP BY d.device_id, m.from_username"));
        q->bind(1, username);
        while (q->step())
            out.push_back(QueueCount{static_cast<std::uint32_t>(q->column_int64(0)),
                                     q->column_text(1),
                                     static_cast<std::size_t>(q->column_int64(2))});
        return out;
    } catch (const std::exception& e) {
        return failed("counting a mailbox", e);
    }
}

Result<std::vector<AdminInvite>> SqliteAdmin::invites() {
    try {
        std::vector<AdminInvite> out;
        StatementUse q(
            m_db->statement("SELECT code, created_ms, used_ms FROM invites ORDER BY created_ms"));
        while (q->step()) {
            AdminInvite invite{q->column_text(0), q->column_int64(1), std::nullopt};
            if (!q->column_is_null(2))
                invite.used_ms = q->column_int64(2);
            out.push_back(std::move(invite));
        }
        return out;
    } catch (const std::exception& e) {
        return failed("listing invites", e);
    }
}

Status SqliteAdmin::revoke_invite(const std::string& code) {
    try {
        StatementUse q(m_db->statement("DELETE FROM invites WHERE code = ?1 AND used_ms IS NULL"));
        q->bind(1, code).run();
        if (m_db->changes() == 0)
            return make_error(Errc::not_found, "no unused invite " + code);
        return {};
    } catch (const std::exception& e) {
        return failed("revoking an invite", e);
    }
}

Result<std::vector<AdminAccount>> SqliteAdmin::accounts() {
    try {
        std::vector<AdminAccount> out;
        StatementUse q(m_db->statement(
            "SELECT a.username, a.created_ms,"
            " (SELECT count(*) FROM devices d WHERE d.account_id = a.id AND d.removed_ms IS NULL),"
            " (SELECT COALESCE(MAX(d.last_seen_ms), 0) FROM devices d WHERE d.account_id = a.id),"
            " EXISTS (SELECT 1 FROM account_flags f WHERE f.username = a.username)"
            " FROM accounts a ORDER BY a.username"));
        while (q->step())
            out.push_back(
                AdminAccount{q->column_text(0), static_cast<std::size_t>(q->column_int64(2)),
                             q->column_int64(1), q->column_int64(3), q->column_int64(4) != 0});
        return out;
    } catch (const std::exception& e) {
        return failed("listing accounts", e);
    }
}

Result<std::optional<std::vector<AdminDevice>>> SqliteAdmin::devices(const std::string& username) {
    try {
        {
            StatementUse exists(m_db->statement("SELECT 1 FROM accounts WHERE username = ?1"));
            if (!exists->bind(1, username).step())
                return std::optional<std::vector<AdminDevice>>{};
        }
        std::vector<AdminDevice> out;
        StatementUse q(m_db->statement(
            "SELECT d.device_id, d.created_ms, d.last_seen_ms, d.removed_ms,"
            " (SELECT count(*) FROM mailbox m WHERE m.device = d.id),"
            " (SELECT count(*) FROM one_time_prekeys p WHERE p.device = d.id)"
            " FROM devices d JOIN accounts a ON a.id = d.account_id WHERE a.username = ?1"
            " ORDER BY d.device_id"));
        q->bind(1, username);
        while (q->step()) {
            AdminDevice device;
            device.device_id = static_cast<std::uint32_t>(q->column_int64(0));
            device.created_ms = q->column_int64(1);
            device.last_seen_ms = q->column_int64(2);
            if (!q->column_is_null(3))
                device.removed_ms = q->column_int64(3);
            device.queued = static_cast<std::size_t>(q->column_int64(4));
            device.one_time_prekeys = static_cast<std::size_t>(q->column_int64(5));
            out.push_back(device);
        }
        return std::optional<std::vector<AdminDevice>>(std::move(out));
    } catch (const std::exception& e) {
        return failed("listing devices", e);
    }
}

Status SqliteAdmin::set_disabled(const std::string& username, bool disabled, std::int64_t now_ms) {
    try {
        StatementUse exists(m_db->statement("SELECT 1 FROM accounts WHERE username = ?1"));
        if (!exists->bind(1, username).step())
            return make_error(Errc::not_found, "no account named " + username);
        if (disabled) {
            StatementUse q(m_db->statement(
                "INSERT OR IGNORE INTO account_flags (username, disabled_ms) VALUES (?1, ?2)"));
            q->bind(1, username).bind(2, now_ms).run();
        } else {
            StatementUse q(m_db->statement("DELETE FROM account_flags WHERE username = ?1"));
            q->bind(1, username).run();
        }
        return {};
    } catch (const std::exception& e) {
        return failed("changing an account", e);
    }
}

Result<std::vector<std::string>> SqliteAdmin::disabled_accounts() {
    try {
        std::vector<std::string> out;
        StatementUse q(m_db->statement("SELECT username FROM account_flags ORDER BY username"));
        while (q->step())
            out.push_back(q->column_text(0));
        return out;
    } catch (const std::exception& e) {
        return failed("listing disabled accounts", e);
    }
}

Result<AdminStats> SqliteAdmin::stats(std::size_t top_n) {
    try {
        AdminStats s;
        auto count = [&](const char* sql) {
            return static_cast<std::size_t>(m_db->query_int64(sql));
        };
        s.accounts = count("SELECT count(*) FROM accounts");
        s.disabled_accounts = count("SELECT count(*) FROM account_flags");
        s.devices = count("SELECT count(*) FROM devices WHERE removed_ms IS NULL");
        s.groups = count("SELECT count(*) FROM groups");
        s.group_payloads = count("SELECT count(*) FROM payloads");
        s.queued = count("SELECT count(*) FROM mailbox");
        s.database_bytes = static_cast<std::uint64_t>(m_db->query_int64("PRAGMA page_count")) *
                           static_cast<std::uint64_t>(m_db->query_int64("PRAGMA page_size"));
        StatementUse q(m_db->statement(
            "SELECT a.username, d.device_id, count(*) AS n FROM mailbox m"
            " JOIN devices d ON d.id = m.device JOIN accounts a ON a.id = d.account_id"
            " GROUP BY m.device ORDER BY n DESC, a.username, d.device_id LIMIT ?1"));
        q->bind(1, static_cast<std::int64_t>(top_n));
        while (q->step())
            s.top.push_back(MailboxDepth{q->column_text(0),
                                         static_cast<std::uint32_t>(q->column_int64(1)),
                                         static_cast<std::size_t>(q->column_int64(2))});
        return s;
    } catch (const std::exception& e) {
        return failed("gathering statistics", e);
    }
}

Status SqliteAdmin::for_each_record(const std::function<bool(const AuditRecord&)>& visit) {
    try {
        // One read transaction, so that the scan sees one state of the store.
        m_db->exec("BEGIN");
        struct End {
            SqliteDb& db;
            ~End() {
                try {
                    db.exec("COMMIT");
                } catch (const std::exception&) {
                }
            }
        } end{*m_db};
        {
            StatementUse q(m_db->statement(
                "SELECT m.delivery_id, a.username, d.device_id, m.type, m.ciphertext,"
                " m.server_ts, m.payload IS NOT NULL FROM mailbox m JOIN devices d ON d.id = "
                "m.device"
                " JOIN accounts a ON a.id = d.account_id ORDER BY m.delivery_id"));
            while (q->step()) {
                AuditRecord r;
                r.kind = AuditRecord::Kind::mailbox;
                r.id = q->column_int64(0);
                r.mailbox = q->column_text(1) + "/" + std::to_string(q->column_int64(2));
                r.type = static_cast<std::uint32_t>(q->column_int64(3));
                r.ciphertext = q->column_blob(4);
                r.stored_ms = q->column_int64(5);
                r.references_payload = q->column_int64(6) != 0;
                if (!visit(r))
                    return {};
            }
        }
        StatementUse q(m_db->statement(
            "SELECT id, group_id, type, ciphertext, server_ts FROM payloads ORDER BY id"));
        while (q->step()) {
            AuditRecord r;
            r.kind = AuditRecord::Kind::group_payload;
            r.id = q->column_int64(0);
            r.mailbox = "group " + to_hex(q->column_blob(1));
            r.type = static_cast<std::uint32_t>(q->column_int64(2));
            r.ciphertext = q->column_blob(3);
            r.stored_ms = q->column_int64(4);
            if (!visit(r))
                return {};
        }
        return {};
    } catch (const std::exception& e) {
        return failed("reading stored records", e);
    }
}

Status SqliteAdmin::backup_to(const std::string& dest_file) {
    std::error_code ec;
    if (std::filesystem::exists(dest_file, ec))
        return make_error(Errc::already_exists, dest_file + " exists already");
    try {
        // VACUUM INTO reads one snapshot of the database (a read transaction beside the relay's
        // writer) and writes a compact, self-contained copy without a WAL.
        m_db->exec(("VACUUM INTO " + quoted(dest_file)).c_str());
        return {};
    } catch (const std::exception& e) {
        return failed("backing up the database", e);
    }
}

} // namespace veil::relay
