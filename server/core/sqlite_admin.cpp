#include "core/sqlite_admin.h"

#include "core/sqlite_db.h"

#include <filesystem>

namespace veil::relay {
namespace {

std::string quoted(const std::string& text) {
    std::string out = "'";
    for (char c : text) {
        out += c;
        if (c == '\'')
            out += '\'';
    }
    return out + "'";
}

class SqliteRow final : public SqlRow {
public:
    explicit SqliteRow(SqliteStatement& statement)
        : m_statement(statement) {}
    bool is_null(int column) const override { return m_statement.column_is_null(column); }
    std::int64_t int64(int column) const override { return m_statement.column_int64(column); }
    std::string text(int column) const override { return m_statement.column_text(column); }
    Bytes bytes(int column) const override { return m_statement.column_blob(column); }

private:
    SqliteStatement& m_statement;
};

// Binds params to the statement in order; SQLite numbers the $N parameters as they first appear.
void bind_all(SqliteStatement& statement, SqlParams params) {
    int index = 1;
    for (const auto& value : params) {
        if (const auto* number = std::get_if<std::int64_t>(&value))
            statement.bind(index++, *number);
        else
            statement.bind(index++, std::get<std::string>(value));
    }
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
        return make_error(Errc::database, std::string("opening the database: ") + e.what());
    }
}

void SqliteAdmin::query(std::string_view sql, SqlParams params, const RowVisitor& row) {
    StatementUse q(m_db->statement(sql));
    bind_all(*q, params);
    const SqliteRow current(*q);
    while (q->step())
        if (!row(current))
            return;
}

std::int64_t SqliteAdmin::execute(std::string_view sql, SqlParams params) {
    StatementUse q(m_db->statement(sql));
    bind_all(*q, params);
    q->run();
    return m_db->changes();
}

std::uint64_t SqliteAdmin::database_bytes() {
    return static_cast<std::uint64_t>(m_db->query_int64("PRAGMA page_count")) *
           static_cast<std::uint64_t>(m_db->query_int64("PRAGMA page_size"));
}

void SqliteAdmin::begin_snapshot() {
    m_db->exec("BEGIN");
}

void SqliteAdmin::end_snapshot() noexcept {
    try {
        m_db->exec("COMMIT");
    } catch (const std::exception&) {
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
        return make_error(Errc::database, std::string("backing up the database: ") + e.what());
    }
}

} // namespace veil::relay
