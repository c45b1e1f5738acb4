// Start-up DDL under an advisory lock (see schema.hpp).
#include "postgres/schema.hpp"

#include <string>

#include "tigerfans/core/assert.hpp"

namespace tigerfans::postgres {

namespace {
constexpr const char* schema_lock_sql = "SELECT pg_advisory_xact_lock(hashtext($1))";
}  // namespace

void apply_schema(pqxx::work& txn, std::string_view store,
                  std::initializer_list<std::string_view> statements) {
    TF_ASSERT(!store.empty());
    TF_ASSERT(statements.size() > 0);
    txn.exec_params(schema_lock_sql, "tigerfans-schema-" + std::string(store));
    for (std::string_view statement : statements) txn.exec(std::string(statement));
}

}  // namespace tigerfans::postgres
