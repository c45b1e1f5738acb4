// Creating tables at start-up, safely when several server processes start at once on one
// database: CREATE TABLE IF NOT EXISTS is not atomic (two sessions can both pass the check and
// one fails on a catalog unique violation), so each store's DDL runs under a transaction-level
// advisory lock named after the store.
#pragma once

#include <initializer_list>
#include <pqxx/pqxx>
#include <string_view>

namespace tigerfans::postgres {

// Takes the store's advisory lock and runs `statements` in `txn`; the caller commits.
void apply_schema(pqxx::work& txn, std::string_view store,
                  std::initializer_list<std::string_view> statements);

}  // namespace tigerfans::postgres
