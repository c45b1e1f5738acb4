// Start-up DDL under an advisory lock, asking the catalog before locking a table (see
// schema.hpp).
#include "postgres/schema.hpp"

#include <string>

#include "tigerfans/core/assert.hpp"
#include "tigerfans/core/limits.hpp"

namespace tigerfans::postgres {

namespace {

constexpr const char* schema_lock_sql = "SELECT pg_advisory_xact_lock(hashtext($1))";

// to_regclass resolves the table through the search path, as the DDL does, and answers NULL
// instead of failing when there is none. An index is looked for among the table's own, since
// that is where CREATE INDEX puts it.
constexpr const char* index_exists_sql = R"(
SELECT EXISTS (SELECT 1 FROM pg_index JOIN pg_class ON pg_class.oid = pg_index.indexrelid
               WHERE pg_index.indrelid = to_regclass($1) AND pg_class.relname = $2))";
constexpr const char* column_exists_sql = R"(
SELECT EXISTS (SELECT 1 FROM pg_attribute
               WHERE attrelid = to_regclass($1) AND attname = $2 AND NOT attisdropped))";

bool exists(pqxx::work& txn, const char* sql, std::string_view table, std::string_view name) {
    return txn.exec_params1(sql, std::string(table), std::string(name))[0].as<bool>();
}

// The catalog keeps unquoted names in lower case; a step's names are compared with it as they
// are.
bool is_plain_name(std::string_view name) {
    if (name.empty()) return false;
    for (const char c : name) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    }
    return true;
}

// Whether `sql` says `prefix` followed by `name` as a whole word.
bool says(std::string_view sql, const std::string& prefix, std::string_view name) {
    const std::string words = prefix + std::string(name);
    const std::size_t at = sql.find(words);
    if (at == std::string_view::npos) return false;
    const std::size_t after = at + words.size();
    return after == sql.size() || sql[after] == ' ' || sql[after] == '\n';
}

std::size_t count(std::string_view sql, std::string_view words) {
    std::size_t found = 0;
    for (std::size_t at = sql.find(words); at != std::string_view::npos;
         at = sql.find(words, at + words.size())) {
        found++;
    }
    return found;
}

}  // namespace

void apply_schema(pqxx::work& txn, std::string_view store,
                  std::initializer_list<SchemaStep> steps) {
    TF_ASSERT(!store.empty());
    TF_ASSERT(steps.size() > 0);
    // A step that builds an index or fills a new column takes as long as its table is big:
    // under the connection's statement timeout it would fail at every start once the table
    // grew. Waits are bounded instead. A step waiting for a table's lock holds up every read
    // and write queued behind it, so it waits no longer than a statement may run (unless the
    // caller set a lock_timeout of its own); the store's advisory lock is held by another
    // start running these same steps, and is waited for as long as that takes.
    txn.exec("SET LOCAL statement_timeout = 0");
    const bool caller_set_lock_timeout = txn.exec1("SHOW lock_timeout")[0].as<std::string>() != "0";
    txn.exec_params(schema_lock_sql, "tigerfans-schema-" + std::string(store));
    if (!caller_set_lock_timeout) {
        txn.exec("SET LOCAL lock_timeout = " + std::to_string(limits::pg_statement_timeout_ms));
    }
    for (const SchemaStep& step : steps) {
        // A step names what its SQL makes; a name its SQL does not make is a typo that would
        // make the step run at every start, or never.
        if (step.kind_ != SchemaStep::Kind::always) {
            TF_ASSERT(is_plain_name(step.table_) && is_plain_name(step.name_));
        }
        switch (step.kind_) {
            case SchemaStep::Kind::always: break;
            case SchemaStep::Kind::index:
                TF_ASSERT(says(step.sql_, "INDEX IF NOT EXISTS ", step.name_));
                TF_ASSERT(says(step.sql_, "ON ", step.table_));
                if (exists(txn, index_exists_sql, step.table_, step.name_)) continue;
                break;
            case SchemaStep::Kind::column:
                TF_ASSERT(says(step.sql_, "ALTER TABLE ", step.table_));
                TF_ASSERT(says(step.sql_, "ADD COLUMN IF NOT EXISTS ", step.name_));
                TF_ASSERT(count(step.sql_, "ADD COLUMN") == 1);
                if (exists(txn, column_exists_sql, step.table_, step.name_)) continue;
                break;
        }
        txn.exec(std::string(step.sql_));
    }
}

}  // namespace tigerfans::postgres
