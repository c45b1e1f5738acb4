// Creating tables at start-up, safely when several server processes start at once on one
// database: CREATE TABLE IF NOT EXISTS is not atomic (two sessions can both pass the check and
// one fails on a catalog unique violation), so each store's DDL runs under a transaction-level
// advisory lock named after the store.
//
// A start must also not stop a running server. CREATE TABLE IF NOT EXISTS takes no lock on a
// table that exists, but CREATE INDEX IF NOT EXISTS takes the table's SHARE lock and ALTER
// TABLE ... ADD COLUMN IF NOT EXISTS its ACCESS EXCLUSIVE lock before either finds that it has
// nothing to do: the start then waits for every open write on the table, and every read and
// write waits behind it. So indexes and added columns are steps that ask the catalog first and
// run only when what they make is missing. (Rows a store seeds at start, with INSERT ... ON
// CONFLICT DO NOTHING, still wait for an open transaction that updates the same row, as any
// write would.)
#pragma once

#include <initializer_list>
#include <pqxx/pqxx>
#include <string_view>

namespace tigerfans::postgres {

class SchemaStep {
public:
    // A statement that runs at every start: CREATE TABLE or SEQUENCE IF NOT EXISTS, or the
    // seeding of a row; none may lock a whole table.
    static SchemaStep always(std::string_view sql) { return {Kind::always, sql, {}, {}}; }
    // A CREATE INDEX that runs only while `table` has no index called `name`.
    static SchemaStep index(std::string_view table, std::string_view name, std::string_view sql) {
        return {Kind::index, sql, table, name};
    }
    // An ALTER TABLE ... ADD COLUMN for tables made by an older version, run only while `table`
    // lacks `column`.
    static SchemaStep column(std::string_view table, std::string_view column,
                             std::string_view sql) {
        return {Kind::column, sql, table, column};
    }

private:
    enum class Kind { always, index, column };

    SchemaStep(Kind kind, std::string_view sql, std::string_view table, std::string_view name)
        : kind_(kind), sql_(sql), table_(table), name_(name) {}

    friend void apply_schema(pqxx::work& txn, std::string_view store,
                             std::initializer_list<SchemaStep> steps);

    Kind kind_;
    std::string_view sql_;
    std::string_view table_;
    std::string_view name_;  // The index's or the column's.
};

// Takes the store's advisory lock and runs `steps` in order in `txn`; the caller commits. The
// steps run without a statement timeout (an index on a big table takes its time), waiting for
// a table's lock no longer than limits::pg_statement_timeout_ms unless `txn` set its own
// lock_timeout.
void apply_schema(pqxx::work& txn, std::string_view store, std::initializer_list<SchemaStep> steps);

}  // namespace tigerfans::postgres
