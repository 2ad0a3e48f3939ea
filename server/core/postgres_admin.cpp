#include "core/postgres_admin.h"

#include "core/pg_db.h"

namespace veil::relay {
namespace {

class PgRow final : public SqlRow {
public:
    PgRow(const PgResult& result, int row)
        : m_result(result)
        , m_row(row) {}
    bool is_null(int column) const override { return m_result.is_null(m_row, column); }
    std::int64_t int64(int column) const override { return m_result.int64(m_row, column); }
    std::string text(int column) const override { return m_result.text(m_row, column); }
    Bytes bytes(int column) const override { return m_result.bytes(m_row, column); }

private:
    const PgResult& m_result;
    int m_row;
};

PgParams pg_params(SqlParams params) {
    PgParams out;
    for (const auto& value : params) {
        if (const auto* number = std::get_if<std::int64_t>(&value))
            out.add(*number);
        else
            out.add(std::get<std::string>(value));
    }
    return out;
}

} // namespace

PostgresAdmin::PostgresAdmin(std::unique_ptr<PgDb> db, std::string conninfo)
    : m_db(std::move(db))
    , m_conninfo(std::move(conninfo)) {}

PostgresAdmin::~PostgresAdmin() = default;

Result<std::unique_ptr<PostgresAdmin>> PostgresAdmin::open(const std::string& conninfo) {
    try {
        auto db = std::make_unique<PgDb>(conninfo);
        if (db->query_int64("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
                            " AND tablename = 'mailbox'") == 0)
            return make_error(Errc::not_found, "the PostgreSQL database holds no relay store");
        db->exec(kCreateFlags);
        return std::unique_ptr<PostgresAdmin>(new PostgresAdmin(std::move(db), conninfo));
    } catch (const std::exception& e) {
        return make_error(Errc::database,
                          std::string("opening the PostgreSQL database: ") + e.what());
    }
}

void PostgresAdmin::query(std::string_view sql, SqlParams params, const RowVisitor& row) {
    const PgResult result = m_db->run(sql, pg_params(params));
    for (int i = 0; i < result.rows(); ++i)
        if (!row(PgRow(result, i)))
            return;
}

std::int64_t PostgresAdmin::execute(std::string_view sql, SqlParams params) {
    return m_db->run(sql, pg_params(params)).affected();
}

std::uint64_t PostgresAdmin::database_bytes() {
    return static_cast<std::uint64_t>(
        m_db->query_int64("SELECT pg_database_size(current_database())"));
}

void PostgresAdmin::begin_snapshot() {
    m_db->exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
}

void PostgresAdmin::end_snapshot() noexcept {
    try {
        m_db->exec("COMMIT");
    } catch (const std::exception&) {
    }
}

Status PostgresAdmin::backup_to(const std::string& dest_file) {
    return make_error(Errc::invalid_argument,
                      "the relay stores in PostgreSQL, whose consistent copies are pg_dump's job: "
                      "run " +
                          pg_dump_command(m_conninfo, dest_file));
}

std::string PostgresAdmin::pg_dump_command(const std::string& conninfo,
                                           const std::string& dest_file) {
    return "pg_dump --format=custom --file=" + shell_quoted(dest_file) +
           " --dbname=" + shell_quoted(conninfo);
}

std::string shell_quoted(const std::string& text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    return out + "'";
}

} // namespace veil::relay
