// Start-up DDL under an advisory lock, asking the catalog before locking a table (see
// schema.hpp).
#include "postgres/schema.hpp"

#include <string>

#include "tigerfans/core/assert.hpp"

namespace tigerfans::postgres {

namespace {

constexpr const char* schema_lock_sql = "SELECT pg_advisory_xact_lock(hashtext($1))";

// to_regclass resolves a name through the search path, as the DDL does, and answers NULL
// instead of failing when nothing has that name.
constexpr const char* relation_exists_sql = "SELECT to_regclass($1) IS NOT NULL";
constexpr const char* column_exists_sql = R"(
SELECT EXISTS (SELECT 1 FROM pg_attribute
               WHERE attrelid = to_regclass($1) AND attname = $2 AND NOT attisdropped))";

bool relation_exists(pqxx::work& txn, std::string_view name) {
    return txn.exec_params1(relation_exists_sql, std::string(name))[0].as<bool>();
}

bool column_exists(pqxx::work& txn, std::string_view table, std::string_view column) {
    return txn.exec_params1(column_exists_sql, std::string(table), std::string(column))[0]
        .as<bool>();
}

// Whether `sql` says `prefix` followed by `name` as a whole word.
bool says(std::string_view sql, const std::string& prefix, std::string_view name) {
    const std::string words = prefix + std::string(name);
    const std::size_t at = sql.find(words);
    if (at == std::string_view::npos) return false;
    const std::size_t after = at + words.size();
    return after == sql.size() || sql[after] == ' ' || sql[after] == '\n';
}

}  // namespace

void apply_schema(pqxx::work& txn, std::string_view store,
                  std::initializer_list<SchemaStep> steps) {
    TF_ASSERT(!store.empty());
    TF_ASSERT(steps.size() > 0);
    txn.exec_params(schema_lock_sql, "tigerfans-schema-" + std::string(store));
    for (const SchemaStep& step : steps) {
        // A step names what its DDL makes; a name its own SQL does not make is a typo that
        // would make the step run at every start, or never.
        switch (step.kind_) {
            case SchemaStep::Kind::always: break;
            case SchemaStep::Kind::index:
                TF_ASSERT(says(step.sql_, "INDEX IF NOT EXISTS ", step.relation_));
                if (relation_exists(txn, step.relation_)) continue;
                break;
            case SchemaStep::Kind::column:
                TF_ASSERT(says(step.sql_, "ALTER TABLE ", step.relation_));
                TF_ASSERT(says(step.sql_, "ADD COLUMN IF NOT EXISTS ", step.column_));
                if (column_exists(txn, step.relation_, step.column_)) continue;
                break;
        }
        txn.exec(std::string(step.sql_));
    }
}

}  // namespace tigerfans::postgres
