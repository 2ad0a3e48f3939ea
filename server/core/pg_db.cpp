#include "core/pg_db.h"

#include "util/log.h"

#include <libpq-fe.h>

#include <cstring>

namespace veil::relay {
namespace {

constexpr std::string_view kLog = "relay.store";

// The advisory lock every write transaction holds: "veil" in ASCII.
constexpr const char* kBeginWrite = "BEGIN; SELECT pg_advisory_xact_lock(1986357612)";

// PostgreSQL's type oids for the binary results this layer decodes.
constexpr Oid kBoolOid = 16;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;

std::uint64_t big_endian(const char* data, int size) {
    std::uint64_t value = 0;
    for (int i = 0; i < size; ++i)
        value = (value << 8) | static_cast<std::uint8_t>(data[i]);
    return value;
}

} // namespace

PgParams& PgParams::add(std::int64_t value) {
    m_values.push_back(std::to_string(value));
    m_null.push_back(false);
    m_binary.push_back(0);
    return *this;
}

PgParams& PgParams::add(std::string_view text) {
    m_values.emplace_back(text);
    m_null.push_back(false);
    m_binary.push_back(0);
    return *this;
}

PgParams& PgParams::add_bytes(std::span<const std::uint8_t> bytes) {
    m_values.emplace_back(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    m_null.push_back(false);
    m_binary.push_back(1);
    return *this;
}

PgParams& PgParams::add_null() {
    m_values.emplace_back();
    m_null.push_back(true);
    m_binary.push_back(0);
    return *this;
}

namespace {

void put_big_endian(std::string& out, std::uint64_t value, int size) {
    for (int i = size - 1; i >= 0; --i)
        out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

// PGCOPY binary format: the 11-byte signature (its last byte is the literal's NUL), then flags 0
// and no header extension.
constexpr char kCopySignature[] = "PGCOPY\n\377\r\n";

} // namespace

PgCopyRows::PgCopyRows() {
    m_data.reserve(1 << 20);
}

void PgCopyRows::begin_row(int fields) {
    put_big_endian(m_data, static_cast<std::uint64_t>(fields), 2);
}

void PgCopyRows::field(const void* data, std::size_t size) {
    put_big_endian(m_data, size, 4);
    m_data.append(static_cast<const char*>(data), size);
}

void PgCopyRows::add(std::int64_t value) {
    put_big_endian(m_data, 8, 4);
    put_big_endian(m_data, static_cast<std::uint64_t>(value), 8);
}

void PgCopyRows::add(std::string_view text) {
    field(text.data(), text.size());
}

void PgCopyRows::add_bytes(std::span<const std::uint8_t> bytes) {
    field(bytes.data(), bytes.size());
}

void PgCopyRows::add_null() {
    put_big_endian(m_data, 0xffffffffu, 4);
}

PgResult::PgResult(pg_result* result)
    : m_result(result) {}

PgResult::PgResult(PgResult&& other) noexcept
    : m_result(other.m_result) {
    other.m_result = nullptr;
}

PgResult& PgResult::operator=(PgResult&& other) noexcept {
    if (this != &other) {
        PQclear(m_result);
        m_result = other.m_result;
        other.m_result = nullptr;
    }
    return *this;
}

PgResult::~PgResult() {
    PQclear(m_result);
}

int PgResult::rows() const {
    return m_result ? PQntuples(m_result) : 0;
}

std::int64_t PgResult::affected() const {
    const char* n = m_result ? PQcmdTuples(m_result) : "";
    return *n ? std::stoll(n) : 0;
}

bool PgResult::is_null(int row, int column) const {
    return PQgetisnull(m_result, row, column) != 0;
}

std::int64_t PgResult::int64(int row, int column) const {
    if (is_null(row, column))
        return 0;
    const char* data = PQgetvalue(m_result, row, column);
    const int size = PQgetlength(m_result, row, column);
    const Oid type = PQftype(m_result, column);
    if ((type == kInt8Oid && size == 8) || (type == kInt4Oid && size == 4) ||
        (type == kInt2Oid && size == 2) || (type == kBoolOid && size == 1)) {
        const std::uint64_t raw = big_endian(data, size);
        // Sign-extend the narrower integers.
        const int shift = 64 - 8 * size;
        if (type == kBoolOid || shift == 0)
            return static_cast<std::int64_t>(raw);
        return static_cast<std::int64_t>(raw << shift) >> shift;
    }
    throw PgError("a column is not an integer");
}

std::string PgResult::text(int row, int column) const {
    if (is_null(row, column))
        return {};
    return std::string(PQgetvalue(m_result, row, column),
                       static_cast<std::size_t>(PQgetlength(m_result, row, column)));
}

Bytes PgResult::bytes(int row, int column) const {
    if (is_null(row, column))
        return {};
    const auto* data = reinterpret_cast<const std::uint8_t*>(PQgetvalue(m_result, row, column));
    return Bytes(data, data + PQgetlength(m_result, row, column));
}

PgDb::PgDb(const std::string& conninfo)
    : m_conn(PQconnectdb(conninfo.c_str())) {
    if (!m_conn)
        throw PgError("connecting to PostgreSQL: out of memory");
    if (PQstatus(m_conn) != CONNECTION_OK) {
        // libpq's message names the host and the reason, never a password.
        std::string message = PQerrorMessage(m_conn);
        PQfinish(m_conn);
        m_conn = nullptr;
        while (!message.empty() && message.back() == '\n')
            message.pop_back();
        throw PgError("connecting to PostgreSQL: " + message);
    }
    // Warnings and notices (a NOTICE from CREATE ... IF NOT EXISTS) are not the relay's output.
    PQsetNoticeProcessor(
        m_conn, [](void*, const char*) {}, nullptr);
}

PgDb::~PgDb() {
    PQfinish(m_conn);
}

void PgDb::fail(const char* what, pg_result* result) const {
    std::string message = result ? PQresultErrorMessage(result) : PQerrorMessage(m_conn);
    PQclear(result);
    while (!message.empty() && message.back() == '\n')
        message.pop_back();
    throw PgError(std::string(what) + ": " + message);
}

void PgDb::reconnect_if_lost() {
    if (PQstatus(m_conn) == CONNECTION_OK)
        return;
    // Inside a transaction a new connection would run the rest of it outside one: the caller
    // must fail and roll back instead.
    if (m_in_transaction)
        throw PgError("the connection to PostgreSQL was lost");
    // The server restarted or the connection dropped: statements prepared on the old one are
    // gone with it.
    PQreset(m_conn);
    m_statements.clear();
    if (PQstatus(m_conn) != CONNECTION_OK)
        fail("reconnecting to PostgreSQL", nullptr);
    for (const auto& sql : m_session) {
        pg_result* result = PQexec(m_conn, sql.c_str());
        if (PQresultStatus(result) != PGRES_COMMAND_OK)
            fail("restoring a session setting", result);
        PQclear(result);
    }
    log::info(kLog, "event=store_reconnected store=postgresql");
}

template <typename Attempt>
auto PgDb::retry_once_if_lost(Attempt attempt) {
    reconnect_if_lost();
    try {
        return attempt();
    } catch (const PgError&) {
        if (m_in_transaction || PQstatus(m_conn) == CONNECTION_OK)
            throw;
    }
    log::warn(kLog, "event=store_connection_lost store=postgresql retry=once");
    reconnect_if_lost();
    return attempt();
}

void PgDb::exec(const std::string& sql) {
    retry_once_if_lost([&] {
        pg_result* result = PQexec(m_conn, sql.c_str());
        const auto status = PQresultStatus(result);
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
            fail("running a statement", result);
        PQclear(result);
    });
}

void PgDb::set_session(const std::string& sql) {
    exec(sql);
    m_session.push_back(sql);
}

const std::string& PgDb::prepared(std::string_view sql) {
    auto found = m_statements.find(std::string(sql));
    if (found != m_statements.end())
        return found->second;
    std::string name = "veil_" + std::to_string(m_statements.size() + 1);
    const std::string text(sql);
    pg_result* result = PQprepare(m_conn, name.c_str(), text.c_str(), 0, nullptr);
    if (PQresultStatus(result) != PGRES_COMMAND_OK)
        fail("preparing a statement", result);
    PQclear(result);
    return m_statements.emplace(text, std::move(name)).first->second;
}

PgResult PgDb::run(std::string_view sql, const PgParams& params) {
    return retry_once_if_lost([&] { return run_once(sql, params); });
}

PgResult PgDb::run_once(std::string_view sql, const PgParams& params) {
    const std::string& name = prepared(sql);
    std::vector<const char*> values(params.m_values.size());
    std::vector<int> lengths(params.m_values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
        // A zero-length bytea still needs a non-null pointer, or it would be NULL.
        values[i] = params.m_null[i] ? nullptr : params.m_values[i].c_str();
        lengths[i] = static_cast<int>(params.m_values[i].size());
    }
    pg_result* result = PQexecPrepared(m_conn, name.c_str(), params.size(), values.data(),
                                       lengths.data(), params.m_binary.data(), 1);
    const auto status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        fail("running a statement", result);
    return PgResult(result);
}

void PgDb::copy_in(const std::string& copy_sql, const std::function<bool(PgCopyRows&)>& more) {
    reconnect_if_lost();
    pg_result* started = PQexec(m_conn, copy_sql.c_str());
    if (PQresultStatus(started) != PGRES_COPY_IN)
        fail("starting a copy", started);
    PQclear(started);
    auto put = [&](const std::string& data) {
        if (!data.empty() && PQputCopyData(m_conn, data.data(), static_cast<int>(data.size())) != 1)
            fail("sending copied rows", nullptr);
    };
    std::string header(kCopySignature, sizeof kCopySignature);
    header.append(8, '\0'); // flags, header extension length
    put(header);
    for (bool again = true; again;) {
        PgCopyRows rows;
        again = more(rows);
        put(rows.m_data);
    }
    put(std::string("\xff\xff", 2)); // the trailer: a field count of -1
    if (PQputCopyEnd(m_conn, nullptr) != 1)
        fail("ending a copy", nullptr);
    bool failed = false;
    std::string message;
    while (pg_result* result = PQgetResult(m_conn)) {
        if (PQresultStatus(result) != PGRES_COMMAND_OK && !failed) {
            failed = true;
            message = PQresultErrorMessage(result);
        }
        PQclear(result);
    }
    while (!message.empty() && message.back() == '\n')
        message.pop_back();
    if (failed)
        throw PgError("copying rows: " + message);
}

std::int64_t PgDb::query_int64(std::string_view sql, const PgParams& params) {
    PgResult r = run(sql, params);
    if (r.rows() < 1)
        throw PgError("a query returned no row");
    return r.int64(0, 0);
}

PgTransaction::PgTransaction(PgDb& db)
    : m_db(db) {
    // One round trip: BEGIN and the lock travel together.
    m_db.exec(kBeginWrite);
    m_db.m_in_transaction = true;
}

PgTransaction::~PgTransaction() {
    if (!m_open)
        return;
    m_db.m_in_transaction = false;
    try {
        m_db.exec("ROLLBACK");
    } catch (const std::exception& e) {
        log::warn(kLog, std::string("rollback failed: ") + e.what());
    }
}

void PgTransaction::commit() {
    m_db.exec("COMMIT");
    m_open = false;
    m_db.m_in_transaction = false;
}

} // namespace veil::relay
