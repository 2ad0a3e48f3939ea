#include "core/store_migration.h"

#include "core/pg_db.h"
#include "core/postgres_admin.h"
#include "core/postgres_store.h"
#include "core/sqlite_db.h"
#include "core/sqlite_store.h"
#include "util/log.h"

#include <filesystem>

namespace veil::relay {
namespace {

constexpr std::string_view kLog = "relay.migrate";

enum class Kind { integer, text, blob };

struct Column {
    const char* name;
    Kind kind;
};

struct Table {
    const char* name;
    std::vector<Column> columns;
    const char* serial = nullptr; // the BIGSERIAL column whose sequence follows the copied ids
};

// Every table of SqliteStore's schema version 4 (= PostgresStore's version 1), parents before
// the tables that reference them.
const std::vector<Table>& tables() {
    static const std::vector<Table> all = {
        {"accounts",
         {{"id", Kind::integer},
          {"username", Kind::text},
          {"created_ms", Kind::integer},
          {"next_device_id", Kind::integer}},
         "id"},
        {"devices",
         {{"id", Kind::integer},
          {"account_id", Kind::integer},
          {"device_id", Kind::integer},
          {"registration_id", Kind::integer},
          {"identity_key", Kind::blob},
          {"signed_prekey_id", Kind::integer},
          {"signed_prekey", Kind::blob},
          {"signed_prekey_signature", Kind::blob},
          {"created_ms", Kind::integer},
          {"auth_key", Kind::blob},
          {"name", Kind::blob},
          {"last_seen_ms", Kind::integer},
          {"removed_ms", Kind::integer}},
         "id"},
        {"one_time_prekeys",
         {{"device", Kind::integer}, {"prekey_id", Kind::integer}, {"public_key", Kind::blob}}},
        {"invites",
         {{"code", Kind::text}, {"created_ms", Kind::integer}, {"used_ms", Kind::integer}}},
        {"groups",
         {{"group_id", Kind::blob},
          {"revision", Kind::integer},
          {"state", Kind::blob},
          {"state_hash", Kind::blob}}},
        {"group_members",
         {{"group_id", Kind::blob},
          {"username", Kind::text},
          {"admin", Kind::integer},
          {"current", Kind::integer},
          {"left_revision", Kind::integer}}},
        {"group_changes",
         {{"group_id", Kind::blob},
          {"revision", Kind::integer},
          {"state", Kind::blob},
          {"signer", Kind::text},
          {"signature", Kind::blob},
          {"server_ts", Kind::integer}}},
        {"payloads",
         {{"id", Kind::integer},
          {"group_id", Kind::blob},
          {"from_username", Kind::text},
          {"from_device", Kind::integer},
          {"message_id", Kind::blob},
          {"type", Kind::integer},
          {"ciphertext", Kind::blob},
          {"server_ts", Kind::integer}},
         "id"},
        {"mailbox",
         {{"delivery_id", Kind::integer},
          {"device", Kind::integer},
          {"from_username", Kind::text},
          {"from_device", Kind::integer},
          {"message_id", Kind::blob},
          {"type", Kind::integer},
          {"ciphertext", Kind::blob},
          {"server_ts", Kind::integer},
          {"payload", Kind::integer},
          {"group_id", Kind::blob},
          {"change_revision", Kind::integer},
          {"expired_to", Kind::text},
          {"expired_sent_ts", Kind::integer},
          {"account_copies", Kind::integer}}},
        {"sends",
         {{"from_username", Kind::text},
          {"from_device", Kind::integer},
          {"message_id", Kind::blob},
          {"digest", Kind::blob},
          {"delivery_id", Kind::integer},
          {"server_ts", Kind::integer},
          {"unreachable", Kind::text}}},
    };
    return all;
}

// The disabled accounts (SqliteAdmin's account_flags): copied when the source has the table,
// which the admin tools create on first use.
const Table& flags_table() {
    static const Table flags{"account_flags",
                             {{"username", Kind::text}, {"disabled_ms", Kind::integer}}};
    return flags;
}

std::string column_list(const Table& t) {
    std::string out;
    for (const auto& c : t.columns) {
        if (!out.empty())
            out += ", ";
        out += c.name;
    }
    return out;
}

// Rows go to PostgreSQL in chunks of about this many bytes.
constexpr std::size_t kCopyChunk = 8 << 20;

// One table's rows by COPY (binary): one statement a table instead of one round trip a row, which
// made a populated store's move take minutes.
std::int64_t copy_table(SqliteDb& from, PgDb& to, const Table& t) {
    const std::string columns = column_list(t);
    StatementUse q(from.statement("SELECT " + columns + " FROM " + t.name));
    std::int64_t rows = 0;
    to.copy_in("COPY " + std::string(t.name) + " (" + columns + ") FROM STDIN (FORMAT binary)",
               [&](PgCopyRows& chunk) {
                   while (chunk.size() < kCopyChunk) {
                       if (!q->step())
                           return false;
                       chunk.begin_row(static_cast<int>(t.columns.size()));
                       for (std::size_t i = 0; i < t.columns.size(); ++i) {
                           const int c = static_cast<int>(i);
                           if (q->column_is_null(c))
                               chunk.add_null();
                           else if (t.columns[i].kind == Kind::integer)
                               chunk.add(q->column_int64(c));
                           else if (t.columns[i].kind == Kind::text)
                               chunk.add(std::string_view(q->column_text(c)));
                           else
                               chunk.add_bytes(q->column_blob(c));
                       }
                       ++rows;
                   }
                   return true;
               });
    if (t.serial && rows > 0)
        to.run("SELECT setval(pg_get_serial_sequence('" + std::string(t.name) + "', '" + t.serial +
               "'), (SELECT MAX(" + t.serial + ") FROM " + t.name + "))");
    return rows;
}

std::int64_t target_rows(PgDb& to) {
    std::int64_t total = 0;
    for (const auto& t : tables())
        total += to.query_int64("SELECT COUNT(*) FROM " + std::string(t.name));
    return total;
}

} // namespace

Result<MigrationReport> migrate_sqlite_to_postgres(const std::string& data_dir,
                                                   const std::string& conninfo,
                                                   const MigrationOptions& options) {
    const auto path = std::filesystem::path(data_dir) / "relay.db";
    if (!std::filesystem::exists(path))
        return make_error(Errc::not_found, data_dir + " holds no relay database (relay.db)");

    MigrationReport report;
    {
        // Brings an older file to the current schema, as a relay starting on it would, and
        // learns the first delivery id the source would hand out next: ids it pushed before
        // it stopped are below it.
        auto source = SqliteStore::open(data_dir);
        if (!source)
            return source.error();
        report.next_delivery_id = (*source)->allocate_delivery_id();
        auto target = PostgresStore::open(conninfo);
        if (!target)
            return target.error();
    }
    try {
        SqliteDb from(path.string());
        from.exec("PRAGMA query_only = ON");
        PgDb to(conninfo);
        // Synchronous: the relay that starts on the target next relies on what this commits.
        to.exec("SET synchronous_commit = on");
        // The source stays still while it is read (one read transaction).
        from.exec("BEGIN");
        PgTransaction tx(to);
        if (target_rows(to) > 0) {
            if (!options.replace_target)
                return make_error(Errc::already_exists,
                                  "the target database holds relay data already");
            std::string all;
            for (const auto& t : tables())
                all += (all.empty() ? "" : ", ") + std::string(t.name);
            to.exec("TRUNCATE " + all);
            log::info(kLog, "emptied the target database");
        }
        for (const auto& t : tables())
            report.rows.emplace_back(t.name, copy_table(from, to, t));
        to.exec(PostgresAdmin::kCreateFlags);
        to.exec("DELETE FROM account_flags");
        if (from.query_int64("SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                             " AND name = 'account_flags'") > 0)
            report.rows.emplace_back("account_flags", copy_table(from, to, flags_table()));

        // The sequence hands out blocks; the next one must start at or above next_delivery_id,
        // and never below what the target handed out before.
        const auto block =
            static_cast<std::int64_t>(report.next_delivery_id / PostgresStore::kDeliveryIdBlock) +
            1;
        to.run("SELECT setval('delivery_id_blocks', GREATEST($1::bigint,"
               " (SELECT last_value FROM delivery_id_blocks)))",
               PgParams().add(block));

        // Every row arrived: the counts match, table by table, before the commit.
        for (const auto& [table, rows] : report.rows) {
            const auto copied = to.query_int64("SELECT COUNT(*) FROM " + table);
            if (copied != rows)
                return make_error(Errc::database, "the copy of " + table + " is incomplete");
        }
        tx.commit();
        from.exec("COMMIT");
        return report;
    } catch (const std::exception& e) {
        log::warn(kLog, std::string("copying the relay's data failed: ") + e.what());
        return make_error(Errc::database, std::string("the copy failed: ") + e.what());
    }
}

} // namespace veil::relay
